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
    (0 or 1) leaves rows out. ``ops [k, R]`` and ``phi [k, R]`` give a float32 ``[R, C]``.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import scores
      >>> s = spaces.get("nb201")
      >>> ops = np.array([[3, 3, 0, 1, 3, 2], [3, 1, 0, 1, 3, 3]])
      >>> phi = np.array([[1.0, 1.0, 0.0, 0.0, 1.0, 0.0], [1.0, 0.5, 0.0, 0.0, 1.0, 2.0]], np.float32)
      >>> m = scores.score_matrix(ops, phi, s)
      >>> m.shape, float(m[1, 3]), float(m[1, 1]), float(m[2, 3])  # slot 2 never uses op 3: score 0
      ((6, 5), 1.0, 0.5, 0.0)
      >>> round(float(scores.score_matrix(ops, phi, s, "op_mean")[2, 3]), 3)  # op 3's mean elsewhere: 7 / 6
      1.167
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
    """``(1 - eps) p + eps * uniform`` over each slot's real choices; rows sum to one. ``p`` and the bool
    ``mask`` are ``[R, C]``; the result is float32 ``[R, C]`` (0 outside the mask).

    Examples:
      >>> import numpy as np
      >>> from jaxnag.prior import scores
      >>> mask = np.array([[True, True, False], [True, True, True]])
      >>> p = scores.mix_uniform(np.array([[1.0, 0.0, 5.0], [0.0, 0.0, 3.0]], np.float32), mask, 0.1)
      >>> np.round(np.asarray(p, np.float64), 3).tolist()  # masked out, renormalised, then mixed
      [[0.95, 0.05, 0.0], [0.033, 0.033, 0.933]]
    """
    mask = jnp.asarray(mask)
    uni = mask.astype(jnp.float32) / mask.sum(1, keepdims=True).astype(jnp.float32)
    p = jnp.where(mask, jnp.nan_to_num(jnp.asarray(p, jnp.float32)), 0.0)
    p = p / jnp.maximum(p.sum(1, keepdims=True), 1e-30)
    return ((1 - eps) * p + eps * uni).astype(jnp.float32)


def default_temperature(score) -> jax.Array:
    """The scale-free default temperature: the standard deviation of the score matrix (1 if 0), NaNs
    (non-choices) left out; a float32 scalar.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.prior import scores
      >>> round(float(scores.default_temperature(jnp.array([[0.0, 2.0], [jnp.nan, 2.0]]))), 3)
      0.943
      >>> float(scores.default_temperature(jnp.zeros((2, 3))))  # no spread: 1
      1.0
    """
    sd = jnp.nanstd(jnp.asarray(score, jnp.float32))
    return jnp.where(sd > 0, sd, 1.0)


def prior_from_scores(score, space, temperature=1.0, eps=0.05) -> jax.Array:
    """``p[slot] = (1 - eps) softmax(score[slot] / temperature) + eps * uniform``: float32 ``[R, C]`` from
    ``score [R, C]``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import scores
      >>> s = spaces.get("nb201")
      >>> score = jnp.zeros((6, 5)).at[:, 3].set(1.0)  # op 3 scores 1 on every edge
      >>> p = scores.prior_from_scores(score, s, temperature=1.0, eps=0.0)
      >>> round(float(p[0, 3]), 4), round(float(p[0, 0]), 4)  # e / (e + 4), 1 / (e + 4)
      (0.4046, 0.1488)
      >>> round(float(scores.prior_from_scores(score, s, temperature=0.1, eps=0.0)[0, 3]), 4)  # colder: sharper
      0.9998
    """
    check_range("temperature", temperature, lo=0.0, lo_open=True)
    mask = jnp.asarray(space.choice_mask)
    z = jnp.where(mask, jnp.nan_to_num(jnp.asarray(score, jnp.float32), nan=-jnp.inf) / temperature, -jnp.inf)
    z = z - z.max(1, keepdims=True)
    e = jnp.where(mask, jnp.exp(z), 0.0)
    return mix_uniform(e / e.sum(1, keepdims=True), mask, eps)


def frequency_prior(ops, space, eps=0.05, weights=None) -> jax.Array:
    """How often each choice appears at each slot among ``ops [k, R]``, eps-uniform mixed: float32 ``[R, C]``.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import scores
      >>> ops, s = np.array([[3, 3, 3, 1, 3, 3], [3, 1, 3, 1, 3, 3]]), spaces.get("nb201")
      >>> scores.frequency_prior(ops, s, eps=0.0)[1].tolist()
      [0.0, 0.5, 0.0, 0.5, 0.0]
      >>> scores.frequency_prior(ops, s, eps=0.0, weights=np.array([1, 0]))[1].tolist()  # the second row left out
      [0.0, 0.0, 0.0, 1.0, 0.0]
    """
    count, _ = _counts(ops, space, weights)
    return mix_uniform(count, space.choice_mask, eps)


def uniform_prior(space) -> jax.Array:
    """Uniform over each slot's choices: float32 ``[R, C]``, 0 where a slot has fewer choices than ``C``.

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import scores
      >>> p = scores.uniform_prior(spaces.get("nb101"))  # 21 edge slots (none, edge) then 5 op slots (3 ops)
      >>> p.shape, float(p[0, 0]), float(p[0, 2]), round(float(p[-1, 2]), 4)
      ((26, 3), 0.5, 0.0, 0.3333)
    """
    return mix_uniform(np.asarray(space.choice_mask, np.float32), space.choice_mask, 0.0)
