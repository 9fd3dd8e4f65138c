"""Every generator of the registry through the one protocol (evosax-style: parametrised over the registry).

For each: ``generate`` vmapped over seeds gives one common Result; a Python loop over seeds and over
datasets of one space compiles exactly once; ask/tell driven by a host (numpy) fitness runs to the end.
"""

import chex
import jax
import numpy as np
import pytest
from flax import nnx

from jaxnag import errors, protocol, registry, spaces, tables
from jaxnag.diffusionnag import generator as dn
from jaxnag.diffusionnag import train as dn_train

NAMES = registry.names()
# The trained generators compile for long on CPU: their heaviest cases run in the slow step of .ci/run.
HEAVY = {"pgnag", "diffusionnag", "nsga2", "local_search"}  # the last two: tests/test_pareto.py in the default step


def _params(slow: set):
    return [pytest.param(n, marks=pytest.mark.slow) if n in slow else n for n in NAMES]


def _setup(name, nb201):
    """(generator, space, small config, context) for a run on NB201."""
    gen = registry.get(name)
    space = nb201["cifar10"].space
    cfg = gen.config(space, **gen.small)
    ctx = {}
    if "source" in gen.context:
        ctx["source"] = nb201["cifar10"]  # transfer: the prior comes from CIFAR-10
    if "score_model" in gen.context:
        tcfg = dn_train.ScoreTrainConfig(net="small")
        ctx["score_model"] = dn.ScoreModel.of(dn_train.build(space, tcfg, jax.random.key(0)), tcfg.make_sde())
    return gen, space, cfg, ctx


def test_registry_lists_every_method():
    assert set(NAMES) >= {"ednag", "pgnag", "diffusionnag", "random", "rea", "evosax"}  # and any plugin's
    for name in NAMES:
        gen = registry.get(name)
        assert gen.name == name and set(gen.small) <= set(gen.settings)
        assert all(c in ("source", "score_model") for c in gen.context)


@pytest.mark.parametrize("name", _params(HEAVY))
def test_generate_vmapped_over_seeds_gives_the_common_result(name, nb201):
    gen, space, cfg, ctx = _setup(name, nb201)
    t = nb201["cifar100"]
    run = jax.jit(jax.vmap(lambda k, tab, c: gen.generate(k, tab, space, cfg, **c), in_axes=(0, None, None)))
    res = run(jax.random.split(jax.random.key(0), 3), t, ctx)
    assert isinstance(res, protocol.Result) and isinstance(res.extras, dict)
    chex.assert_shape(res.best_ops, (3, space.num_slots))
    chex.assert_shape([res.best_fitness, res.queries], (3,))
    assert res.best_trace.shape == res.queries_trace.shape and res.best_trace.shape[0] == 3
    best = np.asarray(res.best_fitness)
    finite = np.isfinite(best)
    # The best is a real evaluation of the best architecture, and the trace ends there.
    np.testing.assert_allclose(best[finite], np.asarray(t(res.best_ops))[finite])
    np.testing.assert_allclose(np.asarray(res.best_trace)[:, -1], best)
    assert np.all(np.diff(np.asarray(res.best_trace), axis=1) >= 0)
    assert np.all(np.asarray(res.queries) >= 1) and np.all(np.diff(np.asarray(res.queries_trace), axis=1) >= 0)


@pytest.mark.parametrize("name", _params({"diffusionnag", "pgnag"}))  # 14 s and more each on 2 cores
def test_one_compilation_for_seeds_and_datasets(name, nb201):
    """A Python loop over 2 seeds x 3 datasets (tables loaded separately) traces the function once."""
    gen, space, cfg, ctx = _setup(name, nb201)
    chex.clear_trace_counter()

    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(key, tab, c):
        return gen.generate(key, tab, space, cfg, **c)

    for seed in range(2):
        for t in nb201.values():
            jax.block_until_ready(run(jax.random.key(seed), t, ctx).best_fitness)


@pytest.mark.parametrize("name", _params(HEAVY))
def test_ask_tell_with_a_host_fitness(name, nb201):
    """The fitness lives outside JAX (numpy here): ask/tell runs to the end, compiled once per round kind."""
    gen, space, cfg, ctx = _setup(name, nb201)
    t = nb201["cifar100"]
    told = []

    def evaluate(ops):
        assert isinstance(ops, np.ndarray)
        values = np.asarray(t(ops))
        told.append(values)
        return values

    states = []
    res = protocol.run(gen, jax.random.key(1), evaluate, space, cfg, callback=lambda r, o, v, s: states.append(s),
                       **ctx)
    assert bool(gen.done(states[-1], cfg)) and not any(bool(gen.done(s, cfg)) for s in states[:-1])
    values = np.concatenate(told)
    # one callback per round; the host is asked only for rows that need a value (a round may need none:
    # DiffusionNAG's candidates from an untrained network are all invalid)
    assert int(res.extras["rounds"]) == len(states) >= len(told) >= 1
    assert float(res.best_fitness) == pytest.approx(float(np.nanmax(values))) or not np.isfinite(res.best_fitness)
    assert res.best_trace.shape == (len(states),)
    if name in ("pgnag", "diffusionnag"):  # generate derives its round keys like run: the same run
        same = jax.jit(lambda k, tab, c: gen.generate(k, tab, space, cfg, **c))(jax.random.key(1), t, ctx)
        np.testing.assert_array_equal(np.asarray(same.best_ops), np.asarray(res.best_ops))
        assert int(same.queries) == int(res.queries)


@pytest.mark.parametrize("name", _params(HEAVY))
def test_asking_a_finished_run_is_an_error(name, nb201):
    """Past the last round, ask raises on a concrete state (under jit it is documented as a no-op)."""
    gen, space, cfg, ctx = _setup(name, nb201)
    init, ask, tell = gen.jitted
    state = init(jax.random.key(0), space, cfg, **ctx)
    for r in range(10_000):
        if bool(gen.done(state, cfg)):
            break
        ops, state = ask(jax.random.key(r), state, space, cfg)
        state = tell(state, nb201["cifar10"](ops), space, cfg)
    with pytest.raises(errors.ConfigError, match="finished"):
        gen.ask(jax.random.key(0), state, space, cfg)


def test_config_errors_name_the_setting(nb201):
    space = nb201["cifar10"].space
    with pytest.raises(Exception, match="temperature must be in"):
        registry.get("pgnag").config(space, temperature=-1.0)
    with pytest.raises(Exception, match=r"budget must be an integer in \[1, 15625\]"):
        registry.get("rea").config(space, budget=0)
    with pytest.raises(KeyError, match="unknown generator 'bananas'"):
        registry.get("bananas")


def test_stacked_tables_keep_each_task(nb201):
    st = tables.stack(list(nb201.values()))
    assert len(st) == 3 and st.num_tasks == 3
    assert [t.info.dataset for t in tables.unstack(st)] == ["cifar10", "cifar100", "imagenet16"]
    np.testing.assert_allclose(np.asarray(st.optimum), [float(t.optimum) for t in nb201.values()])
    assert st[1].best()[1] == pytest.approx(73.5133, abs=1e-3)
    with pytest.raises(Exception, match="index one task first"):
        st.best()
    # A stack vmaps like one table per task, and indexes back.
    gen = registry.get("ednag")
    cfg = gen.config(st[0].space, **gen.small)
    res = jax.jit(jax.vmap(lambda t: gen.generate(jax.random.key(0), t, t.space, cfg)))(st)
    for i, t in enumerate(tables.unstack(st)):
        assert float(res.best_fitness[i]) == pytest.approx(float(t(res.best_ops[i])))


def test_nnx_module_state_travels_as_a_pytree():
    """ScoreModel is a pytree: jit sees the network's state as leaves, the graph and SDE as static."""
    from jaxnag import spaces
    tcfg = dn_train.ScoreTrainConfig(net="small")
    s = spaces.get("nb201")
    m = dn.ScoreModel.of(dn_train.build(s, tcfg, jax.random.key(0)), tcfg.make_sde())
    leaves = jax.tree.leaves(m)
    assert leaves and all(isinstance(x, jax.Array) for x in leaves)
    assert isinstance(nnx.merge(m.graphdef, m.state), nnx.Module)


def test_old_setting_names_work_for_one_release_with_a_note(capsys, tmp_path):
    """--tau (now --temperature, PG-NAG's Config field): accepted with one deprecation line, on the
    command line, in a grid file and in Python; the new name is the Config field's."""
    import warnings

    from jaxnag import bench
    from jaxnag.cli import _renamed_flags
    assert _renamed_flags(["generate", "--tau", "0.5", "--tau=0.2"]) == ["generate", "--temperature", "0.5",
                                                                      "--temperature=0.2"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("--tau is deprecated: use --temperature" in line for line in err)
    space = spaces.get("nb201")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = registry.get("pgnag").config(space, tau=0.3)
    assert cfg.temperature == 0.3 and any(issubclass(w.category, DeprecationWarning) for w in caught)
    grid = tmp_path / "g.toml"
    grid.write_text('seeds = 1\n[[benchmarks]]\nname = "nasbench_graph"\ndatasets = ["cora"]\n'
                    '[[methods]]\nname = "pgnag"\nsettings = { tau = 0.3, prior_budget = 30, k = 5 }\n')
    g = bench.load(grid)
    assert g.methods[0].settings["temperature"] == 0.3 and "tau" not in g.methods[0].settings
    assert "methods[0].settings.tau is deprecated" in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_every_config_has_replace(name):
    """Every generator's config (and the configs inside it) has .replace, checked as a new one is."""
    import dataclasses
    gen = registry.get(name)
    space = spaces.get("nb201")
    cfg = gen.config(space, **gen.small)
    assert cfg.replace() == cfg
    for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(cfg) else ():
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            assert value.replace() == value, f.name
