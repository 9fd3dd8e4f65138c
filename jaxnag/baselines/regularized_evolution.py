"""Regularized evolution (REA; Real et al., AAAI 2019) with a budget of unique queries.

Aging evolution: a FIFO population of ``population`` architectures; each cycle
draws ``sample`` members uniformly, mutates the fittest one (one slot set to a
different choice), evaluates the child, appends it and removes the oldest
member. Re-evaluating an architecture seen before costs no query (tables are
deterministic); the loop stops after ``budget`` unique architectures.

Examples:
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

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import archive as archive_lib
from ..errors import ConfigError, check_int, check_ints
from ..protocol import Result, refuse_if_finished, trace_result, unless_finished
from ..shaping import failed_as
from ..spaces import SearchSpace


__all__ = ["Config", "State", "ask", "done", "generate", "init", "mutate_one_slot", "rea", "tell"]


@dataclasses.dataclass(frozen=True)
class Config:
    """REA settings: ``budget``, ``population`` and ``max_cycles`` are static (shapes and loop bounds);
    ``sample`` is traced, so a grid sweeps it in one compiled call (:func:`jaxnag.parallel.run`).

    Attributes:
      budget: unique architectures to query; the first ``min(population, budget)`` are random.
      population, sample: REA's P and S (Real et al. use 100/25 on NB101; NB201 practice is 50/10).
      max_cycles: safety bound on mutation cycles (default ``50 * budget``).

    Examples:
      >>> import jax
      >>> from jaxnag.baselines import regularized_evolution
      >>> cfg = regularized_evolution.Config(budget=100, population=20, sample=5)
      >>> jax.tree_util.tree_leaves(cfg), cfg.initial, cfg.cycle_limit  # only ``sample`` is a (traced) leaf
      ([5], 20, 5000)
      >>> try:
      ...     regularized_evolution.Config(population=8, sample=10)
      ... except ValueError as e:  # errors.ConfigError
      ...     print(e)
      sample must be an integer in [1, 8], got 10
    """

    budget: int = 300
    population: int = 50
    sample: int = 10
    max_cycles: int | None = None

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)

    def __post_init__(self):
        check_int("budget", self.budget, lo=1)
        check_int("population", self.population, lo=1)
        check_ints("sample", self.sample, 1, self.population)  # where concrete (traced under a sweep)
        if self.max_cycles is not None:
            check_int("max_cycles", self.max_cycles, lo=1)

    @property
    def initial(self) -> int:
        return min(self.population, self.budget)

    @property
    def cycle_limit(self) -> int:
        return 50 * self.budget if self.max_cycles is None else self.max_cycles


jax.tree_util.register_dataclass(Config, data_fields=["sample"], meta_fields=["budget", "population", "max_cycles"])


@archive_lib.reads_archive
class State(NamedTuple):
    """REA's state (a pytree).

    Attributes:
      key: the loop key of :func:`generate` (unused by ask/tell, which take a key per round).
      pop, pop_f: the aging population ``[P, R]`` and its fitness (-inf for empty slots).
      oldest: index of the oldest member.
      archive: the run's query archive (:mod:`jaxnag.archive`, with the best after each of the
        ``budget`` distinct queries): ``best_ops``, ``best_fitness`` and ``queries`` are read from it.
      cycles: mutation cycles run.
      initial_ops: the ``min(P, budget)`` random architectures of the first rounds.
      filled: how many of them were told.
      child: ``[R]``, what the last ask proposed.

    Examples:
      >>> import jax
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import regularized_evolution
      >>> space, cfg = spaces.get("nb201"), regularized_evolution.Config(budget=20, population=8, sample=3)
      >>> s = jax.eval_shape(lambda k: regularized_evolution.init(k, space, cfg), jax.random.key(0))
      >>> s.pop.shape, s.pop_f.shape, s.initial_ops.shape, s.child.shape
      ((8, 6), (8,), (8, 6), (6,))
    """

    key: jax.Array
    pop: jax.Array
    pop_f: jax.Array
    oldest: jax.Array
    archive: archive_lib.Archive
    cycles: jax.Array
    initial_ops: jax.Array
    filled: jax.Array
    child: jax.Array


def mutate_one_slot(key: jax.Array, ops: jax.Array, space: SearchSpace) -> jax.Array:
    """Set one uniformly chosen slot of ``ops [R]`` to a different uniformly chosen choice.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import mutate_one_slot
      >>> ops = jnp.array([0, 1, 2, 3, 4, 0])
      >>> child = jax.jit(mutate_one_slot, static_argnums=2)(jax.random.key(0), ops, spaces.get("nb201"))
      >>> child.shape, int(jnp.sum(child != ops)), bool(jnp.all((child >= 0) & (child < 5)))  # one slot changed
      ((6,), 1, True)
    """
    k1, k2 = jax.random.split(key)
    counts = jnp.asarray(space.choice_counts)
    slot = jax.random.randint(k1, (), 0, space.num_slots)
    shift = 1 + jnp.floor(jax.random.uniform(k2) * (counts[slot] - 1).astype(jnp.float32)).astype(jnp.int32)
    return ops.at[slot].set((ops[slot] + shift) % counts[slot])


def _start(key: jax.Array, fitness, space: SearchSpace, config: Config) -> State:
    """The initial population drawn (and, with a ``fitness``, evaluated as one batch)."""
    p0, population = config.initial, config.population
    k0, key = jax.random.split(key)
    valid_ops = space.sample_unique(k0, p0)
    pad = population - p0
    pop = jnp.concatenate([valid_ops, jnp.zeros((pad, space.num_slots), jnp.int32)])
    empty = State(key, pop, jnp.full((population,), -jnp.inf), jnp.int32(0),
                  archive_lib.init(space, config.budget, trace=config.budget)._replace(best_ops=valid_ops[0]),
                  jnp.int32(0), valid_ops, jnp.int32(0), valid_ops[0])
    if fitness is None:
        return empty
    init_f = failed_as(fitness(valid_ops))
    archive, _ = archive_lib.insert(empty.archive, valid_ops, init_f, space)
    return empty._replace(pop_f=empty.pop_f.at[:p0].set(init_f), archive=archive, filled=jnp.int32(p0))


def _mutant(k_s: jax.Array, k_m: jax.Array, s: State, space: SearchSpace, config: Config) -> jax.Array:
    # the tournament: the first `sample` of a random permutation (jax.random.choice without replacement
    # draws the same), masked so that `sample` may be traced. Empty slots (budget < population) have -inf.
    idx = jax.random.permutation(k_s, config.population)
    entered = jnp.where(jnp.arange(config.population) < config.sample, s.pop_f[idx], -jnp.inf)
    parent = s.pop[idx[jnp.argmax(entered)]]
    return mutate_one_slot(k_m, parent, space)


def _record(s: State, child: jax.Array, f: jax.Array, space: SearchSpace, config: Config) -> State:
    """Count ``child`` (fitness ``f``) as a query if new, update the best, and age it into the population
    (an initial member fills the next empty slot; an invalid child is discarded)."""
    initial = s.filled < config.initial
    ok = space.is_valid(child)
    archive, _ = archive_lib.insert(s.archive, child[None], f[None], space)
    slot = jnp.where(initial, s.filled, s.oldest)
    pop = jnp.where(ok, s.pop.at[slot].set(child), s.pop)
    pop_f = jnp.where(ok, s.pop_f.at[slot].set(f), s.pop_f)
    oldest = jnp.where(ok & ~initial, (s.oldest + 1) % config.population, s.oldest)
    return s._replace(pop=pop, pop_f=pop_f, oldest=oldest, archive=archive,
                      cycles=s.cycles + (~initial).astype(jnp.int32), filled=s.filled + initial.astype(jnp.int32))


def init(key: jax.Array, space: SearchSpace, config: Config) -> State:
    """Draw the ``min(P, budget)`` random architectures the first rounds propose.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import regularized_evolution as rea
      >>> space, cfg = spaces.get("nb201"), rea.Config(budget=6, population=3, sample=2)
      >>> state = jax.eval_shape(lambda k: rea.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> state.pop.shape, state.pop_f.shape, state.initial_ops.shape  # P = 3 members, all drawn at init
      ((3, 6), (3,), (3, 6))
    """
    space.check_budget(config.budget)
    return _start(key, None, space, config)


def ask(key: jax.Array, state: State, space: SearchSpace, config: Config) -> tuple[jax.Array, State]:
    """One architecture ``[1, R]``: the next random initial member, then a mutated tournament winner.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import regularized_evolution as rea
      >>> space, cfg = spaces.get("nb201"), rea.Config(budget=6, population=3, sample=2)
      >>> state = jax.eval_shape(lambda k: rea.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> ops, _ = jax.eval_shape(lambda k, s: rea.ask(k, s, space, cfg), jax.random.key(1), state)
      >>> ops.shape, str(ops.dtype)  # one architecture a round
      ((1, 6), 'int32')
    """
    refuse_if_finished(done, state, config, "this REA run")
    k_s, k_m = jax.random.split(key)
    initial = state.filled < config.initial
    child = jnp.where(initial, state.initial_ops[jnp.minimum(state.filled, config.initial - 1)],
                      _mutant(k_s, k_m, state, space, config))
    return child[None], state._replace(child=child)


def tell(state: State, values: jax.Array, space: SearchSpace, config: Config) -> State:
    """Record the fitness ``values [1]`` of the proposed architecture (a no-op once done).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import regularized_evolution as rea
      >>> space, cfg = spaces.get("nb201"), rea.Config(budget=6, population=3, sample=2)
      >>> state = jax.eval_shape(lambda k: rea.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> told = jax.eval_shape(lambda s, v: rea.tell(s, v, space, cfg), state, jnp.zeros(1))
      >>> jax.tree.structure(told) == jax.tree.structure(state)  # the same state type (a loop's carry)
      True
      >>> rea.tell(state, jnp.zeros(2), space, cfg)  # 2 values for 1 proposal
      Traceback (most recent call last):
      ...
      jaxnag.errors.ConfigError: tell takes one fitness value per proposed architecture: shape (1,), got (2,)
    """
    values = jnp.asarray(values, jnp.float32)
    if values.shape != (1,):
        raise ConfigError(f"tell takes one fitness value per proposed architecture: shape (1,), got {values.shape}")
    told = _record(state, state.child, failed_as(values[0]), space, config)
    finished = done(state, config)
    return unless_finished(finished, state, told)


def done(state: State, config: Config) -> jax.Array:
    """Whether ``budget`` distinct queries were made (or ``max_cycles`` mutation cycles run).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import regularized_evolution as rea
      >>> space, cfg = spaces.get("nb201"), rea.Config(budget=6, population=3, sample=2)
      >>> state = jax.eval_shape(lambda k: rea.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> def counted(queries, cycles):  # done reads the queries and cycles (set by hand here on the state's shapes)
      ...     return state._replace(archive=state.archive._replace(queries=jnp.int32(queries)),
      ...                           cycles=jnp.int32(cycles))
      >>> [bool(rea.done(counted(q, c), cfg)) for q, c in ((5, 0), (6, 0), (5, cfg.cycle_limit))]
      [False, True, True]
    """
    return (state.queries >= config.budget) | (state.cycles >= config.cycle_limit)


def generate(key: jax.Array, fitness: Callable[[jax.Array], jax.Array], space: SearchSpace,
             config: Config = Config()) -> Result:
    """Regularized evolution until ``budget`` unique architectures were queried (one ``while_loop``;
    the initial population is evaluated as one batch).

    The trace is per unique query: ``best_trace[q - 1]`` is the best after ``q`` queries.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import regularized_evolution as rea
      >>> space, cfg = spaces.get("nb201"), rea.Config(budget=6, population=3, sample=2)
      >>> fitness = lambda ops: jnp.sum(ops, axis=-1).astype(jnp.float32)  # any jittable ops [n, R] -> [n]
      >>> res = jax.eval_shape(lambda k: rea.generate(k, fitness, space, cfg), jax.random.key(0))
      >>> res.best_ops.shape, res.best_trace.shape, sorted(res.extras)  # one trace entry per query
      ((6,), (6,), ['cycles'])
    """
    space.check_budget(config.budget)
    state = _start(key, fitness, space, config)

    def body(s: State) -> State:
        key, k_s, k_m = jax.random.split(s.key, 3)
        child = _mutant(k_s, k_m, s, space, config)
        return _record(s._replace(key=key), child, failed_as(fitness(child)), space, config)

    s = jax.lax.while_loop(lambda s: ~done(s, config), body, state)
    # After an early stop (max_cycles) carry the best forward over the unused budget.
    return trace_result(s.best_ops, s.best_fitness, s.queries, archive_lib.best_trace(s.archive),
                        archive_lib.queries_trace(s.archive), cycles=s.cycles)


def rea(key: jax.Array, fitness: Callable[[jax.Array], jax.Array], space: SearchSpace, budget: int,
        population: int = 50, sample: int = 10, max_cycles: int | None = None) -> Result:
    """``generate(key, fitness, space, Config(budget, population, sample, max_cycles))``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import rea
      >>> space, fitness = spaces.get("nb201"), lambda ops: jnp.sum(ops, axis=-1).astype(jnp.float32)
      >>> res = jax.eval_shape(lambda k: rea(k, fitness, space, budget=6, population=3, sample=2), jax.random.key(0))
      >>> res.best_trace.shape, res.queries_trace.shape
      ((6,), (6,))
    """
    return generate(key, fitness, space, Config(budget, population, sample, max_cycles))
