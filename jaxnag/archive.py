"""A run's query archive: the distinct architectures evaluated and the best so far, for any generator.

:func:`jaxnag.protocol.generator` keeps one for a user's generator, so its state needs no
bookkeeping of its own. ``queries`` counts distinct valid architectures evaluated (a repeat
or an invalid proposal is not a query), exactly, in every space:

- a space of up to 2^24 architectures keeps a bit set of their ranks (2 MiB at most);
- a larger one (10^12, DARTS' 10^18) keeps a fixed-capacity hash set of the architectures
  themselves (:class:`HashSet`, open addressing, whole rows compared, so never a false repeat).
  ``capacity`` is a setting; a run that evaluates more distinct architectures than it holds sets
  ``overflow`` and its ``queries`` becomes -1 (unknown): never a silent miscount.

Example:
  >>> import jax.numpy as jnp
  >>> from jaxnag import archive, spaces
  >>> s = spaces.get("nb201")
  >>> a = archive.init(s)
  >>> a = archive.update(a, jnp.array([[0, 1, 2, 3, 4, 0], [0, 1, 2, 3, 4, 0]]), jnp.array([1.0, 1.0]), s)
  >>> int(a.queries), float(a.best_fitness)
  (1, 1.0)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import queries as queries_lib
from .errors import check_int

__all__ = ["Archive", "HashSet", "hash_insert", "hash_set", "init", "update"]

MAX_BITSET = 1 << 24  # spaces up to this size keep a bit set of the ids seen (2 MiB)
CAPACITY = 1 << 16  # distinct architectures a hash set holds by default (a large space's archive)


class HashSet(NamedTuple):
    """A fixed-capacity set of architectures (jittable, vmappable).

    Attributes:
      rows: int32 ``[capacity, R]``, the architectures held (-1 in empty slots).
      count: int32, how many are held.
      overflow: bool, whether an insertion found the set full (``count`` is then a lower bound).
    """

    rows: jax.Array
    count: jax.Array
    overflow: jax.Array


def hash_set(capacity: int, num_slots: int) -> HashSet:
    """An empty set for ``capacity`` architectures of ``num_slots`` slots (rounded up to a power of 2)."""
    check_int("capacity", capacity, lo=1, hi=1 << 26)
    size = 1 << int(np.ceil(np.log2(max(capacity, 2))))
    return HashSet(jnp.full((size, num_slots), -1, jnp.int32), jnp.int32(0), jnp.bool_(False))


def _hash(row: jax.Array) -> jax.Array:
    """uint32 hash of one architecture (a multiply-xorshift over its slots)."""
    mult = jnp.asarray((np.arange(row.shape[-1], dtype=np.uint64) * 0x9E3779B1 + 0x85EBCA77) % (1 << 32) | 1,
                       jnp.uint32)
    h = jnp.uint32(0x811C9DC5)
    for r in range(row.shape[-1]):
        h = (h ^ (row[r].astype(jnp.uint32) * mult[r])) * jnp.uint32(0x01000193)
        h = h ^ (h >> 15)
    return h


def hash_insert(hs: HashSet, ops: jax.Array, valid: jax.Array) -> tuple[HashSet, jax.Array]:
    """Insert the valid rows of ``ops [n, R]``; returns the set and bool ``[n]``: which were new (a
    repeat, within the batch or of an earlier one, is not; one that found the set full is not either,
    and sets ``overflow``).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive
      >>> hs = archive.hash_set(4, 3)
      >>> hs, new = archive.hash_insert(hs, jnp.array([[1, 2, 3], [1, 2, 3], [0, 0, 7]]), jnp.ones(3, bool))
      >>> new.tolist(), int(hs.count)
      ([True, False, True], 2)
    """
    size = hs.rows.shape[0]
    ops = jnp.asarray(ops, jnp.int32)

    def one(carry, item):
        rows, count, overflow = carry
        row, ok = item
        start = (_hash(row) & jnp.uint32(size - 1)).astype(jnp.int32)

        def probing(c):
            slot, steps = c
            here = rows[slot]
            return (steps < size) & (here[0] >= 0) & ~jnp.all(here == row)

        slot, steps = jax.lax.while_loop(probing, lambda c: ((c[0] + 1) & (size - 1), c[1] + 1), (start, 0))
        found = (steps < size) & jnp.all(rows[slot] == row)
        full = steps >= size
        new = ok & ~found & ~full
        rows = jnp.where(new, rows.at[slot].set(row), rows)
        return (rows, count + new.astype(jnp.int32), overflow | (ok & full)), new

    (rows, count, overflow), new = jax.lax.scan(one, (hs.rows, hs.count, hs.overflow), (ops, valid))
    return HashSet(rows, count, overflow), new


class Archive(NamedTuple):
    """Attributes:
      seen: the bit set of query ids evaluated (uint32 ``[ceil(size / 32)]``), or for a large space
        a :class:`HashSet` of the architectures.
      queries: int32, distinct valid architectures evaluated (-1: more than a hash set's capacity).
      best_ops: int32 ``[R]``, the best architecture evaluated.
      best_fitness: float32, its fitness (-inf before any finite value).
    """

    seen: jax.Array | HashSet
    queries: jax.Array
    best_ops: jax.Array
    best_fitness: jax.Array


def _bitset(space) -> bool:
    return space.size is not None and space.size <= MAX_BITSET


def init(space, capacity: int = CAPACITY) -> Archive:
    """An empty archive for ``space``; ``capacity``: distinct architectures a large space's hash set
    holds (unused where a bit set serves)."""
    seen = queries_lib.empty(space.size) if _bitset(space) else hash_set(capacity, space.num_slots)
    return Archive(seen, jnp.int32(0), jnp.zeros(space.num_slots, jnp.int32), jnp.float32(-jnp.inf))


def update(archive: Archive, ops: jax.Array, values: jax.Array, space) -> Archive:
    """Add the evaluated ``ops [n, R]`` with fitness ``values [n]`` (NaN or -inf: failed)."""
    ops = jnp.asarray(ops, jnp.int32).reshape(-1, space.num_slots)
    values = jnp.asarray(values, jnp.float32).reshape(-1)
    valid = space.is_valid(ops)
    fin = jnp.where(valid & jnp.isfinite(values), values, -jnp.inf)
    i = jnp.argmax(fin)
    better = fin[i] > archive.best_fitness
    best_ops = jnp.where(better, ops[i], archive.best_ops)
    best = jnp.where(better, fin[i], archive.best_fitness)
    if _bitset(space):
        ids = jnp.where(valid, queries_lib.query_ids(space, ops), 0)
        seen, new = queries_lib.mark(archive.seen, ids, valid)
        queries = archive.queries + new.astype(jnp.int32)
    else:
        seen, new = hash_insert(archive.seen, ops, valid)
        queries = jnp.where(seen.overflow, -1, seen.count)
    return Archive(seen, queries, best_ops, best)
