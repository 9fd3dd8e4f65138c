"""Seeded rugged fitness landscapes on any enumerable search space, as a :class:`Table`.

Real benchmarks are close to additive over slots, so a model additive over slots (ridge on one-hot
features, :mod:`jaxnag.ridge`) already predicts them well. :func:`landscape` builds synthetic
landscapes whose ruggedness is a parameter, to test methods where that model is wrong:

- ``kind="nk"``: Kauffman's NK model. Each slot's contribution depends on its own choice and on the
  choices of ``k`` other slots; ``k=0`` is additive, and a larger ``k`` means more interactions
  between slots, more local optima, and a worse fit for a model additive over slots.
- ``kind="orders"``: a weighted sum of additive, pairwise and three-way terms, each scaled to unit
  standard deviation, so ``weights`` sets how much of the landscape each order of interaction makes.

Values are rescaled to ``[0, scale]`` (the worst architecture 0, the best ``scale``), so the metric
reads like an accuracy. The same arguments give the same table, on every run.

Examples:
  >>> from jaxnag import tables
  >>> t = tables.landscape("nb201", kind="nk", k=2, seed=0)
  >>> t.name
  'landscape/nk_k2_s0:fitness'
  >>> float(t.optimum)
  100.0
  >>> ops, best = t.best()
  >>> float(t(ops)) == best
  True
"""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from .. import spaces
from ..errors import ConfigError
from ._table import Table, from_arrays

KINDS = ("nk", "orders")


def _check(space, kind, k, seed, weights, scale):
    """The arguments, checked: ``(space, k, seed, weights, scale)``; each bad one raises ConfigError."""
    space = spaces.get(space)
    if not space.enumerable:
        raise ConfigError(f"landscape enumerates the space, and {space.name} has {space.size} architectures "
                          f"(more than {1 << 24} to list)")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
    if kind == "nk":
        hi = space.num_slots - 1
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k <= hi:
            raise ConfigError(f"k must be an integer in [0, {hi}] for {space.name} ({space.num_slots} slots: each "
                              f"interacts with k others), got {k!r}")
    if kind == "orders":
        ok = (not isinstance(weights, (str, bytes)) and hasattr(weights, "__len__") and len(weights) == 3
              and all(isinstance(w, numbers.Real) and not isinstance(w, bool) and math.isfinite(w) and w >= 0
                      for w in weights)
              and any(w > 0 for w in weights))
        if not ok:
            raise ConfigError(f"weights must be 3 finite numbers >= 0, not all zero (additive, pairwise, "
                              f"three-way), got {weights!r}")
        weights = tuple(float(w) for w in weights)
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not math.isfinite(scale) or scale <= 0:
        raise ConfigError(f"scale must be a finite number > 0, got {scale!r}")
    return space, (int(k) if kind == "nk" else k), int(seed), weights, float(scale)


def _nk(ops: np.ndarray, counts: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Mean over slots of ``F_r[c_r, c_(neighbours of r)]``, tables uniform in [0, 1)."""
    n, slots = ops.shape
    rng = np.random.default_rng(seed)
    total = np.zeros(n, np.float64)
    for r in range(slots):
        others = np.delete(np.arange(slots), r)
        group = [r, *rng.choice(others, size=k, replace=False).tolist()]
        shape = tuple(int(c) for c in counts[group])
        table = rng.random(math.prod(shape))
        total += table[np.ravel_multi_index(tuple(ops[:, s] for s in group), shape)]
    return total / slots


def _orders(ops: np.ndarray, counts: np.ndarray, seed: int, weights) -> np.ndarray:
    """``sum_o w_o T_o / sd(T_o)`` over the orders o = 1, 2, 3 (all slot groups of that size)."""
    n, slots = ops.shape
    total = np.zeros(n, np.float64)
    # One stream per order: a term is the same whatever the other weights are (a zero weight skips it).
    streams = np.random.SeedSequence(seed).spawn(3)
    for order, (w, stream) in enumerate(zip(weights, streams), start=1):
        if w == 0:
            continue
        rng = np.random.default_rng(stream)
        term = np.zeros(n, np.float64)
        for group in itertools.combinations(range(slots), order):
            table = rng.standard_normal(tuple(int(c) for c in counts[list(group)]))
            term += table[tuple(ops[:, s] for s in group)]
        sd = term.std()
        total += w * (term / sd if sd > 0 else term)
    return total


def landscape(space, kind: str = "nk", k: int = 1, seed: int = 0, weights=(1.0, 1.0, 0.0),
              scale: float = 100.0) -> Table:
    """A seeded synthetic fitness landscape on ``space``: a :class:`Table` with metric ``"fitness"``.

    Args:
      space: a :class:`~jaxnag.spaces.SearchSpace` or a registered space name; it must be enumerable
        (the landscape lists its architectures).
      kind: ``"nk"``: the NK model: slot ``r`` interacts with ``k`` other slots drawn without
        replacement, its contribution is a table ``F_r[choice of r, choices of its k neighbours]``
        uniform in [0, 1), and the fitness is the mean over slots. ``k=0`` is additive; more
        interactions mean more local optima and a worse fit for a model additive over slots (ridge
        on one-hot features). ``"orders"``: ``w1 A/sd(A) + w2 B/sd(B) + w3 G/sd(G)`` with ``A`` the
        sum of one standard normal table per slot, ``B`` per pair of slots and ``G`` per triple, the
        standard deviations over the valid architectures (a term with weight 0 is skipped, one with
        sd 0 left unscaled).
      k: interactions per slot for ``"nk"``, in ``[0, slots - 1]``; ignored for ``"orders"``.
      seed: an integer >= 0; the tables come from ``numpy.random.default_rng(seed)`` (for ``"orders"``
        one child stream per order, so a term does not change with the other weights).
      weights: ``(additive, pairwise, three-way)`` for ``"orders"``: finite, >= 0, not all zero;
        ignored for ``"nk"``.
      scale: the values are min-max rescaled to ``[0, scale]``: the best architecture gets ``scale``.

    On a space whose benchmark stores one entry per isomorphism class (NAS-Bench-Graph), the value
    is computed on one representative per class (the smallest rank), and isomorphic encodings share it.

    Raises:
      ConfigError: an argument out of range (the message names it), or a space too large to list.
      UnknownName: an unknown space name.

    Examples:
      >>> from jaxnag import tables
      >>> t = tables.landscape("tnb101_micro", kind="orders", weights=(1, 1, 0), seed=3)
      >>> t.dataset, float(t.optimum)
      ('orders_1-1-0_s3', 100.0)
    """
    space, k, seed, weights, scale = _check(space, kind, k, seed, weights, scale)
    ranks = space.distinct_ranks()
    ops = space.all_ops()[ranks]
    counts = space.choice_counts.astype(np.int64)
    if kind == "nk":
        raw = _nk(ops, counts, k, seed)
        dataset = f"nk_k{k}_s{seed}"
        args = f"kind='nk', k={k}, seed={seed}, scale={scale!r}"
    else:
        raw = _orders(ops, counts, seed, weights)
        dataset = f"orders_{'-'.join(f'{w:g}' for w in weights)}_s{seed}"
        args = f"kind='orders', seed={seed}, weights={weights!r}, scale={scale!r}"
    lo, hi = raw.min(), raw.max()
    # A flat landscape (one architecture, or no term that varies) is all optimum.
    values = (raw - lo) / (hi - lo) * scale if hi > lo else np.full_like(raw, scale)
    dense_index = None
    if space.benchmark_dedups_isomorphs:  # each encoding reads its class representative's row
        canon = space.canonical_table()
        pos = np.clip(np.searchsorted(ranks, canon), 0, len(ranks) - 1)
        valid = np.zeros(space.size, bool)
        valid[space.valid_ranks()] = True
        dense_index = np.where(valid & (ranks[pos] == canon), pos, -1)
    return from_arrays(space, ops, values, benchmark="landscape", dataset=dataset, metric="fitness",
                       source=f"tables.landscape({space.name!r}, {args})", dense_index=dense_index)
