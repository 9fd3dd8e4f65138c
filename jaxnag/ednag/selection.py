"""EDNAG's (mu + lambda) selection on the pooled parents and children.

Fill ``n`` places in order: (1) elites, the top ``floor(elite_rate n)`` by fitness,
skipping an individual whose fitness equals the previous one's in sorted order;
(2) diverse, the ``floor(diversity_rate n)`` with the highest diversity among those
with fitness >= 0.1 * max; (3) the rest by roulette without replacement with
probabilities proportional to ``0.9 norm(f (1 + div)) + 0.1``. Diversity is
``div_i = sum_j ||x_i - x_j||`` min-max normalised. Roulette without replacement is
done exactly with Gumbel top-k. The rates may be traced values (a sweep is a vmap).

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnag.ednag.selection import select
  >>> x = jax.random.normal(jax.random.key(0), (8, 5)); f = jnp.arange(8.0)
  >>> idx = select(jax.random.key(1), x, f, 4, 0.25, 0.25)
  >>> bool(7 in idx.tolist())
  True
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import rng
from ..shaping import PAIRWISE_MAX, count, descending_position

__all__ = ["diversity", "minmax", "select", "select_reference"]


def minmax(v: jax.Array) -> jax.Array:
    """``(v - min) / (max - min)`` over all of ``v`` (same shape), 0 where the range is empty.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.ednag.selection import minmax
      >>> scale = jax.jit(minmax)
      >>> scale(jnp.array([2.0, 4.0, 3.0])).tolist(), scale(jnp.array([7.0, 7.0, 7.0])).tolist()
      ([0.0, 1.0, 0.5], [0.0, 0.0, 0.0])
    """
    lo, hi = jnp.min(v), jnp.max(v)
    return jnp.where(hi > lo, (v - lo) / jnp.where(hi > lo, hi - lo, 1.0), 0.0)


def diversity(x: jax.Array) -> jax.Array:
    """Min-max normalised ``sum_j ||x_i - x_j||`` for ``x [M, D]``: float ``[M]``, 1 for the most diverse.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.ednag.selection import diversity
      >>> jax.jit(diversity)(jnp.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])).tolist()  # distance sums 4, 3, 5
      [0.5, 0.0, 1.0]
    """
    sq = jnp.sum(x * x, axis=-1)
    d2 = jnp.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    return minmax(jnp.sum(jnp.sqrt(d2), axis=1))


def select(key: jax.Array, x: jax.Array, f: jax.Array, n: int, elite_rate, diversity_rate) -> jax.Array:
    """Indices (int32 ``[n]``, distinct) of the survivors among ``x [M, D]`` with fitness ``f [M]``.

    ``f`` must be finite (map failures to a low value first).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.ednag.selection import select
      >>> x = jax.random.normal(jax.random.key(0), (8, 5))
      >>> f = jnp.array([0.1, 0.9, 0.9, 0.5, 0.7, 0.3, 0.2, 0.0])
      >>> select(jax.random.key(1), x, f, 4, 1.0, 0.0).tolist()  # all elites: the second 0.9 is a repeat
      [1, 3, 4, 5]
    """
    m = x.shape[0]
    n_elite = jnp.floor(elite_rate * n).astype(jnp.int32)
    n_div = jnp.floor(diversity_rate * n).astype(jnp.int32)
    div = diversity(x)

    elite = _elites(f, n_elite)
    eligible = (~elite) & (f >= 0.1 * jnp.max(f))
    diverse = eligible & (descending_position(jnp.where(eligible, div, -jnp.inf)) < n_div)

    p = 0.9 * minmax(f * (1.0 + div)) + 0.1
    gumbel = jnp.log(p) + rng.gumbel(key, (m,))
    # Elites first, then diverse, then roulette order; top-n of the combined priority.
    priority = jnp.where(elite, 2e9, jnp.where(diverse, 1e9, gumbel))
    if m > PAIRWISE_MAX:
        return jax.lax.top_k(priority, n)[1].astype(jnp.int32)
    # Small pools: invert the descending positions by comparison (no sort, no scatter);
    # the same indices in the same order as top_k, whose ties also go to the lower index.
    # Positions are a permutation, so each row of the comparison has exactly one match.
    pos = descending_position(priority)
    hit = pos[None, :] == jnp.arange(n, dtype=pos.dtype)[:, None]
    return _index_where(hit)


def _index_where(hit: jax.Array) -> jax.Array:
    """Per row of ``hit [k, m]`` (at most one true entry each), the column of its true entry (0 if none).
    Summed in float32, exact for m < 2^24, for the reason :func:`jaxnag.shaping.count` gives."""
    cols = jnp.arange(hit.shape[1], dtype=jnp.float32)
    return jnp.sum(jnp.where(hit, cols[None, :], 0.0), axis=1).astype(jnp.int32)


def _elites(f: jax.Array, n_elite) -> jax.Array:
    """Walk the fitness order, skipping an entry equal to its predecessor; keep the
    first ``n_elite`` entries not skipped. Returns the mask of kept entries.

    Kept entries are the first (lowest index) of each distinct value, and one is kept
    iff fewer than ``n_elite`` distinct values are larger.
    """
    m = f.shape[0]
    if m > PAIRWISE_MAX:
        pos = descending_position(f)
        sorted_f = jnp.zeros(m, f.dtype).at[pos].set(f)
        distinct_sorted = jnp.concatenate([jnp.ones(1, bool), sorted_f[1:] != sorted_f[:-1]])
        kept_before = jnp.cumsum(distinct_sorted) - 1  # kept entries strictly before, for kept ones
        return distinct_sorted[pos] & (kept_before[pos] < n_elite)
    idx = jnp.arange(m)
    first = ~jnp.any((f[None, :] == f[:, None]) & (idx[None, :] < idx[:, None]), axis=1)
    larger = count(first[None, :] & (f[None, :] > f[:, None]), axis=1)
    return first & (larger < n_elite)


def select_reference(key: jax.Array, x: jax.Array, f: jax.Array, n: int, elite_rate, diversity_rate) -> jax.Array:
    """The reference code's selection, quirks included (faithful mode). Indices ``[n]``,
    possibly repeated.

    Differences from :func:`select`: if fewer than ``n_elite`` distinct fitness values
    exist, the elites are padded with the top of the fitness order (repeats); the diverse
    picks do not exclude elites (an individual can be taken twice) and, if fewer than
    ``n_div`` are fit enough, are padded with the most diverse regardless of fitness;
    the roulette draws ``u`` and takes the first index in pool order, not yet taken, whose
    cumulative probability reaches ``u`` (redrawing when none does), so the mass of a
    taken index flows to the next free one rather than being renormalised.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> x = jax.random.normal(jax.random.key(0), (8, 5)); f = jnp.arange(8.0)
      >>> idx = select_reference(jax.random.key(1), x, f, 4, 0.25, 0.25)
      >>> int(idx[0])
      7
    """
    m = x.shape[0]
    n_elite = jnp.floor(elite_rate * n).astype(jnp.int32)
    n_div = jnp.floor(diversity_rate * n).astype(jnp.int32)
    div = diversity(x)
    slots = jnp.arange(n)

    # Elites: the kept (distinct-value) entries in fitness order, then the fitness order
    # from its top while places remain. Diverse: in diversity order, those with
    # f >= 0.1 max (elites not excluded), then the diversity order from its top.
    elite_idx = _members_then_top(_elites(f, m), f, n)
    diverse_idx = _members_then_top(f >= 0.1 * jnp.max(f), div, n)

    # Place k: elite k for k < n_elite, diverse k - n_elite below n_elite + n_div, then roulette.
    first = jnp.where(slots < n_elite, elite_idx, diverse_idx[jnp.clip(slots - n_elite, 0, n - 1)])
    n_fixed = jnp.minimum(n_elite + n_div, n)
    taken = jnp.zeros(m, bool).at[first].max(slots < n_fixed)
    cum = jnp.cumsum(0.9 * minmax(f * (1.0 + div)) + 0.1)
    cum = cum / cum[-1]

    def draw(k, carry):
        taken, out, key = carry
        key, sub = jax.random.split(key)
        # Redrawing until some free index has cum >= u is drawing u below the largest free cum.
        u = jax.random.uniform(sub) * jnp.max(jnp.where(taken, 0.0, cum))
        j = jnp.argmax(~taken & (cum >= u))
        use = k >= n_fixed
        return taken.at[j].set(taken[j] | use), out.at[k].set(jnp.where(use, j, out[k])), key

    _, out, _ = jax.lax.fori_loop(0, n, draw, (taken, first.astype(jnp.int32), key))
    return out.astype(jnp.int32)


def _members_then_top(mask: jax.Array, v: jax.Array, n: int) -> jax.Array:
    """``n`` indices: the entries where ``mask`` holds, by descending ``v``; after them, all
    entries by descending ``v`` from the top again (so repeats are possible)."""
    m = v.shape[0]
    slots = jnp.arange(n)
    rank = jnp.where(mask, descending_position(jnp.where(mask, v, -jnp.inf)), m)
    members = jnp.sum(mask)

    def at(position, wanted):  # the index whose position is `wanted`, per slot (0 if none)
        return _index_where(position[None, :] == wanted[:, None])

    return jnp.where(slots < members, at(rank, slots), at(descending_position(v), slots - members))
