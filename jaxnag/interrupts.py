"""Ctrl-C for long jobs: stop at the next step boundary, save what was promised, exit 130.

A ``KeyboardInterrupt`` raised at an arbitrary point (inside JAX's dispatch, an orbax save or a lock)
can leave a process unable to save, hang it, or crash it at exit. Every long loop in jaxnag (``train``,
``train-score``, ``bench``, ``proxies``) runs inside :class:`StopFlag` instead: the first Ctrl-C sets a
flag that the loop reads between steps (:meth:`StopFlag.check` raises ``KeyboardInterrupt`` there, at a
safe point); a second Ctrl-C raises at once.

Outside such a loop Ctrl-C raises ``KeyboardInterrupt`` wherever Python is, and Python drops one raised
inside a garbage-collection callback or a ``__del__`` ("Exception ignored in ..."; JAX registers such a
callback): a process could then run a long job to its end after Ctrl-C. :func:`install` (the CLI calls it
first) raises such a Ctrl-C again where it can propagate.

Examples:
  >>> from jaxnag.interrupts import StopFlag
  >>> with StopFlag() as stop:
  ...     for step in range(3):
  ...         stop.check()  # raises KeyboardInterrupt here once Ctrl-C was pressed
  >>> stop.raised
  False
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading

__all__ = ["StopFlag", "install"]

_AGAIN_AFTER = 0.02  # seconds: a dropped Ctrl-C comes again this long after (the hook has returned by then)


def _interrupt_main() -> None:
    """A SIGINT to the main thread: it also ends a blocking call there (a sleep, a wait), as a real Ctrl-C
    does; where POSIX threads' signals are missing (Windows), Python's simulated one."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    else:
        _thread.interrupt_main()


def install() -> None:
    """Raise a ``KeyboardInterrupt`` that Python drops (one raised inside a garbage-collection callback or a
    ``__del__``, where it can only be reported) again: a new SIGINT to the main thread a moment later, from a
    helper thread (the handler must not run inside the hook, where it would be dropped too). The default
    handler raises it where it propagates, :class:`StopFlag`'s records it; one dropped again comes again.
    Other unraisable errors go to the previous ``sys.unraisablehook``. Idempotent; the CLI calls it before
    importing JAX.

    Examples:
      >>> import signal, sys, time
      >>> from jaxnag.interrupts import install
      >>> saved = sys.unraisablehook, signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C raises
      >>> install()
      >>> class Finaliser:
      ...     def __del__(self):
      ...         raise KeyboardInterrupt  # a Ctrl-C landing in a finaliser: Python cannot raise it there
      >>> try:
      ...     obj = Finaliser()
      ...     del obj  # dropped by Python, raised again by install()'s hook
      ...     time.sleep(10)
      ... except KeyboardInterrupt:
      ...     print("stopped")
      stopped
      >>> sys.unraisablehook, _ = saved[0], signal.signal(signal.SIGINT, saved[1])
    """
    previous = sys.unraisablehook
    if getattr(previous, "_jaxnag_interrupts", False):
        return

    def hook(unraisable):
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous(unraisable)
            return
        again = threading.Timer(_AGAIN_AFTER, _interrupt_main)
        again.daemon = True  # never what keeps a finished process alive
        try:
            again.start()
        except RuntimeError:  # interpreter shutdown: no new threads, and nothing left to stop
            pass
    hook._jaxnag_interrupts = True
    sys.unraisablehook = hook


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
