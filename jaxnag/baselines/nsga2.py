"""NSGA-II (Deb et al. 2002) in JAX, on any search space, with a budget of unique queries.

A generational elitist algorithm: ``population`` parents; each generation, binary tournaments on
(non-dominated rank, crowding distance) pick parents, uniform crossover and per-slot mutation
(a slot set to another choice) make as many children, and the best ``population`` of parents and
children by rank, then crowding, survive. Its fitness may be a vector ``[n, M]`` (maximised; a
cost negated, as :func:`jaxnag.tables.objectives` gives it) or a scalar (then it is an elitist
genetic algorithm). A child already evaluated in the run is mutated again (three tries) before it
is proposed; one still repeated is answered from the run's archive and costs no query.

Examples:
  >>> import jax
  >>> from jaxnag import spaces, tables
  >>> from jaxnag.baselines import nsga2
  >>> space, obj = spaces.get("nasbench_graph"), tables.objectives("nasbench_graph", "cora", "test,latency")
  >>> cfg = nsga2.Config(budget=60, population=12, num_objectives=2)
  >>> res = jax.jit(lambda k: nsga2.generate(k, obj, space, cfg))(jax.random.key(0))
  >>> int(res.queries)
  60
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import archive as archive_lib
from .. import ridge as ridge_lib
from ..errors import check_int, check_range
from ..pareto import crowding, ranks
from ..protocol import refuse_if_finished
from . import _vectors
from ._vectors import as_vectors

__all__ = ["Config", "State", "ask", "done", "generate", "init", "survivors", "tell"]


@dataclasses.dataclass(frozen=True)
class Config:
    """NSGA-II settings: ``budget``, ``population`` and ``num_objectives`` are static (shapes); the rates
    are traced (a grid sweeps them in one compiled call).

    Attributes:
      budget: unique architectures to query (the first ``min(population, budget)`` are random).
      population: parents, and children per generation.
      num_objectives: ``M``, the width of the fitness (1: a scalar fitness).
      crossover: probability that a child mixes two parents (uniform crossover) rather than copies one.
      mutation: probability that each slot of a child is set to another choice (default ``1 / R``).
      screen: children bred per child evaluated (static; 1: plain NSGA-II). Above 1, ``screen * P``
        children are bred and the ``P`` whose objectives, as a ridge regression on one-hot features
        (one model per objective, refitted on every evaluation so far) predicts them, rank best among
        the parents (non-dominated rank, then crowding) are evaluated: surrogate-assisted pre-selection.
      ridge: the L2 penalty of those models.

    Examples:
      >>> import jax
      >>> from jaxnag.baselines import nsga2
      >>> cfg = nsga2.Config(budget=30, population=50)
      >>> jax.tree_util.tree_leaves(cfg), cfg.initial  # the traced rates (mutation None: 1 / R), initial
      ([0.9, 0.01], 30)
      >>> try:
      ...     nsga2.Config(crossover=1.5)
      ... except ValueError as e:  # errors.ConfigError
      ...     print(e)
      crossover must be in [0, 1], got 1.5
    """

    budget: int = 300
    population: int = 50
    num_objectives: int = 2
    crossover: float = 0.9
    mutation: float | None = None
    screen: int = 1
    ridge: float = 1e-2

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)

    def __post_init__(self):
        check_int("budget", self.budget, lo=1)
        check_int("population", self.population, lo=2)
        check_int("num_objectives", self.num_objectives, lo=1)
        check_range("crossover", self.crossover, lo=0.0, hi=1.0)
        if self.mutation is not None:
            check_range("mutation", self.mutation, lo=0.0, hi=1.0)
        check_int("screen", self.screen, lo=1, hi=1000)
        check_range("ridge", self.ridge, lo=0.0, lo_open=True)

    @property
    def initial(self) -> int:
        return min(self.population, self.budget)


jax.tree_util.register_dataclass(Config, data_fields=["crossover", "mutation", "ridge"],
                                 meta_fields=["budget", "population", "num_objectives", "screen"])


@archive_lib.reads_archive
class State(NamedTuple):
    """NSGA-II's state (a pytree).

    Attributes:
      pop, pop_values: the parents ``[P, R]`` and their objectives ``[P, M]`` (NaN: failed or empty).
      pop_rank, pop_crowding: their non-dominated rank and crowding distance from the last survival (what
        the tournaments compare).
      children: ``[P, R]``, what the last ask proposed.
      to_evaluate: bool ``[P]``, which of them are new queries within the budget.
      archive: the run's query archive (objective vectors kept: repeats are answered from it; the best
        on the first objective after each of the ``budget`` queries).
      generation: generations told (0: the random initial population is next).
      initial: ``[P, R]``, the random initial population.
      stats: the ridge statistics of every evaluation (:mod:`jaxnag.ridge`; read where ``screen > 1``).

    Examples:
      >>> import jax
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import nsga2
      >>> space, cfg = spaces.get("nb201"), nsga2.Config(budget=20, population=6, num_objectives=2)
      >>> s = jax.eval_shape(lambda k: nsga2.init(k, space, cfg), jax.random.key(0))
      >>> s.pop.shape, s.pop_values.shape, s.to_evaluate.shape, s.initial.shape
      ((6, 6), (6, 2), (6,), (6, 6))
    """

    pop: jax.Array
    pop_values: jax.Array
    pop_rank: jax.Array
    pop_crowding: jax.Array
    children: jax.Array
    to_evaluate: jax.Array
    archive: archive_lib.Archive
    generation: jax.Array
    initial: jax.Array
    stats: ridge_lib.Stats


def survivors(values: jax.Array, keep: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(indices, rank, crowding)`` of the ``keep`` best rows of ``values [n, M]`` by rank, then crowding
    distance (ties by index): NSGA-II's environmental selection (fronts sorted only as far as needed).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.baselines import nsga2
      >>> values = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.4, 0.4], [0.0, 0.0]])  # the last is dominated
      >>> keep, rank, crowd = jax.jit(nsga2.survivors, static_argnums=1)(values, 3)
      >>> keep.tolist(), rank.tolist(), crowd.tolist()  # the front, its extremes first (infinite crowding)
      ([0, 1, 2], [0, 0, 0], [inf, inf, 1.0])
    """
    r = ranks(values, limit=keep)
    c = crowding(values, r)
    order = jnp.lexsort((jnp.arange(r.shape[0]), -c, r))[:keep]
    return order, r[order], c[order]


def init(key: jax.Array, space, config: Config) -> State:
    """Draw the random initial population (its first ``min(P, budget)`` rows distinct).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import nsga2
      >>> space, cfg = spaces.get("nb201"), nsga2.Config(budget=8, population=4, num_objectives=2)
      >>> state = jax.eval_shape(lambda k: nsga2.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> state.pop.shape, state.pop_values.shape, state.archive.values.shape  # P = 4 parents, M = 2 objectives
      ((4, 6), (4, 2), (15625, 2))
    """
    space.check_budget(config.budget)
    p, m = config.population, config.num_objectives
    first = space.sample_unique(key, config.initial)
    initial = jnp.concatenate([first, jnp.broadcast_to(first[:1], (p - config.initial, space.num_slots))])
    return State(initial, jnp.full((p, m), jnp.nan, jnp.float32), jnp.zeros(p, jnp.int32), jnp.zeros(p, jnp.float32),
                 initial, jnp.zeros(p, bool),
                 archive_lib.init(space, config.budget, keep_values=m, trace=config.budget), jnp.int32(0), initial,
                 ridge_lib.empty(space, m))


def _mutate(key, ops, rate, space):
    counts = jnp.broadcast_to(jnp.asarray(space.choice_counts, jnp.int32), ops.shape)
    k1, k2 = jax.random.split(key)
    hit = jax.random.uniform(k1, ops.shape) < rate
    shift = 1 + jnp.floor(jax.random.uniform(k2, ops.shape) * (counts - 1).astype(jnp.float32)).astype(jnp.int32)
    return jnp.where(hit & (counts > 1), (ops + shift) % counts, ops)


def _children(key, state: State, space, config: Config, n: int) -> jax.Array:
    """``n`` children ``[n, R]``: tournaments, crossover, mutation, repeats bred again."""
    p, r = config.population, space.num_slots
    k_t, k_c, k_x, k_m, k_v, k_r = jax.random.split(key, 6)
    rank, crowd = state.pop_rank, state.pop_crowding
    pairs = jax.random.randint(k_t, (2, n, 2), 0, p)  # two binary tournaments per child
    a, b = pairs[..., 0], pairs[..., 1]
    a_wins = (rank[a] < rank[b]) | ((rank[a] == rank[b]) & (crowd[a] >= crowd[b]))
    parents = jnp.where(a_wins, a, b)  # [2, P]
    mix = (jax.random.uniform(k_c, (n, 1)) < config.crossover) & (jax.random.uniform(k_x, (n, r)) < 0.5)
    child = jnp.where(mix, state.pop[parents[1]], state.pop[parents[0]])
    rate = jnp.asarray(1.0 / r if config.mutation is None else config.mutation, jnp.float32)
    child = _mutate(k_m, child, rate, space)
    child = jnp.where(space.is_valid(child)[:, None], child, space.random(k_v, (n,)))
    for i in range(3):  # a child evaluated before (or twice in the batch) is mutated again
        seen = ~archive_lib.fresh(state.archive, child, space)
        again = _mutate(jax.random.fold_in(k_r, i), child, jnp.maximum(rate, 1.0 / r), space)
        again = jnp.where(space.is_valid(again)[:, None], again, child)
        child = jnp.where(seen[:, None], again, child)
    # still a repeat: a one-slot neighbour of a non-dominated parent instead (a local search on the front)
    best = jnp.where(rank == jnp.min(rank), 1.0, 0.0)
    for i in range(3):
        seen = ~archive_lib.fresh(state.archive, child, space)
        k_p, k_n = jax.random.split(jax.random.fold_in(k_r, 10 + i))
        who = jax.random.choice(k_p, p, (n,), p=best / jnp.sum(best))
        nbrs, ok = space.neighbours(state.pop[who])  # [n, N, R]
        pick = jax.random.categorical(k_n, jnp.where(ok, 0.0, -jnp.inf), axis=-1)
        near = jnp.take_along_axis(nbrs, pick[:, None, None], axis=1)[:, 0]
        child = jnp.where(seen[:, None], near, child)
    return child


def _offspring(key, state: State, space, config: Config) -> jax.Array:
    """The ``P`` children to evaluate: bred directly, or (``screen > 1``) the best predicted of ``screen * P``."""
    p = config.population
    if config.screen == 1:
        return _children(key, state, space, config, p)
    pool = _children(key, state, space, config, p * config.screen)
    fresh = archive_lib.fresh(state.archive, pool, space)
    guess = ridge_lib.predictor(state.stats, space, config.ridge)(pool)
    guess = jnp.where(fresh[:, None], guess, jnp.nan)  # a repeat or a copy in the pool: last
    union = jnp.concatenate([state.pop_values, guess])
    r = ranks(union)
    c = crowding(union, r)
    r, c = r[p:], c[p:]
    order = jnp.lexsort((jnp.arange(r.shape[0]), -c, r))[:p]
    return pool[order]


def ask(key: jax.Array, state: State, space, config: Config) -> tuple[jax.Array, State]:
    """``population`` children ``[P, R]`` (the random initial population in the first round).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import nsga2
      >>> space, cfg = spaces.get("nb201"), nsga2.Config(budget=8, population=4, num_objectives=2)
      >>> state = jax.eval_shape(lambda k: nsga2.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> ops, _ = jax.eval_shape(lambda k, s: nsga2.ask(k, s, space, cfg), jax.random.key(1), state)
      >>> ops.shape, str(ops.dtype)  # P children a generation
      ((4, 6), 'int32')
    """
    refuse_if_finished(done, state, config, "this NSGA-II run")
    child = jnp.where(state.generation == 0, state.initial, _offspring(key, state, space, config))
    return child, state._replace(children=child, to_evaluate=archive_lib.admit(state.archive, child, space,
                                                                                config.budget))


def tell(state: State, values: jax.Array, space, config: Config) -> State:
    """The children's objectives ``values [P, M]`` (or ``[P]`` for one objective; NaN: failed). Rows not
    ``to_evaluate`` are answered from the archive (a repeat) or failed (beyond the budget).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import nsga2
      >>> space, cfg = spaces.get("nb201"), nsga2.Config(budget=8, population=4, num_objectives=2)
      >>> state = jax.eval_shape(lambda k: nsga2.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> told = jax.eval_shape(lambda s, v: nsga2.tell(s, v, space, cfg), state, jnp.zeros((4, 2)))
      >>> jax.tree.structure(told) == jax.tree.structure(state)  # the same state type (a loop's carry)
      True
      >>> nsga2.tell(state, jnp.zeros(4), space, cfg)  # one value per child, but M = 2 objectives
      Traceback (most recent call last):
      ...
      jaxnag.errors.ConfigError: NSGA-II tell takes one value per objective of each proposal: shape (4, 2), got (4,)
    """
    p = config.population
    values = as_vectors(values, p, config.num_objectives, "NSGA-II")
    answered = jnp.where(state.to_evaluate[:, None], values, archive_lib.lookup(state.archive, state.children, space))
    held, _ = archive_lib.insert(state.archive, state.children, values, space, admit=state.to_evaluate)
    stats = ridge_lib.update(state.stats, state.children, values, space, mask=state.to_evaluate) \
        if config.screen > 1 else state.stats
    pool = jnp.concatenate([state.pop, state.children])
    pool_v = jnp.concatenate([state.pop_values, answered])
    # (in the first round the parents are placeholders without values: the initial population survives)
    keep, rank, crowd = survivors(pool_v, p)
    return state._replace(pop=pool[keep], pop_values=pool_v[keep], pop_rank=rank, pop_crowding=crowd, archive=held,
                          to_evaluate=jnp.zeros(p, bool), generation=state.generation + 1, stats=stats)


def done(state: State, config: Config) -> jax.Array:
    """Whether ``budget`` unique queries were made (or ``100 * budget`` generations ran without).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import nsga2
      >>> space, cfg = spaces.get("nb201"), nsga2.Config(budget=8, population=4, num_objectives=2)
      >>> state = jax.eval_shape(lambda k: nsga2.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> def counted(queries, generation):  # done reads these (set by hand here on the state's shapes)
      ...     return state._replace(archive=state.archive._replace(queries=jnp.int32(queries)),
      ...                           generation=jnp.int32(generation))
      >>> [bool(nsga2.done(counted(q, g), cfg)) for q, g in ((4, 1), (8, 2), (4, 800))]
      [False, True, True]
    """
    return (state.queries >= config.budget) | (state.generation >= 100 * config.budget)


def generate(key: jax.Array, fitness, space, config: Config = Config()):
    """NSGA-II until ``budget`` unique queries (one ``while_loop``); the trace is per unique query, of the
    first objective's best (under :func:`jaxnag.pareto.with_objectives`, of the front's hypervolume).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import nsga2
      >>> space, cfg = spaces.get("nb201"), nsga2.Config(budget=8, population=4, num_objectives=2)
      >>> def fitness(ops):  # any jittable ops [n, R] -> [n, M] (maximised)
      ...     return jnp.stack([jnp.sum(ops, axis=-1), -jnp.max(ops, axis=-1)], axis=-1).astype(jnp.float32)
      >>> res = jax.eval_shape(lambda k: nsga2.generate(k, fitness, space, cfg), jax.random.key(0))
      >>> res.best_ops.shape, res.best_trace.shape, sorted(res.extras)  # one trace entry per query
      ((6,), (8,), ['generations'])
    """
    return _vectors.generate(key, fitness, space, config, init, ask, tell, done, lambda s: s.generation,
                             generations=lambda s: s.generation)
