"""A Gaussian process over categorical architectures, updated one batch at a time inside a compiled program.

The kernel depends on how many slots two architectures share (``m`` of ``R``):

* ``"hamming"``: ``exp(-h / l)`` with ``h = (R - m) / R`` the normalised Hamming distance (every order of
  interaction between slots, decaying with ``l``);
* ``"additive"``: ``(1 + m) / (1 + R)``, the kernel of one-hot features plus a constant: its mean is ridge
  regression on one-hot features (the surrogate's ridge), with penalty ``noise * (1 + R)``;
* ``"pairwise"``: ``(1 + m + m(m-1)/2) / (1 + R + R(R-1)/2)``: one-hot plus every (slot, slot) pair of
  choices, ridge on pairwise features in its dual form (a few hundred points, not ``R^2 C^2`` unknowns).
* ``"path"``: ``(1 + m + p) / sqrt((1 + R + p_a)(1 + R + p_b))``, one-hot plus BANANAS's path encoding (White
  et al., AAAI 2021) for a space with a cell graph: ``p`` counts the input-to-output paths
  (:meth:`~jaxnag.spaces.SearchSpace.paths`) that exist in both architectures with the same op on every edge
  (an edge's removing choice breaks a path), ``p_a`` those of ``a`` alone; the interactions of the ops along
  each path, every order up to the path's length.

With ``warp="rank"`` (the ``"gp_rank"`` predictor) the GP models the values' normal scores instead of the
values (a rank-based Gaussian copula: the i-th smallest of ``n`` held values becomes ``Phi^-1((i + 1/2) / n)``,
ties averaged), so a long tail of poor architectures (TransNAS-Bench-101's jigsaw: 0.03 to 95) does not decide
the length scale and the noise, and the top of the table keeps its resolution. Its predictions are those
scores in the values' units (``mean + sd x score``, with the held values' mean and sd): they order
architectures as the warped model does (greedy, UCB, Thompson, Shapley values of the mean), but they are not
estimates of the values, so expected improvement over the best value seen is refused with it.

Observations are kept in a buffer of ``memory`` rows (a repeat of an architecture held is not added twice;
once the buffer is full, further rows are not added: a budgeted run sets ``memory`` to its budget). For
each point of a small grid of hyperparameters (length scale x noise) the state holds a factor ``W`` of
the inverse kernel matrix (``W^T W = (K + noise I)^-1``, the inverse of a Cholesky factor) and the
log-determinant; a batch of ``q`` new rows extends them by a Schur complement in ``O(memory^2 q)``
matrix products (no LAPACK call, no refactorisation), and unused rows are identity rows, so the shapes
never change. Predictions use the grid point with the highest marginal likelihood of the values
(normalised to mean 0, variance 1).

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnag import predictors, spaces
  >>> space = spaces.get("nb201")
  >>> gp = predictors.GP(memory=64)
  >>> ops = space.random(jax.random.key(0), (40,))
  >>> values = jnp.sum(ops == 3, axis=1).astype(jnp.float32)
  >>> fit_predict = jax.jit(lambda o, v: gp.predict(gp.update(gp.init(space), o, v, space), o[:3], space))
  >>> mean, std = fit_predict(ops, values)
  >>> bool(jnp.allclose(mean, values[:3], atol=0.2)), bool(jnp.all(std < 0.5))
  (True, True)
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from . import _buffer

__all__ = ["GP", "GPState", "KERNELS", "WARPS", "normal_scores", "spd_inverse"]

KERNELS = ("hamming", "additive", "pairwise", "path")
WARPS = ("none", "rank")


class GPState(NamedTuple):
    """The observations and, per grid point ``G``, the inverse kernel matrix's factor.

    Attributes:
      buffer: the architectures held and their values (:class:`jaxnag.predictors.Buffer`).
      inverse: float32 ``[G, memory, memory]``: a factor ``W`` of the inverse, ``W^T W = (K + noise I)^-1``
        over the used rows (identity elsewhere).
      logdet: float32 ``[G]``: ``log det (K + noise I)`` over the used rows.

    Examples:
      >>> import jax
      >>> from jaxnag import predictors, spaces
      >>> gp = predictors.GP(memory=8)  # a grid of 4 length scales x 2 noises
      >>> st = jax.eval_shape(lambda: gp.init(spaces.get("nb201")))  # shapes only
      >>> st._fields, st.inverse.shape, st.logdet.shape, st.count.dtype
      (('buffer', 'inverse', 'logdet'), (8, 8, 8), (8,), dtype('int32'))
    """

    buffer: _buffer.Buffer
    inverse: jax.Array
    logdet: jax.Array

    @property
    def count(self) -> jax.Array:
        """Finite values told so far."""
        return self.buffer.count


def spd_inverse(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(a^-1, log det a)`` of a small symmetric positive definite ``a [q, q]`` by Gauss-Jordan
    elimination in plain XLA ops (no LAPACK call: see :func:`jaxnag.ridge.solve_spd`).

    Examples:
      >>> inv, logdet = spd_inverse(jnp.array([[4.0, 1.0], [1.0, 3.0]]))
      >>> round(float(inv[0, 0]), 4), round(float(logdet), 4)
      (0.2727, 2.3979)
    """
    q = a.shape[0]
    idx = jnp.arange(q)

    def eliminate(k, carry):
        a, b, logdet = carry
        pivot = a[k, k]
        row, rhs = a[k] / pivot, b[k] / pivot
        col = jnp.where(idx == k, 0.0, a[:, k])
        a = (a - col[:, None] * row[None, :]).at[k].set(row)
        b = (b - col[:, None] * rhs[None, :]).at[k].set(rhs)
        return a, b, logdet + jnp.log(pivot)
    _, inv, logdet = jax.lax.fori_loop(0, q, eliminate, (a, jnp.eye(q, dtype=a.dtype), jnp.zeros((), a.dtype)))
    return inv, logdet


@dataclasses.dataclass(frozen=True)
class GP:
    """A Gaussian process predictor (module doc). Static and hashable: a config field.

    Attributes:
      kernel: one of :data:`KERNELS`.
      lengthscales: the ``"hamming"`` kernel's length scales tried (ignored by the others).
      noises: the noise variances tried (the values are normalised to variance 1).
      memory: the most observations held (the first ``memory`` distinct ones).
      warp: ``"none"`` (the values, normalised) or ``"rank"`` (their normal scores: module doc).

    Examples:
      >>> from jaxnag import errors, predictors
      >>> len(predictors.GP().grid), predictors.GP(kernel="additive", noises=(0.1,)).grid  # (length scale, noise)
      (8, ((1.0, 0.1),))
      >>> try:
      ...     predictors.GP(kernel="rbf")
      ... except errors.ConfigError as e:
      ...     print(e)
      unknown GP kernel 'rbf'; the kernels: hamming, additive, pairwise, path
    """

    kernel: str = "hamming"
    lengthscales: tuple = (0.1, 0.25, 0.5, 1.0)
    noises: tuple = (0.01, 0.1)
    memory: int = 300
    warp: str = "none"

    def __post_init__(self):
        if self.kernel not in KERNELS:
            raise ConfigError(f"unknown GP kernel {self.kernel!r}; the kernels: {', '.join(KERNELS)}")
        if self.warp not in WARPS:
            raise ConfigError(f"unknown GP warp {self.warp!r}; the warps: {', '.join(WARPS)}")
        if not isinstance(self.memory, int) or isinstance(self.memory, bool) or self.memory < 2:
            raise ConfigError(f"the GP's memory must be an int >= 2, got {self.memory!r}")
        for name in ("lengthscales", "noises"):
            grid = getattr(self, name)
            if not isinstance(grid, tuple) or not grid or not all(
                    isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in grid):
                raise ConfigError(f"the GP's {name} must be a non-empty tuple of numbers > 0, got {grid!r}")
        if self.kernel == "hamming" and any(n < 1e-3 for n in self.noises):
            raise ConfigError("the GP's noises must be >= 1e-3 (float32 inverse updates)")

    @property
    def grid(self) -> tuple[tuple[float, float], ...]:
        """The (length scale, noise) pairs tried (length scale 1 for the kernels without one)."""
        scales = self.lengthscales if self.kernel == "hamming" else (1.0,)
        return tuple((s, n) for s in scales for n in self.noises)

    # ------------------------------------------------------------------ kernel
    def _kernel(self, a: jax.Array, b: jax.Array, scale, space) -> jax.Array:
        """``k(a_i, b_j)`` ``[n, m]`` for one length scale."""
        if self.kernel == "path":
            return _path_kernel(a, b, space)
        return self._from_matches(_matches(a, b), a.shape[-1], scale)

    def _from_matches(self, m: jax.Array, r: int, scale) -> jax.Array:
        """The kernel from ``m``, the number of slots two architectures share (of ``r``)."""
        if self.kernel == "hamming":
            return jnp.exp(-((r - m) / r) / scale)
        if self.kernel == "additive":
            return (1.0 + m) / (1.0 + r)
        return (1.0 + m + m * (m - 1.0) / 2.0) / (1.0 + r + r * (r - 1.0) / 2.0)

    def _kernels(self, a, b, space) -> jax.Array:
        """``[G, n, m]`` over the grid (the matches counted once, one kernel per distinct length scale)."""
        if self.kernel == "path":
            return jnp.broadcast_to(_path_kernel(a, b, space), (len(self.grid), a.shape[0], b.shape[0]))
        m, r = _matches(a, b), a.shape[-1]
        scales = list(dict.fromkeys(s for s, _ in self.grid))
        per_scale = [self._from_matches(m, r, s) for s in scales]
        return jnp.stack([per_scale[scales.index(s)] for s, _ in self.grid])

    def _noise(self) -> jax.Array:
        return jnp.asarray([n for _, n in self.grid], jnp.float32)

    # ------------------------------------------------------------------ state
    def init(self, space) -> GPState:
        """No observations."""
        if self.kernel == "path" and not space.paths():
            raise ConfigError(f"the GP's path kernel needs a space with a cell graph (edges); {space.name!r} has "
                              f"none (use kernel 'pairwise' or 'hamming')")
        g, n = len(self.grid), self.memory
        return GPState(_buffer.empty(n, space.num_slots), jnp.broadcast_to(jnp.eye(n, dtype=jnp.float32), (g, n, n)),
                       jnp.zeros(g, jnp.float32))

    def update(self, state: GPState, ops: jax.Array, values: jax.Array, space, mask=None) -> GPState:
        """Add the rows of ``ops [q, R]`` whose ``values [q]`` are finite (and ``mask`` true), each architecture
        once (the first ``memory`` distinct ones are held: :class:`jaxnag.predictors.Buffer`)."""
        old = state.buffer
        buf, new = _buffer.add(old, ops, values, mask)
        cross = self._kernels(old.ops, new.ops, space) * (old.used[:, None] & new.ok[None, :]).astype(jnp.float32)[None]
        inverse, logdet = jax.vmap(self._add, in_axes=(0, 0, 0, 0, 0, None, None))(
            state.inverse, state.logdet, cross, self._kernels(new.ops, new.ops, space), self._noise(), new.ok,
            new.place)
        return GPState(buf, inverse, logdet)

    @staticmethod
    def _add(factor, logdet, cross, block, noise, ok, place):
        """Add the rows ``place [n, q]`` (those ``ok``) with kernel ``cross [n, q]`` to the rows held and
        ``block [q, q]`` among themselves: ``factor`` ``W`` with ``W^T W = (K + noise I)^-1`` grows by a block
        row ``[-B X^T W, B]`` with ``X = W cross`` and ``B^T B`` the inverse of the Schur complement
        ``S = block + noise I - X^T X`` (so ``W``'s condition number is the square root of ``K``'s)."""
        okf = ok.astype(jnp.float32)
        eye = jnp.eye(ok.shape[0], dtype=jnp.float32)
        both = okf[:, None] * okf[None, :]
        x = factor @ cross                                   # [n, q]
        s = (block - x.T @ x) * both + eye * (noise * okf + (1.0 - okf))[:, None]
        s_inv, s_logdet = spd_inverse(s)
        b = _cholesky(s_inv).T                               # B^T B = S^-1
        rows = b @ (place.T - x.T @ factor)                  # [q, n]: the new rows of W
        return factor * (1.0 - jnp.sum(place, axis=1))[:, None] + place @ rows, logdet + s_logdet

    # ------------------------------------------------------------------ prediction
    def _targets(self, buf: _buffer.Buffer) -> jax.Array:
        """What the GP models at the held rows ``[memory]`` (0 where unused): the normalised values, or their
        normal scores."""
        return _buffer.normalised(buf)[2] if self.warp == "none" else normal_scores(buf.values, buf.used)

    def evidence(self, state: GPState, targets=None) -> jax.Array:
        """The log marginal likelihood of the held values at each grid point ``[G]`` (up to a constant);
        ``targets``: what the GP models at the held rows, if already computed."""
        y = self._targets(state.buffer) if targets is None else targets
        z = jnp.einsum("gij,j->gi", state.inverse, y)
        return -0.5 * jnp.sum(z * z, axis=1) - 0.5 * state.logdet

    def predict(self, state: GPState, ops: jax.Array, space) -> tuple[jax.Array, jax.Array]:
        """``(mean [m], std [m])`` of the latent fitness of ``ops [m, R]`` (with no data: the prior). Every
        kernel is 1 between an architecture and itself: the prior variance is 1 in normalised units."""
        ops = jnp.asarray(ops, jnp.int32)
        buf = state.buffer
        mu, sd, y = _buffer.normalised(buf)
        if self.warp != "none":
            y = self._targets(buf)
        best = jnp.argmax(self.evidence(state, y))
        factor = state.inverse[best]
        kernel = jax.lax.switch(best, [lambda s=s: self._kernel(buf.ops, ops, s, space) for s, _ in self.grid])
        v = factor @ (kernel * buf.used[:, None].astype(jnp.float32))  # [n, m]
        mean = v.T @ (factor @ y)
        std = jnp.sqrt(jnp.maximum(1.0 - jnp.sum(v * v, axis=0), 1e-9))
        return mu + sd * mean, sd * std  # warped: scores in the values' units (module doc)


def normal_scores(values: jax.Array, used: jax.Array) -> jax.Array:
    """The normal scores of the ``used`` ``values [n]`` (0 elsewhere): the i-th smallest of ``k`` becomes
    ``Phi^-1((i + 1/2) / k)`` (ties share their mean rank), standardised to mean 0 and variance 1.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.predictors import _gp
      >>> z = _gp.normal_scores(jnp.array([0.0, 90.0, 91.0, 5.0, 7.0]), jnp.array([True, True, True, True, False]))
      >>> [round(v, 2) + 0.0 for v in z.tolist()]  # the order is kept, the gaps are not
      [-1.36, 0.38, 1.36, -0.38, 0.0]
    """
    w = used.astype(jnp.float32)
    k = jnp.maximum(jnp.sum(w), 1.0)
    below = jnp.sum(w[None, :] * (values[None, :] < values[:, None]).astype(jnp.float32), axis=1)
    equal = jnp.sum(w[None, :] * (values[None, :] == values[:, None]).astype(jnp.float32), axis=1)
    z = jax.scipy.special.ndtri((below + 0.5 * equal) / k) * w
    z = (z - jnp.sum(z) / k) * w  # the mean is 0 without ties, by symmetry
    sd = jnp.sqrt(jnp.sum(z * z) / k)
    return z / jnp.where(sd > 0, sd, 1.0)


def _matches(a: jax.Array, b: jax.Array) -> jax.Array:
    """float32 ``[n, m]``: how many slots ``a_i`` and ``b_j`` share."""
    return jnp.sum(a[:, None, :] == b[None, :, :], axis=-1).astype(jnp.float32)


def _path_kernel(a: jax.Array, b: jax.Array, space) -> jax.Array:
    """The ``"path"`` kernel ``[n, m]`` (module doc): one-hot and path features with a constant, normalised to 1
    on the diagonal (a normalised sum of linear kernels: positive semi-definite)."""
    paths, r = space.paths(), a.shape[-1]
    remove = np.asarray(space.remove, np.int32)  # -1: never removed

    def alive(x):  # [k, R]: the slot's edge is present
        return x != jnp.asarray(remove)[None, :]

    def own(x):  # [k]: paths of x alone
        live = alive(x)
        return sum(jnp.all(live[:, list(p)], axis=-1).astype(jnp.float32) for p in paths)

    same = (a[:, None, :] == b[None, :, :]) & alive(a)[:, None, :]  # [n, m, R]: the same op, the edge present
    shared = sum(jnp.all(same[..., list(p)], axis=-1).astype(jnp.float32) for p in paths)
    numerator = 1.0 + _matches(a, b) + shared
    return numerator * jax.lax.rsqrt((1.0 + r + own(a))[:, None] * (1.0 + r + own(b))[None, :])


def _cholesky(a: jax.Array) -> jax.Array:
    """The lower Cholesky factor of a small SPD ``a [q, q]`` in plain XLA ops (column by column)."""
    q = a.shape[0]
    idx = jnp.arange(q)

    def column(j, l):
        d = jnp.sqrt(jnp.maximum(a[j, j] - jnp.sum(l[j] * l[j]), 1e-20))
        c = (a[:, j] - l @ l[j]) / d
        return l.at[:, j].set(jnp.where(idx > j, c, jnp.where(idx == j, d, 0.0)))
    return jax.lax.fori_loop(0, q, column, jnp.zeros_like(a))
