"""A fixed-capacity Pareto archive: the non-dominated architectures found so far (jittable, vmappable).

It holds one architecture per distinct objective vector (the first found: another with the same
objectives adds nothing to the front's quality). Where more distinct non-dominated vectors arrive than
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

__all__ = ["Front", "empty", "insert"]


class Front(NamedTuple):
    """Attributes:
      ops: int32 ``[K, R]``, the front's architectures (first ``size`` rows; -1 beyond).
      values: float32 ``[K, M]``, their objectives (maximised; NaN beyond ``size``).
      size: int32, how many rows hold the front.
      truncated: bool, whether the front ever had more distinct vectors than ``K`` (some were dropped).
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
    """An empty front for ``capacity`` architectures of ``num_slots`` slots and ``num_objectives`` objectives."""
    check_int("capacity", capacity, lo=1, hi=1 << 16)
    check_int("num_objectives", num_objectives, lo=1)
    return Front(jnp.full((capacity, num_slots), -1, jnp.int32), jnp.full((capacity, num_objectives), jnp.nan,
                                                                          jnp.float32),
                 jnp.int32(0), jnp.bool_(False))


def insert(front: Front, ops, values, admit=None) -> Front:
    """The front of ``front`` together with the rows of ``ops [n, R]`` (objectives ``values [n, M]``) that
    ``admit`` (default all) and whose objectives are all finite (a failed evaluation never enters)."""
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
    order = jnp.argsort(~chosen, stable=True)[:k]  # the kept rows, in arrival order
    held = chosen[order]
    return Front(jnp.where(held[:, None], rows[order], -1), jnp.where(held[:, None], vals[order], jnp.nan),
                 jnp.sum(chosen).astype(jnp.int32), front.truncated | over)
