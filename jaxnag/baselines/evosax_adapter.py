"""evosax strategies (DiffusionEvolution, SimpleGA, CMA-ES) on a categorical space.

Each individual is a real vector of length ``R * C`` decoded by per-slot argmax
(the same continuous relaxation EDNAG uses). evosax minimises, so it is given the
negated fitness; failed evaluations are given a large value. Needs the optional
extra ``jaxnag[baselines]``.

Example:
  >>> import jax
  >>> from jaxnag import spaces, tables
  >>> from jaxnag.baselines.evosax_adapter import evosax_search
  >>> space, t = spaces.get("nasbench_graph"), tables.load("nasbench_graph", "cora")
  >>> r = jax.jit(lambda k: evosax_search(k, "SimpleGA", t, space, 16, 5))(jax.random.key(0))
  >>> r.best_trace.shape
  (5,)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import queries as seen_set
from ..shaping import failed_as
from ..spaces import SearchSpace

STRATEGIES = ("DiffusionEvolution", "SimpleGA", "CMA_ES")


class EvosaxResult(NamedTuple):
    best_ops: jax.Array
    best_fitness: jax.Array
    queries: jax.Array
    best_trace: jax.Array      # [generations] best so far after each generation
    queries_trace: jax.Array   # [generations] unique architectures so far


def make_strategy(name: str, population: int, dim: int, generations: int):
    try:
        from evosax import algorithms
    except ImportError as e:  # pragma: no cover
        raise ImportError("evosax baselines need: pip install 'jaxnag[baselines]'") from e
    solution = jnp.zeros(dim)
    if name == "DiffusionEvolution":
        return algorithms.DiffusionEvolution(population, solution, num_generations=generations)
    if name == "SimpleGA":
        return algorithms.SimpleGA(population, solution)
    if name == "CMA_ES":
        return algorithms.CMA_ES(population, solution)
    raise KeyError(f"unknown evosax strategy {name!r}; available: {', '.join(STRATEGIES)}")


def evosax_search(key: jax.Array, name: str, fitness: Callable, space: SearchSpace, population: int,
                  generations: int) -> EvosaxResult:
    """Run an evosax strategy for ``generations`` ask/tell rounds of ``population``."""
    r, c = space.shape
    strategy = make_strategy(name, population, r * c, generations)
    params = strategy.default_params
    k_init, k_pop, key = jax.random.split(key, 3)

    def evaluate(x):
        ops = space.from_one_hot(x.reshape(x.shape[0], r, c))
        f = jnp.where(space.is_valid(ops), failed_as(jnp.asarray(fitness(ops), jnp.float32)), -jnp.inf)
        return ops, f

    def track(carry, ops, f):
        seen, queries, best_ops, best_f = carry
        seen, new = seen_set.mark(seen, space.query_id(ops), space.is_valid(ops))
        queries = queries + new
        i = jnp.argmax(f)
        better = f[i] > best_f
        return seen, queries, jnp.where(better, ops[i], best_ops), jnp.where(better, f[i], best_f)

    carry = (seen_set.empty(space.size), jnp.int32(0), jnp.zeros(r, jnp.int32), jnp.float32(-jnp.inf))
    if name == "CMA_ES":
        state = strategy.init(k_init, jnp.zeros(r * c), params)
    else:
        x0 = jax.random.normal(k_pop, (population, r * c))
        ops0, f0 = evaluate(x0)
        carry = track(carry, ops0, f0)
        state = strategy.init(k_init, x0, jnp.where(jnp.isfinite(f0), -f0, 1e10), params)

    def body(loop, k):
        state, carry = loop
        k_ask, k_tell = jax.random.split(k)
        x, state = strategy.ask(k_ask, state, params)
        ops, f = evaluate(x)
        carry = track(carry, ops, f)
        state, _ = strategy.tell(k_tell, x, jnp.where(jnp.isfinite(f), -f, 1e10), state, params)
        return (state, carry), (carry[3], carry[1])

    (state, carry), (best_trace, q_trace) = jax.lax.scan(body, (state, carry), jax.random.split(key, generations))
    return EvosaxResult(carry[2], carry[3], carry[1], best_trace, q_trace)
