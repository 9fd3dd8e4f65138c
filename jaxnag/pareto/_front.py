"""A fixed-capacity Pareto archive: the non-dominated architectures found so far (jittable, vmappable).

It holds one architecture per distinct objective vector (the first found: another with the same
objectives adds nothing to the front's quality), sorted by the first objective (best first), so the
hypervolume of two objectives is one pass over it. Where more distinct non-dominated vectors arrive than
it holds, the most crowded are dropped (crowding distance, the extremes kept) and ``truncated`` is set,
so a front too large for its capacity is reported, never silently cut.

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxnag import pareto
  >>> front = pareto.empty(capacity=4, num_slots=2, num_objectives=2)
  >>> ops = jnp.array([[0, 1], [1, 0], [1, 1], [0, 0]])
  >>> vals = jnp.array([[3.0, 1.0], [1.0, 3.0], [1.0, 1.0], [jnp.nan, 9.0]])
  >>> front = pareto.insert(front, ops, vals)
  >>> int(front.size), front.ops[:2].tolist()
  (2, [[0, 1], [1, 0]])
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..errors import ConfigError, check_int
from ._dominance import crowding, non_dominated, usable

__all__ = ["Front", "empty", "insert", "insert_one"]


class Front(NamedTuple):
    """Attributes:
      ops: int32 ``[K, R]``, the front's architectures (first ``size`` rows, the first objective descending;
        -1 beyond).
      values: float32 ``[K, M]``, their objectives (maximised; NaN beyond ``size``).
      size: int32, how many rows hold the front.
      truncated: bool, whether the front ever had more distinct vectors than ``K`` (some were dropped).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import pareto
      >>> front = pareto.Front(np.array([[1], [0], [-1]]), np.array([[3.0, 1.0], [1.0, 3.0], [np.nan, np.nan]]),
      ...                      np.int32(2), np.bool_(False))  # two rows held, K = 3
      >>> front.mask.tolist(), front.ops[front.mask].tolist(), pareto.empty(3, 1, 2).mask.tolist()
      ([True, True, False], [[1], [0]], [False, False, False])
    """

    ops: jax.Array
    values: jax.Array
    size: jax.Array
    truncated: jax.Array

    @property
    def mask(self) -> jax.Array:
        """bool ``[K]``: the rows that hold the front."""
        return jnp.arange(self.ops.shape[-2]) < self.size[..., None]


def empty(capacity: int, num_slots: int, num_objectives: int) -> Front:
    """An empty front for ``capacity`` architectures of ``num_slots`` slots and ``num_objectives`` objectives.

    Examples:
      >>> from jaxnag import pareto
      >>> front = pareto.empty(capacity=8, num_slots=6, num_objectives=2)
      >>> front.ops.shape, front.values.shape, int(front.size), bool(front.truncated), front.mask.tolist()[:2]
      ((8, 6), (8, 2), 0, False, [False, False])
    """
    check_int("capacity", capacity, lo=1, hi=1 << 16)
    check_int("num_objectives", num_objectives, lo=1)
    return Front(jnp.full((capacity, num_slots), -1, jnp.int32), jnp.full((capacity, num_objectives), jnp.nan,
                                                                          jnp.float32),
                 jnp.int32(0), jnp.bool_(False))


def insert(front: Front, ops, values, admit=None) -> Front:
    """The front of ``front`` together with the rows of ``ops [n, R]`` (objectives ``values [n, M]``) that
    ``admit`` (default all) and whose objectives are all finite (a failed evaluation never enters).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> ops = jnp.array([[0, 0], [0, 1], [1, 0], [1, 1]])
      >>> front = pareto.insert(pareto.empty(4, 2, 2), ops, jnp.array([[4.0, 1.0], [3.0, 2.0], [2.0, 3.0], [1.0, 4.0]]))
      >>> int(front.size), bool(front.truncated)
      (4, False)
      >>> more = jnp.array([[5.0, 0.0], [0.0, 5.0], [jnp.nan, 9.0], [1.0, 1.0]])  # 2 new on the front, room for 0
      >>> front = pareto.insert(front, ops + 2, more)
      >>> int(front.size), bool(front.truncated), front.values[:, 0].tolist()  # the extremes are kept
      (4, True, [5.0, 4.0, 3.0, 0.0])
    """
    ops = jnp.asarray(ops, jnp.int32)
    values = jnp.asarray(values, jnp.float32)
    k, m = front.values.shape
    if ops.ndim != 2 or ops.shape[1] != front.ops.shape[1] or values.shape != (ops.shape[0], m):
        raise ConfigError(f"insert takes ops [n, {front.ops.shape[1]}] and values [n, {m}], got {ops.shape} and "
                          f"{values.shape}")
    rows = jnp.concatenate([front.ops, ops])
    vals = jnp.concatenate([front.values, values])
    ok = jnp.concatenate([front.mask, usable(values, admit)])
    nd = non_dominated(vals, ok)
    n = rows.shape[0]
    same = jnp.all(vals[:, None, :] == vals[None, :, :], axis=-1)
    earlier = jnp.arange(n)[:, None] < jnp.arange(n)[None, :]
    keep = nd & ~jnp.any(same & earlier & nd[:, None], axis=0)  # one row per distinct vector, the first
    over = jnp.sum(keep) > k
    crowd = crowding(vals, jnp.where(keep, 0, n), keep)
    position = jnp.argsort(-jnp.where(keep, jnp.where(jnp.isinf(crowd), jnp.finfo(jnp.float32).max, crowd), -1.0),
                           stable=True)
    chosen = jnp.zeros(n, bool).at[position[:k]].set(True) & keep
    order = jnp.argsort(jnp.where(chosen, -vals[:, 0], jnp.inf), stable=True)[:k]  # first objective descending
    held = chosen[order]
    return Front(jnp.where(held[:, None], rows[order], -1), jnp.where(held[:, None], vals[order], jnp.nan),
                 jnp.sum(chosen).astype(jnp.int32), front.truncated | over)


def insert_one(front: Front, op, value, admit=True) -> Front:
    """:func:`insert` of one architecture ``op [R]`` with objectives ``value [M]``, in ``O(K)``: the same front
    as :func:`insert` gives while it fits. Where the front is full, the row with the smallest crowding
    distance measured between its neighbours along the first objective goes (NSGA-II's crowding for two
    objectives; an approximation of it for more).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> add = jax.jit(pareto.insert_one)
      >>> front = pareto.empty(4, 1, 2)
      >>> for op, value in [(0, [1.0, 3.0]), (1, [3.0, 1.0]), (2, [1.0, 1.0]), (3, [2.0, 2.0])]:
      ...     front = add(front, jnp.array([op]), jnp.array(value))
      >>> int(front.size), front.ops[:3].tolist()  # (1, 1) is dominated; sorted by the first objective
      (3, [[1], [3], [0]])
      >>> int(add(front, jnp.array([4]), jnp.array([4.0, 4.0])).size)  # dominates every row held
      1
    """
    op, value = jnp.asarray(op, jnp.int32), jnp.asarray(value, jnp.float32)
    k = front.values.shape[0]
    mask = front.mask
    ok = jnp.asarray(admit, bool) & jnp.all(jnp.isfinite(value))
    covered = jnp.any(mask & jnp.all(front.values >= value[None, :], axis=-1))  # dominated by or equal to one held
    enters = ok & ~covered
    beaten = mask & jnp.all(value[None, :] >= front.values, axis=-1) & jnp.any(value[None, :] > front.values, axis=-1)
    keep = mask & ~(enters & beaten)
    # the kept rows stay in order (first objective descending); the new one goes where its first objective says
    before = jnp.cumsum(keep) - keep.astype(jnp.int32)  # kept rows ahead of each row
    count = jnp.sum(keep).astype(jnp.int32)
    at = jnp.sum(keep & (front.values[:, 0] > value[0])).astype(jnp.int32)
    dest = jnp.where(keep, before + (before >= at).astype(jnp.int32), k + 1)
    rows = jnp.full((k + 1, op.shape[0]), -1, jnp.int32).at[dest].set(front.ops, mode="drop").at[at].set(op)
    vals = jnp.full((k + 1, value.shape[0]), jnp.nan, jnp.float32).at[dest].set(front.values, mode="drop")
    vals = vals.at[at].set(value)
    held = jnp.arange(k + 1) <= count  # the kept rows and the new one, sorted
    # full: drop the most crowded (neighbours along the first objective; the extremes stay)
    prev = jnp.concatenate([vals[:1], vals[:-1]])
    nxt = jnp.concatenate([vals[1:], vals[-1:]])
    lo = jnp.min(jnp.where(held[:, None], vals, jnp.inf), axis=0)
    hi = jnp.max(jnp.where(held[:, None], vals, -jnp.inf), axis=0)
    span = jnp.where(hi > lo, hi - lo, 1.0)
    gap = jnp.sum(jnp.abs(prev - nxt) / span[None, :], axis=-1)
    inner = held & (jnp.arange(k + 1) > 0) & (jnp.arange(k + 1) < count)
    drop = jnp.argmin(jnp.where(inner, gap, jnp.inf))
    full = count >= k
    gone = jnp.where(full, drop, k)  # the row left out: the dropped one, or the empty last
    keep_idx = jnp.arange(k) + (jnp.arange(k) >= gone).astype(jnp.int32)
    rows, vals = rows[keep_idx], vals[keep_idx]
    size = jnp.minimum(count + 1, k)
    return jax.tree.map(lambda new, old: jnp.where(enters, new, old),
                        Front(rows, vals, size, front.truncated | full), front)
