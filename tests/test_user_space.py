"""A researcher's own search space and own generator, through the public API only: built with
spaces.categorical, registered (directly, by entry point, by --plugin), run by every generator, and
PG-NAG scoring it from its declared op semantics (never a silent uniform prior)."""

import json
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import errors, pgnag, prior, protocol, registry, spaces, tables
from jaxnag.cli import main

OPS = ("zero", "id", "conv", "pool")
EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]


def cell_space(name="cell4z_test"):
    return spaces.categorical(name, OPS, edges=EDGES, remove="zero", identity="id")


def cell_values(space):
    """A synthetic accuracy with interactions: conv after conv on a path scores more than either alone;
    a disconnected cell scores 10."""
    ops = space.all_ops()
    conv = (ops == 2).astype(np.float32)
    value = 50 + 4 * conv.sum(1) + 2 * (ops == 3).sum(1) + 6 * conv[:, 0] * conv[:, 5] + 3 * conv[:, 3]
    return np.where(np.asarray(space.connected(ops)), value, 10.0).astype(np.float32)


def test_categorical_chain_and_cell_round_trip():
    chain = spaces.categorical("chain5_test", ("c3", "c5", "dw", "skip"), slots=5, identity="skip")
    assert chain.size == 4**5 and chain.shape == (5, 4) and chain.identity == (3,) * 5 and chain.remove == (-1,) * 5
    ops = chain.all_ops()[::97]
    assert all((chain.from_string(chain.to_string(o)) == o).all() for o in ops)
    cell = cell_space()
    assert cell.to_string([2, 0, 1, 3, 2, 0]) == "|conv~0|+|zero~0|id~1|+|pool~0|conv~1|zero~2|"
    assert cell.from_string("|conv~0|+|zero~0|id~1|+|pool~0|conv~1|zero~2|").tolist() == [2, 0, 1, 3, 2, 0]
    # connectivity comes from the declared removing op: 'zero' on every edge into node 3 disconnects
    assert cell.connected(np.array([[2, 2, 2, 0, 0, 0], [2, 0, 0, 0, 2, 0]])).tolist() == [False, True]


@pytest.mark.parametrize("build, message", [
    (lambda: spaces.categorical("x", ("a", "b")), "say how many slots"),
    (lambda: spaces.categorical("x", ("a", "a"), slots=2), "distinct choice names"),
    (lambda: spaces.categorical("x", ("a", "b|c"), slots=2), "arch-string separators"),
    (lambda: spaces.categorical("x", ("a", "b"), slots=2, remove="zero"), "no slot has a choice called 'zero'"),
    (lambda: spaces.categorical("x", ("a", "b"), edges=[(1, 0)]), "from a lower to a higher node"),
    (lambda: spaces.categorical("two words", ("a", "b"), slots=2), "one word"),
    (lambda: spaces.categorical("x", ("a", "b"), slots=2, to_string=str), "give both to_string and from_string"),
    (lambda: spaces.register("nb201"), "register takes a SearchSpace"),
    (lambda: spaces.register(spaces.categorical("nb201", ("a",), slots=1)), "'nb201' is taken"),
])
def test_bad_space_definitions_are_one_clear_error(build, message):
    with pytest.raises(errors.JaxnagError) as info:
        build()
    assert message in str(info.value)


def test_a_bad_arch_string_of_a_user_space_is_refused():
    cell = cell_space()
    for bad, message in [("|conv~0|", "must have 3 nodes"), ("|conv~1|+|zero~0|id~1|+|pool~0|conv~1|zero~2|",
                                                               "expected 'op~0'"),
                         ("|relu~0|+|zero~0|id~1|+|pool~0|conv~1|zero~2|", "unknown op 'relu'")]:
        with pytest.raises(errors.InvalidArchitecture, match=None) as info:
            cell.from_string(bad)
        assert message in str(info.value)


def test_pgnag_prior_on_a_user_cell_follows_the_declared_semantics():
    """Shapley players come from remove='zero' (the op names are not NB201's): the prior favours conv,
    the op the table rewards, and PG-NAG's best equals the optimum EDNAG and REA find."""
    space = cell_space("cell4z_pg")
    values = cell_values(space)
    table = tables.from_arrays(space, space.all_ops(), values)
    report = prior.score_table(jax.random.key(0), table, k=10, method="exact")
    p = np.asarray(report.prior)
    assert (p.argmax(1) == OPS.index("conv")).all(), p  # conv is each edge's best op
    assert np.abs(p - 1 / 4).max() > 0.05  # not uniform
    cfg = pgnag.Config(k=10, sampler="direct", samples=50, rounds=2)
    res = jax.jit(lambda k: pgnag.generate(k, table, space, cfg))(jax.random.key(1))
    assert float(res.best_fitness) == values.max()


def test_a_space_without_declared_semantics_is_refused_by_pgnag_not_scored_uniform():
    space = spaces.categorical("chain_plain", ("a", "b", "c"), slots=4)
    table = tables.from_arrays(space, space.all_ops(), np.arange(space.size, dtype=np.float32))
    with pytest.raises(errors.ConfigError, match="declares no choice that removes a slot's component"):
        prior.score_table(jax.random.key(0), table, k=5)
    # an op to score the others against makes every slot a player: c (worth the most) is each slot's favourite
    based = spaces.categorical("chain_based", ("a", "b", "c"), slots=4, baseline="a")
    ops = based.all_ops()
    table = tables.from_arrays(based, ops, (ops == 2).sum(1).astype(np.float32) + 0.5 * (ops == 1).sum(1))
    p = np.asarray(prior.score_table(jax.random.key(0), table, k=5, method="exact").prior)
    assert based.reference().tolist() == [0, 0, 0, 0] and (p.argmax(1) == 2).all(), p


# ----------------------------------------------------------------------------- a user's generator
# The example package's hill climber (examples/userspace), imported from its folder: the default test run
# does not install the package (CI's last step does, and runs examples/userspace/run.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "userspace"))
from jaxnag_example import hill as hill_example  # noqa: E402

HillConfig = hill_example.Config
HILL = protocol.generator("hill_test", HillConfig, hill_example.init, hill_example.ask, hill_example.tell,
                          hill_example.done, small=dict(rounds=5))


def test_a_user_generator_runs_everywhere(nb201_c10):
    registry.register(HILL, replace=True)
    assert "hill_test" in registry.names() and registry.get("hill_test") is HILL
    assert set(HILL.settings) == {"rounds", "neighbours"}
    space = spaces.get("nb201")
    cfg = HILL.config(space, rounds=10)
    res = jax.jit(lambda k: HILL.generate(k, nb201_c10, space, cfg))(jax.random.key(0))
    assert int(res.extras["rounds"]) == 10 and 1 <= int(res.queries) <= 40
    assert float(res.best_fitness) == float(np.asarray(res.best_trace).max())
    assert np.all(np.diff(np.asarray(res.best_trace)[:10]) >= 0)
    host = protocol.run(HILL, jax.random.key(0), lambda o: np.asarray(nb201_c10(o)), space, cfg)
    assert float(host.best_fitness) == float(res.best_fitness)  # the same run, driven from the host
    from jaxnag import budget
    b = budget.with_budget(HILL)
    bres = jax.jit(lambda k: b.generate(k, nb201_c10, space, b.config(space, budget=15, rounds=100)))(
        jax.random.key(0))
    assert int(bres.queries) == 15


# ----------------------------------------------------------------------------- registration from outside
PLUGIN = '''
import numpy as np
from jaxnag import spaces

def chain():
    return spaces.categorical("{name}", ("c3", "c5", "dw", "skip"), slots=5, identity="skip")
'''


def _plugin_package(tmp_path, name):
    pkg = tmp_path / "site"
    (pkg / f"{name}_pkg").mkdir(parents=True)
    (pkg / f"{name}_pkg" / "__init__.py").write_text(textwrap.dedent(PLUGIN.format(name=name)))
    info = pkg / f"{name}_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[jaxnag.spaces]\n{name} = {name}_pkg:chain\n")
    return pkg


def test_an_installed_entry_point_reaches_the_cli(tmp_path, monkeypatch, capsys):
    """A package's jaxnag.spaces entry point (a dist-info on sys.path, as pip installs it): the space is
    listed, and generate --table on it runs."""
    site = _plugin_package(tmp_path, "chainep")
    monkeypatch.syspath_prepend(str(site))
    assert "chainep" in spaces.names()
    space = spaces.get("chainep")
    values = np.asarray(space.all_ops(), np.float32) @ np.array([1.0, -1.0, 2.0, 0.5, 1.0], np.float32)
    np.savez(tmp_path / "t.npz", ops=space.all_ops(), acc=values)
    assert main(["spaces", "--json"]) == 0
    assert "chainep" in [s["name"] for s in json.loads(capsys.readouterr().out)]
    code = main(["generate", "--method", "rea", "--table", str(tmp_path / "t.npz"), "--space", "chainep",
                 "--metric", "acc", "--budget", "200", "--seeds", "2", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert all(space.from_string(r["best_arch"]).shape == (5,) for r in runs)


def test_plugin_flag_imports_a_module_that_registers(tmp_path, monkeypatch, capsys):
    (tmp_path / "myspaces_flag.py").write_text(textwrap.dedent('''
        from jaxnag import spaces
        spaces.register(spaces.categorical("chainflag", ("a", "b", "skip"), slots=3, identity="skip"),
                        replace=True)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["--plugin", "myspaces_flag", "spaces"]) == 0
    assert "chainflag" in capsys.readouterr().out
    assert main(["--plugin", "no_such_module_xyz", "spaces"]) == 2
    err = capsys.readouterr().err
    assert "plugin no_such_module_xyz: cannot import it" in err and len(err.strip().splitlines()) == 1
    sys.modules.pop("myspaces_flag", None)


@pytest.mark.slow  # 6-13 s on 2 cores: the default run keeps to its 5-minute budget
def test_bench_runs_a_table_on_a_user_space(tmp_path):
    """A [[benchmarks]] entry with table = FILE on a registered user space: every method runs on it, the
    records say benchmark 'custom', dataset = the file's stem, and a rerun has nothing left to do."""
    from jaxnag import bench
    space = spaces.register(cell_space("cell4z_bench"), replace=True)
    np.savez(tmp_path / "mine.npz", ops=space.all_ops(), acc=cell_values(space))
    grid = tmp_path / "g.toml"
    grid.write_text('seeds = 3\n[[benchmarks]]\ntable = "mine.npz"\nspace = "cell4z_bench"\nmetric = "acc"\n'
                    '[[methods]]\nname = "rea"\nsettings = { budget = 60 }\n'
                    '[[methods]]\nname = "pgnag"\nsettings = { prior_budget = 40, k = 8, sampler = "direct", '
                    'samples = 30, prior_method = "loo" }\n')
    summary = bench.run_grid(grid, progress=False, plot=False, echo=False)
    assert sorted(r["label"] for r in summary) == ["pgnag", "rea"] and all(r["runs"] == 3 for r in summary)
    lines = [json.loads(x) for x in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert len(lines) == 6 and {(x["benchmark"], x["dataset"], x["metric"]) for x in lines} == {
        ("custom", "mine", "acc")}
    assert all(x["best"] <= x["optimum"] == cell_values(space).max() for x in lines)
    bench.run_grid(grid, progress=False, plot=False, echo=False)
    assert len((tmp_path / "g.jsonl").read_text().splitlines()) == 6
    bad = tmp_path / "bad.toml"
    bad.write_text('seeds = 1\n[[benchmarks]]\ntable = "nope.npz"\nspace = "cell4z_bench"\nmetric = "acc"\n'
                   '[[methods]]\nname = "rea"\n')
    with pytest.raises(errors.JaxnagError, match=r"benchmarks\[0\]\.table: .*nope"):
        bench.run_grid(bad, progress=False, plot=False, echo=False)


def test_the_archive_counts_exactly_on_a_space_of_a_trillion_architectures():
    """12 slots x 10 choices (10^12 architectures, no bit set possible): the hash-set archive's count of
    distinct queries equals a Python set's over what the hill climber evaluated, and a set too small
    says overflow (queries -1) instead of miscounting."""
    space = spaces.categorical("chain12_huge", tuple("abcdefghij"), slots=12)
    assert space.size == 10**12
    w = np.random.default_rng(0).normal(size=(12, 10)).astype(np.float32)
    fitness = lambda ops: jnp.sum(jnp.asarray(w)[jnp.arange(12), ops], axis=-1)  # noqa: E731
    gen = protocol.generator("hill_huge", HillConfig, hill_example.init, hill_example.ask, hill_example.tell,
                             hill_example.done)
    seen = []

    def host(ops):
        seen.extend(map(tuple, ops.tolist()))
        return np.asarray(fitness(ops))
    cfg = gen.config(space, rounds=60, neighbours=8)
    res = protocol.run(gen, jax.random.key(0), host, space, cfg)
    assert int(res.queries) == len(set(seen)) and 60 < len(set(seen)) <= 480
    small = protocol.generator("hill_small", HillConfig, hill_example.init, hill_example.ask, hill_example.tell,
                               hill_example.done, capacity=32)
    over = jax.jit(lambda k: small.generate(k, fitness, space, small.config(space, rounds=60, neighbours=8)))(
        jax.random.key(0))
    assert int(over.queries) == -1
