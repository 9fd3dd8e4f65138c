"""The protocol every generator speaks, and the common :class:`Result`.

A generator (EDNAG, PG-NAG, DiffusionNAG, random search, REA, the evosax strategies) is a
:class:`Generator`: a ``Config`` pytree (static fields apart, so a sweep is a ``vmap``) and
pure functions

- ``init(key, space, config, **context) -> state``
- ``ask(key, state, space, config) -> (ops [n, R], state)``: architectures to evaluate;
- ``tell(state, values [n], space, config) -> state``: their fitness (NaN = failed);
- ``step(key, state, fitness, space, config, **context) -> state``: ask, evaluate, tell;
- ``generate(key, fitness, space, config, **context) -> Result``: a whole run, jittable and
  vmappable over keys, batched configs and stacked tables;
- ``done(state, config) -> bool``: whether the run has spent its rounds or its budget.

``context`` names what a generator needs besides the fitness: PG-NAG's ``source`` table (the
prior knowledge), DiffusionNAG's trained ``score_model``. Every state carries ``best_ops``,
``best_fitness`` and ``queries``, read from its :class:`jaxnag.archive.Archive` (one module keeps
every generator's queries). ask/tell lets the fitness live outside JAX (a training job,
a remote evaluation): :func:`run` drives any generator with a host function.

Examples:
  >>> import jax, numpy as np
  >>> from jaxnag import registry, spaces, tables
  >>> space, t = spaces.get("nasbench_graph"), tables.load("nasbench_graph", "cora")
  >>> gen = registry.get("random")
  >>> cfg = gen.config(space, budget=20)
  >>> res = run(gen, jax.random.key(0), lambda ops: np.asarray(t(ops)), space, cfg)
  >>> int(res.queries)
  20
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .archive import reads_archive
from .errors import ConfigError, GenerationError, is_concrete

__all__ = ["About", "Generator", "Result", "Static", "Tracked", "evaluate", "generator", "loop", "refuse_if_finished",
           "run", "trace_result", "unless_finished", "value_shape", "wrapper"]


class Result(NamedTuple):
    """What every generator's ``generate`` returns (a pytree; batched under ``vmap``).

    Attributes:
      best_ops: int32 ``[R]``, the best architecture whose fitness the run saw.
      best_fitness: float32, its fitness (-inf if every evaluation failed).
      queries: int32, distinct valid architectures evaluated (distinct benchmark queries; a repeat
        or an invalid proposal is not one; -1 where more than a large space's archive holds), kept
        by :mod:`jaxnag.archive` for every generator and wrapper.
      best_trace: float32 ``[L]``: ``best_trace[i]`` is the best fitness when the run had made
        ``queries_trace[i]`` distinct queries ...
      queries_trace: int32 ``[L]``, ... (both non-decreasing; the last entries are ``best_fitness``
        and ``queries``). The resolution is the generator's: one entry per round (EDNAG, PG-NAG,
        DiffusionNAG, evosax, the surrogate, :func:`run` for every generator), or one per query
        where the run is a budget of queries (random search, REA, :mod:`jaxnag.budget`:
        ``queries_trace = 1..B``, capped at the queries made). Plot one against the other.
      extras: method-specific arrays (a dict).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import ednag, spaces
      >>> space, cfg = spaces.get("nb201"), ednag.Config(population=8, steps=5)
      >>> fitness = lambda ops: jnp.sum(ops == 3, axis=-1).astype(jnp.float32)  # conv3x3 edges
      >>> r = jax.eval_shape(lambda k: ednag.generate(k, fitness, space, cfg), jax.random.key(0))  # shapes only
      >>> type(r).__name__, r.best_ops.shape, r.best_fitness.dtype, r.queries.dtype, r.best_trace.shape
      ('Result', (6,), dtype('float32'), dtype('int32'), (5,))
    """

    best_ops: jax.Array
    best_fitness: jax.Array
    queries: jax.Array
    best_trace: jax.Array
    queries_trace: jax.Array
    extras: dict


def trace_result(best_ops, best_fitness, queries, best_trace, queries_trace, **extras) -> Result:
    """A :class:`Result` with ``extras`` given as keywords.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import protocol
      >>> r = protocol.trace_result(jnp.zeros(6, jnp.int32), jnp.float32(1.0), jnp.int32(3), jnp.array([0.5, 1.0]),
      ...                           jnp.array([1, 3]), rounds=jnp.int32(2))
      >>> int(r.queries), r.queries_trace.tolist(), int(r.extras["rounds"])
      (3, [1, 3], 2)
    """
    return Result(best_ops, best_fitness, queries, best_trace, queries_trace, dict(extras))


def value_shape(objectives: int) -> tuple:
    """The trailing shape of one architecture's fitness: ``()`` for one objective, ``(M,)`` for ``M`` > 1.

    Examples:
      >>> from jaxnag import protocol
      >>> protocol.value_shape(1), protocol.value_shape(3)
      ((), (3,))
    """
    return (objectives,) if objectives > 1 else ()


def evaluate(fitness: Callable, ops: jax.Array, objectives: int = 1) -> jax.Array:
    """``fitness(ops)`` as float32 of shape ``ops.shape[:-1]`` (one value per architecture), checked; with
    ``objectives`` = M > 1, a vector fitness of shape ``ops.shape[:-1] + (M,)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import protocol
      >>> ops = jnp.ones((3, 6), jnp.int32)
      >>> v = protocol.evaluate(lambda ops: jnp.sum(ops, axis=-1), ops)
      >>> v.tolist(), str(v.dtype)
      ([6.0, 6.0, 6.0], 'float32')
      >>> protocol.evaluate(lambda ops: jnp.sum(ops), ops)  # one value for the batch: refused
      Traceback (most recent call last):
      ...
      jaxnag.errors.ConfigError: fitness must map ops [3, 6] to shape (3,), got ()
      >>> protocol.evaluate(lambda ops: jnp.stack([ops.sum(-1), -ops.sum(-1)], -1), ops, objectives=2).shape
      (3, 2)
    """
    values = jnp.asarray(fitness(ops), jnp.float32)
    shape = ops.shape[:-1] + value_shape(objectives)
    if values.shape != shape:
        more = f" ({objectives} objectives)" if objectives > 1 else ""
        raise ConfigError(f"fitness must map ops {list(ops.shape)} to shape {shape}{more}, got {values.shape}")
    return values


_MAX_PHASES = 8


def _same_type(a, b) -> bool:
    """Same pytree structure, shapes and dtypes: what a ``while_loop`` carry must keep."""
    if jax.tree.structure(a) != jax.tree.structure(b):
        return False
    return all(x.shape == y.shape and x.dtype == y.dtype for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def loop(cond: Callable, body: Callable, state):
    """``jax.lax.while_loop(cond, body, state)`` for ask/tell rounds, jittable. A generator whose state
    changes type between phases (DiffusionNAG: predictor queries, then guided rounds) runs its first
    rounds unrolled at trace time, until ``body`` keeps the state's type (those rounds run
    unconditionally).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import protocol
      >>> int(protocol.loop(lambda s: s < 5, lambda s: s + 1, jnp.int32(0)))
      5
    """
    for _ in range(_MAX_PHASES):
        if _same_type(jax.eval_shape(body, state), state):
            break
        state = body(state)
    return jax.lax.while_loop(cond, body, state)


def refuse_if_finished(done: Callable, state, config, what: str) -> None:
    """Raise :class:`~jaxnag.errors.ConfigError` where ``done(state, config)`` holds on host values: ``ask`` on a
    finished run, checked where it can be (under a trace ``state.queries`` is abstract and nothing is checked;
    a compiled loop stops by ``done`` itself).

    Examples:
      >>> import jax.numpy as jnp
      >>> from types import SimpleNamespace
      >>> from jaxnag import errors, protocol
      >>> done = lambda state, config: state.queries >= config.budget
      >>> cfg = SimpleNamespace(budget=5)
      >>> protocol.refuse_if_finished(done, SimpleNamespace(queries=jnp.int32(3)), cfg, "this run")  # not finished
      >>> try:
      ...     protocol.refuse_if_finished(done, SimpleNamespace(queries=jnp.int32(5)), cfg, "this run")
      ... except errors.ConfigError as e:
      ...     print(e)
      this run is finished (5 unique queries, budget 5)
    """
    if not is_concrete(state.queries):
        return  # under a trace
    finished = done(state, config)
    if is_concrete(finished) and bool(finished):
        raise ConfigError(f"{what} is finished ({int(state.queries)} unique queries, budget {config.budget})")


def unless_finished(finished, before, after):
    """``after``, or ``before`` where ``finished``: how ``tell`` past the last round is a no-op under ``jit``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import protocol
      >>> before, after = {"told": jnp.int32(1)}, {"told": jnp.int32(2)}
      >>> int(protocol.unless_finished(jnp.bool_(True), before, after)["told"])
      1
      >>> int(protocol.unless_finished(jnp.bool_(False), before, after)["told"])
      2
    """
    return jax.tree.map(lambda old, new: jnp.where(finished, old, new), before, after)


@dataclasses.dataclass(frozen=True)
class About:
    """What a generator tells its users, beside its pure functions: the command line's and the
    benchmarks' view of it (:attr:`Generator.about`).

    Attributes:
      description: one line (``jaxnag methods``).
      settings: ``{name: jaxnag.registry.Setting}``: what ``Generator.config`` takes, with defaults
        (the CLI's ``--name-with-dashes`` flags, a grid's ``settings``).
      small: settings for a quick run (tests, examples).
      open_context: ``open_context(settings, target, data_dir) -> (context, notes)``: the context
        from the context settings (a ``BENCHMARK:DATASET`` to load, a checkpoint folder), for
        ``target`` (the table the run reads, or the search space of a fitness that is no table, such as a
        proxy); ``notes`` are facts to report (the checkpoint's training steps).
      check: ``check(result, config, notes)``: host-side refusal of a meaningless result (raises).
      describe: ``describe(config, context, notes, target) -> (line or None, dict)``: what a run
        reads, for the user (one line) and for the JSON output (fields).
      budgeted: settings of the method's query-efficient form (they may include the online surrogate's,
        :mod:`jaxnag.surrogate`), which :func:`jaxnag.registry.budget_form` fills in under a query budget
        for each one the user did not set (``jaxnag generate --budget B``; ``--plain`` keeps the defaults);
        or ``budgeted(space, budget) -> settings`` where the form depends on them (PG-NAG's prior is sized
        to the budget).

    Examples:
      >>> from jaxnag import registry
      >>> about = registry.get("random").about
      >>> about.description, about.small, sorted(about.settings)
      ('random search: distinct uniform architectures', {'budget': 20, 'batch': 10}, ['batch', 'budget'])
      >>> registry.get("random").small is about.small  # each field is readable on the generator too
      True
    """

    description: str = ""
    settings: dict = dataclasses.field(default_factory=dict)
    small: dict = dataclasses.field(default_factory=dict)
    open_context: Callable | None = None
    check: Callable | None = None
    describe: Callable | None = None
    budgeted: dict | Callable = dataclasses.field(default_factory=dict)


_ABOUT = tuple(f.name for f in dataclasses.fields(About))


@dataclasses.dataclass(frozen=True, init=False)
class Generator:
    """One generator: a pure core (a ``Config`` and the functions of the module docstring) and,
    beside it, :class:`About`: its description for the command line and the benchmarks.

    Attributes:
      name: registry name (``jaxnag generate --method NAME``).
      config_type: the ``Config`` class.
      config: ``config(space, **settings) -> Config``: the default config with ``settings``
        (the names in ``about.settings``) replaced, checked.
      init, ask, tell, generate, done: the protocol (module docstring).
      context: keyword arguments ``init``/``generate`` need besides the fitness.
      init_on_target: ``init_on_target(key, fitness, space, config) -> (state, spent)``, for a generator
        whose ``init`` may read the target itself when its context is absent (PG-NAG scoring its prior
        on target queries); ``spent`` is the :class:`jaxnag.archive.Archive` of those queries (a query
        budget counts them).
      report: ``report(state, config) -> dict``: the extras ``check`` reads, from a final state; a
        wrapper (budget, surrogate) puts them into its own result, so the wrapped check still holds.
      needs_values: ``needs_values(state) -> bool [n]``: which rows of the last ``ask`` need a fitness
        (a query budget's repeats are answered from its archive); :func:`run` evaluates only those.
        Default: every row.
      takes_vectors: whether ``tell`` takes a vector fitness ``[n, M]`` (``config.num_objectives`` wide:
        NSGA-II, :func:`jaxnag.pareto.with_objectives`); else one value per row.
      about: the :class:`About` (``description``, ``settings``, ``small``, ``open_context``, ``check``,
        ``describe``; each also readable as the generator's own attribute).

    Built as ``Generator(name, description, config_type, config, settings, init, ask, tell, generate,
    done, **keywords)``, the :class:`About` fields given by name (or ``about=``);
    :func:`dataclasses.replace` takes them by name too.

    Examples:
      >>> from jaxnag import protocol, registry, spaces
      >>> gen = registry.get("ednag")
      >>> cfg = gen.config(spaces.get("nb201"), population=8, steps=5)  # checked settings -> its Config
      >>> isinstance(gen, protocol.Generator), type(cfg) is gen.config_type, cfg.population, gen.context
      (True, True, 8, ())
      >>> registry.get("nsga2").takes_vectors  # its tell takes a vector fitness [n, M]
      True
      >>> try:
      ...     protocol.Generator("mine", "my method")
      ... except TypeError as e:
      ...     print(e)
      Generator 'mine' needs config_type, config, init, ask, tell, generate, done
    """

    name: str
    config_type: type
    config: Callable[..., Any]
    init: Callable
    ask: Callable
    tell: Callable
    generate: Callable
    done: Callable
    context: tuple[str, ...] = ()
    init_on_target: Callable | None = None
    report: Callable | None = None
    needs_values: Callable | None = None
    takes_vectors: bool = False
    about: About = About()

    def __init__(self, name: str, description: str | None = None, config_type: type | None = None,
                 config: Callable | None = None, settings: dict | None = None, init: Callable | None = None,
                 ask: Callable | None = None, tell: Callable | None = None, generate: Callable | None = None,
                 done: Callable | None = None, *, context: tuple[str, ...] = (), init_on_target: Callable | None = None,
                 report: Callable | None = None, needs_values: Callable | None = None, takes_vectors: bool = False,
                 about: About | None = None, **described):
        unknown = set(described) - set(_ABOUT)
        if unknown:
            raise TypeError(f"Generator got unexpected fields {sorted(unknown)}")
        missing = [n for n, v in (("config_type", config_type), ("config", config), ("init", init), ("ask", ask),
                                  ("tell", tell), ("generate", generate), ("done", done)) if v is None]
        if missing:
            raise TypeError(f"Generator {name!r} needs {', '.join(missing)}")
        given = {k: v for k, v in dict(described, description=description, settings=settings).items() if v is not None}
        copied = ("settings", "small", "budgeted")  # dicts copied; a budgeted form may be a function
        about = dataclasses.replace(about or About(), **{k: dict(v) if k in copied and not callable(v) else v
                                                         for k, v in given.items()})
        for k, v in dict(name=name, config_type=config_type, config=config, init=init, ask=ask, tell=tell,
                         generate=generate, done=done, context=tuple(context), init_on_target=init_on_target,
                         report=report, needs_values=needs_values, takes_vectors=bool(takes_vectors),
                         about=about).items():
            object.__setattr__(self, k, v)

    description = property(lambda self: self.about.description, doc="``about.description``")
    settings = property(lambda self: self.about.settings, doc="``about.settings``")
    small = property(lambda self: self.about.small, doc="``about.small``")
    open_context = property(lambda self: self.about.open_context, doc="``about.open_context``")
    check = property(lambda self: self.about.check, doc="``about.check``")
    describe = property(lambda self: self.about.describe, doc="``about.describe``")

    def context_for(self, settings: dict, target, data_dir=None) -> tuple[dict, dict]:
        """``(context, notes)`` for a run on ``target`` from the context settings (see ``open_context``)."""
        if self.open_context is None:
            return {}, {}
        return self.open_context(settings, target, data_dir)

    def check_result(self, result, config, notes: dict | None = None) -> None:
        """Raise where ``result`` (one run or a batch) is meaningless (see ``check``); else nothing."""
        if self.check is not None:
            self.check(result, config, notes or {})

    def wrapped(self, *, own_check: Callable | None = None, **overrides) -> Generator:
        """This generator under a wrapper (budget, surrogate) whose state and config hold the wrapped
        method's as ``state.inner`` / ``config.inner``: ``overrides`` replace fields (the wrapper's own
        functions); everything else is kept, and ``check`` (after the wrapper's ``own_check``) and
        ``report`` are forwarded to the wrapped method, so no behaviour is lost."""
        inner = self

        def check(result, config, notes):
            if own_check is not None:
                own_check(result, config, notes)
            if inner.check is not None:
                inner.check(result, config.inner, notes)
        report = None if inner.report is None else (lambda state, config: inner.report(state.inner, config.inner))
        describe = None if inner.describe is None else (
            lambda config, *rest: inner.describe(config.inner, *rest))
        return dataclasses.replace(self, **{"check": check, "report": report, "describe": describe,
                                            "needs_values": None, **overrides})  # rows of the wrapper's own ask

    def step(self, key, state, fitness, space, config):
        """Ask, evaluate ``fitness`` on the proposals, tell."""
        ops, state = self.ask(key, state, space, config)
        return self.tell(state, evaluate(fitness, ops), space, config)

    @property
    def jitted(self):
        """``(init, ask, tell)`` under ``jax.jit`` with the space static: compiled once per generator,
        space and config shapes (cached on the generator)."""
        cache = self.__dict__.get("_jitted")
        if cache is None:
            cache = (jax.jit(self.init, static_argnums=(1,)), jax.jit(self.ask, static_argnums=(2,)),
                     jax.jit(self.tell, static_argnums=(2,)))
            object.__setattr__(self, "_jitted", cache)
        return cache


def wrapper(build: Callable[[Generator], Generator]) -> Callable[[Generator], Generator]:
    """Decorate a wrapper (``gen -> Generator``, such as :func:`jaxnag.budget.with_budget`) so that it
    builds one wrapped generator per generator object: wrapping the same generator again returns the
    same object, whose compiled functions are then reused (nothing compiles twice).

    Examples:
      >>> import dataclasses
      >>> from jaxnag import protocol, registry
      >>> renamed = protocol.wrapper(lambda gen: dataclasses.replace(gen, description="wrapped"))
      >>> gen = registry.get("rea")
      >>> renamed(gen) is renamed(gen)
      True
    """
    made: dict = {}

    @functools.wraps(build)
    def once(gen: Generator) -> Generator:
        hit = made.get(id(gen))
        if hit is not None and hit[0] is gen:
            return hit[1]
        wrapped = build(gen)
        made[id(gen)] = (gen, wrapped)  # holding gen keeps its id unique
        return wrapped
    return once


def _host_values(got, n: int, width: int | None = None) -> np.ndarray:
    """What a host fitness returned for ``n`` architectures, as float64 ``[n]`` (or ``[n, width]`` for a
    vector fitness): exactly one number (vector) per architecture (a scalar for the batch, None, strings
    or another length are refused, never broadcast)."""
    if got is None:
        raise ConfigError(f"evaluate returned None for {n} architectures; it must return one number per "
                          "architecture (NaN for a failed evaluation)")
    arr = np.asarray(got)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == object):
        raise ConfigError(f"evaluate must return numbers, got dtype {arr.dtype}")
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ConfigError("evaluate must return numbers (NaN for a failed evaluation), got "
                          f"{str(got)[:80]!r}") from None
    if width is not None:
        if arr.shape != (n, width):
            raise ConfigError(f"evaluate must return {width} objectives per architecture: {n} asked, an array of "
                              f"shape {arr.shape} returned, expected ({n}, {width})")
        return arr
    if arr.shape != (n,) and arr.shape != (n, 1):
        raise ConfigError(f"evaluate must return one value per architecture: {n} asked, an array of shape "
                          f"{arr.shape} returned")
    return arr.reshape(n)


def run(generator: Generator, key: jax.Array, evaluate: Callable, space, config, *, max_rounds: int = 1_000_000,
        callback: Callable | None = None, **context) -> Result:
    """Drive ``generator`` with a host fitness: ``evaluate(ops: np.ndarray [n, R]) -> [n]`` floats
    (NaN for a failed evaluation), called once per round outside JAX.

    ``init``, ``ask`` and ``tell`` run compiled (once per generator, space and config shape);
    round ``r`` asks with ``fold_in(key, r)``. Under a query budget (:mod:`jaxnag.budget`) only the
    new queries within the budget are evaluated (the others get NaN, which the generator never sees). ``callback(round, ops, values, state)`` sees each
    round. Returns a :class:`Result` whose trace has one entry per round.

    Raises:
      ConfigError: ``evaluate`` returned the wrong number of values.
      GenerationError: the run did not finish within ``max_rounds``.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import protocol, registry, spaces
      >>> space, gen = spaces.get("nasbench_graph"), registry.get("random")
      >>> seen = []  # each round's values, as the host saw them
      >>> res = protocol.run(gen, jax.random.key(0), lambda ops: ops.sum(axis=1).astype(np.float64), space,
      ...                    gen.config(space, budget=20), callback=lambda r, ops, v, s: seen.append(v))
      >>> int(res.extras["rounds"]), res.queries_trace.tolist(), float(res.best_fitness) == float(np.max(seen))
      (1, [20], True)
    """
    if not callable(evaluate):
        raise ConfigError(f"evaluate must be a callable ops [n, R] -> values [n], got {type(evaluate).__name__}")
    init, ask, tell = generator.jitted
    width = getattr(config, "num_objectives", None) if generator.takes_vectors else None
    width = width if width and width > 1 else None  # one objective: one value per architecture
    k_init, k_run = jax.random.split(key)
    state = init(k_init, space, config, **context)
    best, queries = [], []
    r = 0
    while not bool(generator.done(state, config)):
        if r >= max_rounds:
            raise GenerationError(f"{generator.name} did not finish in {max_rounds} rounds")
        ops, state = ask(jax.random.fold_in(k_run, r), state, space, config)
        ops_np = np.asarray(ops)
        # a generator may say which rows need a value (a budget's repeats are answered from its archive)
        rows = np.flatnonzero(np.asarray(generator.needs_values(state))) if generator.needs_values else \
            np.arange(len(ops_np))
        values = np.full((len(ops_np),) + ((width,) if width else ()), np.nan)
        if rows.size:
            values[rows] = _host_values(evaluate(ops_np[rows]), rows.size, width)
        state = tell(state, jnp.asarray(values, jnp.float32), space, config)
        if callback is not None:
            callback(r, ops_np, values, state)
        best.append(float(state.best_fitness))
        queries.append(int(state.queries))
        r += 1
    extras = {} if generator.report is None else generator.report(state, config)
    return trace_result(state.best_ops, state.best_fitness, state.queries, jnp.asarray(best, jnp.float32),
                        jnp.asarray(queries, jnp.int32), rounds=jnp.int32(r), **extras)


# ----------------------------------------------------------------------------- a generator from four functions
@reads_archive
class Tracked(NamedTuple):
    """The state of a generator built by :func:`generator`: the user's own ``inner`` state, the run's
    query archive (:mod:`jaxnag.archive`), the last proposals and the rounds told.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from typing import NamedTuple
      >>> from jaxnag import protocol, spaces
      >>> class Config(NamedTuple):
      ...     rounds: int = 3
      >>> def init(key, space, config): return jnp.int32(0)  # the user's own state: rounds told
      >>> def ask(key, state, space, config): return jnp.zeros((2, space.num_slots), jnp.int32), state
      >>> def tell(state, values, space, config): return state + 1
      >>> def done(state, config): return state >= config.rounds
      >>> gen, space = protocol.generator("zeros", Config, init, ask, tell, done), spaces.get("nb201")
      >>> s = jax.eval_shape(lambda k: gen.init(k, space, gen.config(space)), jax.random.key(0))
      >>> type(s).__name__, s._fields, s.pending.shape  # the proposals of one ask: [2, R]
      ('Tracked', ('inner', 'archive', 'pending', 'rounds'), (2, 6))
    """

    inner: Any
    archive: Any
    pending: jax.Array
    rounds: jax.Array


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class Static:
    """A config held as compile-time constants (a pytree without leaves): what :func:`generator` makes of
    a NamedTuple or plain dataclass ``Config``, so its fields can be shapes and loop counts.

    Examples:
      >>> import jax
      >>> from typing import NamedTuple
      >>> from jaxnag import protocol
      >>> class Config(NamedTuple):
      ...     rounds: int = 3
      >>> cfg = protocol.Static(Config())
      >>> jax.tree_util.tree_leaves(cfg), cfg.replace(rounds=5).value  # no leaves: nothing traced
      ([], Config(rounds=5))
    """

    value: Any

    def replace(self, **kw) -> "Static":
        """A copy with the config's fields ``kw`` changed."""
        v = self.value
        return Static(v._replace(**kw) if hasattr(v, "_replace") else dataclasses.replace(v, **kw))


def _has_leaves(config_type) -> bool:
    """Whether ``config_type`` is a dataclass registered as a pytree (its leaves then sweepable by
    ``vmap``); a NamedTuple or an unregistered class is held :class:`Static`."""
    if not dataclasses.is_dataclass(config_type):
        return False
    try:
        default = config_type()
    except TypeError:  # fields without defaults: cannot tell, so hold it static
        return False
    return jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(default)) is False


def _settings_of(config_type) -> dict:
    """A Config class's fields with defaults, as settings (CLI flags named after the fields)."""
    from .registry import Setting
    if dataclasses.is_dataclass(config_type):
        defaults = {f.name: f.default for f in dataclasses.fields(config_type) if f.default is not dataclasses.MISSING}
    else:
        defaults = dict(getattr(config_type, "_field_defaults", {}))
    out = {}
    for name, default in defaults.items():
        kind = type(default) if isinstance(default, (bool, int, float, str)) else None
        if kind is not None:
            out[name] = Setting(default, kind, f"{config_type.__name__}.{name}")
    return out


def generator(name: str, config, init: Callable, ask: Callable, tell: Callable, done: Callable, *,
              description: str = "", settings: dict | None = None, small: dict | None = None,
              context: tuple[str, ...] = (), max_rounds: int = 1000, check: Callable | None = None,
              capacity: int | None = None) -> Generator:
    """A :class:`Generator` from four pure functions, with ``step``, ``generate`` and the bookkeeping
    derived: a user writes ``init``, ``ask``, ``tell``, ``done`` over their own state, and the run's
    archive (distinct queries, best so far) is kept for them (:class:`Tracked`).

    Args:
      name: the registry name (``--method NAME`` once :func:`jaxnag.registry.register`-ed).
      config: the ``Config`` class (a NamedTuple or a dataclass, with defaults: its fields become the
        settings, ``--field-name`` flags), or a function ``config(space, **settings) -> Config``
        (then give ``settings``). A NamedTuple or plain dataclass is held :class:`Static` (its fields
        can be shapes; each value compiles once); a dataclass registered as a pytree keeps its leaves
        traced (sweepable by ``vmap``, as EDNAG's ``Config``).
      init: ``init(key, space, config, **context) -> state``.
      ask: ``ask(key, state, space, config) -> (ops [n, R], state)``.
      tell: ``tell(state, values [n], space, config) -> state`` (NaN: a failed evaluation).
      done: ``done(state, config) -> bool``.
      settings: ``{name: jaxnag.registry.Setting}`` (default: the Config class's fields).
      small: settings for a quick run (tests, examples).
      max_rounds: rounds of ``generate`` at most (the length of its per-round traces).
      check: ``check(result, config, notes)``: a host-side refusal of a meaningless result.
      capacity: distinct architectures the query archive holds on a space too large for a bit set
        (over 2^24; :mod:`jaxnag.archive`); default ``max_rounds`` times the proposals per round.

    ``generate``'s :class:`Result` has one trace entry per round (``best_trace[r]``, ``queries_trace[r]``
    after round ``r``, the final values repeated past the last round) and ``extras["rounds"]``. ``ask``
    on a finished run raises where it can tell (outside ``jit``).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from typing import NamedTuple
      >>> from jaxnag import protocol, spaces, tables
      >>> class Config(NamedTuple):
      ...     rounds: int = 20
      >>> def init(key, space, config): return (space.random(key), jnp.float32(-jnp.inf), jnp.int32(0))
      >>> def ask(key, state, space, config):
      ...     cur, _, _ = state  # one random neighbour of the current architecture
      ...     nbrs, ok = space.neighbours(cur)
      ...     w = ok.astype(jnp.float32)
      ...     return nbrs[jax.random.choice(key, nbrs.shape[0], p=w / w.sum())][None], state
      >>> def tell(state, values, space, config): return state[0], state[1], state[2] + 1  # a random walk
      >>> def done(state, config): return state[2] >= config.rounds
      >>> walk = protocol.generator("walk", Config, init, ask, tell, done)
      >>> s, t = spaces.get("nb201"), tables.load("nb201", "cifar10")
      >>> res = jax.jit(lambda k: walk.generate(k, t, s, Config()))(jax.random.key(0))
      >>> int(res.extras["rounds"]), 1 <= int(res.queries) <= 20
      (20, True)
    """
    from . import archive as archive_lib
    _unwrap = lambda c: c.value if isinstance(c, Static) else c  # noqa: E731
    if not all(callable(f) for f in (init, ask, tell, done)):
        raise ConfigError("generator needs four functions: init, ask, tell and done")
    if isinstance(config, type):
        leaves = _has_leaves(config)
        config_type, build = config, (lambda space, **kw: config(**kw) if leaves else Static(config(**kw)))
        settings = _settings_of(config) if settings is None else settings
    elif callable(config):
        config_type, build = object, config
        settings = {} if settings is None else settings
    else:
        raise ConfigError(f"config must be the Config class or a function config(space, **settings), got {config!r}")

    def t_init(key, space, config, **ctx):
        config = _unwrap(config)
        inner = user_init(key, space, config, **ctx)
        n = jax.eval_shape(lambda k, s: user_ask(k, s, space, config)[0], key, inner).shape
        if len(n) != 2 or n[1] != space.num_slots:
            raise ConfigError(f"{name}: ask must return ops of shape [n, {space.num_slots}], got {list(n)}")
        held = capacity if capacity is not None else max_rounds * n[0]
        return Tracked(inner, archive_lib.init(space, held), jnp.zeros(n, jnp.int32), jnp.int32(0))

    def t_ask(key, state, space, config):
        finished = t_done(state, config)
        if is_concrete(finished) and bool(finished):
            raise ConfigError(f"this {name} run is finished ({int(state.rounds)} rounds told): start a new one with "
                              "init")
        ops, inner = user_ask(key, state.inner, space, _unwrap(config))
        ops = jnp.asarray(ops, jnp.int32)
        return ops, state._replace(inner=inner, pending=ops)

    def t_tell(state, values, space, config):
        values = jnp.asarray(values, jnp.float32)
        if values.shape != state.pending.shape[:1]:
            raise ConfigError(f"{name}: tell takes one value per proposal: shape {state.pending.shape[:1]}, got "
                              f"{values.shape}")
        inner = user_tell(state.inner, values, space, _unwrap(config))
        return Tracked(inner, archive_lib.update(state.archive, state.pending, values, space), state.pending,
                       state.rounds + 1)

    def t_done(state, config):
        return jnp.asarray(user_done(state.inner, _unwrap(config)), bool)

    def t_generate(key, fitness, space, config, **ctx):
        k_init, k_run = jax.random.split(key)
        state = t_init(k_init, space, config, **ctx)
        best = jnp.full(max_rounds, -jnp.inf, jnp.float32)
        queries = jnp.zeros(max_rounds, jnp.int32)

        def body(carry):
            s, b, q = carry
            ops, s = t_ask(jax.random.fold_in(k_run, s.rounds), s, space, config)
            s = t_tell(s, evaluate(fitness, ops), space, config)
            return s, b.at[s.rounds - 1].set(s.best_fitness), q.at[s.rounds - 1].set(s.queries)
        state, best, queries = loop(lambda c: ~t_done(c[0], config) & (c[0].rounds < max_rounds), body,
                                    (state, best, queries))
        # past the last round the traces hold their final values (both never decrease)
        best, queries = jax.lax.cummax(best), jax.lax.cummax(queries)
        return trace_result(state.best_ops, state.best_fitness, state.queries, best, queries, rounds=state.rounds)

    user_init, user_ask, user_tell, user_done = init, ask, tell, done
    return Generator(name, description or f"{name} (user generator)", config_type, build, dict(settings), t_init,
                     t_ask, t_tell, t_generate, t_done, context=tuple(context), small=dict(small or {}), check=check)
