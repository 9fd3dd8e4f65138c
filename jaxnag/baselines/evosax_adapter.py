"""evosax strategies (DiffusionEvolution, SimpleGA, CMA-ES) on a categorical space.

Each individual is a real vector of length ``R * C`` decoded by per-slot argmax
(the same continuous relaxation EDNAG uses). evosax minimises, so it is given the
negated fitness; failed evaluations are given a large value. Needs the optional
extra ``jaxnag[baselines]``.

Examples:
  >>> import jax
  >>> from jaxnag import spaces, tables
  >>> from jaxnag.baselines.evosax_adapter import evosax_search
  >>> space, t = spaces.get("nasbench_graph"), tables.load("nasbench_graph", "cora")
  >>> r = jax.jit(lambda k: evosax_search(k, "SimpleGA", t, space, 16, 5))(jax.random.key(0))
  >>> r.best_trace.shape
  (5,)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import archive as archive_lib
from ..errors import ConfigError, MissingDependency, UnknownName, check_int, is_concrete
from ..protocol import Result, trace_result, unless_finished
from ..shaping import failed_as
from ..spaces import SearchSpace

STRATEGIES = ("DiffusionEvolution", "SimpleGA", "CMA_ES")


__all__ = ["Config", "STRATEGIES", "State", "ask", "done", "evosax_search", "generate", "init", "make_strategy", "tell"]


@dataclasses.dataclass(frozen=True)
class Config:
    """An evosax strategy run (all static): ``strategy`` name, ``population`` and ``generations``
    ask/tell rounds (plus the evaluation of the initial population, except for CMA-ES).

    Examples:
      >>> from jaxnag.baselines import evosax_adapter
      >>> evosax_adapter.Config("CMA_ES", generations=10).rounds, evosax_adapter.Config(generations=10).rounds
      (10, 11)
      >>> try:
      ...     evosax_adapter.Config(strategy="PSO")
      ... except KeyError as e:  # errors.UnknownName
      ...     print(e)
      unknown evosax strategy 'PSO'; available: DiffusionEvolution, SimpleGA, CMA_ES
    """

    strategy: str = "SimpleGA"
    population: int = 30
    generations: int = 100

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise UnknownName(f"unknown evosax strategy {self.strategy!r}; available: {', '.join(STRATEGIES)}")
        check_int("population", self.population, lo=2)
        check_int("generations", self.generations, lo=1)

    @property
    def rounds(self) -> int:
        return self.generations + (self.strategy != "CMA_ES")


jax.tree_util.register_dataclass(Config, data_fields=[], meta_fields=["strategy", "population", "generations"])


@archive_lib.reads_archive
class State(NamedTuple):
    """The evosax state plus jaxnag's bookkeeping (a pytree).

    Examples:
      >>> import jax
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import evosax_adapter
      >>> space, cfg = spaces.get("nb201"), evosax_adapter.Config(population=8, generations=3)
      >>> s = jax.eval_shape(lambda k: evosax_adapter.init(k, space, cfg), jax.random.key(0))
      >>> s.x0.shape, s.x.shape  # [N, R * C] real vectors (6 slots x 5 choices on NB201)
      ((8, 30), (8, 30))
    """

    es: object               # the strategy's own state
    x0: jax.Array            # [N, R*C] initial population (evaluated in round 0 except for CMA-ES)
    init_key: jax.Array
    x: jax.Array             # what the last ask proposed
    tell_key: jax.Array
    rounds: jax.Array
    archive: archive_lib.Archive  # the run's queries (jaxnag.archive): best_ops, best_fitness, queries


class _Standard:
    """An evosax strategy whose calls trace under JAX's standard dtype promotion (evosax mixes int
    and float arrays, which jaxnag's own code, checked under ``strict``, does not)."""

    def __init__(self, strategy):
        self._s = strategy
        with jax.numpy_dtype_promotion("standard"):  # evosax computes its default parameters on first read
            self.default_params = strategy.default_params

    def _call(self, name, *args):
        with jax.numpy_dtype_promotion("standard"):
            return getattr(self._s, name)(*args)

    def init(self, *args):
        return self._call("init", *args)

    def ask(self, *args):
        return self._call("ask", *args)

    def tell(self, *args):
        return self._call("tell", *args)


def make_strategy(name: str, population: int, dim: int, generations: int):
    """The evosax strategy ``name`` for ``population`` vectors of ``dim``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.baselines.evosax_adapter import make_strategy
      >>> es = make_strategy("SimpleGA", 4, 30, 2)  # 4 vectors of 30 (nb201's 6 slots x 5 choices)
      >>> def first_ask(k):
      ...     return es.ask(k, es.init(k, jnp.zeros((4, 30)), jnp.zeros(4), es.default_params), es.default_params)[0]
      >>> jax.eval_shape(first_ask, jax.random.key(0)).shape
      (4, 30)
      >>> make_strategy("PSO", 4, 30, 2)
      Traceback (most recent call last):
      ...
      jaxnag.errors.UnknownName: unknown evosax strategy 'PSO'; available: DiffusionEvolution, SimpleGA, CMA_ES
    """
    try:
        from evosax import algorithms
    except ImportError:
        raise MissingDependency("the evosax baselines need evosax: pip install 'jaxnag[baselines]'") from None
    if name not in STRATEGIES:
        raise UnknownName(f"unknown evosax strategy {name!r}; available: {', '.join(STRATEGIES)}")
    solution = np.zeros(dim, np.float32)
    with jax.numpy_dtype_promotion("standard"):
        if name == "DiffusionEvolution":
            strategy = algorithms.DiffusionEvolution(population, solution, num_generations=generations)
        elif name == "SimpleGA":
            strategy = algorithms.SimpleGA(population, solution)
        else:
            strategy = algorithms.CMA_ES(population, solution)
    return _Standard(strategy)


def _decode(x, space):
    r, c = space.shape
    return space.from_one_hot(x.reshape(x.shape[0], r, c))


def _track(state: State, ops, f, space):
    return state._replace(archive=archive_lib.update(state.archive, ops, f, space))


def _archive(space, config: Config):
    return archive_lib.init(space, config.population * config.rounds)


def _shaped(values, ops, space):
    """jaxnag fitness -> what evosax minimises (failures and invalid decodes: a large value)."""
    f = jnp.where(space.is_valid(ops), failed_as(jnp.asarray(values, jnp.float32)), -jnp.inf)
    return f, jnp.where(jnp.isfinite(f), -f, 1e10)


def init(key: jax.Array, space: SearchSpace, config: Config) -> State:
    """The strategy's state and the initial population ``N(0, I)`` on the one-hot relaxation ``[N, R * C]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import evosax_adapter as ev
      >>> space, cfg = spaces.get("nb201"), ev.Config("SimpleGA", population=4, generations=2)
      >>> state = jax.eval_shape(lambda k: ev.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> state.x0.shape, str(state.x0.dtype)  # N = 4 vectors on the one-hot relaxation (R * C = 30)
      ((4, 30), 'float32')
    """
    r, c = space.shape
    strategy = make_strategy(config.strategy, config.population, r * c, config.generations)
    params = strategy.default_params
    k_init, k_pop, key = jax.random.split(key, 3)
    x0 = jax.random.normal(k_pop, (config.population, r * c))
    es = strategy.init(k_init, jnp.zeros(r * c), params) if config.strategy == "CMA_ES" else \
        strategy.init(k_init, x0, jnp.zeros(config.population), params)
    return State(es, x0, k_init, x0, key, jnp.int32(0), _archive(space, config))


def ask(key: jax.Array, state: State, space: SearchSpace, config: Config) -> tuple[jax.Array, State]:
    """``(ops [N, R], state)``: the initial population first, then the strategy's proposals, decoded by the
    argmax of each slot.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import evosax_adapter as ev
      >>> space, cfg = spaces.get("nb201"), ev.Config("SimpleGA", population=4, generations=2)
      >>> state = jax.eval_shape(lambda k: ev.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> ops, _ = jax.eval_shape(lambda k, s: ev.ask(k, s, space, cfg), jax.random.key(1), state)
      >>> ops.shape, str(ops.dtype)  # the population decoded
      ((4, 6), 'int32')
    """
    r, c = space.shape
    if is_concrete(state.rounds) and int(state.rounds) >= config.rounds:
        raise ConfigError(f"this {config.strategy} run is finished: all {config.rounds} rounds were told")
    strategy = make_strategy(config.strategy, config.population, r * c, config.generations)
    k_ask, k_tell = jax.random.split(key)
    x, es = strategy.ask(k_ask, state.es, strategy.default_params)
    if config.strategy != "CMA_ES":
        initial = state.rounds == 0
        x = jnp.where(initial, state.x0, x)
        es = jax.tree.map(lambda a, b: jnp.where(initial, a, b), state.es, es)
    return _decode(x, space), state._replace(es=es, x=x, tell_key=k_tell)


def tell(state: State, values: jax.Array, space: SearchSpace, config: Config) -> State:
    """Tell the strategy the fitness ``values [N]`` (negated: evosax minimises; failures and invalid decodes a
    large loss).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import evosax_adapter as ev
      >>> space, cfg = spaces.get("nb201"), ev.Config("SimpleGA", population=4, generations=2)
      >>> state = jax.eval_shape(lambda k: ev.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> told = jax.eval_shape(lambda s, v: ev.tell(s, v, space, cfg), state, jnp.zeros(4))
      >>> jax.tree.structure(told) == jax.tree.structure(state)  # the same state type (a loop's carry)
      True
      >>> ev.tell(state, jnp.zeros(3), space, cfg)  # 3 values for 4 proposals
      Traceback (most recent call last):
      ...
      jaxnag.errors.ConfigError: tell takes one fitness value per proposed architecture: shape (4,), got (3,)
    """
    r, c = space.shape
    strategy = make_strategy(config.strategy, config.population, r * c, config.generations)
    params = strategy.default_params
    values = jnp.asarray(values, jnp.float32)
    if values.shape != (config.population,):
        raise ConfigError(f"tell takes one fitness value per proposed architecture: shape ({config.population},), "
                          f"got {values.shape}")
    ops = _decode(state.x, space)
    f, loss = _shaped(values, ops, space)
    es, _ = strategy.tell(state.tell_key, state.x, loss, state.es, params)
    if config.strategy != "CMA_ES":
        initial = state.rounds == 0
        es0 = strategy.init(state.init_key, state.x0, loss, params)
        es = jax.tree.map(lambda a, b: jnp.where(initial, a, b), es0, es)
    told = _track(state._replace(es=es, rounds=state.rounds + 1), ops, f, space)
    finished = done(state, config)
    return unless_finished(finished, state, told)


def done(state: State, config: Config) -> jax.Array:
    """Whether all ``config.rounds`` ask/tell rounds were told.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import evosax_adapter as ev
      >>> space, cfg = spaces.get("nb201"), ev.Config("SimpleGA", population=4, generations=2)
      >>> state = jax.eval_shape(lambda k: ev.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> cfg.rounds  # the 2 generations and the initial population's round
      3
      >>> [bool(ev.done(state._replace(rounds=jnp.int32(r)), cfg)) for r in (2, 3)]  # set by hand on the shapes
      [False, True]
    """
    return state.rounds >= config.rounds


def generate(key: jax.Array, fitness: Callable, space: SearchSpace, config: Config = Config()) -> Result:
    """Run the strategy for ``generations`` ask/tell rounds (one ``lax.scan``); one trace entry per
    generation.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines import evosax_adapter as ev
      >>> space, cfg = spaces.get("nb201"), ev.Config("SimpleGA", population=4, generations=2)
      >>> fitness = lambda ops: jnp.sum(ops, axis=-1).astype(jnp.float32)  # any jittable ops [n, R] -> [n]
      >>> res = jax.eval_shape(lambda k: ev.generate(k, fitness, space, cfg), jax.random.key(0))
      >>> res.best_ops.shape, res.best_trace.shape, res.queries_trace.shape  # one trace entry per generation
      ((6,), (2,), (2,))
    """
    r, c = space.shape
    strategy = make_strategy(config.strategy, config.population, r * c, config.generations)
    params = strategy.default_params
    k_init, k_pop, key = jax.random.split(key, 3)

    def evaluate(x):
        ops = _decode(x, space)
        return (ops,) + _shaped(fitness(ops), ops, space)

    state = State(None, None, None, None, None, jnp.int32(0), _archive(space, config))
    if config.strategy == "CMA_ES":
        es = strategy.init(k_init, jnp.zeros(r * c), params)
    else:
        x0 = jax.random.normal(k_pop, (config.population, r * c))
        ops0, f0, loss0 = evaluate(x0)
        state = _track(state, ops0, f0, space)
        es = strategy.init(k_init, x0, loss0, params)

    def body(loop, k):
        es, s = loop
        k_ask, k_tell = jax.random.split(k)
        x, es = strategy.ask(k_ask, es, params)
        ops, f, loss = evaluate(x)
        s = _track(s, ops, f, space)
        es, _ = strategy.tell(k_tell, x, loss, es, params)
        return (es, s), (s.best_fitness, s.queries)

    (es, state), (best_trace, q_trace) = jax.lax.scan(body, (es, state), jax.random.split(key, config.generations))
    return trace_result(state.best_ops, state.best_fitness, state.queries, best_trace, q_trace)


def evosax_search(key: jax.Array, name: str, fitness: Callable, space: SearchSpace, population: int,
                  generations: int) -> Result:
    """``generate(key, fitness, space, Config(name, population, generations))``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.baselines.evosax_adapter import evosax_search
      >>> space, fitness = spaces.get("nb201"), lambda ops: jnp.sum(ops, axis=-1).astype(jnp.float32)
      >>> res = jax.eval_shape(lambda k: evosax_search(k, "SimpleGA", fitness, space, 4, 2), jax.random.key(0))
      >>> res.best_ops.shape, res.best_trace.shape
      ((6,), (2,))
    """
    return generate(key, fitness, space, Config(name, population, generations))
