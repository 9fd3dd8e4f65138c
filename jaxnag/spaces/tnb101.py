"""TransNAS-Bench-101 micro space: the NB201 cell with 4 ops per edge (4^6 = 4,096 cells).

The benchmark's arch string is ``64-41414-a_bc_def`` where each letter is the op
index of one edge, in the NB201 edge order (``0->1 | 0->2, 1->2 | 0->3, 1->3, 2->3``).
``from_string`` also accepts the bare ``a_bc_def`` part.

Examples:
  >>> from jaxnag import spaces
  >>> s = spaces.get("tnb101_micro")
  >>> s.from_string("64-41414-3_11_212").tolist()
  [3, 1, 1, 2, 1, 2]
"""

from __future__ import annotations

import re

import numpy as np

from ._space import InvalidArchitecture, SearchSpace
from .nb201 import EDGES, canonical_ids

__all__ = ["OP_NAMES", "PREFIX", "make"]

OP_NAMES = ("none", "skip_connect", "conv_1x1", "conv_3x3")
PREFIX = "64-41414-"
_PATTERN = re.compile(r"^(?:64-41414-)?([0-3])_([0-3]{2})_([0-3]{3})$")


def _to_string(ops: np.ndarray) -> str:
    d = "".join(str(int(o)) for o in ops)
    return f"{PREFIX}{d[0]}_{d[1:3]}_{d[3:6]}"


def _from_string(arch: str) -> np.ndarray:
    m = _PATTERN.match(arch)
    if m is None:
        raise InvalidArchitecture(
            f"tnb101_micro: arch string must look like '64-41414-3_11_212' (op digits 0-3), got {arch!r}")
    return np.asarray([int(c) for c in "".join(m.groups())], np.int32)


def make() -> SearchSpace:
    space: SearchSpace
    space = SearchSpace(
        name="tnb101_micro",
        slot_names=tuple(f"{a}->{b}" for a, b in EDGES),
        choices=(OP_NAMES,) * len(EDGES),
        num_nodes=4,
        edges=EDGES,
        description="TransNAS-Bench-101 micro: 6 edges x 4 ops (4,096 cells)",
        _to_string=_to_string,
        _from_string=_from_string,
        _canonical_ids=lambda: canonical_ids(space.all_ops(), OP_NAMES),
        remove=(OP_NAMES.index("none"),) * len(EDGES),
        identity=(OP_NAMES.index("skip_connect"),) * len(EDGES),
    )
    return space
