"""SDEs for score-based diffusion (Song et al. 2021) and the denoising score-matching loss.

An SDE here is a small frozen dataclass with pure methods; ``t`` runs over [0, 1].

- :class:`VESDE`: ``sigma(t) = sigma_min (sigma_max / sigma_min)^t``, drift 0,
  ``g(t) = sigma(t) sqrt(2 ln(sigma_max / sigma_min))``; ``x_t = x_0 + sigma(t) z``.
- :class:`VPSDE`: ``beta(t)`` linear from ``beta_min`` to ``beta_max``, drift ``-beta x / 2``,
  ``g = sqrt(beta)``; ``x_t = m(t) x_0 + s(t) z``.

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxnag.sde import VESDE
  >>> sde = VESDE(0.1, 5.0)
  >>> round(float(sde.sigma(jnp.float32(1.0))), 4)
  5.0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

__all__ = ["VESDE", "VPSDE", "dsm_loss"]


def _b(v, like):
    return jnp.reshape(v, jnp.shape(v) + (1,) * (like.ndim - jnp.ndim(v)))


@dataclasses.dataclass(frozen=True)
class VESDE:
    """Variance-exploding SDE: ``x_t = x_0 + sigma(t) z``, ``sigma`` geometric from ``sigma_min`` to ``sigma_max``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.sde import VESDE
      >>> sde = VESDE(0.1, 5.0)
      >>> mean, std = sde.marginal(jnp.ones((2, 3)), jnp.array([0.0, 1.0]))  # x0 [B, ...], t [B]
      >>> mean.shape, [round(s, 3) for s in std.tolist()]  # the mean is x0; std sigma_min .. sigma_max
      ((2, 3), [0.1, 5.0])
    """

    sigma_min: float = 0.1
    sigma_max: float = 5.0

    def sigma(self, t):
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def marginal(self, x0, t):
        """Mean and std of ``p(x_t | x_0)``; the std has the shape of ``t``."""
        return x0, self.sigma(t)

    def sde(self, x, t):
        """Drift and diffusion coefficient ``g(t)`` (shape of ``t``)."""
        g = self.sigma(t) * jnp.sqrt(2.0 * jnp.log(self.sigma_max / self.sigma_min))
        return jnp.zeros_like(x), g

    def prior_sample(self, key, shape):
        return self.sigma_max * jax.random.normal(key, shape)

    def noise_level(self, t):
        """The conditioning input of the network (sigma for VE)."""
        return self.sigma(t)


@dataclasses.dataclass(frozen=True)
class VPSDE:
    """Variance-preserving SDE: ``x_t = m(t) x_0 + s(t) z`` with ``m(t)^2 + s(t)^2 = 1``, ``beta(t)`` linear.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.sde import VPSDE
      >>> sde = VPSDE()
      >>> mean, std = sde.marginal(jnp.ones((2, 3)), jnp.array([0.0, 1.0]))  # x0 [B, ...], t [B]
      >>> [round(m, 3) for m in mean[:, 0].tolist()], [round(s, 3) for s in std.tolist()]  # x0 -> noise
      ([1.0, 0.007], [0.0, 1.0])
    """

    beta_min: float = 0.1
    beta_max: float = 20.0

    def beta(self, t):
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def marginal(self, x0, t):
        log_mean = -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min
        return _b(jnp.exp(log_mean), x0) * x0, jnp.sqrt(1.0 - jnp.exp(2.0 * log_mean))

    def sde(self, x, t):
        beta = self.beta(t)
        return -0.5 * _b(beta, x) * x, jnp.sqrt(beta)

    def prior_sample(self, key, shape):
        return jax.random.normal(key, shape)

    def noise_level(self, t):
        return t


def dsm_loss(score_fn: Callable, sde, x0: jax.Array, key: jax.Array, eps: float = 1e-5) -> jax.Array:
    """Denoising score matching: ``mean((std * s(x_t, level) + z)^2)`` over all entries, ``t ~ U(eps, 1)``.

    ``score_fn(x_t [B, ...], level [B]) -> [B, ...]`` returns the score itself; ``x0 [B, ...]``; the loss
    is a float32 scalar.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.sde import VESDE, dsm_loss
      >>> sde, x0 = VESDE(0.1, 5.0), jnp.ones((4, 3))
      >>> exact = lambda x, sigma: -(x - x0) / sigma[:, None] ** 2  # the score of p(x_t | x_0) itself
      >>> none = lambda x, sigma: jnp.zeros_like(x)  # no score: the loss is mean(z^2)
      >>> both = jax.jit(lambda k: (dsm_loss(exact, sde, x0, k), dsm_loss(none, sde, x0, k)))
      >>> low, high = both(jax.random.key(0))
      >>> round(float(low), 4), float(high) > 0.5
      (0.0, True)
    """
    k_t, k_z = jax.random.split(key)
    t = jax.random.uniform(k_t, (x0.shape[0],), minval=eps, maxval=1.0)
    z = jax.random.normal(k_z, x0.shape)
    mean, std = sde.marginal(x0, t)
    x_t = mean + _b(std, x0) * z
    s = score_fn(x_t, sde.noise_level(t))
    return jnp.mean((_b(std, x0) * s + z) ** 2)
