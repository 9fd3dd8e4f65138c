"""Carry a prior or score matrix from one space's op vocabulary to another's.

Ops are matched by name after normalising the ``nor_`` prefix (NB201's
``nor_conv_3x3`` is TransNAS-Bench-101's ``conv_3x3``); slots must correspond
one to one (same cell graph). The rule for ops without a counterpart:

- a source op absent from the target (NB201's ``avg_pool_3x3`` on TNB101) is dropped
  and each slot's remaining mass is renormalised, so the relative preferences among
  the shared ops are kept;
- a target op absent from the source gets the eps-uniform floor only (no evidence).

Examples:
  >>> import numpy as np
  >>> from jaxnag import spaces
  >>> from jaxnag.prior import mapping
  >>> p = np.full((6, 5), 0.2, np.float32)
  >>> q = mapping.map_prior(p, spaces.get("nb201"), spaces.get("tnb101_micro"))
  >>> q.shape, bool(np.allclose(q.sum(1), 1))
  ((6, 4), True)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from .scores import mix_uniform

__all__ = ["map_ops", "map_prior", "map_scores", "op_index_map"]


def _norm(name: str) -> str:
    return name.removeprefix("nor_")


def op_index_map(src, dst) -> np.ndarray:
    """For each target choice of each slot, the source choice index, or -1 if none: int32 ``dst.shape``.

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import mapping
      >>> nb201, tnb = spaces.get("nb201"), spaces.get("tnb101_micro")
      >>> mapping.op_index_map(nb201, tnb)[0].tolist(), mapping.op_index_map(tnb, nb201)[0].tolist()
      ([0, 1, 2, 3], [0, 1, 2, 3, -1])
    """
    if src.num_slots != dst.num_slots or src.edges != dst.edges:
        raise ConfigError(f"cannot map {src.name} onto {dst.name}: the cell graphs differ")
    out = np.full(dst.shape, -1, np.int32)
    for slot in range(dst.num_slots):
        names = [_norm(n) for n in src.choices[slot]]
        for j, name in enumerate(dst.choices[slot]):
            if _norm(name) in names:
                out[slot, j] = names.index(_norm(name))
    return out


def map_prior(p, src, dst, eps=0.05) -> jax.Array:
    """Prior on ``src`` -> prior on ``dst`` by the rule above (eps-uniform mixed); jittable. ``p`` is
    ``src.shape``, the result float32 ``dst.shape``.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import mapping
      >>> p = np.tile(np.array([0.1, 0.1, 0.1, 0.2, 0.5], np.float32), (6, 1))  # avg_pool_3x3 last
      >>> q = mapping.map_prior(p, spaces.get("nb201"), spaces.get("tnb101_micro"), eps=0.0)
      >>> np.round(np.asarray(q[0], np.float64), 3).tolist()  # avg_pool dropped, the rest renormalised
      [0.2, 0.2, 0.2, 0.4]
    """
    idx = op_index_map(src, dst)
    known = jnp.asarray(dst.choice_mask & (idx >= 0))
    mapped = jnp.where(known, jnp.take_along_axis(jnp.asarray(p, jnp.float32), jnp.asarray(np.maximum(idx, 0)), axis=1),
                       0.0)
    empty = mapped.sum(1, keepdims=True) <= 0  # a slot with no shared op: no evidence at all
    mapped = jnp.where(empty, jnp.asarray(dst.choice_mask, jnp.float32), mapped)
    return mix_uniform(mapped, dst.choice_mask, eps)


def map_ops(ops, src, dst) -> tuple[jax.Array, jax.Array]:
    """Architectures ``[k, R]`` of ``src`` carried to ``dst``: ``(ops [k, R], kept [k])``; a row using an
    op without counterpart is not kept (its ops are then meaningless).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import mapping
      >>> ops = np.array([[3, 3, 1, 0, 2, 3], [4, 3, 3, 3, 3, 3]])  # the second uses avg_pool_3x3 (4)
      >>> mapped, kept = mapping.map_ops(ops, spaces.get("nb201"), spaces.get("tnb101_micro"))
      >>> mapped[0].tolist(), kept.tolist()
      ([3, 3, 1, 0, 2, 3], [True, False])
    """
    ops = jnp.asarray(ops, jnp.int32)
    if src is dst:
        return ops, jnp.ones(ops.shape[0], bool)
    idx = jnp.asarray(op_index_map(dst, src))  # for each source op: its target index
    mapped = jnp.take_along_axis(jnp.broadcast_to(idx, ops.shape[:1] + idx.shape), ops[:, :, None], axis=2)[..., 0]
    kept = jnp.all(mapped >= 0, axis=1)
    return jnp.maximum(mapped, 0), kept


def map_scores(score, src, dst) -> jax.Array:
    """Score matrix on ``src`` -> on ``dst``; target ops without a source get the slot's minimum. ``score`` is
    ``src.shape``, the result float32 ``dst.shape`` (NaN at non-choices).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import mapping
      >>> score = np.tile(np.array([-1.0, 1.0, 2.0, 3.0], np.float32), (6, 1))
      >>> mapping.map_scores(score, spaces.get("tnb101_micro"), spaces.get("nb201"))[0].tolist()  # avg_pool: min
      [-1.0, 1.0, 2.0, 3.0, -1.0]
    """
    idx = op_index_map(src, dst)
    mapped = jnp.where(jnp.asarray(idx >= 0),
                       jnp.take_along_axis(jnp.asarray(score, jnp.float32), jnp.asarray(np.maximum(idx, 0)), axis=1),
                       jnp.nan)
    floor = jnp.nanmin(mapped, axis=1, keepdims=True)
    return jnp.where(jnp.asarray(dst.choice_mask), jnp.where(jnp.isfinite(mapped), mapped, floor), jnp.nan)
