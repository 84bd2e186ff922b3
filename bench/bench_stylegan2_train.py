"""Throughput of the StyleGAN2 training loop at the bundled model's size (64 px, CPU, one thread).

Prints seconds per training step and images per second, plus the cost of one lazy-R1 step and of one
path-length step, each as a ratio to a plain step measured in the same run (the baseline), so the
figures compare across machines.

    .venv/bin/python bench/bench_stylegan2_train.py [--steps 6] [--threads 1]
    .venv/bin/python bench/bench_stylegan2_train.py --teacher [--steps 2] [--rounds 3]

``--teacher``: kimg/hour of the teacher-stream recipe (core.stylegan2.training.distill, bf16 autocast,
the G step's fakes reused by D) against a straightforward fp32 loop of the same networks (fresh fakes
synthesised for the D step, no autocast), phase-B steps (regression + GAN, lazy R1), rounds interleaved.
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


def bench_teacher(steps: int, rounds: int) -> None:
    """Recipe vs straightforward loop, same networks and teacher, medians over interleaved rounds."""
    from core.stylegan2.training import DistillConfig, Distiller, multiscale_l1
    from core.stylegan2.training.loss import discriminator_loss, generator_loss, r1_penalty

    try:
        from core.stylegan2.training import load_teacher

        teacher, which = load_teacher(), "gan-face-generate"
    except ValueError:  # not installed: the same architecture (the tutorial DCGAN, width 64), random init
        from core.dcgan.config import ModelConfig
        from core.dcgan.models import TutorialGenerator

        teacher = TutorialGenerator(ModelConfig(arch="tutorial", size=64, latent_dim=100, g_width=64)).main
        teacher, which = teacher.eval().requires_grad_(False), "stand-in (tutorial DCGAN width 64)"
    cfg = dict(phase_a_kimg=0.0, real_min_score=0.0)
    recipe = Distiller(DistillConfig(amp_bf16=True, **cfg), teacher)
    plain = Distiller(DistillConfig(amp_bf16=False, **cfg), teacher)

    def plain_step() -> None:  # the loop as usually written: fp32, a fresh synthesis for the D step
        c, G, D = plain.cfg, plain.G, plain.D
        z, real = plain.stream.pairs(c.batch_size)
        G.requires_grad_(True)
        D.requires_grad_(False)
        plain.opt_G.zero_grad()
        img = G(z, None)
        loss = c.rec_weight * multiscale_l1(img, real, c.rec_levels()) + c.adv_weight * generator_loss(D(img))
        loss.backward()
        plain.opt_G.step()
        G.requires_grad_(False)
        D.requires_grad_(True)
        plain.opt_D.zero_grad()
        with torch.no_grad():
            fake = G(plain.stream.pairs(c.batch_size)[0], None)
        discriminator_loss(D(fake), D(real)).backward()
        if plain.d_steps % c.r1_interval == 0:
            (r1_penalty(D, real).mean() * (c.r1_gamma / 2) * c.r1_interval).backward()
        plain.opt_D.step()
        plain.d_steps += 1
        plain._update_ema()
        plain.cur_nimg += c.batch_size

    recipe.train_step()
    plain_step()  # warm-up (and both pay their step-0 R1 outside the window)
    t_recipe, t_plain = [], []
    for _ in range(rounds):
        for fn, out in ((recipe.train_step, t_recipe), (plain_step, t_plain)):
            for _ in range(steps):
                t = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t)
    bs = recipe.cfg.batch_size
    n_g = sum(p.numel() for p in recipe.G.parameters()) / 1e6
    a, b = statistics.median(t_recipe), statistics.median(t_plain)
    print(f"teacher {which}; 64 px, G {n_g:.2f} M, batch {bs}, threads {torch.get_num_threads()}, "
          f"{rounds} interleaved rounds x {steps} steps (medians; R1 every {recipe.cfg.r1_interval} D steps)")
    print(f"straightforward fp32 loop: {b:.2f} s/step  {3.6 * bs / b:.1f} kimg/h   [baseline]")
    print(f"teacher-stream recipe    : {a:.2f} s/step  {3.6 * bs / a:.1f} kimg/h   x{b / a:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--teacher", action="store_true", help="the teacher-stream recipe vs a plain fp32 loop")
    ap.add_argument("--rounds", type=int, default=3, help="--teacher: interleaved rounds")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.teacher:
        bench_teacher(args.steps, args.rounds)
        return
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
