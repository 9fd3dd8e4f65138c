"""DiffusionNAG guidance: a noise-aware accuracy predictor and guided generation rounds.

The reference predictor is meta-learned over tasks from image features (not
available offline); jaxnag trains its predictor on a budget of table queries: the
node-operation matrices of ``Q`` queried architectures, noised by the SDE at random
times (so it is accurate along the reverse process), regressing the standardised
metric or, by default, Gaussianised ranks of it (MSE). Guided score: ``s(x, t) + w * grad_x sum_b f(x_b, level)``.
Generation runs rounds of ``round_size`` samples, lowering ``w`` by ``decrement``
each round, until ``n`` unique valid architectures exist; they are ranked by the
predictor on the clean matrices.

Example:
  >>> # pred = fit_predictor(key, space, ops, acc, sde)
  >>> # ops, scores, info = generate(key, score_model, sde, space, 20, pred, scale=50.0)
"""

from __future__ import annotations

import dataclasses
import sys
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from ..errors import ConfigError, GenerationError, UnknownName, check_int, check_range
from ..nn.layers import Block, TimeEmbedding, sinusoidal
from ..nn.score_net import attention_mask, op_node_graph
from . import encoding
from .sampler import guided, pc_sample


class PredictorNet(nnx.Module):
    """Graph transformer on noised node-operation matrices with a noise-level embedding -> scalar."""

    def __init__(self, space, d: int = 32, layers: int = 2, heads: int = 4, *, rngs: nnx.Rngs):
        v, f = encoding.shape(space)
        output = max(dst for _, dst in space.edges)
        self.embed = nnx.Linear(f, d, rngs=rngs)
        self.level = TimeEmbedding(d, 4 * d, d, rngs=rngs)
        self.blocks = nnx.List([Block(d, heads, 2 * d, rngs=rngs) for _ in range(layers)])
        self.ln = nnx.LayerNorm(d, rngs=rngs)
        self.out1 = nnx.Linear(d, d, rngs=rngs)
        self.out2 = nnx.Linear(d, 1, rngs=rngs)
        self.mask = nnx.Variable(jnp.asarray(attention_mask(op_node_graph(space.edges, output), "closure")))
        self.pos = nnx.Variable(sinusoidal(jnp.arange(v), d))

    def __call__(self, x, level):
        h = self.embed(x) + self.pos[...][None] + self.level(level)[:, None, :]
        for blk in self.blocks:
            h = blk(h, self.mask[...])
        h = jnp.mean(self.ln(h), axis=1)
        return self.out2(jax.nn.silu(self.out1(h)))[:, 0]


class Predictor(NamedTuple):
    """A trained predictor: ``model(x, level)`` predicts the standardised metric."""

    model: PredictorNet
    mean: float
    std: float

    def __call__(self, x, level):
        return self.model(x, level)


def fit_predictor(key, space, ops, values, sde, iterations: int = 1500, batch: int = 128, lr: float = 2e-3,
                  eps: float = 1e-5, target: str = "rank") -> Predictor:
    """Train a :class:`PredictorNet` on ``ops [Q, R]`` with metric ``values [Q]`` (failed ones dropped).

    ``target``: ``zscore`` regresses the standardised metric; ``rank`` regresses normal
    scores of the ranks (Gaussianised), which keeps the long low tail of NB201 (cells
    at 10%) from dominating the loss; its outputs then order cells but are not in
    metric units (``mean`` / ``std`` are 0 / 1).
    """
    check_int("iterations", iterations, lo=1)
    check_int("batch", batch, lo=1)
    check_range("lr", lr, lo=0.0, lo_open=True)
    ops, values = np.asarray(ops), np.asarray(values, np.float64)
    if values.shape != ops.shape[:1]:
        raise ConfigError(f"values must have shape ({len(ops)},), one per architecture, got {values.shape}")
    ok = np.isfinite(values)
    if ok.sum() < 2:
        raise ConfigError("the predictor needs at least two architectures with a finite metric")
    ops, values = ops[ok], values[ok]
    if target == "zscore":
        mean, std = float(values.mean()), float(values.std() or 1.0)
        y = jnp.asarray((values - mean) / std, jnp.float32)
    elif target == "rank":
        from scipy.special import ndtri  # scipy comes with jax
        r = np.argsort(np.argsort(values, kind="stable"), kind="stable")
        mean, std = 0.0, 1.0
        y = jnp.asarray(ndtri((r + 0.5) / len(r)), jnp.float32)
    else:
        raise UnknownName(f"unknown predictor target {target!r}; use 'zscore' or 'rank'")
    x0 = encoding.to_matrix(jnp.asarray(ops), space) * 2.0 - 1.0
    k_init, k_loop = jax.random.split(key)
    model = PredictorNet(space, rngs=nnx.Rngs(params=k_init))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(optax.cosine_decay_schedule(lr, iterations), 1e-4))

    def loss_fn(p, k):
        k_i, k_t, k_z = jax.random.split(k, 3)
        i = jax.random.randint(k_i, (batch,), 0, x0.shape[0])
        t = jax.random.uniform(k_t, (batch,), minval=eps, maxval=1.0)
        mu, s = sde.marginal(x0[i], t)
        xt = mu + s[:, None, None] * jax.random.normal(k_z, mu.shape)
        pred = nnx.merge(graphdef, p, rest)(xt, sde.noise_level(t))
        return jnp.mean((pred - y[i]) ** 2)

    @jax.jit
    def run(params, k):
        def step(carry, kk):
            p, o = carry
            loss, g = jax.value_and_grad(loss_fn)(p, kk)
            u, o = opt.update(g, o, p)
            return (optax.apply_updates(p, u), o), loss
        (params, _), losses = jax.lax.scan(step, (params, opt.init(params)), jax.random.split(k, iterations))
        return params, losses

    params, _ = run(params, k_loop)
    return Predictor(nnx.merge(graphdef, params, rest), mean, std)


@dataclasses.dataclass(frozen=True)
class GuidanceConfig:
    scale: float = 50.0        # w of the first round (the reference's 1e4 is for its own predictor's scale)
    decrement: float = 0.0     # w drops by this each round (the reference: 300 from 1e4)
    round_size: int = 256
    steps: int = 1000
    snr: float = 0.16
    max_rounds: int = 20

    def __post_init__(self):
        check_range("scale", self.scale, lo=0.0)
        check_range("decrement", self.decrement, lo=0.0)
        check_int("round_size", self.round_size, lo=1)
        check_int("steps", self.steps, lo=2)
        check_range("snr", self.snr, lo=0.0, lo_open=True)
        check_int("max_rounds", self.max_rounds, lo=1)


class GenerateInfo(NamedTuple):
    rounds: int
    sampled: int
    validity: float
    scales: tuple


def make_sampler(score_model, sde, space, predictor, config: GuidanceConfig):
    """A jitted ``sample(key, scale) -> binary matrices [round_size, V, F]`` (one compilation)."""
    v, f = encoding.shape(space)
    g_s, s_state = nnx.split(score_model)
    g_p, p_state = (None, None) if predictor is None else nnx.split(predictor.model)

    @jax.jit
    def sample(key, scale, s_state, p_state):
        net = nnx.merge(g_s, s_state)
        fn = lambda x, lvl: net(x, lvl)  # noqa: E731
        if predictor is not None:
            pred = nnx.merge(g_p, p_state)
            fn = guided(fn, lambda x, lvl: pred(x, lvl), scale)
        x = pc_sample(key, fn, sde, (config.round_size, v, f), config.steps, config.snr)
        return encoding.binarize(x)

    return lambda key, scale: sample(key, jnp.float32(scale), s_state, p_state)


def rank_by_predictor(predictor: Predictor, ops, space, sde) -> np.ndarray:
    """Predictor output for clean architectures at the SDE's smallest noise level (metric units for a
    ``zscore`` predictor, normal scores of the rank for a ``rank`` one): higher is better."""
    x = encoding.to_matrix(jnp.asarray(ops), space) * 2.0 - 1.0
    lvl = sde.noise_level(jnp.full((x.shape[0],), 1e-5))
    return np.asarray(predictor(x, lvl)) * predictor.std + predictor.mean


def generate(key, score_model, sde, space, n: int, predictor: Predictor | None = None,
             config: GuidanceConfig = GuidanceConfig(), verbose: bool = False):
    """Rounds of (guided) sampling until ``n`` unique valid architectures; returns
    ``(ops [m, R] best-predicted first, predicted [m] or None, GenerateInfo)`` with m >= n
    unless ``max_rounds`` ran out.

    Raises:
      GenerationError: a round produced no valid sample at all (an undertrained score network,
        or a guidance scale that throws samples off the data): stopping then saves the
        remaining rounds, which would fail the same way.
    """
    check_int("n", n, lo=1)
    sample = make_sampler(score_model, sde, space, predictor, config)
    seen: dict[int, np.ndarray] = {}
    total = valid_total = 0
    scale, scales, rounds = config.scale, [], 0
    while len(seen) < n and rounds < config.max_rounds:
        key, k = jax.random.split(key)
        b = sample(k, scale)
        ok = np.asarray(encoding.is_valid(b, space))
        ops = np.asarray(encoding.from_matrix(b, space))[ok]
        for o, r in zip(ops, np.asarray(space.rank(ops)) if len(ops) else []):
            seen.setdefault(int(r), o)
        total += len(ok)
        valid_total += int(ok.sum())
        scales.append(scale)
        rounds += 1
        if not ok.any():
            raise GenerationError(f"round {rounds}: 0 of {len(ok)} samples are valid architectures (validity 0%, "
                                  f"guidance scale {scale:g}); the score network needs more training")
        if verbose:
            print(f"jaxnag: round {rounds}: scale {scale:g}, {int(ok.sum())}/{len(ok)} valid, "
                  f"{len(seen)} unique so far", file=sys.stderr, flush=True)
        scale = max(scale - config.decrement, 0.0)
    ops = np.stack(list(seen.values())) if seen else np.zeros((0, space.num_slots), np.int32)
    if predictor is not None and len(ops):
        pred = rank_by_predictor(predictor, ops, space, sde)
        order = np.argsort(-pred, kind="stable")
        ops, pred = ops[order], pred[order]
    else:
        pred = None
    return ops, pred, GenerateInfo(rounds, total, valid_total / max(total, 1), tuple(scales))
