"""Where a person's wait goes: stage timestamps of a page run, logged to stderr when asked for.

With ``CUSTOM_CAST_TIMING=1`` in the server's environment every :func:`stage` block writes one line

    cc-timing <stage> wall_ms=<w> cpu_ms=<c> start=<epoch s> end=<epoch s>

(``cpu_ms``: the calling thread's CPU time; ``start``/``end``: wall clock, comparable with a browser's
``performance.timeOrigin + performance.now()`` on the same machine) and every :func:`mark` one line
``cc-timing <name> at=<epoch s>``. Without it both cost one dictionary look-up. bench/bench_release_exact.py
reads these lines from the studio's log to split the morph slider's release -> exact face into stages.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "CUSTOM_CAST_TIMING"
PREFIX = "cc-timing"


def enabled() -> bool:
    return os.environ.get(ENV) == "1"


def _write(line: str) -> None:
    print(f"{PREFIX} {line}", file=sys.stderr, flush=True)


def mark(name: str) -> None:
    """One timestamp (e.g. the moment a script run starts)."""
    if enabled():
        _write(f"{name} at={time.time():.4f}")


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block: wall and this thread's CPU milliseconds, with its start and end on the wall clock."""
    if not enabled():
        yield
        return
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start, t0, c0, p0 = time.time(), time.perf_counter(), time.thread_time(), time.process_time()
    try:
        yield
    finally:
        wall, cpu, proc = time.perf_counter() - t0, time.thread_time() - c0, time.process_time() - p0
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0
        _write(f"{name} wall_ms={wall * 1000:.1f} cpu_ms={cpu * 1000:.1f} proc_cpu_ms={proc * 1000:.1f} "
               f"minflt={faults} start={start:.4f} end={start + wall:.4f}")


def parse(lines: list[str]) -> list[dict]:
    """The ``cc-timing`` lines of a log as dicts: ``{"stage": name, "wall_ms": .., "cpu_ms": .., "start": ..,
    "end": ..}`` or ``{"stage": name, "at": ..}``, in log order."""
    out = []
    for line in lines:
        if not line.startswith(PREFIX + " "):
            continue
        name, *fields = line.split()[1:]
        row: dict = {"stage": name}
        for f in fields:
            key, _, value = f.partition("=")
            try:
                row[key] = float(value)
            except ValueError:
                continue
        out.append(row)
    return out
