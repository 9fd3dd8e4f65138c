"""Shared test setup: strict numerics, the shared data directory, small jitted helpers."""

import os
import shutil
import subprocess
from pathlib import Path

import jax
import pytest

# The command line's persistent compilation cache stays off in tests (tests/test_cache.py turns it on in
# its own processes): no test writes to the user's cache folder, and none depends on what another compiled.
os.environ["JAXNAG_CACHE_DIR"] = "off"

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

MULTIDEVICE_FLAG = "--xla_force_host_platform_device_count=8"


# The default run is compile-bound (small shapes, hundreds of programs): XLA's CPU backend without LLVM's
# optimisation passes compiles them about a third faster and runs them slower, which these shapes do not feel;
# its older loop emitters for fusions (not the MLIR fusion emitters) take about 40% less CPU again (tests/
# test_budget.py with test_ednag_parts.py: 42 s of CPU against 74 s). The slow and multidevice steps, which run
# real work, keep XLA's defaults; so does an XLA_FLAGS that sets either flag.
FAST_COMPILE_FLAGS = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false")


def _add_xla_flag(flag: str) -> None:
    name = flag.split("=")[0]
    if name not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flag).strip()


def _selects(expr: str, marker: str) -> bool:
    return marker in expr and f"not {marker}" not in expr


def pytest_configure(config):
    """``pytest -m multidevice`` runs the sharded tests on 8 fake CPU devices; the default run (neither ``slow`` nor
    ``multidevice`` selected) compiles without LLVM's optimisations. Both are set before any backend starts."""
    expr = config.option.markexpr or ""
    if _selects(expr, "multidevice"):
        _add_xla_flag(MULTIDEVICE_FLAG)
    elif not _selects(expr, "slow"):
        for flag in FAST_COMPILE_FLAGS:
            _add_xla_flag(flag)


_DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark tables: $JAXNAG_DATA_DIR, else ../shared/data beside the repo."""
    d = Path(os.environ.get("JAXNAG_DATA_DIR", _DEFAULT_DATA))
    if not (d / "nb201.npz").is_file():
        pytest.skip(f"benchmark tables not found in {d}; set JAXNAG_DATA_DIR")
    return d


@pytest.fixture(scope="session")
def nb201_c10(data_dir):
    from jaxnag import tables
    return tables.load("nb201", "cifar10", data_dir=data_dir)


@pytest.fixture(scope="session")
def nb201(data_dir):
    """The three NB201 tables by dataset name."""
    from jaxnag import tables
    return {d: tables.load("nb201", d, data_dir=data_dir) for d in ("cifar10", "cifar100", "imagenet16")}


@pytest.fixture
def mount_tmpfs(tmp_path):
    """``mount(size, ro=False)`` -> a fresh tmpfs folder (unmounted at teardown); skips where mounting is not
    allowed."""
    mounted = []

    def mount(size="256k", ro=False):
        if shutil.which("mount") is None or os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root and mount(8)")
        d = tmp_path / f"fs{len(mounted)}"
        d.mkdir()
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}" + (",ro" if ro else ""), "tmpfs", str(d)],
                             capture_output=True, text=True)
        if res.returncode:
            pytest.skip(f"mount not allowed here: {res.stderr.strip()}")
        mounted.append(d)
        return d
    yield mount
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


# Runnable examples in docstrings that take 10-18 s each on 2 cores: checked in the slow step, so the default
# run keeps to its 5-minute budget (the other doctests run in the default step).
SLOW_DOCTESTS = {"jaxnag.pgnag", "jaxnag.diffusionnag.generator",
                 "jaxnag.diffusionnag.guidance", "jaxnag.discrete.train", "jaxnag.train"}


# The slow step's longest tests (over a minute each with `--durations` on 2 cores), started first so that the
# two workers of `-n 2 --dist load` do not wait on one of them at the end.
LONGEST_FIRST = ("test_closed_loop_queries_new_candidates_and_refits", "test_darts_mixed_network_is_the_genotypes",
                 "test_every_tutorial_runs_as_it_stands[diffusionnag_guided]", "test_sigint_at_random_points",
                 "test_every_tutorial_runs_as_it_stands[graph_spaces]", "test_bench_killed_mid_run_resumes",
                 "test_queries_made_in_init_count", "test_sigkill_mid_training_resumes",
                 "test_the_module_has_the_table_parameters_for_every_conv_mix",
                 *(f"test_every_proxy_scores_a_disconnected_cell_minus_inf[{case}]"
                   for case in ("tnb101_micro-grasp", "nb201-grasp", "tnb101_micro-snip", "tnb101_micro-fisher")))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.name in SLOW_DOCTESTS and type(item).__name__ == "DoctestItem":
            item.add_marker(pytest.mark.slow)
    # A stable sort: the longest tests first, every other test in its collection order.
    items.sort(key=lambda item: not any(item.name.startswith(name) for name in LONGEST_FIRST))
