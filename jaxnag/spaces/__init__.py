"""Search spaces as data: slots x choices, the cell graph, encodings and arch strings.

Example:
  >>> from jaxnag import spaces
  >>> spaces.names()
  ('nb201', 'tnb101_micro', 'nasbench_graph')
  >>> spaces.get("nb201").shape
  (6, 5)
"""

from __future__ import annotations

from ..errors import InvalidArchitecture as InvalidArchitecture
from ..errors import UnknownName
from ._space import SearchSpace as SearchSpace
from . import nasbench_graph as _nbg
from . import nb201 as _nb201
from . import tnb101 as _tnb101

_FACTORIES = {
    "nb201": _nb201.make,
    "tnb101_micro": _tnb101.make,
    "nasbench_graph": _nbg.make,
}
_ALIASES = {
    "nasbench201": "nb201", "nats_tss": "nb201", "natsbench_tss": "nb201",
    "tnb101": "tnb101_micro", "transnas_micro": "tnb101_micro",
    "nbg": "nasbench_graph", "nas_bench_graph": "nasbench_graph",
}
_INSTANCES: dict[str, SearchSpace] = {}


def names() -> tuple[str, ...]:
    """Registered space names."""
    return tuple(_FACTORIES)


def get(name: str | SearchSpace) -> SearchSpace:
    """The registered space called ``name`` (a singleton); unknown names raise ``KeyError``."""
    if isinstance(name, SearchSpace):
        return name
    key = str(name).lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _FACTORIES:
        raise UnknownName(f"unknown search space {name!r}; available: {', '.join(_FACTORIES)}")
    if key not in _INSTANCES:
        _INSTANCES[key] = _FACTORIES[key]()
    return _INSTANCES[key]


__all__ = ["SearchSpace", "InvalidArchitecture", "get", "names"]
