"""jaxnag: neural architecture generation in JAX.

Pure, composable functions for EDNAG, DiffusionNAG and PG-NAG over search spaces
that are data and benchmark tables that are jittable fitness functions.
Importing ``jaxnag`` imports jax and numpy only; submodules load what they need.

Examples:
  >>> import jaxnag
  >>> jaxnag.spaces.get("nb201").shape
  (6, 5)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("spaces", "tables", "baselines", "ednag", "schedules", "shaping", "queries", "prior", "discrete",
               "pgnag", "sde", "nn", "diffusionnag", "errors", "cli", "protocol", "registry", "parallel", "bench",
               "models", "proxies")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"jaxnag.{name}")
    raise AttributeError(f"module 'jaxnag' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
