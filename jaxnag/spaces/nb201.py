"""NAS-Bench-201 / NATS-Bench topology space: 6 edges of a 4-node cell, 5 ops each.

Edge (slot) order is the arch-string order ``0->1, 0->2, 1->2, 0->3, 1->3, 2->3``
for ``|a~0|+|b~0|c~1|+|d~0|e~1|f~2|``. Every one of the 5^6 = 15,625 encodings
is a valid architecture.

Examples:
  >>> from jaxnag import spaces
  >>> s = spaces.get("nb201")
  >>> s.to_string([1, 2, 3, 4, 0, 1])
  '|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|skip_connect~2|'
"""

from __future__ import annotations

import numpy as np

from ._space import InvalidArchitecture, SearchSpace

__all__ = ["EDGES", "OP_NAMES", "canonical_ids", "make", "unique_string"]

OP_NAMES = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
_NODE_INPUTS = ((0,), (0, 1), (0, 1, 2))  # node k+1 reads these nodes, in slot order


def _to_string(ops: np.ndarray, op_names=OP_NAMES) -> str:
    parts, slot = [], 0
    for inputs in _NODE_INPUTS:
        node = []
        for src in inputs:
            node.append(f"{op_names[ops[slot]]}~{src}")
            slot += 1
        parts.append("|" + "|".join(node) + "|")
    return "+".join(parts)


def _from_string(arch: str, op_names=OP_NAMES, space_name="nb201") -> np.ndarray:
    nodes = arch.split("+")
    if len(nodes) != len(_NODE_INPUTS):
        raise InvalidArchitecture(
            f"{space_name}: arch string must have {len(_NODE_INPUTS)} nodes separated by '+', got {arch!r}")
    ops = []
    for k, (node, inputs) in enumerate(zip(nodes, _NODE_INPUTS)):
        if not (node.startswith("|") and node.endswith("|")):
            raise InvalidArchitecture(f"{space_name}: node {k + 1} must be wrapped in '|', got {node!r}")
        items = [x for x in node.split("|") if x]
        if len(items) != len(inputs):
            raise InvalidArchitecture(
                f"{space_name}: node {k + 1} must have {len(inputs)} inputs, got {node!r}")
        for item, src in zip(items, inputs):
            name, sep, idx = item.partition("~")
            if not sep or idx != str(src):
                raise InvalidArchitecture(
                    f"{space_name}: expected 'op~{src}' in node {k + 1}, got {item!r}")
            if name not in op_names:
                raise InvalidArchitecture(
                    f"{space_name}: unknown op {name!r}; ops are {', '.join(op_names)}")
            ops.append(op_names.index(name))
    return np.asarray(ops, np.int32)


def unique_string(ops, op_names=OP_NAMES) -> str:
    """Isomorphism-invariant string of one cell (NATS-Bench ``get_unique_str`` semantics).

    Each node is the sorted sum of its incoming terms; ``none`` (or an input that
    is already zero) contributes nothing, ``skip_connect`` passes its input on
    unchanged, any other op wraps it: ``(input)@op``. Two cells compute the same
    function up to parameter sharing iff their strings are equal.
    """
    nodes = {0: "0"}
    slot = 0
    for k, inputs in enumerate(_NODE_INPUTS):
        terms = []
        for src in inputs:
            op = op_names[int(ops[slot])]
            slot += 1
            if op == "none" or nodes[src] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{op}")
        nodes[k + 1] = "+".join(sorted(terms))
    return nodes[len(_NODE_INPUTS)]


def canonical_ids(all_ops: np.ndarray, op_names=OP_NAMES) -> np.ndarray:
    """For each encoding (in rank order), the smallest rank with the same unique string."""
    first: dict[str, int] = {}
    out = np.empty(len(all_ops), np.int32)
    for r, ops in enumerate(all_ops):
        out[r] = first.setdefault(unique_string(ops, op_names), r)
    return out


def make() -> SearchSpace:
    space: SearchSpace
    space = SearchSpace(
        name="nb201",
        slot_names=tuple(f"{a}->{b}" for a, b in EDGES),
        choices=(OP_NAMES,) * len(EDGES),
        num_nodes=4,
        edges=EDGES,
        description="NAS-Bench-201 / NATS-Bench topology: 6 edges x 5 ops (15,625 cells)",
        _to_string=_to_string,
        _from_string=_from_string,
        _canonical_ids=lambda: canonical_ids(space.all_ops()),
        remove=(OP_NAMES.index("none"),) * len(EDGES),
        identity=(OP_NAMES.index("skip_connect"),) * len(EDGES),
    )
    return space
