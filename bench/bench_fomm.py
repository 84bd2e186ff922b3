"""Benchmark: FommAnimator vs the official demo's per-frame loop (same weights, 256 px, CPU).

The baseline is what ``demo.py``'s ``make_animation`` does: under ``torch.no_grad`` it runs the
keypoint detector on every driving frame and the full generator (source encoder included) for each
frame, one frame at a time. ``FommAnimator`` encodes the source once, batches frames and runs under
``torch.inference_mode`` with folded, prepacked convolutions and low-resolution upsampling
convolutions; the residual bottleneck (most of a frame's work) uses Winograd F(4x4, 3x3)
convolutions, and the full-resolution decoder runs two frames at a time so its activations stay in
the CPU caches. Both use the same random weights at the official ``vox-256`` config (real weights
take the same time).

Runs of the two are interleaved so background load hits both alike; the medians over ``--repeats``
are compared, in wall-clock time (what the room waits for) and in process CPU time (robust to
other processes on a shared machine). The load average is printed before and after.

    .venv/bin/python bench/bench_fomm.py [--frames 16] [--threads 1] [--batch 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.fomm import FommAnimator, FommConfig, build_fomm, normalize_kp  # noqa: E402
from core.image.convert import to_uint8  # noqa: E402


def official_loop(kp_detector, generator, source_u8: np.ndarray, frames_u8: np.ndarray) -> np.ndarray:
    """The official demo's make_animation (relative + adapt_scale), frame by frame."""
    with torch.no_grad():
        source = torch.tensor(source_u8[None].astype(np.float32) / 255.0).permute(0, 3, 1, 2)
        driving = torch.tensor(frames_u8.astype(np.float32) / 255.0).permute(0, 3, 1, 2)
        kp_source = kp_detector(source)
        kp_initial = kp_detector(driving[:1])
        out = []
        for i in range(driving.shape[0]):
            kp_driving = kp_detector(driving[i:i + 1])
            kp_norm = normalize_kp(kp_source, kp_driving, kp_initial, adapt_movement_scale=True,
                                   use_relative_movement=True, use_relative_jacobian=True)
            pred = generator(source, kp_source=kp_source, kp_driving=kp_norm)["prediction"]
            out.append(to_uint8(pred, drange=(0.0, 1.0))[0])
    return np.stack(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", type=int, default=256)
    # One thread: on the shared 2-vCPU box two threads make both paths 2-3x slower in wall time
    # (every parallel region waits for a descheduled partner thread); pass --threads 2 to compare.
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3, help="timed runs of each; the medians are compared")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    kp_detector, generator = build_fomm(FommConfig())
    kp_detector.eval()
    generator.eval()
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (a.size, a.size, 3), dtype=np.uint8)
    frames = rng.integers(0, 256, (a.frames, a.size, a.size, 3), dtype=np.uint8)
    print(f"FOMM vox-256 config, {a.size} px, {a.frames} frames, {a.threads} thread(s), "
          f"torch {torch.__version__}")

    animator = FommAnimator(kp_detector, generator, "cpu", batch_size=a.batch)
    animator16 = FommAnimator(kp_detector, generator, "cpu", batch_size=a.batch, amp_bf16=True)
    official_loop(kp_detector, generator, source, frames[:2])  # warm-up
    for anim in (animator, animator16):
        anim.set_source(source)
        anim.animate(frames[:2])

    print(f"load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    times: dict[str, list[tuple[float, float]]] = {"base": [], "fast": [], "bf16": []}
    outputs: dict[str, np.ndarray] = {}

    def timed(key: str, fn) -> None:
        w0, c0 = time.perf_counter(), time.process_time()
        outputs[key] = fn()
        times[key].append(((time.perf_counter() - w0) / a.frames, (time.process_time() - c0) / a.frames))

    def fast_path(anim: FommAnimator) -> np.ndarray:
        anim.set_source(source)  # source encoding counted in the fast path's time
        return anim.animate(frames)

    for _ in range(a.repeats):  # interleaved so background load hits both alike
        timed("base", lambda: official_loop(kp_detector, generator, source, frames))
        timed("fast", lambda: fast_path(animator))
        timed("bf16", lambda: fast_path(animator16))
    diff = np.abs(outputs["base"].astype(int) - outputs["fast"].astype(int)).max()
    diff16 = np.abs(outputs["base"].astype(int) - outputs["bf16"].astype(int)).max()
    for i, clock in enumerate(("wall", "cpu")):
        base = [1000 * t[i] for t in times["base"]]
        fast = [1000 * t[i] for t in times["fast"]]
        fast16 = [1000 * t[i] for t in times["bf16"]]
        base_ms, fast_ms, fast16_ms = float(np.median(base)), float(np.median(fast)), float(np.median(fast16))
        print(f"[{clock}] official per-frame loop : {base_ms:8.1f} ms/frame  (runs: "
              f"{', '.join(f'{v:.0f}' for v in base)})")
        print(f"[{clock}] FommAnimator (batch {a.batch:2d}) : {fast_ms:8.1f} ms/frame  (runs: "
              f"{', '.join(f'{v:.0f}' for v in fast)})")
        print(f"[{clock}] speed-up (medians)      : {base_ms / fast_ms:8.2f}x  (target >= 2x); per run: "
              f"{', '.join(f'{b / f:.2f}' for b, f in zip(base, fast))}")
        print(f"[{clock}] FommAnimator amp_bf16   : {fast16_ms:8.1f} ms/frame  speed-up "
              f"{base_ms / fast16_ms:.2f}x (bottleneck under bf16 autocast; off by default)")
    print(f"max |uint8 difference|  : {diff} (amp_bf16: {diff16}; random weights, so a weak check)")
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
