"""Shapley values of each slot's component of an architecture, vectorised.

The players are the slots of one architecture ``a``; the value of a coalition S is
the fitness of ``a`` with every slot outside S set to its "removed" choice, the one
the space declares (``remove``: ``none`` on NB201 and TransNAS-Bench-101; else
``identity``: ``skip`` on NAS-Bench-Graph). A slot whose removed choice is -1 is
not a player (it is always kept: NAS-Bench-Graph's link pattern). Failed lookups
(NaN) count as ``failed_value``.

- :func:`exact`: all 2^P coalitions, one gather each; phi = C @ v with a fixed
  coefficient matrix C (weights |S|! (P-|S|-1)! / P!).
- :func:`monte_carlo`: M random permutations, marginal contributions along each.
- :func:`leave_one_out`: v(all) - v(all without i), the cheap baseline.

Where removing a component alone makes the architecture invalid (a DARTS node then has one input),
:func:`removal_states` gives that slot the space's ``identity`` choice instead (``skip_connect``), so
every coalition is a valid architecture; a slot that already holds its removed choice is a dummy
player (phi = 0). Pass its result as ``states``; without it every slot is removed to ``removed``.

Each returns ``(phi [..., R], lookups)`` where ``lookups`` is the number of
fitness calls per architecture (players outside get phi = 0).

Examples:
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

from ..errors import ConfigError, UnknownName

__all__ = ["MAX_EXACT_PLAYERS", "candidates", "coalition_matrix", "estimate", "exact", "leave_one_out",
           "monte_carlo", "permutation_orders", "removal_states", "removed_choices"]

MAX_EXACT_PLAYERS = 16  # exact scoring evaluates 2^P coalitions per architecture: 65,536 at most


def removed_choices(space) -> np.ndarray:
    """The removed choice per slot, as the space declares it (:meth:`~jaxnag.spaces.SearchSpace.reference`:
    its ``remove`` choice, else its ``identity``, else its ``baseline``, else -1: not a player). A space that
    declares none of them for any slot has no players: refused (:class:`~jaxnag.errors.ConfigError` saying
    what to declare), never scored as a uniform prior. Returns int ``[R]``.

    Examples:
      >>> from jaxnag import errors, spaces
      >>> from jaxnag.prior import shapley
      >>> shapley.removed_choices(spaces.get("nb201")).tolist()  # 'none' removes an edge
      [0, 0, 0, 0, 0, 0]
      >>> shapley.removed_choices(spaces.get("nasbench_graph")).tolist()  # link pattern: no player; ops: 'skip'
      [-1, 8, 8, 8, 8]
      >>> try:
      ...     shapley.removed_choices(spaces.categorical("plain", ("a", "b"), slots=2))
      ... except errors.ConfigError as e:
      ...     print(str(e).split(",")[0])
      space 'plain' declares no choice that removes a slot's component (remove=) nor an identity choice (identity=)
    """
    removed = space.reference()
    if not (removed >= 0).any():
        raise ConfigError(
            f"space {space.name!r} declares no choice that removes a slot's component (remove=) nor an identity "
            "choice (identity=), so Shapley scoring has no players and PG-NAG's prior would be uniform: declare "
            "one in jaxnag.spaces.categorical(..., remove='zero'), or the op to score the others against "
            "(baseline='pool': each op is then scored by its contribution relative to it)")
    return removed


def removal_states(space, ops: jax.Array, removed=None) -> jax.Array:
    """int32 ``[..., R]``: the choice each slot of each architecture ``ops [..., R]`` takes when its component is
    removed: ``removed`` (default :func:`removed_choices`), except where removing that component alone makes the
    architecture invalid and the space declares an ``identity`` choice for the slot: then that (on DARTS a
    removed edge would leave its node one input, so the op is scored against ``skip_connect``). Non-players
    keep -1. Jittable.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> s = spaces.get("darts")
      >>> a = s.random(jax.random.key(0))
      >>> st = removal_states(s, a)
      >>> skip = s.choices[0].index("skip_connect")
      >>> bool(jnp.all(jnp.where(a == 0, st == 0, st == skip)))  # none stays none, an op is removed to skip
      True
    """
    removed = removed_choices(space) if removed is None else np.asarray(removed, np.int32)
    ops = jnp.asarray(ops, jnp.int32)
    identity = np.asarray(space.identity, np.int32)
    r = len(removed)
    shape = ops.shape[:-1] + (r, r)  # [..., slot removed, slot]
    one = jnp.broadcast_to(jnp.eye(r, dtype=bool), shape)
    without = jnp.where(one, jnp.broadcast_to(jnp.asarray(np.maximum(removed, 0)), shape),
                        jnp.broadcast_to(ops[..., None, :], shape))
    breaks = ~space.is_valid(without) & space.is_valid(ops)[..., None]
    swap = breaks & jnp.broadcast_to(jnp.asarray((identity >= 0) & (removed >= 0)), breaks.shape)
    return jnp.where(swap, jnp.broadcast_to(jnp.asarray(identity), swap.shape),
                     jnp.broadcast_to(jnp.asarray(removed), swap.shape)).astype(jnp.int32)


def _states(ops, removed, states):
    """Flat ``(ops [n, R], states [n, R])`` (``states`` default: ``removed`` for every architecture)."""
    ops = jnp.asarray(ops, jnp.int32)
    r = len(removed)
    st = jnp.broadcast_to(jnp.asarray(removed, jnp.int32), ops.shape) if states is None else \
        jnp.broadcast_to(jnp.asarray(states, jnp.int32), ops.shape)
    return ops.reshape(-1, r), jnp.maximum(st.reshape(-1, r), 0)


def coalition_matrix(players: int) -> tuple[np.ndarray, np.ndarray]:
    """``(masks [2^P, P] bool, coef [P, 2^P])`` with ``phi = coef @ v(masks)``.

    Examples:
      >>> from jaxnag.prior import shapley
      >>> masks, coef = shapley.coalition_matrix(2)
      >>> masks.astype(int).tolist(), coef.tolist()
      ([[0, 0], [1, 0], [0, 1], [1, 1]], [[-0.5, 0.5, -0.5, 0.5], [-0.5, -0.5, 0.5, 0.5]])
      >>> shapley.coalition_matrix(4)[1].sum(0)[[0, -1]].tolist()  # efficiency: the phi sum to v(all) - v(none)
      [-1.0, 1.0]
    """
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


def _check_exact(p: int) -> None:
    if p > MAX_EXACT_PLAYERS:
        raise ConfigError(f"exact Shapley scoring evaluates 2^{p} coalitions per architecture (at most "
                          f"2^{MAX_EXACT_PLAYERS}): use prior_method='mc' (permutation sampling) or 'loo'")


def exact(fitness: Callable, ops: jax.Array, removed, failed_value: float = 0.0,
          states: jax.Array | None = None) -> tuple[jax.Array, int]:
    """Exact Shapley values of ``ops [..., R]`` (vmapped over leading dims); ``states`` (module doc).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.prior import shapley
      >>> product = lambda ops: (ops[..., 0] * ops[..., 1]).astype(jnp.float32)  # slots 0 and 1 only together
      >>> phi, n = shapley.exact(product, jnp.array([2, 3, 5]), removed=jnp.array([0, 0, 0]))
      >>> phi.tolist(), n  # the interaction 6 split evenly, slot 2 worth nothing; 8 coalitions
      ([3.0, 3.0, 0.0], 8)
    """
    removed = np.asarray(removed, np.int32)
    players = _players(removed)
    p = len(players)
    _check_exact(p)
    masks, coef = coalition_matrix(p)
    r = removed.shape[0]
    keep = np.ones((len(masks), r), bool)
    keep[:, players] = masks
    keep_j, coef_j = jnp.asarray(keep), jnp.asarray(coef, jnp.float32)

    def one(a, rem):
        v = _values(fitness, a[None, :], keep_j, rem, failed_value)  # [2^P]
        return jnp.zeros(r, jnp.float32).at[players].set(coef_j @ v)

    shape = jnp.shape(ops)
    return jax.vmap(one)(*_states(ops, removed, states)).reshape(shape[:-1] + (r,)), 2**p


def permutation_orders(key: jax.Array, n: int, removed, permutations: int) -> jax.Array:
    """int32 ``[n, permutations, P]``: the random player orders :func:`monte_carlo` uses for ``n``
    architectures with this ``key``.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag.prior import shapley
      >>> orders = shapley.permutation_orders(jax.random.key(0), 1, np.array([0, -1, 0, 0]), 4)  # slot 1: no player
      >>> orders.shape, bool((np.sort(np.asarray(orders), axis=-1) == [0, 2, 3]).all())  # each a permutation
      ((1, 4, 3), True)
    """
    players = jnp.asarray(_players(removed))
    p = int(players.shape[0])
    per_arch = lambda k: jax.vmap(lambda kk: players[jax.random.permutation(kk, p)])(  # noqa: E731
        jax.random.split(k, permutations))
    return jax.vmap(per_arch)(jax.random.split(key, n))


def _prefix_keep(order: jax.Array, removed) -> jax.Array:
    """bool ``[P+1, R]``: step j keeps the first j players of ``order`` (non-players always kept)."""
    removed = np.asarray(removed)
    r, p = removed.shape[0], order.shape[0]
    position = jnp.full(r, p, jnp.int32).at[order].set(jnp.arange(p, dtype=jnp.int32))
    return (position[None, :] < jnp.arange(p + 1)[:, None]) | jnp.broadcast_to(jnp.asarray(removed < 0), (p + 1, r))


def monte_carlo(fitness: Callable, ops: jax.Array, removed, key: jax.Array, permutations: int = 32,
                failed_value: float = 0.0, states: jax.Array | None = None) -> tuple[jax.Array, int]:
    """Permutation-sampling estimate with ``permutations`` orders per architecture; ``states`` (module doc).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.prior import shapley
      >>> additive = lambda ops: jnp.sum(ops, axis=-1).astype(jnp.float32)  # every order gives the exact values
      >>> phi, n = shapley.monte_carlo(additive, jnp.array([1, 2, 3]), jnp.array([0, 0, 0]), jax.random.key(0), 4)
      >>> phi.tolist(), n  # 4 orders x 4 prefixes
      ([1.0, 2.0, 3.0], 16)
    """
    removed = np.asarray(removed, np.int32)
    r = removed.shape[0]
    p = len(_players(removed))

    def one(a, rem, orders):
        def per_perm(order):
            v = _values(fitness, a[None, :], _prefix_keep(order, removed), rem, failed_value)  # [P+1]
            return jnp.zeros(r, jnp.float32).at[order].set(v[1:] - v[:-1])
        return jnp.mean(jax.vmap(per_perm)(orders), axis=0)

    shape = jnp.shape(ops)
    flat, rem = _states(ops, removed, states)
    orders = permutation_orders(key, flat.shape[0], removed, permutations)
    return jax.vmap(one)(flat, rem, orders).reshape(shape[:-1] + (r,)), permutations * (p + 1)


def candidates(ops, removed, method: str, key: jax.Array | None = None, permutations: int = 32,
               states: jax.Array | None = None) -> jax.Array:
    """Every architecture an estimator evaluates for ``ops [k, R]``, ``[k, L, R]`` (jittable); for ``mc``
    pass the same ``key``, ``permutations`` and ``states`` as to :func:`monte_carlo`.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.prior import shapley
      >>> removed = jnp.array([0, 0, 0])
      >>> shapley.candidates(jnp.array([[1, 2, 3]]), removed, "loo").tolist()  # all, then each slot removed
      [[[1, 2, 3], [0, 2, 3], [1, 0, 3], [1, 2, 0]]]
      >>> shapley.candidates(jnp.array([[1, 2, 3]]), removed, "exact").shape  # every coalition
      (1, 8, 3)
    """
    removed = np.asarray(removed)
    ops, rem = _states(ops, removed, states)
    players = _players(removed)
    r = removed.shape[0]
    if method == "exact":
        _check_exact(len(players))
        masks, _ = coalition_matrix(len(players))
        keep = np.ones((len(masks), r), bool)
        keep[:, players] = masks
        keep = jnp.broadcast_to(jnp.asarray(keep), (ops.shape[0],) + keep.shape)
    elif method == "loo":
        keep = np.ones((len(players) + 1, r), bool)
        keep[np.arange(1, len(players) + 1), players] = False
        keep = jnp.broadcast_to(jnp.asarray(keep), (ops.shape[0],) + keep.shape)
    elif method == "mc":
        orders = permutation_orders(key, ops.shape[0], removed, permutations)
        keep = jax.vmap(jax.vmap(lambda o: _prefix_keep(o, removed)))(orders).reshape(ops.shape[0], -1, r)
    else:
        raise UnknownName(f"unknown method {method!r}")
    return jnp.where(keep, ops[:, None, :], rem[:, None, :])


def leave_one_out(fitness: Callable, ops: jax.Array, removed, failed_value: float = 0.0,
                  states: jax.Array | None = None) -> tuple[jax.Array, int]:
    """``v(all) - v(all without slot i)`` for each player i; ``states`` (module doc).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.prior import shapley
      >>> product = lambda ops: (ops[..., 0] * ops[..., 1]).astype(jnp.float32)
      >>> phi, n = shapley.leave_one_out(product, jnp.array([2, 3, 5]), removed=jnp.array([0, 0, 0]))
      >>> phi.tolist(), n  # slots 0 and 1 each get the whole interaction (exact Shapley splits it: 3 and 3)
      ([6.0, 6.0, 0.0], 4)
    """
    removed = np.asarray(removed, np.int32)
    players = _players(removed)
    r = removed.shape[0]
    keep = np.ones((len(players) + 1, r), bool)
    keep[np.arange(1, len(players) + 1), players] = False
    keep_j = jnp.asarray(keep)

    def one(a, rem):
        v = _values(fitness, a[None, :], keep_j, rem, failed_value)
        return jnp.zeros(r, jnp.float32).at[players].set(v[0] - v[1:])

    shape = jnp.shape(ops)
    return jax.vmap(one)(*_states(ops, removed, states)).reshape(shape[:-1] + (r,)), len(players) + 1


def estimate(method: str, fitness: Callable, ops: jax.Array, removed, key: jax.Array | None = None,
             permutations: int = 32, failed_value: float = 0.0,
             states: jax.Array | None = None) -> tuple[jax.Array, int]:
    """The Shapley estimator called ``method``: :func:`exact`, :func:`monte_carlo` (``permutations`` orders from
    ``key``) or :func:`leave_one_out`; returns ``(phi, lookups per architecture)`` as they do.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.prior import shapley
      >>> product = lambda ops: (ops[..., 0] * ops[..., 1]).astype(jnp.float32)
      >>> phi, n = shapley.estimate("exact", product, jnp.array([2, 3, 5]), removed=jnp.array([0, 0, 0]))
      >>> phi.tolist(), n
      ([3.0, 3.0, 0.0], 8)
    """
    if method == "exact":
        return exact(fitness, ops, removed, failed_value, states)
    if method == "mc":
        return monte_carlo(fitness, ops, removed, key, permutations, failed_value, states)
    return leave_one_out(fitness, ops, removed, failed_value, states)
