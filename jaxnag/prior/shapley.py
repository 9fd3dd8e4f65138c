"""Shapley values of each slot's component of an architecture, vectorised.

The players are the slots of one architecture ``a``; the value of a coalition S is
the fitness of ``a`` with every slot outside S set to its "removed" choice
(``none`` on NB201 and TransNAS-Bench-101). A slot whose removed choice is -1 is
not a player (it is always kept: NAS-Bench-Graph's link pattern). Failed lookups
(NaN) count as ``failed_value``.

- :func:`exact`: all 2^P coalitions, one gather each; phi = C @ v with a fixed
  coefficient matrix C (weights |S|! (P-|S|-1)! / P!).
- :func:`monte_carlo`: M random permutations, marginal contributions along each.
- :func:`leave_one_out`: v(all) - v(all without i), the cheap baseline.

Each returns ``(phi [..., R], lookups)`` where ``lookups`` is the number of
fitness calls per architecture (players outside get phi = 0).

Example:
  >>> import jax.numpy as jnp
  >>> from jaxnag.prior import shapley
  >>> additive = lambda ops: jnp.sum(ops, axis=-1).astype(jnp.float32)
  >>> phi, n = shapley.exact(additive, jnp.array([1, 2, 3]), removed=jnp.array([0, 0, 0]))
  >>> phi.tolist(), n
  ([1.0, 2.0, 3.0], 8)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


def removed_choices(space) -> np.ndarray:
    """Default removed choice per slot: ``none`` where the slot has it, ``skip`` otherwise, or -1."""
    out = []
    for names in space.choices:
        if "none" in names:
            out.append(names.index("none"))
        elif "skip" in names and space.name == "nasbench_graph":
            out.append(names.index("skip"))
        else:
            out.append(-1)
    return np.asarray(out, np.int32)


def coalition_matrix(players: int) -> tuple[np.ndarray, np.ndarray]:
    """``(masks [2^P, P] bool, coef [P, 2^P])`` with ``phi = coef @ v(masks)``."""
    masks = ((np.arange(2**players)[:, None] >> np.arange(players)[None, :]) & 1).astype(bool)
    size = masks.sum(1)
    w = np.array([math.factorial(s) * math.factorial(players - s - 1) / math.factorial(players)
                  for s in range(players)])
    coef = np.zeros((players, 2**players))
    for i in range(players):
        with_i = masks[:, i]
        coef[i, with_i] = w[size[with_i] - 1]
        coef[i, ~with_i] = -w[size[~with_i]]
    return masks, coef


def _values(fitness, ops, keep, removed, failed_value):
    cand = jnp.where(keep, jnp.broadcast_to(ops, keep.shape), jnp.broadcast_to(removed, keep.shape))
    v = jnp.asarray(fitness(cand), jnp.float32)
    return jnp.where(jnp.isfinite(v), v, failed_value)


def _players(removed):
    removed = np.asarray(removed)
    return np.flatnonzero(removed >= 0)


def exact(fitness: Callable, ops: jax.Array, removed, failed_value: float = 0.0) -> tuple[jax.Array, int]:
    """Exact Shapley values of ``ops [..., R]`` (vmapped over leading dims)."""
    removed = np.asarray(removed, np.int32)
    players = _players(removed)
    p = len(players)
    masks, coef = coalition_matrix(p)
    r = removed.shape[0]
    keep = np.ones((len(masks), r), bool)
    keep[:, players] = masks
    keep_j, coef_j, rem = jnp.asarray(keep), jnp.asarray(coef, jnp.float32), jnp.asarray(np.maximum(removed, 0))

    def one(a):
        v = _values(fitness, a[None, :], keep_j, rem, failed_value)  # [2^P]
        return jnp.zeros(r, jnp.float32).at[players].set(coef_j @ v)

    ops = jnp.asarray(ops)
    flat = ops.reshape(-1, r)
    return jax.vmap(one)(flat).reshape(ops.shape[:-1] + (r,)), 2**p


def monte_carlo(fitness: Callable, ops: jax.Array, removed, key: jax.Array, permutations: int = 32,
                failed_value: float = 0.0) -> tuple[jax.Array, int]:
    """Permutation-sampling estimate with ``permutations`` orders per architecture."""
    removed = np.asarray(removed, np.int32)
    players = jnp.asarray(_players(removed))
    p = int(players.shape[0])
    r = removed.shape[0]
    rem = jnp.asarray(np.maximum(removed, 0))
    non_player = jnp.asarray(removed < 0)

    def one(a, k):
        def per_perm(kk):
            order = players[jax.random.permutation(kk, p)]
            # prefix masks: step j keeps order[:j] (plus non-players)
            rank = jnp.zeros(r, jnp.int32).at[order].set(jnp.arange(p))
            keep = (rank[None, :] < jnp.arange(p + 1)[:, None]) | jnp.broadcast_to(non_player, (p + 1, r))
            v = _values(fitness, a[None, :], keep, rem, failed_value)  # [P+1]
            contrib = jnp.zeros(r, jnp.float32).at[order].set(v[1:] - v[:-1])
            return contrib
        return jnp.mean(jax.vmap(per_perm)(jax.random.split(k, permutations)), axis=0)

    ops = jnp.asarray(ops)
    flat = ops.reshape(-1, r)
    keys = jax.random.split(key, flat.shape[0])
    return jax.vmap(one)(flat, keys).reshape(ops.shape[:-1] + (r,)), permutations * (p + 1)


def leave_one_out(fitness: Callable, ops: jax.Array, removed, failed_value: float = 0.0) -> tuple[jax.Array, int]:
    """``v(all) - v(all without slot i)`` for each player i."""
    removed = np.asarray(removed, np.int32)
    players = _players(removed)
    r = removed.shape[0]
    keep = np.ones((len(players) + 1, r), bool)
    keep[np.arange(1, len(players) + 1), players] = False
    keep_j, rem = jnp.asarray(keep), jnp.asarray(np.maximum(removed, 0))

    def one(a):
        v = _values(fitness, a[None, :], keep_j, rem, failed_value)
        return jnp.zeros(r, jnp.float32).at[players].set(v[0] - v[1:])

    ops = jnp.asarray(ops)
    flat = ops.reshape(-1, r)
    return jax.vmap(one)(flat).reshape(ops.shape[:-1] + (r,)), len(players) + 1
