"""Noise schedules, the one home of jaxnag's discrete-time schedules.

``alpha[k]`` (cumulative signal level) for k = 0..T-1, ``alpha[0]`` = clean: float32 ``[T]``
arrays, decreasing from (about) 1 to (about) 0 (EDNAG). :func:`nichol_cosine` gives the
``T + 1`` levels ``abar[0..T]`` of the multinomial diffusion (PG-NAG). The continuous-time
SDEs of DiffusionNAG define their noise in :mod:`jaxnag.sde`.

Examples:
  >>> from jaxnag import schedules
  >>> a = schedules.cosine(100)
  >>> float(a[0]), float(a[-1])
  (1.0, 0.0)
"""

from __future__ import annotations

import jax.numpy as jnp

from .errors import ConfigError, UnknownName

__all__ = ["SCHEDULES", "cosine", "cosine_clipped", "ddpm", "get", "linear", "nichol_cosine"]


def cosine(steps: int) -> jnp.ndarray:
    """EDNAG's reference schedule ``alpha[k] = (cos(pi k / (T-1)) + 1) / 2``, exact 1 and 0 endpoints.

    Examples:
      >>> from jaxnag import schedules
      >>> a = schedules.cosine(100).tolist()
      >>> a[0], a[-1], round(a[33] + a[66], 6), all(x > y for x, y in zip(a, a[1:]))  # alpha[k] + alpha[T-1-k] = 1
      (1.0, 0.0, 1.0, True)
    """
    if steps < 2:
        raise ConfigError(f"a schedule needs at least 2 steps, got {steps}")
    k = jnp.arange(steps, dtype=jnp.float32)
    a = (jnp.cos(jnp.pi * k / (steps - 1)) + 1.0) / 2.0
    return a.at[0].set(1.0).at[-1].set(0.0)


def cosine_clipped(steps: int, eps: float = 1e-4) -> jnp.ndarray:
    """The EDNAG paper's variant: the cosine schedule mapped to ``[eps, 1 - eps]``; float32 ``[steps]``.

    Examples:
      >>> from jaxnag import schedules
      >>> a = schedules.cosine_clipped(100, eps=0.01).tolist()
      >>> round(a[0], 4), round(a[-1], 4), round(a[33] + a[66], 4)
      (0.99, 0.01, 1.0)
    """
    return eps + (1.0 - 2.0 * eps) * cosine(steps)


def linear(steps: int, start: float = 1.0 - 1e-4, end: float = 1e-4) -> jnp.ndarray:
    """``alpha`` linear in k from ``start`` to ``end`` (the DDIM-style linear schedule); float32 ``[steps]``.

    Examples:
      >>> from jaxnag import schedules
      >>> schedules.linear(5, start=1.0, end=0.0).tolist()
      [1.0, 0.75, 0.5, 0.25, 0.0]
    """
    if steps < 2:
        raise ConfigError(f"a schedule needs at least 2 steps, got {steps}")
    return jnp.linspace(start, end, steps, dtype=jnp.float32)


def ddpm(steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> jnp.ndarray:
    """DDPM (Ho et al. 2020): ``alpha[k] = prod_{i<=k} (1 - beta_i)``, beta linear; ``alpha[0] = 1``;
    float32 ``[steps]``.

    Examples:
      >>> from jaxnag import schedules
      >>> [round(a, 4) for a in schedules.ddpm(3, beta_start=0.1, beta_end=0.2).tolist()]  # 1, 0.9, 0.9 * 0.8
      [1.0, 0.9, 0.72]
    """
    if steps < 2:
        raise ConfigError(f"a schedule needs at least 2 steps, got {steps}")
    betas = jnp.linspace(beta_start, beta_end, steps - 1, dtype=jnp.float32)
    return jnp.concatenate([jnp.ones(1, jnp.float32), jnp.cumprod(1.0 - betas)])


def nichol_cosine(steps: int, s: float = 0.008) -> jnp.ndarray:
    """``abar[t]`` for t = 0..T (Nichol & Dhariwal 2021): ``abar[0] = 1``, ``abar[T] = 0``; ``[T + 1]``.

    Examples:
      >>> from jaxnag import schedules
      >>> a = schedules.nichol_cosine(4).tolist()
      >>> len(a), a[0], a[-1], all(x > y for x, y in zip(a, a[1:]))
      (5, 1.0, 0.0, True)
    """
    if steps < 1:
        raise ConfigError(f"a schedule needs at least 1 step, got {steps}")
    t = jnp.arange(steps + 1, dtype=jnp.float32) / steps
    f = jnp.cos((t + s) / (1 + s) * jnp.pi / 2) ** 2
    return jnp.clip(f / f[0], 0.0, 1.0).at[-1].set(0.0)


SCHEDULES = {"cosine": cosine, "cosine_clipped": cosine_clipped, "linear": linear, "ddpm": ddpm}


def get(name: str, steps: int) -> jnp.ndarray:
    """Schedule by name: ``cosine``, ``cosine_clipped``, ``linear`` or ``ddpm``; float32 ``[steps]``.

    Examples:
      >>> from jaxnag import schedules
      >>> schedules.get("cosine", 100).tolist() == schedules.cosine(100).tolist()
      True
      >>> try:
      ...     schedules.get("sigmoid", 10)
      ... except KeyError as e:  # errors.UnknownName
      ...     print(e)
      unknown schedule 'sigmoid'; available: cosine, cosine_clipped, linear, ddpm
    """
    if name not in SCHEDULES:
        raise UnknownName(f"unknown schedule {name!r}; available: {', '.join(SCHEDULES)}")
    return SCHEDULES[name](steps)
