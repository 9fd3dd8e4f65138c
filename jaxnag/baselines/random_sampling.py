"""Random search with a budget of unique architectures.

The ``budget`` architectures are drawn without replacement at ``init``; each ``ask``
proposes the next ``batch`` of them (all of them by default: one round).

Examples:
  >>> import jax
  >>> from jaxnag import spaces, tables
  >>> from jaxnag.baselines import random_sampling
  >>> space = spaces.get("nasbench_graph")
  >>> t = tables.load("nasbench_graph", "cora")
  >>> r = jax.jit(lambda k: random_sampling.generate(k, t, space, random_sampling.Config(100)))(jax.random.key(0))
  >>> int(r.queries)
  100
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import archive as archive_lib
from ..errors import ConfigError, check_int, is_concrete
from ..protocol import Result, trace_result, unless_finished
from ..shaping import failed_as
from ..spaces import SearchSpace

__all__ = ["Config", "State", "ask", "done", "generate", "init", "random_search", "tell"]


@dataclasses.dataclass(frozen=True)
class Config:
    """Random search settings (all static).

    Attributes:
      budget: unique architectures to query.
      batch: architectures per ask/tell round (default: the whole budget; must divide it).

    Examples:
      >>> from jaxnag.baselines import random_sampling
      >>> random_sampling.Config(budget=100, batch=25).round_size, random_sampling.Config(budget=100).round_size
      (25, 100)
      >>> try:
      ...     random_sampling.Config(budget=100, batch=30)
      ... except ValueError as e:  # errors.ConfigError
      ...     print(e)
      batch (30) must divide budget (100)
    """

    budget: int = 300
    batch: int | None = None

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)

    def __post_init__(self):
        check_int("budget", self.budget, lo=1)
        if self.batch is not None:
            check_int("batch", self.batch, lo=1, hi=self.budget)
            if self.budget % self.batch:
                raise ConfigError(f"batch ({self.batch}) must divide budget ({self.budget})")

    @property
    def round_size(self) -> int:
        return self.budget if self.batch is None else self.batch


jax.tree_util.register_dataclass(Config, data_fields=[], meta_fields=["budget", "batch"])


@archive_lib.reads_archive
class State(NamedTuple):
    """Random search state: the drawn architectures, how many were told, and the run's query archive
    (:mod:`jaxnag.archive`, with the best after each distinct query; ``best_ops``, ``best_fitness`` and
    ``queries`` are read from it).

    Examples:
      >>> import jax
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import random_sampling
      >>> space, cfg = spaces.get("nb201"), random_sampling.Config(budget=20, batch=5)
      >>> s = jax.eval_shape(lambda k: random_sampling.init(k, space, cfg), jax.random.key(0))
      >>> s._fields, s.ops.shape, s.told.shape  # the whole budget drawn at init: ops [budget, R]
      (('ops', 'told', 'archive'), (20, 6), ())
    """

    ops: jax.Array            # [budget, R], drawn at init
    told: jax.Array           # architectures told so far
    archive: archive_lib.Archive


def init(key: jax.Array, space: SearchSpace, config: Config) -> State:
    """Draw the ``budget`` distinct architectures the run will query.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import random_sampling
      >>> space, cfg = spaces.get("nb201"), random_sampling.Config(budget=4, batch=2)
      >>> state = jax.eval_shape(lambda k: random_sampling.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> state.ops.shape, state.archive.trace.shape  # the budget's architectures; the best after each query
      ((4, 6), (4,))
    """
    space.check_budget(config.budget)
    ops = space.sample_unique(key, config.budget)
    return State(ops, jnp.int32(0),
                 archive_lib.init(space, config.budget, trace=config.budget)._replace(best_ops=ops[0]))


def ask(key: jax.Array, state: State, space: SearchSpace, config: Config) -> tuple[jax.Array, State]:
    """The next ``batch`` drawn architectures (``key`` is unused: the draw was made at init).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import random_sampling
      >>> space, cfg = spaces.get("nb201"), random_sampling.Config(budget=4, batch=2)
      >>> state = jax.eval_shape(lambda k: random_sampling.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> ops, _ = jax.eval_shape(lambda k, s: random_sampling.ask(k, s, space, cfg), jax.random.key(1), state)
      >>> ops.shape, str(ops.dtype)  # one round: ``batch`` architectures
      ((2, 6), 'int32')
    """
    del key
    if is_concrete(state.told) and int(state.told) >= config.budget:
        raise ConfigError(f"this random search is finished: its budget of {config.budget} was spent")
    start = jnp.minimum(state.told, config.budget - config.round_size)
    return jax.lax.dynamic_slice_in_dim(state.ops, start, config.round_size), state


def tell(state: State, values: jax.Array, space: SearchSpace, config: Config) -> State:
    """Record the fitness of the architectures the last ``ask`` proposed.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import random_sampling
      >>> space, cfg = spaces.get("nb201"), random_sampling.Config(budget=4, batch=2)
      >>> state = jax.eval_shape(lambda k: random_sampling.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> told = jax.eval_shape(lambda s, v: random_sampling.tell(s, v, space, cfg), state, jnp.zeros(2))
      >>> jax.tree.structure(told) == jax.tree.structure(state)  # the same state type (a loop's carry)
      True
      >>> random_sampling.tell(state, jnp.zeros(3), space, cfg)  # 3 values for 2 proposals
      Traceback (most recent call last):
      ...
      jaxnag.errors.ConfigError: tell takes one fitness value per proposed architecture: shape (2,), got (3,)
    """
    b = config.round_size
    values = jnp.asarray(values, jnp.float32)
    if values.shape != (b,):
        raise ConfigError(f"tell takes one fitness value per proposed architecture: shape ({b},), got {values.shape}")
    f = failed_as(values)
    start = jnp.minimum(state.told, config.budget - b)
    ops = jax.lax.dynamic_slice_in_dim(state.ops, start, b)
    archive, _ = archive_lib.insert(state.archive, ops, f, space)
    told = State(state.ops, state.told + b, archive)
    finished = state.told >= config.budget
    return unless_finished(finished, state, told)


def done(state: State, config: Config) -> jax.Array:
    """Whether the whole budget was told.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import random_sampling
      >>> space, cfg = spaces.get("nb201"), random_sampling.Config(budget=4, batch=2)
      >>> state = jax.eval_shape(lambda k: random_sampling.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> # done reads how many architectures were told (set by hand here on the state's shapes)
      >>> [bool(random_sampling.done(state._replace(told=jnp.int32(told)), cfg)) for told in (2, 4)]
      [False, True]
    """
    return state.told >= config.budget


def generate(key: jax.Array, fitness: Callable, space: SearchSpace, config: Config = Config()) -> Result:
    """Query ``budget`` distinct valid architectures drawn uniformly; keep the best.

    The trace is per unique query: ``best_trace[q - 1]`` is the best after ``q`` queries.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import random_sampling
      >>> space, cfg = spaces.get("nb201"), random_sampling.Config(budget=4, batch=2)
      >>> fitness = lambda ops: jnp.sum(ops, axis=-1).astype(jnp.float32)  # any jittable ops [n, R] -> [n]
      >>> res = jax.eval_shape(lambda k: random_sampling.generate(k, fitness, space, cfg), jax.random.key(0))
      >>> res.best_ops.shape, res.best_trace.shape, str(res.queries_trace.dtype)  # one trace entry per query
      ((6,), (4,), 'int32')
    """
    state = init(key, space, config)
    rounds = config.budget // config.round_size

    def body(s, _):
        ops, s = ask(key, s, space, config)
        return tell(s, fitness(ops), space, config), None

    state, _ = jax.lax.scan(body, state, None, length=rounds)
    return trace_result(state.best_ops, state.best_fitness, state.queries, archive_lib.best_trace(state.archive),
                        archive_lib.queries_trace(state.archive))


def random_search(key: jax.Array, fitness: Callable[[jax.Array], jax.Array], space: SearchSpace,
                  budget: int) -> Result:
    """``generate(key, fitness, space, Config(budget))``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import random_search
      >>> space, fitness = spaces.get("nb201"), lambda ops: jnp.sum(ops, axis=-1).astype(jnp.float32)
      >>> jax.eval_shape(lambda k: random_search(k, fitness, space, 4), jax.random.key(0)).best_trace.shape
      (4,)
      >>> random_search(jax.random.key(0), fitness, space, 20000)  # more than nb201's 15625 architectures
      Traceback (most recent call last):
      ...
      jaxnag.errors.ConfigError: budget must be an integer in [1, 15625], got 20000
    """
    space.check_budget(budget)
    return generate(key, fitness, space, Config(budget))
