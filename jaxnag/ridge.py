"""Ridge regression on one-hot architecture features, fitted from running sufficient statistics.

The model is additive over slots: ``f(a) ~ b + sum_r W[r, a_r]``. Its statistics ``X^T X`` and
``X^T y`` grow by each batch of evaluated architectures (:func:`update`), so a generator carries them
in its state and refits inside the compiled program (:func:`weights`, one solve of
``slots x choices + 1`` unknowns). Used by :mod:`jaxnag.surrogate` (to predict) and by PG-NAG's
iterative variant (to rescore: for an additive model the Shapley values are exact in closed form).

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxnag import ridge, spaces
  >>> space = spaces.get("nb201")
  >>> ops = space.all_ops()
  >>> stats = ridge.update(ridge.empty(space), ops, jnp.sum(ops == 3, axis=1).astype(jnp.float32), space)
  >>> w = ridge.slot_weights(ridge.weights(stats, 1e-3), space)
  >>> round(float(w[0, 3] - w[0, 0]), 2)
  1.0
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Stats", "empty", "features", "predictor", "slot_weights", "solve_spd", "update", "weights"]


class Stats(NamedTuple):
    """``gram = X^T X [D, D]``, ``moment = X^T y [D]`` over the architectures with a finite value, and
    their ``count`` (D = slots x choices + 1, the last column a constant).

    Examples:
      >>> from jaxnag import ridge, spaces
      >>> st = ridge.empty(spaces.categorical("chain2", ("a", "b", "c"), slots=2))  # D = 2 x 3 + 1
      >>> st._fields, st.gram.shape, st.moment.shape, int(st.count)
      (('gram', 'moment', 'count'), (7, 7), (7,), 0)
    """

    gram: jax.Array
    moment: jax.Array
    count: jax.Array


def features(ops: jax.Array, space) -> jax.Array:
    """One-hot features of ``ops [n, R]`` plus a constant: float32 ``[n, R * C + 1]`` (C the most choices).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import ridge, spaces
      >>> x = ridge.features(jnp.array([[0, 1, 2, 3, 4, 0]]), spaces.get("nb201"))
      >>> x.shape, float(x.sum()), x[0, :6].tolist()
      ((1, 31), 7.0, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    """
    onehot = jax.nn.one_hot(ops, space.num_choices, dtype=jnp.float32).reshape(ops.shape[0], -1)
    return jnp.concatenate([onehot, jnp.ones((ops.shape[0], 1), jnp.float32)], axis=1)


def empty(space, targets: int | None = None) -> Stats:
    """Statistics of no data for ``space`` (one-hot features and a bias: ``R * C + 1`` unknowns); ``targets``:
    fit that many targets at once (``moment`` then ``[D, targets]``: one model per objective).

    Examples:
      >>> from jaxnag import ridge, spaces
      >>> s = ridge.empty(spaces.get("nb201"))
      >>> s.gram.shape, s.moment.shape, int(s.count), ridge.empty(spaces.get("nb201"), targets=2).moment.shape
      ((31, 31), (31,), 0, (31, 2))
    """
    d = space.num_slots * space.num_choices + 1
    moment = jnp.zeros(d if targets is None else (d, targets), jnp.float32)
    return Stats(jnp.zeros((d, d), jnp.float32), moment, jnp.int32(0))


def update(stats: Stats, ops: jax.Array, values: jax.Array, space, mask: jax.Array | None = None) -> Stats:
    """Add the rows of ``ops [n, R]`` whose ``values [n]`` (``[n, T]`` for several targets: all of them) are
    finite (and ``mask`` true).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import ridge, spaces
      >>> space = spaces.get("nb201")
      >>> ops = jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]])
      >>> update = jax.jit(ridge.update, static_argnums=3)  # one compiled program (the space static)
      >>> s = update(ridge.empty(space), ops, jnp.array([2.0, jnp.nan]), space)  # the NaN row left out
      >>> int(s.count), float(s.moment[-1]), float(s.gram[-1, -1])
      (1, 2.0, 1.0)
    """
    values = jnp.asarray(values, jnp.float32)
    finite = jnp.isfinite(values) if values.ndim == 1 else jnp.all(jnp.isfinite(values), axis=-1)
    ok = finite if mask is None else finite & mask
    x = features(ops, space) * ok[:, None].astype(jnp.float32)
    y = jnp.where(ok if values.ndim == 1 else ok[:, None], values, 0.0)
    return Stats(stats.gram + x.T @ x, stats.moment + x.T @ y, stats.count + jnp.sum(ok).astype(jnp.int32))


def solve_spd(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a^-1 b`` for a symmetric positive definite ``a [D, D]`` by Gauss-Jordan elimination (no pivoting
    needed) in plain XLA ops. ``jnp.linalg.solve`` calls LAPACK's batched LU, which under ``vmap`` inside
    a ``while_loop`` can deadlock XLA:CPU's thread pool (seen with jaxlib 0.10.2 at 100 seeds).

    Examples:
      >>> a = jnp.array([[4.0, 1.0], [1.0, 3.0]])
      >>> tuple(round(float(v), 4) for v in solve_spd(a, jnp.array([1.0, 2.0])))
      (0.0909, 0.6364)
    """
    d = a.shape[0]
    idx = jnp.arange(d)

    def eliminate(k, ab):
        a, b = ab
        row, rhs = a[k] / a[k, k], b[k] / a[k, k]
        col = jnp.where(idx == k, 0.0, a[:, k])
        step = col * rhs if b.ndim == 1 else col[:, None] * rhs[None, :]  # one right-hand side or several
        return (a - col[:, None] * row[None, :]).at[k].set(row), (b - step).at[k].set(rhs)
    return jax.lax.fori_loop(0, d, eliminate, (a, b))[1]


def weights(stats: Stats, ridge) -> jax.Array:
    """The ridge solution ``[D]`` (``ridge`` > 0 keeps the system solvable).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import ridge, spaces
      >>> space = spaces.get("nb201")
      >>> ops = jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]])
      >>> s = jax.jit(ridge.update, static_argnums=3)(ridge.empty(space), ops, jnp.array([7.0, jnp.nan]), space)
      >>> w = ridge.weights(s, 1e-3)  # the 7 features of the finite row share its value 7: about 1 each
      >>> w.shape, round(float(w[0]), 2), round(float(w[1]), 2)
      ((31,), 1.0, 0.0)
    """
    d = stats.moment.shape[0]
    return solve_spd(stats.gram + jnp.asarray(ridge, jnp.float32) * jnp.eye(d, dtype=jnp.float32), stats.moment)


def slot_weights(w: jax.Array, space) -> jax.Array:
    """The per-(slot, choice) part ``W [R, C]`` of a solution ``w [R * C + 1]`` (the constant dropped).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import ridge, spaces
      >>> w = ridge.slot_weights(jnp.arange(31, dtype=jnp.float32), spaces.get("nb201"))
      >>> w.shape, w[1].tolist()
      ((6, 5), [5.0, 6.0, 7.0, 8.0, 9.0])
    """
    return w[:-1].reshape(space.num_slots, space.num_choices)


def predictor(stats: Stats, space, ridge):
    """``ops [n, R] -> predicted fitness [n]`` (one solve); with no data, the constant 0.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import ridge, spaces
      >>> space = spaces.get("nb201")
      >>> ops = jnp.array([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]])
      >>> fit = jax.jit(lambda y: ridge.predictor(ridge.update(ridge.empty(space), ops, y, space), space, 1e-3)(ops))
      >>> # fitted on the first row: its value, and 2/7 of it for a row sharing 2 of its 7 features
      >>> [round(v, 2) for v in fit(jnp.array([7.0, jnp.nan])).tolist()]
      [7.0, 2.0]
    """
    w = weights(stats, ridge)
    mean = stats.moment[-1] / jnp.maximum(stats.count, 1).astype(jnp.float32)  # the constant column's sum / n
    return lambda ops: jnp.where(stats.count > 0, features(ops, space) @ w, mean[None] if w.ndim == 2 else mean)
