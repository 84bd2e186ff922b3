"""Thread jobs: work that runs inside the server process (scans, animation) yet outlives page reruns.

The manifest in the run folder is what pages read; the :class:`ThreadJob` handle additionally hands the
in-memory result (a ScanResult with its crops, an AnimationResult) to code in the same process. Handles
are kept in a process-wide registry by run folder, so a rerun that lost its local variables finds the
job again with :func:`get_thread_job` (Streamlit's cache_resource registries become unnecessary).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from core.jobs.context import JobContext, bind_thread
from core.jobs.control import claim_run_dir, read_job
from core.jobs.eta import EtaEstimator
from core.jobs.liveness import process_start_ticks, thread_ended, thread_started
from core.jobs.manifest import JobStatus, new_manifest, summary_json, write_manifest
from core.jobs.priority import mark_background

T = TypeVar("T")

_REGISTRY: dict[Path, ThreadJob] = {}
_REGISTRY_LOCK = threading.Lock()


class ThreadJob(Generic[T]):
    """Handle of a thread job started by this process."""

    def __init__(self, run_dir: Path, ctx: JobContext, thread_name: str):
        self.run_dir = run_dir
        self.context = ctx
        self.thread_name = thread_name
        self.result: T | None = None           # what the work function returned (in-memory, this process)
        self.exception: BaseException | None = None
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        return self._ended.is_set()

    def status(self) -> JobStatus:
        st = read_job(self.run_dir)
        assert st is not None, f"manifest of {self.run_dir} disappeared"
        return st

    def cancel(self) -> None:
        """Ask the work to stop; it sees the request at its next ``cancelled()`` check."""
        self.context.request_cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the work has ended and its end is recorded in the manifest."""
        return self._ended.wait(timeout)


def _run(job: ThreadJob, fn: Callable[[JobContext], Any], summarize: Callable[[Any], Any] | None) -> None:
    ctx = job.context
    bind_thread(ctx)
    mark_background()  # its renders step aside while a person waits for one (core.jobs.priority)
    try:
        ctx.start()
        try:
            job.result = fn(ctx)
        except BaseException as e:  # noqa: BLE001 - recorded for the page instead of dying silently
            job.exception = e
            ctx.finish(e)
        else:
            if summarize is not None:
                ctx.set_result(summarize(job.result))
            elif not ctx.has_result:
                ctx.set_result(summary_json(job.result))
            ctx.finish()
    except Exception as e:  # noqa: BLE001 - e.g. the disk filled while writing the manifest
        job.exception = job.exception or e
    finally:
        bind_thread(None)
        thread_ended(job.thread_name)
        job._ended.set()


def start_thread_job(run_dir: str | os.PathLike, fn: Callable[[JobContext], T], *, kind: str,
                     summarize: Callable[[T], Any] | None = None,
                     eta: EtaEstimator | None = None) -> ThreadJob[T]:
    """Run ``fn(ctx)`` in a daemon thread as the job of ``run_dir``.

    ``fn`` reports through ``ctx.progress`` and checks ``ctx.raise_if_cancelled()``; its return value is
    kept in ``handle.result`` and, through ``summarize(result)`` (or as is, when it is small JSON), in
    the manifest's ``result``. Raises :class:`JobBusyError` if the folder's job is still active.
    """
    with claim_run_dir(run_dir) as run_dir:
        job_id = uuid.uuid4().hex[:12]
        name = f"job-{kind}-{job_id}"
        pid = os.getpid()
        manifest = new_manifest(job_id, kind, "thread", pid=pid, pid_start=process_start_ticks(pid),
                                thread=name)
        job: ThreadJob[T] = ThreadJob(run_dir, JobContext(str(run_dir), manifest, eta=eta), name)
        thread_started(name)  # before the manifest exists, so no reader ever sees it as dead
        try:
            write_manifest(run_dir, manifest)
        except BaseException:
            thread_ended(name)
            raise
        job._thread = threading.Thread(target=_run, args=(job, fn, summarize), daemon=True, name=name)
        with _REGISTRY_LOCK:
            _REGISTRY[run_dir.resolve()] = job
        job._thread.start()
    return job


def get_thread_job(run_dir: str | os.PathLike) -> ThreadJob | None:
    """The latest thread job this process started in ``run_dir`` (None after a server restart)."""
    with _REGISTRY_LOCK:
        return _REGISTRY.get(Path(run_dir).resolve())


def forget_thread_job(run_dir: str | os.PathLike) -> None:
    """Drop the handle (and with it the in-memory result) once the page has taken what it needs."""
    with _REGISTRY_LOCK:
        _REGISTRY.pop(Path(run_dir).resolve(), None)

