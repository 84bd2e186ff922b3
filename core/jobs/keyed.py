"""Keyed background rendering: small, short-lived results (e.g. the drag frames of a morph) computed on one
low-priority worker thread, found again by a string key, latest wins.

Unlike a thread job (:mod:`core.jobs.threads`) nothing is written to disk: the results are cheap to redo,
shared by every session of the process (same key, same result), and only the newest ``keep`` are kept.
A job that nobody waits for any more is stopped (its ``cancel`` event is set) so new work is not queued
behind it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from core.jobs.priority import mark_background

Work = Callable[[threading.Event], object]


def _low_priority() -> None:
    # Background work: it steps aside while a foreground render runs (core.jobs.priority; niceness alone
    # does not stop it slowing a two-thread render many-fold).
    mark_background()
    # Linux nices threads one by one: at nice 10 the background work gets ~10 % of a core that foreground
    # work (nice 0) also wants, so it never holds that up, yet still finishes on a busy box.
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: plain priority
        pass


class KeyedRenderer:
    """Background work keyed by a string: ``workers`` threads (one by default, so it never takes every core
    from the foreground), the newest ``keep`` jobs kept, older ones stopped and forgotten. With
    ``low_priority`` (the default) the workers run at nice 10 and are background threads of
    :mod:`core.jobs.priority`: their renders pause while a foreground render runs."""

    def __init__(self, keep: int = 24, workers: int = 1, name: str = "keyed", low_priority: bool = True):
        if keep < 1 or workers < 1:
            raise ValueError("keep and workers must be at least 1")
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name,
                                       initializer=_low_priority if low_priority else None)
        self.jobs: OrderedDict[str, tuple[Future, threading.Event]] = OrderedDict()
        self.lock = threading.Lock()
        self.keep = keep

    def get(self, key: str, work: Work) -> Future:
        """The job of ``key``, started with ``work(cancel_event)`` unless it exists and was not stopped.
        ``work`` should return early (e.g. None) once ``cancel_event`` is set."""
        with self.lock:
            job = self.jobs.get(key)
            if job is not None and not job[1].is_set():
                self.jobs.move_to_end(key)
                return job[0]
            cancel = threading.Event()
            future = self.pool.submit(work, cancel)
            self.jobs[key] = (future, cancel)
            while len(self.jobs) > self.keep:
                _, (old, old_cancel) = self.jobs.popitem(last=False)
                old_cancel.set()
                old.cancel()
            return future

    def result(self, key: str) -> Future | None:
        """The job of ``key`` if there is one (running, done or stopped), without starting anything."""
        with self.lock:
            job = self.jobs.get(key)
            return None if job is None else job[0]

    def drop(self, key: str) -> None:
        """Stop a job nobody waits for any more (a finished one stays: another session may want it; a
        stopped one is started again by the next :meth:`get`)."""
        with self.lock:
            job = self.jobs.get(key)
            if job is not None and not job[0].done():
                job[1].set()
                job[0].cancel()

    def shutdown(self) -> None:
        """Stop everything not yet finished and let the worker threads end (tests; process exit)."""
        with self.lock:
            for future, cancel in self.jobs.values():
                cancel.set()
                future.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)
