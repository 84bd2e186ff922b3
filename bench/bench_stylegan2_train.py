"""Throughput of the StyleGAN2 training loop at the bundled model's size (64 px, CPU, one thread).

Prints seconds per training step and images per second, plus the cost of one lazy-R1 step and of one
path-length step, each as a ratio to a plain step measured in the same run (the baseline), so the
figures compare across machines.

    .venv/bin/python bench/bench_stylegan2_train.py [--steps 6] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.stylegan2.training import TrainConfig, Trainer  # noqa: E402


def bundled_config(**kw) -> TrainConfig:
    """The configuration checkpoints/stylegan2_demo.pt was trained with (see checkpoints/README.md)."""
    base = dict(resolution=64, z_dim=128, w_dim=128, mapping_layers=2, g_channel_base=1024, g_channel_max=64,
                d_channel_base=1024, d_channel_max=64, batch_size=8, r1_interval=16)
    base.update(kw)
    return TrainConfig(**base)


def time_steps(trainer: Trainer, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        trainer.train_step()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    images = np.random.default_rng(0).integers(0, 256, (64, 64, 64, 3), dtype=np.uint8)

    # baseline: plain steps (regularisers pushed out of the measured window)
    tr = Trainer(bundled_config(r1_interval=10**6, pl_weight=0.0), images)
    tr.train_step()  # warm-up (includes the step-0 regularisers)
    plain = statistics.median(time_steps(tr, args.steps))
    # lazy R1 on every step
    tr_r1 = Trainer(bundled_config(r1_interval=1), images)
    tr_r1.train_step()
    r1 = statistics.median(time_steps(tr_r1, max(2, args.steps // 2)))
    # path length on every step
    tr_pl = Trainer(bundled_config(r1_interval=10**6, pl_weight=2.0, pl_interval=1), images)
    tr_pl.train_step()
    pl = statistics.median(time_steps(tr_pl, max(2, args.steps // 2)))

    bs = tr.cfg.batch_size
    print(f"threads={args.threads}  batch={bs}  64 px, G/D channel_base 1024, channel_max 64")
    print(f"plain step        : {plain:.3f} s  ({bs / plain:.1f} img/s)   [baseline]")
    print(f"step + R1         : {r1:.3f} s  ratio {r1 / plain:.2f}x  (lazy: paid every 16 steps -> "
          f"{(15 * plain + r1) / 16 / plain:.3f}x amortised)")
    print(f"step + path length: {pl:.3f} s  ratio {pl / plain:.2f}x  (lazy every 4 -> "
          f"{(3 * plain + pl) / 4 / plain:.3f}x amortised)")
    print(f"images per hour   : {3600 * bs / ((15 * plain + r1) / 16):.0f}  (R1 amortised, no path length)")


if __name__ == "__main__":
    main()
