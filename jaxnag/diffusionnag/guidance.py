"""DiffusionNAG's noise-aware accuracy predictor (Flax NNX), trained with optax inside JAX.

The reference predictor is meta-learned over tasks from image features (not available
offline); jaxnag trains its predictor on a budget of table queries: the node-operation
matrices of ``Q`` queried architectures, noised by the SDE at random times (so it is
accurate along the reverse process), regressing the standardised metric or, by default,
Gaussianised ranks of it (MSE). Guided generation (:mod:`jaxnag.diffusionnag.generator`)
adds ``w * grad_x sum_b f(x_b, level)`` to the score.

Examples:
  >>> import jax
  >>> from jaxnag import spaces, tables
  >>> from jaxnag.sde import VESDE
  >>> s, t = spaces.get("nb201"), tables.load("nasbench_graph", "cora")
  >>> q = s.sample_unique(jax.random.key(0), 50)
  >>> pred = fit_predictor(jax.random.key(1), s, q, q.sum(1).astype(float), VESDE(0.1, 5.0), iterations=20)
  >>> rank_by_predictor(pred, q[:3], s, VESDE(0.1, 5.0)).shape
  (3,)
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..errors import ConfigError, UnknownName, check_int, check_range
from ..nn.layers import Block, TimeEmbedding, sinusoidal
from ..nn.score_net import attention_mask, space_graph
from ..nn.training import optimizer, scan_steps
from . import encoding

__all__ = ["Predictor", "PredictorConfig", "PredictorNet", "fit_predictor", "predict_clean", "predictor_graphdef",
           "predictor_state", "rank_by_predictor", "regression_targets"]


class PredictorNet(nnx.Module):
    """Graph transformer on noised node-operation matrices with a noise-level embedding -> scalar (or one
    value per objective).

    Takes ``x [B, R + 2, C + 2]`` (:mod:`jaxnag.diffusionnag.encoding`) and ``level [B]``; returns float32 ``[B]``,
    or ``[B, outputs]`` with ``outputs`` > 1 (a vector fitness: one head per objective).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import guidance
      >>> space = spaces.get("nb201")
      >>> net = lambda x, level: guidance.PredictorNet(space, d=8, layers=1, heads=1, rngs=nnx.Rngs(0))(x, level)
      >>> x, level = jax.ShapeDtypeStruct((3, 8, 7), jnp.float32), jax.ShapeDtypeStruct((3,), jnp.float32)
      >>> jax.eval_shape(net, x, level)  # shapes only: one prediction per architecture
      ShapeDtypeStruct(shape=(3,), dtype=float32)
      >>> two = lambda x, level: guidance.PredictorNet(space, d=8, layers=1, heads=1, outputs=2, rngs=nnx.Rngs(0))(
      ...     x, level)
      >>> jax.eval_shape(two, x, level).shape  # two objectives: one prediction each
      (3, 2)
    """

    def __init__(self, space, d: int = 32, layers: int = 2, heads: int = 4, *, outputs: int = 1, rngs: nnx.Rngs):
        v, f = encoding.shape(space)
        self.embed = nnx.Linear(f, d, rngs=rngs)
        self.level = TimeEmbedding(d, 4 * d, d, rngs=rngs)
        self.blocks = nnx.List([Block(d, heads, 2 * d, rngs=rngs) for _ in range(layers)])
        self.ln = nnx.LayerNorm(d, rngs=rngs)
        self.out1 = nnx.Linear(d, d, rngs=rngs)
        self.out2 = nnx.Linear(d, outputs, rngs=rngs)
        self.outputs = outputs
        self.mask = nnx.Variable(jnp.asarray(attention_mask(space_graph(space), "closure")))
        self.pos = nnx.Variable(sinusoidal(jnp.arange(v), d))

    def __call__(self, x, level):
        h = self.embed(x) + self.pos[...][None] + self.level(level)[:, None, :]
        for blk in self.blocks:
            h = blk(h, self.mask[...])
        h = jnp.mean(self.ln(h), axis=1)
        y = self.out2(jax.nn.silu(self.out1(h)))
        return y[:, 0] if self.outputs == 1 else y


@dataclasses.dataclass(frozen=True)
class PredictorConfig:
    """The accuracy predictor's size and training (all static).

    Attributes:
      iterations, batch, lr: AdamW steps (cosine decay), batch size, learning rate.
      target: ``rank`` (normal scores of the ranks, default) or ``zscore`` (standardised metric).
      d, layers, heads: transformer width, depth, heads.
      eps: smallest SDE time the training noise is drawn from.
      outputs: objectives predicted, one head each (the generator sets it to its ``num_objectives``).

    Examples:
      >>> from jaxnag.diffusionnag import guidance
      >>> guidance.PredictorConfig(iterations=50).replace(d=16, heads=2).d, guidance.PredictorConfig().target
      (16, 'rank')
      >>> try:
      ...     guidance.PredictorConfig(d=10, heads=4)
      ... except ValueError as e:  # errors.ConfigError
      ...     print(e)
      d (10) must be a multiple of heads (4)
    """

    iterations: int = 1500
    batch: int = 128
    lr: float = 2e-3
    target: str = "rank"
    d: int = 32
    layers: int = 2
    heads: int = 4
    eps: float = 1e-5
    outputs: int = 1

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)

    def __post_init__(self):
        check_int("iterations", self.iterations, lo=1)
        check_int("batch", self.batch, lo=1)
        check_range("lr", self.lr, lo=0.0, lo_open=True)
        if self.target not in TARGETS:
            raise UnknownName(f"unknown predictor target {self.target!r}; available: {', '.join(TARGETS)}")
        check_int("d", self.d, lo=1)
        check_int("layers", self.layers, lo=1)
        check_int("heads", self.heads, lo=1)
        if self.d % self.heads:
            raise ConfigError(f"d ({self.d}) must be a multiple of heads ({self.heads})")
        check_int("outputs", self.outputs, lo=1)


jax.tree_util.register_static(PredictorConfig)
TARGETS = ("rank", "zscore")


def _build(key, space, config: PredictorConfig) -> PredictorNet:
    return PredictorNet(space, config.d, config.layers, config.heads, outputs=config.outputs, rngs=nnx.Rngs(params=key))


def predictor_graphdef(space, config: PredictorConfig):
    """The static definition of the predictor network (from an abstract one).

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import guidance
      >>> s, cfg = spaces.get("nb201"), guidance.PredictorConfig(d=8, layers=1, heads=1)
      >>> graph = guidance.predictor_graphdef(s, cfg)
      >>> graph == guidance.predictor_graphdef(s, cfg)  # static: a jit keys its compilation on it
      True
      >>> graph == guidance.predictor_graphdef(s, cfg.replace(layers=2))
      False
    """
    return nnx.split(nnx.eval_shape(lambda: _build(jax.random.key(0), space, config)))[0]


def regression_targets(values: jax.Array, target: str) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(y [Q], mean, std)`` for the finite entries of ``values [Q]`` (others: y = 0): the
    standardised metric (``zscore``) or normal scores of the ranks (``rank``, mean 0, std 1). A vector
    fitness ``values [Q, M]`` gives each objective's (``y [Q, M]``, ``mean [M]``, ``std [M]``), a row with any
    objective not finite left out of all.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.diffusionnag import guidance
      >>> targets = jax.jit(guidance.regression_targets, static_argnums=1)
      >>> y, mean, std = targets(jnp.array([3.0, jnp.nan, 1.0, 2.0]), "zscore")  # NaN: a failed query
      >>> [round(v, 3) for v in y.tolist()], float(mean), round(float(std), 3)
      ([1.225, 0.0, -1.225, 0.0], 2.0, 0.816)
      >>> [round(v, 3) for v in targets(jnp.array([30.0, jnp.nan, 1.0, 2.0]), "rank")[0].tolist()]  # ranks only
      [0.967, 0.0, -0.967, 0.0]
      >>> y = targets(jnp.array([[3.0, 0.0], [1.0, jnp.nan], [2.0, 1.0]]), "rank")[0]  # [Q, M]: row 1 failed
      >>> [[round(v, 3) for v in row] for row in y.tolist()]
      [[0.674, -0.674], [0.0, 0.0], [-0.674, 0.674]]
    """
    v = jnp.asarray(values, jnp.float32)
    if v.ndim == 2:  # one column per objective, a row failed where any objective is
        v = jnp.where(jnp.all(jnp.isfinite(v), axis=1, keepdims=True), v, jnp.nan)
        return jax.vmap(lambda col: regression_targets(col, target), in_axes=1, out_axes=(1, 0, 0))(v)
    ok = jnp.isfinite(v)
    n = jnp.maximum(jnp.sum(ok), 1).astype(jnp.float32)
    if target == "zscore":
        mean = jnp.sum(jnp.where(ok, v, 0.0)) / n
        std = jnp.sqrt(jnp.sum(jnp.where(ok, (v - mean) ** 2, 0.0)) / n)
        std = jnp.where(std > 0, std, 1.0)
        return jnp.where(ok, (v - mean) / std, 0.0), mean, std
    idx = jnp.arange(v.shape[0])
    below = ok[None, :] & ((v[None, :] < v[:, None]) | ((v[None, :] == v[:, None]) & (idx[None, :] < idx[:, None])))
    rank = jnp.sum(below, axis=1)
    y = jax.scipy.special.ndtri((rank.astype(jnp.float32) + 0.5) / n)
    return jnp.where(ok, y, 0.0), jnp.float32(0.0), jnp.float32(1.0)


def predictor_state(key: jax.Array, space, ops: jax.Array, values: jax.Array, sde,
                    config: PredictorConfig = PredictorConfig(), start=None):
    """Train a :class:`PredictorNet` on ``ops [Q, R]`` with metric ``values [Q]`` (or ``[Q, M]`` for a
    predictor with ``config.outputs == M``; failed ones left out); pure and jittable. ``start``: a trained
    network's state to continue from (warm start), else a fresh one. Returns ``(state, mean, std)``: the
    network's NNX state and the target's scale (the prediction in metric units is ``net(x, level) * std +
    mean``; ``[M]`` each for a vector).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.sde import VESDE
      >>> from jaxnag.diffusionnag import guidance
      >>> s, cfg = spaces.get("nb201"), guidance.PredictorConfig(iterations=2, batch=4, d=8, layers=1, heads=1)
      >>> ops, values = jnp.array([[3, 3, 3, 1, 3, 3], [0, 1, 2, 3, 4, 0]]), jnp.array([0.9, 0.5])
      >>> fit = lambda k: guidance.predictor_state(k, s, ops, values, VESDE(0.1, 5.0), cfg)
      >>> state, mean, std = jax.eval_shape(fit, jax.random.key(0))  # shapes only, nothing trained
      >>> state["out2"]["kernel"].shape, mean.shape, std.dtype  # one scalar output; the target's scale
      ((8, 1), (), dtype('float32'))
    """
    values = jnp.asarray(values, jnp.float32)
    if values.shape[1:] != ((config.outputs,) if config.outputs > 1 else ()):
        raise ConfigError(f"a predictor of {config.outputs} output(s) trains on values of shape (Q,"
                          f"{f' {config.outputs}' if config.outputs > 1 else ''}), got {values.shape}")
    y, mean, std = regression_targets(values, config.target)
    ok = jnp.isfinite(values) if values.ndim == 1 else jnp.all(jnp.isfinite(values), axis=1)
    logw = jnp.log(ok.astype(jnp.float32))
    x0 = encoding.to_matrix(jnp.asarray(ops), space) * 2.0 - 1.0
    k_init, k_loop = jax.random.split(key)
    net = _build(k_init, space, config) if start is None else nnx.merge(predictor_graphdef(space, config), start)
    graph, params, rest = nnx.split(net, nnx.Param, ...)
    opt = optimizer(config.lr, config.iterations)

    def loss_fn(p, k):
        k_i, k_t, k_z = jax.random.split(k, 3)
        i = jax.random.categorical(k_i, logw, shape=(config.batch,))
        t = jax.random.uniform(k_t, (config.batch,), minval=config.eps, maxval=1.0)
        mu, s = sde.marginal(x0[i], t)
        xt = mu + s[:, None, None] * jax.random.normal(k_z, mu.shape)
        pred = nnx.merge(graph, p, rest)(xt, sde.noise_level(t))
        return jnp.mean((pred - y[i]) ** 2)

    params, _, _ = scan_steps(loss_fn, opt, params, opt.init(params), jax.random.split(k_loop, config.iterations))
    return nnx.state(nnx.merge(graph, params, rest)), mean, std


def predict_clean(state, ops: jax.Array, space, sde, config: PredictorConfig) -> jax.Array:
    """Predictor output for clean architectures ``ops [n, R]`` at the SDE's smallest noise level
    (normalised units: higher is better); jittable. Returns float32 ``[n]`` (``[n, outputs]`` for a vector).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.sde import VESDE
      >>> from jaxnag.diffusionnag import guidance
      >>> s, cfg = spaces.get("nb201"), guidance.PredictorConfig(d=8, layers=1, heads=1)
      >>> ops = jnp.array([[3, 3, 3, 1, 3, 3], [0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]])
      >>> fit = lambda k: guidance.predictor_state(k, s, ops[:2], jnp.array([0.9, 0.5]), VESDE(), cfg)[0]
      >>> predict = lambda k: guidance.predict_clean(fit(k), ops, s, VESDE(), cfg)
      >>> jax.eval_shape(predict, jax.random.key(0))  # shapes only: fit on 2 cells, predict 3
      ShapeDtypeStruct(shape=(3,), dtype=float32)
    """
    net = nnx.merge(predictor_graphdef(space, config), state)
    x = encoding.to_matrix(jnp.asarray(ops), space) * 2.0 - 1.0
    return net(x, sde.noise_level(jnp.full((x.shape[0],), 1e-5)))


class Predictor(NamedTuple):
    """A trained predictor: ``model(x, level)`` predicts the standardised metric.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import guidance
      >>> space = spaces.get("nb201")
      >>> def predict(x, level):  # an untrained tiny network (fit_predictor returns a trained one)
      ...     net = guidance.PredictorNet(space, d=8, layers=1, heads=1, rngs=nnx.Rngs(0))
      ...     return guidance.Predictor(net, mean=0.7, std=0.1)(x, level)  # metric = output * std + mean
      >>> jax.eval_shape(predict, jnp.zeros((3, 8, 7)), jnp.zeros(3)).shape, guidance.Predictor._fields
      ((3,), ('model', 'mean', 'std'))
    """

    model: PredictorNet
    mean: float
    std: float

    def __call__(self, x, level):
        return self.model(x, level)


_predictor_state = jax.jit(predictor_state, static_argnames=("space", "sde", "config"))


def fit_predictor(key, space, ops, values, sde, iterations: int = 1500, batch: int = 128, lr: float = 2e-3,
                  eps: float = 1e-5, target: str = "rank") -> Predictor:
    """Train a :class:`PredictorNet` on ``ops [Q, R]`` with metric ``values [Q]`` (failed ones dropped);
    host wrapper of :func:`predictor_state`, compiled once per space, SDE, settings and Q.

    ``target``: ``zscore`` regresses the standardised metric; ``rank`` regresses normal
    scores of the ranks (Gaussianised), which keeps the long low tail of NB201 (cells
    at 10%) from dominating the loss; its outputs then order cells but are not in
    metric units (``mean`` / ``std`` are 0 / 1).

    Raises :class:`~jaxnag.errors.ConfigError` (before compiling anything) unless ``values`` has one entry per
    architecture and at least two of them are finite.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.sde import VESDE
      >>> from jaxnag.diffusionnag import guidance
      >>> ops = np.array([[3, 3, 3, 1, 3, 3], [0, 1, 2, 3, 4, 0]])
      >>> try:  # training for real compiles for seconds: see the module example
      ...     guidance.fit_predictor(jax.random.key(0), spaces.get("nb201"), ops, [0.9, np.nan], VESDE())
      ... except Exception as e:
      ...     print(type(e).__name__, e)
      ConfigError the predictor needs at least two architectures with a finite metric
    """
    config = PredictorConfig(iterations, batch, lr, target, eps=eps)
    ops, values = np.asarray(ops), np.asarray(values, np.float64)
    if values.shape != ops.shape[:1]:
        raise ConfigError(f"values must have shape ({len(ops)},), one per architecture, got {values.shape}")
    if np.isfinite(values).sum() < 2:
        raise ConfigError("the predictor needs at least two architectures with a finite metric")
    state, mean, std = _predictor_state(key, space, jnp.asarray(ops, jnp.int32), jnp.asarray(values, jnp.float32),
                                        sde, config)
    return Predictor(nnx.merge(predictor_graphdef(space, config), state), float(mean), float(std))


def rank_by_predictor(predictor: Predictor, ops, space, sde) -> np.ndarray:
    """Predictor output for clean architectures at the SDE's smallest noise level (metric units for a
    ``zscore`` predictor, normal scores of the rank for a ``rank`` one): higher is better. ``ops [n, R]``
    -> float numpy ``[n]``: ``predictor(x [n, V, F] in -1/+1 scale, level [n]) * std + mean``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.sde import VESDE
      >>> from jaxnag.diffusionnag import guidance
      >>> convs = lambda x, level: jnp.sum(x[:, :, 5] > 0, axis=1).astype(jnp.float32)  # column 5: nor_conv_3x3
      >>> pred = guidance.Predictor(convs, mean=0.5, std=0.1)  # fit_predictor gives a trained network
      >>> ops = jnp.array([[3, 3, 3, 1, 3, 3], [0, 1, 2, 3, 4, 0]])
      >>> [round(float(v), 3) for v in guidance.rank_by_predictor(pred, ops, spaces.get("nb201"), VESDE())]
      [1.0, 0.6]
    """
    x = encoding.to_matrix(jnp.asarray(ops), space) * 2.0 - 1.0
    lvl = sde.noise_level(jnp.full((x.shape[0],), 1e-5))
    return np.asarray(predictor(x, lvl)) * predictor.std + predictor.mean
