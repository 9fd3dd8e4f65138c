"""Quality indicators of a set of objective vectors: hypervolume, IGD, IGD+ (jittable, fixed shapes).

Objectives are maximised. The hypervolume is the volume dominated by the set and bounded below by
``reference`` (a point worse than the interesting ones in every objective): exact for 1 to 3
objectives (a sweep over sorted points, ``O(n log n)`` for 2 and ``O(n^2)`` for 3), a Monte Carlo
estimate above (:func:`hypervolume_mc`). EvoXBench's scale is :func:`normalise` between the exact
front's nadir (-> 0, the reference) and ideal (-> 1) points.

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxnag import pareto
  >>> f = jnp.array([[3.0, 1.0], [1.0, 3.0], [2.0, 2.0]])
  >>> float(pareto.hypervolume(f, jnp.zeros(2)))
  6.0
  >>> float(pareto.igd(f[:2], f))   # the front found lacks (2, 2): its nearest is sqrt(2) away
  0.4714045226573944
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..errors import ConfigError
from ._dominance import _values, usable

__all__ = ["EXACT_MAX", "hypervolume", "hypervolume_mc", "igd", "igd_plus", "normalise"]

EXACT_MAX = 3  # objectives the exact hypervolume supports


def normalise(values, ideal, nadir) -> jax.Array:
    """``(values - nadir) / (ideal - nadir)``: the nadir point maps to 0, the ideal to 1 in every
    objective (an objective whose ideal equals its nadir maps to 0). ``values [..., M]``, ``ideal, nadir [M]``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> f = jnp.array([[0.75, -2.0, 5.0], [1.0, -3.0, 5.0]])  # (accuracy, -latency, a constant)
      >>> pareto.normalise(f, ideal=[1.0, -1.0, 5.0], nadir=[0.5, -3.0, 5.0]).tolist()
      [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]
    """
    values = jnp.asarray(values, jnp.float32)
    lead = (1,) * (values.ndim - 1) + (-1,)
    ideal, nadir = jnp.asarray(ideal, jnp.float32).reshape(lead), jnp.asarray(nadir, jnp.float32).reshape(lead)
    span = ideal - nadir
    return (values - nadir) / jnp.where(span > 0, span, jnp.inf)


def _gains(values, reference, valid):
    """Minimisation form ``reference - values`` clipped: each usable row strictly better than the
    reference in every objective keeps its gains, every other row becomes the origin (no volume)."""
    values = _values(values)
    reference = jnp.asarray(reference, jnp.float32)
    if reference.shape != values.shape[-1:]:
        raise ConfigError(f"reference point must have one value per objective ({values.shape[-1]}), got shape "
                          f"{reference.shape}")
    g = values - reference[None, :]
    inside = usable(values, valid) & jnp.all(g > 0, axis=-1)
    return jnp.where(inside[:, None], g, 0.0)


def _staircase(x, y):
    """Area under the staircase of points already sorted by ``x`` descending (``y`` 0 for points left out)."""
    width = x - jnp.concatenate([x[1:], jnp.zeros(1, x.dtype)])
    return jnp.sum(width * jax.lax.cummax(y))


def _area(g, presorted=False):
    """Area dominated by gains ``g [n, 2]`` (maximised, over the origin)."""
    if presorted:  # rows left out are at the origin: wherever they sit, they add nothing
        return _staircase(g[:, 0], g[:, 1])
    order = jnp.argsort(-g[:, 0])
    return _staircase(g[order, 0], g[order, 1])


def _volume3(g, presorted=False):
    """Volume dominated by gains ``g [n, 3]``, swept down ``z``: each point adds its ``z`` times the area its
    ``(x, y)`` box adds to the points above it. Over the rows in ``x`` order, interval ``i`` is
    ``(x[i+1], x[i]]``, and ``top[i]`` the highest ``y`` swept so far among rows ``<= i``: the point at
    row ``r`` raises ``top[r:]`` to its ``y`` and adds ``sum(width * (raised - top))``.
    ``O(n)`` per point, ``O(n^2)`` in all, no prefix maximum (XLA computes one in ``O(n^2)`` on CPU)."""
    if not presorted:
        g = g[jnp.argsort(-g[:, 0])]
    x, y, z = g[:, 0], g[:, 1], g[:, 2]  # rows left out are at the origin: wherever they sit, they add nothing
    width = x - jnp.concatenate([x[1:], jnp.zeros(1, x.dtype)])
    down = jnp.argsort(-z)
    rows = jnp.arange(g.shape[0])

    def sweep(t, carry):
        top, volume = carry
        r = down[t]
        raised = jnp.where(rows >= r, jnp.maximum(top, y[r]), top)
        return raised, volume + z[r] * jnp.sum(width * (raised - top))
    return jax.lax.fori_loop(0, jnp.sum(z > 0), sweep, (jnp.zeros_like(y), jnp.zeros((), g.dtype)))[1]


def hypervolume(values, reference, valid=None, *, samples: int = 100_000, key=None,
                presorted: bool = False) -> jax.Array:
    """Hypervolume of the usable rows of ``values [n, M]`` over ``reference [M]``: exact for ``M <= 3``,
    else :func:`hypervolume_mc` with ``samples`` points (``key`` default ``jax.random.key(0)``).
    ``presorted``: the usable rows are in descending order of the first objective (a :class:`Front`'s),
    which saves a sort (two objectives: one pass). Returns a float32 scalar. Three objectives sweep a loop over
    the rows that count: forward mode (``jax.jvp``) differentiates it, reverse mode (``jax.grad``) only outside
    ``jit``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> f = jnp.array([[1.0, 1.0, 1.0], [2.0, 2.0, 0.5], [0.5, 0.5, 0.5]])  # the last is inside the first
      >>> hv = jax.jit(pareto.hypervolume)
      >>> float(hv(f, jnp.zeros(3), jnp.array([True, True, True])))  # 1 + 2 - 0.5 (their overlap)
      2.5
      >>> float(hv(f, jnp.zeros(3), jnp.array([False, True, True])))
      2.0
    """
    g = _gains(values, reference, valid)
    m = g.shape[-1]
    if m == 1:
        return jnp.max(g[:, 0], initial=0.0)
    if m == 2:
        return _area(g, presorted)
    if m == 3:
        return _volume3(g, presorted)
    return _mc(g, samples, jax.random.key(0) if key is None else key)


def _mc(g, samples, key):
    hi = jnp.max(g, axis=0)
    u = jax.random.uniform(key, (samples, g.shape[-1])) * hi[None, :]
    covered = jnp.any(jnp.all(u[:, None, :] <= g[None, :, :], axis=-1), axis=-1)
    return jnp.prod(hi) * jnp.mean(covered.astype(jnp.float32))


def hypervolume_mc(values, reference, valid=None, *, samples: int = 100_000, key=None) -> jax.Array:
    """Monte Carlo hypervolume: ``samples`` uniform points in the box between ``reference`` and the rows'
    componentwise best, the share dominated times the box's volume (standard error about
    ``volume * sqrt(p (1 - p) / samples)``). For any number of objectives. Returns a float32 scalar.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> f = jnp.array([[3.0, 1.0], [1.0, 3.0], [2.0, 2.0]])  # exact hypervolume 6
      >>> mc = jax.jit(pareto.hypervolume_mc, static_argnames="samples")
      >>> abs(float(mc(f, jnp.zeros(2), samples=20_000)) - 6.0) < 0.1
      True
    """
    return _mc(_gains(values, reference, valid), samples, jax.random.key(0) if key is None else key)


def check_exact(num_objectives: int) -> None:
    """Refuse an exact hypervolume for more objectives than it supports (one clear line).

    Examples:
      >>> from jaxnag import pareto
      >>> pareto.check_exact(pareto.EXACT_MAX) is None
      True
      >>> try:
      ...     pareto.check_exact(4)
      ... except ValueError as e:  # errors.ConfigError
      ...     print(str(e).split(":")[0])
      the exact hypervolume supports at most 3 objectives, got 4
    """
    if num_objectives > EXACT_MAX:
        raise ConfigError(f"the exact hypervolume supports at most {EXACT_MAX} objectives, got {num_objectives}: "
                          "use pareto.hypervolume_mc (a Monte Carlo estimate)")


def _distances(found, reference, valid, plus: bool):
    found = _values(found)
    reference = _values(reference)
    if found.shape[-1] != reference.shape[-1]:
        raise ConfigError(f"found set and reference front have {found.shape[-1]} and {reference.shape[-1]} "
                          "objectives")
    diff = reference[:, None, :] - found[None, :, :]  # > 0 where the found row falls short (maximised)
    if plus:
        diff = jnp.maximum(diff, 0.0)
    d = jnp.sqrt(jnp.sum(diff * diff, axis=-1))
    d = jnp.where(usable(found, valid)[None, :], d, jnp.inf)
    return jnp.mean(jnp.min(d, axis=1))


def igd(found, reference, valid=None) -> jax.Array:
    """Inverted generational distance: the mean, over the reference front's points, of the Euclidean
    distance to the nearest usable row of ``found`` (inf where none is usable). Lower is better.
    ``found [n, M]``, ``reference [F, M]`` -> a float32 scalar.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> ref = jnp.array([[3.0, 4.0], [0.0, 0.0]])
      >>> found = jnp.array([[0.0, 0.0], [jnp.nan, 9.0]])  # the failed row is left out
      >>> igd = jax.jit(pareto.igd)
      >>> float(igd(found, ref, jnp.array([True, True]))), float(igd(found, ref, jnp.array([False, True])))
      (2.5, inf)
    """
    return _distances(found, reference, valid, plus=False)


def igd_plus(found, reference, valid=None) -> jax.Array:
    """IGD+ (Ishibuchi et al. 2015): as :func:`igd` with only the shortfall counted
    (``sqrt(sum max(z - a, 0)^2)`` for a reference point ``z`` and a found ``a``): Pareto-compliant.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> ref, found = jnp.array([[3.0, 4.0]]), jnp.array([[4.0, 0.0]])  # better in one, short by 4 in the other
      >>> both = jax.jit(lambda found, ref: (pareto.igd(found, ref), pareto.igd_plus(found, ref)))
      >>> [round(float(v), 3) for v in both(found, ref)]
      [4.123, 4.0]
    """
    return _distances(found, reference, valid, plus=True)
