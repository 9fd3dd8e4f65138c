"""Polynomial mutation (Deb & Agrawal) within ``[lo, hi]``.

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnag.ednag.mutation import polynomial
  >>> x = jnp.zeros((4, 6))
  >>> y = polynomial(jax.random.key(0), x, rate=1.0, index=5.0, per_gene=True)
  >>> bool(jnp.all(jnp.abs(y) <= 1.0))
  True
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng

__all__ = ["polynomial", "polynomial_delta"]


def polynomial_delta(x: jax.Array, u: jax.Array, index, lo=-1.0, hi=1.0) -> jax.Array:
    """The mutated value for uniform draws ``u`` (broadcast against ``x``).

    For ``u < 0.5``: ``d = (2u + (1 - 2u)(1 - d1)^(m+1))^(1/(m+1)) - 1`` with ``d1 = (x - lo)/(hi - lo)``;
    otherwise ``d = 1 - (2(1 - u) + 2(u - 0.5)(1 - d2)^(m+1))^(1/(m+1))`` with ``d2 = (hi - x)/(hi - lo)``;
    result ``clip(x + d (hi - lo), lo, hi)``. ``m`` is the distribution index.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.ednag.mutation import polynomial_delta
      >>> y = jax.jit(polynomial_delta)(jnp.zeros(3), jnp.array([0.0, 0.5, 1.0]), 1.0)  # u = 0, 1/2, 1: lo, x, hi
      >>> [round(v, 4) for v in y.tolist()]
      [-1.0, 0.0, 1.0]
    """
    span = hi - lo
    m1 = index + 1.0
    below = u < 0.5
    # Both branches share one form, a + b * d^(m+1), so only two powers are computed.
    d = jnp.maximum(jnp.where(below, hi - x, x - lo) / span, 0.0)  # 1 - d1 or 1 - d2, >= 0
    a = jnp.where(below, 2.0 * u, 2.0 * (1.0 - u))
    b = jnp.where(below, 1.0 - 2.0 * u, 2.0 * u - 1.0)
    root = _pow(jnp.maximum(a + b * _pow(d, m1), 0.0), 1.0 / m1)
    delta = jnp.where(below, root - 1.0, 1.0 - root)
    return jnp.clip(x + delta * span, lo, hi)


def _pow(v: jax.Array, p) -> jax.Array:
    """``v ** p`` for ``v >= 0``: repeated multiplication for a small whole ``p`` known at
    trace time, repeated square roots for ``p`` = 1/2, 1/4, 1/8, 1/16 (the root of distribution index 1, 3,
    7, 15: the default index 3 takes two), else ``exp(p log v)``. On CPU the first two are faster than
    ``exp(p log v)`` (two square roots about 3.8x, ``benchmarks/ednag_parts_speed.py``) and that one about
    twice as fast as XLA's ``pow``."""
    if isinstance(p, (int, float)) and float(p).is_integer() and 0 < p <= 32:
        return jax.lax.integer_pow(v, int(p))
    if isinstance(p, (int, float)) and p > 0 and float(1.0 / p).is_integer() and int(1.0 / p) in (2, 4, 8, 16):
        for _ in range(int(1.0 / p).bit_length() - 1):
            v = jnp.sqrt(v)
        return v
    return jnp.exp(p * jnp.log(v))  # log(0) = -inf gives 0 for p > 0


def polynomial(key: jax.Array, x: jax.Array, rate, index, per_gene: bool, lo=-1.0, hi=1.0) -> jax.Array:
    """Mutate population ``x [N, D]``.

    Args:
      rate: probability that an individual (``per_gene=False``, the reference) or a
        gene (``per_gene=True``) mutates.
      index: distribution index (larger = smaller steps).
      per_gene: False reproduces the reference: one ``u`` per individual, so the map
        is monotone and argmax decoding never changes. True draws ``u`` per gene.

    Returns:
      The mutated population, ``x``'s shape, within ``[lo, hi]``.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag.ednag.mutation import polynomial
      >>> x = np.array([[-1.0, 0.5, 0.0], [0.2, -0.3, 1.0]], np.float32)
      >>> mutate = jax.jit(polynomial, static_argnames="per_gene")
      >>> y = np.asarray(mutate(jax.random.key(0), x, 1.0, 5.0, per_gene=False))  # every individual mutates
      >>> bool(np.any(y != x)), np.argmax(y, axis=-1).tolist() == np.argmax(x, axis=-1).tolist()  # same argmax
      (True, True)
      >>> np.asarray(mutate(jax.random.key(0), x, 0.0, 5.0, per_gene=False)).tolist() == x.tolist()  # rate 0
      True
    """
    shape = x.shape if per_gene else x.shape[:-1] + (1,)
    # One uniform v per draw: mutate iff v < rate, and then v / rate is again uniform on [0, 1).
    v = rng.uniform(key, shape)
    mutate = v < rate
    u = v / jnp.maximum(rate, 1e-12)
    return jnp.where(mutate, polynomial_delta(x, u, index, lo, hi), x)
