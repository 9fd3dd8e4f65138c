"""A table of each architecture's Pareto standing: a scalar source for methods that read a table's best rows.

PG-NAG scores its prior from a source table's top-k architectures; :func:`rank_table` makes those the
non-dominated ones (then the next fronts), most spread first, so the prior is scored among the Pareto
set (per objective: give the objective's own table instead). Transfer, as PG-NAG's paper does: build it
from another task's objectives, not from the target's.

Examples:
  >>> from jaxnag import pareto, tables
  >>> t = pareto.rank_table(tables.objectives("nasbench_graph", "citeseer", "test,latency"))
  >>> t.metric, float(t.optimum)
  ('pareto_standing', 1.0)
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..tables import Objectives, from_arrays
from ..tables import front_rows

__all__ = ["rank_table"]


def _crowding(v: np.ndarray) -> np.ndarray:
    """Crowding distance of the rows of one front ``v [F, M]`` (extremes inf), as :func:`jaxnag.pareto.crowding`."""
    n, m = v.shape
    d = np.zeros(n)
    for j in range(m):
        order = np.argsort(v[:, j], kind="stable")
        span = v[order[-1], j] - v[order[0], j]
        gap = np.full(n, np.inf)
        if n > 2:
            gap[1:-1] = (v[order[2:], j] - v[order[:-2], j]) / span if span > 0 else 0.0
        d[order] += gap
    return d / m


def rank_table(objectives: Objectives, fronts: int = 3):
    """A :class:`~jaxnag.tables.Table` over ``objectives``' space: ``-rank + c / (1 + c)`` for the architectures
    of the first ``fronts`` non-dominated fronts (rank 0, 1, ...; ``c`` the crowding distance in the front,
    1 for its extremes), ``-fronts`` for every other architecture with all objectives, NaN where one fails.
    Host-side, by enumerating the space.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import pareto, spaces, tables
      >>> space = spaces.categorical("two_bits", ("a", "b"), slots=2)  # 4 architectures
      >>> ops = space.all_ops()
      >>> acc = tables.from_arrays(space, ops, np.array([1.0, 2.0, 3.0, 4.0], np.float32), metric="acc")
      >>> speed = tables.from_arrays(space, ops, np.array([-1.0, -3.0, -2.0, -4.0], np.float32), metric="neg_latency")
      >>> t = pareto.rank_table(tables.combine([acc, speed]), fronts=2)
      >>> t.metric, t.values.tolist()  # per architecture (in ops' order): front 0's extremes 1, its middle 0.5
      ('pareto_standing', [1.0, 0.0, 0.5, 1.0])
    """
    space = objectives.space
    if not space.enumerable:
        raise ConfigError(f"{space.name} is too large to enumerate: a Pareto standing table needs every architecture")
    ranks = space.distinct_ranks()
    vals = np.stack([np.asarray(t.values)[ranks] for t in objectives.tables], 1).astype(np.float64)
    ok = np.flatnonzero(np.all(np.isfinite(vals), axis=1))
    score = np.full(len(ranks), np.nan)
    score[ok] = -float(fronts)
    left = ok
    for k in range(fronts):
        if not len(left):
            break
        v = vals[left]
        first = front_rows(v)  # one row per distinct vector; equal rows share its standing
        on = np.zeros(len(left), bool)
        for i in first:
            on |= np.all(v == v[i], axis=1)
        c = _crowding(v[on])
        score[left[on]] = -k + np.where(np.isinf(c), 1.0, c / (1.0 + np.where(np.isinf(c), 0.0, c)))
        left = left[~on]
    names = "+".join(objectives.names)
    return from_arrays(space, np.asarray(space.unrank(ranks)), score.astype(np.float32),
                       benchmark=objectives.tables[0].benchmark, dataset=objectives.tables[0].dataset,
                       metric="pareto_standing", source=f"Pareto standing of {names}")
