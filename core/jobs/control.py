"""The control side: read a job, ask it to cancel, wait for it, read its log, claim a run folder.

Everything here works from the run folder alone, so it works for any job from any process: the page
that started it, a rerun, another browser tab, a terminal (``python -m core.jobs status RUN_DIR``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from core.checkpoint import atomic_write_bytes
from core.jobs.liveness import same_process_alive, thread_alive
from core.jobs.manifest import (
    ACTIVE_STATES,
    CANCEL_FILE,
    DONE,
    FAILED,
    LOCK_FILE,
    LOG_FILE,
    JobStatus,
    read_manifest,
    status_from_manifest,
)


class JobBusyError(ValueError):
    """The run folder's job is still active. A ValueError so the CLI wrapper shows it as one line."""


def _owner_alive(st: JobStatus) -> bool:
    if st.runner == "thread" and st.pid == os.getpid():
        return thread_alive(st.thread)
    # A thread job of another live process: its threads cannot be seen from here, so trust the manifest.
    return same_process_alive(st.pid, st.pid_start)


def read_job(run_dir: str | os.PathLike) -> JobStatus | None:
    """The job of ``run_dir`` (None if none was ever started there), checked against reality.

    A manifest still saying queued/running whose process is gone (killed, crashed interpreter, server
    restarted under a thread job) is reported as failed with ``interrupted=True``.
    """
    data = read_manifest(run_dir)
    if data is None:
        return None
    st = status_from_manifest(run_dir, data)
    st.owner_alive = _owner_alive(st)
    if st.state in ACTIVE_STATES and not st.owner_alive:
        if "version" not in data:  # legacy manifest: the process never recorded how it ended
            st.state, st.progress.message = DONE, "ended (outcome not recorded by this older job)"
        else:
            who = f"thread {st.thread} of process {st.pid}" if st.runner == "thread" else f"process {st.pid}"
            st.state, st.interrupted = FAILED, True
            st.error = f"Interrupted: the job's {who} ended without recording a result (killed or crashed?)."
        st.finished = st.finished or st.updated
    return st


def request_cancel(run_dir: str | os.PathLike) -> None:
    """Ask the job to stop at its next check. Returns at once; use :func:`wait` to see it end."""
    atomic_write_bytes(Path(run_dir) / CANCEL_FILE, f"{time.time()}\n".encode())


def cancel_requested(run_dir: str | os.PathLike) -> bool:
    return (Path(run_dir) / CANCEL_FILE).exists()


def kill_job(run_dir: str | os.PathLike, sig: int = signal.SIGTERM) -> bool:
    """Cancel a process job that does not check for cancellation: signal its whole process group.

    The layer's launcher turns SIGTERM into a recorded "cancelled". Returns False if nothing was running.
    """
    st = read_job(run_dir)
    if st is None or st.runner != "process" or not st.is_active or not st.pid:
        return False
    request_cancel(run_dir)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(st.pid, sig)  # started with start_new_session: the job leads its own group
        return True
    return False


def wait(run_dir: str | os.PathLike, timeout: float | None = None, poll_s: float = 0.02) -> bool:
    """Wait until the job is no longer active; True if it ended within ``timeout`` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        st = read_job(run_dir)
        if st is None or not st.is_active:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def log_tail(run_dir: str | os.PathLike, lines: int = 20) -> str:
    try:
        return "\n".join((Path(run_dir) / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def last_log_line(run_dir: str | os.PathLike) -> str:
    for line in reversed(log_tail(run_dir, 40).splitlines()):
        if line.strip():
            return line.strip()
    return ""


@contextlib.contextmanager
def claim_run_dir(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold the run folder's start lock while checking it is free and writing the new "queued" manifest.

    Two starters racing for one folder (two tabs pressing "Scan" together) then cannot both win. The
    lock is held only while starting; the job itself is protected by its manifest and liveness.
    """
    import fcntl

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOCK_FILE, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            st = read_job(run_dir)
            if st is not None and st.is_active:
                raise JobBusyError(
                    f"Run folder {run_dir} already has an active {st.kind} job ({st.state}, pid {st.pid}); "
                    "cancel it or wait for it to finish before starting another.")
            with contextlib.suppress(FileNotFoundError):
                (run_dir / CANCEL_FILE).unlink()  # a cancel meant for the previous job
            yield run_dir
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
