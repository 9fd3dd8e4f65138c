"""PG-NAG (Xie, Ji, Sun, ICML 2025): prior-knowledge-guided architecture generation, end to end in JAX.

Score the components of the best architectures of a *source* table (Shapley values),
turn the scores into a categorical prior, train a discrete diffusion model whose limit
is that prior on those architectures, and sample architectures for a *target* task
(the same table, or another one: transfer, through :mod:`jaxnag.prior.mapping` when the op
vocabularies differ). Every choice the method description leaves open is a field of
:class:`Config`.

Scoring, prior, denoiser training (``lax.scan`` over NNX state) and sampling are one
jittable function: :func:`generate` compiles once per space and config and ``vmap`` runs it
over seeds and over stacked target (and source) tables. It speaks the generator protocol
(:mod:`jaxnag.protocol`): ``init`` scores and trains, each ``ask`` samples ``samples``
architectures, ``tell`` takes their fitness.

Which protocol a run follows depends on what the prior reads of the target:

- ``transfer`` (``source=`` another task's table): nothing of the target;
- ``budgeted`` (no source, ``config.prior_budget = B``): the top-k of B random target queries, all
  counted, so the run compares with searches at equal unique queries;
- ``whole-table`` (no source, no budget; the paper's setting): the top-k of the whole target
  table, so every row counts as read and the hit rate is not comparable with a search's.

The iterative variant (``iterative=True``, the query-efficient one) closes the loop inside the
compiled program: after every round it fits a ridge model (:mod:`jaxnag.ridge`) on all the target
queries told so far, takes the Shapley values of the ``k`` best of them under that additive model
(exact in closed form, so rescoring costs no query: :func:`additive_shapley`), rebuilds the prior,
and samples the next round from it, unqueried architectures first. ``predictor=`` swaps the ridge model
for any :mod:`jaxnag.predictors` model (a Gaussian process sees interactions an additive model cannot);
the Shapley values are then estimated on its mean with ``prior_method`` (:func:`predicted_shapley`), still
without a query.

Examples:
  >>> import jax
  >>> from jaxnag import pgnag, spaces, tables
  >>> t = tables.load("nasbench_graph", "cora")
  >>> cfg = pgnag.Config(k=5, prior_method="loo", prior_budget=50, samples=20, train=pgnag.DenoiserTrainConfig(iterations=50))
  >>> res = jax.jit(lambda k: pgnag.generate(k, t, t.space, cfg))(jax.random.key(0))
  >>> res.extras["samples"].shape
  (1, 20, 5)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import prior as prior_lib
from . import archive as archive_lib
from . import queries as seen_set
from . import ridge as ridge_lib
from .discrete import diffusion, train
from .discrete.train import DenoiserTrainConfig as DenoiserTrainConfig
from .errors import ConfigError, DataError, UnknownName, check_int, check_range, check_seed, is_concrete, old_names
from .prior import check_scoring
from .protocol import Result, evaluate, trace_result, unless_finished
from .shaping import failed_as

__all__ = ["Config", "PRIORS", "Report", "SAMPLERS", "State", "DenoiserTrainConfig", "additive_shapley", "ask",
           "check_transfer", "done", "generate", "init", "predicted_shapley", "protocol", "protocol_of", "report",
           "same_task", "sample_prior", "tell"]

PRIORS = ("shapley", "frequency", "uniform")
SAMPLERS = ("diffusion", "direct")
PROTOCOLS = ("transfer", "budgeted", "whole-table")
_OVERSAMPLE = 8  # the iterative variant draws this many times ``samples`` and keeps unqueried ones first


@dataclasses.dataclass(frozen=True)
class Config:
    """PG-NAG settings. ``temperature``, ``eps`` and ``sharpness`` are pytree leaves (sweepable by
    ``vmap``); the others are static.

    Attributes:
      k: number of best source architectures scored and trained on.
      prior_method: Shapley estimator: ``exact``, ``mc`` or ``loo``.
      prior_budget: if set, the top-k come from ``prior_budget`` random source queries, not the whole
        table.
      temperature: prior softmax temperature (default: std of the score matrix).
      eps: uniform mixing of the prior.
      fallback: score of unseen (slot, op) pairs (``zero`` or ``op_mean``).
      prior: which prior drives generation: ``shapley``, ``frequency`` or ``uniform``.
      sampler: ``diffusion`` (train the denoiser, ancestral sampling) or ``direct``
        (sample the prior itself, slot by slot).
      samples: architectures generated per round.
      rounds: ask/tell rounds of ``generate`` (each samples ``samples`` more).
      permutations: Monte-Carlo permutations per architecture (``prior_method="mc"``).
      max_missing: :func:`run` refuses a prior whose share of coalition lookups the source
        table lacks exceeds this (the result of :func:`generate` reports the share).
      train: denoiser size and training settings (:class:`jaxnag.discrete.train.DenoiserTrainConfig`).
      iterative: rescore after every round on the target queries made so far (score -> prior ->
        sample -> query -> rescore; module doc). Needs ``sampler="direct"``.
      ridge: L2 penalty of the iterative variant's ridge fit (> 0).
      predictor: the iterative variant's model of the target (a :mod:`jaxnag.predictors` object): None (the
        default) for ridge on one-hot with penalty ``ridge`` and Shapley values in closed form; another (for
        example ``predictors.get("gp", memory=300)``) is fitted on every target query told and the ``k`` best
        are scored on its mean by ``prior_method`` (:func:`predicted_shapley`).
      sharpness: the iterative variant's rescored prior uses ``temperature``, or by default the
        score matrix's standard deviation divided by this (scale-free; > 1 concentrates the prior).
      op_map: the transfer's op correspondence where the source's and the target's op names differ: target
        op name -> source op name (a dict or pairs; others match by name, :mod:`jaxnag.prior.mapping`).
      map_by: how the transfer carries the prior: ``"slot"`` (each slot to the same slot: the same cell graph)
        or ``"op"`` (each op's mean over the source's slots, on every target slot: any cell graphs, NB201 ->
        DARTS). Between different cell graphs the top architectures do not carry: use ``sampler="direct"``.
      denoiser_seed: None (default): each run trains its own denoiser from its key. An int: the denoiser
        trains from ``jax.random.key(denoiser_seed)``, so runs whose training data are the same (the transfer
        protocol: the source's top-k) train the same denoiser, and seeds vmapped in one call train it once
        and differ only in their samples (docs/pgnag_shared.md measures time and quality).

    Examples:
      >>> import jax
      >>> from jaxnag import pgnag, spaces
      >>> jax.tree_util.tree_leaves(pgnag.Config(temperature=0.5))  # temperature, eps, sharpness: sweepable
      [0.5, 0.05, 1.0]
      >>> s = spaces.get("nb201")  # the most target queries scoring can make: the table, or draws + coalitions
      >>> pgnag.Config().init_queries(s), pgnag.Config(k=5, prior_budget=50, prior_method="loo").init_queries(s)
      (15625, 80)
      >>> try:
      ...     pgnag.Config(iterative=True)  # the default sampler is "diffusion"
      ... except ValueError as e:  # errors.ConfigError
      ...     print(str(e).split(":")[0])
      the iterative variant samples the prior itself
    """

    k: int = 20
    prior_method: str = "exact"
    prior_budget: int | None = None
    temperature: float | None = None
    eps: float = 0.05
    fallback: str = "zero"
    prior: str = "shapley"
    sampler: str = "diffusion"
    samples: int = 100
    rounds: int = 1
    permutations: int = 32
    max_missing: float = 0.1
    train: DenoiserTrainConfig = DenoiserTrainConfig()
    iterative: bool = False
    ridge: float = 1.0
    sharpness: float = 1.0
    denoiser_seed: int | None = None
    predictor: object = None
    op_map: tuple[tuple[str, str], ...] = ()
    map_by: str = "slot"

    def init_queries(self, space) -> int:
        """The most unique target queries :func:`init_on_target` can make: every distinct architecture of
        ``space`` (whole-table), or ``prior_budget`` random draws plus the Shapley coalitions of the top-k
        other than each architecture itself (``loo``: one per player; ``mc``: ``permutations`` x (players - 1)
        + 1; ``exact``: 2^players - 1), at most the space's size. A query budget below it is refused before
        anything is compiled (:func:`jaxnag.budget.with_budget`), so a budgeted run never overruns."""
        if self.prior_budget is None:
            return int(len(space.distinct_ranks())) if space.enumerable else 0
        p = int(np.sum(prior_lib.shapley.removed_choices(space) >= 0))
        per = {"loo": p, "mc": self.permutations * max(p - 1, 0) + 1, "exact": 2 ** p - 1}[self.prior_method]
        bound = int(self.prior_budget) + self.k * per
        return min(bound, int(len(space.distinct_ranks()))) if space.enumerable else bound

    def __post_init__(self):
        if self.prior not in PRIORS:
            raise UnknownName(f"unknown prior {self.prior!r}; available: {', '.join(PRIORS)}")
        if self.sampler not in SAMPLERS:
            raise UnknownName(f"unknown sampler {self.sampler!r}; available: {', '.join(SAMPLERS)}")
        if self.fallback not in prior_lib.scores.FALLBACKS:
            raise UnknownName(f"unknown fallback {self.fallback!r}; available: {', '.join(prior_lib.scores.FALLBACKS)}")
        check_scoring(self.k, self.prior_method, self.prior_budget, self.temperature, self.eps)
        check_int("samples", self.samples, lo=1)
        check_int("rounds", self.rounds, lo=1)
        check_int("permutations", self.permutations, lo=1)
        check_range("max_missing", self.max_missing, lo=0.0, hi=1.0)
        if self.iterative and self.sampler != "direct":
            raise ConfigError("the iterative variant samples the prior itself: use sampler='direct' (retraining the "
                              "denoiser every round is not built)")
        check_range("sharpness", self.sharpness, lo=0.0, lo_open=True)
        if not self.ridge > 0:
            raise ConfigError(f"ridge must be > 0 (it keeps the regression's system solvable), got {self.ridge}")
        if self.denoiser_seed is not None:
            check_seed("denoiser_seed", self.denoiser_seed)
        if self.predictor is not None:
            if not self.iterative:
                raise ConfigError("predictor is the iterative variant's model of the target: set iterative=True")
            if not all(callable(getattr(self.predictor, m, None)) for m in ("init", "update", "predict")):
                raise ConfigError("predictor must be a jaxnag.predictors model (init, update, predict), got "
                                  f"{type(self.predictor).__name__}")
        try:
            pairs = tuple(sorted(dict(self.op_map or ()).items()))
        except (TypeError, ValueError):
            pairs = None
        if pairs is None or not all(isinstance(a, str) and isinstance(b, str) for a, b in pairs):
            raise ConfigError(f"op_map must map target op names to source op names (a dict of str), got "
                              f"{self.op_map!r}")
        object.__setattr__(self, "op_map", pairs)  # hashable and in one order: a static field
        if self.map_by not in prior_lib.mapping.MAP_BY:
            raise UnknownName(f"unknown map_by {self.map_by!r}; available: {', '.join(prior_lib.mapping.MAP_BY)}")
        if not isinstance(self.train, DenoiserTrainConfig):
            raise ConfigError(f"train must be a discrete.train.DenoiserTrainConfig, got {type(self.train).__name__}")

    def replace(self, **kw) -> "Config":
        return dataclasses.replace(self, **kw)


jax.tree_util.register_dataclass(
    Config, data_fields=["temperature", "eps", "sharpness"],
    meta_fields=[f.name for f in dataclasses.fields(Config) if f.name not in ("temperature", "eps", "sharpness")])


@archive_lib.reads_archive
class State(NamedTuple):
    """PG-NAG's state after scoring and training (a pytree).

    Attributes:
      scoring: the source's :class:`jaxnag.prior.PriorResult`.
      prior: ``[R, C]`` the prior on the target space.
      model: the trained denoiser's NNX state (None for direct sampling).
      losses: ``[iterations]`` training losses (empty for direct sampling).
      train_ops, train_kept: the training architectures on the target space ``[k, R]``, and which of
        them map onto it.
      archive: the target queries read so far (:mod:`jaxnag.archive`; the prior's reads included, see
        the module doc): ``queries``, and ``best_ops``, ``best_fitness``, the best target query so far
        (the samples, and in the budgeted protocol the B random draws).
      proposal: ``[samples, R]`` what the last ask drew.
      rounds: rounds told.
      distinct, novel: distinct samples per round, summed, and those not among the training set.
      stats: the iterative variant's model of the target queries told so far (ridge statistics, or the state of
        ``config.predictor``).
      top_ops, top_values: the iterative variant's ``k`` best distinct target queries so far ``[k, R]``
        (value -inf where fewer), the architectures it rescores.

    Examples:
      >>> import jax
      >>> import numpy as np
      >>> from jaxnag import pgnag, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")  # R = 2, C = 3
      >>> t = tables.from_arrays(s, s.all_ops(), s.all_ops().sum(1).astype(np.float32), dataset="sum")
      >>> cfg = pgnag.Config(k=2, samples=4, sampler="direct")
      >>> state = jax.eval_shape(lambda k: pgnag.init(k, s, cfg, t), jax.random.key(0))  # shapes only
      >>> type(state.scoring).__name__, state.prior.shape, state.model, state.losses.shape, state.proposal.shape
      ('PriorResult', (2, 3), None, (0,), (4, 2))
    """

    scoring: prior_lib.PriorResult
    prior: jax.Array
    model: object
    losses: jax.Array
    train_ops: jax.Array
    train_kept: jax.Array
    archive: archive_lib.Archive
    proposal: jax.Array
    rounds: jax.Array
    distinct: jax.Array
    novel: jax.Array
    stats: object
    top_ops: jax.Array
    top_values: jax.Array


def same_task(source, target) -> bool:
    """Whether two tables are one task (host-side: same benchmark, dataset and space).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import pgnag, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")  # 9 architectures
      >>> ops = s.all_ops()
      >>> t = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), dataset="sum")
      >>> other = tables.from_arrays(s, ops, ops.prod(1).astype(np.float32), dataset="prod")
      >>> again = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), dataset="sum")
      >>> pgnag.same_task(t, t), pgnag.same_task(again, t), pgnag.same_task(other, t)
      (True, True, False)
    """
    return source is target or (source.info.benchmark == target.info.benchmark
                                and source.info.dataset == target.info.dataset
                                and source.info.space is target.info.space)


def protocol(source, target, config: Config) -> str:
    """``transfer``, ``budgeted`` or ``whole-table``: which protocol :func:`run` follows (module doc).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import pgnag, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")  # 9 architectures
      >>> ops = s.all_ops()
      >>> t = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), dataset="sum")
      >>> other = tables.from_arrays(s, ops, ops.prod(1).astype(np.float32), dataset="prod")
      >>> [pgnag.protocol(src, t, pgnag.Config(prior_budget=b)) for src, b in ((other, None), (t, None), (t, 5))]
      ['transfer', 'whole-table', 'budgeted']
    """
    return protocol_of(None if same_task(source, target) else source, config)


def protocol_of(source, config: Config) -> str:
    """The protocol of :func:`generate` with this ``source`` (None: the target itself).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import pgnag, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")
      >>> source = tables.from_arrays(s, s.all_ops(), s.all_ops().sum(1).astype(np.float32))
      >>> [pgnag.protocol_of(src, pgnag.Config(prior_budget=b)) for src, b in ((source, None), (None, None), (None, 5))]
      ['transfer', 'whole-table', 'budgeted']
    """
    if source is not None:
        return "transfer"
    return "whole-table" if config.prior_budget is None else "budgeted"


def sample_prior(key: jax.Array, prior, n: int, space=None) -> jax.Array:
    """``n`` draws of each slot independently from ``prior [R, C]`` -> int32 ``[n, R]``. On a ``space`` with its
    own decoding (DARTS) the Gumbel-perturbed log-prior is decoded instead, so every draw is valid (each node
    keeps the two inputs whose perturbed best op scores highest); elsewhere the two are the same draw.

    Examples:
      >>> import jax
      >>> from jaxnag import spaces
      >>> s = spaces.get("darts")
      >>> ops = sample_prior(jax.random.key(0), prior_lib.uniform_prior(s), 4, s)
      >>> ops.shape, bool(s.is_valid(ops).all())
      ((4, 28), True)
    """
    p = jnp.broadcast_to(jnp.asarray(prior, jnp.float32), (n,) + jnp.shape(prior))
    if space is not None and space.has_decoding:
        gumbel = jax.random.gumbel(key, p.shape, jnp.float32)
        return space.from_one_hot(jnp.log(jnp.maximum(p, 1e-30)) + gumbel)
    return diffusion.sample_categorical(key, p)


def _source_space(source, space):
    src = getattr(source, "space", None)  # a table, or a fitness that says its space (predictors.fitted)
    return space if src is None else src


def _init(key: jax.Array, space, config: Config, source, proto: str) -> State:
    if not isinstance(config, Config):
        raise TypeError(f"config must be a pgnag.Config, got {type(config).__name__}")
    if source is None or not callable(source):
        raise ConfigError("PG-NAG needs a source of prior knowledge: a table (source=...) or a jittable fitness")
    src = _source_space(source, space)
    if getattr(source, "values", None) is not None and source.values.ndim != 1:
        raise ConfigError("source is a stacked table: vmap over it (one source per task), or index it: table[i]")
    if proto == "whole-table" and (getattr(source, "values", None) is None or not space.enumerable):
        raise ConfigError("the whole-table protocol scores a jaxnag.tables.Table: give config.prior_budget for any other "
                          "fitness")
    k_score, k_train = jax.random.split(key)
    if config.denoiser_seed is not None:  # one denoiser for every run with these training data
        k_train = jax.random.key(np.uint32(config.denoiser_seed))
    capacity = config.samples * config.rounds
    scoring = prior_lib.score(k_score, source, src, config.k, config.prior_method, config.prior_budget, config.temperature,
                              config.eps, config.permutations, None, 0.0, config.fallback, reserve=capacity)
    base = {"shapley": scoring.prior, "frequency": scoring.frequency,
            "uniform": prior_lib.uniform_prior(src)}[config.prior]
    op_map = dict(config.op_map) or None
    p = base if src is space else prior_lib.map_prior(base, src, space, config.eps, op_map, config.map_by)
    if src is not space:  # the mapping itself was checked by map_prior
        _refuse_denoiser_across_graphs(src, space, config)
    train_ops, kept = prior_lib.mapping.map_ops(scoring.top_ops, src, space, op_map)
    if config.sampler == "diffusion":
        model, losses = train.train_state(k_train, train_ops, kept.astype(jnp.float32), p, space, config.train)
    else:
        model, losses = None, jnp.zeros(0, jnp.float32)
    archive = archive_lib.init(space, capacity)._replace(best_ops=train_ops[0])
    if proto == "budgeted":  # the B random draws and the coalitions scored are queries of the target
        archive = archive._replace(seen=scoring.seen, queries=scoring.unique_lookups, best_ops=scoring.top_ops[0],
                                   best_fitness=scoring.top_values[0])
    elif proto == "whole-table":
        distinct = jnp.asarray(space.distinct_ranks())  # one rank per query: each is its own query id
        seen, _ = seen_set.mark(archive.seen, distinct, jnp.isfinite(source.values[distinct]))
        archive = archive._replace(seen=seen, queries=seen_set.count(seen))
    model_of = _predictor(config)
    stats = model_of.init(space)
    top_ops, top_values = jnp.zeros((config.k, space.num_slots), jnp.int32), jnp.full(config.k, -jnp.inf, jnp.float32)
    if proto == "budgeted":  # the top-k of the B draws are known target values: the rescoring starts from them
        stats = model_of.update(stats, scoring.top_ops, scoring.top_values, space)
        top_ops = scoring.top_ops
        top_values = jnp.where(jnp.isfinite(scoring.top_values), scoring.top_values, -jnp.inf)
    return State(scoring, p, model, losses, train_ops, kept, archive,
                 jnp.zeros((config.samples, space.num_slots), jnp.int32), jnp.int32(0), jnp.int32(0), jnp.int32(0),
                 stats, top_ops, top_values)


def check_transfer(source_space, space, config: Config) -> None:
    """Raise a :class:`~jaxnag.errors.ConfigError` where a prior scored on ``source_space`` cannot carry to
    ``space`` under ``config`` (``map_by``, ``op_map``, ``sampler``), before anything is traced; else nothing.

    Examples:
      >>> from jaxnag import pgnag, spaces
      >>> nb201, darts = spaces.get("nb201"), spaces.get("darts")
      >>> pgnag.check_transfer(nb201, darts, pgnag.Config(map_by="op", sampler="direct"))  # ops shared by name
      >>> try:
      ...     pgnag.check_transfer(nb201, darts, pgnag.Config(map_by="op"))  # the default sampler: the denoiser
      ... except ValueError as e:  # errors.ConfigError
      ...     print(str(e).split(":")[0])
      the denoiser learns from the source's top architectures, and nb201's do not carry to darts (another cell graph)
    """
    prior_lib.map_prior(prior_lib.uniform_prior(source_space), source_space, space, config.eps,
                        dict(config.op_map) or None, config.map_by)
    _refuse_denoiser_across_graphs(source_space, space, config)


def _refuse_denoiser_across_graphs(source_space, space, config: Config) -> None:
    if config.sampler == "diffusion" and not prior_lib.mapping.same_graph(source_space, space):
        raise ConfigError(f"the denoiser learns from the source's top architectures, and {source_space.name}'s do not "
                          f"carry to {space.name} (another cell graph): use sampler='direct' (samples the transferred "
                          "prior)")


def init(key: jax.Array, space, config: Config, source) -> State:
    """Score ``source`` (a table, or with ``config.prior_budget`` any jittable fitness), build the prior on
    ``space`` and train the denoiser: the ``transfer`` protocol (the target is read only by
    ``tell``). :func:`generate` without a source uses the target itself.

    Examples:
      >>> import jax
      >>> import numpy as np
      >>> from jaxnag import pgnag, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")  # 9 architectures
      >>> ops = s.all_ops()
      >>> t = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), dataset="sum")
      >>> other = tables.from_arrays(s, ops, ops.prod(1).astype(np.float32), dataset="prod")
      >>> cfg = pgnag.Config(k=2, samples=4, sampler="direct")
      >>> state = jax.eval_shape(lambda k: pgnag.init(k, s, cfg, other), jax.random.key(0))  # shapes, no run
      >>> state.prior.shape, state.train_ops.shape, state.proposal.shape, state.rounds.shape
      ((2, 3), (2, 2), (4, 2), ())
    """
    return _init(key, space, config, source, "transfer")


def init_on_target(key: jax.Array, fitness: Callable, space, config: Config) -> State:
    """:func:`init` without a source: the prior is scored on ``fitness``, the target itself (the
    ``budgeted`` protocol with ``config.prior_budget``, else ``whole-table``); the state's ``archive``
    records the target queries this made."""
    return _init(key, space, config, fitness, protocol_of(None, config))


def ask(key: jax.Array, state: State, space, config: Config) -> tuple[jax.Array, State]:
    """Draw ``config.samples`` architectures ``[samples, R]`` (denoiser or prior). After the last round it
    raises where the round count is concrete (under ``jit`` it draws again; ``tell`` then changes nothing).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import numpy as np
      >>> from jaxnag import pgnag, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")  # 9 architectures
      >>> ops = s.all_ops()
      >>> t = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), dataset="sum")
      >>> cfg, key = pgnag.Config(k=2, samples=4, sampler="direct"), jax.random.key(0)
      >>> state = jax.eval_shape(lambda k: pgnag.init(k, s, cfg, t), key)  # shapes only, nothing runs
      >>> drawn, state = jax.eval_shape(lambda k, st: pgnag.ask(k, st, s, cfg), key, state)
      >>> drawn.shape, drawn.dtype
      ((4, 2), dtype('int32'))
      >>> try:
      ...     pgnag.ask(key, state._replace(rounds=jnp.int32(1)), s, cfg)
      ... except pgnag.ConfigError as e:
      ...     print(e)
      this PG-NAG run is finished: all 1 rounds were told
    """
    if is_concrete(state.rounds) and int(state.rounds) >= config.rounds:
        raise ConfigError(f"this PG-NAG run is finished: all {config.rounds} rounds were told")
    if config.iterative:
        draws = sample_prior(key, state.prior, config.samples * _OVERSAMPLE, space)
        fresh = archive_lib.fresh(state.archive, draws, space)
        ops = draws[jnp.argsort(~fresh, stable=True)[:config.samples]]  # unqueried distinct valid ones first
        return ops, state._replace(proposal=ops)
    # on a space with a validity rule and no decoding into it (NB101) draw more and keep the valid ones first
    more = 1 if not space.has_rule or space.has_decoding else \
        (_OVERSAMPLE if config.sampler == "direct" else 2)
    n = config.samples * more
    if config.sampler == "direct":
        ops = sample_prior(key, state.prior, n, space)
    else:
        ops = train.sample(key, state.model, state.prior, n, space, config.train)
    if more > 1:
        ops = ops[jnp.argsort(~space.is_valid(ops), stable=True)[:config.samples]]
    return ops, state._replace(proposal=ops)


def tell(state: State, values: jax.Array, space, config: Config) -> State:
    """Take the fitness ``values [samples]`` of the drawn architectures (the state's ``proposal`` ``[samples, R]``).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import numpy as np
      >>> from jaxnag import pgnag, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")  # 9 architectures
      >>> ops = s.all_ops()
      >>> t = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), dataset="sum")
      >>> cfg, key = pgnag.Config(k=2, samples=4, sampler="direct"), jax.random.key(0)
      >>> state = jax.eval_shape(lambda k: pgnag.ask(k, pgnag.init(k, s, cfg, t), s, cfg)[1], key)  # shapes only
      >>> told = jax.eval_shape(lambda st, v: pgnag.tell(st, v, s, cfg), state, jnp.zeros(4, jnp.float32))
      >>> told.rounds.dtype, told.best_ops.shape
      (dtype('int32'), (2,))
      >>> try:
      ...     pgnag.tell(state, jnp.zeros(3, jnp.float32), s, cfg)
      ... except pgnag.ConfigError as e:
      ...     print(e)
      tell takes one fitness value per sample: shape (4,), got (3,)
    """
    values = jnp.asarray(values, jnp.float32)
    if values.shape != (config.samples,):
        raise ConfigError(f"tell takes one fitness value per sample: shape ({config.samples},), got {values.shape}")
    ops = state.proposal
    valid = space.is_valid(ops)
    archive, new = archive_lib.insert(state.archive, ops, failed_as(values), space, admit=valid)
    first = archive_lib.first_in_batch(ops, valid, space)
    known = jnp.any(_same(ops, state.train_ops, space) & state.train_kept[None, :], axis=1)
    told = state._replace(archive=archive, rounds=state.rounds + 1,
                          distinct=state.distinct + jnp.sum(first), novel=state.novel + jnp.sum(first & ~known))
    if config.iterative:
        told = _rescore(told, ops, jnp.where(valid, values, jnp.nan), new=new, space=space, config=config)
    return unless_finished(state.rounds >= config.rounds, state, told)  # past the last round: a no-op


def _same(a, b, space) -> jax.Array:
    """bool ``[n, m]``: whether row i of ``a [n, R]`` is the same query as row j of ``b [m, R]`` (isomorphs where the
    space's benchmark dedups them)."""
    if space.enumerable:
        return space.query_id(a)[:, None] == space.query_id(b)[None, :]
    return jnp.all(a[:, None, :] == b[None, :, :], axis=-1)


def _rescore(state: State, ops, values, new, space, config: Config) -> State:
    """The iterative variant's update: fit the model on every target query told so far, take the Shapley
    values of the ``k`` best queries under it, and rebuild the prior from them."""
    model = _predictor(config)
    stats = model.update(state.stats, ops, values, space)
    top_ops, top_values = seen_set.keep_best(state.top_ops, state.top_values, ops, values, new)
    if config.predictor is None:  # additive: exact in closed form
        phi = additive_shapley(ridge_lib.slot_weights(ridge_lib.weights(stats, config.ridge), space), top_ops, space)
    else:
        phi = predicted_shapley(model, stats, top_ops, space, config.prior_method, config.permutations,
                                jax.random.fold_in(jax.random.key(0), state.rounds))
    score = prior_lib.scores.score_matrix(top_ops, phi, space, config.fallback, jnp.isfinite(top_values))
    tau = prior_lib.scores.default_temperature(score) / config.sharpness if config.temperature is None \
        else config.temperature
    p = prior_lib.scores.prior_from_scores(score, space, tau, config.eps)
    p = jnp.where(jnp.any(jnp.isfinite(top_values)), p, state.prior)
    return state._replace(prior=p, stats=stats, top_ops=top_ops, top_values=top_values)


def _predictor(config: Config):
    """The iterative variant's model: ``config.predictor``, or ridge with the config's (traced) penalty."""
    from . import predictors
    return predictors.Ridge(config.ridge) if config.predictor is None else config.predictor


def predicted_shapley(model, state, ops, space, method: str = "loo", permutations: int = 32, key=None) -> jax.Array:
    """Shapley values ``[k, R]`` of ``ops [k, R]`` under a fitted predictor's mean (``model.predict(state, ...)``,
    :mod:`jaxnag.predictors`), by ``method`` (``exact``, ``mc`` with ``permutations`` orders drawn from ``key``,
    or ``loo``) over the same coalitions as the prior's scoring (an invalid coalition is worth 0). No query.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import pgnag, predictors, spaces
      >>> s, gp = spaces.get("nb201"), predictors.get("gp", memory=64)
      >>> ops = s.random(jax.random.key(0), (64,))
      >>> values = jnp.sum(ops == 3, axis=1).astype(jnp.float32)  # conv3x3 worth 1 on every edge
      >>> fit = jax.jit(lambda o, v: gp.update(gp.init(s), o, v, s))(ops, values)
      >>> best = jnp.array([[3, 3, 0, 1, 3, 2]])
      >>> phi = jax.jit(lambda st, o: pgnag.predicted_shapley(gp, st, o, s, "exact"))(fit, best)
      >>> [round(float(x)) for x in phi[0]]
      [1, 1, 0, 0, 1, 0]
    """
    removed = prior_lib.shapley.removed_choices(space)
    states = prior_lib.shapley.removal_states(space, ops, removed)

    def valued(c):
        flat = c.reshape(-1, space.num_slots)
        v = jnp.where(space.is_valid(flat), model.predict(state, flat, space)[0], jnp.nan)
        return v.reshape(c.shape[:-1])
    key = jax.random.key(0) if key is None and method == "mc" else key
    return prior_lib.shapley.estimate(method, valued, ops, removed, key, permutations, 0.0, states)[0]


def additive_shapley(w, ops, space) -> jax.Array:
    """Shapley values ``[k, R]`` of ``ops [k, R]`` under the additive model ``f(a) = b + sum_r w[r, a_r]``.

    For an additive model they are exact in closed form: slot ``r`` is worth ``w[r, a_r]`` less the
    value of its removed choice (:func:`jaxnag.prior.shapley.removed_choices`), or, for a slot with
    none (NAS-Bench-Graph's link pattern), less the mean over its choices.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> s = spaces.get("nb201")
      >>> w = jnp.zeros((6, 5)).at[:, 3].set(1.0)  # conv3x3 worth 1 on every edge
      >>> additive_shapley(w, jnp.array([[3, 3, 0, 1, 3, 2]]), s).tolist()
      [[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]]
    """
    removed = prior_lib.shapley.removed_choices(space)
    mask = jnp.asarray(space.choice_mask)
    mean = jnp.sum(jnp.where(mask, w, 0.0), axis=1) / jnp.sum(mask, axis=1).astype(jnp.float32)
    base = jnp.where(jnp.asarray(removed) >= 0, w[jnp.arange(space.num_slots), jnp.asarray(np.maximum(removed, 0))],
                     mean)
    return w[jnp.arange(space.num_slots), ops] - jnp.broadcast_to(base, ops.shape)


def done(state: State, config: Config) -> jax.Array:
    """Whether all ``config.rounds`` rounds were told.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import numpy as np
      >>> from jaxnag import pgnag, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")  # 9 architectures
      >>> ops = s.all_ops()
      >>> t = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), dataset="sum")
      >>> cfg = pgnag.Config(k=2, samples=4, sampler="direct", rounds=2)
      >>> state = jax.eval_shape(lambda k: pgnag.init(k, s, cfg, t), jax.random.key(0))  # shapes only
      >>> [bool(pgnag.done(state._replace(rounds=jnp.int32(r)), cfg)) for r in (0, 1, 2)]
      [False, False, True]
    """
    return state.rounds >= config.rounds


def generate(key: jax.Array, fitness: Callable, space, config: Config = Config(), source=None) -> Result:
    """A whole PG-NAG run on the target ``fitness``; jittable, vmappable over keys, stacked target
    tables (and stacked sources), and a batched config's leaves.

    Args:
      key: PRNG key.
      fitness: the target, ``ops [..., R] -> [...]`` (a table, or any jittable function).
      space: the target space.
      config: settings.
      source: the prior's source table (``transfer``); None scores the target itself (``budgeted``
        with ``config.prior_budget``, else ``whole-table``: ``fitness`` must then be a table).

    Returns a :class:`jaxnag.protocol.Result`, one trace entry per round, with extras ``samples``
    ``[rounds, samples, R]``, ``values`` (their fitness), ``prior``, ``score``, ``top_ops``,
    ``top_values``, ``phi``, ``missing_share``, ``scoring_lookups``, ``novelty`` (share of distinct
    samples not among the training architectures), ``train_rows`` (training architectures that map
    onto the target) and ``final_loss``.

    Examples:
      >>> import jax
      >>> import numpy as np
      >>> from jaxnag import pgnag, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")  # 9 architectures
      >>> ops = s.all_ops()
      >>> t = tables.from_arrays(s, ops, ops.sum(1).astype(np.float32), dataset="sum")
      >>> cfg = pgnag.Config(k=2, samples=4, sampler="direct", rounds=3)
      >>> res = jax.eval_shape(lambda k: pgnag.generate(k, t, s, cfg), jax.random.key(0))  # shapes, no run
      >>> res.extras["samples"].shape, res.best_trace.shape, res.extras["prior"].shape, res.best_ops.shape
      ((3, 4, 2), (3,), (2, 3), (2,))
    """
    proto = protocol_of(source, config)
    k_init, k_run = jax.random.split(key)
    state = _init(k_init, space, config, fitness if source is None else source, proto)

    def body(s, r):
        ops, s = ask(jax.random.fold_in(k_run, r), s, space, config)
        values = evaluate(fitness, ops)
        s = tell(s, values, space, config)
        return s, (s.best_fitness, s.queries, ops, values)

    state, (best, queries, ops, values) = jax.lax.scan(body, state, jnp.arange(config.rounds))
    sc = state.scoring
    return trace_result(state.best_ops, state.best_fitness, state.queries, best, queries, samples=ops, values=values,
                        prior=state.prior, score=sc.score, top_ops=sc.top_ops, top_values=sc.top_values, phi=sc.phi,
                        missing_share=sc.missing_share, scoring_lookups=sc.unique_lookups,
                        novelty=state.novel / jnp.maximum(state.distinct, 1),
                        train_rows=jnp.sum(state.train_kept).astype(jnp.int32),
                        final_loss=jnp.mean(state.losses[-10:]) if config.sampler == "diffusion" else jnp.float32(0))


class Report(NamedTuple):
    """One PG-NAG run on one target, on the host (:func:`run`).

    Attributes:
      samples: int ``[rounds * samples, R]`` generated architectures (target space).
      values: their target fitness (NaN where the table has none).
      best_ops, best: the best sample and its fitness; mean: mean over finite samples.
      novelty: share of distinct samples not among the training architectures.
      target_queries: unique target architectures whose metric was used (module doc).
      protocol: ``transfer``, ``budgeted`` or ``whole-table``.
      prior_source: the table the prior was scored on (``benchmark/dataset:metric``).
      prior: the prior used on the target space; score: the source's score matrix.
      missing_share: share of coalition lookups the source lacked.
      result: the :class:`jaxnag.protocol.Result` of :func:`generate`.

    Examples:
      >>> from jaxnag import pgnag
      >>> pgnag.Report._fields[:7]  # host values (numpy arrays, floats) made by pgnag.report
      ('samples', 'values', 'best_ops', 'best', 'mean', 'novelty', 'target_queries')
    """

    samples: np.ndarray
    values: np.ndarray
    best_ops: np.ndarray
    best: float
    mean: float
    novelty: float
    target_queries: int
    protocol: str
    prior_source: str
    prior: np.ndarray
    score: np.ndarray
    missing_share: float
    result: Result


def check(result: Result, config: Config, source_name: str = "the source") -> None:
    """Refuse a result whose prior is meaningless (host-side): too many coalition lookups missing
    from the source (more than ``config.max_missing``), or no training architecture on the target."""
    share = np.asarray(result.extras["missing_share"])
    if share.size and float(share.max()) > config.max_missing:
        raise DataError(f"{source_name} lacks {float(share.max()):.0%} of the coalition lookups Shapley scoring "
                        f"needs (more than max_missing={config.max_missing:g}); its prior would be meaningless. "
                        "Score a table that covers the space (a benchmark table), or raise max_missing to accept it")
    if config.sampler == "diffusion" and int(np.asarray(result.extras["train_rows"]).min()) == 0:
        raise ConfigError("no training architecture of the source maps onto the target space")


_generate = jax.jit(generate, static_argnames=("space",))


def report(key: jax.Array, source, target, config: Config = Config()) -> Report:
    """PG-NAG's report of a run: score ``source``, build the prior, generate for ``target`` (host wrapper of
    :func:`generate`,
    compiled once per space and config; the protocol is decided by :func:`protocol`).

    Examples:
      A run compiles the whole of :func:`generate` (seconds, even on a tiny space); a source whose space does not
      map onto the target's is refused while tracing, before anything is compiled:

      >>> import jax, numpy as np
      >>> from jaxnag import errors, pgnag, spaces, tables
      >>> def chain(slots):  # a table of every architecture of a small chain space
      ...     s = spaces.categorical(f"chain{slots}", ("zero", "a", "b"), slots=slots, remove="zero")
      ...     return tables.from_arrays(s, s.all_ops(), s.all_ops().sum(1).astype(np.float32))
      >>> try:  # a transfer (another task as the source) from 2 slots to 3
      ...     pgnag.report(jax.random.key(0), chain(2), chain(3), pgnag.Config(k=2, samples=4, sampler="direct"))
      ... except errors.ConfigError as e:
      ...     print(str(e).split(" (")[0])  # it goes on: "(map_by='op' carries each op's mean over the source's slots)"
      cannot map chain2 onto chain3 slot by slot: the cell graphs differ
    """
    proto = protocol(source, target, config)
    res = _generate(key, target, target.info.space, config, None if proto != "transfer" else source)
    check(res, config, source.name)
    samples = np.asarray(res.extras["samples"]).reshape(-1, target.info.space.num_slots)
    values = np.asarray(res.extras["values"], np.float64).reshape(-1)
    finite = np.isfinite(values)
    return Report(samples, np.where(finite, values, np.nan), np.asarray(res.best_ops), float(res.best_fitness),
                  float(values[finite].mean()) if finite.any() else float("nan"), float(res.extras["novelty"]),
                  int(res.queries), proto, source.name, np.asarray(res.extras["prior"]),
                  np.asarray(res.extras["score"]), float(res.extras["missing_share"]), res)


__getattr__ = old_names("jaxnag.pgnag", {"run": "report", "TrainConfig": "DenoiserTrainConfig"}, globals())
