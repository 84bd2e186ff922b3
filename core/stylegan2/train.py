"""Command line of StyleGAN2 training (``python -m core.stylegan2.train``; data parallel under torchrun)::

    python -m core.stylegan2.train --data faces64.npz --res 64 --kimg 20 --out runs/sg2 [--resume]
    torchrun --standalone --nproc_per_node 2 -m core.stylegan2.train ...     # gloo on CPU
    python -m core.stylegan2.train --out runs/sg2 --export-only --export checkpoints/model.pt

The old spelling ``python -m core.stylegan2_train`` forwards here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import torch

from core.cli import ArgumentParser, UserError, run_cli
from core.stylegan2.config import check_int
from core.stylegan2.training import TrainCallback, TrainConfig, export_generator, export_run, train
from core.stylegan2.training.distributed import init_distributed, world

PROG = "python -m core.stylegan2.train"


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
    ap.add_argument("--export", default=None, help="also write the EMA generator here (project format)")
    ap.add_argument("--export-only", action="store_true",
                    help="no training: export OUT/checkpoint.pt to --export (+ a sample grid PNG)")
    return ap


def main(argv: Sequence[str] | None = None, callbacks: Sequence[TrainCallback] = ()) -> int:
    """Parse ``argv`` and train (or export); ``callbacks`` go to :func:`~core.stylegan2.training.train`."""
    args = build_parser().parse_args(argv)
    torch.set_num_threads(check_int(args.threads, "--threads", 1, 256, UserError))
    if args.export_only:
        if not args.export:
            raise UserError("--export-only needs --export PATH")
        out = export_run(args.out, args.export)
        print(f"exported {out['kimg']:.2f} kimg (step {out['step']}) to {args.export}")
        return 0
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
    distributed = init_distributed()
    try:
        trainer = train(cfg, args.data, args.out, resume=args.resume, overwrite=args.overwrite,
                        log=print if world()[0] == 0 else (lambda *_: None), callbacks=callbacks)
        if args.export and trainer.rank == 0:
            export_generator(trainer, args.export)
            print(f"exported generator to {args.export}")
        if distributed:
            torch.distributed.barrier()  # tear gloo down only once every rank is done with it
    finally:
        if distributed:
            torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main, prog=PROG))
