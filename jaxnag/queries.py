"""Unique-query accounting: how many distinct architectures a search has evaluated.

``seen`` is a bool array over the ranks of a finite space. Counting the new ones in
a batch sorts the batch's ranks (O(n log n)), so the cost does not grow with the
size of the space.

Example:
  >>> import jax.numpy as jnp
  >>> from jaxnag import queries
  >>> seen = jnp.zeros(10, bool)
  >>> seen, new = queries.mark(seen, jnp.array([3, 3, 5]), jnp.array([True, True, True]))
  >>> int(new)
  2
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def mark(seen: jax.Array, ranks: jax.Array, valid: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mark ``ranks [n]`` (where ``valid``) as seen; return ``(seen, number newly seen)``.

    Duplicates inside the batch count once.
    """
    order = jnp.argsort(ranks)
    r = ranks[order]
    v = valid[order]
    first = jnp.concatenate([jnp.ones(1, bool), r[1:] != r[:-1]])
    # A rank counts if it is valid somewhere in its run of duplicates; use its first valid slot.
    valid_run = jax.ops.segment_max(v.astype(jnp.int32), jnp.cumsum(first) - 1, num_segments=r.shape[0])
    new = first & (valid_run[jnp.cumsum(first) - 1] > 0) & ~seen[r]
    return seen.at[ranks].max(valid), jnp.sum(new).astype(jnp.int32)
