"""Pareto local search (Paquete, Chiarandini and Stützle 2004) in JAX, on any space, with a budget of unique queries.

The run keeps a Pareto archive of what it evaluated. Each round it takes a front member not yet
explored (the best in the first objective first) and evaluates all of its one-slot neighbours
(:meth:`~jaxnag.spaces.SearchSpace.neighbours`) not evaluated before; whatever is not dominated
enters the front and waits to be explored in turn. The first rounds evaluate ``initial`` random
architectures; when every front member is explored (a Pareto local optimum), a round of random
architectures restarts it. With one objective it is best-improvement local search with restarts
(White et al. 2021 found local search strong on NAS benchmarks). Its fitness may be a vector
``[n, M]`` (maximised) or a scalar.

Examples:
  >>> import jax
  >>> from jaxnag import spaces, tables
  >>> from jaxnag.baselines import local_search
  >>> space, obj = spaces.get("nb201"), tables.objectives("nb201", "cifar10", "test_acc,params_mb")
  >>> cfg = local_search.Config(budget=200, num_objectives=2)
  >>> res = jax.jit(lambda k: local_search.generate(k, obj, space, cfg))(jax.random.key(0))
  >>> int(res.queries)
  200
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import archive as archive_lib
from ..errors import check_int
from ..pareto import Front, empty, insert
from ..protocol import refuse_if_finished
from . import _vectors
from ._vectors import as_vectors

__all__ = ["Config", "State", "ask", "done", "generate", "init", "tell"]


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings (all static: shapes and loop bounds).

    Attributes:
      budget: unique architectures to query.
      num_objectives: ``M``, the width of the fitness (1: a scalar fitness).
      initial: random architectures evaluated before the local search starts (rounded up to whole
        rounds of the neighbourhood's size).
      capacity: architectures the run's front holds.

    Examples:
      >>> from jaxnag.baselines import local_search
      >>> local_search.Config(budget=100, num_objectives=1).initial
      50
      >>> try:
      ...     local_search.Config(capacity=0)
      ... except ValueError as e:  # errors.ConfigError
      ...     print(e)
      capacity must be an integer in [1, 16384], got 0
    """

    budget: int = 300
    num_objectives: int = 2
    initial: int = 50
    capacity: int = 128

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)

    def __post_init__(self):
        check_int("budget", self.budget, lo=1)
        check_int("num_objectives", self.num_objectives, lo=1)
        check_int("initial", self.initial, lo=1)
        check_int("capacity", self.capacity, lo=1, hi=1 << 14)


jax.tree_util.register_dataclass(Config, data_fields=[], meta_fields=["budget", "num_objectives", "initial",
                                                                      "capacity"])


@archive_lib.reads_archive
class State(NamedTuple):
    """Attributes:
      archive: the run's query archive (objective vectors kept: repeats are answered from it).
      front: the non-dominated architectures evaluated (:class:`jaxnag.pareto.Front`).
      explored: the query archive of the front members whose neighbourhoods were evaluated.
      pending: ``[N, R]``, the last ask's architectures (a member's neighbours, or random ones).
      to_evaluate: bool ``[N]``, which of them are new queries within the budget.
      centre: ``[R]``, the member the last ask explored; ``exploring``: whether it explored one.
      rounds: ask/tell rounds told.

    Examples:
      >>> import jax
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import local_search
      >>> space, cfg = spaces.get("nb201"), local_search.Config(budget=20, initial=4, capacity=8)
      >>> s = jax.eval_shape(lambda k: local_search.init(k, space, cfg), jax.random.key(0))
      >>> s.pending.shape, s.to_evaluate.shape, s.centre.shape  # a round: one neighbourhood (6 slots x 4 others)
      ((24, 6), (24,), (6,))
    """

    archive: archive_lib.Archive
    front: Front
    explored: archive_lib.Archive
    pending: jax.Array
    to_evaluate: jax.Array
    centre: jax.Array
    exploring: jax.Array
    rounds: jax.Array


def _width(space) -> int:
    return space.num_slots * (max(space.choice_counts) - 1)


def init(key: jax.Array, space, config: Config) -> State:
    """An empty run (nothing evaluated).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import local_search
      >>> space, cfg = spaces.get("nb201"), local_search.Config(budget=8, num_objectives=2, initial=4, capacity=4)
      >>> state = jax.eval_shape(lambda k: local_search.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> state.front.ops.shape, state.front.values.shape, state.pending.shape  # a front of 4; rounds of 24
      ((4, 6), (4, 2), (24, 6))
    """
    space.check_budget(config.budget)
    n = _width(space)
    return State(archive_lib.init(space, config.budget, keep_values=config.num_objectives, trace=config.budget),
                 empty(config.capacity, space.num_slots, config.num_objectives),
                 archive_lib.init(space, config.capacity * 4), jnp.zeros((n, space.num_slots), jnp.int32),
                 jnp.zeros(n, bool), jnp.zeros(space.num_slots, jnp.int32), jnp.bool_(False), jnp.int32(0))


def ask(key: jax.Array, state: State, space, config: Config) -> tuple[jax.Array, State]:
    """The neighbours ``[N, R]`` of the best unexplored front member, or ``N`` random architectures (while
    fewer than ``initial`` were evaluated, and when every member is explored).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import local_search
      >>> space, cfg = spaces.get("nb201"), local_search.Config(budget=8, num_objectives=2, initial=4, capacity=4)
      >>> state = jax.eval_shape(lambda k: local_search.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> ops, _ = jax.eval_shape(lambda k, s: local_search.ask(k, s, space, cfg), jax.random.key(1), state)
      >>> ops.shape, str(ops.dtype)  # a member's one-slot neighbours: 6 slots x 4 other choices
      ((24, 6), 'int32')
    """
    refuse_if_finished(done, state, config, "this local search")
    n = _width(space)
    front = state.front
    open_ = front.mask & ~archive_lib.contains(state.explored, front.ops, space)
    pick = jnp.argmax(open_)  # the front is sorted by the first objective: the best open member
    warm = state.queries >= config.initial
    exploring = warm & jnp.any(open_)
    centre = front.ops[pick]
    nbrs, ok = space.neighbours(centre)  # [n, R]: n is the neighbourhood's size
    random = space.random(key, (n,))
    ops = jnp.where(exploring, jnp.where(ok[:, None], nbrs, centre[None, :]), random)
    return ops, state._replace(pending=ops, to_evaluate=archive_lib.admit(state.archive, ops, space, config.budget),
                               centre=centre, exploring=exploring)


def tell(state: State, values: jax.Array, space, config: Config) -> State:
    """The objectives ``values [N, M]`` (or ``[N]`` for one objective; NaN: failed) of the last ask's rows;
    rows not ``to_evaluate`` are answered from the archive or failed.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import local_search
      >>> space, cfg = spaces.get("nb201"), local_search.Config(budget=8, num_objectives=2, initial=4, capacity=4)
      >>> state = jax.eval_shape(lambda k: local_search.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> told = jax.eval_shape(lambda s, v: local_search.tell(s, v, space, cfg), state, jnp.zeros((24, 2)))
      >>> jax.tree.structure(told) == jax.tree.structure(state)  # the same state type (a loop's carry)
      True
      >>> local_search.tell(state, jnp.zeros(24), space, cfg)  # one value per row, but M = 2 objectives
      Traceback (most recent call last):
      ...
      jaxnag.errors.ConfigError: local search tell takes one value per objective of each proposal: shape (24, 2), ...
    """
    n = state.pending.shape[0]
    values = as_vectors(values, n, config.num_objectives, "local search")
    held, _ = archive_lib.insert(state.archive, state.pending, values, space, admit=state.to_evaluate)
    front = insert(state.front, state.pending, values, state.to_evaluate)
    explored, _ = archive_lib.insert(state.explored, state.centre[None], jnp.zeros(1), space,
                                     admit=state.exploring[None])
    return state._replace(archive=held, front=front, explored=explored, to_evaluate=jnp.zeros(n, bool),
                          rounds=state.rounds + 1)


def done(state: State, config: Config) -> jax.Array:
    """Whether ``budget`` unique queries were made (or ``100 * budget`` rounds ran without).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import local_search
      >>> space, cfg = spaces.get("nb201"), local_search.Config(budget=8, num_objectives=2, initial=4, capacity=4)
      >>> state = jax.eval_shape(lambda k: local_search.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> def counted(queries, rounds):  # done reads these (set by hand here on the state's shapes)
      ...     return state._replace(archive=state.archive._replace(queries=jnp.int32(queries)),
      ...                           rounds=jnp.int32(rounds))
      >>> [bool(local_search.done(counted(q, r), cfg)) for q, r in ((4, 1), (8, 2), (4, 800))]
      [False, True, True]
    """
    return (state.queries >= config.budget) | (state.rounds >= 100 * config.budget)


def generate(key: jax.Array, fitness, space, config: Config = Config()):
    """Local search until ``budget`` unique queries (one ``while_loop``); the trace is per unique query, of the
    first objective's best (under :func:`jaxnag.pareto.with_objectives`, of the front's hypervolume).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import local_search
      >>> space, cfg = spaces.get("nb201"), local_search.Config(budget=8, num_objectives=2, initial=4, capacity=4)
      >>> def fitness(ops):  # any jittable ops [n, R] -> [n, M] (maximised)
      ...     return jnp.stack([jnp.sum(ops, axis=-1), -jnp.max(ops, axis=-1)], axis=-1).astype(jnp.float32)
      >>> res = jax.eval_shape(lambda k: local_search.generate(k, fitness, space, cfg), jax.random.key(0))
      >>> res.best_ops.shape, res.best_trace.shape, sorted(res.extras)  # one trace entry per query
      ((6,), (8,), ['rounds'])
    """
    return _vectors.generate(key, fitness, space, config, init, ask, tell, done, lambda s: s.rounds,
                             rounds=lambda s: s.rounds)
