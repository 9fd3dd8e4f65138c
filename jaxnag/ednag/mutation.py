"""Polynomial mutation (Deb & Agrawal) within ``[lo, hi]``.

Example:
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


def polynomial_delta(x: jax.Array, u: jax.Array, index, lo=-1.0, hi=1.0) -> jax.Array:
    """The mutated value for uniform draws ``u`` (broadcast against ``x``).

    For ``u < 0.5``: ``d = (2u + (1 - 2u)(1 - d1)^(m+1))^(1/(m+1)) - 1`` with ``d1 = (x - lo)/(hi - lo)``;
    otherwise ``d = 1 - (2(1 - u) + 2(u - 0.5)(1 - d2)^(m+1))^(1/(m+1))`` with ``d2 = (hi - x)/(hi - lo)``;
    result ``clip(x + d (hi - lo), lo, hi)``. ``m`` is the distribution index.
    """
    span = hi - lo
    m1 = index + 1.0
    d1 = (x - lo) / span
    d2 = (hi - x) / span
    low = jnp.power(jnp.maximum(2.0 * u + (1.0 - 2.0 * u) * jnp.power(1.0 - d1, m1), 0.0), 1.0 / m1) - 1.0
    high = 1.0 - jnp.power(jnp.maximum(2.0 * (1.0 - u) + 2.0 * (u - 0.5) * jnp.power(1.0 - d2, m1), 0.0),
                           1.0 / m1)
    delta = jnp.where(u < 0.5, low, high)
    return jnp.clip(x + delta * span, lo, hi)


def polynomial(key: jax.Array, x: jax.Array, rate, index, per_gene: bool, lo=-1.0, hi=1.0) -> jax.Array:
    """Mutate population ``x [N, D]``.

    Args:
      rate: probability that an individual (``per_gene=False``, the reference) or a
        gene (``per_gene=True``) mutates.
      index: distribution index (larger = smaller steps).
      per_gene: False reproduces the reference: one ``u`` per individual, so the map
        is monotone and argmax decoding never changes. True draws ``u`` per gene.
    """
    k_sel, k_u = jax.random.split(key)
    shape = x.shape if per_gene else x.shape[:-1] + (1,)
    mutate = jax.random.uniform(k_sel, shape) < rate
    u = jax.random.uniform(k_u, shape)
    return jnp.where(mutate, polynomial_delta(x, u, index, lo, hi), x)
