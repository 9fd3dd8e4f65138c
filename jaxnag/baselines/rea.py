"""Regularized evolution (REA; Real et al., AAAI 2019) with a budget of unique queries.

Aging evolution: a FIFO population of ``population`` architectures; each cycle
draws ``sample`` members uniformly, mutates the fittest one (one slot set to a
different choice), evaluates the child, appends it and removes the oldest
member. Re-evaluating an architecture seen before costs no query (tables are
deterministic); the loop stops after ``budget`` unique architectures.

Example:
  >>> import jax
  >>> from jaxnag import spaces, tables
  >>> from jaxnag.baselines import rea
  >>> space = spaces.get("nasbench_graph")
  >>> t = tables.load("nasbench_graph", "cora")
  >>> r = jax.jit(lambda k: rea(k, t, space, budget=200))(jax.random.key(0))
  >>> int(r.queries)
  200
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import queries as seen_set
from ..errors import check_int
from ..spaces import SearchSpace
from ..shaping import failed_as
from ._common import SearchResult


class _State(NamedTuple):
    key: jax.Array
    pop: jax.Array        # [P, R]
    pop_f: jax.Array      # [P]
    oldest: jax.Array     # index of the oldest member
    seen: jax.Array       # query ids evaluated, a jaxnag.queries bit set
    queries: jax.Array
    best_ops: jax.Array
    best_f: jax.Array
    best_by_query: jax.Array
    cycles: jax.Array


def mutate_one_slot(key: jax.Array, ops: jax.Array, space: SearchSpace) -> jax.Array:
    """Set one uniformly chosen slot of ``ops [R]`` to a different uniformly chosen choice."""
    k1, k2 = jax.random.split(key)
    counts = jnp.asarray(space.choice_counts)
    slot = jax.random.randint(k1, (), 0, space.num_slots)
    shift = 1 + jnp.floor(jax.random.uniform(k2) * (counts[slot] - 1)).astype(jnp.int32)
    return ops.at[slot].set((ops[slot] + shift) % counts[slot])


def rea(key: jax.Array, fitness: Callable[[jax.Array], jax.Array], space: SearchSpace, budget: int,
        population: int = 50, sample: int = 10, max_cycles: int | None = None) -> SearchResult:
    """Regularized evolution until ``budget`` unique architectures were queried.

    Args:
      key: PRNG key.
      fitness: ``ops [..., R] -> [...]``, higher is better; NaN marks a failure.
      space: the search space.
      budget: unique architectures to query (static); the first ``min(population,
        budget)`` are random.
      population, sample: REA's P and S (Real et al. use 100/25 on NB101; NB201
        practice is 50/10).
      max_cycles: safety bound on mutation cycles (default ``50 * budget``).
    """
    check_int("budget", budget, lo=1, hi=len(space.distinct_ranks()))
    check_int("population", population, lo=1)
    check_int("sample", sample, lo=1, hi=population)
    if max_cycles is not None:
        check_int("max_cycles", max_cycles, lo=1)
    p0 = min(population, budget)
    k0, key = jax.random.split(key)
    valid_ops = space.sample_unique(k0, p0)
    init_f = failed_as(fitness(valid_ops))
    i0 = jnp.argmax(init_f)
    pad = population - p0
    pop = jnp.concatenate([valid_ops, jnp.zeros((pad, space.num_slots), jnp.int32)])
    pop_f = jnp.concatenate([init_f, jnp.full((pad,), -jnp.inf)])
    seen, _ = seen_set.mark(seen_set.empty(space.size), space.query_id(valid_ops), jnp.ones(p0, bool))
    hist = jnp.full((budget,), -jnp.inf).at[:p0].set(jax.lax.cummax(init_f))
    state = _State(key, pop, pop_f, jnp.int32(0), seen, jnp.int32(p0), valid_ops[i0], init_f[i0],
                   hist, jnp.int32(0))
    limit = 50 * budget if max_cycles is None else max_cycles

    def cond(s: _State):
        return (s.queries < budget) & (s.cycles < limit)

    def body(s: _State) -> _State:
        key, k_s, k_m = jax.random.split(s.key, 3)
        idx = jax.random.choice(k_s, population, (sample,), replace=False)
        # With a padded population (budget < population) empty slots have -inf and lose.
        parent = s.pop[idx[jnp.argmax(s.pop_f[idx])]]
        child = mutate_one_slot(k_m, parent, space)
        ok = space.is_valid(child)
        f = failed_as(fitness(child))
        r = space.query_id(child)
        seen, n_new = seen_set.mark(s.seen, r[None], ok[None])
        new = n_new > 0
        queries = s.queries + n_new
        better = f > s.best_f
        best_f = jnp.where(better, f, s.best_f)
        best_ops = jnp.where(better, child, s.best_ops)
        hist = jnp.where(new, s.best_by_query.at[s.queries].set(best_f), s.best_by_query)
        # Age out the oldest member; invalid children are discarded.
        pop = jnp.where(ok, s.pop.at[s.oldest].set(child), s.pop)
        pop_f = jnp.where(ok, s.pop_f.at[s.oldest].set(f), s.pop_f)
        oldest = jnp.where(ok, (s.oldest + 1) % population, s.oldest)
        return _State(key, pop, pop_f, oldest, seen, queries, best_ops, best_f, hist, s.cycles + 1)

    s = jax.lax.while_loop(cond, body, state)
    # After an early stop (max_cycles) carry the best forward over the unused budget.
    return SearchResult(s.best_ops, s.best_f, s.queries, jax.lax.cummax(s.best_by_query))

