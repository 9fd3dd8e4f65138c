"""EDNAG's denoising pieces: fitness-weighted x0 estimate, DDIM step, normalisation.

Populations are ``x [N, D]`` (flattened encodings). All functions are pure and jittable.

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnag.ednag import denoise
  >>> x = jax.random.normal(jax.random.key(0), (8, 30))
  >>> x0 = denoise.weighted_x0_log(x, jnp.zeros(8), 0.5)
  >>> x0.shape
  (8, 30)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng

__all__ = ["ddim_step", "normalize", "weighted_x0_faithful", "weighted_x0_log"]


def weighted_x0_faithful(x: jax.Array, w: jax.Array, alpha_t) -> jax.Array:
    """Reference x0 estimate in float32, with its 1e-9 floors.

    ``k_ij = exp(-||x_i - sqrt(a) x_j||^2 / (2 (1 - a)))``,
    ``p_ij = (w_j + 1e-9)(k_ij + 1e-9) / (1/N + 1e-9)``,
    ``x0_i = sum_j p_ij x_j / (sum_j p_ij + 1e-9)``.

    When the kernel underflows, the floors make every individual fall back to the
    weight-only average (pulled toward the best one): this is the reference's behaviour.
    ``x [N, D]``, ``w [N]`` (not logs) -> ``x0 [N, D]``.

    Examples:
      >>> import jax, jax.numpy as jnp, numpy as np
      >>> from jaxnag.ednag import denoise
      >>> x = jnp.array([[1.0, 2.0], [0.0, 0.0], [-1.0, 1.0]])
      >>> w = jnp.array([2.0, 1.0, 0.5])
      >>> both = jax.jit(lambda x, w: (denoise.weighted_x0_faithful(x, w, 0.5),
      ...                              denoise.weighted_x0_log(x, jnp.log(w), 0.5)))
      >>> x0, x0_log = both(x, w)
      >>> x0.shape, np.allclose(x0, x0_log, atol=1e-6)  # the floors change nothing here
      ((3, 2), True)
    """
    n = x.shape[0]
    diff = x[:, None, :] - jnp.sqrt(alpha_t) * x[None, :, :]
    d2 = jnp.sum(diff * diff, axis=-1)
    k = jnp.exp(-d2 / (2.0 * (1.0 - alpha_t)))
    p = (w[None, :] + 1e-9) * (k + 1e-9) / (1.0 / n + 1e-9)
    return (p @ x) / (jnp.sum(p, axis=1, keepdims=True) + 1e-9)


def weighted_x0_log(x: jax.Array, log_w: jax.Array, alpha_t) -> jax.Array:
    """The same estimate as a softmax in log space: never underflows.

    ``logit_ij = log w_j - ||x_i - sqrt(a) x_j||^2 / (2 (1 - a))``, ``x0 = softmax_j(logit) @ x``.
    All pairwise distances come from one matmul. Entries with ``log_w = -inf``
    (failed evaluations) get zero weight; if all fail, the kernel alone is used.
    ``x [N, D]``, ``log_w [N]`` -> ``x0 [N, D]``.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag.ednag import denoise
      >>> x = jax.random.normal(jax.random.key(0), (8, 30))
      >>> log_w = np.full(8, -np.inf, np.float32)
      >>> log_w[2] = 0.0  # only individual 2 has weight: every estimate is x[2]
      >>> x0 = np.asarray(denoise.weighted_x0_log(x, log_w, 0.5))
      >>> x0.shape, bool(np.all(x0 == np.asarray(x)[2]))
      ((8, 30), True)
    """
    sq = jnp.sum(x * x, axis=-1)
    a = jnp.asarray(alpha_t, x.dtype)
    d2 = sq[:, None] - 2.0 * jnp.sqrt(a) * (x @ x.T) + a * sq[None, :]
    log_w = jnp.where(jnp.all(jnp.isneginf(log_w)), 0.0, log_w)
    logits = log_w[None, :] - jnp.maximum(d2, 0.0) / (2.0 * jnp.maximum(1.0 - a, 1e-12))
    return jax.nn.softmax(logits, axis=-1) @ x


def ddim_step(key: jax.Array, x: jax.Array, x0: jax.Array, alpha_t, alpha_prev, eta) -> jax.Array:
    """One DDIM step from level ``alpha_t`` to ``alpha_prev`` (> ``alpha_t``) with noise scale ``eta``.

    ``sigma = eta sqrt((1 - a_prev)/(1 - a_t) (1 - a_t / a_prev))``,
    ``eps = (x - sqrt(a_t) x0) / sqrt(1 - a_t)``,
    ``x' = sqrt(a_prev) x0 + sqrt(1 - a_prev - sigma^2) eps + sigma z``.
    Endpoints are guarded: at ``a_t = 0`` eps = x; at ``a_prev = 1`` sigma = 0 and x' = x0.
    ``x``, ``x0`` and the result have one shape (``[N, D]``).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.ednag import denoise
      >>> x, x0 = jnp.zeros((2, 3)), jnp.ones((2, 3))
      >>> step = jax.jit(denoise.ddim_step)
      >>> step(jax.random.key(0), x, x0, 0.0, 0.25, 0.0).tolist()  # eta 0: sqrt(0.25) x0 + sqrt(0.75) x
      [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]
      >>> step(jax.random.key(0), x, x0, 0.5, 1.0, 0.8).tolist() == x0.tolist()  # a_prev = 1: x0 itself
      True
    """
    a_t = jnp.asarray(alpha_t, jnp.float32)
    a_p = jnp.asarray(alpha_prev, jnp.float32)
    ratio = jnp.where(a_p > 0, a_t / jnp.where(a_p > 0, a_p, 1.0), 0.0)
    var = (1.0 - a_p) / jnp.maximum(1.0 - a_t, 1e-12) * (1.0 - ratio)
    sigma = jnp.where(a_p >= 1.0, 0.0, eta * jnp.sqrt(jnp.maximum(var, 0.0)))
    eps = jnp.where(a_t <= 0.0, x, (x - jnp.sqrt(a_t) * x0) / jnp.sqrt(jnp.maximum(1.0 - a_t, 1e-12)))
    z = rng.normal(key, x.shape, x.dtype)
    out = jnp.sqrt(a_p) * x0 + jnp.sqrt(jnp.maximum(1.0 - a_p - sigma**2, 0.0)) * eps + sigma * z
    return jnp.where(a_p >= 1.0, x0, out)


def normalize(x: jax.Array) -> jax.Array:
    """Min-max each individual's whole vector (each row of ``x [N, D]``) to ``[-1, 1]`` (a constant row maps
    to 0).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.ednag import denoise
      >>> jax.jit(denoise.normalize)(jnp.array([[0.0, 1.0, 2.0], [5.0, 5.0, 5.0]])).tolist()
      [[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    lo = jnp.min(x, axis=-1, keepdims=True)
    hi = jnp.max(x, axis=-1, keepdims=True)
    span = hi - lo
    return jnp.where(span > 0, 2.0 * (x - lo) / jnp.where(span > 0, span, 1.0) - 1.0, 0.0)
