"""Constraints on a second metric (latency, energy, size) as a penalty every generator respects.

``constrain(objective, cost, "<=", 5.0)`` returns a :class:`Table` whose fitness is the
objective's where the constraint holds and, where it does not, a penalty below every
feasible fitness that grows with the violation, so a generator is pushed back toward the
feasible region rather than seeing a flat wall. The table's ``optimum`` is the constrained
optimum (best feasible objective), so hit rates are measured against it.

Examples:
  >>> import numpy as np
  >>> from jaxnag import spaces, tables
  >>> s = spaces.get("tnb101_micro")
  >>> ops = s.all_ops()
  >>> acc = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), metric="acc")
  >>> size = tables.from_arrays(s, ops, (ops == 3).sum(1).astype(np.float32), metric="size", goal="min")
  >>> c = tables.constrain(acc, size, "<=", 2)
  >>> float(c.optimum)          # the best sum of op indices with at most two 3s
  14.0
  >>> c.to_metric(c(np.array([3, 3, 3, 3, 3, 3]))).item()   # infeasible: no metric value
  nan
"""

from __future__ import annotations

import dataclasses
import operator
import re

import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError, DataError
from ._table import Table

_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_PATTERN = re.compile(r"^\s*([^<>=\s]+)\s*(<=|>=|<|>)\s*(\S+)\s*$")


def parse(text: str) -> tuple[str, str, float]:
    """``'pi5/litert/lat_ms<=5'`` -> ``('pi5/litert/lat_ms', '<=', 5.0)``; raises ConfigError.

    Examples:
      >>> from jaxnag import errors, tables
      >>> tables.parse_constraint("pi5/litert/lat_ms<=5"), tables.parse_constraint(" params_mb > 0.5 ")
      (('pi5/litert/lat_ms', '<=', 5.0), ('params_mb', '>', 0.5))
      >>> try:
      ...     tables.parse_constraint("latency=5")
      ... except errors.ConfigError as e:
      ...     print(e)
      constraint must look like 'METRIC<=VALUE' (or <, >=, >), got 'latency=5'
    """
    m = _PATTERN.match(text or "")
    if m is None:
        raise ConfigError(f"constraint must look like 'METRIC<=VALUE' (or <, >=, >), got {text!r}")
    name, op, raw = m.groups()
    try:
        bound = float(raw)
    except ValueError:
        raise ConfigError(f"constraint bound must be a number, got {raw!r} in {text!r}") from None
    if not np.isfinite(bound):
        raise ConfigError(f"constraint bound must be finite, got {raw!r} in {text!r}")
    return name, op, bound


def constrain(objective: Table, cost: Table, op: str, bound: float) -> Table:
    """The objective table with ``cost.metric op bound`` enforced by a penalty.

    Args:
      objective: the table to maximise.
      cost: a table of the same space whose metric (in its own units) is constrained.
      op: ``<=``, ``<``, ``>=`` or ``>``.
      bound: the bound, in the cost metric's units.

    Raises:
      ConfigError: bad operator or bound, or tables of different spaces.
      DataError: no architecture with a finite objective satisfies the constraint.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces, tables
      >>> s = spaces.categorical("chain3", ("a", "b"), slots=3)  # 8 architectures
      >>> ops = s.all_ops()
      >>> acc = tables.from_arrays(s, ops, (ops @ np.array([1, 2, 4])).astype(np.float32), metric="acc")
      >>> size = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), metric="size", goal="min")
      >>> c = tables.constrain(acc, size, "<=", 1)  # at most one 'b'
      >>> float(c.optimum), c.info.metric, bool(c(np.array([1, 1, 1])) < c(np.array([0, 0, 0])))  # pushed below
      (4.0, 'acc s.t. size<=1', True)
    """
    if op not in _OPS:
        raise ConfigError(f"constraint operator must be one of {', '.join(_OPS)}, got {op!r}")
    if not np.isfinite(bound):
        raise ConfigError(f"constraint bound must be finite, got {bound!r}")
    if objective.values.ndim != 1 or cost.values.ndim != 1:
        raise ConfigError("constrain takes single tables, not stacked ones")
    if objective.space is not cost.space:
        raise ConfigError(f"cannot constrain a {objective.space.name} table by a {cost.space.name} table")
    fit = np.asarray(objective.values, np.float64)
    metric = cost.to_metric(np.asarray(cost.values))
    feasible = np.isfinite(metric) & _OPS[op](metric, bound)
    ok = np.isfinite(fit)
    label = f"{cost.info.metric}{op}{bound:g}"
    earlier = objective.info.feasible_floor  # constraints compose: keep the earlier ones' floor
    both = ok & feasible & (fit >= earlier if earlier is not None else True)
    if not both.any():
        raise DataError(f"no architecture of {objective.name} satisfies {label} "
                        f"({cost.info.metric} ranges {np.nanmin(metric):g}..{np.nanmax(metric):g})")
    span = float(fit[ok].max() - fit[ok].min()) or 1.0
    floor = float(fit[ok].min()) - 0.01 * span  # below every value, earlier penalties included
    scale = float(np.nanstd(metric)) or 1.0
    violation = np.abs(metric - bound) / scale
    # Infeasible: below every feasible value, lower the further out; unknown cost = failed (NaN).
    values = np.where(feasible, fit, np.where(np.isfinite(metric), floor - 0.01 * span - violation, np.nan))
    values = np.where(ok, values, np.nan)
    info = objective.info
    keep = feasible[np.asarray(objective.space.rank(info.row_ops))]
    info = dataclasses.replace(info, metric=f"{info.metric} s.t. {label}", row_ops=info.row_ops[keep],
                               row_values=info.row_values[keep],
                               feasible_floor=floor if earlier is None else earlier)
    optimum = float(fit[both].max())
    return Table(jnp.asarray(values, jnp.float32), jnp.asarray(optimum, jnp.float32), info)
