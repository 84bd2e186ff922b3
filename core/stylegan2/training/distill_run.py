"""A teacher-stream run folder (:func:`train_distill`) and its portable resume file.

Run folder (every file written atomically through :mod:`core.checkpoint`)::

    checkpoint.pt          full state (exact resume), every ``checkpoint_minutes`` and on SIGTERM / Ctrl-C
    log.jsonl              one JSON line every ``log_every`` steps (kimg, img/s, losses)
    snapshots/sg2_<k>kimg.pt   exported G_ema every ``snapshot_minutes`` (pick the best with bench_quality)

Run folders are not in git and sessions end, so :func:`write_resume_file` writes a compact file that can
be committed (``checkpoints/training/``): G, D, G_ema, counters, config, RNG streams and, only when the
whole file stays within ``max_bytes``, the Adam moments. A file without them resumes as a warm restart:
weights, counters and streams exact, Adam's moments starting from zero.
"""

from __future__ import annotations

import io
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.checkpoint import (
    CheckpointError,
    atomic_torch_save,
    atomic_write_bytes,
    require_keys,
    safe_torch_load,
)
from core.cli import UserError
from core.stylegan2.training.config import DISTILL_SCHEDULE_FIELDS, DistillConfig
from core.stylegan2.training.distill import DISTILL_KIND, SCRATCH_KIND, TEACHER_NOTE, Distiller
from core.stylegan2.training.export import export_generator

RESUME_MAX_BYTES = 50 * 2 ** 20  # the repository's per-checkpoint limit


def convert_checkpoint(ckpt: dict[str, Any], name: str = "checkpoint") -> dict[str, Any]:
    """A teacher-stream checkpoint in this module's layout.

    Reads this module's own files unchanged and the first run's scratch-script files
    (``kind 'stylegan2-teacher-distill'``): the same G / D / G_ema tensor names and RNG streams, the
    hand-written Adam's ``{'t', 'exp_avg', 'exp_avg_sq'}`` (converted when the optimizers load) and
    config keys that are a superset of :class:`DistillConfig` (``threads`` is dropped).
    """
    require_keys(ckpt, ["config", "G", "G_ema", "D", "step", "cur_nimg", "rng"], "teacher-stream training",
                 name)
    if ckpt.get("kind") not in (DISTILL_KIND, SCRATCH_KIND):
        raise CheckpointError(f"{name} is a {ckpt.get('kind')!r} checkpoint, not a teacher-stream run "
                              "(use python -m core.stylegan2.training --data for dataset runs).")
    cfg = DistillConfig.from_dict(ckpt["config"]).validate(CheckpointError)
    return {**ckpt, "kind": DISTILL_KIND, "config": asdict(cfg), "generator_config": cfg.generator_kwargs()}


def load_run_state(path: str | os.PathLike) -> dict[str, Any]:
    """``path`` (checkpoint.pt or a resume file) read safely and converted."""
    path = Path(path)
    return convert_checkpoint(safe_torch_load(path), path.name)


def resolve_config(ckpt: dict[str, Any] | None, given: dict[str, Any]) -> DistillConfig:
    """The run's config: the stored one with ``given`` schedule fields applied, or ``given`` alone."""
    if ckpt is None:
        return DistillConfig(**given).validate()
    stored = DistillConfig.from_dict(ckpt["config"])
    bad = [k for k, v in given.items() if k not in DISTILL_SCHEDULE_FIELDS and v != getattr(stored, k)]
    if bad:
        raise UserError(f"cannot change {', '.join(bad)} of a stored run (only schedule fields may change)")
    return replace(stored, **given).validate()


def write_resume_file(ckpt: dict[str, Any], path: str | os.PathLike,
                      max_bytes: int = RESUME_MAX_BYTES) -> dict[str, Any]:
    """Write the compact resume file; returns ``{'bytes', 'exact'}`` (exact = Adam moments included)."""
    ckpt = convert_checkpoint(ckpt)
    # Sizes are those of the objects written, "resume" label included.
    compact = {k: v for k, v in ckpt.items() if k not in ("opt_G", "opt_D")}
    compact["notes"] = {"teacher": TEACHER_NOTE,
                        "written": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    compact["resume"] = "warm restart (no Adam moments)"
    exact = False
    if "opt_G" in ckpt and "opt_D" in ckpt:
        full = {**ckpt, "resume": "exact"}
        if _size(full) <= max_bytes:
            compact, exact = full, True
    size = _size(compact)
    if size > max_bytes:
        raise CheckpointError(f"the resume file would be {size / 2 ** 20:.1f} MB, above "
                              f"{max_bytes / 2 ** 20:.0f} MB even without Adam moments")
    atomic_torch_save(compact, path)
    return {"bytes": Path(path).stat().st_size, "exact": exact}


def _size(obj: Any) -> int:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.tell()


def train_distill(config: DistillConfig | dict[str, Any], teacher: nn.Module, run_dir: str | os.PathLike,
                  resume: bool = False, resume_from: str | os.PathLike | None = None,
                  log: Callable[[str], None] = print,
                  device: str = "cpu", scorer=None, max_steps: int | None = None) -> Distiller:
    """Train until ``cfg.kimg`` (or ``max_steps`` more steps, or SIGTERM / Ctrl-C), checkpointing.

    ``resume`` continues ``run_dir/checkpoint.pt``; ``resume_from`` starts a new folder from a resume
    file (or any teacher-stream checkpoint). ``config`` is a full config or a dict of the fields the
    caller sets; a stored run's config wins except for the schedule fields (:func:`resolve_config`).
    """
    given = asdict(config) if isinstance(config, DistillConfig) else dict(config)
    run_dir = Path(run_dir)
    ckpt_path = run_dir / "checkpoint.pt"
    source = ckpt_path if resume and ckpt_path.is_file() else resume_from
    if source is None and ckpt_path.exists():
        raise UserError(f"{run_dir} already holds a run (checkpoint.pt): pass --resume to continue it")
    if resume_from is not None and ckpt_path.exists():
        raise UserError(f"{run_dir} already holds a run: --resume-from needs a new run folder")
    ckpt = load_run_state(source) if source is not None else None
    cfg = resolve_config(ckpt, given)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "snapshots").mkdir(exist_ok=True)
    trainer = Distiller(cfg, teacher, scorer=scorer, device=device)
    if ckpt is not None:
        exact = trainer.load_state_dict(ckpt, Path(source).name)
        log(f"resumed from {source} at {trainer.cur_nimg / 1000:.3f} kimg "
            f"({'exact' if exact else 'warm restart: Adam moments start afresh'})")
    n_g = sum(p.numel() for p in trainer.G.parameters())
    n_d = sum(p.numel() for p in trainer.D.parameters())
    log(f"G {n_g / 1e6:.2f} M, D {n_d / 1e6:.2f} M parameters; config {json.dumps(asdict(cfg))}")

    stop = {"now": False}
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def _stop(signum, frame):  # checkpoint, then return
        stop["now"] = True

    for s in previous:
        try:
            signal.signal(s, _stop)
        except ValueError:  # not the main thread: no signal handling
            pass
    last_ckpt = last_snap = last_log_t = time.monotonic()
    last_log_nimg, steps, acc = trainer.cur_nimg, 0, {}
    try:
        while (trainer.cur_nimg < cfg.kimg * 1000 and not stop["now"]
               and (max_steps is None or steps < max_steps)):
            phase = trainer.phase  # the phase this step runs in
            for k, v in trainer.train_step().items():
                acc.setdefault(k, []).append(v)
            steps += 1
            now = time.monotonic()
            if trainer.step % cfg.log_every == 0:
                rec = {"step": trainer.step, "kimg": round(trainer.cur_nimg / 1000, 3),
                       "phase": phase,
                       "img_s": round((trainer.cur_nimg - last_log_nimg) / max(now - last_log_t, 1e-6), 2),
                       "train_h": round(trainer.train_seconds / 3600, 3), "time": time.strftime("%H:%M:%S"),
                       **{k: round(float(np.mean(v)), 5) for k, v in acc.items()}}
                with open(run_dir / "log.jsonl", "a") as f:
                    f.write(json.dumps(rec) + "\n")
                log(json.dumps(rec))
                acc.clear()
                last_log_t, last_log_nimg = now, trainer.cur_nimg
            if now - last_ckpt >= cfg.checkpoint_minutes * 60:
                atomic_torch_save(trainer.state_dict(), ckpt_path)
                last_ckpt = now
            if now - last_snap >= cfg.snapshot_minutes * 60:
                export_generator(trainer.state_dict(optimizers=False),
                                 run_dir / "snapshots" / f"sg2_{trainer.cur_nimg // 1000:06d}kimg.pt",
                                 notes={"teacher": TEACHER_NOTE, "train_seconds": trainer.train_seconds})
                last_snap = now
    finally:
        for s, handler in previous.items():
            try:
                signal.signal(s, handler)
            except (ValueError, TypeError):
                pass
    atomic_torch_save(trainer.state_dict(), ckpt_path)
    atomic_write_bytes(run_dir / "config.json", json.dumps(asdict(cfg), indent=1).encode())
    log(f"saved {ckpt_path} at {trainer.cur_nimg / 1000:.3f} kimg")
    return trainer
