"""DiffusionNAG's score network: a graph transformer over the node-operation matrix (Flax NNX).

Input ``x [B, V, F]`` (V = 8 nodes, F = 7 node types for NB201, values in about
[-1, 1] plus noise) and ``sigma [B]``; output the score ``[B, V, F]`` itself (no
division by sigma). Architecture (the reference "CATE" network):

- op embedding ``Linear(F -> d) * sqrt(d)`` plus a fixed sinusoidal encoding of the
  node index (nodes are in topological order);
- sigma embedding ``sinusoid(d) -> Linear(4d) -> SiLU -> Linear(d)`` added to every node;
- ``layers`` pre-LayerNorm blocks with attention masked by the cell graph;
- each block's output LayerNormed and all of them concatenated (``[B, V, layers * d]``);
- a per-node MLP ``layers*d -> head -> head -> F`` with ELU (``head = 2*layers*d`` in the reference).

The reference size (:data:`REFERENCE`: 12 blocks, d 64, 8 heads, FFN 128) has about
4.0M parameters, 3.55M of them in the head. Dropout is functional: pass ``key`` to
apply it (training), omit it for a deterministic call.

Examples:
  >>> import jax.numpy as jnp
  >>> from flax import nnx
  >>> from jaxnag.nn.score_net import ScoreNet, SMALL, nb201_graph
  >>> net = nnx.eval_shape(lambda: ScoreNet(SMALL, nb201_graph(), rngs=nnx.Rngs(0)))  # shapes only
  >>> nnx.eval_shape(lambda m: m(jnp.zeros((2, 8, 7)), jnp.ones(2)), net).shape
  (2, 8, 7)
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .layers import Block, TimeEmbedding, sinusoidal

__all__ = ["NB201_NODE_TYPES", "NetConfig", "REFERENCE", "SMALL", "ScoreNet", "attention_mask", "count_params",
           "nb201_graph", "op_node_graph", "space_graph", "transitive_closure"]

# NB201 as a node-operation DAG: node 0 input, nodes 1-6 the edges in arch-string order
# (0->1, 0->2, 1->2, 0->3, 1->3, 2->3), node 7 output. Vocabulary of node types:
NB201_NODE_TYPES = ("input", "output", "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def op_node_graph(edges, output_node: int) -> np.ndarray:
    """Adjacency of a cell drawn with ops as nodes: node 0 input, node i+1 the op on edge i,
    node R+1 output; op node a feeds op node b when a's edge ends where b's starts."""
    r = len(edges)
    a = np.zeros((r + 2, r + 2), np.int8)
    for i, (src, dst) in enumerate(edges):
        if src == 0:
            a[0, i + 1] = 1
        if dst == output_node:
            a[i + 1, r + 1] = 1
        for j, (src2, _) in enumerate(edges):
            if src2 == dst:
                a[i + 1, j + 1] = 1
    return a


def space_graph(space) -> np.ndarray:
    """The op-node adjacency of ``space``'s node-operation matrix (``[R + 2, R + 2]``, node 0 input, node i + 1
    slot i, node R + 1 output): :func:`op_node_graph` of its edges, or, for a space without fixed edges (NB101,
    DARTS, a user's categorical space: which slot feeds which is not fixed), every slot fed by the input and
    feeding every other slot and the output, so that each slot attends to all of them.

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.nn.score_net import space_graph
      >>> space_graph(spaces.get("nb201")).shape, int(space_graph(spaces.get("nb201")).sum())  # 10 links
      ((8, 8), 10)
      >>> a = space_graph(spaces.get("nb101"))  # 26 slots: 21 adjacency bits and 5 node ops
      >>> a.shape, a[0, 1:].all(), a[1:, 0].any(), a[-1].any(), a[1, 1]
      ((28, 28), np.True_, np.False_, np.False_, np.int8(0))
    """
    if space.edges is not None:
        return op_node_graph(space.edges, max(dst for _, dst in space.edges))
    a = np.ones((space.num_slots + 2,) * 2, np.int8)
    a[:, 0] = 0  # nothing feeds the input
    a[-1] = 0  # the output feeds nothing
    np.fill_diagonal(a, 0)
    return a


def nb201_graph() -> np.ndarray:
    """The fixed 8 x 8 adjacency of NB201 cells as op nodes (A[i, j] = 1: i feeds j), rows in
    arch-string order: the same order as the rows of the node-operation matrix (the reference
    swapped rows 3 and 4 of X against its adjacency; jaxnag does not)."""
    from ..spaces.nb201 import EDGES
    return op_node_graph(EDGES, 3)


def transitive_closure(a: np.ndarray) -> np.ndarray:
    """Reachability matrix of a DAG (i reaches j by a path of length >= 1)."""
    r = a.astype(bool)
    for _ in range(len(a)):
        r = r | ((r.astype(np.int32) @ r.astype(np.int32)) > 0)
    return r.astype(np.int8)


def attention_mask(adjacency: np.ndarray, mode: str = "closure") -> np.ndarray:
    """bool ``[V, V]``: node i attends to its successors (``raw``) or to every node it reaches
    (``closure``), and always to itself (so no row is empty).

    The reference trained with the raw adjacency and sampled with the closure (a mask
    name typo); jaxnag uses one mask for both, chosen here.
    """
    if mode not in ("raw", "closure"):
        raise ValueError(f"mask mode must be 'raw' or 'closure', got {mode!r}")
    a = transitive_closure(adjacency) if mode == "closure" else adjacency
    return a.astype(bool) | np.eye(len(a), dtype=bool)


@dataclasses.dataclass(frozen=True)
class NetConfig:
    d: int = 64
    layers: int = 12
    heads: int = 8
    ffn: int = 128
    dropout: float = 0.1
    mask: str = "closure"
    features: int = 7
    head: int | None = None  # hidden width of the per-node MLP; default 2 * layers * d (the reference)

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)


REFERENCE = NetConfig()
SMALL = NetConfig(d=32, layers=3, heads=4, ffn=64, dropout=0.0, head=128)


class ScoreNet(nnx.Module):
    def __init__(self, config: NetConfig, adjacency: np.ndarray, *, rngs: nnx.Rngs):
        c = config
        self.config = c
        v = adjacency.shape[0]
        self.embed = nnx.Linear(c.features, c.d, rngs=rngs)
        self.sigma_embed = TimeEmbedding(c.d, 4 * c.d, c.d, rngs=rngs)
        self.blocks = nnx.List([Block(c.d, c.heads, c.ffn, c.dropout, rngs=rngs) for _ in range(c.layers)])
        self.out_norms = nnx.List([nnx.LayerNorm(c.d, rngs=rngs) for _ in range(c.layers)])
        width = c.layers * c.d
        hidden = c.head or 2 * width
        self.h1 = nnx.Linear(width, hidden, rngs=rngs)
        self.h2 = nnx.Linear(hidden, hidden, rngs=rngs)
        self.h3 = nnx.Linear(hidden, c.features, rngs=rngs)
        self.mask = nnx.Variable(jnp.asarray(attention_mask(adjacency, c.mask)))
        self.pos = nnx.Variable(sinusoidal(jnp.arange(v), c.d))

    def __call__(self, x: jax.Array, sigma: jax.Array, key: jax.Array | None = None) -> jax.Array:
        c = self.config
        h = self.embed(x) * math.sqrt(c.d) + self.pos[...][None]
        h = h + self.sigma_embed(sigma)[:, None, :]
        keys = [None] * c.layers if key is None else list(jax.random.split(key, c.layers))
        outs = []
        for blk, norm, k in zip(self.blocks, self.out_norms, keys):
            h = blk(h, self.mask[...], k)
            outs.append(norm(h))
        z = jnp.concatenate(outs, axis=-1)
        return self.h3(jax.nn.elu(self.h2(jax.nn.elu(self.h1(z)))))


def count_params(module: nnx.Module) -> int:
    """Number of trainable parameters."""
    return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(module, nnx.Param)))
