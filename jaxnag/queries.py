"""Unique-query accounting: how many distinct architectures a search has evaluated.

``seen`` is a bool array over the ranks of a finite space. Counting the new ones in
a batch compares the batch's ranks with each other (pairwise for small batches, by a
sort for large ones), so the cost does not grow with the size of the space.

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

from .shaping import PAIRWISE_MAX


def mark(seen: jax.Array, ranks: jax.Array, valid: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mark ``ranks [n]`` (where ``valid``) as seen; return ``(seen, number newly seen)``.

    Duplicates inside the batch count once.
    """
    n = ranks.shape[0]
    if n <= PAIRWISE_MAX:
        # A rank is new at its first valid slot if no earlier slot holds it validly; an
        # n x n comparison is cheaper than a sort for small batches (no sort on CPU).
        idx = jnp.arange(n)
        earlier = (ranks[None, :] == ranks[:, None]) & valid[None, :] & (idx[None, :] < idx[:, None])
        new = valid & ~jnp.any(earlier, axis=1) & ~seen[ranks]
    else:
        order = jnp.argsort(ranks)
        r = ranks[order]
        v = valid[order]
        first = jnp.concatenate([jnp.ones(1, bool), r[1:] != r[:-1]])
        # A rank counts if it is valid somewhere in its run of duplicates.
        valid_run = jax.ops.segment_max(v.astype(jnp.int32), jnp.cumsum(first) - 1, num_segments=n)
        new = first & (valid_run[jnp.cumsum(first) - 1] > 0) & ~seen[r]
    return seen.at[ranks].max(valid), jnp.sum(new).astype(jnp.int32)
