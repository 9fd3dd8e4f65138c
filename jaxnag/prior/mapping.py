"""Carry a prior or score matrix from one space's op vocabulary to another's.

Ops are matched by name after normalising the ``nor_`` prefix (NB201's
``nor_conv_3x3`` is TransNAS-Bench-101's ``conv_3x3``); slots must correspond
one to one (same cell graph). The rule for ops without a counterpart:

- a source op absent from the target (NB201's ``avg_pool_3x3`` on TNB101) is dropped
  and each slot's remaining mass is renormalised, so the relative preferences among
  the shared ops are kept;
- a target op absent from the source gets the eps-uniform floor only (no evidence).

Example:
  >>> import numpy as np
  >>> from jaxnag import spaces
  >>> from jaxnag.prior import mapping
  >>> p = np.full((6, 5), 0.2, np.float32)
  >>> q = mapping.map_prior(p, spaces.get("nb201"), spaces.get("tnb101_micro"))
  >>> q.shape, bool(np.allclose(q.sum(1), 1))
  ((6, 4), True)
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .scores import mix_uniform


def _norm(name: str) -> str:
    return name.removeprefix("nor_")


def op_index_map(src, dst) -> np.ndarray:
    """For each target choice of each slot, the source choice index, or -1 if none."""
    if src.num_slots != dst.num_slots or src.edges != dst.edges:
        raise ConfigError(f"cannot map {src.name} onto {dst.name}: the cell graphs differ")
    out = np.full(dst.shape, -1, np.int32)
    for slot in range(dst.num_slots):
        names = [_norm(n) for n in src.choices[slot]]
        for j, name in enumerate(dst.choices[slot]):
            if _norm(name) in names:
                out[slot, j] = names.index(_norm(name))
    return out


def map_prior(p: np.ndarray, src, dst, eps: float = 0.05) -> np.ndarray:
    """Prior on ``src`` -> prior on ``dst`` by the rule above (eps-uniform mixed)."""
    idx = op_index_map(src, dst)
    known = dst.choice_mask & (idx >= 0)
    mapped = np.where(known, np.take_along_axis(np.asarray(p), np.maximum(idx, 0), axis=1), 0.0)
    empty = mapped.sum(1, keepdims=True) <= 0  # a slot with no shared op: no evidence at all
    mapped = np.where(empty, dst.choice_mask.astype(float), mapped)
    return mix_uniform(mapped, dst.choice_mask, eps)


def map_scores(score: np.ndarray, src, dst) -> np.ndarray:
    """Score matrix on ``src`` -> on ``dst``; target ops without a source get the slot's minimum."""
    idx = op_index_map(src, dst)
    mapped = np.where(idx >= 0, np.take_along_axis(np.asarray(score), np.maximum(idx, 0), axis=1), np.nan)
    floor = np.nanmin(mapped, axis=1, keepdims=True)
    return np.where(dst.choice_mask, np.where(np.isfinite(mapped), mapped, floor), np.nan)
