"""From component scores to a categorical prior ``p[slot, choice]`` (pure, jittable functions).

Examples:
  >>> import numpy as np
  >>> from jaxnag import spaces
  >>> from jaxnag.prior import scores
  >>> s = spaces.get("nb201")
  >>> p = scores.frequency_prior(np.array([[3, 3, 3, 1, 3, 3]]), s, eps=0.05)
  >>> round(float(p[0, 3]), 2), bool(np.allclose(p.sum(1), 1))
  (0.96, True)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import UnknownName, check_range

__all__ = ["FALLBACKS", "default_temperature", "frequency_prior", "mix_uniform", "prior_from_scores", "score_matrix",
           "uniform_prior"]

FALLBACKS = ("zero", "op_mean")


def _counts(ops, space, weights=None):
    """``[R, C]`` (weighted) number of rows of ``ops [k, R]`` using each choice at each slot."""
    onehot = jax.nn.one_hot(jnp.asarray(ops), space.num_choices, dtype=jnp.float32)
    w = jnp.ones(onehot.shape[0], jnp.float32) if weights is None else jnp.asarray(weights, jnp.float32)
    return jnp.einsum("k,krc->rc", w, onehot), onehot


def score_matrix(ops, phi, space, fallback: str = "zero", weights=None) -> jax.Array:
    """``score[slot, op]``: mean Shapley value over the architectures using ``op`` at ``slot``.

    Where no scored architecture uses ``op`` at ``slot`` there is no evidence:

    - ``"zero"`` (default, [choice]): score 0, the Shapley value of a component that
      contributes nothing (the removed op always scores 0);
    - ``"op_mean"``: the op's mean over the slots where it was seen (the method
      description's rule; on NB201 it credits ``skip_connect`` on every edge with the
      large value it earns only on the 0->3 residual edge).

    An op never seen anywhere gets 0 under both. Non-choice columns are NaN. ``weights [k]``
    (0 or 1) leaves rows out.
    """
    if fallback not in FALLBACKS:
        raise UnknownName(f"unknown fallback {fallback!r}; available: {', '.join(FALLBACKS)}")
    count, onehot = _counts(ops, space, weights)
    w = jnp.ones(onehot.shape[0], jnp.float32) if weights is None else jnp.asarray(weights, jnp.float32)
    total = jnp.einsum("k,kr,krc->rc", w, jnp.asarray(phi, jnp.float32), onehot)
    score = jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)
    op_count = count.sum(0)
    op_mean = jnp.where(op_count > 0, total.sum(0) / jnp.maximum(op_count, 1), 0.0)
    fill = op_mean[None, :] if fallback == "op_mean" else jnp.zeros((1, space.num_choices))
    score = jnp.where(jnp.isfinite(score), score, fill)
    return jnp.where(jnp.asarray(space.choice_mask), score, jnp.nan)


def mix_uniform(p, mask, eps) -> jax.Array:
    """``(1 - eps) p + eps * uniform`` over each slot's real choices; rows sum to one."""
    mask = jnp.asarray(mask)
    uni = mask.astype(jnp.float32) / mask.sum(1, keepdims=True).astype(jnp.float32)
    p = jnp.where(mask, jnp.nan_to_num(jnp.asarray(p, jnp.float32)), 0.0)
    p = p / jnp.maximum(p.sum(1, keepdims=True), 1e-30)
    return ((1 - eps) * p + eps * uni).astype(jnp.float32)


def default_temperature(score) -> jax.Array:
    """The scale-free default temperature: the standard deviation of the score matrix (1 if 0)."""
    sd = jnp.nanstd(jnp.asarray(score, jnp.float32))
    return jnp.where(sd > 0, sd, 1.0)


def prior_from_scores(score, space, temperature=1.0, eps=0.05) -> jax.Array:
    """``p[slot] = (1 - eps) softmax(score[slot] / temperature) + eps * uniform``."""
    check_range("temperature", temperature, lo=0.0, lo_open=True)
    mask = jnp.asarray(space.choice_mask)
    z = jnp.where(mask, jnp.nan_to_num(jnp.asarray(score, jnp.float32), nan=-jnp.inf) / temperature, -jnp.inf)
    z = z - z.max(1, keepdims=True)
    e = jnp.where(mask, jnp.exp(z), 0.0)
    return mix_uniform(e / e.sum(1, keepdims=True), mask, eps)


def frequency_prior(ops, space, eps=0.05, weights=None) -> jax.Array:
    """How often each choice appears at each slot among ``ops [k, R]``, eps-uniform mixed."""
    count, _ = _counts(ops, space, weights)
    return mix_uniform(count, space.choice_mask, eps)


def uniform_prior(space) -> jax.Array:
    """Uniform over each slot's choices."""
    return mix_uniform(np.asarray(space.choice_mask, np.float32), space.choice_mask, 0.0)
