"""Unique-query accounting: how many distinct architectures a search has evaluated.

The set of ids seen so far is a bit set, uint32 ``[ceil(size / 32)]`` (id ``i`` is
bit ``i % 32`` of word ``i // 32``): 32 times smaller than a bool array, which matters
when a search carries it through ``lax.scan`` for a thousand vmapped seeds. Counting
the new ids in a batch compares the batch's ids with each other (pairwise for small
batches, by a sort for large ones), so the cost does not grow with the size of the space.

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxnag import queries
  >>> seen = queries.empty(10)
  >>> seen, new = queries.mark(seen, jnp.array([3, 3, 5]), jnp.array([True, True, True]))
  >>> int(new), queries.contains(seen, jnp.array([3, 4])).tolist()
  (2, [True, False])
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .shaping import PAIRWISE_MAX, descending_order

__all__ = ["contains", "count", "empty", "first_occurrence", "insert", "keep_best", "mark", "query_ids"]


def query_ids(space, ops: jax.Array) -> jax.Array:
    """``space.query_id`` of ``ops [..., R]`` with out-of-range choices clipped (an invalid proposal still
    gets an id in ``[0, size)``; callers mask it by ``space.is_valid``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import queries, spaces
      >>> queries.query_ids(spaces.get("nb201"), jnp.array([[0, 0, 0, 0, 0, 4], [0, 0, 0, 0, 0, 9]])).tolist()
      [4, 4]
    """
    return space.query_id(jnp.clip(ops, 0, space.num_choices - 1))


def empty(size: int) -> jax.Array:
    """An empty set of ids in ``[0, size)``: uint32 ``[ceil(size / 32)]``, all bits clear.

    Examples:
      >>> from jaxnag import queries
      >>> seen = queries.empty(100)
      >>> seen.shape, str(seen.dtype), seen.tolist()  # 100 ids: 4 words of 32 bits
      ((4,), 'uint32', [0, 0, 0, 0])
    """
    return jnp.zeros(max(-(-size // 32), 1), jnp.uint32)


def _bit(ids: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(word, bit)`` of each id in the set's uint32 words."""
    ids = jnp.asarray(ids, jnp.int32)
    return ids >> 5, jnp.left_shift(jnp.uint32(1), (ids & 31).astype(jnp.uint32))


def contains(seen: jax.Array, ids: jax.Array) -> jax.Array:
    """bool, same shape as ``ids``: whether each id is in the set.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import queries
      >>> seen, _ = queries.insert(queries.empty(10), jnp.array([3, 3, 5]), jnp.array([True, True, True]))
      >>> queries.contains(seen, jnp.array([5, 9])).tolist()
      [True, False]
    """
    word, bit = _bit(ids)
    return (seen[word] & bit) != 0


def first_occurrence(ids: jax.Array, valid: jax.Array) -> jax.Array:
    """bool ``[n]``: ``valid`` entries whose id has no valid entry earlier in the batch.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import queries
      >>> queries.first_occurrence(jnp.array([4, 4, 2]), jnp.array([False, True, True])).tolist()
      [False, True, True]
    """
    n = ids.shape[0]
    if n <= PAIRWISE_MAX:  # an n x n comparison is cheaper than a sort for small batches
        idx = jnp.arange(n)
        earlier = (ids[None, :] == ids[:, None]) & valid[None, :] & (idx[None, :] < idx[:, None])
        return valid & ~jnp.any(earlier, axis=1)
    # Order by (id, valid before invalid, index): the first entry of each id's run is its first valid one.
    key = 2 * jnp.asarray(ids, jnp.int32) + (~valid).astype(jnp.int32)
    order = descending_order(-key)
    r, v = ids[order], valid[order]
    head = jnp.concatenate([jnp.ones(1, bool), r[1:] != r[:-1]]) & v
    return jnp.zeros(n, bool).at[order].set(head)


def insert(seen: jax.Array, ids: jax.Array, valid: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Add ``ids [n]`` (where ``valid``) to the set; return ``(seen, new [n])``: which entries were added
    (valid, not in the set before, first of their id in the batch).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import queries
      >>> seen, new = queries.insert(queries.empty(10), jnp.array([3, 3, 5]), jnp.array([True, True, False]))
      >>> new.tolist(), int(queries.count(seen))
      ([True, False, False], 1)
    """
    new = first_occurrence(ids, valid) & ~contains(seen, ids)
    word, bit = _bit(ids)
    # New ids are distinct and not yet in the set, so adding their bits is an OR.
    return seen.at[word].add(jnp.where(new, bit, jnp.uint32(0))), new


def mark(seen: jax.Array, ids: jax.Array, valid: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Add ``ids [n]`` (where ``valid``) to the set; return ``(seen, number newly added)``.

    Duplicates inside the batch count once.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import queries
      >>> seen, n = queries.mark(queries.empty(10), jnp.array([3, 3, 5]), jnp.array([True, True, True]))
      >>> int(n), int(queries.mark(seen, jnp.array([5, 6, 7]), jnp.array([True, True, False]))[1])
      (2, 1)
    """
    seen, new = insert(seen, ids, valid)
    return seen, jnp.sum(new).astype(jnp.int32)


def keep_best(best_ids: jax.Array, best_values: jax.Array, ids: jax.Array, values: jax.Array,
              new: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The ``k`` best distinct ids so far: ``(best_ids [k], best_values [k])`` (best first, -inf where
    fewer) updated with the batch ``ids [n]``, ``values [n]`` where ``new`` (ids neither kept nor seen
    before, first in their batch); an id joins if it beats the worst kept. The ids may be whole
    architectures (``[k, R]`` and ``[n, R]``) where a space is too large for ids.

    Examples:
      >>> import jax.numpy as jnp
      >>> ids, v = keep_best(jnp.array([7, 0]), jnp.array([0.5, -jnp.inf]), jnp.array([2, 3]),
      ...                    jnp.array([0.9, 0.1]), jnp.array([True, True]))
      >>> ids.tolist(), [round(x, 2) for x in v.tolist()]
      ([2, 7], [0.9, 0.5])
    """
    pool = jnp.concatenate([best_values, jnp.where(new & jnp.isfinite(values), values, -jnp.inf)])
    best_values, top = jax.lax.top_k(pool, best_values.shape[0])
    return jnp.concatenate([best_ids, ids])[top], best_values


def count(seen: jax.Array) -> jax.Array:
    """Number of ids in the set (int32).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import queries
      >>> seen, _ = queries.insert(queries.empty(10), jnp.array([1, 4, 9]), jnp.array([True, True, True]))
      >>> int(queries.count(seen))
      3
    """
    return jnp.sum(jax.lax.population_count(seen)).astype(jnp.int32)
