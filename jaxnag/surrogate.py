"""An online surrogate for any generator: query only the most promising proposals, predict the rest.

:func:`with_surrogate` wraps a :class:`~jaxnag.protocol.Generator` (EDNAG is the intended one) so
that each round, of the ``N`` architectures the generator proposes, only the ``query`` with the
highest predicted fitness are evaluated; the generator is told the real values of those and
predicted values for the others (so EDNAG's fitness-weighted denoising still sees a whole
population). The predictor is ridge regression on one-hot features (each slot's choice), fitted
inside the compiled program on every architecture evaluated so far: its sufficient statistics
``X^T X`` and ``X^T y`` grow by each round's queries, and a solve of ``slots x choices + 1``
unknowns predicts. In the first round (no data yet) the first ``query`` proposals are evaluated.

The wrapped generator speaks the same protocol; ``best_ops``/``best_fitness`` and ``queries``
(rows evaluated) count real evaluations only. Combine with :func:`jaxnag.budget.with_budget` to
count unique queries and stop at a budget.

Example:
  >>> import jax
  >>> from jaxnag import budget, registry, spaces, surrogate, tables
  >>> space, t = spaces.get("nb201"), tables.load("nb201", "cifar10")
  >>> gen = budget.with_budget(surrogate.with_surrogate(registry.get("ednag")))
  >>> cfg = gen.config(space, budget=100, query=10, population=30, steps=100)
  >>> res = jax.jit(lambda k: gen.generate(k, t, space, cfg))(jax.random.key(0))
  >>> int(res.queries)
  100
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from . import queries as queries_lib
from .errors import ConfigError, check_int
from .protocol import Generator, evaluate, loop, trace_result

__all__ = ["Config", "State", "features", "with_surrogate"]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Config:
    """The wrapped generator's config and the surrogate's settings.

    Attributes:
      inner: the generator's own config.
      query: proposals evaluated per round (static), at most the generator's round size.
      ridge: L2 penalty of the ridge regression.
      fresh: pick only proposals not evaluated before while there are enough (static). Off (the
        default, better in docs/budget.md): the top predicted, evaluated before or not; under
        :func:`jaxnag.budget.with_budget` a repeat costs no query, so the generator gets through
        more of its rounds within the budget.
    """

    inner: Any
    query: int = dataclasses.field(metadata=dict(static=True), default=10)
    ridge: float = 1.0
    fresh: bool = dataclasses.field(metadata=dict(static=True), default=False)


class State(NamedTuple):
    """The generator's state and the surrogate's.

    Attributes:
      inner: the generator's own state.
      gram, moment: ``X^T X [D, D]`` and ``X^T y [D]`` over the evaluated architectures (one-hot plus bias).
      count: evaluated architectures with a finite value.
      seen, archive: query ids evaluated so far (a :mod:`jaxnag.queries` bit set) and their values
        (float32 ``[space.size]``): a proposal evaluated before is told its real value, and is picked
        for evaluation only when fewer than ``query`` new proposals remain.
      proposals: int32 ``[N, R]``: the generator's last proposals.
      picked: int32 ``[query]``: which of them were asked for evaluation.
      best_ops, best_fitness: the best evaluated architecture.
      queries: int32, architectures evaluated.
    """

    inner: Any
    gram: jax.Array
    moment: jax.Array
    count: jax.Array
    seen: jax.Array
    archive: jax.Array
    proposals: jax.Array
    picked: jax.Array
    best_ops: jax.Array
    best_fitness: jax.Array
    queries: jax.Array


def features(ops: jax.Array, space) -> jax.Array:
    """One-hot features of ``ops [n, R]`` plus a constant: float32 ``[n, R * C + 1]`` (C the most choices)."""
    onehot = jax.nn.one_hot(ops, space.num_choices, dtype=jnp.float32).reshape(ops.shape[0], -1)
    return jnp.concatenate([onehot, jnp.ones((ops.shape[0], 1), jnp.float32)], axis=1)


def _predict(state: State, ops, space, ridge) -> jax.Array:
    x = features(ops, space)
    d = x.shape[1]
    w = jnp.linalg.solve(state.gram + jnp.asarray(ridge, jnp.float32) * jnp.eye(d, dtype=jnp.float32), state.moment)
    mean = state.moment[-1] / jnp.maximum(state.count, 1).astype(jnp.float32)  # the bias column's sum / n
    return jnp.where(state.count > 0, x @ w, mean)


def with_surrogate(gen: Generator) -> Generator:
    """``gen`` with an online ridge surrogate (module doc): ``config(space, query=m, ridge=1.0,
    **settings)``, the other settings being ``gen``'s."""

    def config(space, query=10, ridge=1.0, fresh=False, **settings):
        check_int("query", query, lo=1)
        if not ridge >= 0:
            raise ConfigError(f"ridge must be >= 0, got {ridge}")
        return Config(gen.config(space, **settings), int(query), float(ridge), bool(fresh))

    def init(key, space, config, **context):
        if space.size is None or space.size > (1 << 24):
            raise ConfigError(f"the surrogate keeps an archive of the space: {space.name} is too large")
        inner = gen.init(key, space, config.inner, **context)
        n = jax.eval_shape(lambda k, s: gen.ask(k, s, space, config.inner)[0], key, inner).shape[0]
        if config.query > n:
            raise ConfigError(f"query ({config.query}) is more than the {n} architectures {gen.name} proposes "
                              "per round")
        d = space.num_slots * space.num_choices + 1
        return State(inner, jnp.zeros((d, d), jnp.float32), jnp.zeros(d, jnp.float32), jnp.int32(0),
                     queries_lib.empty(space.size), jnp.full(space.size, jnp.nan, jnp.float32),
                     jnp.zeros((n, space.num_slots), jnp.int32), jnp.zeros(config.query, jnp.int32),
                     jnp.zeros(space.num_slots, jnp.int32), jnp.float32(-jnp.inf), jnp.int32(0))

    def ask(key, state, space, config):
        ops, inner = gen.ask(key, state.inner, space, config.inner)
        ops = jnp.asarray(ops, jnp.int32)
        pred = _predict(state, ops, space, config.ridge)
        # no data yet: the first ones; else the most promising (ties broken by position); with ``fresh``
        # new ones first (one evaluated before is answered again by whoever keeps values, e.g. jaxnag.budget)
        known = queries_lib.contains(state.seen, queries_lib.query_ids(space, ops))
        rank = jnp.where(state.count > 0, pred, -jnp.arange(ops.shape[0], dtype=jnp.float32))
        if config.fresh:
            rank = jnp.where(known, -jnp.inf, rank)
        order = jnp.argsort(-rank, stable=True)
        picked = order[:config.query].astype(jnp.int32)
        return ops[picked], state._replace(inner=inner, proposals=ops, picked=picked)

    def tell(state, values, space, config):
        values = jnp.asarray(values, jnp.float32)
        if values.shape != (config.query,):
            raise ConfigError(f"tell takes {config.query} values (the picked proposals), got shape {values.shape}")
        picked_ops = state.proposals[state.picked]
        ok = jnp.isfinite(values)
        x = features(picked_ops, space) * ok[:, None].astype(jnp.float32)
        y = jnp.where(ok, values, 0.0)
        state = state._replace(gram=state.gram + x.T @ x, moment=state.moment + x.T @ y,
                               count=state.count + jnp.sum(ok).astype(jnp.int32))
        ids = queries_lib.query_ids(space, state.proposals)
        seen, _ = queries_lib.mark(state.seen, ids[state.picked], ok)
        archive = state.archive.at[jnp.where(ok, ids[state.picked], space.size)].set(values, mode="drop")
        state = state._replace(seen=seen, archive=archive)
        full = jnp.where(queries_lib.contains(seen, ids), archive[ids],
                         _predict(state, state.proposals, space, config.ridge)).at[state.picked].set(values)
        inner = gen.tell(state.inner, full, space, config.inner)
        fin = jnp.where(ok, values, -jnp.inf)
        i = jnp.argmax(fin)
        better = fin[i] > state.best_fitness
        return state._replace(inner=inner, best_ops=jnp.where(better, picked_ops[i], state.best_ops),
                              best_fitness=jnp.where(better, fin[i], state.best_fitness),
                              queries=state.queries + config.query)

    def done(state, config):
        return gen.done(state.inner, config.inner)

    def generate(key, fitness, space, config, **context):
        k_init, k_run = jax.random.split(key)
        state = init(k_init, space, config, **context)

        def body(carry):
            s, r = carry
            ops, s = ask(jax.random.fold_in(k_run, r), s, space, config)
            return tell(s, evaluate(fitness, ops), space, config), r + 1
        state, rounds = loop(lambda c: ~done(c[0], config), body, (state, jnp.int32(0)))
        return trace_result(state.best_ops, state.best_fitness, state.queries, state.best_fitness[None],
                            state.queries[None], rounds=rounds)

    settings = dict(gen.settings)
    from .registry import Setting
    settings["query"] = Setting(10, help="proposals evaluated per round (the rest predicted by a ridge surrogate)")
    return Generator(name=gen.name, description=f"{gen.description} (online surrogate)", config_type=Config,
                     config=config, settings=settings, init=init, ask=ask, tell=tell, generate=generate, done=done,
                     context=gen.context, small=dict(gen.small, query=4), open_context=gen.open_context)
