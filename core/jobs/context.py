"""The work side: what a job's code uses to report progress, see a cancel request and record its end.

Thread jobs receive their :class:`JobContext` as the argument of their function; code running inside a
process job started by this layer (and any helper deep in the call stack of either) gets it from
:func:`current_context`. Outside a job, ``current_context()`` is a detached context that records
nothing and is never cancelled, so core functions can report progress unconditionally.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from core.jobs.control import request_cancel
from core.jobs.eta import EtaEstimator
from core.jobs.manifest import (
    CANCEL_FILE,
    CANCELLED,
    DONE,
    FAILED,
    LOG_FILE,
    RUNNING,
    exception_line,
    read_manifest,
    summary_json,
    write_manifest,
)

WRITE_INTERVAL_S = 0.25  # at most 4 manifest writes per second: each one is an fsync


def _plain_number(x: float) -> int | float:
    """Plain int/float for JSON (callers pass numpy scalars too); NaN/inf become 0."""
    x = float(x)
    if not math.isfinite(x):
        return 0
    return int(x) if x.is_integer() else x


class JobCancelled(Exception):
    """Raised by :meth:`JobContext.raise_if_cancelled`; a job ending with it is recorded as cancelled.

    Families with their own cancel exception (``ScanCancelled``, ``AnimationCancelled``) can subclass it.
    """


class CancelFlag:
    """``threading.Event``-like view of the cancel request, for code that takes ``cancel: Event``."""

    def __init__(self, ctx: JobContext):
        self._ctx = ctx

    def is_set(self) -> bool:
        return self._ctx.cancelled()

    def set(self) -> None:
        self._ctx.request_cancel()


class JobContext:
    """Reporter for one job. Only the job's own thread/process calls it; readers use the manifest."""

    def __init__(self, run_dir: str | None, manifest: dict | None = None, log_to_stderr: bool = False,
                 eta: EtaEstimator | None = None):
        # run_dir None: a detached context (not inside a job); every call is a cheap no-op.
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._data = manifest if manifest is not None else {}
        self._log_to_stderr = log_to_stderr  # a process job's stderr already is the log file
        self._eta = eta or EtaEstimator(window_s=60.0, smooth_s=90.0)
        self._last_write = 0.0
        self._cancel_event = threading.Event()  # same-process cancel, seen without touching the disk
        self.saw_cancel = False  # the job observed the request: a normal return then means "cancelled"

    # -- progress --------------------------------------------------------------------------------

    def progress(self, done: float, total: float | None = None, message: str = "", *,
                 unit: str | None = None, eta_s: float | None = None) -> None:
        """Report ``done`` of ``total`` units. Cheap to call often: the manifest is rewritten at most 4 times
        a second (and whenever the job reaches its total). ``eta_s`` overrides the estimate for callers
        that know better (e.g. weighted multi-stage runs); otherwise it comes from the recent rate."""
        if self.run_dir is None:
            return
        done, total = _plain_number(done), None if total is None else _plain_number(total)
        estimate = self._eta.update(done, total)
        prog = self._data.setdefault("progress", {})
        prog.update(done=done, total=total, message=str(message))
        if unit is not None:
            prog["unit"] = str(unit)
        given = eta_s is not None and math.isfinite(eta_s)  # NaN/inf mean "unknown" (and are not JSON)
        self._data["eta_s"] = max(float(eta_s), 0.0) if given else estimate
        now = time.monotonic()
        if now - self._last_write >= WRITE_INTERVAL_S or (total is not None and done >= total):
            try:
                self._flush(now)
            except OSError:  # progress is best effort: a full disk must not kill the work itself
                self._last_write = now

    def set_result(self, summary: Any) -> None:
        """The small JSON summary pages show when the job is done (e.g. ``{"faces": 312, "kept": 290}``)."""
        if self.run_dir is None:
            return
        self._data["result"] = summary_json(summary)  # written with the next progress report or the end

    @property
    def has_result(self) -> bool:
        return self._data.get("result") is not None

    def log(self, message: str) -> None:
        """A line in RUN_DIR/job.log (for thread jobs, whose print() goes to the server's terminal)."""
        if self.run_dir is None:
            return
        line = f"{time.strftime('%H:%M:%S')} {message}\n"
        if self._log_to_stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
        else:
            with open(self.run_dir / LOG_FILE, "a", encoding="utf-8") as f:
                f.write(line)

    # -- cancellation ----------------------------------------------------------------------------

    def cancelled(self) -> bool:
        if self.run_dir is None:
            return False
        if self._cancel_event.is_set() or (self.run_dir / CANCEL_FILE).exists():
            self._cancel_event.set()
            self.saw_cancel = True
            return True
        return False

    def raise_if_cancelled(self) -> None:
        if self.cancelled():
            raise JobCancelled("cancelled")

    def request_cancel(self) -> None:
        """Cancel from inside the job's own process (the control side uses ``request_cancel(run_dir)``)."""
        self._cancel_event.set()
        if self.run_dir is not None:
            request_cancel(self.run_dir)

    @property
    def cancel_flag(self) -> CancelFlag:
        return CancelFlag(self)

    # -- lifecycle (called by the layer's thread runner and process launcher) ---------------------

    def adopt(self, pid: int, timeout_s: float = 5.0) -> None:
        """Take over the manifest the starter wrote for process ``pid`` (waiting briefly for it to appear:
        the starter writes it right after spawning us), so that there is only ever one writer."""
        deadline = time.monotonic() + timeout_s
        while True:
            data = read_manifest(self.run_dir)
            if (data and data.get("pid") == pid) or time.monotonic() >= deadline:
                break
            time.sleep(0.005)
        self._data = data or {}

    def start(self, **fields: Any) -> None:
        self._data.update(state=RUNNING, **fields)
        self._flush()

    def finish(self, error: BaseException | str | None = None, exit_code: int | None = None) -> str:
        """Record the end: done, cancelled (JobCancelled, or any ending after the job saw a cancel request)
        or failed with a one-line error. The traceback, if any, goes to the log. Returns the state."""
        if isinstance(error, JobCancelled) or (error is not None and self.cancelled()):
            state, line = CANCELLED, None
        elif error is not None:
            state = FAILED
            line = exception_line(error) if isinstance(error, BaseException) else str(error)
            if isinstance(error, BaseException):
                self.log("".join(traceback.format_exception(error)).rstrip())
        else:
            state, line = (CANCELLED if self.saw_cancel else DONE), None
        if state == DONE:
            prog = self._data.setdefault("progress", {})
            if prog.get("total") is not None:
                prog["done"] = prog["total"]
        self._data.update(state=state, error=line, exit_code=exit_code, finished=time.time(), eta_s=None)
        self._flush()
        return state

    def _flush(self, now: float | None = None) -> None:
        if self.run_dir is None:
            return
        write_manifest(self.run_dir, self._data)
        self._last_write = time.monotonic() if now is None else now


_DETACHED = JobContext(None)
_local = threading.local()
_process_context: JobContext | None = None


def current_context() -> JobContext:
    """The context of the job this code runs in (this thread's, else this process's), else a no-op one."""
    return getattr(_local, "ctx", None) or _process_context or _DETACHED


def bind_thread(ctx: JobContext | None) -> None:
    _local.ctx = ctx


def bind_process(ctx: JobContext | None) -> None:
    global _process_context
    _process_context = ctx
