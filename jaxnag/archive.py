"""A run's query archive: the distinct architectures evaluated and the best so far, for any generator.

:func:`jaxnag.protocol.generator` keeps one for a user's generator, so its state needs no
bookkeeping of its own. ``queries`` counts distinct valid architectures evaluated (a repeat
or an invalid proposal is not a query), exactly, in every space:

- a space of up to 2^24 architectures keeps a bit set of their ranks (2 MiB at most);
- a larger one (10^12, DARTS' 10^18) keeps a fixed-capacity hash set of the architectures
  themselves (:class:`HashSet`, open addressing, whole rows compared, so never a false repeat).
  ``capacity`` is a setting; a run that evaluates more distinct architectures than it holds sets
  ``overflow`` and its ``queries`` becomes -1 (unknown): never a silent miscount.

Examples:
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
from .shaping import PAIRWISE_MAX

__all__ = ["Archive", "HashSet", "admit", "best_trace", "contains", "first_in_batch", "fits", "fresh", "hash_insert",
           "hash_set", "init", "insert", "lookup", "queries_trace", "reads_archive", "update"]

MAX_BITSET = 1 << 24  # spaces up to this size keep a bit set of the ids seen (2 MiB)
CAPACITY = 1 << 16  # distinct architectures a hash set holds by default (a large space's archive)


class HashSet(NamedTuple):
    """A fixed-capacity set of architectures (jittable, vmappable).

    Attributes:
      rows: int32 ``[capacity, R]``, the architectures held (-1 in empty slots).
      count: int32, how many are held.
      overflow: bool, whether an insertion found the set full (``count`` is then a lower bound).

    Examples:
      >>> from jaxnag import archive
      >>> hs = archive.hash_set(4, 2)  # an empty one: 4 slots for rows of 2
      >>> hs._fields, hs.rows.shape, hs.rows.dtype, int(hs.count), bool(hs.overflow)
      (('rows', 'count', 'overflow'), (4, 2), dtype('int32'), 0, False)
    """

    rows: jax.Array
    count: jax.Array
    overflow: jax.Array


def hash_set(capacity: int, num_slots: int) -> HashSet:
    """An empty set for ``capacity`` architectures of ``num_slots`` slots (rounded up to a power of 2).

    Examples:
      >>> from jaxnag import archive
      >>> hs = archive.hash_set(5, 3)
      >>> hs.rows.shape, int(hs.count), bool(hs.overflow), int(hs.rows.min())
      ((8, 3), 0, False, -1)
    """
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


def _probe(rows: jax.Array, row: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(slot, found, full)`` for one architecture: the slot holding it (``found``) or the empty slot
    where it would go; ``full``: the set is full and does not hold it."""
    size = rows.shape[0]
    start = (_hash(row) & jnp.uint32(size - 1)).astype(jnp.int32)

    def probing(c):
        slot, steps = c
        here = rows[slot]
        return (steps < size) & (here[0] >= 0) & ~jnp.all(here == row)

    slot, steps = jax.lax.while_loop(probing, lambda c: ((c[0] + 1) & (size - 1), c[1] + 1), (start, 0))
    full = steps >= size
    return slot, ~full & jnp.all(rows[slot] == row), full


def _hash_insert(hs: HashSet, ops: jax.Array, valid: jax.Array):
    """:func:`hash_insert`, the slot of each row, and where that slot holds it (the row is new, or was
    there already: not for an invalid row, nor one that found the set full)."""
    ops = jnp.asarray(ops, jnp.int32)

    def one(carry, item):
        rows, count, overflow = carry
        row, ok = item
        slot, found, full = _probe(rows, row)
        new = ok & ~found & ~full
        rows = jnp.where(new, rows.at[slot].set(row), rows)
        return (rows, count + new.astype(jnp.int32), overflow | (ok & full)), (new, slot, new | (ok & found))

    (rows, count, overflow), (new, slots, held) = jax.lax.scan(one, (hs.rows, hs.count, hs.overflow),
                                                               (ops, valid))
    return HashSet(rows, count, overflow), new, slots, held


def hash_insert(hs: HashSet, ops: jax.Array, valid: jax.Array) -> tuple[HashSet, jax.Array]:
    """Insert the valid rows of ``ops [n, R]``; returns the set and bool ``[n]``: which were new (a
    repeat, within the batch or of an earlier one, is not; one that found the set full is not either,
    and sets ``overflow``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive
      >>> hs = archive.hash_set(4, 3)
      >>> hs, new = archive.hash_insert(hs, jnp.array([[1, 2, 3], [1, 2, 3], [0, 0, 7]]), jnp.ones(3, bool))
      >>> new.tolist(), int(hs.count)
      ([True, False, True], 2)
    """
    hs, new, _, _ = _hash_insert(hs, ops, valid)
    return hs, new


class Archive(NamedTuple):
    """Attributes:
      seen: the bit set of query ids evaluated (uint32 ``[ceil(size / 32)]``), or for a large space
        a :class:`HashSet` of the architectures.
      queries: int32, distinct valid architectures evaluated (-1: more than a hash set's capacity).
      best_ops: int32 ``[R]``, the best architecture evaluated.
      best_fitness: float32, its fitness (-inf before any finite value).
      values: float32, the value of each architecture held (``[size]`` or ``[size, M]`` by query id, or aligned with the
        hash set's rows; NaN where none or where every evaluation failed), or None where not kept
        (``init(..., keep_values=False)``).
      trace: float32 ``[L]``, the best fitness after ``q + 1`` distinct queries (-inf where not reached;
        take ``jax.lax.cummax``), or None where not kept (``init(..., trace=0)``).

    Examples:
      >>> from jaxnag import archive, spaces
      >>> a = archive.init(spaces.get("nb201"))  # an empty one: a bit set, no values, no trace
      >>> a._fields
      ('seen', 'queries', 'best_ops', 'best_fitness', 'values', 'trace')
      >>> a.seen.dtype, a.best_ops.shape, int(a.queries), a.values is None, a.trace is None
      (dtype('uint32'), (6,), 0, True, True)
    """

    seen: jax.Array | HashSet
    queries: jax.Array
    best_ops: jax.Array
    best_fitness: jax.Array
    values: jax.Array | None = None
    trace: jax.Array | None = None


def reads_archive(cls):
    """Class decorator for a state with an ``archive`` field: ``best_ops``, ``best_fitness`` and
    ``queries`` become properties read from it (every generator's state carries them).

    Examples:
      >>> from typing import NamedTuple
      >>> from jaxnag import archive, spaces
      >>> @archive.reads_archive
      ... class State(NamedTuple):
      ...     archive: archive.Archive
      >>> int(State(archive.init(spaces.get("nb201"))).queries)
      0
    """
    for name in ("best_ops", "best_fitness", "queries"):
        setattr(cls, name, property(lambda self, n=name: getattr(self.archive, n),
                                    doc=f"``archive.{name}``"))
    return cls


def fits(space) -> bool:
    """Whether ``space`` is small enough for a bit set of its query ids (else a hash set serves).

    Examples:
      >>> from jaxnag import archive, spaces
      >>> archive.fits(spaces.get("nb201")), archive.fits(spaces.get("darts"))
      (True, False)
    """
    return space.size is not None and space.size <= MAX_BITSET


def init(space, capacity: int = CAPACITY, *, keep_values: bool | int = False, trace: int = 0) -> Archive:
    """An empty archive for ``space``.

    Args:
      capacity: distinct architectures a large space's hash set holds (unused where a bit set serves).
      keep_values: keep each architecture's value (:func:`lookup` answers repeats from it); an int ``M``
        keeps a vector of ``M`` objectives per architecture (values then ``[n, M]``; the best is read
        from the first objective, and a row counts as failed where any objective is not finite).
      trace: keep the best after each of the first ``trace`` distinct queries (``Archive.trace``).

    Examples:
      >>> from jaxnag import archive, spaces
      >>> a = archive.init(spaces.get("nb201"), keep_values=True, trace=4)  # 15625 architectures: a bit set
      >>> a.seen.shape, int(a.queries), float(a.best_fitness), a.values.shape, a.trace.shape
      ((489,), 0, -inf, (15625,), (4,))
      >>> archive.init(spaces.get("darts"), capacity=8).seen.rows.shape  # a hash set of 8 rows of 28 slots
      (8, 28)
    """
    if fits(space):
        seen, slots = queries_lib.empty(space.size), space.size
    else:
        seen = hash_set(capacity, space.num_slots)
        slots = seen.rows.shape[0]
    check_int("trace", trace, lo=0)
    return Archive(seen, jnp.int32(0), jnp.zeros(space.num_slots, jnp.int32), jnp.float32(-jnp.inf),
                   _value_store(slots, keep_values),
                   jnp.full(trace, -jnp.inf, jnp.float32) if trace else None)


def _value_store(slots: int, keep_values):
    if keep_values is False or keep_values is None:
        return None
    if keep_values is True:
        return jnp.full(slots, jnp.nan, jnp.float32)
    return jnp.full((slots, check_int("keep_values", keep_values, lo=1)), jnp.nan, jnp.float32)


def _as_rows(ops, space) -> jax.Array:
    return jnp.asarray(ops, jnp.int32).reshape(-1, space.num_slots)


def first_in_batch(ops: jax.Array, valid: jax.Array, space) -> jax.Array:
    """bool ``[n]``: the ``valid`` rows of ``ops [n, R]`` with no valid copy earlier in the batch.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive, spaces
      >>> ops = jnp.array([[0, 1, 2, 3, 4, 0], [0, 1, 2, 3, 4, 0]])
      >>> s = spaces.get("nb201")
      >>> archive.first_in_batch(ops, jnp.array([True, True]), s).tolist()
      [True, False]
      >>> archive.first_in_batch(ops, jnp.array([False, True]), s).tolist()
      [False, True]
    """
    ops = _as_rows(ops, space)
    if fits(space):
        return queries_lib.first_occurrence(queries_lib.query_ids(space, ops), valid)
    n = ops.shape[0]
    if n <= PAIRWISE_MAX:
        idx = jnp.arange(n)
        same = jnp.all(ops[None, :, :] == ops[:, None, :], axis=-1)
        return valid & ~jnp.any(same & valid[None, :] & (idx[None, :] < idx[:, None]), axis=1)
    # sorted by the rows (slot 0 first), valid before invalid, then position: a run's head is its first valid row
    order = jnp.lexsort((~valid,) + tuple(ops[:, r] for r in reversed(range(ops.shape[1]))))
    r, v = ops[order], valid[order]
    head = jnp.concatenate([jnp.ones(1, bool), jnp.any(r[1:] != r[:-1], axis=-1)]) & v
    return jnp.zeros(n, bool).at[order].set(head)


def _locate(archive: Archive, ops: jax.Array, space) -> tuple[jax.Array, jax.Array]:
    """``(index, found)`` of each row: its position in ``values`` and whether the archive holds it."""
    valid = space.is_valid(ops)
    if fits(space):
        ids = jnp.where(valid, queries_lib.query_ids(space, ops), 0)
        return ids, valid & queries_lib.contains(archive.seen, ids)
    slot, found, _ = jax.vmap(lambda row: _probe(archive.seen.rows, row))(ops)
    return slot, valid & found


def contains(archive: Archive, ops: jax.Array, space) -> jax.Array:
    """bool ``[n]``: whether each row of ``ops [n, R]`` was evaluated (an invalid row never was).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive, spaces
      >>> s = spaces.get("nb201")
      >>> a = archive.update(archive.init(s), jnp.array([[0, 1, 2, 3, 4, 0], [0, 1, 2, 3, 4, 0]]),
      ...                    jnp.array([1.0, 1.0]), s)
      >>> archive.contains(a, jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]]), s).tolist()
      [True, False]
    """
    return _locate(archive, _as_rows(ops, space), space)[1]


def fresh(archive: Archive, ops: jax.Array, space, valid: jax.Array | None = None) -> jax.Array:
    """bool ``[n]``: the rows of ``ops [n, R]`` that would be new queries: valid, first in the batch, not
    evaluated before.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive, spaces
      >>> s = spaces.get("nb201")
      >>> a = archive.update(archive.init(s), jnp.array([[0, 1, 2, 3, 4, 0], [0, 1, 2, 3, 4, 0]]),
      ...                    jnp.array([1.0, 1.0]), s)
      >>> archive.fresh(a, jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]]), s).tolist()
      [False, True]
    """
    ops = _as_rows(ops, space)
    valid = space.is_valid(ops) if valid is None else valid
    return first_in_batch(ops, valid, space) & ~contains(archive, ops, space)


def admit(archive: Archive, ops: jax.Array, space, budget: int) -> jax.Array:
    """bool ``[n]``: the rows of ``ops [n, R]`` a budget of ``budget`` distinct queries lets evaluate: the
    :func:`fresh` ones, in row order, while the budget has room.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive, spaces
      >>> s = spaces.get("nb201")
      >>> a = archive.update(archive.init(s), jnp.array([[0, 1, 2, 3, 4, 0], [0, 1, 2, 3, 4, 0]]),
      ...                    jnp.array([1.0, 1.0]), s)  # one query made
      >>> ops = jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]])
      >>> archive.admit(a, ops, s, budget=2).tolist(), archive.admit(a, ops, s, budget=1).tolist()
      ([False, True], [False, False])
    """
    new = fresh(archive, ops, space)
    return new & (jnp.cumsum(new) <= budget - archive.queries)


def lookup(archive: Archive, ops: jax.Array, space) -> jax.Array:
    """float32 ``[n]`` (``[n, M]`` where the archive keeps vectors): the value each row of ``ops [n, R]`` was
    evaluated to (NaN where it was not); needs an archive made with ``keep_values``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive, spaces
      >>> s = spaces.get("nb201")
      >>> a = archive.update(archive.init(s, keep_values=True), jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]]),
      ...                    jnp.array([0.5, jnp.nan]), s)  # the second evaluation failed
      >>> archive.lookup(a, jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]]), s).tolist()
      [0.5, nan]
    """
    if archive.values is None:
        raise ValueError("this archive keeps no values: make it with archive.init(space, keep_values=True)")
    index, found = _locate(archive, _as_rows(ops, space), space)
    found = found.reshape(found.shape + (1,) * (archive.values.ndim - 1))
    return jnp.where(found, archive.values[index], jnp.nan)


def insert(archive: Archive, ops: jax.Array, values: jax.Array, space,
           admit: jax.Array | None = None) -> tuple[Archive, jax.Array]:
    """Add the evaluated rows of ``ops [n, R]`` with fitness ``values [n]`` (NaN or -inf: failed).

    ``admit`` (bool ``[n]``, default: the valid rows) says which rows count as evaluated; the best so far
    reads their finite values, and the new ones among them (not evaluated before, first in the batch)
    are the new queries. Returns ``(archive, new [n])``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive, spaces
      >>> s = spaces.get("nb201")
      >>> a, new = archive.insert(archive.init(s), jnp.array([[0, 1, 2, 3, 4, 0], [0, 1, 2, 3, 4, 0]]),
      ...                         jnp.array([jnp.nan, 1.0]), s)  # a failed evaluation, then a repeat
      >>> new.tolist(), int(a.queries), float(a.best_fitness)
      ([True, False], 1, 1.0)
    """
    ops = _as_rows(ops, space)
    values = jnp.asarray(values, jnp.float32)
    vector = archive.values is not None and archive.values.ndim == 2
    values = values.reshape(-1, archive.values.shape[1]) if vector else values.reshape(-1)
    if ops.shape[0] == 0:
        return archive, jnp.zeros(0, bool)
    valid = space.is_valid(ops)
    admit = valid if admit is None else admit & valid
    finite = jnp.all(jnp.isfinite(values), axis=-1) if vector else jnp.isfinite(values)
    fin = jnp.where(admit & finite, values[:, 0] if vector else values, -jnp.inf)
    i = jnp.argmax(fin)
    better = fin[i] > archive.best_fitness
    best_ops = jnp.where(better, ops[i], archive.best_ops)
    best = jnp.where(better, fin[i], archive.best_fitness)
    if fits(space):
        ids = jnp.where(admit, queries_lib.query_ids(space, ops), 0)
        seen, new = queries_lib.insert(archive.seen, ids, admit)
        queries = archive.queries + jnp.sum(new).astype(jnp.int32)
        index, held, size = ids, admit, space.size
    else:
        seen, new, index, held = _hash_insert(archive.seen, ops, admit)
        queries = jnp.where(seen.overflow, -1, seen.count)
        size = seen.rows.shape[0]
    vals = archive.values
    if vals is not None:  # each architecture's first finite value (NaN while every evaluation failed)
        # an entry not held before the batch is NaN too, so one test serves new rows and failed ones
        unset = jnp.any(jnp.isnan(vals[index]), axis=-1) if vector else jnp.isnan(vals[index])
        finite = first_in_batch(ops, admit & finite, space) & held & unset
        vals = vals.at[jnp.where(new, index, size)].set(values, mode="drop")
        vals = vals.at[jnp.where(finite, index, size)].set(values, mode="drop")
    trace = archive.trace
    if trace is not None:  # the best after each new query, in row order, written at its query number
        after = jnp.maximum(jax.lax.cummax(fin), archive.best_fitness)
        done = jnp.maximum(archive.queries, 0) if fits(space) else archive.seen.count
        position = jnp.where(new, done + jnp.cumsum(new) - 1, trace.shape[0])
        trace = trace.at[position].set(after, mode="drop")
    return Archive(seen, queries, best_ops, best, vals, trace), new


def update(archive: Archive, ops: jax.Array, values: jax.Array, space) -> Archive:
    """:func:`insert` every valid row of ``ops [n, R]`` (with ``values [n]``), returning the archive only.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive, spaces
      >>> s = spaces.get("nb201")
      >>> a = archive.update(archive.init(s), jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]]),
      ...                    jnp.array([2.0, 1.0]), s)
      >>> int(a.queries), float(a.best_fitness), a.best_ops.tolist()
      (2, 2.0, [0, 1, 2, 3, 4, 0])
    """
    return insert(archive, ops, values, space)[0]


def _kept_trace(archive: Archive) -> jax.Array:
    if archive.trace is None:
        raise ValueError("this archive keeps no trace: make it with archive.init(space, trace=L)")
    return archive.trace


def queries_trace(archive: Archive) -> jax.Array:
    """The query counts the kept per-query trace is read against: ``1..L``, capped at the queries made
    (a run that stopped early holds its final values past its last query): int32 ``[L]``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive, spaces
      >>> s = spaces.get("nb201")
      >>> a = archive.update(archive.init(s, trace=3), jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]]),
      ...                    jnp.array([1.0, 2.0]), s)
      >>> archive.queries_trace(a).tolist()  # 2 queries made
      [1, 2, 2]
    """
    length = _kept_trace(archive).shape[0]
    return jnp.minimum(jnp.arange(1, length + 1, dtype=jnp.int32), jnp.maximum(archive.queries, 0))


def best_trace(archive: Archive) -> jax.Array:
    """The kept per-query trace as a non-decreasing curve (``cummax``; -inf before the first value): float32
    ``[L]``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import archive, spaces
      >>> s = spaces.get("nb201")
      >>> a = archive.update(archive.init(s, trace=3), jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]]),
      ...                    jnp.array([2.0, 1.0]), s)
      >>> archive.best_trace(a).tolist()  # the best after 1, 2, 3 queries (2 made)
      [2.0, 2.0, 2.0]
    """
    return jax.lax.cummax(_kept_trace(archive))
