"""Several metrics of one architecture as a vector fitness ``[..., M]`` (multi-objective generation).

:func:`objectives` builds one from a benchmark's columns (accuracy and latency, energy, parameters,
FLOPs; or one metric on several tasks), :func:`combine` from tables of one space (a user's table
with several metric columns, loaded column by column). Like a :class:`Table` it is a pytree, so it
goes into ``jit`` and ``vmap``; every objective is maximised (a cost is negated, its ``goal`` is
``"min"``), and :meth:`Objectives.to_metric` gives the metrics back in their own units.

Where the space is enumerable the exact Pareto front is known (:meth:`Objectives.exact_front`),
and with it the ideal and nadir points that normalise the hypervolume (EvoXBench's scale).

Examples:
  >>> from jaxnag import tables
  >>> obj = tables.objectives("nasbench_graph", "cora", ["test", "latency"])
  >>> obj.names, obj.goals
  (('test', 'latency'), ('max', 'min'))
  >>> ops, vals = obj.exact_front()
  >>> len(ops)
  10
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError, DataError
from ._table import Table, stack_arrays

__all__ = ["Objectives", "combine", "front_rows", "objectives", "stack_objectives"]


def front_rows(values: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``values [n, M]`` (numpy, maximised, all finite), one per distinct
    vector (the first), in descending lexicographic order: one pass, since no row dominates one before it
    (host-side, for whole tables; :func:`jaxnag.pareto.non_dominated` is the jittable one).

    Examples:
      >>> front_rows(np.array([[1.0, 2.0], [2.0, 1.0], [1.0, 1.0], [2.0, 1.0]])).tolist()
      [1, 0]
    """
    order = np.lexsort(tuple(-values[:, j] for j in reversed(range(values.shape[1]))))
    kept: list[int] = []
    held = np.empty((0, values.shape[1]))
    for i in order:
        v = values[i]
        if held.shape[0] and np.any(np.all(held >= v, axis=1)):  # dominated by, or equal to, one kept
            continue
        kept.append(i)
        held = np.vstack([held, v])
    return np.asarray(kept, np.int64)


@jax.tree_util.register_pytree_node_class
class Objectives:
    """``M`` tables of one space as one fitness: ``obj(ops [..., R]) -> [..., M]`` (NaN where any is).

    Attributes:
      tables: the ``M`` :class:`Table` s (each maximised: a cost's fitness is its negation).
      ideal, nadir: float32 ``[M]``, the exact front's best and worst value of each objective (fitness
        units), or NaN where the space is too large to enumerate.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces, tables
      >>> s = spaces.categorical("chain2", ("a", "b", "c"), slots=2)
      >>> ops = s.all_ops()
      >>> acc = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), metric="acc")
      >>> cost = tables.from_arrays(s, ops, (ops.max(1) + 1).astype(np.float32), metric="cost", goal="min")
      >>> nan = np.full(2, np.nan, np.float32)
      >>> obj = tables.Objectives((acc, cost), nan, nan)  # no ideal and nadir given (tables.combine finds them)
      >>> v = obj(np.array([2, 2]))  # float32 [M]: the cost negated
      >>> obj.num_objectives, obj.names, v.tolist(), obj.to_metric(v).tolist()  # the metrics in their own units
      (2, ('acc', 'cost'), [4.0, -3.0], [4.0, 3.0])
    """

    def __init__(self, tables: tuple[Table, ...], ideal, nadir):
        self.tables = tuple(tables)
        self.ideal = ideal
        self.nadir = nadir

    def tree_flatten(self):
        return (self.tables, self.ideal, self.nadir), None

    @classmethod
    def tree_unflatten(cls, _, leaves):
        return cls(*leaves)

    @property
    def space(self):
        return self.tables[0].space

    @property
    def info(self):
        """The first objective's :class:`TableInfo` (its benchmark, dataset and space are every objective's)."""
        return self.tables[0].info

    @property
    def num_tasks(self) -> int | None:
        """Stacked tasks (:func:`stack_objectives`), or None."""
        return self.tables[0].num_tasks

    @property
    def num_objectives(self) -> int:
        return len(self.tables)

    @property
    def names(self) -> tuple[str, ...]:
        """One name per objective: the metric, or ``dataset:metric`` where the datasets differ."""
        same = len({t.dataset for t in self.tables}) == 1
        return tuple(t.metric if same else f"{t.dataset}:{t.metric}" for t in self.tables)

    @property
    def goals(self) -> tuple[str, ...]:
        return tuple(t.goal for t in self.tables)

    @property
    def name(self) -> str:
        return " x ".join(t.name for t in self.tables)

    def __call__(self, ops) -> jax.Array:
        """Objectives of ``ops [..., R]``: float32 ``[..., M]`` (maximised; NaN for an invalid encoding)."""
        return jnp.stack([t(ops) for t in self.tables], axis=-1)

    def to_metric(self, values) -> np.ndarray:
        """Fitness vectors ``[..., M]`` (host) -> the metrics in their own units."""
        v = np.asarray(values, np.float64)
        if v.shape[-1:] != (self.num_objectives,):
            raise ConfigError(f"to_metric takes values [..., {self.num_objectives}], got shape {v.shape}")
        return np.stack([t.to_metric(v[..., j]) for j, t in enumerate(self.tables)], axis=-1)

    def exact_front(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ops [F, R], values [F, M])``: the exact Pareto front, one architecture per distinct objective
        vector, by enumerating the space's distinct queries (host-side, cached).

        Raises:
          ConfigError: the space is too large to enumerate.
        """
        hit = self.__dict__.get("_front")
        if hit is None:
            space = self.space
            if not space.enumerable:
                raise ConfigError(f"{space.name} is too large to enumerate: its exact front is unknown (give the "
                                  "reference point yourself)")
            ranks = space.distinct_ranks()
            vals = np.stack([np.asarray(t.values)[ranks] for t in self.tables], axis=1).astype(np.float64)
            ok = np.all(np.isfinite(vals), axis=1)
            if not ok.any():
                raise DataError(f"{self.name}: no architecture has every objective")
            rows = np.flatnonzero(ok)[front_rows(vals[ok])]
            hit = (np.asarray(space.unrank(ranks[rows])), vals[rows].astype(np.float32))
            self.__dict__["_front"] = hit
        return hit

    def __repr__(self) -> str:
        return f"Objectives({self.name})"


def combine(tables) -> Objectives:
    """One :class:`Objectives` from tables of one space (any mix of benchmark and user tables, each with its
    goal); the ideal and nadir points from the exact front where the space is enumerable.

    Raises:
      ConfigError: fewer than two tables, stacked tables, or tables of different spaces.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces, tables
      >>> s = spaces.categorical("chain2", ("a", "b", "c"), slots=2)
      >>> ops = s.all_ops()
      >>> acc = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), metric="acc")
      >>> cost = tables.from_arrays(s, ops, (ops.max(1) + 1).astype(np.float32), metric="cost", goal="min")
      >>> obj = tables.combine([acc, cost])
      >>> obj.names, obj.goals, obj(np.array([2, 2])).tolist()  # a cost is negated: every objective maximised
      (('acc', 'cost'), ('max', 'min'), [4.0, -3.0])
      >>> front_ops, _ = obj.exact_front()
      >>> front_ops.tolist(), obj.ideal.tolist(), obj.nadir.tolist()
      ([[2, 2], [1, 1], [0, 0]], [4.0, -1.0], [0.0, -3.0])
    """
    tables = tuple(tables)
    if len(tables) < 2:
        raise ConfigError(f"objectives need at least two metrics, got {len(tables)}")
    for t in tables:
        if not isinstance(t, Table):
            raise ConfigError(f"objectives are built from jaxnag Tables, got {type(t).__name__}")
        if t.num_tasks is not None:
            raise ConfigError(f"{t.name} is a stack of tables: give one table per objective")
        if t.space is not tables[0].space:
            raise ConfigError(f"objectives must share one space: {tables[0].space.name} and {t.space.name}")
    nan = jnp.full(len(tables), jnp.nan, jnp.float32)
    obj = Objectives(tables, nan, nan)
    if obj.space.enumerable:
        _, vals = obj.exact_front()
        obj = Objectives(tables, jnp.asarray(vals.max(0), jnp.float32), jnp.asarray(vals.min(0), jnp.float32))
        obj.__dict__["_front"] = (_, vals)
    return obj


def objectives(benchmark: str, dataset: str | None = None, metrics=None,
               data_dir: str | os.PathLike | None = None) -> Objectives:
    """Several metrics of a benchmark as one vector fitness.

    Args:
      benchmark, dataset: as :func:`jaxnag.tables.load`.
      metrics: the metrics (``jaxnag benchmarks`` lists them), as a list or a comma-separated string; an
        entry ``DATASET:METRIC`` takes the metric on another dataset of the benchmark (TransNAS-Bench-101's
        tasks as objectives: ``["class_scene:val", "class_object:val"]``). Each keeps its goal: accuracy is
        maximised, latency, energy, parameters and FLOPs minimised; an entry may state it (``params_mb@min``),
        and a goal that does not match the metric is refused.

    Raises:
      UnknownName: an unknown benchmark, dataset or metric.
      ConfigError: fewer than two metrics, one repeated, or a stated goal that does not match its metric.
      DataError: missing or corrupt data.

    Examples:
      >>> from jaxnag import errors, tables
      >>> obj = tables.objectives("nasbench_graph", "cora", "test, latency@min")
      >>> obj.names, obj.goals, obj.num_objectives
      (('test', 'latency'), ('max', 'min'), 2)
      >>> try:
      ...     tables.objectives("nasbench_graph", "cora", ["test@min", "latency"])
      ... except errors.ConfigError as e:
      ...     print(str(e).split(" (")[0])
      test is maximised: the goal @min does not match it
    """
    from ._sources import load
    if metrics is None:
        raise ConfigError("objectives needs the metrics, e.g. ['test_acc', 'params_mb']")
    items = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else [str(m) for m in metrics]
    if len(set(items)) != len(items):
        raise ConfigError(f"an objective is repeated in {items}")
    tables = []
    for item in items:
        item, _, goal = item.partition("@")
        ds, metric = item.split(":", 1) if ":" in item else (dataset, item)
        table = load(benchmark, ds, data_dir, metric)
        if goal and goal != table.goal:
            what = "minimised (a cost)" if table.goal == "min" else "maximised"
            raise ConfigError(f"{metric} is {what}: the goal @{goal} does not match it (leave the goal out, or "
                              f"write @{table.goal})")
        tables.append(table)
    return combine(tables)


def stack_objectives(objectives) -> Objectives:
    """Stack :class:`Objectives` of one space and the same metrics (several datasets or tasks) into one
    pytree to ``vmap`` over: multi-task multi-objective generation in one call (each task keeps its own
    ideal and nadir points, which :func:`jaxnag.pareto.with_objectives` reads from the fitness).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import tables
      >>> objs = [tables.objectives("nasbench_graph", d, "test,latency") for d in ("cora", "citeseer")]
      >>> both = tables.stack_objectives(objs)
      >>> jax.vmap(lambda o: o(jnp.zeros((3, 5), jnp.int32)))(both).shape
      (2, 3, 2)
    """
    from ._table import stack
    objectives = list(objectives)
    if not objectives:
        raise ConfigError("stack_objectives needs at least one Objectives")
    widths = {o.num_objectives for o in objectives}
    if len(widths) != 1 or len({o.goals for o in objectives}) != 1:
        raise ConfigError("stacked objectives need the same number of objectives with the same goals")
    tables = tuple(stack([o.tables[j] for o in objectives]) for j in range(objectives[0].num_objectives))
    return Objectives(tables, stack_arrays([o.ideal for o in objectives]), stack_arrays([o.nadir for o in objectives]))
