"""Sharded grids on 8 fake CPU devices and across two processes of 4 (``pytest -m multidevice``; .ci/run
runs them in their own step). Every sharded result must be bit-identical to the unsharded one."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import chex
import jax
import numpy as np
import pytest

from jaxnag import bench, ednag, parallel, registry, tables
from jaxnag.diffusionnag import generator as dn
from jaxnag.diffusionnag import train as dn_train

pytestmark = pytest.mark.multidevice
HERE = Path(__file__).parent


@pytest.fixture(scope="module", autouse=True)
def eight_devices():
    if jax.device_count() != 8:
        pytest.fail(f"the multidevice tests need 8 devices, found {jax.device_count()}: run them with "
                    "XLA_FLAGS=--xla_force_host_platform_device_count=8 (pytest -m multidevice sets it)")


@pytest.fixture(scope="module")
def nb201(data_dir):
    return tables.stack([tables.load("nb201", d, data_dir=data_dir) for d in ("cifar10", "cifar100")])


def _context(gen, space, data_dir):
    ctx = {}
    if "source" in gen.context:
        ctx["source"] = tables.load("nb201", "imagenet16", data_dir=data_dir)
    if "score_model" in gen.context:
        tcfg = dn_train.ScoreTrainConfig(net="small")
        ctx["score_model"] = dn.ScoreModel.of(dn_train.build(space, tcfg, jax.random.key(0)), tcfg.make_sde())
    return ctx


TRAINED = ("pgnag", "diffusionnag")  # train a network inside the run (see jaxnag.parallel on bit-identity)


def _assert_identical(name, got, want):
    if name not in TRAINED:
        chex.assert_trees_all_equal(got, want)
        return
    # everything exact but the floats a network trained in the run reports (its losses, its predictions), which
    # may differ in the last bits (the CI machine: 5.5e-7 absolute on DiffusionNAG's predictions)
    diag = {k for k in got.extras if k.endswith("loss") or k == "predicted"}
    chex.assert_trees_all_equal(got._replace(extras={k: v for k, v in got.extras.items() if k not in diag}),
                                want._replace(extras={k: v for k, v in want.extras.items() if k not in diag}))
    for k in diag:
        np.testing.assert_allclose(got.extras[k], want.extras[k], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", registry.names())
def test_sharded_grid_is_bit_identical_to_one_device(name, nb201, data_dir):
    """10 seeds x 2 tasks = 20 cells on 8 devices (4 cells of padding) against one device and a plain vmap."""
    gen = registry.get(name)
    space = nb201.space
    cfg = gen.config(space, **gen.small)
    ctx = _context(gen, space, data_dir)
    seeds = list(range(10))
    sharded = parallel.run(gen, seeds, nb201, space, cfg, **ctx)
    single = parallel.run(gen, seeds, nb201, space, cfg, mesh=parallel.mesh(1), **ctx)
    _assert_identical(name, sharded, single)
    keys = jax.vmap(jax.random.key)(np.asarray(seeds))
    plain = jax.jit(jax.vmap(jax.vmap(lambda k, t, c: gen.generate(k, t, space, cfg, **c), (0, None, None)),
                             (None, 0, None)))(keys, nb201, ctx)
    _assert_identical(name, jax.tree.map(lambda x: x[0], sharded), jax.tree.map(np.asarray, plain))


def test_uneven_chunks_over_eight_devices(nb201):
    cfgs = ednag.Config(population=6, steps=4).batched(temperature=[0.1, 0.2, 0.4])
    a = parallel.run("ednag", range(7), nb201, nb201.space, cfgs, chunk=5)   # 42 cells: calls of 8 on 8 devices
    b = parallel.run("ednag", range(7), nb201, nb201.space, cfgs, mesh=parallel.mesh(1))
    chex.assert_shape(a.best_fitness, (3, 2, 7))
    chex.assert_trees_all_equal(a, b)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _two_processes(argv_of, tmp_path, timeout=600):
    """Start two processes of 4 fake CPU devices each; return their outputs (fails on a non-zero exit)."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    procs = [subprocess.Popen(argv_of(i), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(2)]
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            outs.append((p.returncode, out, err))
    finally:
        for p in procs:
            p.kill()
    for code, out, err in outs:
        assert code == 0, err[-3000:]
    return outs


def test_two_processes_gather_what_one_process_computes(tmp_path, data_dir):
    port = _free_port()
    _two_processes(lambda i: [sys.executable, str(HERE / "worker.py"), str(port), str(i), f"p{i}.npz"], tmp_path)
    table = tables.stack([tables.load("nb201", d, data_dir=data_dir) for d in ("cifar10", "cifar100", "imagenet16")])
    configs = [ednag.Config(population=8, steps=6, temperature=t) for t in (0.1, 0.3)]
    ref = jax.tree.leaves(parallel.run("ednag", range(10), table, table.space, configs, mesh=parallel.mesh(1)))
    for i in range(2):  # every process holds the whole gathered grid
        got = np.load(tmp_path / f"p{i}.npz")
        assert len(got.files) == len(ref)
        for j, want in enumerate(ref):
            np.testing.assert_array_equal(got[f"arr_{j}"], want)


GRID = """
seeds = 5
chunk = 16

[[benchmarks]]
name = "nb201"
datasets = ["cifar10", "ImageNet16-120"]

[[methods]]
name = "ednag"
settings = { population = 8, steps = 6 }
sweep = { temperature = [0.1, 0.3] }

[[methods]]
name = "rea"
settings = { budget = 40, population = 10, sample = 3 }
"""


def _strip(path):
    records = bench.read_results(path)
    return sorted(json.dumps({k: v for k, v in r.items() if k not in ("seconds", "devices", "processes")},
                             sort_keys=True) for r in records)


def test_grid_file_on_one_device_eight_devices_and_two_processes(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    bench.run_grid(grid, out=tmp_path / "one.jsonl", devices=1, progress=False, echo=False, plot=False)
    bench.run_grid(grid, out=tmp_path / "eight.jsonl", progress=False, echo=False, plot=False)
    port = _free_port()
    _two_processes(lambda i: [sys.executable, "-m", "jaxnag.cli", "bench", str(grid), "--out", "two.jsonl",
                              "--coordinator", f"localhost:{port}", "--num-processes", "2", "--process-id", str(i),
                              "--no-progress", "--no-plot"], tmp_path)
    one = _strip(tmp_path / "one.jsonl")
    assert len(one) == 3 * 2 * 5
    assert _strip(tmp_path / "eight.jsonl") == one
    assert _strip(tmp_path / "two.jsonl") == one
    devices = {(r["devices"], r["processes"]) for r in bench.read_results(tmp_path / "two.jsonl")}
    assert devices == {(8, 2)}
