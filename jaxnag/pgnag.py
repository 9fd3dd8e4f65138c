"""PG-NAG (Xie, Ji, Sun, ICML 2025): prior-knowledge-guided architecture generation.

Score the components of the best architectures of a *source* table (Shapley values),
turn the scores into a categorical prior, train a discrete diffusion model whose
limit is that prior on those architectures, and sample architectures for a *target*
task (the same table, or another one: transfer, through :mod:`jaxnag.prior.mapping`
when the op vocabularies differ). Every choice the method description leaves open is
a field of :class:`Config`.

Example:
  >>> import jax
  >>> from jaxnag import pgnag, tables
  >>> t = tables.load("nasbench_graph", "cora")
  >>> cfg = pgnag.Config(k=5, method="loo", samples=20, train=pgnag.TrainConfig(iterations=50))
  >>> res = pgnag.run(jax.random.key(0), t, t, cfg)
  >>> res.samples.shape
  (20, 5)
"""

from __future__ import annotations

import dataclasses
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import prior as prior_lib
from .discrete import diffusion, train
from .errors import ConfigError, UnknownName, check_int
from .prior._score_table import check_scoring
from .discrete.train import TrainConfig as TrainConfig

PRIORS = ("shapley", "frequency", "uniform")
SAMPLERS = ("diffusion", "direct")


@dataclasses.dataclass(frozen=True)
class Config:
    """PG-NAG settings.

    Attributes:
      k: number of best source architectures scored and trained on.
      method: Shapley estimator: ``exact``, ``mc`` or ``loo``.
      budget: if set, the top-k come from ``budget`` random source queries, not the whole table.
      temperature: prior softmax temperature (default: std of the score matrix).
      eps: uniform mixing of the prior.
      fallback: score of unseen (slot, op) pairs (``zero`` or ``op_mean``).
      prior: which prior drives generation: ``shapley``, ``frequency`` or ``uniform``.
      sampler: ``diffusion`` (train the denoiser, ancestral sampling) or ``direct``
        (sample the prior itself, slot by slot).
      samples: architectures generated.
      train: denoiser size and training settings (:class:`jaxnag.discrete.train.TrainConfig`).
    """

    k: int = 20
    method: str = "exact"
    budget: int | None = None
    temperature: float | None = None
    eps: float = 0.05
    fallback: str = "zero"
    prior: str = "shapley"
    sampler: str = "diffusion"
    samples: int = 100
    train: train.TrainConfig = train.TrainConfig()

    def __post_init__(self):
        if self.prior not in PRIORS:
            raise UnknownName(f"unknown prior {self.prior!r}; available: {', '.join(PRIORS)}")
        if self.sampler not in SAMPLERS:
            raise UnknownName(f"unknown sampler {self.sampler!r}; available: {', '.join(SAMPLERS)}")
        check_scoring(self.k, self.method, self.budget, self.temperature, self.eps)
        check_int("samples", self.samples, lo=1)
        if not isinstance(self.train, train.TrainConfig):
            raise ConfigError(f"train must be a discrete.train.TrainConfig, got {type(self.train).__name__}")


class Result(NamedTuple):
    """A PG-NAG run on one target (host-side).

    Attributes:
      samples: int ``[samples, R]`` generated architectures (target space).
      values: their target metric (NaN where the table has none).
      best_ops, best: the best sample and its value; mean: mean over finite samples.
      novelty: share of unique samples not among the training architectures.
      target_queries: unique target architectures whose metric was used: the distinct samples
        evaluated, plus whatever the prior read of the target (its B queries when budgeted,
        every row of the table when the prior comes from the whole target table).
      protocol: ``transfer``, ``budgeted`` or ``whole-table`` (see :func:`protocol`).
      prior_source: the table the prior was scored on (``benchmark/dataset:metric``).
      scoring: the :class:`jaxnag.prior.PriorResult` of the source.
      prior: the prior used on the target space.
      train_seconds: denoiser training time (0 for direct sampling).
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
    scoring: prior_lib.PriorResult
    prior: np.ndarray
    train_seconds: float


def same_task(source, target) -> bool:
    """Whether the prior's source table is the target task itself."""
    return source is target or (source.info.benchmark == target.info.benchmark
                                and source.info.dataset == target.info.dataset
                                and source.info.space is target.info.space)


def protocol(source, target, config: Config) -> str:
    """Which protocol a run follows, by what the prior reads of the target:

    - ``transfer``: the prior comes from another task; it reads nothing of the target;
    - ``budgeted``: the top-k of ``config.budget`` random target queries (comparable with
      searches at the same number of unique queries);
    - ``whole-table``: the top-k of the whole target table (the paper's setting): it reads
      every row, the optimum included, so its hit rate is not comparable with a search's.
    """
    if not same_task(source, target):
        return "transfer"
    return "whole-table" if config.budget is None else "budgeted"


def sample_prior(key: jax.Array, prior: np.ndarray, n: int) -> jax.Array:
    """``n`` draws of each slot independently from ``prior [R, C]`` -> int32 ``[n, R]``."""
    p = jnp.broadcast_to(jnp.asarray(prior, jnp.float32), (n,) + np.shape(prior))
    return diffusion.sample_categorical(key, p)


def _map_ops(ops: np.ndarray, src, dst) -> np.ndarray:
    """Training architectures carried to the target space; rows using an op without counterpart are dropped."""
    if src is dst:
        return ops
    idx = prior_lib.mapping.op_index_map(dst, src)  # for each source op: its target index
    mapped = np.take_along_axis(np.broadcast_to(idx, (len(ops),) + idx.shape), ops[:, :, None], axis=2)[..., 0]
    keep = (mapped >= 0).all(axis=1)
    return mapped[keep].astype(np.int32)


def generate_samples(k_train: jax.Array, k_sample: jax.Array, scoring: prior_lib.PriorResult, src, dst,
                     config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Build the prior on ``dst`` from ``scoring`` (done on ``src``) and draw ``config.samples``
    architectures with ``config.sampler``.

    Returns ``(samples [n, R], prior [R, C], training architectures [k', R], training seconds)``.
    """
    base = {"shapley": scoring.prior, "frequency": scoring.frequency,
            "uniform": prior_lib.uniform_prior(src)}[config.prior]
    p = base if src is dst else prior_lib.map_prior(base, src, dst, config.eps)
    train_ops = _map_ops(scoring.top_ops, src, dst)
    if config.sampler == "direct":
        return np.asarray(sample_prior(k_sample, p, config.samples)), p, train_ops, 0.0
    if len(train_ops) == 0:
        raise ConfigError(f"no training architecture of {src.name} maps onto {dst.name}")
    t0 = time.perf_counter()
    model, _ = train.fit(k_train, train_ops, p, dst, config.train)
    seconds = time.perf_counter() - t0
    return np.asarray(train.generate(k_sample, model, p, config.samples)), p, train_ops, seconds


def run(key: jax.Array, source, target, config: Config = Config(), scoring: prior_lib.PriorResult | None = None
        ) -> Result:
    """Score ``source``, build the prior, generate ``config.samples`` architectures for ``target``.

    Args:
      key: PRNG key.
      source, target: :class:`jaxnag.tables.Table` (may be the same table).
      config: settings.
      scoring: a precomputed :func:`jaxnag.prior.score_table` result to reuse.
    """
    k_score, k_train, k_sample = jax.random.split(key, 3)
    src, dst = source.info.space, target.info.space
    if scoring is None:
        scoring = prior_lib.score_table(k_score, source, config.k, config.method, config.budget,
                                        config.temperature, config.eps, fallback=config.fallback)
    samples, p, train_ops, seconds = generate_samples(k_train, k_sample, scoring, src, dst, config)
    values = np.asarray(target(jnp.asarray(samples)), np.float64)
    finite = np.where(np.isfinite(values), values, -np.inf)
    i = int(np.argmax(finite))
    ranks = np.unique(np.asarray(dst.query_id(samples)))
    train_ranks = np.asarray(dst.query_id(train_ops)) if len(train_ops) else np.zeros(0, np.int32)
    novelty = float(np.mean(~np.isin(ranks, train_ranks)))
    proto = protocol(source, target, config)
    if proto == "whole-table":
        # Finding the top-k read every row of the table: every sample's metric was already known.
        queries = int(source.info.row_ops.shape[0])
    elif proto == "budgeted":
        # Scoring lookups plus samples other than the scored architectures (a sample equal to
        # a scoring coalition is counted again: a conservative over-count).
        queries = scoring.unique_lookups + int(np.sum(~np.isin(ranks, np.asarray(dst.query_id(scoring.top_ops)))))
    else:
        queries = len(ranks)
    return Result(samples, values, samples[i], float(finite[i]),
                  float(np.mean(values[np.isfinite(values)])) if np.isfinite(values).any() else float("nan"),
                  novelty, int(queries), proto, source.name, scoring, p, seconds)

