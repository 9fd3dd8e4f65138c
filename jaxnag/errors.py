"""jaxnag's own error types: bad input, missing or corrupt data, failed generation.

Every error jaxnag raises on purpose derives from :class:`JaxnagError`, so a caller
(the CLI first of all) can tell a user's mistake, which deserves one clear line,
from a bug, which deserves its traceback. Each type also derives from the builtin
that fits it (``ValueError``, ``KeyError``, ...), so ``except ValueError`` keeps working.

Examples:
  >>> from jaxnag import errors
  >>> try:
  ...     errors.check_positive_int("population", 0)
  ... except errors.ConfigError as e:
  ...     print(e)
  population must be an integer >= 1, got 0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import math
import numbers

import numpy as np

__all__ = ["CheckpointError", "ConfigError", "DataError", "GenerationError", "Interrupted", "InvalidArchitecture",
           "JaxnagError", "MissingDependency", "SEED_MAX", "UnknownName", "check_finite", "check_int", "check_ints",
           "check_positive_int", "check_range", "check_seed", "is_concrete", "old_names", "renamed"]


class JaxnagError(Exception):
    """Base of every error jaxnag raises for bad input or unusable data.

    Examples:
      >>> from jaxnag import ednag, errors, spaces
      >>> for bad in (lambda: spaces.get("nb999"), lambda: ednag.Config(population=1)):
      ...     try:
      ...         bad()
      ...     except errors.JaxnagError as e:  # one except for every user error (the CLI prints one line)
      ...         print(type(e).__name__, "|", str(e).split(";")[0])
      UnknownName | unknown search space 'nb999'
      ConfigError | population must be an integer >= 2, got 1
    """


class ConfigError(JaxnagError, ValueError):
    """A hyperparameter, flag or argument is out of range, not finite or inconsistent.

    Examples:
      >>> from jaxnag import ednag, errors
      >>> try:
      ...     ednag.Config(temperature=0.0)
      ... except ValueError as e:  # a ConfigError is a ValueError too
      ...     print(type(e).__name__, isinstance(e, errors.JaxnagError), "|", e)
      ConfigError True | temperature must be in (0, inf], got 0.0
    """


class UnknownName(JaxnagError, KeyError):
    """An unknown space, benchmark, dataset, metric, method or option name.

    Examples:
      >>> from jaxnag import errors, spaces
      >>> try:
      ...     spaces.get("nb999")
      ... except KeyError as e:  # an UnknownName is a KeyError too, whose message is not quoted
      ...     print(type(e).__name__, isinstance(e, errors.JaxnagError), "|", str(e).split(";")[0])
      UnknownName True | unknown search space 'nb999'
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidArchitecture(JaxnagError, ValueError):
    """An arch string or ops array that does not belong to a space.

    Examples:
      >>> from jaxnag import errors, spaces
      >>> try:
      ...     spaces.get("nb201").from_string("|nor_conv_3x3~0|+|conv_9x9~0|none~1|+|none~0|none~1|none~2|")
      ... except ValueError as e:  # an InvalidArchitecture is a ValueError too
      ...     print(type(e).__name__, isinstance(e, errors.JaxnagError), "|", str(e).split(";")[0])
      InvalidArchitecture True | nb201: unknown op 'conv_9x9'
    """


class DataError(JaxnagError, RuntimeError):
    """A benchmark file is missing, truncated, corrupt or does not match its space.

    Examples:
      >>> import tempfile
      >>> from jaxnag import errors, tables
      >>> with tempfile.TemporaryDirectory() as d:
      ...     try:
      ...         tables.load("nb201", "cifar10", data_dir=d)  # an empty data folder
      ...     except RuntimeError as e:  # a DataError is a RuntimeError too
      ...         print(type(e).__name__, isinstance(e, errors.JaxnagError), "|", str(e).split(". ")[0][:19])
      DataError True | nb201.npz not found
    """


class CheckpointError(DataError):
    """A checkpoint folder is missing, incomplete, corrupt or belongs to another run.

    Examples:
      >>> import tempfile
      >>> from jaxnag import errors
      >>> from jaxnag.diffusionnag import train
      >>> with tempfile.TemporaryDirectory() as d:
      ...     try:
      ...         train.load_config(d)  # an empty folder is no score checkpoint
      ...     except errors.DataError as e:  # a CheckpointError is a DataError
      ...         print(type(e).__name__, "|", str(e).replace(d, "DIR").split(";")[0])
      CheckpointError | DIR is not a jaxnag score checkpoint (no jaxnag-score.json)
    """


class GenerationError(JaxnagError, RuntimeError):
    """A generator could not produce what was asked (e.g. no valid sample at all).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import errors
      >>> from jaxnag.diffusionnag import generator
      >>> from jaxnag.protocol import trace_result
      >>> none_valid = trace_result(np.zeros(6), 0.0, 0, np.zeros(1), np.zeros(1), validity=np.float32(0.0))
      >>> try:
      ...     generator.check(none_valid)  # a DiffusionNAG run whose samples were all invalid
      ... except RuntimeError as e:  # a GenerationError is a RuntimeError too
      ...     print(type(e).__name__, isinstance(e, errors.JaxnagError), "|", str(e).split(":")[0])
      GenerationError True | 0% of the generated samples are valid architectures
    """


class MissingDependency(JaxnagError, ImportError):
    """An optional dependency is not installed; the message says which extra to install.

    Examples:
      >>> import sys
      >>> from unittest import mock
      >>> from jaxnag.baselines import evosax_adapter
      >>> with mock.patch.dict(sys.modules, {"evosax": None}):  # as if evosax were not installed
      ...     evosax_adapter.make_strategy("SimpleGA", 4, 30, 2)
      Traceback (most recent call last):
      ...
      jaxnag.errors.MissingDependency: the evosax baselines need evosax: pip install 'jaxnag[baselines]'
    """


class Interrupted(JaxnagError):
    """The user interrupted a long job (Ctrl-C) after jaxnag saved what it could.

    Examples:
      >>> from jaxnag import errors
      >>> from jaxnag.diffusionnag import train
      >>> issubclass(train.TrainingInterrupted, errors.Interrupted), issubclass(errors.Interrupted, ValueError)
      (True, False)
      >>> try:  # what `jaxnag bench` raises on Ctrl-C; the CLI prints the line and exits with 130
      ...     raise errors.Interrupted("interrupted: 3 of 8 cells are saved in results.jsonl")
      ... except errors.JaxnagError as e:
      ...     print(type(e).__name__, "|", e)
      Interrupted | interrupted: 3 of 8 cells are saved in results.jsonl
    """


# ----------------------------------------------------------------------------- checks
def _host(value):
    """``value`` as a numpy array if it holds host-checkable numbers now, else None: tracers (under
    jit/vmap) and the placeholder objects jax unflattens pytrees with are not checked."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return np.asarray(value)  # refused by the caller as not a number
    if isinstance(value, (numbers.Number, np.ndarray, np.generic, list, tuple)):
        return np.asarray(value)
    try:
        import jax
        if isinstance(value, jax.Array):
            return np.asarray(value)
    except Exception:  # a tracer refuses conversion
        return None
    return None


def is_concrete(value) -> bool:
    """Whether ``value`` holds host values that can be checked now (not a tracer or placeholder).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import errors
      >>> seen = []
      >>> _ = jax.eval_shape(lambda x: seen.append(errors.is_concrete(x)) or x, jnp.ones(2))  # traced
      >>> errors.is_concrete(jnp.ones(2)), errors.is_concrete(3), errors.is_concrete(None), seen
      (True, True, False, [False])
    """
    return _host(value) is not None


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as a Python int within ``[lo, hi]``; bools and non-integers are refused.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import errors
      >>> errors.check_int("steps", np.int64(5), lo=2), type(errors.check_int("steps", np.int64(5)))
      (5, <class 'int'>)
      >>> for bad in (2.5, True, 11):
      ...     try:
      ...         errors.check_int("k", bad, lo=1, hi=10)
      ...     except errors.ConfigError as e:
      ...         print(e)
      k must be an integer, got 2.5
      k must be an integer, got True
      k must be an integer in [1, 10], got 11
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if hi is None:
            raise ConfigError(f"{name} must be an integer >= {lo}, got {value}")
        raise ConfigError(f"{name} must be an integer in [{lo}, {hi}], got {value}")
    return value


SEED_MAX = 2**32 - 1  # seeds are uint32: jax.random.key(seed) is the same key for every seed up to this


def check_seed(name: str, value) -> int:
    """A PRNG seed: an integer in ``[0, SEED_MAX]`` (the command line's ``--seed``, PG-NAG's ``denoiser_seed``).

    Examples:
      >>> from jaxnag import errors
      >>> errors.check_seed("--seed", 7)
      7
      >>> try:
      ...     errors.check_seed("--seed", -1)
      ... except errors.ConfigError as e:
      ...     print(e)
      --seed must be an integer in [0, 4294967295], got -1
    """
    return check_int(name, value, lo=0, hi=SEED_MAX)


def check_ints(name: str, value, lo: int, hi: int):
    """A traced-or-concrete integer setting (scalar or batched): where concrete, every entry must be an
    integer in ``[lo, hi]``; a traced one (under jit/vmap) passes through. Returns ``value``.

    Examples:
      >>> from jaxnag.errors import check_ints
      >>> check_ints("sample", [3, 5], 1, 10)
      [3, 5]
    """
    arr = _host(value)
    if arr is not None and (isinstance(value, bool) or arr.dtype.kind not in "iu" or np.any(arr < lo)
                            or np.any(arr > hi)):
        raise ConfigError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return value


def old_names(module: str, names: dict[str, str], namespace: dict) -> Callable[[str], Any]:
    """A module ``__getattr__`` answering the old ``names`` (old -> new name) with the new object and a
    DeprecationWarning: a renamed function or class keeps working for one release.

    Examples:
      >>> import warnings
      >>> from jaxnag import pgnag
      >>> with warnings.catch_warnings(record=True) as w:
      ...     warnings.simplefilter("always")
      ...     same = pgnag.run is pgnag.report
      >>> same, "pgnag.run is deprecated" in str(w[0].message)
      (True, True)
    """
    def __getattr__(name: str):
        if name in names:
            import warnings
            warnings.warn(f"{module}.{name} is deprecated: use {module}.{names[name]} (the old name goes in the "
                          "next release)", DeprecationWarning, stacklevel=2)
            return namespace[names[name]]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return __getattr__


def check_positive_int(name: str, value) -> int:
    """``value`` as an int >= 1.

    Examples:
      >>> from jaxnag import errors
      >>> errors.check_positive_int("population", 30)
      30
      >>> try:
      ...     errors.check_positive_int("population", -2)
      ... except ValueError as e:  # errors.ConfigError
      ...     print(e)
      population must be an integer >= 1, got -2
    """
    return check_int(name, value, lo=1)


def check_finite(name: str, value):
    """Refuse NaN or inf (any element, for arrays); tracers pass unchecked. Returns ``value``.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import errors
      >>> errors.check_finite("noise", 0.8)
      0.8
      >>> for bad in (float("nan"), np.array([1.0, np.inf]), "x"):
      ...     try:
      ...         errors.check_finite("noise", bad)
      ...     except errors.ConfigError as e:
      ...         print(e)
      noise must be finite, got nan
      noise must be finite, got array([ 1., inf])
      noise must be a number, got 'x'
    """
    arr = _host(value)
    if arr is None:
        return value
    if not np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return value


def check_range(name: str, value, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False):
    """Refuse non-finite values and values outside ``[lo, hi]`` (``(lo`` / ``hi)`` when open). Returns ``value``.

    Examples:
      >>> from jaxnag import errors
      >>> errors.check_range("mutation_rate", 0.6, lo=0.0, hi=1.0)
      0.6
      >>> try:
      ...     errors.check_range("temperature", 0.0, lo=0.0, lo_open=True)
      ... except errors.ConfigError as e:
      ...     print(e)
      temperature must be in (0, inf], got 0.0
    """
    check_finite(name, value)
    arr = _host(value)
    if arr is None:
        return value
    arr = arr.astype(np.float64)
    bad = np.zeros(arr.shape, bool)
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if bad.any():
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        lo_s = "-inf" if lo is None else _num(lo)
        hi_s = "inf" if hi is None else _num(hi)
        raise ConfigError(f"{name} must be in {left}{lo_s}, {hi_s}{right}, got {value!r}")
    return value


def renamed(build, names: dict[str, str]):
    """Run ``build()``; a :class:`ConfigError` whose message starts with a key of ``names`` (a field name)
    is raised again under the value (the name the caller used: a setting, a flag). Returns ``build()``.

    Examples:
      >>> from jaxnag import errors
      >>> errors.renamed(lambda: errors.check_int("population", 8, lo=2), {"population": "--population"})
      8
      >>> try:
      ...     errors.renamed(lambda: errors.check_int("population", 1, lo=2), {"population": "--population"})
      ... except errors.ConfigError as e:
      ...     print(e)
      --population must be an integer >= 2, got 1
    """
    try:
        return build()
    except ConfigError as e:
        msg = str(e)
        for field, name in names.items():
            if msg.startswith(field + " "):
                raise type(e)(name + msg[len(field):]) from None
        raise


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and math.isfinite(v) else f"{v:g}"
