"""The run folder's manifest, ``RUN_DIR/job.json``: what every reader of a job sees.

One small JSON file, always replaced atomically (temp file + fsync + rename through
:func:`core.checkpoint.atomic_write_bytes`), so a page rerun, another browser tab or another process
reading it while the job writes never sees half a file. Exactly one writer at a time: the starter
writes the "queued" manifest, then the job itself (its thread or its process) owns it.

Files of a run folder::

    job.json   the manifest (this module)
    job.log    the job's output: a process job's stdout+stderr, a thread job's log lines and traceback
    cancel     present = cancellation requested (a file, so any process can ask)
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.checkpoint import atomic_write_bytes

JOB_FILE = "job.json"
LOG_FILE = "job.log"
CANCEL_FILE = "cancel"
LOCK_FILE = ".job.lock"
MANIFEST_VERSION = 1

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ACTIVE_STATES = (QUEUED, RUNNING)
FINAL_STATES = (DONE, FAILED, CANCELLED)
RUNNERS = ("thread", "process")
MAX_RESULT_BYTES = 64 * 1024  # the summary is for pages to show, not a data channel


@dataclass
class Progress:
    done: float = 0              # units finished
    total: float | None = None   # units expected (None: unknown, no fraction or ETA)
    unit: str = ""               # "images", "steps", "frames" ...
    message: str = ""            # one line for the page ("render: 40/120 frames, 18 fps")

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(max(self.done / self.total, 0.0), 1.0)


@dataclass
class JobStatus:
    """A job as read from its run folder, with the reader's own check of whether its owner still lives."""

    run_dir: Path
    job_id: str
    kind: str                    # what the job does ("scan", "dcgan-train", "animate" ...)
    runner: str                  # "thread" or "process"
    state: str                   # queued / running / done / failed / cancelled
    started: float               # time.time() when the job was started
    updated: float               # time.time() of the last manifest write
    finished: float | None = None
    pid: int | None = None       # the process running the job (the server's own pid for a thread job)
    pid_start: int | None = None  # that process's start time (guards against pid reuse)
    thread: str | None = None    # the thread's name, for thread jobs
    args: list[str] | None = None  # python arguments, for process jobs
    progress: Progress = field(default_factory=Progress)
    eta_s: float | None = None   # seconds left as estimated at ``updated``
    error: str | None = None     # one line, for failed (and interrupted) jobs
    exit_code: int | None = None  # process jobs
    result: Any = None           # the small JSON summary the job recorded
    # Set by the reader, never stored:
    owner_alive: bool = False    # the owning process/thread exists right now
    interrupted: bool = False    # the manifest said active but its owner is gone (reported as failed)

    @property
    def is_active(self) -> bool:
        """Still running, or (process jobs) the process has recorded its end but not exited yet.

        A process that is shutting down may still hold a GPU, locks or files, so a new job in the same
        folder must wait for it to be gone.
        """
        if not self.owner_alive:
            return False
        return self.state in ACTIVE_STATES or self.runner == "process"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def fraction(self) -> float | None:
        return self.progress.fraction

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.time()) - self.started

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Seconds left now: the job's last estimate, aged by the time since it was written."""
        if self.eta_s is None or self.state not in ACTIVE_STATES:
            return None
        return max(self.eta_s - ((now or time.time()) - self.updated), 0.0)

    def describe(self) -> str:
        """One line for a page or a terminal: "running: 12/40 images, about 8 s left"."""
        p = self.progress
        text = self.state
        if self.state in ACTIVE_STATES and p.total:
            text += f": {p.done:g}/{p.total:g} {p.unit}".rstrip()
            eta = self.eta_seconds()
            text += f", about {eta:.0f} s left" if eta is not None else ", estimating time left"
        if p.message and self.state in ACTIVE_STATES:
            text += f" ({p.message})"
        if self.error:
            text += f": {self.error}"
        return text


def one_line(text: object, limit: int = 500) -> str:
    """Errors are shown in one line on the pages; tracebacks go to the log."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def exception_line(e: BaseException) -> str:
    return one_line(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)


def summary_json(result: Any) -> Any:
    """``result`` if it is small plain JSON, else None (the in-memory object stays with the handle)."""
    if result is None:
        return None
    try:
        text = json.dumps(result, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return result if len(text) <= MAX_RESULT_BYTES else None


def new_manifest(job_id: str, kind: str, runner: str, **fields: Any) -> dict:
    assert runner in RUNNERS, runner
    now = time.time()
    data = {"version": MANIFEST_VERSION, "job_id": job_id, "kind": kind, "runner": runner,
            "state": QUEUED, "started": now, "updated": now, "finished": None, "pid": None,
            "pid_start": None, "thread": None, "args": None, "progress": asdict(Progress()),
            "eta_s": None, "error": None, "exit_code": None, "result": None}
    data.update(fields)
    return data


def write_manifest(run_dir: str | os.PathLike, data: dict) -> None:
    data["updated"] = time.time()
    atomic_write_bytes(Path(run_dir) / JOB_FILE, json.dumps(data, allow_nan=False).encode())


def read_manifest(run_dir: str | os.PathLike) -> dict | None:
    """The raw manifest, or None when there is none (or it is not JSON: never ours, we write atomically)."""
    try:
        data = json.loads((Path(run_dir) / JOB_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def status_from_manifest(run_dir: str | os.PathLike, data: dict) -> JobStatus:
    """Typed view of a manifest, without the liveness check (see ``control.read_job``).

    A manifest from before this layer (``{"pid", "args", "started"}`` only) reads as a process job in
    state "running"; the liveness check then reports it done or interrupted.
    """
    started = float(data.get("started") or 0.0)
    prog = data.get("progress") or {}
    return JobStatus(
        run_dir=Path(run_dir), job_id=str(data.get("job_id") or ""), kind=str(data.get("kind") or "process"),
        runner=data.get("runner") if data.get("runner") in RUNNERS else "process",
        state=str(data.get("state") or RUNNING), started=started,
        updated=float(data.get("updated") or started), finished=data.get("finished"),
        pid=data.get("pid"), pid_start=data.get("pid_start"), thread=data.get("thread"),
        args=data.get("args"),
        progress=Progress(done=prog.get("done", 0), total=prog.get("total"), unit=prog.get("unit", ""),
                          message=prog.get("message", "")),
        eta_s=data.get("eta_s"), error=data.get("error"), exit_code=data.get("exit_code"),
        result=data.get("result"))
