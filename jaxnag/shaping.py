"""Fitness shaping: raw fitness (higher is better) -> selection/weighting scores.

Failed evaluations (NaN or inf) never propagate: :func:`failed_as` replaces them
before shaping, and the population-relative shapings ignore them.

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxnag import shaping
  >>> shaping.rescale(jnp.array([30.0, 50.0, 95.0])).tolist()
  [3.0, 23.0, 503.0]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["PAIRWISE_MAX", "SHAPINGS", "centered_rank", "count", "descending_order", "descending_position", "energy",
           "failed_as", "finite_mean", "identity", "log_energy", "power", "rescale", "zscore"]

# Knots (accuracy %) and slopes of EDNAG's piecewise-linear rescale (numpy: no jax array at import).
_KNOTS = np.array([0.0, 30.0, 50.0, 70.0, 75.0, 80.0, 85.0, 90.0, 95.0], np.float32)
_SLOPES = np.array([0.1, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 40.0, 50.0], np.float32)
_BASE = np.concatenate([np.zeros(1), np.cumsum(np.diff(_KNOTS) * _SLOPES[:-1])]).astype(np.float32)


def failed_as(fitness: jax.Array, value=-jnp.inf) -> jax.Array:
    """Replace NaN/inf fitness (a failed evaluation) by ``value`` (default -inf); ``fitness``'s shape.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> shaping.failed_as(jnp.array([0.5, jnp.nan, jnp.inf]), 0.0).tolist()
      [0.5, 0.0, 0.0]
    """
    return jnp.where(jnp.isfinite(fitness), fitness, value)


def rescale(acc: jax.Array) -> jax.Array:
    """EDNAG's continuous piecewise-linear map of accuracy (%): slope 0.1 below 30, 1 on 30-50,
    2 on 50-70, 3 on 70-75, 5 on 75-80, 10 on 80-85, 30 on 85-90, 40 on 90-95, 50 above 95.

    ``rescale(0) = 0`` and it is continuous: 3 at 30, 23 at 50, 63 at 70, 78 at 75, 103 at 80,
    153 at 85, 303 at 90, 503 at 95. Below 0 it extends with slope 0.1.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> shaping.rescale(jnp.array([-10.0, 85.0, 100.0])).tolist()
      [-1.0, 153.0, 753.0]
    """
    acc = jnp.asarray(acc, jnp.float32)
    knots, slopes, base = jnp.asarray(_KNOTS), jnp.asarray(_SLOPES), jnp.asarray(_BASE)
    i = jnp.clip(jnp.searchsorted(knots, acc, side="right") - 1, 0, len(_KNOTS) - 1)
    return base[i] + slopes[i] * (acc - knots[i])


def energy(f: jax.Array, temperature=1.0) -> jax.Array:
    """EDNAG's weights ``exp(f / T - max(f / T) + 5)`` (float32, may underflow to 0); ``f``'s shape.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> w = jax.jit(shaping.energy)(jnp.array([0.0, 1.0, -200.0]), 0.5).tolist()  # temperature 0.5
      >>> round(w[1], 2), round(w[0] / w[1], 4), w[2]  # e^5 at the best, e^-2 next, underflow
      (148.41, 0.1353, 0.0)
    """
    z = f / temperature
    return jnp.exp(z - jnp.max(z) + 5.0)


def log_energy(f: jax.Array, temperature=1.0) -> jax.Array:
    """``log(energy(f, T))`` computed without exponentiating: never underflows.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> shaping.log_energy(jnp.array([0.0, 1.0, -200.0]), temperature=0.5).tolist()
      [3.0, 5.0, -397.0]
    """
    z = f / temperature
    return z - jnp.max(z) + 5.0


def power(f: jax.Array, p=2.0) -> jax.Array:
    """``max(f, 0) ** p``, elementwise.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> [round(v, 4) for v in shaping.power(jnp.array([-1.0, 0.5, 3.0])).tolist()]
      [0.0, 0.25, 9.0]
    """
    return jnp.maximum(f, 0.0) ** p


def identity(f: jax.Array) -> jax.Array:
    """The fitness unchanged (the ``"identity"`` shaping).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> f = jnp.array([1.0, jnp.nan])
      >>> shaping.identity(f) is f, shaping.SHAPINGS["identity"] is shaping.identity
      (True, True)
    """
    return f


def finite_mean(f: jax.Array) -> jax.Array:
    """Mean over the finite entries of ``f`` (0 if there are none): a scalar.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> mean = jax.jit(shaping.finite_mean)
      >>> float(mean(jnp.array([1.0, jnp.nan, 4.0]))), float(mean(jnp.array([jnp.nan, jnp.inf, -jnp.inf])))
      (2.5, 0.0)
    """
    ok = jnp.isfinite(f)
    return jnp.where(ok, f, 0.0).sum() / jnp.maximum(ok.sum(), 1).astype(f.dtype)


def _finite_stats(f):
    ok = jnp.isfinite(f)
    mean = finite_mean(f)
    var = jnp.where(ok, (f - mean) ** 2, 0.0).sum() / jnp.maximum(ok.sum(), 1).astype(f.dtype)
    return ok, mean, jnp.sqrt(var)


def zscore(f: jax.Array) -> jax.Array:
    """Standardise over the finite entries (std floored at 1e-8); failed entries -> -inf.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> jax.jit(shaping.zscore)(jnp.array([1.0, 3.0, jnp.nan])).tolist()
      [-1.0, 1.0, -inf]
    """
    ok, mean, std = _finite_stats(f)
    return jnp.where(ok, (f - mean) / jnp.maximum(std, 1e-8), -jnp.inf)


PAIRWISE_MAX = 256  # below this pool size, ranks by pairwise comparison beat a sort on CPU


def count(mask: jax.Array, axis: int = -1) -> jax.Array:
    """The number of true entries of ``mask`` along ``axis``: int32, ``mask``'s shape without ``axis``.

    It sums in float32 (exact below 2^24 entries): XLA's CPU backend runs that faster than an int32 sum,
    which it splits into two reductions over the written-out mask (1.1x for 1,000 populations' 60 x 60
    comparisons, ``benchmarks/ednag_parts_speed.py``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> shaping.count(jnp.array([[True, False, True], [False, False, False]])).tolist()
      [2, 0]
    """
    return jnp.sum(jnp.asarray(mask).astype(jnp.float32), axis=axis).astype(jnp.int32)


def descending_position(v: jax.Array) -> jax.Array:
    """Position of each entry in the stable descending order of ``v [M]`` (0 = largest; ties by index):
    int32 ``[M]``, the inverse permutation of :func:`descending_order`.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> jax.jit(shaping.descending_position)(jnp.array([1.0, 3.0, 3.0, 2.0])).tolist()
      [3, 0, 1, 2]
    """
    m = v.shape[0]
    if m <= PAIRWISE_MAX:
        idx = jnp.arange(m)
        ahead = (v[None, :] > v[:, None]) | ((v[None, :] == v[:, None]) & (idx[None, :] < idx[:, None]))
        return count(ahead, axis=1)
    order = descending_order(v)
    return jnp.zeros(m, jnp.int32).at[order].set(jnp.arange(m, dtype=jnp.int32))


def descending_order(v: jax.Array) -> jax.Array:
    """Indices of ``v [M]`` from largest to smallest, ties by index (a stable argsort of ``-v``;
    XLA's TopK breaks ties by index, and with ``k = M`` it is one sort with no negation).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import shaping
      >>> shaping.descending_order(jnp.array([1.0, 3.0, 3.0, 2.0])).tolist()
      [1, 2, 3, 0]
    """
    return jax.lax.top_k(v, v.shape[0])[1]


def centered_rank(f: jax.Array) -> jax.Array:
    """Ranks of ``f [n]`` mapped to ``[-0.5, 0.5]`` (best = 0.5); failed entries rank lowest.

    Tied entries share a rank (that of the best of them: ``#{j: f_j <= f_i} - 1``), so
    copies of one architecture get one weight and selection can still tell they are equal.

    Examples:
      >>> centered_rank(jnp.array([1.0, 3.0, 3.0, jnp.nan, 2.0])).tolist()
      [-0.25, 0.5, 0.5, -0.5, 0.0]
    """
    f = failed_as(f)
    n = f.shape[-1]
    if n <= PAIRWISE_MAX:
        ranks = count(f[None, :] <= f[:, None], axis=1) - 1
    else:
        vals, order = jax.lax.top_k(f, n)  # descending; a tie-run's rank is set by its first entry
        head = jnp.concatenate([jnp.ones(1, bool), vals[1:] != vals[:-1]])
        run_start = jax.lax.cummax(jnp.where(head, jnp.arange(n), 0))
        ranks = jnp.zeros(n, jnp.int32).at[order].set(n - 1 - run_start)
    return ranks.astype(jnp.float32) / max(n - 1, 1) - 0.5


SHAPINGS = {"rescale": rescale, "identity": identity, "power": power, "zscore": zscore,
            "rank": centered_rank}
