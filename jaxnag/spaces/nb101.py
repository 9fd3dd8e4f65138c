"""NAS-Bench-101 space (Ying et al. 2019): a cell of up to 7 nodes, an upper-triangular adjacency and an op per
intermediate node.

An encoding is 26 slots: the 21 entries ``i -> j`` (``i < j``) of the 7 x 7 adjacency in row-major order
(``none`` or ``edge``), then the ops of nodes 1..5 (``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``).
Node 0 is the input, node 6 the output. A cell is valid when the output is reachable from the input and,
after pruning the nodes on no input-to-output path (as NB101's ``ModelSpec`` does), it has at most 9 edges.
The space has 2^21 * 3^5 (about 5 * 10^8) encodings: it is sampled by drawing, never listed. NB101 identifies
isomorphic cells by :func:`spec_hash`; the query archive counts encodings, so two isomorphic encodings are two
queries (prune with :func:`canonical` first to merge the encodings that differ only in pruned nodes).

String format (jaxnag's: NB101 has none): the 7 adjacency rows, then the 5 ops, joined by ``|``:
``"0110001|0001000|...|conv3x3-bn-relu|maxpool3x3|..."``. :func:`from_spec` takes NB101's ``(matrix, ops)`` of
2 to 7 nodes.

Examples:
  >>> import numpy as np
  >>> from jaxnag import spaces
  >>> from jaxnag.spaces import nb101
  >>> s = spaces.get("nb101")
  >>> m = np.zeros((7, 7), int); m[0, 1] = m[1, 2] = m[2, 6] = m[0, 6] = 1
  >>> ops = nb101.from_spec(m, ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"])
  >>> s.is_valid(ops).item(), nb101.spec(ops)[0].shape  # nodes 3-5 lie on no path: pruned
  (True, (4, 4))
  >>> nb101.spec_hash(ops) == nb101.spec_hash(nb101.canonical(ops))
  True
"""

from __future__ import annotations

import hashlib

import jax.numpy as jnp
import numpy as np

from ..errors import InvalidArchitecture
from ._space import SearchSpace

__all__ = ["EDGES", "MAX_EDGES", "NODES", "OP_NAMES", "canonical", "from_spec", "make", "prune", "spec", "spec_hash"]

NODES = 7
MAX_EDGES = 9
OP_NAMES = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
EDGES = tuple((i, j) for i in range(NODES) for j in range(i + 1, NODES))  # the 21 adjacency slots
_NUM_EDGES = len(EDGES)
_SLOT = {e: s for s, e in enumerate(EDGES)}


def _matrix(ops: np.ndarray) -> np.ndarray:
    m = np.zeros((NODES, NODES), np.int8)
    for s, (i, j) in enumerate(EDGES):
        m[i, j] = ops[s]
    return m


def _live(matrix) -> np.ndarray:
    """bool [V]: the nodes on a path from the input (node 0) to the output (the last node)."""
    v = len(matrix)
    fwd, bwd = np.zeros(v, bool), np.zeros(v, bool)
    fwd[0], bwd[v - 1] = True, True
    for j in range(1, v):
        fwd[j] = bool(np.any(fwd[:j] & (matrix[:j, j] != 0)))
    for i in range(v - 2, -1, -1):
        bwd[i] = bool(np.any(bwd[i + 1:] & (matrix[i, i + 1:] != 0)))
    return fwd & bwd


def prune(matrix, ops):
    """NB101's pruning: drop the nodes on no input-to-output path; ``(matrix [V', V'], ops [V'])`` as given
    (op names or ints), or ``(None, None)`` where the output is not reachable from the input.

    Examples:
      >>> import numpy as np
      >>> m = np.zeros((4, 4), int); m[0, 1] = m[1, 3] = m[0, 2] = 1  # node 2 leads nowhere
      >>> matrix, ops = prune(m, ["input", "a", "b", "output"])
      >>> matrix.tolist(), ops
      ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ['input', 'a', 'output'])
    """
    matrix = np.asarray(matrix)
    keep = _live(matrix)
    if not keep[-1]:
        return None, None
    idx = np.flatnonzero(keep)
    return matrix[np.ix_(idx, idx)].astype(np.int8), [ops[i] for i in idx]


def spec(ops) -> tuple[np.ndarray, list[str]]:
    """One encoding ``[26]`` (or its arch string) -> NB101's pruned ``(matrix [V, V] int8, ops [V])``, op names with
    ``input`` and ``output`` at the ends, as ``nasbench.api.ModelSpec`` holds them after pruning.

    Examples:
      >>> import numpy as np
      >>> matrix, ops = spec(from_spec(np.eye(3, k=1, dtype=int), ["input", "maxpool3x3", "output"]))
      >>> matrix.shape, ops
      ((3, 3), ['input', 'maxpool3x3', 'output'])
    """
    ops = _checked(ops)
    return prune(_matrix(ops), ["input"] + [OP_NAMES[int(o)] for o in ops[_NUM_EDGES:]] + ["output"])


def _checked(ops) -> np.ndarray:
    """One architecture: an encoding ``[26]`` or an arch string, checked by the space."""
    from . import get
    space = get("nb101")
    arr = space.from_string(ops) if isinstance(ops, str) else space.check(ops)
    if arr.shape != (len(EDGES) + NODES - 2,):
        raise InvalidArchitecture(f"nb101: one architecture of shape ({len(EDGES) + NODES - 2},), got {arr.shape}")
    return arr


def spec_hash(ops) -> str:
    """NB101's identifier of an encoding's cell (``ModelSpec.hash_spec``: isomorphic cells share it); md5 hex.

    Examples:
      >>> import numpy as np
      >>> from jaxnag.spaces import nb101
      >>> chain = np.eye(7, k=1, dtype=int)  # input -> 5 convolutions -> output
      >>> nb101.spec_hash(nb101.from_spec(chain, ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"]))
      'b3bc0991ac661443a583796ce582f11f'
    """
    matrix, names = spec(ops)
    labels = [-1] + [OP_NAMES.index(n) for n in names[1:-1]] + [-2]
    v = len(matrix)
    ins, outs = matrix.sum(axis=0).tolist(), matrix.sum(axis=1).tolist()
    hashes = [hashlib.md5(str(h).encode("utf-8")).hexdigest() for h in zip(outs, ins, labels)]
    for _ in range(v):
        hashes = [hashlib.md5(("".join(sorted(hashes[w] for w in range(v) if matrix[w, u])) + "|" +
                               "".join(sorted(hashes[w] for w in range(v) if matrix[u, w])) + "|" +
                               hashes[u]).encode("utf-8")).hexdigest() for u in range(v)]
    return hashlib.md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


def from_spec(matrix, ops) -> np.ndarray:
    """NB101's ``(matrix [V, V], ops [V])`` with ``2 <= V <= 7`` -> an encoding ``[26]`` (int32). Ops are names
    (``input``, ``conv3x3-bn-relu``, ..., ``output``) or NASLib's ints (``0 input, 1 output, 2 maxpool3x3,
    3 conv1x1, 4 conv3x3``). A smaller cell keeps its nodes in order and its output at node 6.

    Raises:
      InvalidArchitecture: a matrix that is not square 0/1 upper-triangular (a cycle or a self-loop), an unknown
        op, input/output not at the ends, the output not reachable from the input, or more than 9 edges after
        pruning; one line each.

    Examples:
      >>> import numpy as np
      >>> ops = from_spec(np.eye(3, k=1, dtype=int), [0, 4, 1])  # NASLib's ints: input, conv3x3, output
      >>> ops[:6].tolist(), ops[21:].tolist()  # edges 0->1, then node 1's op; the output sits at node 6
      ([1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0])
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or not 2 <= m.shape[0] <= NODES:
        raise InvalidArchitecture(f"nb101: the adjacency is a square matrix of 2 to {NODES} nodes, got shape {m.shape}")
    v = m.shape[0]
    if not np.isin(m, (0, 1)).all():
        raise InvalidArchitecture(f"nb101: adjacency entries are 0 or 1, got {sorted(set(np.unique(m).tolist()))}")
    if np.tril(m).any():
        i, j = np.argwhere(np.tril(m))[0]
        raise InvalidArchitecture(f"nb101: edge {i} -> {j} goes backwards (a cycle or self-loop): the adjacency must "
                                  "be strictly upper-triangular")
    names = _op_names(ops, v)
    pruned, _ = prune(m, names)
    if pruned is None:
        raise InvalidArchitecture("nb101: the output is not reachable from the input")
    if int(pruned.sum()) > MAX_EDGES:
        raise InvalidArchitecture(f"nb101: {int(pruned.sum())} edges after pruning, NB101 allows at most {MAX_EDGES}")
    pos = list(range(v - 1)) + [NODES - 1]  # where each given node sits in the 7-node encoding
    out = np.zeros(len(EDGES) + NODES - 2, np.int32)
    for i, j in zip(*np.nonzero(m)):
        out[_SLOT[(pos[i], pos[j])]] = 1
    for node, name in enumerate(names[1:-1], start=1):
        out[_NUM_EDGES + node - 1] = OP_NAMES.index(name)
    return out


_NASLIB_OPS = {0: "input", 1: "output", 2: "maxpool3x3", 3: "conv1x1-bn-relu", 4: "conv3x3-bn-relu"}


def _op_names(ops, v: int) -> list[str]:
    ops = list(ops)
    if len(ops) != v:
        raise InvalidArchitecture(f"nb101: {v} nodes need {v} ops (input, ..., output), got {len(ops)}")
    names = [_NASLIB_OPS.get(int(o), f"<{o}>") if isinstance(o, (int, np.integer)) else str(o) for o in ops]
    if names[0] != "input" or names[-1] != "output":
        raise InvalidArchitecture(f"nb101: ops must start with 'input' and end with 'output', got {names}")
    for n in names[1:-1]:
        if n not in OP_NAMES:
            raise InvalidArchitecture(f"nb101: unknown op {n!r}; ops are {', '.join(OP_NAMES)}")
    return names


def canonical(ops) -> np.ndarray:
    """The encoding with its pruned nodes cleared (no edges, op 0), so that encodings of one pruned cell that
    differ only in dead nodes become equal; ``[26]`` int32 (host-side).

    Examples:
      >>> import numpy as np
      >>> m = np.zeros((7, 7), int); m[0, 6] = m[0, 3] = 1  # node 3 leads nowhere
      >>> a = from_spec(m, ["input"] + ["maxpool3x3"] * 5 + ["output"])
      >>> int(a.sum()), int(canonical(a).sum())  # the dead edge 0->3 and the five ops (2 each) cleared
      (12, 1)
    """
    ops = _checked(ops).copy()
    keep = _live(_matrix(ops))
    for s, (i, j) in enumerate(EDGES):
        if not (keep[i] and keep[j]):
            ops[s] = 0
    ops[_NUM_EDGES:][~keep[1:-1]] = 0
    return ops


# ------------------------------------------------------------------ jittable validity
def _valid(ops):
    """bool [...]: output reachable from the input and at most 9 edges among the live nodes (jittable)."""
    on = {edge: ops[..., s] == 1 for s, edge in enumerate(EDGES)}
    batch = ops.shape[:-1]
    fwd = [jnp.ones(batch, bool)]
    for j in range(1, NODES):
        fwd.append(jnp.any(jnp.stack([fwd[i] & on[(i, j)] for i in range(j)]), axis=0))
    bwd = [jnp.zeros(batch, bool)] * (NODES - 1) + [jnp.ones(batch, bool)]
    for i in range(NODES - 2, -1, -1):
        bwd[i] = jnp.any(jnp.stack([bwd[j] & on[(i, j)] for j in range(i + 1, NODES)]), axis=0)
    live = [f & b for f, b in zip(fwd, bwd)]
    edges = sum((on[(i, j)] & live[i] & live[j]).astype(jnp.int32) for i, j in EDGES)
    return fwd[-1] & (edges <= MAX_EDGES)


def _to_string(ops: np.ndarray) -> str:
    m = _matrix(ops)
    return "|".join(["".join(str(int(x)) for x in row) for row in m] + [OP_NAMES[int(o)] for o in ops[_NUM_EDGES:]])


def _from_string(arch: str) -> np.ndarray:
    parts = arch.split("|")
    if len(parts) != 2 * NODES - 2 or any(len(r) != NODES or set(r) - {"0", "1"} for r in parts[:NODES]):
        raise InvalidArchitecture(f"nb101: arch string is the 7 adjacency rows ('0110001', ...) then the 5 ops, joined "
                                  f"by '|', got {arch!r}")
    m = np.array([[int(c) for c in row] for row in parts[:NODES]])
    return from_spec(m, ["input"] + parts[NODES:] + ["output"])


def make() -> SearchSpace:
    """The NB101 space (a new instance; ``jaxnag.spaces.get("nb101")`` gives the registered one).

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.spaces import nb101
      >>> s = nb101.make()
      >>> s.name, s.shape, s.choices[0], s.choices[-1], s is spaces.get("nb101")  # 21 edges, then 5 node ops
      ('nb101', (26, 3), ('none', 'edge'), ('conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3'), False)
    """
    return SearchSpace(
        name="nb101",
        slot_names=tuple(f"{i}->{j}" for i, j in EDGES) + tuple(f"node{k}" for k in range(1, NODES - 1)),
        choices=(("none", "edge"),) * _NUM_EDGES + (OP_NAMES,) * (NODES - 2),
        num_nodes=NODES,
        edges=None,
        description="NAS-Bench-101: 7-node cells, adjacency (at most 9 edges) x 3 ops on 5 nodes (about 5e8 "
                    "encodings, 423,624 distinct cells)",
        _to_string=_to_string,
        _from_string=_from_string,
        _extra_valid=_valid,
        _adjacency=_matrix,
        remove=(0,) * _NUM_EDGES + (-1,) * (NODES - 2),
        baseline=(-1,) * _NUM_EDGES + (OP_NAMES.index("maxpool3x3"),) * (NODES - 2),  # PG-NAG scores node ops too
    )
