"""Command line of StyleGAN2 training (``python -m core.stylegan2.training``; data parallel under torchrun)::

    python -m core.stylegan2.training --data faces64.npz --res 64 --kimg 20 --out runs/sg2 [--resume] \
        [--device auto|cpu|cuda|cuda:N|mps]       # default: $CUSTOM_CAST_DEVICE, else CUDA, MPS, CPU
    torchrun --standalone --nproc_per_node 2 -m core.stylegan2.training ...     # gloo on CPU
    python -m core.stylegan2.training --out runs/sg2 --export-only --export checkpoints/model.pt

Teacher stream (fresh samples of a teacher generator instead of a dataset; see checkpoints/README.md)::

    python -m core.stylegan2.training --teacher gan-face-generate --res 64 --out runs/sg2_teacher [--resume]
    python -m core.stylegan2.training --teacher gan-face-generate --out runs/sg2_teacher \
        --write-resume checkpoints/training/sg2_teacher_resume.pt        # compact, committable resume file
    python -m core.stylegan2.training --teacher gan-face-generate --out runs/sg2_teacher_2 \
        --resume-from checkpoints/training/sg2_teacher_resume.pt          # continue it in a new folder

"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from core.cli import ArgumentParser, UserError, check_output_path
from core.device import add_device_argument, choose_device
from core.stylegan2.config import check_int
from core.stylegan2.training import TrainCallback, TrainConfig, export_generator, export_run, train
from core.stylegan2.training.distill import TEACHER_NOTE
from core.stylegan2.training.distill_run import load_run_state, train_distill, write_resume_file
from core.stylegan2.training.distributed import init_distributed, world
from core.teacher import TEACHER_NAMES, load_teacher

PROG = "python -m core.stylegan2.training"


def build_parser() -> ArgumentParser:
    ap = ArgumentParser(prog=PROG, description="Train the project's StyleGAN2 (data-parallel "
                                                        "under torchrun).")
    ap.add_argument("--data", help=".npz with uint8 NHWC 'images', or an image folder")
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--kimg", type=float, default=10.0)
    ap.add_argument("--out", required=True, help="run folder (checkpoint.pt, samples, log)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    ap.add_argument("--overwrite", action="store_true", help="start over in a folder that holds a run")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--z-dim", type=int, default=128)
    ap.add_argument("--w-dim", type=int, default=128)
    ap.add_argument("--map-layers", type=int, default=2)
    ap.add_argument("--channel-base", type=int, default=2048, help="G and D channel_base")
    ap.add_argument("--channel-max", type=int, default=128, help="G and D channel_max")
    ap.add_argument("--gamma", type=float, default=0.1, help="R1 weight")
    ap.add_argument("--pl-weight", type=float, default=0.0)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--ada-kimg", type=float, default=100.0)
    ap.add_argument("--ema-kimg", type=float, default=None, help="default: batch * 10 / 32 (official)")
    ap.add_argument("--lr", type=float, default=0.0025)
    ap.add_argument("--snap-kimg", type=float, default=1.0)
    ap.add_argument("--max-images", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    add_device_argument(ap)
    ap.add_argument("--export", default=None, help="also write the EMA generator here (project format)")
    ap.add_argument("--export-only", action="store_true",
                    help="no training: export OUT/checkpoint.pt to --export (+ a sample grid PNG)")
    ap.add_argument("--snapshot", default=None,
                    help="with --export-only: export this snapshot (OUT/snapshots/*.pt) instead")
    t = ap.add_argument_group("teacher stream (--teacher; the flags above keep their meaning, with the "
                              "recipe's defaults: DistillConfig)")
    t.add_argument("--teacher", choices=TEACHER_NAMES, help="train on fresh samples of this teacher")
    t.add_argument("--resume-from", help="start OUT from this resume file (or teacher-run checkpoint)")
    t.add_argument("--write-resume", help="no training: write OUT/checkpoint.pt as a compact resume file")
    t.add_argument("--phase-a-kimg", type=float, help="regression-only warm start until this kimg")
    t.add_argument("--d-start-kimg", type=float, help="D learns from this kimg on (0: in phase A too)")
    t.add_argument("--mapping-lr-scale", type=float, help="mapping MLP learning rate x this (default 100)")
    t.add_argument("--rec-weight", type=float, help="phase B weight of the multi-scale L1")
    t.add_argument("--adv-weight", type=float, help="phase B weight of the GAN loss")
    t.add_argument("--r1-interval", type=int, help="lazy R1 every N D steps")
    t.add_argument("--real-min-score", type=float, help="D's reals: teacher samples scoring >= this (0: off)")
    t.add_argument("--silent-noise-res", type=int, nargs="*", metavar="RES",
                   help="hold the noise inputs at these resolutions at zero strength (none: give no RES)")
    t.add_argument("--bf16", type=int, choices=(0, 1), help="bf16 autocast of G and D passes (default 1)")
    t.add_argument("--checkpoint-minutes", type=float)
    t.add_argument("--snapshot-minutes", type=float)
    t.add_argument("--log-every", type=int)
    t.add_argument("--max-steps", type=int, help="stop after this many steps of this session")
    return ap


# flag -> DistillConfig fields it sets (teacher runs)
TEACHER_FLAGS = {"res": ("resolution",), "kimg": ("kimg",), "batch": ("batch_size",), "z_dim": ("z_dim",),
                 "w_dim": ("w_dim",), "map_layers": ("mapping_layers",),
                 "channel_base": ("g_channel_base", "d_channel_base"),
                 "channel_max": ("g_channel_max", "d_channel_max"), "gamma": ("r1_gamma",),
                 "ema_kimg": ("ema_kimg",), "lr": ("g_lr", "d_lr"), "seed": ("seed",),
                 "phase_a_kimg": ("phase_a_kimg",), "mapping_lr_scale": ("mapping_lr_scale",),
                 "d_start_kimg": ("d_start_kimg",), "rec_weight": ("rec_weight",),
                 "adv_weight": ("adv_weight",), "r1_interval": ("r1_interval",),
                 "real_min_score": ("real_min_score",), "bf16": ("amp_bf16",),
                 "silent_noise_res": ("silent_noise_res",),
                 "checkpoint_minutes": ("checkpoint_minutes",), "snapshot_minutes": ("snapshot_minutes",),
                 "log_every": ("log_every",)}


# flag -> TrainConfig fields it sets (dataset runs); --kimg and --snap-kimg may change on --resume
DATASET_FLAGS = {"res": ("resolution",), "z_dim": ("z_dim",), "w_dim": ("w_dim",),
                 "map_layers": ("mapping_layers",), "channel_base": ("g_channel_base", "d_channel_base"),
                 "channel_max": ("g_channel_max", "d_channel_max"), "batch": ("batch_size",),
                 "gamma": ("r1_gamma",), "pl_weight": ("pl_weight",), "no_augment": ("augment",),
                 "ada_kimg": ("ada_kimg",), "ema_kimg": ("ema_kimg",), "lr": ("g_lr", "d_lr"),
                 "seed": ("seed",), "max_images": ("max_images",)}


def requested_settings(given: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """TrainConfig field -> (the flag as typed, its value) for the dataset-run flags given explicitly."""
    out = {}
    for flag, names in DATASET_FLAGS.items():
        if flag in given:
            shown = "--no-augment" if flag == "no_augment" else f"--{flag.replace('_', '-')} {given[flag]}"
            value = (not given[flag]) if flag == "no_augment" else given[flag]
            out.update({name: (shown, value) for name in names[:1]})
    return out


def explicit_args(argv: Sequence[str] | None) -> dict[str, Any]:
    """Only the flags given on the command line (a stored run's config keeps everything else)."""
    ap = build_parser()
    for action in ap._actions:
        action.default = argparse.SUPPRESS
    return vars(ap.parse_args(argv))


def main_teacher(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    """``--teacher``: the teacher-stream recipe (core.stylegan2.training.distill)."""
    if args.write_resume:
        info = write_resume_file(load_run_state(f"{args.out}/checkpoint.pt"), args.write_resume)
        kind = "exact (with Adam moments)" if info["exact"] else "warm restart (no Adam moments)"
        print(f"wrote {args.write_resume} ({info['bytes'] / 2 ** 20:.1f} MB, {kind})")
        return 0
    given = explicit_args(argv)
    cfg: dict[str, Any] = {}
    for flag, names in TEACHER_FLAGS.items():
        if flag in given:
            value = {"bf16": bool, "silent_noise_res": tuple}.get(flag, lambda v: v)(given[flag])
            cfg.update({name: value for name in names})
    trainer = train_distill(cfg, load_teacher(args.teacher), args.out, resume=args.resume,
                            resume_from=args.resume_from, device=choose_device(args.device).device,
                            max_steps=args.max_steps)
    if args.export:
        export_generator(trainer.state_dict(optimizers=False), args.export, notes={"teacher": TEACHER_NOTE})
        print(f"exported generator to {args.export}")
    return 0


def training_device(requested: str | None) -> str:
    """The studio's one device choice (``--device``, else $CUSTOM_CAST_DEVICE, else CUDA, MPS, CPU); a
    device this machine lacks is a one-line refusal. Data-parallel runs (torchrun) train on the CPU over
    gloo: there 'auto' means the CPU and another device is refused."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        choice = choose_device(requested) if requested and requested.lower() != "auto" else None
        if choice is not None and choice.device != "cpu":
            raise UserError("data-parallel training (torchrun, gloo) runs on the CPU; use --device cpu")
        return "cpu"
    return choose_device(requested).device


def _refuse_outputs_over_inputs(args: argparse.Namespace) -> None:
    """--export and --write-resume must not land on the run's checkpoint, the data or a resume file."""
    run = Path(args.out)
    inputs = {"the run's checkpoint": run / "checkpoint.pt", "the training data": args.data,
              "the --resume-from file": args.resume_from, "the snapshot": args.snapshot}
    for flag, out in (("--export", args.export), ("--write-resume", args.write_resume)):
        if out:
            check_output_path(out, inputs, {"the run's snapshots": run / "snapshots"}, what=flag)


def main(argv: Sequence[str] | None = None, callbacks: Sequence[TrainCallback] = ()) -> int:
    """Parse ``argv`` and train (or export); ``callbacks`` go to :func:`~core.stylegan2.training.train`."""
    args = build_parser().parse_args(argv)
    _refuse_outputs_over_inputs(args)
    torch.set_num_threads(check_int(args.threads, "--threads", 1, 256, UserError))
    if args.export_only:
        if not args.export:
            raise UserError("--export-only needs --export PATH")
        out = export_run(args.out, args.export, snapshot=args.snapshot)
        print(f"exported {out['kimg']:.2f} kimg (step {out['step']}) to {args.export}")
        return 0
    if args.teacher:
        return main_teacher(args, argv)
    if args.write_resume or args.resume_from:
        raise UserError("--write-resume and --resume-from belong to teacher runs: add --teacher NAME")
    if not args.data:
        raise UserError("--data is required for training")
    ema_kimg = args.ema_kimg if args.ema_kimg is not None else args.batch * 10 / 32
    cfg = TrainConfig(resolution=args.res, z_dim=args.z_dim, w_dim=args.w_dim, mapping_layers=args.map_layers,
                      g_channel_base=args.channel_base, g_channel_max=args.channel_max,
                      d_channel_base=args.channel_base, d_channel_max=args.channel_max, batch_size=args.batch,
                      g_lr=args.lr, d_lr=args.lr, r1_gamma=args.gamma, pl_weight=args.pl_weight,
                      augment=not args.no_augment, ada_kimg=args.ada_kimg, ema_kimg=ema_kimg,
                      seed=args.seed, kimg=args.kimg, snapshot_kimg=args.snap_kimg,
                      max_images=args.max_images).validate()
    device = training_device(args.device)
    distributed = init_distributed()
    try:
        log = print if world()[0] == 0 else (lambda *_: None)
        log(f"training on {device}")
        trainer = train(cfg, args.data, args.out, resume=args.resume, overwrite=args.overwrite,
                        log=log, callbacks=callbacks, requested=requested_settings(explicit_args(argv)),
                        device=device)
        if args.export and trainer.rank == 0:
            export_generator(trainer, args.export)
            print(f"exported generator to {args.export}")
        if distributed:
            torch.distributed.barrier()  # tear gloo down only once every rank is done with it
    finally:
        if distributed:
            torch.distributed.destroy_process_group()
    return 0

