"""Ctrl-C handling shared by the long commands (jaxnag.interrupts)."""

import gc
import signal
import sys
import time

import pytest

from jaxnag import interrupts


@pytest.fixture
def hooked(monkeypatch):
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)  # install() wraps it; given back after
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C raises (xdist's workers ignore it)
    interrupts.install()
    yield
    signal.signal(signal.SIGINT, previous)


def _drop_in_gc_callback(wait=True):
    """A KeyboardInterrupt raised inside a garbage-collection callback, as a SIGINT arriving while JAX's
    callback runs does: Python can only report it ("Exception ignored in ..."). With ``wait``, then wait for
    it to come again, at most 120 s (a guard against a hang, not a timing: a loaded CI machine delivered it
    after 10.9 s once)."""
    fired = []

    def on_collect(phase, info):
        if not fired:
            fired.append(phase)
            raise KeyboardInterrupt
    gc.callbacks.append(on_collect)
    try:
        gc.collect()
        deadline = time.monotonic() + (120 if wait else 0)
        while time.monotonic() < deadline:  # where the Ctrl-C raised again surfaces
            time.sleep(0.05)
    finally:
        gc.callbacks.remove(on_collect)
    assert fired


def test_a_dropped_ctrl_c_is_raised_again(hooked):
    """Without install(), this Ctrl-C was lost: a CI run of `jaxnag train` then trained on for minutes."""
    with pytest.raises(KeyboardInterrupt):
        _drop_in_gc_callback()  # nothing else raises it: a lost one ends the wait without an error


@pytest.mark.parametrize("posix", [True, False], ids=["pthread_kill", "no pthread_kill (Windows)"])
def test_inside_a_stop_flag_it_stops_the_loop(hooked, posix, monkeypatch):
    if not posix:
        monkeypatch.delattr(signal, "pthread_kill", raising=False)
    with interrupts.StopFlag(message=None) as stop:
        _drop_in_gc_callback(wait=False)
        deadline = time.perf_counter() + 10
        while not stop.raised and time.perf_counter() < deadline:  # StopFlag's handler records it: no raise
            time.sleep(0.01)
        assert stop.raised
        with pytest.raises(KeyboardInterrupt):
            stop.check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # StopFlag gave the handler back


def test_other_unraisable_errors_still_reach_the_previous_hook(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    interrupts.install()
    hook = sys.unraisablehook
    interrupts.install()
    assert sys.unraisablehook is hook  # idempotent: one hook, not a chain

    class Broken:
        def __del__(self):
            raise ValueError("boom")
    obj = Broken()
    del obj
    assert [type(u.exc_value) for u in seen] == [ValueError]
