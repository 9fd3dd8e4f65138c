"""Train the PG-NAG denoiser with optax; the whole loop is one ``lax.scan`` under ``jax.jit``.

The module is split with ``nnx.split`` and its state travels through plain
``jax.jit`` / ``lax.scan`` as a pytree (no ``nnx.jit`` in the loop).

Examples:
  >>> import jax, numpy as np
  >>> from jaxnag import spaces
  >>> from jaxnag.discrete import train
  >>> s = spaces.get("nb201")
  >>> data = np.array([[3, 3, 3, 1, 3, 3], [3, 3, 2, 1, 3, 3]])
  >>> model, losses = train.fit(jax.random.key(0), data, np.full((6, 5), 0.2), s,
  ...                           train.DenoiserTrainConfig(iterations=20))
  >>> losses.shape
  (20,)
  >>> train.generate(jax.random.key(1), model, np.full((6, 5), 0.2), 4).shape
  (4, 6)
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from flax import nnx

from ..errors import ConfigError, check_int, check_range, old_names
from ..nn.training import optimizer, scan_steps
from . import diffusion
from .denoiser import Denoiser


__all__ = ["DenoiserTrainConfig", "fit", "generate", "graphdef", "isomorphic_variants", "sample", "train_state"]


@dataclasses.dataclass(frozen=True)
class DenoiserTrainConfig:
    """Denoiser size and training hyperparameters.

    The default schedule (200 AdamW steps of 64, 20 warm-up) is what k = 20 training
    architectures need: on the NB201 CIFAR-10 -> CIFAR-100 transfer it samples the optimum
    in 10 of 10 seeds like 800 steps of 256 did, at 1/16 of the cost (docs/protocol.md). The
    default size (``d`` = 32, 2 heads, 2 layers) keeps the best-of-100 hit rate of the earlier
    ``d`` = 64, 4 heads in half the time (docs/pgnag_sizes.md).

    Examples:
      >>> from jaxnag import pgnag
      >>> cfg = pgnag.DenoiserTrainConfig(iterations=50).replace(d=64, heads=4)  # the size before docs/pgnag_sizes.md
      >>> cfg.iterations, cfg.d, cfg.steps, pgnag.Config(train=cfg).train.iterations  # PG-NAG's ``train``
      (50, 64, 50, 50)
      >>> try:
      ...     pgnag.DenoiserTrainConfig(d=30, heads=4)
      ... except ValueError as e:  # errors.ConfigError
      ...     print(e)
      d (30) must be a multiple of heads (4)
    """

    steps: int = 50          # diffusion steps T
    d: int = 32
    layers: int = 2
    heads: int = 2
    iterations: int = 200
    batch: int = 64
    lr: float = 1e-3
    warmup: int = 20
    ce_weight: float = 0.1
    augment: bool = True     # train on random isomorphic variants where the space defines them

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)

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


jax.tree_util.register_static(DenoiserTrainConfig)


def isomorphic_variants(ops, space, cap: int = 64) -> tuple[jax.Array, jax.Array]:
    """Encodings isomorphic to each row of ``ops [k, R]`` (jittable): ``(variants [k, cap, R], counts [k])``,
    the first ``counts[i]`` entries of row ``i`` being distinct members of its class (itself at least; only
    itself on a space without a canonical table).

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.discrete import train
      >>> s = spaces.get("nb201")
      >>> ops = np.array([[1, 0, 0, 3, 3, 3], [3, 3, 3, 1, 3, 3]])
      >>> variants, counts = jax.jit(lambda o: train.isomorphic_variants(o, s, cap=4))(ops)
      >>> variants.shape, counts.tolist()  # the first cell has one other encoding of the same network
      ((2, 4, 6), [2, 1])
      >>> variants[0, :2].tolist()  # on the path 0-1-3: skip then conv, or conv then skip
      [[1, 0, 0, 3, 3, 3], [3, 0, 0, 3, 1, 3]]
    """
    ops = jnp.asarray(ops, jnp.int32)
    if not space.has_canonical:
        return ops[:, None, :], jnp.ones(ops.shape[0], jnp.int32)
    ranks = space.rank(ops)
    canon = jnp.asarray(space.canonical_table())

    def one(r):
        same = canon == canon[r]
        members = jnp.nonzero(same, size=cap, fill_value=r)[0].astype(jnp.int32)
        return members, jnp.minimum(jnp.sum(same), cap).astype(jnp.int32)

    members, counts = jax.vmap(one)(ranks)
    return space.unrank(members), counts


def _build(key, space, config: DenoiserTrainConfig) -> Denoiser:
    return Denoiser(space, config.steps, config.d, config.layers, config.heads, rngs=nnx.Rngs(params=key))


def graphdef(space, config: DenoiserTrainConfig):
    """The static definition of the denoiser (``nnx.split`` of an abstract one): ``(graphdef, state)``
    with the state's shapes only.

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.discrete import train
      >>> s, cfg = spaces.get("nb201"), train.DenoiserTrainConfig(d=8, layers=1, heads=1)
      >>> graph, state = train.graphdef(s, cfg)
      >>> state["slot"].shape, state["out"]["kernel"].shape  # a d-vector per slot; logits over 5 choices
      ((6, 8), (8, 5))
      >>> graph == train.graphdef(s, cfg)[0]  # static: a jit keys its compilation on it
      True
    """
    return nnx.split(nnx.eval_shape(lambda: _build(jax.random.key(0), space, config)))


def train_state(key: jax.Array, data_ops: jax.Array, weights: jax.Array, prior: jax.Array, space,
                config: DenoiserTrainConfig = DenoiserTrainConfig()):
    """Train a fresh :class:`Denoiser` on the rows of ``data_ops [k, R]`` whose ``weights [k]`` are
    positive (drawn in proportion to them), with limit distribution ``prior [R, C]``. Pure and
    jittable (``vmap`` over keys, data and priors): returns ``(state, losses [iterations])``, the
    model being ``nnx.merge(graphdef(space, config)[0], state)``.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.discrete import train
      >>> s, cfg = spaces.get("nb201"), train.DenoiserTrainConfig(steps=4, d=8, layers=1, heads=1, iterations=3)
      >>> data, prior = np.array([[3, 3, 3, 1, 3, 3], [3, 3, 2, 1, 3, 3]]), np.full((6, 5), 0.2, np.float32)
      >>> run = lambda k: train.train_state(k, data, np.ones(2, np.float32), prior, s, cfg)
      >>> state, losses = jax.eval_shape(run, jax.random.key(0))  # shapes only, nothing trained
      >>> losses.shape, state["slot"].shape
      ((3,), (6, 8))
    """
    k_model, k_loop = jax.random.split(key)
    graph, params, rest = nnx.split(_build(k_model, space, config), nnx.Param, ...)  # trainable params, masks
    opt = optimizer(config.lr, config.iterations, config.warmup)
    variants, counts = isomorphic_variants(data_ops, space) if config.augment else \
        (jnp.asarray(data_ops, jnp.int32)[:, None, :], jnp.ones(data_ops.shape[0], jnp.int32))
    abar = diffusion.cosine_schedule(config.steps)
    prior = jnp.asarray(prior, jnp.float32)
    logw = jnp.log(jnp.maximum(jnp.asarray(weights, jnp.float32), 0.0))

    def loss_fn(p, key):
        k_i, k_v, k_t, k_q = jax.random.split(key, 4)
        i = jax.random.categorical(k_i, logw, shape=(config.batch,))
        j = jnp.floor(jax.random.uniform(k_v, (config.batch,)) * counts[i].astype(jnp.float32)).astype(jnp.int32)
        x0 = variants[i, j]
        t = jax.random.randint(k_t, (config.batch,), 1, config.steps + 1)
        x_t = diffusion.q_sample(k_q, x0, abar[t], prior)
        logits = nnx.merge(graph, p, rest)(x_t, t)
        return diffusion.loss(logits, x0, x_t, t, abar, prior, config.ce_weight)

    params, _, losses = scan_steps(loss_fn, opt, params, opt.init(params), jax.random.split(k_loop, config.iterations))
    return nnx.state(nnx.merge(graph, params, rest)), losses


def sample(key: jax.Array, state, prior: jax.Array, n: int, space, config: DenoiserTrainConfig) -> jax.Array:
    """``n`` architectures (int32 ``[n, R]``) by ancestral sampling from a trained ``state``; jittable.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.discrete import train
      >>> s, cfg = spaces.get("nb201"), train.DenoiserTrainConfig(steps=4, d=8, layers=1, heads=1)
      >>> _, state = train.graphdef(s, cfg)  # abstract: train_state gives a trained one
      >>> prior = np.full((6, 5), 0.2, np.float32)
      >>> jax.eval_shape(lambda k, st: train.sample(k, st, prior, 5, s, cfg), jax.random.key(0), state)
      ShapeDtypeStruct(shape=(5, 6), dtype=int32)
    """
    model = nnx.merge(graphdef(space, config)[0], state)
    return diffusion.sample(key, model, jnp.asarray(prior, jnp.float32), config.steps, n,
                            space.from_one_hot if space.has_decoding else None)


_train_state = jax.jit(train_state, static_argnames=("space", "config"))
_sample = jax.jit(sample, static_argnames=("n", "space", "config"))


def fit(key: jax.Array, data_ops, prior, space, config: DenoiserTrainConfig = DenoiserTrainConfig()):
    """Train a :class:`Denoiser` on ``data_ops [k, R]`` (host wrapper of :func:`train_state`, compiled
    once per space, config and data shape). Returns ``(model, losses [iterations])``.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.discrete import train
      >>> s, cfg = spaces.get("nb201"), train.DenoiserTrainConfig(steps=4, d=8, layers=1, heads=1, iterations=3)
      >>> data, prior = np.array([[3, 3, 3, 1, 3, 3], [3, 3, 2, 1, 3, 3]]), np.full((6, 5), 0.2)
      >>> model, losses = jax.eval_shape(lambda k: train.fit(k, data, prior, s, cfg), jax.random.key(0))
      >>> type(model).__name__, losses.shape  # shapes only: a real call trains for 3 steps
      ('Denoiser', (3,))
    """
    data_ops = space.check(data_ops)
    if data_ops.ndim != 2 or len(data_ops) == 0:
        raise ConfigError("fit needs a non-empty [k, R] array of architectures")
    state, losses = _train_state(key, jnp.asarray(data_ops), jnp.ones(len(data_ops)), jnp.asarray(prior, jnp.float32),
                                 space, config)
    return nnx.merge(graphdef(space, config)[0], state), losses


@functools.partial(jax.jit, static_argnames=("n", "graph"))
def _sample_graph(key, state, prior, n, graph):
    model = nnx.merge(graph, state)
    return diffusion.sample(key, model, prior, model.steps, n)


def generate(key: jax.Array, model: Denoiser, prior, n: int) -> jax.Array:
    """Sample ``n`` architectures (int32 ``[n, R]``) from a trained ``model`` (compiled once per network).

    Examples:
      >>> import jax, numpy as np
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.discrete import train
      >>> from jaxnag.discrete.denoiser import Denoiser
      >>> model = nnx.eval_shape(lambda: Denoiser(spaces.get("nb201"), steps=4, d=8, layers=1, heads=1,
      ...                                         rngs=nnx.Rngs(0)))  # shapes only (fit gives a trained one)
      >>> prior = np.full((6, 5), 0.2, np.float32)
      >>> jax.eval_shape(lambda k, m: train.generate(k, m, prior, 3), jax.random.key(1), model)
      ShapeDtypeStruct(shape=(3, 6), dtype=int32)
    """
    graph, state = nnx.split(model)
    return _sample_graph(key, state, jnp.asarray(prior, jnp.float32), n, graph)


__getattr__ = old_names("jaxnag.discrete.train", {"TrainConfig": "DenoiserTrainConfig"}, globals())
