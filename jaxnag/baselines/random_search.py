"""Random search with a budget of unique architectures.

Example:
  >>> import jax
  >>> from jaxnag import spaces, tables
  >>> from jaxnag.baselines import random_search
  >>> space = spaces.get("nasbench_graph")
  >>> t = tables.load("nasbench_graph", "cora")
  >>> r = jax.jit(lambda k: random_search(k, t, space, budget=100))(jax.random.key(0))
  >>> int(r.queries)
  100
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from ..errors import check_int
from ..spaces import SearchSpace
from ..shaping import failed_as
from ._common import SearchResult


def random_search(key: jax.Array, fitness: Callable[[jax.Array], jax.Array], space: SearchSpace,
                  budget: int) -> SearchResult:
    """Evaluate ``budget`` distinct valid architectures drawn uniformly; keep the best.

    Args:
      key: PRNG key.
      fitness: ``ops [..., R] -> [...]``, higher is better; NaN marks a failure.
      space: the search space.
      budget: number of unique architectures to query (static).
    """
    check_int("budget", budget, lo=1, hi=len(space.distinct_ranks()))
    ops = space.sample_unique(key, budget)
    f = failed_as(fitness(ops))
    best_by_query = jax.lax.cummax(f)
    i = jnp.argmax(f)
    return SearchResult(ops[i], f[i], jnp.int32(budget), best_by_query)
