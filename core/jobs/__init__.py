"""Background jobs: one layer for thread jobs (scans, animation) and process jobs (training) alike.

A job owns a run folder. Its manifest ``RUN_DIR/job.json`` (kind, state, pid/thread, timestamps,
progress, ETA, one-line error, small JSON result) is rewritten atomically by the job and read by
anyone: a page rerun, another browser tab, another process, ``python -m core.jobs status RUN_DIR``.
Cancelling is a ``cancel`` file in the folder, so it works across processes. Readers check the owner
is still alive, so a job killed without a word is reported as failed (interrupted), not "running".

Work side:    ``JobContext`` (``progress``, ``cancelled``, ``raise_if_cancelled``, ``set_result``, ``log``),
              given to thread functions and returned by ``current_context()`` inside process jobs.
Control side: ``start_thread_job``, ``start_process_job``, ``read_job`` -> ``JobStatus``,
              ``request_cancel``, ``kill_job``, ``wait``, ``log_tail``.
Files: manifest (format), liveness (pids, threads), eta, context (work side), control (read/cancel/wait),
threads, process (+ the launcher in ``__main__``); keyed (in-memory background renders found by key,
latest wins: the sampler's drag frames); priority (foreground renders first: background threads
wait at ``yield_to_foreground`` while a render runs inside ``foreground``).
"""

from core.jobs.context import CancelFlag, JobCancelled, JobContext, current_context
from core.jobs.control import (
    JobBusyError,
    cancel_requested,
    kill_job,
    log_tail,
    read_job,
    request_cancel,
    wait,
)
from core.jobs.eta import EtaEstimator, spoken_time_left
from core.jobs.keyed import KeyedRenderer
from core.jobs.liveness import pid_alive
from core.jobs.manifest import (
    CANCEL_FILE,
    CANCELLED,
    DONE,
    FAILED,
    JOB_FILE,
    LOG_FILE,
    QUEUED,
    RUNNING,
    JobStatus,
    Progress,
)
from core.jobs.priority import background, foreground, is_background, yield_to_foreground
from core.jobs.process import start_process_job
from core.jobs.threads import ThreadJob, forget_thread_job, get_thread_job, start_thread_job

__all__ = [
    "CANCEL_FILE", "CANCELLED", "DONE", "FAILED", "JOB_FILE", "LOG_FILE", "QUEUED", "RUNNING",
    "CancelFlag", "EtaEstimator", "spoken_time_left",
    "JobBusyError", "JobCancelled", "KeyedRenderer", "JobContext", "JobStatus", "Progress",
    "ThreadJob", "background", "cancel_requested", "current_context", "foreground", "forget_thread_job",
    "get_thread_job", "is_background", "yield_to_foreground",
    "kill_job", "log_tail", "pid_alive", "read_job", "request_cancel",
    "start_process_job", "start_thread_job", "wait",
]
