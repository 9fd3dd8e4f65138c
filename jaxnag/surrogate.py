"""An online surrogate for any generator: query only the most promising proposals, predict the rest.

:func:`with_surrogate` wraps a :class:`~jaxnag.protocol.Generator` (EDNAG is the intended one) so
that each round, of the ``N`` architectures the generator proposes, only the ``query`` with the
highest predicted fitness are evaluated; the generator is told the real values of those and
predicted values for the others (so EDNAG's fitness-weighted denoising still sees a whole
population). The predictor (:mod:`jaxnag.predictors`) is fitted inside the compiled program on every
architecture evaluated so far. The default, ``ridge``, is ridge regression on one-hot features (each
slot's choice; its sufficient statistics grow by each round's queries): additive in the slots, right
for near-additive tables such as NAS-Bench-201's. ``gp`` is a Gaussian process with an exponential
Hamming kernel (interactions between slots of every order), ``pairwise`` one whose mean is ridge on
one-hot plus pairwise features; with those, ``acquisition`` picks by ``ucb`` (``mean + beta * std``),
``ei`` or ``thompson`` as well as ``greedy`` (the mean). In the first round (no data yet) the first
``query`` proposals are evaluated.

With ``local=k`` a picked proposal that would be wasted (evaluated before, or a copy of another
pick) is replaced by an unevaluated one-slot neighbour of the ``k`` best architectures evaluated
so far: the best's neighbours first, in order of predicted fitness, then the second best's, and so
on. This spends on a local search the queries that a converged population would spend on repeats
(docs/budget.md: on NB201 it raises the hit rate at 300 queries from 72-87% to 97-100%).

The wrapped generator speaks the same protocol; ``best_ops``/``best_fitness`` and ``queries``
(distinct valid architectures evaluated, :mod:`jaxnag.archive`) count real evaluations only; the
trace has one entry per round. Combine with :func:`jaxnag.budget.with_budget` to stop at a budget
of unique queries.

Examples:
  >>> import jax
  >>> from jaxnag import budget, registry, spaces, surrogate, tables
  >>> space, t = spaces.get("nb201"), tables.load("nb201", "cifar10")
  >>> gen = budget.with_budget(surrogate.with_surrogate(registry.get("ednag")))
  >>> cfg = gen.config(space, budget=100, query=5, local=10, population=10, steps=150)
  >>> res = jax.jit(lambda k: gen.generate(k, t, space, cfg))(jax.random.key(0))
  >>> int(res.queries)
  100
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from . import archive as archive_lib
from . import predictors as predictors_lib
from . import queries as queries_lib
from . import ridge as ridge_lib
from .errors import ConfigError, check_int
from .protocol import Generator, evaluate, loop, trace_result, wrapper

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
      local: replace wasted picks by neighbours of this many best evaluated architectures (static;
        0, the default: off). See the module doc.
      predictor: the model (static; :mod:`jaxnag.predictors`): None for ridge on one-hot with ``ridge``
        as its penalty, or a :class:`jaxnag.predictors.GP` or :class:`jaxnag.predictors.Ensemble`.
      acquisition: how proposals are ranked (static): ``greedy``, ``ucb``, ``ei`` or ``thompson``.
      beta: UCB's weight on the predicted standard deviation.
      joint: with ``local``, rank the generator's new proposals and the neighbours of the best together by
        the acquisition (static; off: neighbours only replace wasted picks).
      explore: with ``local``, this many random architectures join the candidates, after the neighbours
        (static; 0: none). Where every neighbour of the best was queried and the generator proposes only
        known architectures, they keep the run spending its queries instead of idling.

    Examples:
      >>> from jaxnag import errors, registry, spaces, surrogate
      >>> space = spaces.get("nb201")
      >>> gen = surrogate.with_surrogate(registry.get("ednag"))
      >>> cfg = gen.config(space, query=3, local=2, population=8)  # a Config, checked
      >>> cfg.query, cfg.local, cfg.acquisition, cfg.predictor, cfg.replace(beta=1.0).beta
      (3, 2, 'greedy', None, 1.0)
      >>> try:
      ...     gen.config(space, acquisition="ucb")
      ... except errors.ConfigError as e:
      ...     print(e)
      the ucb acquisition needs a predictor with an uncertainty; ridge has none (use greedy, or the gp predictor)
    """

    inner: Any
    query: int = dataclasses.field(metadata=dict(static=True), default=10)
    ridge: float = 1.0
    fresh: bool = dataclasses.field(metadata=dict(static=True), default=False)
    local: int = dataclasses.field(metadata=dict(static=True), default=0)
    predictor: Any = dataclasses.field(metadata=dict(static=True), default=None)
    acquisition: str = dataclasses.field(metadata=dict(static=True), default="greedy")
    beta: float = 2.0
    joint: bool = dataclasses.field(metadata=dict(static=True), default=False)
    explore: int = dataclasses.field(metadata=dict(static=True), default=0)

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)


@archive_lib.reads_archive
class State(NamedTuple):
    """The generator's state and the surrogate's.

    Attributes:
      inner: the generator's own state.
      model: the predictor's state (:class:`jaxnag.ridge.Stats` for ridge) over the evaluated architectures.
      archive: the run's query archive (:mod:`jaxnag.archive`, values kept): a proposal evaluated
        before is told its real value, and with ``fresh`` is picked for evaluation only when fewer than
        ``query`` new proposals remain. ``best_ops``, ``best_fitness`` and ``queries`` are read from it.
      proposals: int32 ``[N, R]``: the generator's last proposals.
      picked: int32 ``[query]``: which of them were asked for evaluation.
      elite_ops, elite_values: int32 ``[max(local, 1), R]`` / float32 ``[max(local, 1)]``: the ``local``
        best evaluated architectures (distinct; -inf values where fewer evaluated), whose neighbours are
        candidates.

    Examples:
      >>> import jax
      >>> from jaxnag import registry, spaces, surrogate
      >>> space = spaces.get("nb201")
      >>> gen = surrogate.with_surrogate(registry.get("ednag"))
      >>> cfg = gen.config(space, query=3, local=2, population=8)
      >>> st = jax.eval_shape(lambda k: gen.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> st._fields
      ('inner', 'model', 'archive', 'proposals', 'picked', 'elite_ops', 'elite_values')
      >>> st.proposals.shape, st.picked.shape, st.elite_ops.shape, st.model.gram.shape  # 8 + 2 x 24 neighbours
      ((56, 6), (3,), (2, 6), (31, 31))
    """

    inner: Any
    model: Any
    archive: archive_lib.Archive
    proposals: jax.Array
    picked: jax.Array
    elite_ops: jax.Array
    elite_values: jax.Array


features = ridge_lib.features


def _model(config):
    """The predictor: ridge on one-hot with the config's (traced) penalty unless another is set."""
    return predictors_lib.Ridge(config.ridge) if config.predictor is None else config.predictor


def _predict(state: State, ops, space, config) -> tuple[jax.Array, jax.Array]:
    """``(mean [n], std [n])`` of ``ops [n, R]`` from the fit so far."""
    return _model(config).predict(state.model, ops, space)


def _acquire(key, state: State, ops, space, config) -> jax.Array:
    mean, std = _predict(state, ops, space, config)
    return predictors_lib.acquire(config.acquisition, key, mean, std, state.best_fitness, config.beta)


def _num_neighbours(space, config) -> int:
    return config.local * space.num_slots * (space.num_choices - 1)


def _num_local(space, config) -> int:
    """Candidates beside the generator's proposals: the neighbours, then ``explore`` random architectures."""
    return _num_neighbours(space, config) + config.explore


def _local_candidates(state: State, space, config):
    """The one-slot neighbours of the ``local`` best evaluated architectures: ``(ops [L, R], usable [L])``."""
    ops, valid = space.neighbours(state.elite_ops)
    usable = valid & jnp.isfinite(state.elite_values)[:, None]
    return ops.reshape(-1, space.num_slots), usable.reshape(-1)


@wrapper
def with_surrogate(gen: Generator) -> Generator:
    """``gen`` with an online surrogate (module doc): ``config(space, query=m, ridge=1.0, predictor="ridge",
    acquisition="greedy", ..., **settings)``, the other settings being ``gen``'s.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import registry, spaces, surrogate
      >>> space = spaces.get("nb201")
      >>> gen = surrogate.with_surrogate(registry.get("ednag"))
      >>> cfg = gen.config(space, query=3, population=8, steps=10)  # 3 of EDNAG's 8 proposals evaluated a round
      >>> cfg.query, cfg.inner.population, gen.description.endswith("(online surrogate)")
      (3, 8, True)
      >>> fitness = lambda ops: jnp.sum(ops, axis=-1).astype(jnp.float32)
      >>> res = jax.eval_shape(lambda k: gen.generate(k, fitness, space, cfg), jax.random.key(0))
      >>> res.best_ops.shape, res.best_trace.shape  # one trace entry per round (EDNAG's 10 steps)
      ((6,), (10,))
    """

    def config(space, query=10, ridge=1.0, fresh=False, local=0, predictor="ridge", acquisition="greedy", beta=2.0,
               memory=300, joint=False, explore=0, **settings):
        check_int("query", query, lo=1)
        check_int("local", local, lo=0)
        check_int("memory", memory, lo=2)
        if predictor != "ridge" and memory < query:
            raise ConfigError(f"memory ({memory}) must hold one round's {query} queries (query)")
        if not ridge > 0:
            raise ConfigError(f"ridge must be > 0 (it keeps the regression's system solvable), got {ridge}")
        if not (isinstance(beta, (int, float)) and beta >= 0):
            raise ConfigError(f"beta must be a number >= 0 (UCB's weight on the deviation), got {beta!r}")
        model = None if predictor == "ridge" else predictors_lib.get(predictor, memory=int(memory))
        predictors_lib.check_acquisition(acquisition, predictors_lib.Ridge() if model is None else model)
        check_int("explore", explore, lo=0)
        for name, value in (("joint", joint), ("explore", explore)):
            if value and not local:
                raise ConfigError(f"{name} works with the neighbours of the best: it needs local > 0")
        return Config(gen.config(space, **settings), int(query), float(ridge), bool(fresh), int(local), model,
                      acquisition, float(beta), bool(joint), int(explore))

    def init(key, space, config, *, _fitness=None, **context):
        return _init(key, space, config, _fitness, **context)[0]

    def _init(key, space, config, fitness=None, **context):
        """``(state, spent)``: ``spent`` the target queries of the wrapped init (None without a fitness)."""
        inner, spent = gen.init_on_target(key, fitness, space, config.inner) if fitness is not None else \
            (gen.init(key, space, config.inner, **context), None)
        n = jax.eval_shape(lambda k, s: gen.ask(k, s, space, config.inner)[0], key, inner).shape[0]
        if config.query > n:
            raise ConfigError(f"the surrogate's query ({config.query}; --surrogate-query on the command line) is "
                              f"more than the {n} architectures {gen.name} proposes per round")
        k = max(config.local, 1)
        return State(inner, _model(config).init(space), archive_lib.init(space, keep_values=True),
                     jnp.zeros((n + _num_local(space, config), space.num_slots), jnp.int32),
                     jnp.zeros(config.query, jnp.int32), jnp.zeros((k, space.num_slots), jnp.int32),
                     jnp.full(k, -jnp.inf, jnp.float32)), spent

    def ask(key, state, space, config):
        k_acq, k_local = jax.random.split(jax.random.fold_in(key, 1))
        ops, inner = gen.ask(key, state.inner, space, config.inner)
        ops = jnp.asarray(ops, jnp.int32)
        pred = _acquire(k_acq, state, ops, space, config)
        # no data yet: the first ones; else the most promising (ties broken by position); with ``fresh``
        # new ones first (one evaluated before is answered again by whoever keeps values, e.g. jaxnag.budget)
        known = jnp.isfinite(archive_lib.lookup(state.archive, ops, space))
        rank = jnp.where(state.model.count > 0, pred, -jnp.arange(ops.shape[0], dtype=jnp.float32))
        if config.fresh:
            rank = jnp.where(known, -jnp.inf, rank)
        order = jnp.argsort(-rank, stable=True)
        picked = order[:config.query].astype(jnp.int32)
        if config.local:
            cand, extra = _local_candidates(state, space, config)
            if config.explore:  # random architectures, the last resort when every neighbour was queried
                rand = jnp.asarray(space.random(jax.random.fold_in(k_local, 1), (config.explore,)), jnp.int32)
                cand, extra = jnp.concatenate([cand, rand]), jnp.concatenate([extra, space.is_valid(rand)])
            first_all = archive_lib.first_in_batch(jnp.concatenate([ops, cand]),
                                                   jnp.ones(ops.shape[0] + cand.shape[0], bool), space)
            first = first_all[ops.shape[0]:]
            cand_known = jnp.isfinite(archive_lib.lookup(state.archive, cand, space))
            usable = extra & first & ~cand_known & (state.model.count > 0)
            # the best's neighbours first (by prediction), then the second best's, ...; unusable ones last
            idx, m = jnp.arange(cand.shape[0]), _num_neighbours(space, config)
            group = jnp.where(usable, jnp.minimum(idx // (m // config.local), config.local), config.local + 1)
            cand_score = _acquire(k_local, state, cand, space, config)
            nb = jnp.lexsort((-cand_score, group))[:config.query]
            wasted = known[picked] | ~archive_lib.first_in_batch(ops[picked], jnp.ones(config.query, bool), space)
            j = jnp.clip(jnp.cumsum(wasted) - 1, 0)
            use = wasted & usable[nb[j]]
            picked = jnp.where(use, ops.shape[0] + nb[j], picked).astype(jnp.int32)
            if config.joint:  # every new proposal and candidate ranked together, new ones first
                new = jnp.concatenate([~known & first_all[:ops.shape[0]], usable])
                joint = jnp.lexsort((-jnp.concatenate([pred, cand_score]), ~new))[:config.query].astype(jnp.int32)
                picked = jnp.where(state.model.count > 0, joint, picked)
            ops = jnp.concatenate([ops, cand])
        return ops[picked], state._replace(inner=inner, proposals=ops, picked=picked)

    def tell(state, values, space, config):
        values = jnp.asarray(values, jnp.float32)
        if values.shape != (config.query,):
            raise ConfigError(f"tell takes {config.query} values (the picked proposals), got shape {values.shape}")
        picked_ops = state.proposals[state.picked]
        ok = jnp.isfinite(values)
        state = state._replace(model=_model(config).update(state.model, picked_ops, values, space))
        # the elites: the best distinct architectures evaluated (a new one joins if it beats the worst)
        known = jnp.isfinite(archive_lib.lookup(state.archive, picked_ops, space))
        new = archive_lib.first_in_batch(picked_ops, ok, space) & ~known
        elite_ops, elite_values = queries_lib.keep_best(state.elite_ops, state.elite_values, picked_ops, values, new)
        held, _ = archive_lib.insert(state.archive, picked_ops, values, space)
        state = state._replace(archive=held, elite_ops=elite_ops, elite_values=elite_values)
        # the generator's own proposals (not the local candidates): real values where known, else predicted
        n = state.proposals.shape[0] - _num_local(space, config)
        told = archive_lib.lookup(held, state.proposals[:n], space)
        full = jnp.where(jnp.isfinite(told), told, _predict(state, state.proposals[:n], space, config)[0])
        full = full.at[state.picked].set(values, mode="drop")  # picks among the candidates are not the generator's
        inner = gen.tell(state.inner, full, space, config.inner)
        return state._replace(inner=inner)

    def done(state, config):
        return gen.done(state.inner, config.inner)

    def generate(key, fitness, space, config, **context):
        k_init, k_run = jax.random.split(key)
        on_target = gen.init_on_target is not None and all(context.get(c) is None for c in gen.context)
        state = init(k_init, space, config, _fitness=fitness if on_target else None,
                     **({} if on_target else context))

        # one trace entry per round, as long as the wrapped generator's (its last entry: the last round)
        length = jax.eval_shape(lambda k: gen.generate(k, fitness, space, config.inner, **context), key
                                ).best_trace.shape[0]
        best, queries = jnp.full(length, -jnp.inf, jnp.float32), jnp.zeros(length, jnp.int32)

        def body(carry):
            s, r, b, q = carry
            ops, s = ask(jax.random.fold_in(k_run, r), s, space, config)
            s = tell(s, evaluate(fitness, ops), space, config)
            at = jnp.minimum(r, length - 1)
            return s, r + 1, b.at[at].set(s.best_fitness), q.at[at].set(s.queries)
        state, rounds, best, queries = loop(lambda c: ~done(c[0], config), body,
                                            (state, jnp.int32(0), best, queries))
        extras = {} if gen.report is None else gen.report(state.inner, config.inner)
        return trace_result(state.best_ops, state.best_fitness, state.queries, jax.lax.cummax(best),
                            jax.lax.cummax(queries), rounds=rounds, **extras)

    settings = dict(gen.settings)
    settings.pop("num_objectives", None)  # the surrogate fits a scalar: told one (a Pareto standing) per query
    from .registry import Setting
    settings["query"] = Setting(10, help="proposals evaluated per round (the rest predicted by a surrogate)")
    settings["predictor"] = Setting("ridge", str, help="the surrogate's model", choices=predictors_lib.NAMES)
    settings["acquisition"] = Setting("greedy", str, help="how the surrogate ranks proposals",
                                      choices=predictors_lib.ACQUISITIONS)
    def on_target(key, fitness, space, config):  # the target queries of the wrapped init, passed on
        return _init(key, space, config, fitness)
    return gen.wrapped(description=f"{gen.description} (online surrogate)", config_type=Config, config=config,
                       settings=settings, init=init, ask=ask, tell=tell, generate=generate, done=done,
                       small=dict(gen.small, query=4), takes_vectors=False,
                       init_on_target=None if gen.init_on_target is None else on_target)
