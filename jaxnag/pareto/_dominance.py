"""Pareto dominance, non-dominated sorting and crowding distance, jittable over fixed shapes.

Objectives are maximised, as every fitness in jaxnag is (a cost enters negated: see
:func:`jaxnag.tables.objectives`). A row with a non-finite objective (a failed evaluation) or
outside ``valid`` never dominates, is never on a front and ranks last.

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxnag import pareto
  >>> f = jnp.array([[3.0, 1.0], [1.0, 3.0], [2.0, 2.0], [1.0, 1.0], [jnp.nan, 5.0]])
  >>> pareto.ranks(f).tolist()
  [0, 0, 0, 1, 5]
  >>> pareto.non_dominated(f).tolist()
  [True, True, True, False, False]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..errors import ConfigError

__all__ = ["crowding", "dominates", "domination_matrix", "non_dominated", "ranks", "standing", "usable"]


def _values(values) -> jax.Array:
    values = jnp.asarray(values, jnp.float32)
    if values.ndim != 2:
        raise ConfigError(f"objective values must have shape [n, M] (one row per architecture), got {values.shape}")
    return values


def usable(values, valid=None) -> jax.Array:
    """bool ``[n]``: rows whose objectives are all finite (and that are ``valid``, where given).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> f = jnp.array([[1.0, 2.0], [jnp.nan, 1.0], [0.0, 0.0]])
      >>> pareto.usable(f).tolist(), pareto.usable(f, valid=jnp.array([True, True, False])).tolist()
      ([True, False, True], [True, False, False])
    """
    ok = jnp.all(jnp.isfinite(_values(values)), axis=-1)
    return ok if valid is None else ok & jnp.asarray(valid, bool)


def dominates(a, b) -> jax.Array:
    """Whether ``a [..., M]`` Pareto-dominates ``b [..., M]`` (no worse in every objective, better in one;
    maximised). A non-finite objective on either side: False. Returns bool ``[...]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> a = jnp.array([[2.0, 1.0], [1.0, 1.0], [jnp.nan, 9.0], [2.0, 0.0]])
      >>> b = jnp.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 2.0]])
      >>> jax.jit(pareto.dominates)(a, b).tolist()  # better in one; equal; failed; a trade-off
      [True, False, False, False]
    """
    a, b = jnp.asarray(a), jnp.asarray(b)
    finite = jnp.all(jnp.isfinite(a), -1) & jnp.all(jnp.isfinite(b), -1)
    return finite & jnp.all(a >= b, -1) & jnp.any(a > b, -1)


def domination_matrix(values, valid=None) -> jax.Array:
    """bool ``[n, n]``: entry ``[i, j]`` says row ``i`` dominates row ``j`` (only usable rows dominate or are
    dominated).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> jax.jit(pareto.domination_matrix)(jnp.array([[2.0, 2.0], [1.0, 1.0], [3.0, 0.0]])).tolist()
      [[False, True, False], [False, False, False], [False, False, False]]
    """
    values = _values(values)
    ok = usable(values, valid)
    d = dominates(values[:, None, :], values[None, :, :])
    return d & ok[:, None] & ok[None, :]


def non_dominated(values, valid=None) -> jax.Array:
    """bool ``[n]``: the usable rows no usable row dominates (the first front; equal rows are all on it).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> f = jnp.array([[2.0, 2.0], [1.0, 1.0], [2.0, 2.0], [0.0, 3.0], [jnp.nan, 9.0]])
      >>> pareto.non_dominated(f).tolist()  # both copies of (2, 2); (1, 1) is dominated; NaN never counts
      [True, False, True, True, False]
      >>> pareto.non_dominated(f, valid=jnp.array([False, True, False, True, True])).tolist()
      [False, True, False, True, False]
    """
    ok = usable(values, valid)
    return ok & ~jnp.any(domination_matrix(values, valid), axis=0)


def ranks(values, valid=None, limit: int | None = None) -> jax.Array:
    """int32 ``[n]``: non-dominated sorting (Deb et al. 2002): 0 for the first front, 1 for the front once
    it is removed, ...; ``n`` for an unusable row. One ``[n, n]`` matrix and one matrix-vector product per
    front. ``limit``: stop once that many rows are ranked (NSGA-II's survival needs no more); the rows
    left get the next rank.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> chain = jnp.array([[4.0, 4.0], [3.0, 3.0], [2.0, 2.0], [1.0, 1.0], [0.0, 0.0]])  # each dominates the next
      >>> pareto.ranks(chain).tolist(), pareto.ranks(chain, limit=2).tolist()  # limit: the rest share rank 2
      ([0, 1, 2, 3, 4], [0, 1, 2, 2, 2])
    """
    values = _values(values)
    n = values.shape[0]
    ok = usable(values, valid)
    dom = domination_matrix(values, valid).astype(jnp.float32)
    count = jnp.sum(dom, axis=0)  # how many usable rows dominate each row

    def body(c):
        rank, left, k, count = c
        front = left & (count == 0)
        return (jnp.where(front, k, rank), left & ~front, k + 1, count - front.astype(jnp.float32) @ dom)

    enough = n if limit is None else limit
    rank, left, k, _ = jax.lax.while_loop(lambda c: jnp.any(c[1]) & (jnp.sum(~c[1] & ok) < enough), body,
                                          (jnp.full(n, n, jnp.int32), ok, jnp.int32(0), count))
    return jnp.where(left, k, rank)


def crowding(values, rank=None, valid=None) -> jax.Array:
    """float32 ``[n]``: crowding distance within each front (Deb et al. 2002): for each objective, the gap
    between a row's two neighbours in its front over the front's range, summed and divided by the number
    of objectives (pymoo's scale); a front's extreme rows are ``inf``; an unusable row 0. ``rank`` defaults
    to :func:`ranks`.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> f = jnp.array([[4.0, 1.0], [3.0, 2.0], [2.0, 3.0], [1.0, 4.0],   # front 0
      ...                [3.0, 1.0], [2.0, 2.0], [1.0, 3.0],               # front 1
      ...                [jnp.nan, 0.0]])                                  # failed
      >>> [round(c, 3) for c in pareto.crowding(f).tolist()]
      [inf, 0.667, 0.667, inf, inf, 1.0, inf, 0.0]
    """
    values = _values(values)
    n, m = values.shape
    ok = usable(values, valid)
    rank = ranks(values, valid) if rank is None else jnp.asarray(rank, jnp.int32)
    group = jnp.where(ok, rank, n)
    safe = jnp.where(ok[:, None], values, 0.0)
    total = jnp.zeros(n, jnp.float32)
    for j in range(m):
        v = safe[:, j]
        order = jnp.lexsort((v, group))
        g, s = group[order], v[order]
        lo = jax.ops.segment_min(v, group, num_segments=n + 1)[g]
        hi = jax.ops.segment_max(v, group, num_segments=n + 1)[g]
        same_prev = jnp.concatenate([jnp.zeros(1, bool), g[1:] == g[:-1]])
        same_next = jnp.concatenate([g[1:] == g[:-1], jnp.zeros(1, bool)])
        gap = jnp.concatenate([s[1:], s[-1:]]) - jnp.concatenate([s[:1], s[:-1]])
        span = hi - lo
        d = jnp.where(same_prev & same_next, jnp.where(span > 0, gap / jnp.where(span > 0, span, 1.0), 0.0),
                      jnp.inf)
        total = total + jnp.zeros(n, jnp.float32).at[order].set(d)
    return jnp.where(ok, total / m, 0.0)


def standing(values, valid=None, crowding_weight=1.0) -> jax.Array:
    """float32 ``[n]``: each row's Pareto standing among the rows, a scalar to maximise, as NSGA-II orders
    them: ``-rank + crowding_weight * c / (1 + c)`` with ``rank`` from :func:`ranks` and ``c`` the crowding
    distance in its front (1 for a front's extremes); NaN for an unusable row. With ``crowding_weight`` < 1 a
    row never ties with one of the next better front.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import pareto
      >>> f = jnp.array([[3.0, 1.0], [2.0, 2.0], [1.0, 3.0], [1.0, 1.0], [jnp.nan, 5.0]])
      >>> [round(s, 3) for s in pareto.standing(f).tolist()]  # front 0: two extremes, one middle; then front 1
      [1.0, 0.5, 1.0, 0.0, nan]
    """
    values = _values(values)
    ok = usable(values, valid)
    rank = ranks(values, valid)
    c = crowding(values, rank, valid)
    bonus = jnp.where(jnp.isinf(c), 1.0, c / (1.0 + c))
    return jnp.where(ok, -rank.astype(jnp.float32) + crowding_weight * bonus, jnp.nan)
