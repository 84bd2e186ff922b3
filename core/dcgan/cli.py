"""The ``python -m core.dcgan`` commands: train (or resume), sample, export, timelapse.

User errors (bad flags, files, folders, a full disk) raise ValueError or OSError; core.cli.run_cli turns
them into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from core import provenance as pv
from core.checkpoint import atomic_write_bytes
from core.checks import float_flag, int_flag
from core.cli import ArgumentParser, UserError, check_output_path
from core.dcgan.config import PRESETS, ConfigError, ModelConfig, TrainConfig, preset_config
from core.dcgan.data import fit_batch_size, load_dataset
from core.dcgan.loading import (
    RESUME_KEYS,
    export_generator,
    load_generator,
    read_checkpoint,
    saved_train_config,
)
from core.dcgan.run_dir import CHECKPOINT_NAME, STATUS_NAME, RunBusyError, RunExistsError, write_json_atomic
from core.dcgan.sampling import MAX_SAMPLES, sample
from core.dcgan.teacher_trainer import TeacherTrainer
from core.dcgan.trainer import Trainer, refuse_previous_run
from core.image.convert import make_grid
from core.teacher import TEACHER_NAMES

PROG = "python -m core.dcgan"
_MODEL_FLAGS = ("arch", "size", "latent_dim", "g_width", "d_width", "d_dropout")
_NUMERIC_FLAGS = ("batch_size", "lr_g", "lr_d", "beta1", "beta2", "label_smoothing", "seed",
                  "checkpoint_every", "snapshot_every", "swd_every", "swd_images", "log_every", "threads",
                  "n_fixed", "rec_steps", "rec_weight", "real_min_score")


def _say(text: str) -> None:
    if not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0:
        print(f"dcgan: {text}", flush=True)


def _add_train_args(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--data", required=True, help="folder of images (any sizes/modes) or an .npz export")
    p.add_argument("--out", required=True, help="run folder (one run per folder)")
    p.add_argument("--arch", choices=["study", "tutorial"], help=f"default {d.model.arch}")
    p.add_argument("--size", type=int, help=f"default {d.model.size}")
    p.add_argument("--steps", type=int, help=f"default {d.steps}")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint.pt")
    mode.add_argument("--overwrite", action="store_true", help="replace an earlier run in RUN_DIR")
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a preset; other flags override it")
    p.add_argument("--config", help="start from a TrainConfig JSON file (as written to RUN_DIR/config.json)")
    p.add_argument("--latent-dim", type=int)
    p.add_argument("--g-width", type=int)
    p.add_argument("--d-width", type=int)
    p.add_argument("--d-dropout", type=float)
    for name in _NUMERIC_FLAGS:
        p.add_argument("--" + name.replace("_", "-"), type=type(getattr(d, name)))
    p.add_argument("--diffaugment", help='e.g. "color,translation,cutout" ("" = off)')
    p.add_argument("--device", default=None, help="auto (default: $CUSTOM_CAST_DEVICE, else CUDA, MPS, CPU), "
                                                  "cpu, cuda, cuda:N or mps")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--teacher", choices=TEACHER_NAMES,
                   help="D's reals are fresh samples of this teacher (--data is then only the SWD reference)")
    p.add_argument("--bf16", type=int, choices=(0, 1), help="bf16 autocast of G and D passes (default 0)")


def _read_config_file(path: str) -> dict:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--config {path}: no such file.")
    try:
        data = json.loads(p.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise UserError(f"--config {p.name} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise UserError(f"--config {p.name} must hold a JSON object of TrainConfig fields.")
    return data


def explicit_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the user asked for by flag or --config file (model fields as ``model.NAME``)."""
    given: dict[str, Any] = {}
    if getattr(args, "config", None):
        data = _read_config_file(args.config)
        given.update({f"model.{k}": v for k, v in dict(data.get("model") or {}).items()
                      if k in {f.name for f in fields(ModelConfig)}})
        train_fields = {f.name for f in fields(TrainConfig)} - {"model"}
        given.update({k: v for k, v in data.items() if k in train_fields})
    given.update({f"model.{n}": getattr(args, n) for n in _MODEL_FLAGS if getattr(args, n, None) is not None})
    given.update({n: getattr(args, n) for n in ("steps", *_NUMERIC_FLAGS, "diffaugment", "device", "teacher")
                  if getattr(args, n, None) is not None})
    if getattr(args, "bf16", None) is not None:
        given["amp_bf16"] = bool(args.bf16)
    if getattr(args, "no_channels_last", False):
        given["channels_last"] = False
    return given


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then the preset or --config file, then the flags; validated."""
    if getattr(args, "config", None):
        try:
            base = asdict(TrainConfig.from_dict(_read_config_file(args.config)))
        except TypeError as e:
            raise ConfigError(f"--config {Path(args.config).name}: {e}") from None
    else:
        base = asdict(preset_config(args.preset)) if args.preset else asdict(TrainConfig())
    for name, value in explicit_settings(args).items():
        if name.startswith("model."):
            base["model"][name[6:]] = value
        else:
            base[name] = value
    cfg = TrainConfig.from_dict(base)
    cfg.validate()
    return cfg


# What a resumed run may change: its length, the arithmetic of the passes, loss weights and learning
# rates. Everything else is the run's saved config (it defines the networks, the data order, the streams).
CHANGEABLE_ON_RESUME = ("steps", "threads", "amp_bf16", "lr_g", "lr_d", "rec_steps", "rec_weight",
                        "real_min_score")


def _resume_config(args: argparse.Namespace, cfg: TrainConfig, path: Path) -> tuple[TrainConfig, list[str]]:
    """The run's own saved config (the flags cannot change a run midway), CHANGEABLE_ON_RESUME excepted."""
    saved = saved_train_config(read_checkpoint(path, RESUME_KEYS, "resumable DCGAN"), path.name)
    flat = {**{f"model.{k}": v for k, v in asdict(saved.model).items()}, **asdict(saved)}
    given = explicit_settings(args)
    ignored = [f"{name.replace('model.', '')}={value!r} (the run uses {flat[name]!r})"
               for name, value in given.items()
               if name not in CHANGEABLE_ON_RESUME and name in flat and flat[name] != value]
    notices = []
    if ignored:
        notices.append(f"Resuming with the run's saved config; ignoring {', '.join(ignored)}.")
    for name in CHANGEABLE_ON_RESUME:
        if name in given:
            setattr(saved, name, getattr(cfg, name))
    return saved, notices


def train_main(args: argparse.Namespace) -> int:
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        backend = "nccl" if torch.cuda.is_available() and args.device != "cpu" else "gloo"
        dist.init_process_group(backend)
    trainer = None
    run_dir = Path(args.out)
    try:
        cfg = config_from_args(args)
        notices: list[str] = []
        checkpoint = run_dir / CHECKPOINT_NAME
        if args.resume and checkpoint.is_file():
            cfg, notices = _resume_config(args, cfg, checkpoint)
        elif args.resume:
            notices.append(f"No checkpoint in {run_dir} yet: starting a fresh run.")
        if not args.resume and not args.overwrite:
            refuse_previous_run(run_dir)
        data = load_dataset(args.data, cfg.model.size)
        world = dist.get_world_size() if distributed else 1
        fitted = fit_batch_size(cfg.batch_size, len(data), world)
        if fitted != cfg.batch_size:
            notices.append(f"Batch size reduced from {cfg.batch_size} to {fitted} to fit the {len(data)} "
                           f"usable images.")
            cfg.batch_size = fitted
        for line in notices:
            _say(f"notice: {line}")
        trainer_cls = TeacherTrainer if cfg.teacher else Trainer
        trainer = trainer_cls(cfg, data, run_dir, resume=args.resume, overwrite=args.overwrite,
                              notices=notices)
        _say(f"{len(data)} images from {data.source} (skipped {len(data.skipped)}), {cfg.model.arch} "
             f"{cfg.model.size}px, batch {cfg.batch_size}, step {trainer.step}/{cfg.steps}, "
             f"device {trainer.device}, world {trainer.world}")
        state = trainer.run()
        _say(f"{state} at step {trainer.step}; checkpoint {trainer.path}")
        if distributed:
            dist.barrier()  # tear gloo down only once every rank is done with it
        return 0 if state in ("finished", "stopped") else 3
    except (ValueError, OSError) as e:
        # The page reads the failure from status.json; a busy or existing run keeps its own status.
        if not isinstance(e, (RunBusyError, RunExistsError)) and (not distributed or dist.get_rank() == 0):
            with contextlib.suppress(OSError):
                run_dir.mkdir(parents=True, exist_ok=True)
                write_json_atomic(run_dir / STATUS_NAME, {"state": "failed", "message": str(e),
                                                          "pid": os.getpid(), "time": time.time()})
        raise
    finally:
        if trainer is not None:
            trainer.close()
        if distributed:
            dist.destroy_process_group()


def sample_main(args: argparse.Namespace) -> int:
    check_output_path(args.out, {"the checkpoint": args.checkpoint})
    gen, ckpt = load_generator(args.checkpoint)
    images = sample(gen, args.n, args.seed)
    origin = pv.Origin("DCGAN sampler", (str(args.checkpoint),), {"seed": args.seed, "n": args.n},
                       title=Path(args.out).name)
    atomic_write_bytes(args.out, pv.export_png(make_grid(list(images)), origin))
    _say(f"wrote {args.n} samples (step {ckpt['step']}) to {args.out}")
    return 0


def export_main(args: argparse.Namespace) -> int:
    check_output_path(args.out, {"the checkpoint": args.checkpoint})
    slim = export_generator(args.checkpoint, args.out)
    _say(f"wrote the generator of step {slim['step']} to {args.out}")
    return 0


def timelapse_main(args: argparse.Namespace) -> int:
    from core.dcgan.timelapse import write_timelapse

    run = Path(args.run)
    run_files = {f"a file of the run ({p.name})": p for p in sorted(run.glob("*")) if p.is_file()} \
        if run.is_dir() else {}
    for out in (args.out, Path(args.out).with_suffix(".json")):  # the video and the JSON written beside it
        check_output_path(out, run_files, {"the run's snapshots": run / "snapshots"})
    info = write_timelapse(args.run, args.out, fps=args.fps, max_frames=args.max_frames, minutes=args.minutes,
                           scale=args.scale, quality=args.quality)
    took = f", {info.minutes:g} min of training" if info.minutes is not None else ""
    _say(f"wrote {info.frames} frames (steps {info.first_step}-{info.last_step}{took}) to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse and run one command; user errors raise (run through core.cli.run_cli for one-line errors)."""
    parser = ArgumentParser(prog=PROG, description="DCGAN training on face crops: train, sample, export, "
                                                   "timelapse.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train_args(sub.add_parser("train", help="train (or --resume) a DCGAN in a run folder"))
    s = sub.add_parser("sample", help="write a grid of samples from a checkpoint")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--n", type=int_flag(1, MAX_SAMPLES), default=16)
    s.add_argument("--seed", type=int_flag(0, 2**63 - 1), default=0)
    s.add_argument("--out", required=True)
    e = sub.add_parser("export", help="write a small generator-only checkpoint")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--out", required=True)
    t = sub.add_parser("timelapse", help="write a run's fixed-noise snapshots as a labelled video")
    t.add_argument("--run", required=True, help="run folder (its snapshots/ are the frames)")
    t.add_argument("--out", required=True, help="video file: .mp4 (H.264) or .gif; a .json goes beside it")
    t.add_argument("--fps", type=float_flag(0.5, 60), default=8.0)
    t.add_argument("--max-frames", type=int_flag(2, 10_000), default=200,
                   help="evenly thinned to at most this many")
    t.add_argument("--scale", type=int_flag(1, 8), default=1, help="enlarge the frames (nearest neighbour)")
    t.add_argument("--quality", type=int_flag(1, 10), default=6, help="MP4 quality 1-10 (6: x264 crf 20)")
    t.add_argument("--minutes", action="store_true",
                   help="label frames with training time (snapshot file times; a run recorded in one go)")
    args = parser.parse_args(argv)
    commands = {"train": train_main, "sample": sample_main, "export": export_main,
                "timelapse": timelapse_main}
    return commands[args.command](args)

