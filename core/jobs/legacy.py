"""The original ``core.jobs`` functions, kept with their behaviour while callers move to the layer.

No project code calls them any more (scans, training, animations and show prepare use the layer); they
stay as thin wrappers for scripts written against the old names, and the manifest keeps the old keys
(``pid``, ``args``, ``started``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from core.jobs.control import read_job, wait
from core.jobs.manifest import read_manifest
from core.jobs.process import start_process_job


def start_job(args: Sequence[str], run_dir: str | os.PathLike, env: dict[str, str] | None = None) -> int:
    """Start ``python <args>`` from the project root in a new session; output goes to RUN_DIR/job.log."""
    return start_process_job(run_dir, args, kind="process", env=env)


def job_info(run_dir: str | os.PathLike) -> dict | None:
    """The raw manifest (a dict with at least ``pid``, ``args``, ``started``), or None."""
    return read_manifest(run_dir)


def job_alive(run_dir: str | os.PathLike) -> bool:
    st = read_job(run_dir)
    return st is not None and st.is_active


def wait_job(run_dir: str | os.PathLike, timeout: float) -> bool:
    """Wait until the run folder's job exits; True if it did within ``timeout`` seconds."""
    return wait(run_dir, timeout, poll_s=0.1)
