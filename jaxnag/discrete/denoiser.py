"""PG-NAG's denoiser: a small graph transformer over the cell's slots (Flax NNX).

Input ``x_t`` int ``[B, R]`` and step ``t`` int ``[B]``; output logits of ``x_0``
``[B, R, C]``. Each slot token is slot embedding + embedding of its current choice +
time embedding; attention is masked by the slot graph (two slots are adjacent when
their edges share a node; every slot sees itself). Non-choice columns get -1e9.

Examples:
  >>> import jax.numpy as jnp
  >>> from flax import nnx
  >>> from jaxnag import spaces
  >>> from jaxnag.discrete.denoiser import Denoiser
  >>> m = Denoiser(spaces.get("nb201"), steps=50, rngs=nnx.Rngs(0))
  >>> nnx.jit(lambda m, x, t: m(x, t))(m, jnp.zeros((3, 6), jnp.int32), jnp.ones(3, jnp.int32)).shape
  (3, 6, 5)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..nn.layers import Block, TimeEmbedding

__all__ = ["Denoiser", "slot_graph"]


def slot_graph(space) -> np.ndarray:
    """bool ``[R, R]``: slots whose edges share a node (all True for spaces without fixed edges).

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.discrete.denoiser import slot_graph
      >>> g = slot_graph(spaces.get("nb201"))  # edges 0-1, 0-2, 1-2, 0-3, 1-3, 2-3
      >>> g.shape, g[0].tolist()  # 0-1 meets every edge but 2-3
      ((6, 6), [True, True, True, True, True, False])
      >>> bool(slot_graph(spaces.get("nb101")).all())  # no fixed edges
      True
    """
    r = space.num_slots
    if space.edges is None:
        return np.ones((r, r), bool)
    e = np.asarray(space.edges)
    share = (e[:, None, 0] == e[None, :, 0]) | (e[:, None, 0] == e[None, :, 1]) | \
            (e[:, None, 1] == e[None, :, 0]) | (e[:, None, 1] == e[None, :, 1])
    return share | np.eye(r, dtype=bool)


class Denoiser(nnx.Module):
    def __init__(self, space, steps: int, d: int = 64, layers: int = 2, heads: int = 4, *, rngs: nnx.Rngs):
        r, c = space.shape
        self.steps = steps
        self.slot = nnx.Param(jax.random.normal(rngs.params(), (r, d)) * 0.02)
        self.choice = nnx.Embed(c, d, rngs=rngs)
        self.time = TimeEmbedding(d, 4 * d, d, rngs=rngs)
        self.blocks = nnx.List([Block(d, heads, 2 * d, rngs=rngs) for _ in range(layers)])
        self.ln = nnx.LayerNorm(d, rngs=rngs)
        self.out = nnx.Linear(d, c, rngs=rngs)
        self.mask = nnx.Variable(jnp.asarray(slot_graph(space)))
        self.choice_mask = nnx.Variable(jnp.asarray(space.choice_mask))

    def __call__(self, x_t: jax.Array, t: jax.Array) -> jax.Array:
        h = self.choice(x_t) + self.slot[...][None] + self.time(t.astype(jnp.float32) / self.steps)[:, None, :]
        for blk in self.blocks:
            h = blk(h, self.mask[...])
        logits = self.out(self.ln(h))
        return jnp.where(jnp.broadcast_to(self.choice_mask[...], logits.shape), logits, -1e9)
