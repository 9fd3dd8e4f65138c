"""Any generator on a vector fitness: the Pareto front of the run, its hypervolume after each query.

:func:`with_objectives` wraps a :class:`~jaxnag.protocol.Generator` (EDNAG, PG-NAG, DiffusionNAG,
REA, random search, evosax, a budgeted one, a user's) so that its fitness is a vector ``[n, M]``
(:func:`jaxnag.tables.objectives`), in the same protocol and one compiled program:

- every evaluated architecture enters the run's Pareto archive (:class:`Front`); the result is that
  front (``extras["front_ops"]``, ``["front_values"]``, ``["front_size"]``), and its hypervolume is the
  run's ``best_fitness``, with ``best_trace[q]`` the hypervolume after ``q + 1`` unique queries;
- the hypervolume is EvoXBench's: objectives normalised between the exact front's nadir (0, the
  reference point) and ideal (1) points, so 1 is the whole box and the exact front's share is
  :func:`jaxnag.pareto.exact_share`;
- a generator that takes vectors (NSGA-II, Pareto local search, EDNAG) is told them; any other is
  told a scalar per architecture, its standing among the front found so far and its batch
  (``shaping="rank"``: :func:`standing`, ``-rank + c / (1 + c)`` with ``rank`` its non-dominated rank and ``c``
  its crowding distance, as NSGA-II selects), so a scalar method climbs toward the front and spreads along it.

Examples:
  >>> import jax
  >>> from jaxnag import pareto, registry, spaces, tables
  >>> space, obj = spaces.get("nasbench_graph"), tables.objectives("nasbench_graph", "cora", "test,latency")
  >>> gen = pareto.with_objectives(registry.get("rea"))
  >>> cfg = gen.config(space, objectives=obj, budget=100, population=20, sample=5)
  >>> res = jax.jit(lambda k: gen.generate(k, obj, space, cfg))(jax.random.key(0))
  >>> int(res.queries), 0.0 < float(res.best_fitness) <= 1.0
  (100, True)
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import archive as archive_lib
from ..errors import ConfigError, check_int
from ..protocol import Generator, loop, trace_result, wrapper
from ._dominance import standing, usable
from ._front import Front, empty, insert_one
from ._indicators import EXACT_MAX, check_exact, hypervolume, normalise

__all__ = ["Config", "SHAPINGS", "State", "with_objectives"]

SHAPINGS = ("rank",)
DEFAULT_TRACE = 1000  # hypervolume entries kept where the generator has no budget of its own


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Config:
    """The wrapped generator's config and the objectives' scale.

    Attributes:
      inner: the generator's own config.
      ideal, nadir: the points the hypervolume normalises to 1 and 0 (fitness units; static tuples of ``M``
        floats). ``generate`` reads them from the :class:`~jaxnag.tables.Objectives` it is given instead.
      capacity: architectures the front holds (static).
      trace: unique queries the hypervolume trace covers (static).
      shaping: how a scalar generator is told a vector (static; ``"rank"``).
    """

    inner: Any
    ideal: tuple = dataclasses.field(metadata=dict(static=True), default=())
    nadir: tuple = dataclasses.field(metadata=dict(static=True), default=())
    capacity: int = dataclasses.field(metadata=dict(static=True), default=128)
    trace: int = dataclasses.field(metadata=dict(static=True), default=DEFAULT_TRACE)
    shaping: str = dataclasses.field(metadata=dict(static=True), default="rank")

    @property
    def num_objectives(self) -> int:
        return len(self.ideal)

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed."""
        return dataclasses.replace(self, **kw)


class State(NamedTuple):
    """Attributes:
      inner: the generator's own state.
      archive: the run's query archive (distinct architectures evaluated; its best is the first
        objective's).
      front: the run's Pareto archive (:class:`Front`).
      hv_trace: float32 ``[trace]``, the hypervolume after each unique query (0 before).
      hv: float32, the front's hypervolume now.
      ideal, nadir: float32 ``[M]``, the hypervolume's scale (the config's, or the objectives').
      pending: int32 ``[n, R]``, the last ask's architectures.
      rounds: ask/tell rounds so far.
    """

    inner: Any
    archive: archive_lib.Archive
    front: Front
    hv_trace: jax.Array
    hv: jax.Array
    ideal: jax.Array
    nadir: jax.Array
    pending: jax.Array
    rounds: jax.Array

    @property
    def queries(self):
        """Distinct valid architectures evaluated."""
        return self.archive.queries

    @property
    def best_fitness(self):
        """The front's hypervolume (normalised: see the module doc)."""
        return self.hv

    @property
    def best_ops(self):
        """The front's architecture best in the first objective."""
        return self.archive.best_ops


def _hv(values, valid, ideal, nadir, presorted: bool = False):
    m = values.shape[-1]
    check_exact(m)
    return hypervolume(normalise(values, ideal, nadir), jnp.zeros(m), valid, presorted=presorted)


def _scalar(front: Front, values, ok):
    """Each row's standing among the front and the batch (:func:`standing`); NaN where failed."""
    pool = jnp.concatenate([front.values, values])
    return standing(pool, jnp.concatenate([front.mask, ok]))[front.values.shape[0]:]


@wrapper
def with_objectives(gen: Generator) -> Generator:
    """``gen`` on a vector fitness (module doc): ``config(space, objectives=obj, capacity=128, trace=None,
    shaping="rank", **settings)`` (or ``ideal=``, ``nadir=`` instead of ``objectives``); the other settings
    are ``gen``'s. ``generate(key, objectives, space, config, **context)`` reads the hypervolume's scale from
    the :class:`~jaxnag.tables.Objectives` it is given (so a ``vmap`` over
    :func:`jaxnag.tables.stack_objectives` scales each task by its own exact front).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import pareto, registry, spaces
      >>> space, rea = spaces.get("nb201"), registry.get("rea")
      >>> gen = pareto.with_objectives(rea)
      >>> gen is pareto.with_objectives(rea), gen.takes_vectors  # one wrapped generator per generator
      (True, True)
      >>> cfg = gen.config(space, ideal=[1.0, 0.0], nadir=[0.0, -1.0], budget=50, population=10, sample=3)
      >>> fitness = lambda ops: jnp.stack([jnp.mean(ops == 3, axis=-1), -jnp.mean(ops == 0, axis=-1)], axis=-1)
      >>> res = jax.eval_shape(lambda k: gen.generate(k, fitness, space, cfg), jax.random.key(0))  # shapes only
      >>> cfg.num_objectives, res.extras["front_values"].shape, res.best_trace.shape  # capacity 128, budget 50
      (2, (128, 2), (50,))
    """
    if gen.takes_vectors and "num_objectives" not in gen.settings:
        raise ConfigError(f"{gen.name} takes vectors but has no num_objectives setting")

    def config(space, objectives=None, ideal=None, nadir=None, capacity=128, trace=None, shaping="rank",
               **settings):
        if objectives is not None:
            ideal = objectives.ideal if ideal is None else ideal
            nadir = objectives.nadir if nadir is None else nadir
        if ideal is None or nadir is None:
            raise ConfigError("multi-objective generation needs the objectives (tables.objectives(...)) or their "
                              "ideal and nadir points, which scale the hypervolume")
        ideal, nadir = np.asarray(ideal, np.float32), np.asarray(nadir, np.float32)
        if ideal.ndim != 1 or ideal.shape != nadir.shape or ideal.shape[0] < 2:
            raise ConfigError(f"ideal and nadir need one value per objective (at least two), got shapes "
                              f"{ideal.shape} and {nadir.shape}")
        if not (np.all(np.isfinite(ideal)) and np.all(np.isfinite(nadir))):
            raise ConfigError("the ideal and nadir points must be finite (a space too large to enumerate has no "
                              "exact front: give them yourself)")
        if np.any(ideal < nadir):
            raise ConfigError(f"the ideal point {ideal.tolist()} is worse than the nadir {nadir.tolist()} in some "
                              "objective (fitness is maximised: a cost's values are negated)")
        if ideal.shape[0] > EXACT_MAX:
            raise ConfigError(f"the hypervolume trace is exact for at most {EXACT_MAX} objectives, got "
                              f"{ideal.shape[0]}: drop an objective")
        if shaping not in SHAPINGS:
            raise ConfigError(f"unknown shaping {shaping!r}; available: {', '.join(SHAPINGS)}")
        if gen.takes_vectors:
            settings = dict(settings, num_objectives=int(ideal.shape[0]))
        inner = gen.config(space, **settings)
        if trace is None:
            trace = getattr(inner, "budget", None) or settings.get("budget") or DEFAULT_TRACE
        check_int("trace", trace, lo=1)
        check_int("capacity", capacity, lo=1, hi=1 << 14)
        return Config(inner, tuple(float(x) for x in ideal), tuple(float(x) for x in nadir), int(capacity), int(trace),
                      shaping)

    def init(key, space, config, **context):
        inner = gen.init(key, space, config.inner, **context)
        n = jax.eval_shape(lambda k, s: gen.ask(k, s, space, config.inner)[0], key, inner).shape[0]
        return State(inner, archive_lib.init(space, max(config.trace, archive_lib.CAPACITY)),
                     empty(config.capacity, space.num_slots, config.num_objectives),
                     jnp.zeros(config.trace, jnp.float32), jnp.float32(0.0), jnp.asarray(config.ideal, jnp.float32),
                     jnp.asarray(config.nadir, jnp.float32), jnp.zeros((n, space.num_slots), jnp.int32), jnp.int32(0))

    def ask(key, state, space, config):
        ops, inner = gen.ask(key, state.inner, space, config.inner)
        ops = jnp.asarray(ops, jnp.int32)
        return ops, state._replace(inner=inner, pending=ops)

    def tell(state, values, space, config):
        m = config.num_objectives
        ops = state.pending
        values = jnp.asarray(values, jnp.float32)
        if values.shape != (ops.shape[0], m):
            raise ConfigError(f"a multi-objective tell takes {m} objectives per architecture: shape "
                              f"({ops.shape[0]}, {m}), got {values.shape}")
        evaluated = gen.needs_values(state.inner) if gen.needs_values is not None else jnp.ones(ops.shape[0], bool)
        values = jnp.where(evaluated[:, None], values, jnp.nan)
        ok = usable(values) & space.is_valid(ops)
        told = values if gen.takes_vectors else _scalar(state.front, values, ok)
        inner = gen.tell(state.inner, told, space, config.inner)
        held, new = archive_lib.insert(state.archive, ops, values[:, 0], space, admit=evaluated)  # failed: a query
        # each new query enters the front in row order, and the hypervolume after it is written at its number. Only
        # the new queries that can change the front go through the loop: a query covered (dominated or equalled) by
        # the front held before this round or by an earlier new query leaves it as it is (dominance is transitive),
        # exact while the front has room for every query not covered (only those can enter, so no row is dropped
        # for room); a front that could fill up takes every new query through the loop.
        n = ops.shape[0]
        order = jnp.nonzero(new, size=n, fill_value=n)[0]
        count = jnp.sum(new).astype(jnp.int32)
        position = jnp.arange(n)
        rows = jnp.minimum(order, n - 1)  # the new queries' rows (the padding clamped to a real one, not live)
        vals, live = values[rows], ok[rows] & (position < count)
        geq = lambda a, b: jnp.all(a[None, :, :] >= b[:, None, :], axis=-1)  # noqa: E731  [row of b, row of a]
        covered = (jnp.any(state.front.mask[None, :] & geq(state.front.values, vals), axis=1)
                   | jnp.any(live[None, :] & (position[None, :] < position[:, None]) & geq(vals, vals), axis=1))
        room = state.front.size + jnp.sum(live & ~covered) <= config.capacity
        candidates = live & (~covered | ~room)
        which = jnp.nonzero(candidates, size=n, fill_value=n)[0]  # positions among the new queries
        steps = jnp.sum(candidates).astype(jnp.int32)
        done = jnp.maximum(state.archive.queries, 0)

        def enter(c):
            front, hvs, k = c
            row = order[which[k]]
            front = insert_one(front, ops[row], values[row], ok[row])
            hv = _hv(front.values, front.mask, state.ideal, state.nadir, presorted=True)
            return front, hvs.at[k].set(hv), k + 1
        front, hvs, _ = jax.lax.while_loop(lambda c: c[2] < steps, enter,
                                           (state.front, jnp.zeros(n, jnp.float32), jnp.int32(0)))
        # every new query's entry: the hypervolume after the last loop step at or before it
        last = jnp.sum(which[None, :] <= position[:, None], axis=1) - 1
        after = jnp.where(last >= 0, hvs[jnp.maximum(last, 0)], state.hv)
        trace = state.hv_trace.at[jnp.where(position < count, done + position, config.trace)].set(after, mode="drop")
        hv = jnp.where(steps > 0, hvs[jnp.maximum(steps - 1, 0)], state.hv)
        return State(inner, held, front, trace, hv, state.ideal, state.nadir, ops, state.rounds + 1)

    def done(state, config):
        return gen.done(state.inner, config.inner)

    def report(state, config):
        extras = {} if gen.report is None else gen.report(state.inner, config.inner)
        front = state.front
        return dict(extras, front_ops=front.ops, front_values=front.values, front_size=front.size,
                    front_truncated=front.truncated, hypervolume=state.hv)

    def generate(key, fitness, space, config, **context):
        k_init, k_run = jax.random.split(key)
        state = init(k_init, space, config, **context)
        if hasattr(fitness, "ideal") and hasattr(fitness, "nadir"):  # Objectives: the scale is the task's own
            state = state._replace(ideal=jnp.asarray(fitness.ideal, jnp.float32),
                                   nadir=jnp.asarray(fitness.nadir, jnp.float32))

        def body(s):
            ops, s = ask(jax.random.fold_in(k_run, s.rounds), s, space, config)
            return tell(s, jnp.asarray(fitness(ops), jnp.float32), space, config)
        state = loop(lambda s: ~done(s, config), body, state)
        queries = jnp.maximum(state.queries, 0)
        trace = jax.lax.cummax(state.hv_trace)
        at = jnp.minimum(jnp.arange(1, config.trace + 1, dtype=jnp.int32), queries)
        rep = report(state, config)
        return trace_result(state.best_ops, rep["hypervolume"], state.queries, trace, at, rounds=state.rounds,
                            **rep)

    from ..registry import Setting
    settings = dict(gen.settings)
    settings.pop("num_objectives", None)
    settings.update(capacity=Setting(128, help="architectures the Pareto archive holds"),
                    shaping=Setting("rank", str, help="how a scalar generator is told a vector: rank"))
    return gen.wrapped(description=f"{gen.description} (multi-objective)", config_type=Config, config=config,
                       settings=settings, init=init, ask=ask, tell=tell, generate=generate, done=done,
                       report=report, takes_vectors=True,
                       needs_values=None if gen.needs_values is None else (lambda s: gen.needs_values(s.inner)))
