"""Shared test setup: strict numerics, the shared data directory, small jitted helpers."""

import os
from pathlib import Path

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

MULTIDEVICE_FLAG = "--xla_force_host_platform_device_count=8"


def pytest_configure(config):
    """``pytest -m multidevice`` runs the sharded tests on 8 fake CPU devices (set before any backend starts)."""
    expr = config.option.markexpr or ""
    if "multidevice" in expr and "not multidevice" not in expr and "xla_force_host_platform_device_count" not in \
            os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + MULTIDEVICE_FLAG).strip()


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
