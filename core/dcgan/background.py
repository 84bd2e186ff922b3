"""Training as a background job of the shared job layer (core.jobs), which the page can leave and find again.

The job is ``python -m core.dcgan train ...`` started by ``core.jobs.start_process_job`` (kind
``dcgan-train``) in the run folder itself. The layer records its process, its progress in steps (reported
by the trainer), the time left, how it ended and a one-line error in ``RUN_DIR/job.json``, and notices
a process killed without a word. Its cancel is the Stop control: the trainer checkpoints, then stops.
Pausing, which the layer lacks, goes through ``RUN_DIR/control.json``; ``run.lock`` still marks a folder
busy when a run was started from a terminal or by torchrun (no job manifest then).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from core import jobs
from core.checkpoint import atomic_write_bytes
from core.dcgan.config import TrainConfig
from core.dcgan.run_dir import (
    CHECKPOINT_NAME,
    STATUS_NAME,
    RunBusyError,
    read_json,
    run_is_busy,
    set_control,
)

JOB_KIND = "dcgan-train"
REQUESTED_CONFIG_NAME = "requested_config.json"
ACTIVE_STATES = ("starting", "running", "paused")
FINAL_STATES = ("finished", "stopped", "nan", "failed", "crashed")


def start_training(data: str | os.PathLike, run_dir: str | os.PathLike, cfg: TrainConfig | None = None,
                   resume: bool = False, overwrite: bool = False) -> int:
    """Start ``python -m core.dcgan train`` as the background job of ``run_dir``; returns its pid.

    The job lives on after page reruns and browser sessions end; read it with :func:`run_state`, pause
    it with ``set_control(run_dir, "pause" | "run")`` and stop it with :func:`stop_training`. Raises
    RunBusyError if the folder already has a live run.
    """
    run_dir = Path(run_dir)
    job = jobs.read_job(run_dir)
    if (job is not None and job.is_active) or run_is_busy(run_dir):
        raise RunBusyError(f"Run folder {run_dir} is busy: a training process is already using it.")
    run_dir.mkdir(parents=True, exist_ok=True)
    args = ["-m", "core.dcgan", "train", "--data", str(data), "--out", str(run_dir)]
    if cfg is not None:
        cfg.validate()
        atomic_write_bytes(run_dir / REQUESTED_CONFIG_NAME, json.dumps(asdict(cfg)).encode())
        args += ["--config", str(run_dir / REQUESTED_CONFIG_NAME)]
    if resume:
        args.append("--resume")
    if overwrite:
        args.append("--overwrite")
    set_control(run_dir, "run")  # a pause left by an earlier session must not hold the new process
    try:
        return jobs.start_process_job(run_dir, args, kind=JOB_KIND)
    except jobs.JobBusyError as e:  # another tab started one a moment ago
        raise RunBusyError(str(e)) from None


def stop_training(run_dir: str | os.PathLike) -> None:
    """Ask the run to checkpoint and stop (the job layer's cancel; terminal and torchrun runs obey it too)."""
    jobs.request_cancel(run_dir)


def training_data(run_dir: str | os.PathLike) -> str | None:
    """The ``--data`` the folder's last job trained on (to continue it), or None."""
    job = jobs.read_job(run_dir)
    args = list(job.args or []) if job is not None else []
    return args[args.index("--data") + 1] if "--data" in args[:-1] else None


def run_state(run_dir: str | os.PathLike) -> dict:
    """What the page shows: the trainer's ``status.json`` read together with the job layer's manifest.

    Keys: ``state`` (empty, starting, running, paused, finished, stopped, nan, failed or crashed),
    ``step``, ``steps``, ``images_per_s``, ``message``, ``alive`` (a process works in the folder),
    ``eta_s`` (seconds left while running, the layer's estimate), ``has_checkpoint`` and ``job`` (the
    ``core.jobs.JobStatus``, None for a run started from a terminal).
    """
    run_dir = Path(run_dir)
    status = read_json(run_dir / STATUS_NAME) or {}
    job = jobs.read_job(run_dir)
    lock_held = run_is_busy(run_dir)
    state = status.get("state", "empty")
    message = status.get("message") or ("No run in this folder yet." if state == "empty" else "")
    if job is not None:
        # The trainer's status counts only if this job wrote it (not the run the job continues).
        ours = float(status.get("time") or 0) >= job.started
        if job.is_active:
            if not ours:
                state, message = "starting", "Starting the training process (loading images and models)..."
        elif ours and state in FINAL_STATES:
            pass  # the trainer's own account (finished, stopped, nan, failed) says most
        elif job.interrupted:
            state = "crashed"
            message = f"{job.error} Last log lines:\n{jobs.log_tail(run_dir, 8)}"
        elif job.state == jobs.FAILED:
            state, message = "failed", job.error or "The training process failed."
        elif job.state == jobs.CANCELLED:
            state, message = "stopped", f"Stopped at step {status.get('step') or 0}."
        elif not ours:
            state, message = "finished", "The training process ended."
    elif state in ACTIVE_STATES and not lock_held:
        # Started from a terminal: no manifest, and the process that said "running" holds no lock.
        state, message = "crashed", "The training process ended without saying so (killed?)."
    alive = lock_held or (job is not None and job.is_active)
    return {
        **status, "state": state, "message": message, "alive": alive,
        "eta_s": job.eta_seconds() if job is not None and state == "running" else None,
        "has_checkpoint": (run_dir / CHECKPOINT_NAME).exists(), "job": job,
    }
