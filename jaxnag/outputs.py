"""Where jaxnag writes: one rule for every output path, in one place.

The rule: **a command never replaces a file it did not write.** Every command that writes (``bench``
results, summary and plot, ``proxies --out``, ``train --out``, ``train-score --out``,
``data import-nats --out``, ``prior --plot``) checks its paths with :func:`check_file` or
:func:`check_folder` *before* it computes anything, and writes with :func:`atomic` (a temporary file
beside the target, renamed over it when complete), so Ctrl-C, a full disk or a read-only mount never
leaves a half-written table, summary or checkpoint, and the error is one line that names the path
and the flag.

A file counts as jaxnag's own (and may be replaced without ``--overwrite``) only where the caller
says how to recognise it (``ours=``: e.g. a ``jaxnag bench`` summary starts with its header line).

Examples:
  >>> import pathlib, tempfile
  >>> from jaxnag import outputs
  >>> d = pathlib.Path(tempfile.mkdtemp())
  >>> path = outputs.check_file(d / "notes.txt", "--out")
  >>> with outputs.atomic(path, "--out") as tmp:
  ...     _ = tmp.write_text("mine")
  >>> try:
  ...     outputs.check_file(d / "notes.txt", "--out")
  ... except outputs.OutputError as e:
  ...     print(str(e).split(";")[0].replace(str(d), "DIR"))
  --out DIR/notes.txt exists
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import DataError, JaxnagError

__all__ = ["OutputError", "atomic", "check_file", "check_folder", "describe_os_error", "os_error", "probe", "quiet_orbax",
           "temporary"]


class OutputError(DataError):
    """An output path cannot (or must not) be written: it exists, is a folder, its folder is missing,
    read-only or full.

    Examples:
      >>> import pathlib, tempfile
      >>> from jaxnag import errors, outputs
      >>> with tempfile.TemporaryDirectory() as d:
      ...     (pathlib.Path(d) / "results.json").write_text("{}")  # a user's file: never overwritten
      ...     try:
      ...         outputs.check_file(pathlib.Path(d) / "results.json", "--out")
      ...     except errors.DataError as e:  # an OutputError is a DataError (and a JaxnagError)
      ...         print(type(e).__name__, "|", str(e).replace(d, "DIR").split(";")[0])
      2
      OutputError | --out DIR/results.json exists
    """


_REASONS = {errno.ENOSPC: "no space left on the device", errno.EROFS: "the file system is read-only",
            errno.EACCES: "permission denied", errno.EPERM: "permission denied",
            errno.EDQUOT: "disk quota exceeded", errno.ENOENT: "the folder does not exist",
            errno.ENOTDIR: "a part of the path is a file, not a folder", errno.EISDIR: "it is a folder",
            errno.ENAMETOOLONG: "the name is too long"}


def describe_os_error(e: BaseException) -> str | None:
    """A short reason for a file-system failure anywhere in ``e``'s chain (orbax and tensorstore wrap
    ``OSError``\\ s in their own types; their messages still say what happened), or None.

    Examples:
      >>> import errno
      >>> from jaxnag import outputs
      >>> outputs.describe_os_error(OSError(errno.ENOSPC, "No space left on device"))
      'no space left on the device'
      >>> try:
      ...     try:
      ...         raise OSError(errno.EROFS, "Read-only file system")
      ...     except OSError as inner:
      ...         raise RuntimeError("checkpoint write failed") from inner
      ... except RuntimeError as e:
      ...     print(outputs.describe_os_error(e), outputs.describe_os_error(ValueError("bad value")))
      the file system is read-only None
    """
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _REASONS:
            return _REASONS[e.errno]
        text = str(e)
        for code, reason in _REASONS.items():
            if os.strerror(code) in text:
                return reason
        e = e.__cause__ or e.__context__
    return None


def os_error(e: BaseException, path, flag: str, doing: str = "cannot write") -> OutputError:
    """``e`` (a failed write of ``path``) as one line naming the flag, the path and the reason.

    Examples:
      >>> import errno
      >>> from jaxnag import outputs
      >>> err = outputs.os_error(OSError(errno.EACCES, "Permission denied"), "runs/out.csv", "--out")
      >>> type(err).__name__, str(err)
      ('OutputError', '--out runs/out.csv: cannot write (permission denied)')
    """
    reason = describe_os_error(e) or f"{type(e).__name__}: {' '.join(str(e).split())[:160]}"
    return OutputError(f"{flag} {path}: {doing} ({reason})")


def probe(folder, path, flag: str) -> None:
    """Create, write and remove a small file in ``folder``: a read-only, full or forbidden folder is
    found before any computation.

    Examples:
      >>> import pathlib, tempfile
      >>> from jaxnag import outputs
      >>> with tempfile.TemporaryDirectory() as d:
      ...     outputs.probe(d, pathlib.Path(d) / "out.csv", "--out")  # writable: the probe file is gone again
      ...     print(list(pathlib.Path(d).iterdir()))
      ...     try:
      ...         outputs.probe(pathlib.Path(d) / "missing", pathlib.Path(d) / "missing" / "out.csv", "--out")
      ...     except outputs.OutputError as e:
      ...         print(str(e).replace(d, "DIR"))
      []
      --out DIR/missing/out.csv: cannot write (the folder does not exist)
    """
    folder, path = Path(folder), Path(path)
    tmp = folder / f".{path.name}.probe{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(b"\0" * 4096)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise os_error(e, path, flag) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _name(path, flag: str) -> Path:
    if path is None or str(path).strip() == "":
        raise OutputError(f"{flag} is empty: name a path")
    return Path(path)


def check_file(path, flag: str, *, overwrite: bool = False, ours: Callable[[Path], bool] | None = None,
               append: bool = False) -> Path:
    """Check, before any computation, that the file ``path`` (given by ``flag``) may be written.

    Refused, each with one line naming ``flag``: an empty path; a path that is a folder; a missing parent
    folder or one that is a file; a read-only, full or forbidden folder (a small probe file is written
    and removed); an existing file, unless ``overwrite``, or ``ours(path)`` says jaxnag wrote it, or
    ``append`` (the caller adds to it and checks its contents itself).

    Returns:
      ``path`` as a :class:`~pathlib.Path`.

    Examples:
      >>> import pathlib, tempfile
      >>> from jaxnag import outputs
      >>> with tempfile.TemporaryDirectory() as d:
      ...     print(outputs.check_file(pathlib.Path(d) / "summary.json", "--out").name)
      ...     for bad in (d, pathlib.Path(d) / "nested" / "summary.json"):
      ...         try:
      ...             outputs.check_file(bad, "--out")
      ...         except outputs.OutputError as e:
      ...             print(str(e).replace(d, "DIR"))
      summary.json
      --out DIR is a folder; name a file
      --out DIR/nested/summary.json: the folder DIR/nested does not exist (create it first)
    """
    path = _name(path, flag)
    if path.is_dir():
        raise OutputError(f"{flag} {path} is a folder; name a file")
    parent = path.parent
    if not parent.exists():
        raise OutputError(f"{flag} {path}: the folder {parent} does not exist (create it first)")
    if not parent.is_dir():
        raise OutputError(f"{flag} {path}: {parent} is a file, not a folder")
    if path.exists() and not (overwrite or append or (ours is not None and ours(path))):
        raise OutputError(f"{flag} {path} exists; nothing is overwritten (pass --overwrite to replace it, or "
                          "another name)")
    probe(parent, path, flag)
    return path


def check_folder(path, flag: str, *, may_hold: Callable[[Path], bool] | None = None) -> Path:
    """Check, before any computation, that the folder ``path`` may be written: it is new (its parent must
    exist), empty, or ``may_hold(path)`` says its contents are this command's own (e.g. a checkpoint folder
    being resumed). A file in its place, a missing parent, a read-only or full file system: one line each.

    Examples:
      >>> import pathlib, tempfile
      >>> from jaxnag import outputs
      >>> with tempfile.TemporaryDirectory() as d:
      ...     ckpt = pathlib.Path(d) / "ckpt"
      ...     print(outputs.check_folder(ckpt, "--out").name)  # new: its parent exists
      ...     (ckpt / "step_1").mkdir(parents=True)
      ...     print(outputs.check_folder(ckpt, "--out", may_hold=lambda p: (p / "step_1").exists()).name)
      ...     try:
      ...         outputs.check_folder(ckpt, "--out")
      ...     except outputs.OutputError as e:
      ...         print(str(e).replace(d, "DIR"))
      ckpt
      ckpt
      --out DIR/ckpt holds other files; nothing is overwritten (name a new or empty folder)
    """
    path = _name(path, flag)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {path} is a file; name a folder")
    if path.is_dir():
        if any(path.iterdir()) and not (may_hold is not None and may_hold(path)):
            raise OutputError(f"{flag} {path} holds other files; nothing is overwritten (name a new or empty "
                              "folder)")
        probe(path, path / "x", flag)
        return path
    parent = path.parent
    if not parent.exists():
        raise OutputError(f"{flag} {path}: the folder {parent} does not exist (create it first)")
    if not parent.is_dir():
        raise OutputError(f"{flag} {path}: {parent} is a file, not a folder")
    probe(parent, path, flag)
    return path


def temporary(path: Path) -> Path:
    """The temporary name :func:`atomic` writes ``path`` under: hidden, beside it, same suffix (numpy
    and matplotlib choose the format from the suffix).

    Examples:
      >>> import pathlib
      >>> from jaxnag import outputs
      >>> tmp = outputs.temporary(pathlib.Path("runs") / "summary.json")
      >>> str(tmp.parent), tmp.suffix, tmp.name.startswith(".summary.tmp")
      ('runs', '.json', True)
    """
    return path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")


@contextlib.contextmanager
def atomic(path, flag: str) -> Iterator[Path]:
    """Write ``path`` atomically: yields a temporary path beside it to write to; when the block ends
    without error the temporary file (or folder) replaces ``path`` in one rename. On any error (Ctrl-C,
    a full disk) the temporary file is removed and ``path`` is as it was; a file-system error becomes
    one :class:`OutputError` line.

    Examples:
      >>> import pathlib, tempfile
      >>> from jaxnag import outputs
      >>> with tempfile.TemporaryDirectory() as d:
      ...     path = pathlib.Path(d) / "table.csv"
      ...     with outputs.atomic(path, "--out") as tmp:
      ...         _ = tmp.write_text("a,b")
      ...     try:
      ...         with outputs.atomic(path, "--out") as tmp:
      ...             _ = tmp.write_text("half a ta")
      ...             raise ValueError("interrupted")
      ...     except ValueError:
      ...         pass
      ...     print(path.read_text(), [p.name for p in pathlib.Path(d).iterdir()])  # as it was, no temporary left
      a,b ['table.csv']
    """
    path = Path(path)
    tmp = temporary(path)
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():  # a folder (a checkpoint): rename does not replace a folder
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException as e:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(e, (KeyboardInterrupt, JaxnagError)) or describe_os_error(e) is None:
            raise
        raise os_error(e, path, flag) from None


def quiet_orbax() -> None:
    """Orbax logs routine notes (read-only folders, handler registries) as absl warnings and a damaged
    file as absl errors before it raises; jaxnag turns what it raises into one clear line itself, so the
    log stays quiet below critical.

    Examples:
      >>> import logging
      >>> from jaxnag import outputs
      >>> outputs.quiet_orbax()
      >>> logging.getLogger("absl").level == logging.CRITICAL
      True
    """
    import logging
    logging.getLogger("absl").setLevel(logging.CRITICAL)
