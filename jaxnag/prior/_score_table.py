"""Score a table's best architectures and build the PG-NAG prior in one call."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError, DataError, UnknownName, check_finite, check_int, check_range
from . import scores, shapley

METHODS = ("exact", "mc", "loo")


class PriorResult(NamedTuple):
    """What :func:`score_table` found (host-side numpy arrays).

    Attributes:
      top_ops, top_values: the k architectures scored, best first.
      phi: ``[k, R]`` component values (Shapley or leave-one-out).
      score: ``[R, C]`` score matrix; prior: the softmax prior; frequency: the
        frequency prior of the same top-k (the ablation).
      lookups: fitness calls spent (budget draws + component scoring).
      unique_lookups: distinct architectures those calls touched.
    """

    top_ops: np.ndarray
    top_values: np.ndarray
    phi: np.ndarray
    score: np.ndarray
    prior: np.ndarray
    frequency: np.ndarray
    lookups: int
    unique_lookups: int


def check_scoring(k, method: str, budget, temperature, eps) -> None:
    """Range checks of the scoring arguments (shared by :func:`score_table` and ``pgnag.Config``)."""
    if method not in METHODS:
        raise UnknownName(f"unknown scoring method {method!r}; available: {', '.join(METHODS)}")
    check_int("k", k, lo=1)
    if budget is not None:
        check_int("budget", budget, lo=1)
    if temperature is not None:
        check_range("temperature", temperature, lo=0.0, lo_open=True)
    check_range("eps", eps, lo=0.0, hi=1.0, hi_open=True)


def score_table(key: jax.Array, table, k: int = 20, method: str = "exact", budget: int | None = None,
                temperature: float | None = None, eps: float = 0.05, permutations: int = 32,
                removed=None, failed_value: float = 0.0, fallback: str = "zero") -> PriorResult:
    """Shapley-score the top-k architectures of ``table`` and build the priors.

    Args:
      key: PRNG key (budget draws, Monte-Carlo permutations).
      table: a :class:`jaxnag.tables.Table` (or any fitness with ``.space`` via ``info``).
      k: how many of the best architectures to score.
      method: ``exact`` (2^P lookups each), ``mc`` (permutation sampling) or ``loo``.
      budget: if given, the top-k are taken among ``budget`` uniformly drawn
        architectures (the realistic setting) instead of the whole table.
      temperature: softmax temperature of the prior; default the standard deviation
        of the score matrix (scale-free).
      eps: uniform mixing weight.
      removed: removed choice per slot (default :func:`shapley.removed_choices`).
      fallback: score of a (slot, op) no scored architecture uses (:func:`scores.score_matrix`).
    """
    space = table.info.space
    if table.values.ndim != 1:
        raise ConfigError("score_table takes one table, not a stacked one (index it: jax.tree.map(lambda a: a[i], t))")
    check_scoring(k, method, budget, temperature, eps)
    if budget is not None:
        check_int("budget", budget, lo=1, hi=len(space.distinct_ranks()))
    check_int("permutations", permutations, lo=1)
    check_finite("failed_value", failed_value)
    removed = shapley.removed_choices(space) if removed is None else np.asarray(removed, np.int32)
    k_draw, k_mc = jax.random.split(key)
    lookups = 0
    seen = np.zeros(0, np.int64)
    if budget is not None:
        drawn = np.asarray(space.sample_unique(k_draw, budget))
        vals = np.asarray(table(jnp.asarray(drawn)))
        lookups += budget
        seen = np.asarray(space.query_id(drawn))
        vals = np.where(np.isfinite(vals), vals, -np.inf)
        order = np.argsort(-vals, kind="stable")[:k]
        top_ops, top_values = drawn[order], vals[order]
    else:
        top_ops, top_values = table.top_k(k)
    if len(top_ops) == 0:
        raise DataError("no architecture to score")
    ops_j = jnp.asarray(top_ops, jnp.int32)
    if method == "exact":
        phi, per = shapley.exact(table, ops_j, removed, failed_value)
    elif method == "mc":
        phi, per = shapley.monte_carlo(table, ops_j, removed, k_mc, permutations, failed_value)
    else:
        phi, per = shapley.leave_one_out(table, ops_j, removed, failed_value)
    phi = np.asarray(phi)
    lookups += per * len(top_ops)
    cand = shapley.candidates(np.asarray(top_ops), removed, method, k_mc, permutations)
    unique = len(np.union1d(seen, np.asarray(space.query_id(cand))))
    score = scores.score_matrix(top_ops, phi, space, fallback)
    tau = temperature if temperature is not None else float(np.nanstd(score)) or 1.0
    return PriorResult(np.asarray(top_ops), np.asarray(top_values), phi, score,
                       scores.prior_from_scores(score, space, tau, eps),
                       scores.frequency_prior(top_ops, space, eps), int(lookups), int(unique))
