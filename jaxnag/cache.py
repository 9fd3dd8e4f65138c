"""A persistent compilation cache: a second run of the same program loads XLA's compiled code from disk.

The command line turns it on by default (``jaxnag --no-cache ...`` or ``JAXNAG_CACHE_DIR=off`` turn it
off); a script turns it on with :func:`enable` before its first compilation. The folder is, in order:
the ``folder`` argument, ``$JAXNAG_CACHE_DIR``, ``$XDG_CACHE_HOME/jaxnag/xla``, ``~/.cache/jaxnag/xla``.
Every compilation is cached (JAX's default keeps only those over a second, which leaves out the many
small ones a command makes). Processes may share the folder: JAX writes an entry only where none
exists, and an entry it cannot read (another process still writing it) is a warning after which it
compiles, never an error. A folder that cannot be written turns the cache off with one line on stderr. Entries are keyed by the program, the JAX version and the device, so a stale
entry is never used; deleting the folder is always safe.

Examples:
  >>> import tempfile
  >>> from jaxnag import cache
  >>> cache.folder(tempfile.gettempdir() + "/jaxnag-doc-cache").name
  'jaxnag-doc-cache'
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["OFF", "compile_counts", "enable", "folder"]

OFF = ("off", "0", "false", "no", "")  # values of JAXNAG_CACHE_DIR that turn the cache off


def folder(given: str | os.PathLike | None = None) -> Path | None:
    """The cache folder (see the module docstring), or None where ``JAXNAG_CACHE_DIR`` turns it off.

    Examples:
      >>> import os
      >>> from unittest import mock
      >>> from jaxnag import cache
      >>> with mock.patch.dict(os.environ, {"JAXNAG_CACHE_DIR": "/tmp/xla-cache"}):  # os.environ restored after
      ...     print(cache.folder(), cache.folder("/tmp/mine"))  # the argument first, then the variable
      ...     os.environ["JAXNAG_CACHE_DIR"] = "off"
      ...     print(cache.folder())
      /tmp/xla-cache /tmp/mine
      None
    """
    if given is not None:
        return Path(given).expanduser()
    env = os.environ.get("JAXNAG_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in OFF else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jaxnag" / "xla"


def enable(given: str | os.PathLike | None = None, *, quiet: bool = False) -> Path | None:
    """Turn the persistent compilation cache on in :func:`folder` (created if missing); returns it, or
    None where it is off or its folder cannot be written (said in one line on stderr unless ``quiet``).

    Examples:
      >>> import tempfile, jax
      >>> from jaxnag import cache
      >>> names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
      ...          "jax_persistent_cache_min_entry_size_bytes")
      >>> saved = {n: getattr(jax.config, n) for n in names}
      >>> with tempfile.TemporaryDirectory() as d:
      ...     try:
      ...         path = cache.enable(d + "/xla")
      ...         print(path.name, path.is_dir(), jax.config.jax_compilation_cache_dir == str(path))
      ...         with open(d + "/file", "w"):  # a folder that cannot be made: the cache stays off
      ...             print(cache.enable(d + "/file/xla", quiet=True))
      ...     finally:
      ...         for n, v in saved.items():
      ...             jax.config.update(n, v)
      xla True True
      None
    """
    path = folder(given)
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        if not quiet:
            print(f"jaxnag: compilation cache off: cannot write {path} ({e.strerror or e}); set JAXNAG_CACHE_DIR "
                  "to another folder, or to off", file=sys.stderr)
        return None
    import jax
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


_COUNTS: dict | None = None


def compile_counts() -> dict:
    """A live ``{"requests": n, "hits": n}`` of this process's compilations since the first call: a
    request is a compilation or a load from the persistent cache (a hit). For tests and benchmarks that
    count what a command compiles (``jax.monitoring`` events).

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import cache
      >>> counts = cache.compile_counts()
      >>> before = counts["requests"]
      >>> _ = jax.jit(lambda x: x * 3 + 1)(np.arange(7))
      >>> counts["requests"] - before
      1
    """
    global _COUNTS
    if _COUNTS is None:
        import jax.monitoring as monitoring
        _COUNTS = {"requests": 0, "hits": 0}

        def on_duration(event, secs, **kw):
            if event == "/jax/core/compile/backend_compile_duration":
                _COUNTS["requests"] += 1

        def on_event(event, **kw):
            if event == "/jax/compilation_cache/cache_hits":
                _COUNTS["hits"] += 1
        monitoring.register_event_duration_secs_listener(on_duration)
        monitoring.register_event_listener(on_event)
    return _COUNTS
