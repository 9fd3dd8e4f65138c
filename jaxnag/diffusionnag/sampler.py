"""Predictor-corrector sampling of a VE/VP SDE, the whole reverse process one ``lax.scan``.

At each of ``steps`` times ``t = linspace(1, eps)``: a Langevin corrector step
(``step = 2 (snr ||z|| / ||s||)^2`` with both norms averaged over the batch;
``x += step s + sqrt(2 step) z``), then an Euler-Maruyama predictor step of the
reverse SDE (``x_mean = x - (f - g^2 s) dt``; ``x = x_mean + g sqrt(dt) z`` with
``dt = (1 - eps) / (steps - 1)``). Returns ``x_mean`` of the last step.

``score_fn(x [B, ...], level [B]) -> [B, ...]``; guidance adds ``w * grad_x sum f(x, level)``.

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnag.sde import VESDE
  >>> from jaxnag.diffusionnag.sampler import pc_sample
  >>> sde = VESDE(0.1, 5.0)
  >>> score = lambda x, s: -x / (1.0 + s[:, None] ** 2)   # N(0, I) data
  >>> pc_sample(jax.random.key(0), score, sde, (64, 3), steps=50).shape
  (64, 3)
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

__all__ = ["guided", "pc_sample"]


def _b(v, like):
    return jnp.reshape(v, jnp.shape(v) + (1,) * (like.ndim - jnp.ndim(v)))


def guided(score_fn: Callable, predictor: Callable, scale) -> Callable:
    """``s~(x, level) = s(x, level) + scale * grad_x sum_b f(x_b, level_b)``: a score function of the same
    signature (``predictor(x [B, ...], level [B]) -> [B]``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.diffusionnag.sampler import guided
      >>> score = lambda x, level: -x
      >>> f = lambda x, level: jnp.sum(x[:, :2], axis=1)  # the predictor grows with the first two entries
      >>> guided(score, f, 2.0)(jnp.ones((1, 3)), jnp.ones(1)).tolist()  # pushed towards higher f
      [[1.0, 1.0, -1.0]]
    """
    def fn(x, level):
        g = jax.grad(lambda xx: jnp.sum(predictor(xx, level)))(x)
        return score_fn(x, level) + scale * g
    return fn


def pc_sample(key: jax.Array, score_fn: Callable, sde, shape, steps: int = 1000, snr: float = 0.16,
              eps: float = 1e-5, corrector: bool = True) -> jax.Array:
    """Draw ``shape[0]`` samples (float32 ``shape``); deterministic for a fixed key.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.sde import VESDE
      >>> from jaxnag.diffusionnag.sampler import guided, pc_sample
      >>> score = lambda x, sigma: -x / (1.0 + sigma[:, None, None] ** 2)  # data N(0, I)
      >>> convs = lambda x, sigma: jnp.sum(x[:, 1:-1, 5], axis=1)  # NB201 matrices: the 3x3 convolutions
      >>> draw = lambda k: pc_sample(k, guided(score, convs, 2.0), VESDE(0.1, 5.0), (16, 8, 7), steps=100)
      >>> jax.eval_shape(draw, jax.random.key(0))  # shapes only (the module example samples for real)
      ShapeDtypeStruct(shape=(16, 8, 7), dtype=float32)
    """
    k0, key = jax.random.split(key)
    x = sde.prior_sample(k0, shape)
    ts = jnp.linspace(1.0, eps, steps)
    dt = (1.0 - eps) / (steps - 1)
    axes = tuple(range(1, len(shape)))

    def body(carry, inp):
        x, _ = carry
        t, k = inp
        kc, kp = jax.random.split(k)
        tb = jnp.full((shape[0],), t)
        level = sde.noise_level(tb)
        if corrector:
            s = score_fn(x, level)
            z = jax.random.normal(kc, shape)
            grad_norm = jnp.mean(jnp.sqrt(jnp.sum(s * s, axis=axes)))
            noise_norm = jnp.mean(jnp.sqrt(jnp.sum(z * z, axis=axes)))
            step = 2.0 * (snr * noise_norm / jnp.maximum(grad_norm, 1e-12)) ** 2
            x = x + step * s + jnp.sqrt(2.0 * step) * z
        s = score_fn(x, level)
        drift, g = sde.sde(x, tb)
        x_mean = x - (drift - _b(g, x) ** 2 * s) * dt
        x = x_mean + _b(g, x) * jnp.sqrt(dt) * jax.random.normal(kp, shape)
        return (x, x_mean), None

    (x, x_mean), _ = jax.lax.scan(body, (x, x), (ts, jax.random.split(key, steps)))
    return x_mean
