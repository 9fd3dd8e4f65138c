"""A run's query archive: the distinct architectures evaluated and the best so far, for any generator.

:func:`jaxnag.protocol.generator` keeps one for a user's generator, so its state needs no
bookkeeping of its own. ``queries`` counts distinct valid architectures evaluated (a repeat
or an invalid proposal is not a query); a space too large for a bit set (over 2^24
architectures) counts -1 (unknown), as :class:`~jaxnag.protocol.Result` documents.

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

from . import queries as queries_lib

__all__ = ["Archive", "init", "update"]

MAX_BITSET = 1 << 24  # spaces up to this size keep a bit set of the ids seen (2 MiB)


class Archive(NamedTuple):
    """Attributes:
      seen: the bit set of query ids evaluated (uint32 ``[ceil(size / 32)]``; one word for a
        space too large to count).
      queries: int32, distinct valid architectures evaluated (-1: not counted, a large space).
      best_ops: int32 ``[R]``, the best architecture evaluated.
      best_fitness: float32, its fitness (-inf before any finite value).
    """

    seen: jax.Array
    queries: jax.Array
    best_ops: jax.Array
    best_fitness: jax.Array


def _counts(space) -> bool:
    return space.size is not None and space.size <= MAX_BITSET


def init(space) -> Archive:
    """An empty archive for ``space``."""
    counts = _counts(space)
    return Archive(queries_lib.empty(space.size if counts else 1), jnp.int32(0 if counts else -1),
                   jnp.zeros(space.num_slots, jnp.int32), jnp.float32(-jnp.inf))


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
    if not _counts(space):
        return archive._replace(best_ops=best_ops, best_fitness=best)
    ids = jnp.where(valid, queries_lib.query_ids(space, ops), 0)
    seen, new = queries_lib.mark(archive.seen, ids, valid)
    return Archive(seen, archive.queries + new.astype(jnp.int32), best_ops, best)
