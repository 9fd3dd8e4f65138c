"""Train the PG-NAG denoiser with optax; the whole loop is one ``lax.scan`` under ``jax.jit``.

The module is split with ``nnx.split`` and its state travels through plain
``jax.jit`` / ``lax.scan`` as a pytree (no ``nnx.jit`` in the loop).

Example:
  >>> import jax, numpy as np
  >>> from jaxnag import spaces
  >>> from jaxnag.discrete import train
  >>> s = spaces.get("nb201")
  >>> data = np.array([[3, 3, 3, 1, 3, 3], [3, 3, 2, 1, 3, 3]])
  >>> model, losses = train.fit(jax.random.key(0), data, np.full((6, 5), 0.2), s,
  ...                           train.TrainConfig(iterations=20))
  >>> losses.shape
  (20,)
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from ..errors import ConfigError, check_int, check_range
from . import diffusion
from .denoiser import Denoiser


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Denoiser size and training hyperparameters."""

    steps: int = 50          # diffusion steps T
    d: int = 64
    layers: int = 2
    heads: int = 4
    iterations: int = 1500
    batch: int = 256
    lr: float = 1e-3
    warmup: int = 100
    ce_weight: float = 0.1
    augment: bool = True     # train on random isomorphic variants where the space defines them

    def __post_init__(self):
        check_int("steps", self.steps, lo=1)
        check_int("d", self.d, lo=1)
        check_int("layers", self.layers, lo=1)
        check_int("heads", self.heads, lo=1)
        if self.d % self.heads:
            raise ConfigError(f"d ({self.d}) must be a multiple of heads ({self.heads})")
        check_int("iterations", self.iterations, lo=1)
        check_int("batch", self.batch, lo=1)
        check_range("lr", self.lr, lo=0.0, lo_open=True)
        check_int("warmup", self.warmup, lo=0)
        check_range("ce_weight", self.ce_weight, lo=0.0)


def isomorphic_variants(ops: np.ndarray, space, cap: int = 64) -> np.ndarray:
    """int32 ``[k, cap]`` ranks of encodings isomorphic to each row (padded by repeating itself)."""
    ranks = np.asarray(space.rank(ops))
    if not space.has_canonical:
        return ranks[:, None].astype(np.int32)
    canon = space.canonical_table()
    out = np.empty((len(ops), cap), np.int32)
    for i, r in enumerate(ranks):
        members = np.flatnonzero(canon == canon[r])[:cap]
        out[i] = np.resize(members, cap)
    return out


def fit(key: jax.Array, data_ops: np.ndarray, prior: np.ndarray, space, config: TrainConfig = TrainConfig()):
    """Train a :class:`Denoiser` on ``data_ops [k, R]`` with limit distribution ``prior [R, C]``.

    Returns ``(model, losses [iterations])``.
    """
    data_ops = space.check(data_ops)
    if data_ops.ndim != 2 or len(data_ops) == 0:
        raise ConfigError("fit needs a non-empty [k, R] array of architectures")
    k_model, k_loop = jax.random.split(key)
    model = Denoiser(space, config.steps, config.d, config.layers, config.heads,
                     rngs=nnx.Rngs(params=k_model))
    graphdef, state, rest = nnx.split(model, nnx.Param, ...)  # trainable params, constant masks
    sched = optax.warmup_cosine_decay_schedule(0.0, config.lr, config.warmup, max(config.iterations, config.warmup + 1))
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(sched, weight_decay=1e-4))
    opt_state = opt.init(state)
    variants = jnp.asarray(isomorphic_variants(data_ops, space) if config.augment
                           else np.asarray(space.rank(data_ops))[:, None])
    abar = diffusion.cosine_schedule(config.steps)
    prior_j = jnp.asarray(prior, jnp.float32)

    def loss_fn(st, key):
        k_i, k_v, k_t, k_q = jax.random.split(key, 4)
        i = jax.random.randint(k_i, (config.batch,), 0, variants.shape[0])
        j = jax.random.randint(k_v, (config.batch,), 0, variants.shape[1])
        x0 = space.unrank(variants[i, j])
        t = jax.random.randint(k_t, (config.batch,), 1, config.steps + 1)
        x_t = diffusion.q_sample(k_q, x0, abar[t], prior_j)
        logits = nnx.merge(graphdef, st, rest)(x_t, t)
        return diffusion.loss(logits, x0, x_t, t, abar, prior_j, config.ce_weight)

    @jax.jit
    def run(state, opt_state, key):
        def step(carry, k):
            st, os_ = carry
            loss, grads = jax.value_and_grad(loss_fn)(st, k)
            updates, os_ = opt.update(grads, os_, st)
            return (optax.apply_updates(st, updates), os_), loss
        (state, opt_state), losses = jax.lax.scan(step, (state, opt_state), jax.random.split(key, config.iterations))
        return state, losses

    state, losses = run(state, opt_state, k_loop)
    return nnx.merge(graphdef, state, rest), losses


def generate(key: jax.Array, model: Denoiser, prior: np.ndarray, n: int) -> jax.Array:
    """Sample ``n`` architectures (int32 ``[n, R]``) by ancestral sampling from the prior."""
    graphdef, state = nnx.split(model)
    steps = model.steps

    @jax.jit
    def go(state, key):
        m = nnx.merge(graphdef, state)
        return diffusion.sample(key, m, jnp.asarray(prior, jnp.float32), steps, n)

    return go(state, key)
