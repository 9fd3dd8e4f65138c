"""DiffusionNAG end to end as one jittable generator.

From a trained score network (:class:`ScoreModel`): query ``Q`` random architectures of
the target, fit the noise-aware predictor on them, run ``rounds`` guided predictor-corrector
rounds of ``round_size`` samples (guidance scale lowered by ``decrement`` each round), keep
the distinct valid ones, rank them by the predictor and query the ``top`` best-predicted.
Every shape is fixed by the config, so :func:`generate` compiles once and ``vmap`` runs it
over seeds, guidance scales (a batched config) and stacked target tables.

In the generator protocol (:mod:`jaxnag.protocol`) a run is two ask/tell rounds: the ``Q``
predictor queries, then the ``top`` generated candidates. With ``queries=0`` generation is
unguided and the candidates are the first distinct valid samples.

The closed loop (``loops=L`` > 1, the query-efficient variant, a Bayesian-optimisation style loop)
repeats the candidate round ``L`` times: after each, the predictor is refitted on every query so far
and the next candidates are the best-predicted generated architectures not queried yet, so a budget
of ``Q + L * top`` queries is spent where the predictor learns most.

A vector fitness (``num_objectives=M`` > 1, told ``[n, M]`` values): the predictor
has one head per objective (each trained on its objective's normal scores of the ranks); each sample of a
round is guided by its own weight vector ``w`` (uniform on the simplex), ``w * grad_x sum_m w_m f_m(x)``,
so one guided batch spreads along the front; the candidates are the ``top`` distinct valid samples by
their predicted Pareto rank, then crowding distance (as NSGA-II selects). Measured against the scalar
form (``pareto.with_objectives`` telling one head each query's Pareto standing, what the registry's
DiffusionNAG gets): a lower hypervolume on two NB201 problems (docs/pareto_dn.md).

Examples:
  >>> import jax
  >>> from flax import nnx
  >>> from jaxnag import spaces, tables
  >>> from jaxnag.diffusionnag import generator, train
  >>> space, t = spaces.get("nb201"), tables.from_arrays(spaces.get("nb201"), spaces.get("nb201").all_ops(),
  ...                                                     spaces.get("nb201").all_ops().sum(1).astype(float))
  >>> tcfg = train.ScoreTrainConfig(net="small")
  >>> score = generator.ScoreModel.of(train.build(space, tcfg, jax.random.key(0)), tcfg.make_sde())
  >>> cfg = generator.Config(predictor_queries=20, round_size=8, pc_steps=4, predictor=generator.PredictorConfig(iterations=5))
  >>> res = jax.jit(lambda k: generator.generate(k, t, space, cfg, score))(jax.random.key(1))
  >>> res.best_trace.shape
  (2,)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .. import archive as archive_lib
from .. import pareto
from ..errors import ConfigError, GenerationError, check_int, check_range, is_concrete
from ..protocol import Result, evaluate, trace_result, unless_finished, value_shape
from ..shaping import failed_as
from . import encoding
from .guidance import PredictorConfig, predictor_graphdef, predictor_state
from .sampler import guided, pc_sample

__all__ = ["Config", "GuidedState", "PredictorConfig", "QueryState", "ScoreModel", "ask", "check", "done", "generate",
           "init", "tell"]


@dataclasses.dataclass(frozen=True)
class Config:
    """DiffusionNAG generation settings. ``scale``, ``decrement`` and ``snr`` are pytree leaves
    (sweepable by ``vmap``); the others are static.

    Attributes:
      predictor_queries: Q random target queries the predictor is trained on (0: unguided).
      top: best-predicted distinct generated architectures that are queried.
      round_size, rounds: samples per guided round, and rounds.
      pc_steps: predictor-corrector steps per round.
      guidance_scale: guidance weight w of the first round; decrement: w drops by this each round.
      snr: Langevin corrector signal-to-noise ratio.
      predictor: the predictor's size and training.
      loops: generate -> query -> refit cycles. With more than one (the closed loop), after each
        cycle's ``top`` candidates are told the predictor is refitted on every query so far (the ``Q``
        random ones and all candidates), and the next cycle's candidates are drawn among generated
        architectures not queried yet. Needs ``predictor_queries`` > 0.
      refit_iterations: the closed loop's refit: 0 trains a fresh predictor (``predictor.iterations``
        steps); more continues training the current one for this many steps (warm start, cheaper).
      num_objectives: ``M``, the width of the fitness (1: a scalar; more: module doc).

    Examples:
      >>> import jax
      >>> from jaxnag.diffusionnag import generator
      >>> cfg = generator.Config(guidance_scale=2.0, decrement=0.5)
      >>> jax.tree_util.tree_leaves(cfg)  # guidance_scale, decrement, snr: sweepable by vmap
      [2.0, 0.5, 0.16]
      >>> try:
      ...     generator.Config(top=10, round_size=4)
      ... except ValueError as e:  # errors.ConfigError
      ...     print(e)
      top (10) cannot exceed the samples generated (4)
    """

    predictor_queries: int = 300
    top: int = 5
    round_size: int = 256
    rounds: int = 1
    pc_steps: int = 1000
    guidance_scale: float = 5.0
    decrement: float = 0.0
    snr: float = 0.16
    predictor: PredictorConfig = PredictorConfig()
    loops: int = 1
    refit_iterations: int = 0
    num_objectives: int = 1

    def __post_init__(self):
        check_int("predictor_queries", self.predictor_queries, lo=0)
        if self.predictor_queries == 1:
            raise ConfigError("predictor_queries must be 0 (no guidance) or at least 2")
        check_int("top", self.top, lo=1)
        check_int("loops", self.loops, lo=1)
        check_int("refit_iterations", self.refit_iterations, lo=0)
        check_int("num_objectives", self.num_objectives, lo=1)
        if self.loops > 1 and self.predictor_queries == 0:
            raise ConfigError("the closed loop (loops > 1) refits the predictor: it needs predictor_queries > 0")
        check_int("round_size", self.round_size, lo=1)
        check_int("rounds", self.rounds, lo=1)
        if self.top > self.round_size * self.rounds:
            raise ConfigError(f"top ({self.top}) cannot exceed the samples generated ({self.round_size * self.rounds})")
        check_int("pc_steps", self.pc_steps, lo=2)
        check_range("guidance_scale", self.guidance_scale, lo=0.0)
        check_range("decrement", self.decrement, lo=0.0)
        check_range("snr", self.snr, lo=0.0, lo_open=True)
        if not isinstance(self.predictor, PredictorConfig):
            raise ConfigError(f"predictor must be a PredictorConfig, got {type(self.predictor).__name__}")

    def replace(self, **kw) -> "Config":
        return dataclasses.replace(self, **kw)

    @property
    def predictor_config(self) -> PredictorConfig:
        """``predictor`` with one output per objective."""
        return self.predictor.replace(outputs=self.num_objectives)


_LEAVES = ("guidance_scale", "decrement", "snr")
jax.tree_util.register_dataclass(Config, data_fields=list(_LEAVES),
                                 meta_fields=[f.name for f in dataclasses.fields(Config) if f.name not in _LEAVES])


@dataclasses.dataclass(frozen=True)
class ScoreModel:
    """A trained score network as a pytree: its NNX state (leaves), graph definition and SDE (static).

    ``ScoreModel.of(module, sde)`` wraps a module; :func:`load` reads a ``jaxnag train-score`` folder.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import generator, train
      >>> space, tcfg = spaces.get("nb201"), train.ScoreTrainConfig()
      >>> net = nnx.eval_shape(lambda: train.build(space, tcfg, jax.random.key(0)))  # shapes only
      >>> score = generator.ScoreModel.of(net, tcfg.make_sde())
      >>> x, level = jax.ShapeDtypeStruct((3, 8, 7), jnp.float32), jax.ShapeDtypeStruct((3,), jnp.float32)
      >>> score.sde, jax.eval_shape(lambda sm, x, l: sm.score_fn()(x, l), score, x, level).shape  # like x
      (VESDE(sigma_min=0.1, sigma_max=5.0), (3, 8, 7))
    """

    state: object
    graphdef: object
    sde: object

    @classmethod
    def of(cls, module, sde) -> "ScoreModel":
        graphdef, state = nnx.split(module)
        return cls(state, graphdef, sde)

    def score_fn(self) -> Callable:
        net = nnx.merge(self.graphdef, self.state)
        return lambda x, level: net(x, level)


jax.tree_util.register_dataclass(ScoreModel, data_fields=["state"], meta_fields=["graphdef", "sde"])


def load(directory, space) -> tuple[ScoreModel, int]:
    """The score network of a ``jaxnag train-score`` folder and its number of training steps."""
    from . import train
    model, tcfg, _ = train.load_score(directory, space)
    return ScoreModel.of(model, tcfg.make_sde()), train.latest_step(directory)


@archive_lib.reads_archive
class QueryState(NamedTuple):
    """Before the predictor exists: the ``Q`` random architectures to query.

    Examples:
      >>> import jax
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import generator, train
      >>> space, tcfg = spaces.get("nb201"), train.ScoreTrainConfig()
      >>> net = nnx.eval_shape(lambda: train.build(space, tcfg, jax.random.key(0)))  # shapes only
      >>> score = generator.ScoreModel.of(net, tcfg.make_sde())
      >>> cfg = generator.Config(predictor_queries=4, top=2, round_size=4, pc_steps=2)
      >>> s = jax.eval_shape(lambda k, sm: generator.init(k, space, cfg, sm), jax.random.key(0), score)
      >>> type(s).__name__, s.ops.shape  # the Q = 4 architectures the first ask proposes
      ('QueryState', (4, 6))
    """

    ops: jax.Array            # [Q, R]
    predictor_key: jax.Array
    score: ScoreModel
    archive: archive_lib.Archive  # the run's queries (jaxnag.archive): best_ops, best_fitness, queries


@archive_lib.reads_archive
class GuidedState(NamedTuple):
    """After the predictor was fitted (or with no predictor): guided generation, then done.

    Examples:
      >>> import jax
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import generator, train
      >>> space, tcfg = spaces.get("nb201"), train.ScoreTrainConfig()
      >>> net = nnx.eval_shape(lambda: train.build(space, tcfg, jax.random.key(0)))  # shapes only
      >>> score = generator.ScoreModel.of(net, tcfg.make_sde())
      >>> cfg = generator.Config(predictor_queries=0, top=2, round_size=4, pc_steps=2)  # unguided: no predictor
      >>> s = jax.eval_shape(lambda k, sm: generator.init(k, space, cfg, sm), jax.random.key(0), score)
      >>> type(s).__name__, s.predictor, s.candidates.shape, s.candidate_ok.shape  # the top = 2 to query
      ('GuidedState', None, (2, 6), (2,))
    """

    predictor: object         # the predictor's NNX state (None when unguided)
    score: ScoreModel
    archive: archive_lib.Archive  # the run's queries (jaxnag.archive): best_ops, best_fitness, queries
    candidates: jax.Array     # [top, R] what the last ask proposed
    candidate_ok: jax.Array   # [top] which of them are distinct valid samples
    predicted: jax.Array      # [top] their predicted value (normalised; [top, M] for a vector fitness)
    validity: jax.Array       # share of generated samples that are valid architectures
    distinct: jax.Array       # distinct valid samples generated
    generated_best: jax.Array  # best fitness among the queried candidates
    told: jax.Array           # the last cycle's candidates were told: the run is done
    archive_ops: jax.Array    # [Q + loops * top, R] every query so far (the closed loop refits on them)
    archive_values: jax.Array  # their values ([.., M] for a vector fitness), NaN where not (yet) known
    predictor_key: jax.Array
    cycle: jax.Array          # cycles told so far


def _check(space, config: Config, score_model) -> None:
    if not isinstance(config, Config):
        raise TypeError(f"config must be a diffusionnag.generator.Config, got {type(config).__name__}")
    if not isinstance(score_model, ScoreModel):
        raise TypeError("score_model must be a diffusionnag.generator.ScoreModel (ScoreModel.of(module, sde) or "
                        "generator.load(directory, space))")


def _per_row(mask, config: Config):
    """A row mask ``[n]`` shaped to select whole values (``[n, 1]`` for a vector fitness)."""
    return mask[:, None] if config.num_objectives > 1 else mask


def _guided_state(predictor, score, archive, config: Config, space, archive_ops=None,
                  archive_values=None, predictor_key=None) -> GuidedState:
    top, n, m = config.top, config.predictor_queries + config.loops * config.top, value_shape(config.num_objectives)
    if archive_ops is None:
        archive_ops = jnp.zeros((n, space.num_slots), jnp.int32)
        archive_values = jnp.full((n, *m), jnp.nan, jnp.float32)
        predictor_key = jax.random.key(0)
    else:
        archive_ops = jnp.zeros((n, space.num_slots), jnp.int32).at[:config.predictor_queries].set(archive_ops)
        archive_values = jnp.full((n, *m), jnp.nan, jnp.float32).at[:config.predictor_queries].set(archive_values)
    return GuidedState(predictor, score, archive, jnp.zeros((top, space.num_slots), jnp.int32),
                       jnp.zeros(top, bool), jnp.zeros((top, *m), jnp.float32), jnp.float32(0), jnp.int32(0),
                       jnp.float32(-jnp.inf), jnp.bool_(False), archive_ops, archive_values, predictor_key,
                       jnp.int32(0))


def init(key: jax.Array, space, config: Config, score_model: ScoreModel):
    """Draw the ``Q`` predictor queries (a :class:`QueryState`), or with ``queries=0`` go straight to
    unguided generation (a :class:`GuidedState`).

    Examples:
      >>> import jax
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import generator, train
      >>> space, tcfg = spaces.get("nb201"), train.ScoreTrainConfig()
      >>> net = nnx.eval_shape(lambda: train.build(space, tcfg, jax.random.key(0)))  # shapes only
      >>> score = generator.ScoreModel.of(net, tcfg.make_sde())
      >>> tiny = generator.PredictorConfig(iterations=2, batch=4, d=8, layers=1, heads=1)
      >>> cfg = generator.Config(predictor_queries=4, top=2, round_size=4, pc_steps=2, predictor=tiny)
      >>> state = jax.eval_shape(lambda k, sm: generator.init(k, space, cfg, sm), jax.random.key(0), score)
      >>> type(state).__name__, state.ops.shape  # Q = 4 distinct architectures to query first
      ('QueryState', (4, 6))
      >>> unguided = cfg.replace(predictor_queries=0)
      >>> type(jax.eval_shape(lambda k, sm: generator.init(k, space, unguided, sm), jax.random.key(0), score)).__name__
      'GuidedState'
    """
    _check(space, config, score_model)
    k_q, k_p = jax.random.split(key)
    archive = archive_lib.init(space, config.predictor_queries + config.loops * config.top,
                               keep_values=config.num_objectives if config.num_objectives > 1 else False)
    if config.predictor_queries == 0:
        return _guided_state(None, score_model, archive, config, space)
    return QueryState(space.sample_unique(k_q, config.predictor_queries), k_p, score_model, archive)


def _generate_candidates(key, state: GuidedState, space, config: Config):
    """Guided rounds -> the ``top`` best-predicted distinct valid samples."""
    v, f = encoding.shape(space)
    sde = state.score.sde
    score_fn = state.score.score_fn()
    m = config.num_objectives
    pred_net = None if state.predictor is None else nnx.merge(predictor_graphdef(space, config.predictor_config),
                                                             state.predictor)

    def one_round(r, k):
        scale = jnp.maximum(config.guidance_scale - jnp.asarray(r).astype(jnp.float32) * config.decrement, 0.0)
        if pred_net is None:
            fn = score_fn
        elif m == 1:
            fn = guided(score_fn, lambda x, lvl: pred_net(x, lvl), scale)
        else:  # each sample guided by its own weights over the objectives (uniform on the simplex)
            k, k_w = jax.random.split(k)
            w = jax.random.dirichlet(k_w, jnp.ones(m), (config.round_size,))
            fn = guided(score_fn, lambda x, lvl: jnp.sum(pred_net(x, lvl) * w, axis=-1), scale)
        return pc_sample(k, fn, sde, (config.round_size, v, f), config.pc_steps, config.snr)

    x = jax.vmap(one_round)(jnp.arange(config.rounds), jax.random.split(key, config.rounds)) \
        if config.rounds > 1 else one_round(0, key)[None]
    ops, valid = encoding.decode(x.reshape((-1, v, f)), space)
    distinct = archive_lib.first_in_batch(ops, valid, space)
    if config.loops > 1:  # the closed loop: only architectures not queried yet are candidates
        distinct = distinct & ~archive_lib.contains(state.archive, ops, space)
    if pred_net is None:  # unguided: the first distinct valid samples, in generation order
        score = predicted = -jnp.arange(ops.shape[0], dtype=jnp.float32)
        if m > 1:
            predicted = jnp.zeros((ops.shape[0], m), jnp.float32)
    else:
        x = encoding.to_matrix(ops, space) * 2.0 - 1.0
        score = predicted = pred_net(x, sde.noise_level(jnp.full((x.shape[0],), 1e-5)))
        if m > 1:  # predicted Pareto rank, then crowding distance (NSGA-II's order)
            score = jnp.nan_to_num(pareto.standing(predicted, distinct, crowding_weight=0.5), nan=-ops.shape[0])
    top_s, idx = jax.lax.top_k(jnp.where(distinct, score, -jnp.inf), config.top)
    return ops[idx], jnp.isfinite(top_s), predicted[idx], jnp.mean(valid), jnp.sum(distinct).astype(jnp.int32)


def ask(key: jax.Array, state, space, config: Config):
    """The ``Q`` predictor queries, then the ``top`` generated candidates ``[top, R]`` (candidates that
    are not distinct valid samples, when fewer exist, are repeats whose values are ignored).

    Examples:
      >>> import jax
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import generator, train
      >>> space, tcfg = spaces.get("nb201"), train.ScoreTrainConfig()
      >>> net = nnx.eval_shape(lambda: train.build(space, tcfg, jax.random.key(0)))  # shapes only
      >>> score = generator.ScoreModel.of(net, tcfg.make_sde())
      >>> tiny = generator.PredictorConfig(iterations=2, batch=4, d=8, layers=1, heads=1)
      >>> cfg = generator.Config(predictor_queries=4, top=2, round_size=4, pc_steps=2, predictor=tiny)
      >>> unguided = cfg.replace(predictor_queries=0)  # straight to the candidates
      >>> def first_ask(key, sm):
      ...     return generator.ask(key, generator.init(key, space, unguided, sm), space, unguided)[0]
      >>> jax.eval_shape(first_ask, jax.random.key(0), score)  # shapes only: top = 2 generated cells
      ShapeDtypeStruct(shape=(2, 6), dtype=int32)
    """
    if isinstance(state, QueryState):
        return state.ops, state
    if is_concrete(state.told) and bool(state.told):
        raise ConfigError("this DiffusionNAG run is finished: its candidates were told (start a new one with init)")
    ops, ok, pred, validity, distinct = _generate_candidates(key, state, space, config)
    return ops, state._replace(candidates=ops, candidate_ok=ok, predicted=pred, validity=validity, distinct=distinct)


def _track(archive, ops, ok, values, space):
    """The archive with the ``ok`` rows of ``ops`` evaluated, and their values (-inf elsewhere; a vector
    fitness: its first objective's)."""
    values = jnp.asarray(values, jnp.float32)
    if values.ndim == 2:
        archive = archive_lib.insert(archive, ops, values, space, admit=ok)[0]
        return archive, jnp.where(ok, failed_as(jnp.where(jnp.all(jnp.isfinite(values), 1), values[:, 0], jnp.nan)),
                                  -jnp.inf)
    f = jnp.where(ok, failed_as(values), -jnp.inf)
    return archive_lib.insert(archive, ops, f, space, admit=ok)[0], f


def _told(values, n: int, config: Config, what: str) -> jax.Array:
    """``values`` as float32 ``[n]`` (``[n, M]`` for a vector fitness), or a clear error."""
    values = jnp.asarray(values, jnp.float32)
    shape = (n, *value_shape(config.num_objectives))
    if values.shape != shape:
        raise ConfigError(f"tell takes one value{' per objective' if shape[1:] else ''} per {what}: shape "
                          f"{shape}, got {values.shape}")
    return values


def tell(state, values: jax.Array, space, config: Config):
    """The predictor queries' values fit the predictor; the candidates' values end the run. ``values``:
    float ``[Q]`` after the predictor queries, ``[top]`` after the candidates.

    Examples:
      >>> import jax
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import generator, train
      >>> space, tcfg = spaces.get("nb201"), train.ScoreTrainConfig()
      >>> net = nnx.eval_shape(lambda: train.build(space, tcfg, jax.random.key(0)))  # shapes only
      >>> score = generator.ScoreModel.of(net, tcfg.make_sde())
      >>> tiny = generator.PredictorConfig(iterations=2, batch=4, d=8, layers=1, heads=1)
      >>> cfg = generator.Config(predictor_queries=4, top=2, round_size=4, pc_steps=2, predictor=tiny)
      >>> def first_round(key, sm):
      ...     ops, state = generator.ask(key, generator.init(key, space, cfg, sm), space, cfg)
      ...     return generator.tell(state, (ops == 3).sum(1).astype(float), space, cfg)  # fits the predictor
      >>> state = jax.eval_shape(first_round, jax.random.key(0), score)  # shapes only, nothing trained
      >>> type(state).__name__, state.candidates.shape, state.archive_ops.shape  # Q + top queries in all
      ('GuidedState', (2, 6), (6, 6))
    """
    if isinstance(state, QueryState):
        values = _told(values, config.predictor_queries, config, "predictor query")
        archive, _ = _track(state.archive, state.ops, jnp.ones(config.predictor_queries, bool), values, space)
        pstate, _, _ = predictor_state(state.predictor_key, space, state.ops, values, state.score.sde,
                                       config.predictor_config)
        return _guided_state(pstate, state.score, archive, config, space, state.ops, values, state.predictor_key)
    values = _told(values, config.top, config, "candidate")
    archive, f = _track(state.archive, state.candidates, state.candidate_ok, values, space)
    last = state.cycle + 1 >= config.loops
    told = state._replace(archive=archive, generated_best=jnp.maximum(state.generated_best, jnp.max(f)), told=last,
                          cycle=state.cycle + 1)
    if config.loops > 1:  # the closed loop: the candidates join the archive and the predictor is refitted
        start = config.predictor_queries + state.cycle * config.top
        slots = jnp.minimum(start + jnp.arange(config.top), state.archive_values.shape[0] - 1)
        archive_ops = state.archive_ops.at[slots].set(state.candidates)
        archive_values = state.archive_values.at[slots].set(jnp.where(_per_row(state.candidate_ok, config), values,
                                                                      jnp.nan))

        warm = config.refit_iterations > 0  # warm start: the current predictor trains on, for refit_iterations
        pcfg = config.predictor_config
        pcfg = pcfg.replace(iterations=config.refit_iterations) if warm else pcfg

        def refit(_):
            key = jax.random.fold_in(state.predictor_key, state.cycle + 1)
            return predictor_state(key, space, archive_ops, archive_values, state.score.sde, pcfg,
                                   start=state.predictor if warm else None)[0]
        predictor = jax.lax.cond(last, lambda _: state.predictor, refit, None)
        told = told._replace(archive_ops=archive_ops, archive_values=archive_values, predictor=predictor)
    return unless_finished(state.told, state, told)  # the last cycle told: a no-op after


def done(state, config: Config) -> jax.Array:
    """Whether the last cycle's candidates were told (never while the predictor queries are pending): a bool
    scalar.

    Examples:
      >>> import jax
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import generator, train
      >>> space, tcfg = spaces.get("nb201"), train.ScoreTrainConfig()
      >>> net = nnx.eval_shape(lambda: train.build(space, tcfg, jax.random.key(0)))  # shapes only
      >>> score = generator.ScoreModel.of(net, tcfg.make_sde())
      >>> tiny = generator.PredictorConfig(iterations=2, batch=4, d=8, layers=1, heads=1)
      >>> cfg = generator.Config(predictor_queries=4, top=2, round_size=4, pc_steps=2, predictor=tiny)
      >>> state = jax.eval_shape(lambda k, sm: generator.init(k, space, cfg, sm), jax.random.key(0), score)
      >>> bool(generator.done(state, cfg))  # the predictor queries are pending
      False
    """
    return jnp.bool_(False) if isinstance(state, QueryState) else state.told


def generate(key: jax.Array, fitness: Callable, space, config: Config = Config(),
             score_model: ScoreModel | None = None) -> Result:
    """A whole DiffusionNAG run (the rounds of the module doc); jittable and vmappable.

    Returns a :class:`jaxnag.protocol.Result` with ``1 + loops`` trace entries (after the predictor
    queries, after each cycle's candidates; ``best_fitness`` is the best of all of them) and extras
    ``generated_best`` (best true fitness among the queried candidates), ``candidates`` ``[top, R]`` and
    ``candidate_values`` (the last cycle's),
    ``predicted``, ``validity`` (share of valid samples; 0 means the score network is untrained, see
    :func:`check`) and ``distinct`` (distinct valid samples generated).

    Examples:
      >>> import jax
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import generator, train
      >>> space, tcfg = spaces.get("nb201"), train.ScoreTrainConfig()
      >>> net = nnx.eval_shape(lambda: train.build(space, tcfg, jax.random.key(0)))  # shapes only
      >>> score = generator.ScoreModel.of(net, tcfg.make_sde())
      >>> tiny = generator.PredictorConfig(iterations=2, batch=4, d=8, layers=1, heads=1)
      >>> cfg = generator.Config(predictor_queries=4, top=2, round_size=4, pc_steps=2, predictor=tiny)
      >>> fitness = lambda ops: (ops == 3).sum(-1).astype(float)  # count the 3x3 convolutions
      >>> unguided = cfg.replace(predictor_queries=0)  # no predictor to fit: the quickest to trace
      >>> run = lambda k, sm: generator.generate(k, fitness, space, unguided, sm)
      >>> res = jax.eval_shape(run, jax.random.key(0), score)  # shapes only
      >>> res.best_ops.shape, res.best_trace.shape, res.extras["candidates"].shape
      ((6,), (2,), (2, 6))
    """
    if score_model is None:
        raise ConfigError("DiffusionNAG needs a trained score_model (generator.load(directory, space))")
    k_init, k_run = jax.random.split(key)
    state = init(k_init, space, config, score_model)
    best, queries = [jnp.float32(-jnp.inf)], [jnp.int32(0)]
    if config.predictor_queries:  # the predictor round
        ops, state = ask(jax.random.fold_in(k_run, 0), state, space, config)
        state = tell(state, evaluate(fitness, ops, config.num_objectives), space, config)
        best, queries = [state.best_fitness], [state.queries]

    def cycle(s, r):
        ops, s = ask(jax.random.fold_in(k_run, r), s, space, config)
        told = evaluate(fitness, ops, config.num_objectives)
        s = tell(s, told, space, config)
        return s, (s.best_fitness, s.queries, told)
    state, (cycle_best, cycle_queries, told) = jax.lax.scan(cycle, state, jnp.arange(1, config.loops + 1))
    values = jnp.where(_per_row(state.candidate_ok, config), told[-1], jnp.nan)
    return trace_result(state.best_ops, state.best_fitness, state.queries,
                        jnp.concatenate([jnp.stack(best), cycle_best]),
                        jnp.concatenate([jnp.stack(queries), cycle_queries]),
                        generated_best=state.generated_best, candidates=state.candidates, candidate_values=values,
                        predicted=state.predicted, validity=state.validity, distinct=state.distinct)


def check(result: Result, trained_steps: int | None = None, where: str = "the score network") -> None:
    """Raise :class:`GenerationError` where a run produced no valid architecture (host-side); ``result`` may be
    batched (one ``validity`` per seed).

    Examples:
      >>> import numpy as np
      >>> from jaxnag.protocol import trace_result
      >>> from jaxnag.diffusionnag import generator
      >>> two_seeds = lambda validity: trace_result(np.zeros((2, 6)), np.zeros(2), np.ones(2), np.zeros((2, 2)),
      ...                                           np.ones((2, 2)), validity=np.array(validity))
      >>> generator.check(two_seeds([0.4, 0.7]))  # both produced valid samples: nothing happens
      >>> try:
      ...     generator.check(two_seeds([0.4, 0.0]), trained_steps=10)
      ... except Exception as e:
      ...     print(type(e).__name__, "10 training steps" in str(e))
      GenerationError True
    """
    validity = np.asarray(result.extras["validity"])
    if validity.size and float(validity.min()) == 0.0:
        more = "" if trained_steps is None else f" ({where} holds {trained_steps} training steps)"
        raise GenerationError(f"0% of the generated samples are valid architectures{more}: the score network "
                              "needs more training (`jaxnag train-score --out DIR --iterations N` resumes)")
