"""A query budget for any generator: at most ``B`` unique queries, repeats answered from the run's archive.

:func:`with_budget` turns any :class:`~jaxnag.protocol.Generator` (EDNAG, PG-NAG, DiffusionNAG,
the baselines) into one that speaks the same protocol and, inside the compiled program (fixed
shapes):

- evaluates a proposal only if it is a new unique query (its :meth:`~jaxnag.spaces.SearchSpace.query_id`
  not seen before in the run, first in its batch) and the budget has room;
- answers a repeated architecture from the run's own archive (its earlier value, not counted);
- hands proposals beyond the budget, and invalid ones, to the generator as failures (NaN),
  unevaluated; the run stops when the budget is spent or the generator is done;
- records the best fitness after each unique query (``best_trace [B]``, ``queries_trace = 1..B`` capped at
  the queries made),
  which is what a comparison of generators at equal unique queries reads.

Queries a generator makes in its ``init`` (PG-NAG without a source scores its prior on B target
queries, ``Generator.init_on_target``) count against the budget as one block: the archive does not know their values (a repeat of one is
answered as a failure), and the trace holds their best at the block's last query.

The wrapped state says which rows of the last ``ask`` need evaluating (``to_evaluate``), so the
host driver :func:`jaxnag.protocol.run` spends no evaluation on a repeat or beyond the budget.

Examples:
  >>> import jax
  >>> from jaxnag import budget, registry, spaces, tables
  >>> space, t = spaces.get("nb201"), tables.load("nb201", "cifar10")
  >>> gen = budget.with_budget(registry.get("ednag"))
  >>> cfg = gen.config(space, budget=100, population=20, steps=50)
  >>> res = jax.jit(lambda k: gen.generate(k, t, space, cfg))(jax.random.key(0))
  >>> int(res.queries), res.best_trace.shape
  (100, (100,))
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import archive
from .errors import ConfigError, GenerationError, check_int
from .protocol import Generator, evaluate, loop, trace_result, value_shape, wrapper

__all__ = ["Config", "State", "with_budget"]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Config:
    """The wrapped generator's config and the budget.

    Attributes:
      inner: the generator's own config (its rounds should be enough to spend the budget).
      budget: unique queries allowed (static: the trace has this length).
      max_rounds: rounds at most (static), a guard for a generator that stops proposing new
        architectures.

    Examples:
      >>> import jax
      >>> from jaxnag import budget
      >>> cfg = budget.Config(inner={"population": 4}, budget=50)  # with_budget(gen).config(...) makes one
      >>> cfg.budget, cfg.max_rounds, cfg.replace(budget=10).budget
      (50, 100000, 10)
      >>> jax.tree.leaves(cfg)  # budget and max_rounds are static: the leaves are the inner config's
      [4]
    """

    inner: Any
    budget: int = dataclasses.field(metadata=dict(static=True), default=300)
    max_rounds: int = dataclasses.field(metadata=dict(static=True), default=100_000)

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)


@archive.reads_archive
class State(NamedTuple):
    """The wrapped generator's state and the run's archive.

    Attributes:
      inner: the generator's own state.
      archive: the run's query archive (:mod:`jaxnag.archive`): the architectures evaluated and their
        values, ``queries`` (distinct ones evaluated), ``best_ops``, ``best_fitness`` (also readable as
        the state's own attributes) and the best after each of the ``B`` queries (``archive.trace``).
      pending: int32 ``[n, R]``: the last ``ask``'s architectures.
      to_evaluate: bool ``[n]``: which of them are new queries within the budget.
      rounds: int32, ask/tell rounds so far.

    Examples:
      >>> import jax
      >>> from jaxnag import budget, registry, spaces
      >>> space = spaces.get("nb201")
      >>> gen = budget.with_budget(registry.get("rea"))
      >>> cfg = gen.config(space, budget=12, population=4, sample=2)
      >>> st = jax.eval_shape(lambda k: gen.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> st._fields
      ('inner', 'archive', 'pending', 'to_evaluate', 'rounds')
      >>> st.pending.shape, st.to_evaluate.dtype, st.archive.trace.shape, st.queries.dtype  # a trace of B entries
      ((1, 6), dtype('bool'), (12,), dtype('int32'))
    """

    inner: Any
    archive: archive.Archive
    pending: jax.Array
    to_evaluate: jax.Array
    rounds: jax.Array


@wrapper
def with_budget(gen: Generator) -> Generator:
    """``gen`` under a query budget (module doc): ``config(space, budget=B, max_rounds=..., **settings)``,
    the other settings being ``gen``'s; same context, same protocol.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import budget, registry, spaces
      >>> space = spaces.get("nb201")
      >>> gen = budget.with_budget(registry.get("rea"))
      >>> gen is budget.with_budget(registry.get("rea")), gen.description  # built once per generator
      (True, 'regularized evolution (Real et al. 2019) (query budget)')
      >>> cfg = gen.config(space, budget=12, population=4, sample=2)  # REA's own budget is the same
      >>> cfg.budget, cfg.inner.budget, cfg.inner.population
      (12, 12, 4)
      >>> fitness = lambda ops: jnp.sum(ops, axis=-1).astype(jnp.float32)
      >>> res = jax.eval_shape(lambda k: gen.generate(k, fitness, space, cfg), jax.random.key(0))
      >>> res.best_trace.shape, res.queries_trace.shape  # one entry per query of the budget
      ((12,), (12,))
    """

    def _width(config) -> tuple:  # one value per query, or (M,) where the generator is told vectors
        return value_shape(getattr(config.inner, "num_objectives", 1) if gen.takes_vectors else 1)

    def config(space, budget=300, max_rounds=100_000, **settings):
        space.check_budget(budget)
        check_int("max_rounds", max_rounds, lo=1)
        if "budget" in gen.settings:  # a baseline with its own budget (random search, REA): the same one
            settings = dict(settings, budget=budget)
        return Config(gen.config(space, **settings), int(budget), int(max_rounds))

    def init(key, space, config, *, _fitness=None, **context):
        if _fitness is not None:
            spend = getattr(config.inner, "init_queries", None)  # the most target queries the method's init makes
            spend = spend(space) if callable(spend) else 0
            if spend > config.budget:
                raise ConfigError(f"{gen.name}'s init can make up to {spend:,} unique target queries (scoring its "
                                  f"prior: the random draws and the Shapley coalitions of the top-k), more than the "
                                  f"query budget {config.budget:,}: raise the budget to {spend:,}, lower k or "
                                  "prior_budget, use prior_method loo (the fewest coalitions), or score the prior on "
                                  "another table (prior_from)")
            inner, spent = gen.init_on_target(key, _fitness, space, config.inner)
        else:
            inner, spent = gen.init(key, space, config.inner, **context), None
        n = jax.eval_shape(lambda k, s: gen.ask(k, s, space, config.inner)[0], key, inner).shape[0]
        hashed = spent is not None and not archive.fits(space)  # init's queries are a hash set's rows
        room = spent.seen.rows.shape[0] if hashed else 0
        width = _width(config)
        held = archive.init(space, config.budget + room, keep_values=width[0] if width else True, trace=config.budget)
        if spent is not None:  # the target queries init made (PG-NAG scoring its prior): they count, as a block
            if hashed:  # inserted into the budget's own hash set, values unknown
                rows = spent.seen.rows
                held, _ = archive.insert(held, rows, jnp.full((rows.shape[0], *width), jnp.nan, jnp.float32), space,
                                         admit=rows[:, 0] >= 0)
            else:  # a bit set, the same kind as the budget's own: taken over
                held = held._replace(seen=spent.seen)
            queries = jnp.maximum(spent.queries, 0).astype(jnp.int32)
            best = spent.best_fitness.astype(jnp.float32)
            held = held._replace(queries=queries, best_ops=spent.best_ops.astype(jnp.int32),
                                 best_fitness=best, trace=held.trace.at[
                                     jnp.where(queries > 0, queries - 1, config.budget)].set(best, mode="drop"))
        return State(inner, held, jnp.zeros((n, space.num_slots), jnp.int32), jnp.zeros(n, bool), jnp.int32(0))

    def ask(key, state, space, config):
        ops, inner = gen.ask(key, state.inner, space, config.inner)
        ops = jnp.asarray(ops, jnp.int32)
        admitted = archive.admit(state.archive, ops, space, config.budget)
        return ops, state._replace(inner=inner, pending=ops, to_evaluate=admitted)

    def tell(state, values, space, config):
        ops, admitted = state.pending, state.to_evaluate  # what ask admitted (the archive has not changed since)
        values = jnp.asarray(values, jnp.float32)
        # a repeat is answered from the archive (NaN where its evaluation failed); beyond the budget: NaN
        rows = admitted.reshape(admitted.shape + (1,) * len(_width(config)))  # a vector fitness: whole rows
        answered = jnp.where(rows, values, archive.lookup(state.archive, ops, space))
        inner = gen.tell(state.inner, answered, space, config.inner)
        # the admitted are the new queries: their values kept, the best after each at its query number
        held, _ = archive.insert(state.archive, ops, values, space, admit=admitted)
        return state._replace(inner=inner, archive=held, to_evaluate=jnp.zeros_like(state.to_evaluate),
                              rounds=state.rounds + 1)

    def done(state, config):
        return gen.done(state.inner, config.inner) | (state.queries >= config.budget) | (state.rounds >= config.max_rounds)

    def generate(key, fitness, space, config, **context):
        k_init, k_run = jax.random.split(key)
        on_target = gen.init_on_target is not None and all(context.get(c) is None for c in gen.context)
        state = init(k_init, space, config, _fitness=fitness if on_target else None,
                     **({} if on_target else context))

        def body(s):
            ops, s = ask(jax.random.fold_in(k_run, s.rounds), s, space, config)
            # fixed shapes: the fitness sees every row; only the admitted ones' values are used
            return tell(s, evaluate(fitness, ops), space, config)
        state = loop(lambda s: ~done(s, config), body, state)
        trace = archive.best_trace(state.archive)
        extras = {} if gen.report is None else gen.report(state.inner, config.inner)
        return trace_result(state.best_ops, state.best_fitness, state.queries, trace,
                            archive.queries_trace(state.archive), rounds=state.rounds, **extras)

    settings = dict(gen.settings)
    from .registry import Setting
    settings["budget"] = Setting(300, help="unique queries at most (repeats answered from the run's archive)")
    def on_target(key, fitness, space, config):
        state = init(key, space, config, _fitness=fitness)
        return state, state.archive
    return gen.wrapped(description=f"{gen.description} (query budget)", config_type=Config, config=config,
                       settings=settings, init=init, ask=ask, tell=tell, generate=generate, done=done,
                       small=dict(gen.small, budget=20), own_check=_check,
                       needs_values=lambda state: state.to_evaluate,
                       init_on_target=None if gen.init_on_target is None else on_target)


def _check(result, config, notes) -> None:
    """Refuse a run that spent more than its budget before its first round (queries made in ``init``)."""
    spent = int(np.max(np.asarray(result.queries)))
    if spent > config.budget:
        raise GenerationError(f"the run spent {spent} unique queries, more than its budget {config.budget}, before "
                              "generating anything: its init evaluates the target beyond the bound its config "
                              "declares (init_queries): a bug, please report it")
