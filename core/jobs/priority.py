"""Foreground first: a render a person waits for gets the cores; background renders step aside meanwhile.

On a 2-core box a background thread that keeps a core busy, even at nice 10, takes slices of a core from
one of a two-thread foreground render's OpenMP threads (the other then waits at the op's barrier), and
holds the GIL at times the foreground's thread needs it. Niceness shrinks that; not running removes it
(bench/bench_foreground_render.py; docs/photoreal.md, "Foreground renders first").

* A foreground render runs inside :func:`foreground` (``core.stylegan2.synthesize`` does this for every
  thread not marked background). Several may run at once (several sessions); the gate is closed while
  any does.
* Background threads are marked with :func:`mark_background` (the workers of
  :class:`~core.jobs.KeyedRenderer` and thread jobs are). Their render loops call
  :func:`yield_to_foreground` between frames and between synthesis blocks: a cheap check that returns
  at once when no foreground render runs, and otherwise waits until none does. The work then resumes
  where it stopped, so nothing is lost or done twice. In any thread not marked it is a no-op, so the
  foreground never waits for itself.

Process-wide (one server process); :func:`set_enabled` (False) turns the waiting off (benchmarks'
baseline).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_cond = threading.Condition()
_local = threading.local()
_state = {"foreground": 0, "waiting": 0, "waits": 0, "waited_s": 0.0, "enabled": True}


def mark_background(on: bool = True) -> None:
    """Mark the calling thread as background work: its :func:`yield_to_foreground` calls wait."""
    _local.background = on


def is_background() -> bool:
    return getattr(_local, "background", False)


@contextmanager
def background() -> Iterator[None]:
    """The calling thread is background work inside the block (restored after it)."""
    before = is_background()
    mark_background(True)
    try:
        yield
    finally:
        mark_background(before)


@contextmanager
def foreground() -> Iterator[None]:
    """A render a person waits for runs inside: background renders of this process pause meanwhile."""
    with _cond:
        _state["foreground"] += 1
    try:
        yield
    finally:
        with _cond:
            _state["foreground"] -= 1
            if not _state["foreground"]:
                _cond.notify_all()


def yield_to_foreground(cancel: threading.Event | None = None) -> float:
    """In a background thread, wait while any foreground render runs (or until ``cancel`` is set).
    Returns the seconds waited (0.0 at once when there is nothing to wait for, or in other threads)."""
    if not _state["foreground"] or not is_background() or not _state["enabled"]:
        return 0.0  # the common case: one dict read, no lock
    t0 = time.perf_counter()
    with _cond:
        _state["waiting"] += 1
        _cond.notify_all()  # for waiting_count() watchers (tests)
        try:
            while _state["foreground"] and _state["enabled"] and not (cancel is not None and cancel.is_set()):
                _cond.wait(0.25 if cancel is not None else None)
        finally:
            _state["waiting"] -= 1
            waited = time.perf_counter() - t0
            _state["waits"] += 1
            _state["waited_s"] += waited
    return waited


def set_enabled(on: bool) -> None:
    """Turn the gate on or off for the whole process (off: background work never waits)."""
    with _cond:
        _state["enabled"] = on
        _cond.notify_all()


def foreground_running() -> bool:
    return _state["foreground"] > 0


def waiting_count() -> int:
    """Background threads waiting at the gate now."""
    return _state["waiting"]


def wait_for_waiters(count: int, timeout: float) -> bool:
    """Block until at least ``count`` background threads wait at the gate (tests), at most ``timeout`` s."""
    with _cond:
        return _cond.wait_for(lambda: _state["waiting"] >= count, timeout)


def stats() -> tuple[int, float]:
    """(times background work waited, seconds it waited in all) since the process started."""
    return _state["waits"], _state["waited_s"]
