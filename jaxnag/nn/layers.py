"""Building blocks shared by jaxnag's networks (Flax NNX).

Examples:
  >>> import jax.numpy as jnp
  >>> from flax import nnx
  >>> from jaxnag.nn.layers import Block
  >>> blk = Block(32, 4, 64, rngs=nnx.Rngs(0))
  >>> blk(jnp.ones((2, 6, 32)), jnp.ones((6, 6), bool)).shape
  (2, 6, 32)
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["Block", "TimeEmbedding", "sinusoidal"]


def sinusoidal(x: jax.Array, dim: int, max_period: float = 10_000.0) -> jax.Array:
    """Sinusoidal features ``[..., dim]`` of a scalar input ``x [...]`` (time, sigma or position): the sines of
    ``dim // 2`` frequencies, then their cosines.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.nn.layers import sinusoidal
      >>> e = sinusoidal(jnp.array([0.0, 1.0]), 8)
      >>> e.shape, e[0].tolist()  # at 0: every sine 0, every cosine 1
      ((2, 8), [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
      >>> round(float(e[1, 0]), 4)  # the first frequency is 1: sin(1)
      0.8415
    """
    half = dim // 2
    freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=jnp.float32) / half)
    x = jnp.asarray(x, jnp.float32)[..., None]
    ang = x * freqs.reshape((1,) * (x.ndim - 1) + (half,))
    return jnp.concatenate([jnp.sin(ang), jnp.cos(ang)], axis=-1)


class TimeEmbedding(nnx.Module):
    """sinusoid(dim) -> Linear(hidden) -> SiLU -> Linear(out): times ``t [...]`` -> float32 ``[..., out]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag import nn
      >>> emb = nnx.eval_shape(lambda: nn.TimeEmbedding(8, 16, 4, rngs=nnx.Rngs(0)))  # shapes only
      >>> emb.l1.kernel.shape, emb.l2.kernel.shape
      ((8, 16), (16, 4))
      >>> jax.eval_shape(lambda t: nn.TimeEmbedding(8, 16, 4, rngs=nnx.Rngs(0))(t), jnp.zeros(3)).shape
      (3, 4)
    """

    def __init__(self, dim: int, hidden: int, out: int, *, rngs: nnx.Rngs):
        self.dim = dim
        self.l1 = nnx.Linear(dim, hidden, rngs=rngs)
        self.l2 = nnx.Linear(hidden, out, rngs=rngs)

    def __call__(self, t: jax.Array) -> jax.Array:
        return self.l2(jax.nn.silu(self.l1(sinusoidal(t, self.dim))))


class Block(nnx.Module):
    """Pre-LayerNorm transformer block with masked multi-head self-attention and a GELU MLP: the one
    transformer block of jaxnag (PG-NAG's denoiser, DiffusionNAG's score network and predictor).

    ``mask [N, N]`` (or ``[B, N, N]``): node i attends to node j where True. Masked logits get
    -1e9 (not -inf), so a fully masked row stays finite. Dropout (rate ``dropout``) applies to
    the attention and MLP outputs when a ``key`` is given. ``h [B, N, d]`` -> ``[B, N, d]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag import nn
      >>> block = lambda: nn.Block(8, 2, 16, rngs=nnx.Rngs(0))
      >>> h, mask = jnp.ones((2, 5, 8)), jnp.ones((2, 5, 5), bool)  # a mask per batch member
      >>> jax.eval_shape(lambda h, m: block()(h, m), h, mask).shape  # shapes only
      (2, 5, 8)
      >>> try:
      ...     nn.Block(8, 3, 16, rngs=nnx.Rngs(0))
      ... except ValueError as e:
      ...     print(e)
      d (8) must be a multiple of heads (3)
    """

    def __init__(self, d: int, heads: int, ffn: int, dropout: float = 0.0, *, rngs: nnx.Rngs):
        if d % heads:
            raise ValueError(f"d ({d}) must be a multiple of heads ({heads})")
        self.ln1 = nnx.LayerNorm(d, rngs=rngs)
        self.q = nnx.Linear(d, d, rngs=rngs)
        self.k = nnx.Linear(d, d, rngs=rngs)
        self.v = nnx.Linear(d, d, rngs=rngs)
        self.o = nnx.Linear(d, d, rngs=rngs)
        self.ln2 = nnx.LayerNorm(d, rngs=rngs)
        self.f1 = nnx.Linear(d, ffn, rngs=rngs)
        self.f2 = nnx.Linear(ffn, d, rngs=rngs)
        self.heads = heads
        self.rate = dropout

    def _drop(self, h, key):
        if key is None or self.rate == 0.0:
            return h
        keep = jax.random.bernoulli(key, 1.0 - self.rate, h.shape)
        return jnp.where(keep, h / (1.0 - self.rate), 0.0)

    def __call__(self, h: jax.Array, mask: jax.Array, key: jax.Array | None = None) -> jax.Array:
        b, n, d = h.shape
        k1, k2 = (None, None) if key is None else jax.random.split(key)
        x = self.ln1(h)
        split = lambda t: t.reshape(b, n, self.heads, d // self.heads)  # noqa: E731
        q, k, val = split(self.q(x)), split(self.k(x)), split(self.v(x))
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d // self.heads)
        m = mask if mask.ndim == 2 else mask[:, None]
        logits = jnp.where(jnp.broadcast_to(m, logits.shape), logits, -1e9)
        att = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(logits, axis=-1), val).reshape(b, n, d)
        h = h + self._drop(self.o(att), k1)
        return h + self._drop(self.f2(jax.nn.gelu(self.f1(self.ln2(h)))), k2)

