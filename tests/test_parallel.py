"""Grids of configs x tasks x seeds (jaxnag.parallel) and grid files (jaxnag.bench) on one device.

The sharded cases (8 fake CPU devices, two processes) are in tests/multidevice, run by .ci/run in
their own step.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import chex
import jax
import numpy as np
import pytest

from jaxnag import bench, ednag, errors, parallel, registry, spaces, tables
from jaxnag.cli import main


@pytest.fixture(scope="module")
def nb201(data_dir):
    return tables.stack([tables.load("nb201", d, data_dir=data_dir) for d in ("cifar10", "cifar100")])


@pytest.mark.slow  # 6-13 s on 2 cores: the default run keeps to its 5-minute budget
def test_grid_equals_the_plain_vmap_drops_the_padding_and_selects(nb201):
    gen = registry.get("ednag")
    space = nb201.space
    cfgs = ednag.Config(population=6, steps=4).batched(temperature=[0.1, 0.5, 1.0])
    batched, n = parallel.batch_configs(cfgs)
    assert n == 3 and batched.temperature.shape == (3,)
    seeds = [3, 1, 4]
    res = parallel.run(gen, seeds, nb201, space, cfgs, chunk=5)  # 18 cells: calls of 5, the last with 2 padding
    chex.assert_shape(res.best_ops, (3, 2, 3, space.num_slots))
    chex.assert_shape(res.best_trace, (3, 2, 3, 4))
    keys = jax.vmap(jax.random.key)(np.asarray(seeds))
    per_seed = jax.vmap(lambda k, t, c: gen.generate(k, t, space, c), (0, None, None))
    ref = jax.jit(jax.vmap(jax.vmap(per_seed, (None, 0, None)), (None, None, 0)))(keys, nb201, cfgs)
    chex.assert_trees_all_equal(res, jax.tree.map(np.asarray, ref))
    assert not np.array_equal(res.best_trace[0], res.best_trace[2])  # the configs differ: not one repeated
    # a selection of cells (a resumed grid) gives those cells' results, in one call of the same shape
    grid = parallel.cells(3, 2, seeds)
    assert len(grid) == 18 and grid.shape == (3, 2, 3)
    select = np.zeros(18, bool)
    select[[1, 7, 17]] = True
    got = list(parallel.run_chunks(gen, seeds, nb201, space, cfgs, chunk=5, select=select))
    assert len(got) == 1 and list(got[0][0]) == [1, 7, 17]
    flat = jax.tree.map(lambda x: x.reshape((18,) + x.shape[3:]), res)
    chex.assert_trees_all_equal(got[0][1], jax.tree.map(lambda x: x[[1, 7, 17]], flat))


def test_grid_compiles_once_for_chunks_and_new_seeds(nb201):
    base = registry.get("random")
    counted = dataclasses.replace(base, name="random-counted", generate=chex.assert_max_traces(base.generate, n=1))
    space, cfg = nb201.space, base.config(nb201.space, budget=10)
    a = parallel.run(counted, range(6), nb201, space, cfg, chunk=4)   # 12 cells in 3 calls of 4
    b = parallel.run(counted, range(6, 12), nb201, space, cfg, chunk=4)
    assert a.best_fitness.shape == b.best_fitness.shape == (1, 2, 6)
    # a cell depends on its seed alone: seed 7 alone equals seed 7 within the grid
    one = parallel.run(base, [7], nb201, space, cfg)
    chex.assert_trees_all_equal(jax.tree.map(lambda x: x[:, :, 1], b), jax.tree.map(lambda x: x[:, :, 0], one))


@pytest.mark.parametrize("bad, match", [
    (lambda: parallel.batch_configs([ednag.Config(population=6), ednag.Config(population=8)]), "static fields"),
    (lambda: parallel.batch_configs([]), "empty"),
    (lambda: parallel.batch_configs(ednag.Config().replace(temperature=np.ones(3, np.float32))), "every leaf"),
    (lambda: parallel.cells(1, 1, []), "non-empty"),
    (lambda: parallel.cells(1, 1, [-1]), r"\[0, 2\*\*31\)"),
    (lambda: parallel.cells(1, 1, [0.5]), "integers"),
    (lambda: parallel.mesh(10_000), "devices"),
])
def test_bad_grid_arguments(bad, match):
    with pytest.raises(errors.ConfigError, match=match):
        bad()


def test_run_chunks_refuses_a_wrong_select(nb201):
    with pytest.raises(errors.ConfigError, match="select"):
        next(parallel.run_chunks("random", [0], nb201, nb201.space, registry.get("random").config(nb201.space),
                                 select=np.ones(3, bool)))


def test_initialize_checks_its_arguments(monkeypatch):
    monkeypatch.setenv("JAXNAG_NUM_PROCESSES", "two")
    with pytest.raises(errors.ConfigError, match="num_processes"):
        parallel.initialize()
    monkeypatch.setenv("JAXNAG_NUM_PROCESSES", "2")
    with pytest.raises(errors.ConfigError, match="process_id"):
        parallel.initialize(process_id=2)


def test_importing_jaxnag_leaves_jax_distributed_possible(tmp_path):
    """Every module imported (generators too), then jax.distributed still initialises: no backend at import."""
    code = textwrap.dedent("""
        import socket, importlib, pkgutil, jaxnag
        for m in pkgutil.walk_packages(jaxnag.__path__, "jaxnag."):
            importlib.import_module(m.name)
        from jaxnag import parallel, registry
        for name in registry.names():
            registry.get(name)
        s = socket.socket(); s.bind(("localhost", 0)); port = s.getsockname()[1]; s.close()
        parallel.initialize(f"localhost:{port}", 1, 0)
        import jax
        assert jax.process_count() == 1 and jax.distributed.is_initialized()
        print("ok")
    """)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


# ----------------------------------------------------------------------------- grid files
GRID = """
seeds = 4
chunk = 3

[[benchmarks]]
name = "nasbench_graph"
datasets = ["cora", "citeseer"]

[[methods]]
name = "random"
settings = { budget = 15 }

[[methods]]
name = "ednag"
label = "ed"
settings = { population = 6, steps = 4 }
sweep = { temperature = [0.1, 1.0] }
"""


def _strip(records):
    return sorted((json.dumps({k: v for k, v in r.items() if k not in ("seconds", "devices", "processes")},
                              sort_keys=True) for r in records))


@pytest.mark.slow  # about 5 s on 2 cores
def test_bench_writes_resumes_and_summarises(tmp_path, monkeypatch):
    grid = tmp_path / "g.toml"
    grid.write_text(GRID)
    rows = bench.run_grid(grid, progress=False, echo=False)
    out = tmp_path / "g.jsonl"
    first = bench.read_results(out)
    assert len(first) == 3 * 2 * 4 and (tmp_path / "g.md").is_file() and (tmp_path / "g.png").is_file()
    assert {(r["label"], r["dataset"]) for r in rows} == {(label, d) for label in ("random", "ed temperature=0.1",
                                                                                    "ed temperature=1.0")
                                                          for d in ("cora", "citeseer")}
    assert all(r["runs"] == 4 and 0 <= r["hit_rate"] <= 1 for r in rows)
    rec = first[0]
    assert rec["trace_queries"] and len(rec["trace_queries"]) == len(rec["trace_best"])
    assert rec["queries"] <= 15 or rec["method"] != "random"

    # a kill: five whole lines and half of the sixth survive; the rest is recomputed, nothing twice
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:5]) + lines[5][: len(lines[5]) // 2])
    ran = []
    real = parallel.run_chunks

    def counting(*args, **kw):
        for index, res in real(*args, **kw):
            ran.append(len(index))
            yield index, res
    monkeypatch.setattr(parallel, "run_chunks", counting)
    bench.run_grid(grid, progress=False, echo=False, plot=False)
    assert sum(ran) == len(first) - 5
    again = bench.read_results(out)
    assert len(again) == len(first) and _strip(again) == _strip(first)
    ran.clear()
    bench.run_grid(grid, progress=False, echo=False, plot=False)  # complete: nothing runs
    assert ran == []

    # another grid writing to the same file with other settings for a label is refused
    grid.write_text(GRID.replace("budget = 15", "budget = 16"))
    with pytest.raises(errors.ConfigError, match="other settings"):
        bench.run_grid(grid, progress=False, echo=False, plot=False)


@pytest.mark.parametrize("edit, field", [
    (lambda g: g.replace("seeds = 4", "seeds = -1"), "seeds"),
    (lambda g: g.replace("seeds = 4", "seeds = [1, 1]"), "seeds"),
    (lambda g: g.replace("seeds = 4", "seeds = 4\nsteps = 3"), "steps: unknown field"),
    (lambda g: g.replace('name = "random"', 'name = "annealing"'), "methods[0].name"),
    (lambda g: g.replace("budget = 15", "budgett = 15"), "methods[0].settings.budgett"),
    (lambda g: g.replace("budget = 15", "budget = -3"), "methods[0].settings.budget"),
    (lambda g: g.replace("budget = 15", 'budget = "many"'), "methods[0].settings"),
    (lambda g: g.replace('"cora", ', '"atlantis", '), "benchmarks[0].datasets"),
    (lambda g: g.replace('name = "nasbench_graph"', 'name = "nb999"'), "benchmarks[0].name"),
    (lambda g: g.replace("temperature = [0.1, 1.0]", "temperature = 0.1"), "methods[1].sweep.temperature"),
    (lambda g: g.replace("temperature = [0.1, 1.0]", "temperature = [0.1, -1.0]"), "methods[1].settings.temperature"),
    (lambda g: g.replace('label = "ed"', 'label = "random"').replace("sweep = { temperature = [0.1, 1.0] }", ""),
     "labelled 'random'"),
    (lambda g: g.replace("[[methods]]", "[methods]", 1), "not a valid TOML"),
    (lambda g: g.replace("chunk = 3", "chunk = 0"), "chunk"),
    (lambda g: g.replace('label = "ed"', 'label = "ed"\nplain = true'), "methods[1].plain: works with a budget"),
    (lambda g: g.replace('name = "random"', 'name = "random"\nplain = 1'), "methods[0].plain: must be true or false"),
])
def test_bad_grid_file_names_the_field(tmp_path, capsys, edit, field):
    grid = tmp_path / "g.toml"
    grid.write_text(edit(GRID))
    with pytest.raises(errors.JaxnagError) as e:
        bench.load(grid)
    assert field in str(e.value) and str(grid) in str(e.value)
    code = main(["bench", str(grid), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and field in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "g.jsonl").exists()


def test_a_grid_budget_runs_the_query_efficient_form_unless_plain(tmp_path):
    """A method with a budget runs what ``jaxnag generate --budget`` runs (EDNAG: the rank-warped GP surrogate;
    PG-NAG: its prior sized to the space), the settings given kept; ``plain = true`` keeps them as given."""
    from jaxnag import surrogate
    grid = tmp_path / "g.toml"
    grid.write_text(GRID.replace('name = "random"', 'name = "ednag"\nlabel = "form"').replace(
        "budget = 15", "budget = 40, population = 12") + '[[methods]]\nname = "ednag"\nlabel = "plain"\nplain = true\n'
        'settings = { budget = 40, population = 12 }\n[[methods]]\nname = "pgnag"\nsettings = { budget = 40 }\n')
    g = bench.load(grid)
    space = spaces.get("nasbench_graph")
    form, _, _, plain, pg = g.methods
    cfg = bench._config(grid, form, space)
    assert isinstance(cfg.inner, surrogate.Config) and cfg.inner.predictor.warp == "rank"
    assert cfg.inner.inner.population == 12 and cfg.budget == 40
    cfg = bench._config(grid, plain, space)
    assert not isinstance(cfg.inner, surrogate.Config) and cfg.inner.population == 12
    assert plain.recorded == {"budget": 40, "population": 12, "plain": True}
    cfg = bench._config(grid, pg, space)  # 4 players: k = 5 and 20 draws take 40 queries, not half of 40
    assert (cfg.inner.iterative, cfg.inner.k, cfg.inner.prior_budget) == (True, 1, 16)


def test_bench_preflight_refuses_a_context_that_cannot_run(tmp_path, data_dir):
    grid = tmp_path / "g.toml"
    grid.write_text(GRID.replace('name = "random"\nsettings = { budget = 15 }',
                                 'name = "pgnag"\nsettings = { prior_from = "nb201:cifar10", k = 5 }'))
    with pytest.raises(errors.JaxnagError, match=r"methods\[0\] \(pgnag\) on nasbench_graph/cora:test: cannot map "
                                                  "nb201 onto nasbench_graph slot by slot"):
        bench.run_grid(grid, progress=False, echo=False, plot=False)
    assert not (tmp_path / "g.jsonl").exists()


@pytest.mark.slow
def test_bench_killed_mid_run_resumes_without_recomputing(tmp_path):
    """A real process killed (SIGKILL) after some cells: the rerun completes the grid, each cell once, and
    the file equals an uninterrupted run's."""
    grid = tmp_path / "g.toml"
    grid.write_text('seeds = 24\nchunk = 4\n[[benchmarks]]\nname = "nb201"\ndatasets = ["cifar100"]\n'
                    '[[methods]]\nname = "rea"\nsettings = { budget = 1000 }\n')
    out = tmp_path / "g.jsonl"
    cmd = [sys.executable, "-m", "jaxnag.cli", "bench", str(grid), "--no-progress", "--no-plot"]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not (out.exists() and out.read_text().count("\n") >= 4):
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    kept = len(bench.read_results(out))
    assert 4 <= kept < 24
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    records = bench.read_results(out)
    assert len(records) == 24 and len({r["seed"] for r in records}) == 24
    clean = subprocess.run(cmd + ["--out", str(tmp_path / "clean.jsonl")], env=env, capture_output=True, text=True,
                           timeout=600)
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert _strip(records) == _strip(bench.read_results(tmp_path / "clean.jsonl"))


@pytest.mark.slow  # >= 6 s on 2 cores
def test_rea_sample_is_swept_in_one_grid(nb201):
    """REA's tournament size is a traced field: configs of several sample sizes are one compiled grid, and
    each cell equals its own run."""
    from jaxnag import registry
    gen = registry.get("rea")
    space, t = nb201.space, nb201[0]
    cfgs = [gen.config(space, budget=30, population=10, sample=s) for s in (2, 5, 10)]
    res = parallel.run(gen, [0, 1], t, space, cfgs)
    assert res.best_fitness.shape == (3, 1, 2) and len(set(res.best_trace[:, 0, 1].sum(-1).tolist())) > 1
    for i, c in enumerate(cfgs):
        one = jax.jit(lambda k: gen.generate(k, t, space, c))(jax.random.key(1))
        assert float(one.best_fitness) == float(res.best_fitness[i, 0, 1])
        np.testing.assert_array_equal(np.asarray(one.best_trace), res.best_trace[i, 0, 1])
    with pytest.raises(errors.ConfigError, match="sample must be an integer in \\[1, 10\\]"):
        gen.config(space, budget=30, population=10, sample=11)
