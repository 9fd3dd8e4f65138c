"""A benchmark table as a jittable fitness function (a gather over a dense array).

A :class:`Table` is a pytree whose leaves are the dense fitness array ``values``
(one entry per encoding of the space, NaN where the benchmark has no entry or the
encoding is invalid) and the optimum. Calling it on int ops ``[..., R]`` is a
gather, so it works under ``jit`` and ``vmap``, and a stack of tables (same space)
is one pytree to ``vmap`` over for multi-task generation.

Fitness is always maximised. A metric that is better when smaller (latency, energy,
parameters, FLOPs) has ``goal="min"``: its fitness is the negated metric, and
:meth:`Table.to_metric` converts a fitness back into the metric's own units.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError, DataError, InvalidArchitecture, is_concrete
from ..spaces import SearchSpace

GOALS = ("max", "min")


@dataclasses.dataclass(frozen=True, eq=False)
class TableInfo:
    """Static, host-side description of a table.

    It is the table's pytree aux data, and two infos compare equal when they describe the same
    computation: same space, same metric direction and the same number of stacked tasks. So
    every table of one space (CIFAR-10, CIFAR-100, a reload of either) reuses one compilation
    of a jitted function; the values are leaves. Inside a traced function the info is the one
    of the first table traced: use it for the space and the direction only, and read names,
    rows and optima on the host.

    Attributes:
      space: the search space of the table.
      benchmark, dataset, metric: what the values are.
      source: where they were read from (a path or a package).
      row_ops: int32 ``[n, R]``, the benchmark's own rows (one per distinct entry).
      row_values: float32 ``[n]``, the metric of each row, in the metric's own units.
      goal: ``"max"`` if larger metric values are better, ``"min"`` if smaller are.
      feasible_floor: for a constrained table (:func:`jaxnag.tables.constrain`), the
        fitness below which values are penalties of infeasible architectures; else None.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces, tables
      >>> s = spaces.categorical("chain2", ("a", "b", "c"), slots=2)
      >>> ops = s.all_ops()
      >>> cost = tables.from_arrays(s, ops, (ops.max(1) + 1).astype(np.float32), metric="cost", goal="min")
      >>> cost.info.metric, cost.info.goal, cost.info.sign, cost.info.row_ops.shape
      ('cost', 'min', -1.0, (9, 2))
      >>> acc = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), metric="acc")
      >>> acc.info == tables.from_arrays(s, ops, np.ones(9, np.float32), metric="other").info  # one compilation
      True
      >>> acc.info == cost.info  # another direction
      False
    """

    space: SearchSpace
    benchmark: str
    dataset: str
    metric: str
    source: str
    row_ops: np.ndarray = dataclasses.field(repr=False)
    row_values: np.ndarray = dataclasses.field(repr=False)
    goal: str = "max"
    feasible_floor: float | None = None
    tasks: tuple["TableInfo", ...] | None = None

    def _key(self):
        return (id(self.space), self.goal, None if self.tasks is None else len(self.tasks))

    def __eq__(self, other):
        return isinstance(other, TableInfo) and self.space is other.space and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    @property
    def sign(self) -> float:
        """+1 where the metric is maximised, -1 where it is minimised (fitness = sign * metric)."""
        return 1.0 if self.goal == "max" else -1.0


@jax.tree_util.register_pytree_node_class
class Table:
    """Benchmark metric as a fitness of the architecture; higher fitness is better.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces, tables
      >>> space = spaces.get("nb201")
      >>> ops = jnp.asarray(space.all_ops())
      >>> t = tables.from_arrays(space, ops, jnp.arange(space.size, dtype=jnp.float32))
      >>> float(jax.jit(t)(ops[7]))
      7.0
    """

    def __init__(self, values: jax.Array, optimum: jax.Array, info: TableInfo):
        self.values = values
        self.optimum = optimum
        self.info = info

    # pytree protocol: values and optimum are leaves, the rest is static.
    def tree_flatten(self):
        return (self.values, self.optimum), self.info

    @classmethod
    def tree_unflatten(cls, info, leaves):
        return cls(*leaves, info)

    @property
    def space(self) -> SearchSpace:
        return self.info.space

    def __call__(self, ops: jax.Array) -> jax.Array:
        """Metric of ``ops [..., R]``; NaN for an invalid encoding or one the table lacks."""
        space = self.info.space
        if isinstance(ops, (np.ndarray, list, tuple)):
            host = np.asarray(ops)
            if host.dtype == np.bool_ or not np.issubdtype(host.dtype, np.integer):
                raise InvalidArchitecture(f"{self.name}: ops must be integers, got dtype {host.dtype}")
            if host.size and (host.min() < np.iinfo(np.int32).min or host.max() > np.iinfo(np.int32).max):
                raise InvalidArchitecture(f"{self.name}: ops outside the int32 range (largest {host.max()})")
        ops = jnp.asarray(ops)
        if ops.shape[-1:] != (space.num_slots,):
            raise ValueError(
                f"{self.name}: fitness takes ops of shape [..., {space.num_slots}], got {ops.shape}")
        valid = space.is_valid(ops)
        safe = jnp.clip(ops, 0, jnp.broadcast_to(jnp.asarray(space.choice_counts) - 1, ops.shape))
        out = jnp.take(self.values, space.rank(safe), axis=-1, mode="clip")
        return jnp.where(valid, out, jnp.nan)

    @property
    def num_tasks(self) -> int | None:
        """Number of stacked tasks (:func:`stack`), or None for one table."""
        return None if self.info.tasks is None else len(self.info.tasks)

    def __len__(self) -> int:
        if self.info.tasks is None:
            raise TypeError(f"{self.name} is one table, not a stack of tables")
        return len(self.info.tasks)

    def __getitem__(self, i: int) -> "Table":
        """Task ``i`` of a stacked table, with its own names, rows and optimum."""
        if self.info.tasks is None:
            raise TypeError(f"{self.name} is one table, not a stack: there is no task to index")
        n = len(self.info.tasks)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise IndexError(f"task index {i!r} out of range for a stack of {n} tables")
        return Table(self.values[i], self.optimum[i], self.info.tasks[i])

    @property
    def name(self) -> str:
        if self.info.tasks is not None:
            return "+".join(t.benchmark + "/" + t.dataset + ":" + t.metric for t in self.info.tasks)
        return f"{self.info.benchmark}/{self.info.dataset}:{self.info.metric}"

    @property
    def goal(self) -> str:
        """``"max"`` or ``"min"``: the direction in which the metric is better."""
        return self.info.goal

    @property
    def benchmark(self) -> str:
        """The benchmark the values come from (``"custom"`` for a user's table); a stack joins them."""
        return "+".join(t.benchmark for t in self.info.tasks) if self.info.tasks is not None else self.info.benchmark

    @property
    def dataset(self) -> str:
        """The dataset (task) of the values; a stack joins them."""
        return "+".join(t.dataset for t in self.info.tasks) if self.info.tasks is not None else self.info.dataset

    @property
    def metric(self) -> str:
        """The metric the values measure; a stack joins them."""
        return "+".join(t.metric for t in self.info.tasks) if self.info.tasks is not None else self.info.metric

    def _one(self, what: str) -> TableInfo:
        if self.info.tasks is not None:
            raise ConfigError(f"{what} of a stack of {len(self.info.tasks)} tables: index one task first "
                              f"(table[i].{what}(...), or [t.{what}(...) for t in tables.unstack(table)])")
        return self.info

    def to_metric(self, fitness) -> np.ndarray:
        """Fitness values (host) -> the metric in its own units; NaN for failed evaluations and,
        on a constrained table, for penalties of infeasible architectures. On a stacked table the
        leading axis of ``fitness`` is the task."""
        if self.info.tasks is not None:
            f = np.asarray(fitness)
            if f.shape[:1] != (len(self.info.tasks),):
                raise ConfigError(f"to_metric on a stack of {len(self.info.tasks)} tables needs values with a "
                                  f"leading task axis of that length, got shape {f.shape}")
            return np.stack([self[i].to_metric(f[i]) for i in range(len(self.info.tasks))])
        f = np.asarray(fitness, np.float64)
        ok = np.isfinite(f)
        if self.info.feasible_floor is not None:
            ok &= f >= self.info.feasible_floor
        return np.where(ok, self.info.sign * f, np.nan)

    def _row_fitness(self) -> np.ndarray:
        info = self._one("best")
        vals = info.sign * info.row_values.astype(np.float64)
        return np.where(np.isfinite(vals), vals, -np.inf)

    def best(self) -> tuple[np.ndarray, float]:
        """``(ops [R], metric value)`` of the table's best row (host-side)."""
        i = int(np.argmax(self._row_fitness()))
        return self.info.row_ops[i], float(self.info.row_values[i])

    def top_k(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best distinct rows, best first: ``(ops [k, R], metric values [k])``."""
        order = np.argsort(-self._row_fitness(), kind="stable")[:k]
        return self.info.row_ops[order], self.info.row_values[order]

    def __repr__(self) -> str:
        shape = tuple(self.values.shape)
        return f"Table({self.name}, space={self.info.space.name}, values={shape})"


def from_arrays(space: SearchSpace, ops, values, *, benchmark: str = "custom",
                dataset: str = "custom", metric: str = "metric", source: str = "arrays",
                dense_index=None, goal: str = "max") -> Table:
    """Build a :class:`Table` from rows ``ops [n, R]`` and metric ``values [n]``.

    Args:
      space: the search space the rows belong to.
      ops: int rows; each must be a valid encoding, no duplicates.
      values: one float per row; NaN marks a failed or missing measurement.
      dense_index: optional int ``[space.size]`` giving, for every encoding, the
        row that stands for it (-1 for none). The default maps each row to its own
        encoding only; spaces with isomorphic encodings (NAS-Bench-Graph) pass
        the class mapping here.
      goal: ``"max"`` (default) if larger values are better, ``"min"`` if smaller are.

    Raises:
      DataError: shapes, duplicates or invalid rows.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import errors, spaces, tables
      >>> s = spaces.categorical("chain2", ("a", "b"), slots=2)
      >>> t = tables.from_arrays(s, [[0, 1], [1, 1]], [0.5, 0.75], metric="acc")
      >>> t.values.shape, float(t.optimum), t(np.array([[1, 1], [0, 0]])).tolist()  # no row for [0, 0]: NaN
      ((4,), 0.75, [0.75, nan])
      >>> try:
      ...     tables.from_arrays(s, [[0, 1], [0, 1]], [0.5, 0.75])
      ... except errors.DataError as e:
      ...     print(str(e).split(": ")[1])
      duplicate row for architecture a|b
    """
    where = f"{benchmark}/{dataset} ({source})"
    ops_np = np.asarray(ops)
    try:
        vals_np = np.asarray(values, np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{where}: metric {metric!r} must be numeric") from None
    if goal not in GOALS:
        raise DataError(f"{where}: goal must be 'max' or 'min', got {goal!r}")
    if ops_np.ndim != 2 or ops_np.shape[1] != space.num_slots:
        raise DataError(f"{where}: ops must have shape [n, {space.num_slots}] for space {space.name}, got {ops_np.shape}")
    if vals_np.shape != (ops_np.shape[0],):
        raise DataError(f"{where}: metric {metric!r} must have shape ({ops_np.shape[0]},), got {vals_np.shape}")
    if not space.enumerable:
        raise DataError(f"{where}: a table holds a value for every architecture of its space, and {space.name} has "
                        f"{float(space.size):.3g} (a table's space lists at most 2^24): fit a predictor on these rows "
                        "instead (jaxnag.predictors.fitted)")
    try:
        ops_np = space.check(ops_np)
    except ValueError as e:
        raise DataError(f"{where}: {e}") from None
    ranks = np.asarray(space.rank(ops_np))
    if dense_index is None:
        uniq, counts = np.unique(ranks, return_counts=True)
        if (counts > 1).any():
            dup = ops_np[ranks == uniq[np.argmax(counts > 1)]][0]
            raise DataError(f"{where}: duplicate row for architecture {space.to_string(dup)}")
        dense = np.full(space.size, np.nan, np.float32)
        dense[ranks] = vals_np
    else:
        dense_index = np.asarray(dense_index)
        dense = np.where(dense_index >= 0, vals_np[np.clip(dense_index, 0, None)], np.nan).astype(np.float32)
    finite = vals_np[np.isfinite(vals_np)]
    if finite.size == 0:
        raise DataError(f"{where}: metric {metric!r} has no finite value")
    sign = 1.0 if goal == "max" else -1.0
    info = TableInfo(space, benchmark, dataset, metric, source, ops_np, vals_np, goal)
    # device_put, not jnp.asarray: copying host arrays that way compiles nothing
    return Table(jax.device_put((sign * dense).astype(np.float32)), jax.device_put(np.float32(np.max(sign * finite))),
                 info)


def stack(tables: list[Table]) -> Table:
    """Stack tables of one space into a batched table to ``vmap`` over (multi-task runs).

    The stack keeps each task's names, rows and optimum: ``stacked[i]`` is task ``i`` again,
    :func:`unstack` gives them all back, and ``stacked.optimum`` is ``[tasks]``.

    Examples:
      >>> # tbl = tables.stack([tables.load("nb201", d) for d in ("cifar10", "cifar100")])
      >>> # jax.vmap(lambda t: ednag.generate(key, t, space, cfg))(tbl)
    """
    if not tables:
        raise ConfigError("stack needs at least one table")
    space = tables[0].info.space
    for t in tables:
        if t.info.tasks is not None:
            raise ConfigError(f"cannot stack {t.name}: it is already a stack (unstack it first)")
        if t.info.space is not space:
            raise ConfigError(f"cannot stack tables of spaces {space.name} and {t.info.space.name}")
        if t.info.goal != tables[0].info.goal:
            raise ConfigError(f"cannot stack a maximised and a minimised metric ({tables[0].name}, {t.name})")
    first = tables[0].info
    info = TableInfo(space, "+".join(dict.fromkeys(t.info.benchmark for t in tables)),
                     "+".join(t.info.dataset for t in tables), "+".join(dict.fromkeys(t.info.metric for t in tables)),
                     "+".join(dict.fromkeys(t.info.source for t in tables)), first.row_ops[:0], first.row_values[:0],
                     first.goal, None, tuple(t.info for t in tables))
    return Table(stack_arrays([t.values for t in tables]), stack_arrays([t.optimum for t in tables]), info)


def stack_arrays(arrays) -> jax.Array:
    """``jnp.stack(arrays)``, stacked on the host where they are concrete (a stack of tables then compiles
    nothing)."""
    if not all(is_concrete(a) for a in arrays):
        return jnp.stack(arrays)
    return jax.device_put(np.stack([np.asarray(a) for a in arrays]))


def unstack(table: Table) -> list[Table]:
    """The tables a :func:`stack` was made of (each with its own names, rows and optimum).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces, tables
      >>> s = spaces.categorical("chain2", ("a", "b"), slots=2)
      >>> ops = s.all_ops()
      >>> both = tables.stack([tables.from_arrays(s, ops, ops.sum(1) * k, dataset=f"x{k}") for k in (1.0, 2.0)])
      >>> [(t.info.dataset, float(t.optimum), t.values.shape) for t in tables.unstack(both)]
      [('x1.0', 2.0, (4,)), ('x2.0', 4.0, (4,))]
    """
    return [table[i] for i in range(len(table))]
