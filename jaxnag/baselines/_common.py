"""What every baseline search returns, and the failed-evaluation rule."""

from __future__ import annotations

from typing import NamedTuple

import jax


class SearchResult(NamedTuple):
    """Outcome of one budgeted search (a pytree; batched under ``vmap``).

    Attributes:
      best_ops: int32 ``[R]``, the best architecture found.
      best_fitness: float32 scalar, its fitness.
      queries: int32 scalar, unique architectures evaluated.
      best_by_query: float32 ``[budget]``, best fitness after the q-th unique query
        (-inf before any success, carried forward after the search stops).
    """

    best_ops: jax.Array
    best_fitness: jax.Array
    queries: jax.Array
    best_by_query: jax.Array

