"""Score a table's best architectures and build the PG-NAG prior in one call."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError, UnknownName, check_finite, check_int, check_range
from .. import archive as archive_lib
from . import scores, shapley

__all__ = ["METHODS", "PriorResult", "check_scoring", "score", "score_table"]

METHODS = ("exact", "mc", "loo")


class PriorResult(NamedTuple):
    """What :func:`score` found (jax arrays; :func:`score_table` gives numpy ones).

    Attributes:
      top_ops, top_values: the k architectures scored, best first, and their fitness.
      phi: ``[k, R]`` component values (Shapley or leave-one-out).
      score: ``[R, C]`` score matrix; prior: the softmax prior; frequency: the
        frequency prior of the same top-k (the ablation).
      lookups: fitness calls spent (budget draws + component scoring).
      unique_lookups: distinct architectures those calls touched.
      missing_share: share of the coalition lookups of valid architectures the fitness had no value for
        (NaN): they count as ``failed_value``, as an invalid coalition does (a cut NB101 cell computes nothing),
        and so does ``-inf``, a known worst (a proxy's disconnected cell), which is not missing. Near 0 on a
        full benchmark table; a table that holds only a few architectures leaves most coalitions unknown and
        the prior is then meaningless.
      seen: the architectures those lookups touched, as :class:`jaxnag.archive.Archive` keeps them (a bit set of
        query ids, or on a space too large for one a :class:`jaxnag.archive.HashSet`).

    Examples:
      >>> import jax
      >>> import numpy as np
      >>> from jaxnag import prior, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")  # R = 2, C = 3
      >>> t = tables.from_arrays(s, s.all_ops(), s.all_ops().sum(1).astype(np.float32))
      >>> r = jax.eval_shape(lambda k: prior.score(k, t, s, k=2), jax.random.key(0))  # shapes only
      >>> type(r).__name__, r.top_values.shape, r.phi.shape, r.score.shape, r.frequency.shape, r.missing_share.shape
      ('PriorResult', (2,), (2, 2), (2, 3), (2, 3), ())
    """

    top_ops: jax.Array
    top_values: jax.Array
    phi: jax.Array
    score: jax.Array
    prior: jax.Array
    frequency: jax.Array
    lookups: jax.Array
    unique_lookups: jax.Array
    missing_share: jax.Array
    seen: jax.Array


def check_scoring(k, method: str, budget, temperature, eps) -> None:
    """Range checks of the scoring arguments (shared by :func:`score_table` and ``pgnag.Config``).

    Examples:
      >>> from jaxnag import errors, prior
      >>> prior.check_scoring(20, "exact", None, None, 0.05) is None  # fine: nothing raised
      True
      >>> for args in ((20, "shap", None, None, 0.05), (0, "loo", None, None, 0.05), (5, "mc", 10, None, 1.0)):
      ...     try:
      ...         prior.check_scoring(*args)
      ...     except errors.JaxnagError as e:
      ...         print(type(e).__name__, e)
      UnknownName unknown scoring method 'shap'; available: exact, mc, loo
      ConfigError k must be an integer >= 1, got 0
      ConfigError eps must be in [0, 1), got 1.0
    """
    if method not in METHODS:
        raise UnknownName(f"unknown scoring method {method!r}; available: {', '.join(METHODS)}")
    check_int("k", k, lo=1)
    if budget is not None:
        check_int("budget", budget, lo=1)
    if temperature is not None:
        check_range("temperature", temperature, lo=0.0, lo_open=True)
    check_range("eps", eps, lo=0.0, hi=1.0, hi_open=True)


def _top(values, ids, k):
    # a table closed over by a jitted function is a constant: without the barrier XLA sorts all of it while
    # compiling (constant folding: NB201's 15,625 values took 3-12 s of each compilation)
    values = jax.lax.optimization_barrier(values)
    v = jnp.where(jnp.isfinite(values), values, -jnp.inf)
    top_v, i = jax.lax.top_k(v, k)
    return ids[i], top_v


def score(key: jax.Array, fitness, space, k: int = 20, method: str = "exact", budget: int | None = None,
          temperature=None, eps=0.05, permutations: int = 32, removed=None, failed_value: float = 0.0,
          fallback: str = "zero", reserve: int = 0) -> PriorResult:
    """Shapley-score the top-k architectures and build the priors; jittable and vmappable (over
    keys and stacked tables).

    Args:
      key: PRNG key (budget draws, Monte-Carlo permutations).
      fitness: a :class:`jaxnag.tables.Table` (the top-k of the whole table are scored), or with
        ``budget`` any jittable fitness ``ops [..., R] -> [...]``.
      space: the search space of ``fitness``.
      k: how many of the best architectures to score.
      method: ``exact`` (2^P lookups each), ``mc`` (permutation sampling) or ``loo``.
      budget: if given, the top-k are taken among ``budget`` uniformly drawn distinct
        architectures (the realistic setting) instead of the whole table.
      temperature: softmax temperature of the prior; default the standard deviation
        of the score matrix (scale-free).
      eps: uniform mixing weight.
      removed: removed choice per slot (default :func:`shapley.removed_choices`).
      failed_value: value of a coalition the fitness has no value for (NaN) or scores ``-inf`` (no network).
      fallback: score of a (slot, op) no scored architecture uses (:func:`scores.score_matrix`).
      reserve: where ``seen`` is a hash set, room for this many more architectures (a caller's later queries).

    A component whose removal alone makes an architecture invalid is removed to the space's identity
    choice instead (:func:`shapley.removal_states`), so every coalition of a DARTS cell is a valid cell.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import errors, prior, spaces, tables
      >>> s = spaces.categorical("chain2", ("zero", "a", "b"), slots=2, remove="zero")  # 9 architectures
      >>> t = tables.from_arrays(s, s.all_ops(), s.all_ops().sum(1).astype(np.float32))
      >>> r = jax.eval_shape(lambda k: prior.score(k, t, s, k=2), jax.random.key(0))  # shapes only, nothing runs
      >>> r.top_ops.shape, r.phi.shape, r.score.shape, r.prior.shape, r.lookups.dtype
      ((2, 2), (2, 2), (2, 3), (2, 3), dtype('int32'))
      >>> try:  # a fitness that is not a table needs a budget of random queries
      ...     prior.score(jax.random.key(0), lambda ops: ops.sum(-1), s, k=2)
      ... except errors.ConfigError as e:
      ...     print(str(e).split(";")[0])
      scoring the whole table needs a jaxnag.tables.Table
    """
    check_scoring(k, method, budget, temperature, eps)
    if budget is not None:
        space.check_budget(budget)
        if k > budget:
            raise ConfigError(f"k ({k}) cannot exceed the scoring budget ({budget})")
    check_int("permutations", permutations, lo=1)
    check_finite("failed_value", failed_value)
    removed = shapley.removed_choices(space) if removed is None else np.asarray(removed, np.int32)
    k_draw, k_mc = jax.random.split(key)
    drawn = None
    if budget is not None:
        drawn = space.sample_unique(k_draw, budget)
        drawn_values = jnp.asarray(fitness(drawn), jnp.float32)
        top_ops, top_values = _top(drawn_values, drawn, k)
        lookups = budget
    else:
        values = getattr(fitness, "values", None)
        if values is None:
            raise ConfigError("scoring the whole table needs a jaxnag.tables.Table; for any other fitness "
                              "give a budget (the top-k of that many random queries are scored)")
        if values.ndim != 1:
            raise ConfigError("score takes one table, not a stacked one (vmap over it, or index it: table[i])")
        distinct = space.distinct_ranks()
        ids, top_values = _top(values[jnp.asarray(distinct)], jnp.asarray(distinct), min(k, len(distinct)))
        top_ops = space.unrank(ids)
        lookups = 0
    states = shapley.removal_states(space, top_ops, removed)

    def valued(ops):  # an invalid coalition is no architecture: failed, whatever the fitness says of it
        return jnp.where(space.is_valid(ops), jnp.asarray(fitness(ops), jnp.float32), jnp.nan)
    phi, per = shapley.estimate(method, valued, top_ops, removed, k_mc, permutations, failed_value, states)
    lookups += per * top_ops.shape[0]
    cand = shapley.candidates(top_ops, removed, method, k_mc, permutations, states).reshape(-1, space.num_slots)
    cand_values = valued(cand)
    valid = space.is_valid(cand)  # a coalition that is no architecture (a cut NB101 cell) is failed, not missing data
    missing = jnp.sum(valid & jnp.isnan(cand_values)) / jnp.maximum(jnp.sum(valid), 1)  # -inf: a known worst
    # the architectures read: a bit set, or a hash set with room for them and for the caller's ``reserve``
    found = archive_lib.init(space, capacity=min((budget or 0) + cand.shape[0] + reserve, 1 << 26))
    if drawn is not None:
        found, _ = archive_lib.insert(found, drawn, drawn_values, space, admit=jnp.ones(budget, bool))
    found, _ = archive_lib.insert(found, cand, cand_values, space)
    score_m = scores.score_matrix(top_ops, phi, space, fallback)
    tau = scores.default_temperature(score_m) if temperature is None else temperature
    return PriorResult(top_ops, top_values, phi, score_m, scores.prior_from_scores(score_m, space, tau, eps),
                       scores.frequency_prior(top_ops, space, eps), jnp.int32(lookups), found.queries,
                       missing, found.seen)


_score = jax.jit(score, static_argnames=("space", "k", "method", "budget", "permutations", "removed", "fallback",
                                         "reserve"))


def score_table(key: jax.Array, table, k: int = 20, method: str = "exact", budget: int | None = None,
                temperature: float | None = None, eps: float = 0.05, permutations: int = 32,
                removed=None, failed_value: float = 0.0, fallback: str = "zero") -> PriorResult:
    """:func:`score` of one table, compiled once per setting, with host (numpy) results.

    Examples:
      >>> import jax
      >>> from jaxnag import prior, tables
      >>> r = prior.score_table(jax.random.key(0), tables.load("nasbench_graph", "cora"), k=5, method="loo")
      >>> r.prior.shape, float(r.missing_share)
      ((5, 9), 0.0)
    """
    space = table.info.space
    if table.values.ndim != 1:
        raise ConfigError("score_table takes one table, not a stacked one (index it: table[i])")
    check_scoring(k, method, budget, temperature, eps)  # here: under jit the leaves are traced
    check_finite("failed_value", failed_value)
    removed = None if removed is None else tuple(int(r) for r in np.asarray(removed).reshape(-1))
    res = _score(key, table, space, k, method, budget, temperature, eps, permutations, removed, failed_value,
                 fallback)
    return jax.tree.map(np.asarray, res)
