"""NAS-Bench-Graph space (Qin et al. 2022): a GNN cell with 4 computing nodes.

Slot 0 picks one of the 9 macro link patterns (entry ``j`` of a pattern is the
input node of computing node ``j``; node 0 is the cell input), slots 1-4 pick the
GNN op of each computing node (9 ops). The cell output sums the computing nodes
that feed no other node. All-``skip`` cells are invalid (the benchmark excludes
them). Many encodings are isomorphic; the benchmark stores one representative per
class, keyed by the ``nas-bench-graph`` package's ``valid_hash``.

String format (jaxnag's, the benchmark has none): ``"0-1-2-3|gcn|gat|skip|sage"``,
the link pattern then the four ops.

Examples:
  >>> from jaxnag import spaces
  >>> s = spaces.get("nasbench_graph")
  >>> s.from_string("0-1-2-3|gcn|gat|skip|sage").tolist()
  [8, 1, 0, 8, 4]
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from ._space import InvalidArchitecture, SearchSpace

__all__ = ["LINKS", "LINK_NAMES", "OP_NAMES", "SKIP", "encoding_hashes", "make", "make_grid", "valid_hash"]

OP_NAMES = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
LINKS = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)
LINK_NAMES = tuple("-".join(map(str, link)) for link in LINKS)
SKIP = OP_NAMES.index("skip")


def _to_string(ops: np.ndarray) -> str:
    return "|".join([LINK_NAMES[ops[0]]] + [OP_NAMES[o] for o in ops[1:]])


def _from_string(arch: str) -> np.ndarray:
    parts = arch.split("|")
    if len(parts) != 5:
        raise InvalidArchitecture(
            f"nasbench_graph: arch string must be 'L-L-L-L|op|op|op|op' (e.g. '0-1-2-3|gcn|gat|skip|sage'), got {arch!r}")
    if parts[0] not in LINK_NAMES:
        raise InvalidArchitecture(
            f"nasbench_graph: unknown link pattern {parts[0]!r}; patterns are {', '.join(LINK_NAMES)}")
    for name in parts[1:]:
        if name not in OP_NAMES:
            raise InvalidArchitecture(
                f"nasbench_graph: unknown op {name!r}; ops are {', '.join(OP_NAMES)}")
    return np.asarray([LINK_NAMES.index(parts[0])] + [OP_NAMES.index(p) for p in parts[1:]], np.int32)


def _not_all_skip(ops):
    return ~jnp.all(ops[..., 1:] == SKIP, axis=-1)


def valid_hash(ops) -> int:
    """The benchmark's canonical key of one encoding (``nas_bench_graph.Arch.valid_hash``)."""
    try:
        from nas_bench_graph import Arch
    except ImportError as e:  # pragma: no cover - it is a declared dependency
        raise ImportError("NAS-Bench-Graph needs the 'nas-bench-graph' package: pip install nas-bench-graph") from e
    ops = [int(o) for o in ops]
    return int(Arch(list(LINKS[ops[0]]), [OP_NAMES[o] for o in ops[1:]]).valid_hash())


@functools.lru_cache(maxsize=1)
def encoding_hashes() -> np.ndarray:
    """``valid_hash`` of every encoding in rank order (-1 for invalid all-skip cells); cached."""
    all_ops = make_grid()
    out = np.full(len(all_ops), -1, np.int64)
    for r, ops in enumerate(all_ops):
        if not np.all(ops[1:] == SKIP):
            out[r] = valid_hash(ops)
    out.setflags(write=False)
    return out


def make_grid() -> np.ndarray:
    grids = np.meshgrid(*[np.arange(9)] * 5, indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=-1).astype(np.int32)


def _canonical_ids() -> np.ndarray:
    hashes = encoding_hashes()
    first: dict[int, int] = {}
    return np.asarray([first.setdefault(int(h), r) for r, h in enumerate(hashes)], np.int32)


def _adjacency(ops: np.ndarray) -> np.ndarray:
    link = LINKS[int(ops[0])]
    adj = np.zeros((6, 6), np.int8)  # 0 input, 1-4 computing nodes, 5 output
    for j, src in enumerate(link):
        adj[src, j + 1] = 1
    for node in range(1, 5):
        if not adj[node, 1:5].any():
            adj[node, 5] = 1
    return adj


def make() -> SearchSpace:
    space: SearchSpace
    space = SearchSpace(
        name="nasbench_graph",
        slot_names=("link", "node1", "node2", "node3", "node4"),
        choices=(LINK_NAMES,) + (OP_NAMES,) * 4,
        num_nodes=6,
        edges=None,
        description="NAS-Bench-Graph: 9 link patterns x 9 GNN ops on 4 nodes (26,206 distinct cells)",
        _to_string=_to_string,
        _from_string=_from_string,
        _extra_valid=_not_all_skip,
        _canonical_ids=_canonical_ids,
        _adjacency=_adjacency,
        benchmark_dedups_isomorphs=True,
        identity=(-1,) + (SKIP,) * 4,  # a GNN op replaced by skip is the op absent (PG-NAG's players)
    )
    return space
