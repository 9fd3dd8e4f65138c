"""Ctrl-C for long jobs: stop at the next step boundary, save what was promised, exit 130.

A ``KeyboardInterrupt`` raised at an arbitrary point (inside JAX's dispatch, an orbax save or a lock)
can leave a process unable to save, hang it, or crash it at exit. Every long loop in jaxnag (``train``,
``train-score``, ``bench``, ``proxies``) runs inside :class:`StopFlag` instead: the first Ctrl-C sets a
flag that the loop reads between steps (:meth:`StopFlag.check` raises ``KeyboardInterrupt`` there, at a
safe point); a second Ctrl-C raises at once.

Examples:
  >>> from jaxnag.interrupts import StopFlag
  >>> with StopFlag() as stop:
  ...     for step in range(3):
  ...         stop.check()  # raises KeyboardInterrupt here once Ctrl-C was pressed
  >>> stop.raised
  False
"""

from __future__ import annotations

import signal
import sys
import threading

__all__ = ["StopFlag"]


class StopFlag:
    """SIGINT sets :attr:`raised` instead of raising (in the main thread; elsewhere Ctrl-C behaves as
    usual). A second Ctrl-C raises ``KeyboardInterrupt`` at once. Use as a context manager (the previous
    handler comes back at exit) or call :meth:`restore`.

    Examples:
      >>> import signal
      >>> from jaxnag.interrupts import StopFlag
      >>> before = signal.getsignal(signal.SIGINT)
      >>> with StopFlag(message=None) as stop:
      ...     signal.raise_signal(signal.SIGINT)  # a Ctrl-C: recorded, nothing raised yet
      ...     try:
      ...         stop.check()  # the loop's next safe point
      ...     except KeyboardInterrupt:
      ...         print("stopped between steps", stop.raised)
      stopped between steps True
      >>> signal.getsignal(signal.SIGINT) is before  # the previous handler is back
      True
    """

    def __init__(self, message: str | None = "jaxnag: stopping after this step (Ctrl-C again to stop now)"):
        self.raised = False
        self._message = message
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame):
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True
        if self._message:
            print(self._message, file=sys.stderr, flush=True)

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed (call it between steps)."""
        if self.raised:
            raise KeyboardInterrupt

    def restore(self) -> None:
        """Put the previous SIGINT handler back (idempotent)."""
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def __enter__(self) -> StopFlag:
        return self

    def __exit__(self, *exc) -> None:
        self.restore()
