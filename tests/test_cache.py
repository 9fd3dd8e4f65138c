"""The command line's persistent compilation cache: a second identical command compiles nothing.

Each run is a fresh process (the cache is process-wide JAX configuration); compilations and cache hits
are counted with ``jax.monitoring`` events inside it.
"""

import json
import os
import subprocess
import sys

import pytest

COUNT = ("import json, sys; from jaxnag import cache; counts = cache.compile_counts(); from jaxnag.cli import main; "
         "code = main(sys.argv[1:]); print('COUNTS ' + json.dumps(counts), file=sys.stderr); sys.exit(code)")


def _run(args, cache_dir, tmp_path):
    env = dict(os.environ, JAXNAG_CACHE_DIR=str(cache_dir), JAX_PLATFORMS="cpu")
    p = subprocess.run([sys.executable, "-c", COUNT, *args], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    counts = json.loads(p.stderr.rsplit("COUNTS ", 1)[1])
    return p.stdout, counts


@pytest.mark.slow  # two fresh processes that compile a generate (about 20 s on 2 cores)
def test_a_second_command_loads_every_program_from_the_cache(tmp_path, data_dir):
    cache = tmp_path / "cache"
    args = ["generate", "--method", "ednag", "--benchmark", "nb201", "--dataset", "cifar10", "--seeds", "2",
            "--population", "8", "--steps", "10", "--json", "--data-dir", str(data_dir)]
    first, cold = _run(args, cache, tmp_path)
    entries = sorted(p.name for p in cache.iterdir())
    second, warm = _run(args, cache, tmp_path)
    assert cold["requests"] >= 1 and cold["hits"] == 0 and entries  # every program compiled once
    assert warm["hits"] == warm["requests"] == cold["requests"]  # every one loaded: nothing compiled
    strip = lambda out: {k: v for k, v in json.loads(out).items() if k != "time_s"}  # noqa: E731
    assert strip(first) == strip(second)
    assert sorted(p.name for p in cache.iterdir()) == entries  # nothing new written
    _, off = _run(["--no-cache", *args], tmp_path / "unused", tmp_path)
    assert off["hits"] == 0 and not (tmp_path / "unused").exists()


def test_an_unwritable_cache_folder_is_one_line_and_the_command_runs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = dict(os.environ, JAXNAG_CACHE_DIR=str(blocker / "cache"), JAX_PLATFORMS="cpu")
    p = subprocess.run([sys.executable, "-m", "jaxnag.cli", "spaces"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 0 and "nb201" in p.stdout
    assert [line for line in p.stderr.splitlines() if "compilation cache off" in line] == [p.stderr.strip()]


TINY = ["--seeds", "2", "--json"]


@pytest.mark.slow  # a fresh process per command, 5-20 s each on 2 cores
@pytest.mark.parametrize("args, programs", [
    (["generate", "--method", "ednag", "--population", "8", "--steps", "10"], 3),  # rule table, keys, run
    (["generate", "--method", "ednag", "--benchmark", "nb201", "--population", "8", "--steps", "10"], 2),
    (["generate", "--method", "rea", "--budget", "40"], 3),
    (["generate", "--method", "evosax", "--generations", "5"], 3),
    (["generate", "--method", "ednag", "--population", "8", "--steps", "10", "--budget", "40"], 3),
    (["generate", "--method", "pgnag", "--benchmark", "nb201"], 2),
    (["prior", "--benchmark", "nb201"], 2),  # key, scoring
], ids=["ednag", "ednag-nb201", "rea", "evosax", "ednag-budget", "pgnag", "prior"])
def test_a_command_compiles_each_of_its_programs_once(args, programs, tmp_path, data_dir):
    """Setup is numpy (tables, validity, ranks) and keys are one program: a command compiles its programs
    only, once each (the issue counted 25 for ednag and 37 for pgnag)."""
    extra = TINY if args[0] == "generate" else ["--json"]
    _, counts = _run(["--no-cache", *args, *extra, "--data-dir", str(data_dir)], tmp_path / "unused", tmp_path)
    assert counts["requests"] <= programs, counts


@pytest.mark.slow  # a fresh process that compiles two grids (about 15 s on 2 cores)
def test_a_bench_grid_compiles_one_program_per_method(tmp_path, data_dir):
    """A grid of 2 methods x 2 stacked NB201 tasks: its seeds' keys and one program per method, nothing else
    (stacking the tables and the preflight trace compile nothing)."""
    grid = tmp_path / "grid.toml"
    grid.write_text(f'seeds = 2\nchunk = 2\ndata_dir = "{data_dir}"\n[[benchmarks]]\nname = "nb201"\ndatasets = ["cifar10", "cifar100"]\n'
                    '[[methods]]\nname = "ednag"\nsettings = { population = 8, steps = 10 }\n'
                    '[[methods]]\nname = "rea"\nsettings = { budget = 40 }\n')
    _, counts = _run(["--no-cache", "bench", str(grid), "--out", str(tmp_path / "r.jsonl"), "--no-progress",
                      "--no-plot"], tmp_path / "unused", tmp_path)
    assert counts["requests"] <= 3, counts
