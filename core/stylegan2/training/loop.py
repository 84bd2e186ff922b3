"""The training run: :func:`train` drives a :class:`Trainer` to ``cfg.kimg`` and writes the run folder.

Run folder (rank 0 writes, every file atomically through :mod:`core.checkpoint`)::

    checkpoint.pt                 full training state, overwritten every snapshot (resume point)
    config.json                   the run's TrainConfig
    samples_<nimg>img.png         G_ema grid of seeds 0-15 at every snapshot (the sampler's seed rule)
    log.jsonl                     one JSON line every 10 steps

Callbacks get ``(event, trainer)`` with event ``"step"`` (after every step), ``"snapshot"`` (after a
checkpoint is written) or ``"end"``; they run in every process, e.g. to record per-rank state.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from core.checkpoint import CheckpointError, atomic_write_bytes, require_keys, safe_torch_load
from core.cli import UserError
from core.image.convert import png_bytes
from core.stylegan2.training.config import TrainConfig
from core.stylegan2.training.dataset import load_training_images
from core.stylegan2.training.distributed import world
from core.stylegan2.training.trainer import Trainer

TrainCallback = Callable[[str, Trainer], None]
SNAPSHOT_SEEDS = tuple(range(16))


def remove_stale_temp_files(run_dir: Path) -> int:
    """Delete ``.checkpoint.pt.*.tmp`` leftovers of a process killed mid-write; returns how many."""
    stale = list(run_dir.glob(".checkpoint.pt.*.tmp")) if run_dir.is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return len(stale)


def train(cfg: TrainConfig, data: str | os.PathLike | np.ndarray, run_dir: str | os.PathLike,
          resume: bool = False, log: Callable[[str], None] = print, overwrite: bool = False,
          callbacks: Sequence[TrainCallback] = (),
          requested: dict[str, tuple[str, Any]] | None = None, device: str = "cpu") -> Trainer:
    """Train until ``cfg.kimg``; checkpoint to ``run_dir/checkpoint.pt`` every ``snapshot_kimg``.

    With ``resume`` the run continues from ``run_dir/checkpoint.pt`` (its saved config wins, except
    ``kimg`` and ``snapshot_kimg``, which may change); ``requested`` (field -> (flag as typed, value))
    names the settings the user asked for, and those the saved config overrides are logged. ``device``:
    where the networks train (a resolved core.device choice; a run may resume on another device). Without
    ``resume``, a folder that already holds a checkpoint is refused unless ``overwrite``: a finished run
    is never replaced silently.
    """
    run_dir = Path(run_dir)
    ckpt_path = run_dir / "checkpoint.pt"
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"the run folder {run_dir} is a file")
    ckpt = None
    if resume and ckpt_path.exists():
        ckpt = safe_torch_load(ckpt_path)
        require_keys(ckpt, ["config", "G", "step"], "StyleGAN2 training", ckpt_path.name)
        if not isinstance(ckpt["config"], dict):
            raise CheckpointError(f"{ckpt_path.name}: its 'config' is not a dict.")
        try:
            saved = TrainConfig.from_dict(ckpt["config"])
        except TypeError as e:
            raise CheckpointError(f"{ckpt_path.name}: unreadable training config ({e}).") from None
        ignored = [f"{flag} (the run uses {field} = {getattr(saved, field)})"
                   for field, (flag, value) in (requested or {}).items()
                   if hasattr(saved, field) and getattr(saved, field) != value]
        if ignored:
            log(f"notice: resuming with the run's saved config; ignoring {', '.join(ignored)}")
        saved.kimg, saved.snapshot_kimg = cfg.kimg, cfg.snapshot_kimg
        cfg = saved.validate(CheckpointError)
    elif ckpt_path.exists() and not overwrite:
        raise UserError(f"{run_dir} already holds a training run (checkpoint.pt); pass --resume to continue "
                        "it or --overwrite to start over")
    cfg.validate()
    if world()[0] == 0:  # an unwritable run folder fails here, before data loading and model building
        run_dir.mkdir(parents=True, exist_ok=True)
    images = data if isinstance(data, np.ndarray) else load_training_images(
        data, cfg.resolution, cfg.max_images, warn=lambda msg: log(f"notice: {msg}"))
    trainer = Trainer(cfg, images, run_dir, device=device)
    if ckpt is not None:
        trainer.load_state_dict(ckpt, ckpt_path.name)
        log(f"resumed from {ckpt_path} at {trainer.cur_nimg / 1000:.2f} kimg")
    if trainer.rank == 0:
        remove_stale_temp_files(run_dir)
        atomic_write_bytes(run_dir / "config.json", json.dumps(asdict(cfg), indent=1).encode())
    t0 = time.time()
    next_snap = (math.floor(trainer.cur_nimg / (cfg.snapshot_kimg * 1000)) + 1) * cfg.snapshot_kimg * 1000
    log_path = run_dir / "log.jsonl"
    while trainer.cur_nimg < cfg.kimg * 1000:
        stats = trainer.train_step()
        if trainer.rank == 0 and (trainer.step % 10 == 0 or trainer.step == 1):
            rec = dict(step=trainer.step, kimg=round(trainer.cur_nimg / 1000, 3),
                       sec=round(time.time() - t0, 1),
                       loss_g=round(stats.loss_g, 4), loss_d=round(stats.loss_d, 4),
                       real=round(stats.real_logit, 3), fake=round(stats.fake_logit, 3),
                       p=round(stats.augment_p, 4), r1=stats.r1_penalty, pl=stats.pl_penalty)
            log(json.dumps(rec))
            with open(log_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
        for callback in callbacks:
            callback("step", trainer)
        done = trainer.cur_nimg >= cfg.kimg * 1000
        if trainer.cur_nimg >= next_snap or done:
            next_snap += cfg.snapshot_kimg * 1000
            trainer.save(ckpt_path)
            if trainer.rank == 0:
                atomic_write_bytes(run_dir / f"samples_{trainer.cur_nimg:08d}img.png",
                                   png_bytes(trainer.sample_grid(SNAPSHOT_SEEDS)))
            for callback in callbacks:
                callback("snapshot", trainer)
    for callback in callbacks:
        callback("end", trainer)
    return trainer
