"""Plugins: a user package adds search spaces and generators without touching jaxnag.

Two ways, both ending in :func:`jaxnag.spaces.register` / :func:`jaxnag.registry.register`:

- **entry points** in the package's ``pyproject.toml``; the name is the registry name, the value a
  :class:`~jaxnag.spaces.SearchSpace` / :class:`~jaxnag.protocol.Generator` or a function of no
  arguments returning one (loaded the first time a name is looked up)::

      [project.entry-points."jaxnag.spaces"]
      chain5 = "mypkg.spaces:chain5"
      [project.entry-points."jaxnag.generators"]
      hill = "mypkg.hill:generator"

- **a module** that registers on import: ``jaxnag --plugin mypkg.spaces generate --space chain5 ...``,
  or :func:`load_module` from Python.

Examples:
  >>> from jaxnag import plugins
  >>> ep = plugins.entry_points("jaxnag.generators")  # {name: entry point} of the installed packages
  >>> all(isinstance(name, str) for name in ep)
  True
"""

from __future__ import annotations

import importlib
from importlib import metadata

from .errors import ConfigError

__all__ = ["GROUPS", "entry_points", "load", "load_module"]

GROUPS = ("jaxnag.spaces", "jaxnag.generators")


def entry_points(group: str) -> dict:
    """The installed entry points of ``group``, by name (not loaded).

    Examples:
      >>> from jaxnag import plugins
      >>> isinstance(plugins.entry_points("jaxnag.spaces"), dict)
      True
      >>> plugins.entry_points("jaxnag.models")
      Traceback (most recent call last):
      ...
      jaxnag.errors.ConfigError: unknown plugin group 'jaxnag.models'; groups are jaxnag.spaces, jaxnag.generators
    """
    if group not in GROUPS:
        raise ConfigError(f"unknown plugin group {group!r}; groups are {', '.join(GROUPS)}")
    return {ep.name: ep for ep in metadata.entry_points(group=group)}


def load(group: str, name: str, kind: type):
    """Load the entry point ``name`` of ``group``: an instance of ``kind``, or a function returning one.

    Raises:
      ConfigError: the entry point cannot be imported, or gives something other than a ``kind``.

    Examples:
      >>> import pathlib, sys, tempfile
      >>> from jaxnag import plugins, registry
      >>> from jaxnag.protocol import Generator
      >>> with tempfile.TemporaryDirectory() as d:  # an installed package: its module and its entry point
      ...     info = pathlib.Path(d) / "demo_hill-0.1.dist-info"
      ...     info.mkdir()
      ...     _ = (info / "METADATA").write_text("Name: demo_hill\\nVersion: 0.1\\n")
      ...     _ = (info / "entry_points.txt").write_text("[jaxnag.generators]\\ndemo_hill = demo_hill:generator\\n")
      ...     _ = (pathlib.Path(d) / "demo_hill.py").write_text(
      ...         "from jaxnag import registry\\ndef generator():\\n    return registry.get('rea')\\n")
      ...     sys.path.insert(0, d)
      ...     try:
      ...         gen = plugins.load("jaxnag.generators", "demo_hill", Generator)  # a function returning a Generator
      ...     finally:
      ...         sys.path.remove(d)
      ...         del sys.modules["demo_hill"]
      >>> gen is registry.get("rea")
      True
    """
    ep = entry_points(group)[name]
    try:
        obj = ep.load()
    except Exception as e:  # a broken plugin is the plugin's error, said in one line
        raise ConfigError(f"plugin {group}:{name} ({ep.value}) failed to load: {type(e).__name__}: {e}") from e
    if not isinstance(obj, kind) and callable(obj):
        try:
            obj = obj()
        except Exception as e:
            raise ConfigError(f"plugin {group}:{name} ({ep.value}) failed to build: {type(e).__name__}: {e}") from e
    if not isinstance(obj, kind):
        raise ConfigError(f"plugin {group}:{name} ({ep.value}) gives a {type(obj).__name__}, not a "
                          f"{kind.__name__} (nor a function returning one)")
    return obj


def load_module(path: str):
    """Import the module ``path`` (``mypkg.spaces``), which registers its spaces and generators.

    Examples:
      >>> import pathlib, sys, tempfile
      >>> from jaxnag import plugins
      >>> with tempfile.TemporaryDirectory() as d:
      ...     _ = (pathlib.Path(d) / "demo_spaces.py").write_text("REGISTERED = ['chain5']\\n")
      ...     sys.path.insert(0, d)
      ...     try:
      ...         mod = plugins.load_module(" demo_spaces ")
      ...     finally:
      ...         sys.path.remove(d)
      ...         del sys.modules["demo_spaces"]
      >>> mod.REGISTERED
      ['chain5']
      >>> plugins.load_module("")
      Traceback (most recent call last):
      ...
      jaxnag.errors.ConfigError: a plugin is a module path such as mypkg.spaces, got ''
    """
    if not isinstance(path, str) or not path.strip():
        raise ConfigError(f"a plugin is a module path such as mypkg.spaces, got {path!r}")
    try:
        return importlib.import_module(path.strip())
    except ImportError as e:
        raise ConfigError(f"plugin {path}: cannot import it ({e}); is its package installed or on PYTHONPATH?") \
            from e
