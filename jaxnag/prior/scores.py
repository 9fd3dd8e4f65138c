"""From component scores to a categorical prior ``p[slot, choice]``.

Example:
  >>> import numpy as np
  >>> from jaxnag import spaces
  >>> from jaxnag.prior import scores
  >>> s = spaces.get("nb201")
  >>> p = scores.frequency_prior(np.array([[3, 3, 3, 1, 3, 3]]), s, eps=0.05)
  >>> round(float(p[0, 3]), 2), bool(np.allclose(p.sum(1), 1))
  (0.96, True)
"""

from __future__ import annotations

import numpy as np

from ..errors import UnknownName, check_range

FALLBACKS = ("zero", "op_mean")


def score_matrix(ops: np.ndarray, phi: np.ndarray, space, fallback: str = "zero") -> np.ndarray:
    """``score[slot, op]``: mean Shapley value over the architectures using ``op`` at ``slot``.

    Where no scored architecture uses ``op`` at ``slot`` there is no evidence:

    - ``"zero"`` (default, [choice]): score 0, the Shapley value of a component that
      contributes nothing (the removed op always scores 0);
    - ``"op_mean"``: the op's mean over the slots where it was seen (the method
      description's rule; on NB201 it credits ``skip_connect`` on every edge with the
      large value it earns only on the 0->3 residual edge).

    An op never seen anywhere gets 0 under both. Non-choice columns are NaN.
    """
    if fallback not in FALLBACKS:
        raise UnknownName(f"unknown fallback {fallback!r}; available: {', '.join(FALLBACKS)}")
    ops = np.asarray(ops)
    phi = np.asarray(phi, np.float64)
    r, c = space.shape
    total = np.zeros((r, c))
    count = np.zeros((r, c))
    for slot in range(r):
        np.add.at(total[slot], ops[:, slot], phi[:, slot])
        np.add.at(count[slot], ops[:, slot], 1)
    score = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    op_total, op_count = total.sum(0), count.sum(0)
    op_mean = np.where(op_count > 0, op_total / np.maximum(op_count, 1), 0.0)
    fill = op_mean[None, :] if fallback == "op_mean" else np.zeros((1, c))
    score = np.where(np.isfinite(score), score, fill)
    return np.where(space.choice_mask, score, np.nan)


def mix_uniform(p: np.ndarray, mask: np.ndarray, eps: float) -> np.ndarray:
    """``(1 - eps) p + eps * uniform`` over each slot's real choices; rows sum to one."""
    uni = mask / mask.sum(1, keepdims=True)
    p = np.where(mask, np.nan_to_num(p), 0.0)
    p = p / np.maximum(p.sum(1, keepdims=True), 1e-30)
    return ((1 - eps) * p + eps * uni).astype(np.float32)


def prior_from_scores(score: np.ndarray, space, temperature: float = 1.0, eps: float = 0.05) -> np.ndarray:
    """``p[slot] = (1 - eps) softmax(score[slot] / temperature) + eps * uniform``."""
    check_range("temperature", temperature, lo=0.0, lo_open=True)
    mask = space.choice_mask
    z = np.where(mask, np.nan_to_num(score, nan=-np.inf) / temperature, -np.inf)
    z = z - z.max(1, keepdims=True)
    e = np.where(mask, np.exp(z), 0.0)
    return mix_uniform(e / e.sum(1, keepdims=True), mask, eps)


def frequency_prior(ops: np.ndarray, space, eps: float = 0.05) -> np.ndarray:
    """How often each choice appears at each slot among ``ops [k, R]``, eps-uniform mixed."""
    ops = np.asarray(ops)
    r, c = space.shape
    counts = np.zeros((r, c))
    for slot in range(r):
        np.add.at(counts[slot], ops[:, slot], 1)
    return mix_uniform(counts, space.choice_mask, eps)


def uniform_prior(space) -> np.ndarray:
    """Uniform over each slot's choices."""
    return mix_uniform(space.choice_mask.astype(float), space.choice_mask, 0.0)
