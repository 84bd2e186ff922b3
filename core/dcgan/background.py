"""Training as a background job the page can leave and find again (through core.jobs)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from core.checkpoint import atomic_write_bytes
from core.dcgan.config import TrainConfig
from core.dcgan.run_dir import (
    CHECKPOINT_NAME,
    STATUS_NAME,
    RunBusyError,
    read_json,
    run_is_busy,
    set_control,
    write_json_atomic,
)

REQUESTED_CONFIG_NAME = "requested_config.json"


def start_training(data: str | os.PathLike, run_dir: str | os.PathLike, cfg: TrainConfig | None = None,
                   resume: bool = False, overwrite: bool = False) -> int:
    """Launch ``python -m core.dcgan train`` as a background job for ``run_dir``; returns its pid.

    The job lives on after page reruns and browser sessions end; control it with ``set_control``
    and read it back with :func:`run_state`. Raises RunBusyError if the folder already has a live run.
    """
    from core import jobs

    run_dir = Path(run_dir)
    if run_is_busy(run_dir):
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
    write_json_atomic(run_dir / STATUS_NAME, {"state": "starting", "step": None, "time": time.time(),
                                              "message": "Starting the training process..."})
    set_control(run_dir, "run")
    return jobs.start_job(args, run_dir)


def run_state(run_dir: str | os.PathLike) -> dict:
    """The run's status.json, corrected when its process died without saying so."""
    from core import jobs

    run_dir = Path(run_dir)
    status = read_json(run_dir / STATUS_NAME) or {"state": "empty", "message": "No run in this folder yet."}
    alive = jobs.job_alive(run_dir) or run_is_busy(run_dir)
    status["alive"] = alive
    if status.get("state") in ("starting", "running", "paused") and not alive:
        info = jobs.job_info(run_dir) or {}
        if status.get("state") != "starting" or time.time() - info.get("started", 0) > 2:
            status["state"] = "crashed"
            status["message"] = ("The training process ended unexpectedly. Last log lines:\n"
                                 + jobs.log_tail(run_dir, 8))
    status["has_checkpoint"] = (run_dir / CHECKPOINT_NAME).exists()
    return status
