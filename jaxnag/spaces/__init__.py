"""Search spaces as data: slots x choices, the cell graph, encodings and arch strings.

Examples:
  >>> from jaxnag import spaces
  >>> spaces.names()[:3]  # the built-in ones, then any registered or installed
  ('nb201', 'tnb101_micro', 'nasbench_graph')
  >>> spaces.get("nb201").shape
  (6, 5)
"""

from __future__ import annotations

from ..errors import InvalidArchitecture as InvalidArchitecture
from ..errors import ConfigError, UnknownName
from ._build import categorical as categorical
from ._space import SearchSpace as SearchSpace
from ._space import distinct_indices as distinct_indices
from . import darts as _darts
from . import nasbench_graph as _nbg
from . import nb101 as _nb101
from . import nb201 as _nb201
from . import tnb101 as _tnb101

_FACTORIES = {
    "nb201": _nb201.make,
    "tnb101_micro": _tnb101.make,
    "nasbench_graph": _nbg.make,
    "nb101": _nb101.make,
    "darts": _darts.make,
}
_ALIASES = {
    "nasbench201": "nb201", "nats_tss": "nb201", "natsbench_tss": "nb201",
    "tnb101": "tnb101_micro", "transnas_micro": "tnb101_micro",
    "nbg": "nasbench_graph", "nas_bench_graph": "nasbench_graph",
    "nasbench101": "nb101", "nas_bench_101": "nb101", "nb301": "darts", "nasbench301": "darts",
}
_INSTANCES: dict[str, SearchSpace] = {}


def _key(name) -> str:
    key = str(name).lower().replace("-", "_")
    return _ALIASES.get(key, key)


def register(space: SearchSpace, *, aliases: tuple[str, ...] = (), replace: bool = False) -> SearchSpace:
    """Register ``space`` under its name (and ``aliases``), as the built-in spaces are: it then reaches
    :func:`get`, ``jaxnag spaces``, ``generate --space``, ``jaxnag bench`` grids and
    :func:`jaxnag.parallel.run`. Returns ``space``.

    Raises:
      ConfigError: the name (or an alias) is taken and ``replace`` is False.

    Examples:
      >>> from jaxnag import spaces
      >>> s = spaces.register(spaces.categorical("chain2_doc", ("a", "b"), slots=2), replace=True)
      >>> spaces.get("chain2_doc") is s
      True
    """
    if not isinstance(space, SearchSpace):
        raise ConfigError(f"register takes a SearchSpace (see jaxnag.spaces.categorical), got {type(space).__name__}")
    key = _key(space.name)
    taken = [n for n in (key, *map(_key, aliases)) if (n in _FACTORIES or n in _ALIASES) and
             _INSTANCES.get(_ALIASES.get(n, n)) is not space]
    if taken and not replace:
        raise ConfigError(f"search space name {taken[0]!r} is taken (pass replace=True to replace it)")
    _FACTORIES[key] = lambda: space
    _INSTANCES[key] = space
    for alias in aliases:
        _ALIASES[_key(alias)] = key
    return space


def _plugins() -> dict:
    from .. import plugins
    return plugins.entry_points("jaxnag.spaces")


def names() -> tuple[str, ...]:
    """Registered space names (built-in, registered, and installed plugins').

    Examples:
      >>> from jaxnag import spaces
      >>> spaces.names()[:5]  # the built-in ones come first
      ('nb201', 'tnb101_micro', 'nasbench_graph', 'nb101', 'darts')
    """
    return tuple(_FACTORIES) + tuple(n for n in _plugins() if _key(n) not in _FACTORIES)


def get(name: str | SearchSpace) -> SearchSpace:
    """The registered space called ``name`` (a singleton); unknown names raise
    :class:`~jaxnag.errors.UnknownName`.

    Examples:
      >>> from jaxnag import errors, spaces
      >>> s = spaces.get("NATS-TSS")  # names are case- and dash-insensitive, with aliases
      >>> s is spaces.get("nb201"), spaces.get(s) is s, s.shape
      (True, True, (6, 5))
      >>> try:
      ...     spaces.get("nb999")
      ... except errors.UnknownName as e:
      ...     print(str(e).split(";")[0])
      unknown search space 'nb999'
    """
    if isinstance(name, SearchSpace):
        return name
    key = _key(name)
    if key not in _FACTORIES:
        found = {_key(n): n for n in _plugins()}
        if key not in found:
            raise UnknownName(f"unknown search space {name!r}; available: {', '.join(names())}")
        from .. import plugins
        space = plugins.load("jaxnag.spaces", found[key], SearchSpace)
        if _key(space.name) != key:
            raise ConfigError(f"plugin jaxnag.spaces:{found[key]} gives a space named {space.name!r}")
        register(space, replace=True)
    if key not in _INSTANCES:
        _INSTANCES[key] = _FACTORIES[key]()
    return _INSTANCES[key]


__all__ = ["InvalidArchitecture", "SearchSpace", "categorical", "distinct_indices", "get", "names", "register"]
