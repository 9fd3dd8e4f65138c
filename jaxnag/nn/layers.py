"""Building blocks shared by jaxnag's networks (Flax NNX).

Example:
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


def sinusoidal(x: jax.Array, dim: int, max_period: float = 10_000.0) -> jax.Array:
    """Sinusoidal features ``[..., dim]`` of a scalar input ``x [...]`` (time, sigma or position)."""
    half = dim // 2
    freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=jnp.float32) / half)
    x = jnp.asarray(x, jnp.float32)[..., None]
    ang = x * freqs.reshape((1,) * (x.ndim - 1) + (half,))
    return jnp.concatenate([jnp.sin(ang), jnp.cos(ang)], axis=-1)


class TimeEmbedding(nnx.Module):
    """sinusoid(dim) -> Linear(hidden) -> SiLU -> Linear(out)."""

    def __init__(self, dim: int, hidden: int, out: int, *, rngs: nnx.Rngs):
        self.dim = dim
        self.l1 = nnx.Linear(dim, hidden, rngs=rngs)
        self.l2 = nnx.Linear(hidden, out, rngs=rngs)

    def __call__(self, t: jax.Array) -> jax.Array:
        return self.l2(jax.nn.silu(self.l1(sinusoidal(t, self.dim))))


class Block(nnx.Module):
    """Pre-LayerNorm transformer block with masked self-attention.

    ``mask [N, N]`` (or ``[B, N, N]``): node i attends to node j where True. Masked
    logits get -1e9 (not -inf), so a fully masked row stays finite.
    """

    def __init__(self, d: int, heads: int, ffn: int, *, rngs: nnx.Rngs):
        self.ln1 = nnx.LayerNorm(d, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(heads, d, decode=False, keep_rngs=False, rngs=rngs,
                                           attention_fn=_masked_attention)
        self.ln2 = nnx.LayerNorm(d, rngs=rngs)
        self.ff1 = nnx.Linear(d, ffn, rngs=rngs)
        self.ff2 = nnx.Linear(ffn, d, rngs=rngs)

    def __call__(self, h: jax.Array, mask: jax.Array) -> jax.Array:
        m = jnp.broadcast_to(mask, h.shape[:-2] + mask.shape[-2:])[..., None, :, :]  # [B, 1, N, N]
        h = h + self.attn(self.ln1(h), mask=m)
        return h + self.ff2(jax.nn.gelu(self.ff1(self.ln2(h))))


def _masked_attention(query, key, value, mask=None, **kw):
    """Dot-product attention with -1e9 for masked logits (an all-masked row stays finite)."""
    depth = query.shape[-1]
    logits = jnp.einsum("...qhd,...khd->...hqk", query / jnp.sqrt(depth).astype(query.dtype), key)
    if mask is not None:
        logits = jnp.where(mask, logits, -1e9)
    weights = jax.nn.softmax(logits, axis=-1)
    return jnp.einsum("...hqk,...khd->...qhd", weights, value)
