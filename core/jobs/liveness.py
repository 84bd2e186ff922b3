"""Is the process (or thread) that owns a job still there?

A manifest saying "running" is only a claim: the process that wrote it may have been killed (kill -9,
OOM killer, a restarted server) without recording anything. Readers therefore check the owner: the pid
must be alive, must not be a zombie, and must be the same process that started the job (its start time
in /proc guards against the pid having been reused by an unrelated process since).
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

# Popen handles of children started by this process: polling them reaps zombies, which would otherwise
# keep answering kill(0) until this (long-lived Streamlit) process exits.
_CHILDREN: dict[int, subprocess.Popen] = {}
# Names of job threads of this process that have not finished (a thread is registered before it starts,
# so a reader never mistakes a just-queued thread job for a dead one).
_LIVE_THREADS: set[str] = set()
_LIVE_LOCK = threading.Lock()


def remember_child(proc: subprocess.Popen) -> None:
    _CHILDREN[proc.pid] = proc


def _proc_stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may itself contain spaces and parens)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start_ticks(pid: int | None) -> int | None:
    """When ``pid`` started, in clock ticks since boot (Linux); None where /proc is unavailable."""
    if not pid:
        return None
    fields = _proc_stat_fields(pid)
    try:
        return int(fields[19]) if fields else None  # field 22 of stat; we dropped pid and comm
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int | None) -> bool:
    """True if ``pid`` is a live (non-zombie) process."""
    if not pid:
        return False
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _proc_stat_fields(pid)  # a zombie still answers kill(0)
    return not fields or fields[0] != "Z"


def same_process_alive(pid: int | None, start_ticks: int | None) -> bool:
    """``pid`` is alive and, when its start time was recorded, is still the same process."""
    if not pid_alive(pid):
        return False
    if start_ticks is None:
        return True
    now = process_start_ticks(pid)
    return now is None or now == start_ticks


def thread_started(name: str) -> None:
    with _LIVE_LOCK:
        _LIVE_THREADS.add(name)


def thread_ended(name: str) -> None:
    with _LIVE_LOCK:
        _LIVE_THREADS.discard(name)


def thread_alive(name: str | None) -> bool:
    """A job thread of *this* process that has not finished yet."""
    if not name:
        return False
    with _LIVE_LOCK:
        if name in _LIVE_THREADS:
            return True
    return any(t.name == name for t in threading.enumerate())
