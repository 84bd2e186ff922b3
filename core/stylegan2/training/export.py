"""Export of a training run's EMA generator in the project's generator format, which
:func:`core.stylegan2.load_generator` (and so the sampler page) opens::

    {'kind': 'stylegan2', 'model', 'config', 'step', 'version', 'kimg', 'augment_p', 'train_config', 'notes'}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from core.checkpoint import (
    CheckpointError,
    atomic_torch_save,
    atomic_write_bytes,
    require_keys,
    safe_torch_load,
)
from core.image.convert import make_grid, png_bytes
from core.stylegan2.loading import CHECKPOINT_VERSION, build_generator, load_generator
from core.stylegan2.sampling import generate_images
from core.stylegan2.training.distill import DISTILL_KIND, TEACHER_NOTE
from core.stylegan2.training.trainer import Trainer


def export_generator(train_ckpt: dict[str, Any] | Trainer, path: str | os.PathLike,
                     notes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the EMA generator as ``{'model', 'config', 'step', 'version', ...}`` for load_generator."""
    if isinstance(train_ckpt, Trainer):
        train_ckpt = train_ckpt.state_dict()
    require_keys(train_ckpt, ["G_ema", "generator_config", "step", "cur_nimg", "config"],
                 "StyleGAN2 training")
    # The same checks load_generator makes, before anything is written: no unloadable export on disk.
    build_generator(train_ckpt["generator_config"], train_ckpt["G_ema"], "training checkpoint")
    out = {
        "kind": "stylegan2",
        "model": train_ckpt["G_ema"],
        "config": train_ckpt["generator_config"],
        "step": int(train_ckpt["step"]),
        "version": CHECKPOINT_VERSION,
        "kimg": train_ckpt["cur_nimg"] / 1000,
        "augment_p": float(train_ckpt.get("augment_p", 0.0)),
        "train_config": train_ckpt["config"],
        "notes": dict(notes or {}),
    }
    atomic_torch_save(out, path)
    return out


def export_snapshot(snapshot: str | os.PathLike, path: str | os.PathLike) -> dict[str, Any]:
    """Copy a run's snapshot (an exported G_ema, ``snapshots/*.pt``) to ``path``, checked first: a
    snapshot picked by ``bench/bench_quality.py`` is bundled as it was measured."""
    snap = safe_torch_load(snapshot)
    require_keys(snap, ["kind", "model", "config", "step", "version", "kimg"], "StyleGAN2 snapshot")
    if snap["kind"] != "stylegan2":
        raise CheckpointError(f"{Path(snapshot).name} is a {snap['kind']!r} checkpoint, "
                              "not a StyleGAN2 snapshot")
    build_generator(snap["config"], snap["model"], "StyleGAN2 snapshot")
    out = {**snap, "notes": {**dict(snap.get("notes") or {}), "snapshot": Path(snapshot).name}}
    atomic_torch_save(out, path)
    return out


def write_sample_grid(path: str | os.PathLike, grid_seeds: int = 32, truncation_psi: float = 0.7) -> Path:
    """``<path stem>_samples.png`` next to the generator file: seeds 0..grid_seeds-1 rendered through
    :func:`load_generator` and :func:`~core.stylegan2.sampling.generate_images`, so it shows exactly what
    the sampler page shows for those seeds (``noise_mode='const'``)."""
    path = Path(path)
    G = load_generator(path)
    images = [img for _, img in generate_images(G, range(grid_seeds), truncation_psi)]
    grid_path = path.with_name(path.stem + "_samples.png")
    atomic_write_bytes(grid_path, png_bytes(make_grid(images, cols=8)))
    return grid_path


def export_run(run_dir: str | os.PathLike, path: str | os.PathLike, grid_seeds: int = 32,
               truncation_psi: float = 0.7, notes: dict[str, Any] | None = None,
               snapshot: str | os.PathLike | None = None) -> dict[str, Any]:
    """Export ``run_dir/checkpoint.pt`` (or ``snapshot``) to ``path`` and write the sample grid next to it.

    The grid (:func:`write_sample_grid`) is rendered from the exported file.
    """
    run_dir, path = Path(run_dir), Path(path)
    if snapshot is not None:
        out = export_snapshot(snapshot, path)
        write_sample_grid(path, grid_seeds, truncation_psi)
        return out
    ckpt = safe_torch_load(run_dir / "checkpoint.pt")
    notes = dict(notes or {})
    log_path = run_dir / "log.jsonl"
    if log_path.is_file() and "train_seconds" not in notes:
        lines = []
        for line in log_path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # a line cut short by a crash
                continue
            if isinstance(record, dict):
                lines.append(record)
        if lines and lines[-1].get("sec") is not None:  # the log restarts its clock on resume
            notes["train_seconds_last_session"] = lines[-1]["sec"]
    if ckpt.get("kind") == DISTILL_KIND:  # a teacher-stream run keeps its own total
        notes.setdefault("teacher", TEACHER_NOTE)
        notes.setdefault("train_seconds", float(ckpt.get("train_seconds", 0.0)))
    out = export_generator(ckpt, path, notes=notes)
    write_sample_grid(path, grid_seeds, truncation_psi)
    return out
