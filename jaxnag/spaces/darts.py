"""DARTS space (Liu et al. 2019; NAS-Bench-301): a normal and a reduction cell, each of 4 intermediate nodes
with two inputs among the earlier nodes and an op per input.

An encoding is 28 slots: the 14 edges of the normal cell, then the 14 of the reduction cell, in DARTS's supernet
order (node 2 from nodes 0, 1; node 3 from 0, 1, 2; node 4 from 0..3; node 5 from 0..4; nodes 0 and 1 are the
outputs of the previous two cells). Each edge is ``none`` or one of the 7 DARTS ops. Valid: exactly two edges
into every intermediate node (so about 10^19 valid encodings, one per genotype up to the order of a node's two
inputs). :meth:`~SearchSpace.random` draws uniformly among valid encodings; :meth:`~SearchSpace.from_one_hot`
decodes scores as DARTS derives a genotype from its supernet (per node the two inputs whose best op scores highest,
each with that op), so every generator's output is valid.

String format: the genotype as the DARTS papers print it,
``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])``
(a node's two inputs in ascending order). :func:`from_genotype` takes NB301 / NASLib's ``[2, 8, 2]`` arrays.

Examples:
  >>> import jax
  >>> from jaxnag import spaces
  >>> s = spaces.get("darts")
  >>> ops = s.random(jax.random.key(0), (3,))
  >>> s.is_valid(ops).tolist(), s.shape
  ([True, True, True], (28, 8))
  >>> s.from_string(s.to_string(ops[0])).tolist() == ops[0].tolist()
  True
  >>> from jaxnag.spaces.darts import DARTS_V2
  >>> s.to_string(s.from_string(DARTS_V2)) == DARTS_V2
  True
"""

from __future__ import annotations

import ast
import re

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import InvalidArchitecture
from ._space import SearchSpace

__all__ = ["CELL_EDGES", "DARTS_V2", "NONE", "OP_NAMES", "from_genotype", "genotype", "make"]

OP_NAMES = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
            "dil_conv_5x5")  # NB301's order; choice k + 1 of a slot (choice 0 is none)
CHOICES = ("none",) + OP_NAMES
NONE = 0
CELL_EDGES = tuple((src, node) for node in range(2, 6) for src in range(node))  # 14 (input, node) per cell
CELLS = ("normal", "reduce")
_E = len(CELL_EDGES)
_NODE_SLOTS = tuple(tuple(s for s, (_, n) in enumerate(CELL_EDGES) if n == node) for node in range(2, 6))
# The genotype DARTS (second order) found on CIFAR-10, as printed in its repository (genotypes.py)
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('max_pool_3x3', 0), ('skip_connect', 2), ('max_pool_3x3', 1), "
            "('skip_connect', 2)], reduce_concat=[2, 3, 4, 5])")


def genotype(ops) -> dict[str, list[tuple[str, int]]]:
    """One valid encoding ``[28]`` (or a genotype string) -> ``{"normal": [(op, input), ...8], "reduce": [...]}``,
    each node's two inputs in ascending order (host-side).

    Examples:
      >>> from jaxnag import spaces
      >>> genotype(spaces.get("darts").from_string(DARTS_V2))["reduce"][:2]
      [('max_pool_3x3', 0), ('max_pool_3x3', 1)]
    """
    from . import get
    space = get("darts")
    ops = space.from_string(ops) if isinstance(ops, str) else space.check(ops)
    if ops.shape != (2 * _E,):
        raise InvalidArchitecture(f"darts: one architecture of shape ({2 * _E},), got {ops.shape}")
    out = {}
    for c, cell in enumerate(CELLS):
        out[cell] = [(OP_NAMES[int(ops[c * _E + s]) - 1], CELL_EDGES[s][0]) for slots in _NODE_SLOTS for s in slots
                     if ops[c * _E + s] != NONE]
    return out


def _encode(cells: dict) -> np.ndarray:
    """``{"normal": [(op name, input) x 8], "reduce": ...}`` -> an encoding, with one clear line per mistake."""
    out = np.zeros(2 * _E, np.int32)
    for c, cell in enumerate(CELLS):
        pairs = list(cells[cell])
        if len(pairs) != 8:
            raise InvalidArchitecture(f"darts: the {cell} cell has 8 (op, input) pairs, two per node, got {len(pairs)}")
        for k, pair in enumerate(pairs):
            node = 2 + k // 2
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise InvalidArchitecture(f"darts: {cell} pair {k} must be (op, input), got {pair!r}")
            op, src = pair
            if op not in OP_NAMES:
                raise InvalidArchitecture(f"darts: unknown op {op!r} in the {cell} cell; ops are {', '.join(OP_NAMES)}")
            if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < node:
                raise InvalidArchitecture(f"darts: node {node} of the {cell} cell takes input {src!r}: its inputs are "
                                          f"the earlier nodes 0..{node - 1}")
            slot = c * _E + CELL_EDGES.index((int(src), node))
            if out[slot] != NONE:
                raise InvalidArchitecture(f"darts: node {node} of the {cell} cell takes input {src} twice")
            out[slot] = OP_NAMES.index(op) + 1
    return out


def from_genotype(array) -> np.ndarray:
    """NB301 / NASLib's genotype array ``[2, 8, 2]`` ([normal, reduce] x 8 x (input node, op index in
    :data:`OP_NAMES`)) -> an encoding ``[28]`` (int32); raises :class:`InvalidArchitecture` on a bad one.

    Examples:
      >>> import numpy as np
      >>> g = np.zeros((2, 8, 2), int); g[:, 1::2, 0] = 1  # every node: input 0 and input 1, max pooling
      >>> from_genotype(g)[:5].tolist()  # node 2 from 0 and 1, node 3 from 0 and 1 (not 2)
      [1, 1, 1, 1, 0]
    """
    a = np.asarray(array)
    if a.shape != (2, 8, 2) or not np.issubdtype(a.dtype, np.integer):
        raise InvalidArchitecture(f"darts: a genotype array is [2, 8, 2] integers, got {a.shape} {a.dtype}")
    if a[..., 1].min() < 0 or a[..., 1].max() >= len(OP_NAMES):
        raise InvalidArchitecture(f"darts: op indices lie in 0..{len(OP_NAMES) - 1}, got {sorted(set(a[..., 1].ravel().tolist()))}")
    return _encode({cell: [(OP_NAMES[int(op)], int(src)) for src, op in a[c]] for c, cell in enumerate(CELLS)})


def _to_string(ops: np.ndarray) -> str:
    g = genotype(ops)
    return (f"Genotype(normal={g['normal']!r}, normal_concat=[2, 3, 4, 5], reduce={g['reduce']!r}, "
            "reduce_concat=[2, 3, 4, 5])")


_PATTERN = re.compile(r"^Genotype\(normal=(\[.*?\]), normal_concat=\[2, 3, 4, 5\], "
                      r"reduce=(\[.*?\]), reduce_concat=\[2, 3, 4, 5\]\)$")


def _from_string(arch: str) -> np.ndarray:
    m = _PATTERN.match(" ".join(arch.split()).replace("range(2, 6)", "[2, 3, 4, 5]"))
    if m is None:
        raise InvalidArchitecture("darts: arch string must be a genotype as DARTS prints it, "
                                  "\"Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], "
                                  f"reduce=[...], reduce_concat=[2, 3, 4, 5])\", got {arch[:80]!r}")
    try:
        cells = {cell: ast.literal_eval(text) for cell, text in zip(CELLS, m.groups())}
    except (ValueError, SyntaxError) as e:
        raise InvalidArchitecture(f"darts: cannot read the genotype's lists ({e})") from None
    return _encode(cells)


# ----------------------------------------------------------------- jittable pieces
def _valid(ops):
    """bool [...]: exactly two edges into every intermediate node of both cells."""
    ok = jnp.ones(ops.shape[:-1], bool)
    for c in range(2):
        for slots in _NODE_SLOTS:
            ok = ok & (sum((ops[..., c * _E + s] != NONE).astype(jnp.int32) for s in slots) == 2)
    return ok


def _random(key, shape):
    """Uniform over valid encodings: per node two distinct inputs, each with one of the 7 ops."""
    k_in, k_op = jax.random.split(key)
    scores = jax.random.uniform(k_in, tuple(shape) + (2 * _E,))
    ops = jax.random.randint(k_op, tuple(shape) + (2 * _E,), 1, len(CHOICES))
    return jnp.where(_top2(scores), ops, NONE).astype(jnp.int32)


def _top2(edge_scores):
    """bool [..., 28]: per node of each cell, its two best-scored edges (ties to the earlier input)."""
    keep = jnp.zeros(edge_scores.shape, bool)
    for c in range(2):
        for slots in _NODE_SLOTS:
            idx = np.asarray(slots) + c * _E
            sc = edge_scores[..., idx]
            before = np.arange(len(idx))[None, :] < np.arange(len(idx))[:, None]  # [i, j]: j is an earlier input
            beats = (sc[..., None, :] > sc[..., :, None]) | \
                ((sc[..., None, :] == sc[..., :, None]) & jnp.broadcast_to(before, sc.shape + (len(idx),)))
            rank = jnp.sum(beats, axis=-1)  # how many inputs of the node beat input i
            keep = keep.at[..., idx].set(rank < 2)
    return keep


def _decode(scores):
    """Scores ``[..., 28, 8]`` (non-choices at -inf) -> a valid encoding: per node the two inputs whose best op
    scores highest, each with that op (DARTS's derivation of a genotype from its supernet)."""
    ops_only = scores[..., 1:]
    best = jnp.argmax(ops_only, axis=-1).astype(jnp.int32) + 1
    return jnp.where(_top2(jnp.max(ops_only, axis=-1)), best, NONE).astype(jnp.int32)


def make() -> SearchSpace:
    """The DARTS space (a new instance; ``jaxnag.spaces.get("darts")`` gives the registered one).

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.spaces import darts
      >>> s = darts.make()
      >>> s.name, s.shape, s.slot_names[0], s.slot_names[14], s.has_decoding, s is spaces.get("darts")
      ('darts', (28, 8), 'normal:0->2', 'reduce:0->2', True, False)
    """
    return SearchSpace(
        name="darts",
        slot_names=tuple(f"{cell}:{a}->{b}" for cell in CELLS for a, b in CELL_EDGES),
        choices=(CHOICES,) * (2 * _E),
        num_nodes=6,
        edges=None,
        description="DARTS / NAS-Bench-301: normal + reduction cell, 2 of the earlier nodes x 7 ops per node "
                    "(about 1e19 genotypes)",
        _to_string=_to_string,
        _from_string=_from_string,
        _extra_valid=_valid,
        _random=_random,
        _decode=_decode,
        remove=(NONE,) * (2 * _E),
        identity=(OP_NAMES.index("skip_connect") + 1,) * (2 * _E),
    )
