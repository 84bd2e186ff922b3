"""Training throughput of core.dcgan vs a straightforward reference loop, and the page's polling cost.

Usage: .venv/bin/python bench/bench_dcgan.py [--steps 12] [--rounds 3] [--threads 2] [--width 32]

For each architecture at 64 px the same models (same init) are trained by
  * reference: the PyTorch DCGAN tutorial's loop as usually written: a Dataset that converts each
    uint8 image to a normalised float tensor per item, a shuffling DataLoader collating the batch,
    label tensors built every step, contiguous (NCHW) tensors, D's weight gradients computed in the
    G step too;
  * project: core.dcgan.Trainer.run (preloaded uint8 batch gather, channels_last, preallocated
    targets, D frozen in the G step, dropout masks drawn with ``uniform_`` rather than CPU
    ``bernoulli_``, logging/status writes included), in fp32 and with
    ``amp_bf16`` (G and D passes under bf16 autocast: it pays for StyleGAN2 on this CPU, so it is
    measured here too; off by default).
Rounds alternate between the two so a busy machine hurts both alike; medians are printed.
The polling figure runs the project loop while a second process reads the run folder the way the
live page does (status + job manifest, metrics, latest snapshot, every 2 s; also a harsher 0.25 s).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import ASSETS_DIR, dcgan  # noqa: E402


class PerItemDataset(torch.utils.data.Dataset):
    def __init__(self, images_uint8: torch.Tensor):
        self.images = images_uint8

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i].float().div(255).sub(0.5).div(0.5), 0  # ToTensor + Normalize(0.5, 0.5)


def reference_loop(cfg: dcgan.TrainConfig, data: torch.Tensor, steps: int) -> float:
    torch.manual_seed(cfg.seed)
    netG, netD = dcgan.build_models(cfg.model)
    optG = torch.optim.Adam(netG.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    optD = torch.optim.Adam(netD.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
    loader = torch.utils.data.DataLoader(PerItemDataset(data), batch_size=cfg.batch_size, shuffle=True,
                                         drop_last=True)
    done, t0 = 0, None
    while done < steps + 1:
        for real, _ in loader:
            if done == 1:
                t0 = time.perf_counter()  # first step is warm-up
            b = real.size(0)
            netD.zero_grad()
            label = torch.full((b,), 1.0)
            errD_real = F.binary_cross_entropy_with_logits(netD(real), label)
            errD_real.backward()
            noise = torch.randn(b, cfg.model.latent_dim)
            fake = netG(noise)
            label.fill_(0.0)
            out = netD(fake.detach())
            errD_fake = F.binary_cross_entropy_with_logits(out, label)
            errD_fake.backward()
            optD.step()
            netG.zero_grad()
            label.fill_(1.0)
            out = netD(fake)
            errG = F.binary_cross_entropy_with_logits(out, label)
            errG.backward()
            optG.step()
            _ = (errD_real + errD_fake).item(), errG.item(), torch.sigmoid(out).mean().item()
            done += 1
            if done >= steps + 1:
                break
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def project_loop(trainer: dcgan.Trainer, steps: int) -> float:
    trainer.run(until=trainer.step + 1)  # warm-up
    t0 = time.perf_counter()
    trainer.run(until=trainer.step + steps)
    return steps * trainer.cfg.batch_size / (time.perf_counter() - t0)


def _poller(run_dir: str, period: float, stop) -> None:
    while not stop.is_set():
        dcgan.run_state(run_dir)
        rows = dcgan.read_metrics(run_dir)
        _ = [r.get("d_loss") for r in rows]
        latest = dcgan.latest_snapshot(run_dir)
        if latest is not None:
            latest[1].read_bytes()
        stop.wait(period)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    demo = ASSETS_DIR / "demo_faces" / "faces64.npz"
    if demo.exists():
        data = dcgan.load_dataset(demo, 64).images
    else:
        data = torch.randint(0, 256, (512, 3, 64, 64), dtype=torch.uint8)
    print(f"DCGAN training throughput, 64 px, {len(data)} images, batch {args.batch}, width {args.width}, "
          f"{args.threads} threads, {args.steps} steps x {args.rounds} rounds (medians)")
    tmp = Path(tempfile.mkdtemp(prefix="bench_dcgan_"))
    for arch in ("study", "tutorial"):
        model = dcgan.ModelConfig(arch=arch, size=64, g_width=args.width, d_width=args.width)
        cfg = dcgan.TrainConfig(model=model, steps=10**9, batch_size=args.batch, log_every=10,
                                checkpoint_every=10**9,
                                snapshot_every=0, swd_every=0, threads=args.threads)
        trainer = dcgan.Trainer(cfg, dcgan.ImageSet(data, "bench"), tmp / arch)
        cfg16 = dcgan.TrainConfig(**{**cfg.__dict__, "amp_bf16": True})
        trainer16 = dcgan.Trainer(cfg16, dcgan.ImageSet(data, "bench"), tmp / f"{arch}_bf16")
        ref, proj, proj16 = [], [], []
        for _ in range(args.rounds):
            ref.append(reference_loop(cfg, data, args.steps))
            proj.append(project_loop(trainer, args.steps))
            proj16.append(project_loop(trainer16, args.steps))
        trainer16.close()
        r, p, p16 = statistics.median(ref), statistics.median(proj), statistics.median(proj16)
        print(f"  {arch:8s}  reference {r:7.1f} img/s   project {p:7.1f} img/s   speed-up x{p / r:.2f}   "
              f"project --bf16 1 {p16:7.1f} img/s   speed-up x{p16 / r:.2f}")
        if arch == "tutorial":
            for period in (2.0, 0.25):
                base, polled = [], []
                for _ in range(args.rounds):
                    base.append(project_loop(trainer, args.steps))
                    stop = mp.Event()
                    proc = mp.Process(target=_poller, args=(str(tmp / arch), period, stop))
                    proc.start()
                    time.sleep(0.5)
                    polled.append(project_loop(trainer, args.steps))
                    stop.set()
                    proc.join()
                b, q = statistics.median(base), statistics.median(polled)
                print(f"  page polling every {period:g}s: {b:7.1f} -> {q:7.1f} img/s "
                      f"(overhead {100 * (1 - q / b):+.1f}%)")
        trainer.close()


if __name__ == "__main__":
    main()
