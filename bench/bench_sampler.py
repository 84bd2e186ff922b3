"""Benchmark: StyleGAN2 sampler latency from a slider change to a displayable image.

1. The bundled model (or, when checkpoints/stylegan2_demo.pt is absent, the page's 64 px untrained
   stand-in): A<->B morph slider changes with cached mapping outputs -> lerp in W -> synthesis ->
   uint8 -> PNG (what Streamlit ships; the browser scales it to the display width). Target p95 <= 100 ms.
   Also: the 33 drag frames of a morph pair (``sg.morph_frames``), rendered in the background.
2. A 1024 px generator in the official FFHQ config-F shape (random weights; cost does not depend on
   the values): low-resolution early-exit preview while dragging (target <= 500 ms) against the naive
   approach, a full official-style synthesis per change. Prints the ratio.

Usage: python bench/bench_sampler.py [--threads 2] [--changes 40] [--full-repeats 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import CHECKPOINTS_DIR  # noqa: E402
from core import stylegan2 as sg  # noqa: E402
from core.imaging import png_bytes, to_uint8  # noqa: E402


def _pct(ms: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(ms), q))


def slider_changes(G: sg.Generator, n: int, max_resolution: int | None) -> list[float]:
    cache = sg.WsCache(G)
    cache.get(11, 0.7), cache.get(12, 0.7)  # the page has these cached before the first drag
    sg.synthesize(G, cache.get(11, 0.7), max_resolution=max_resolution)  # warm-up
    rng = np.random.default_rng(0)
    times = []
    for t in rng.uniform(0, 1, n):
        t0 = time.perf_counter()
        ws = sg.lerp(cache.get(11, 0.7), cache.get(12, 0.7), float(t))
        img = sg.synthesize(G, ws, "const", max_resolution=max_resolution)[0]
        png_bytes(img)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def drag_frames(G: sg.Generator, repeats: int, count: int = 33) -> list[float]:
    cache = sg.WsCache(G)
    wa, wb = cache.get(11, 0.7), cache.get(12, 0.7)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        frames = list(sg.morph_frames(G, wa, wb, count))
        times.append((time.perf_counter() - t0) * 1000)
        assert len(frames) == count
    return times


@torch.no_grad()
def naive_full(G: sg.Generator, repeats: int) -> list[float]:
    """Official-style per-change work: mapping + fused synthesis at full resolution + conversion."""
    z = torch.cat([sg.z_from_seed(11, G.z_dim), sg.z_from_seed(12, G.z_dim)])
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        ws = G.mapping(z, None, truncation_psi=0.7)
        ws = sg.lerp(ws[:1], ws[1:], 0.3 + 0.1 * r)
        img = to_uint8(G.synthesis(ws, noise_mode="const"))[0]
        png_bytes(img)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--changes", type=int, default=40)
    ap.add_argument("--full-repeats", type=int, default=2)
    ap.add_argument("--preview-budget-ms", type=float, default=400.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"torch {torch.__version__}, {a.threads} thread(s), {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f} (other work on the machine inflates every figure)")

    bundled = CHECKPOINTS_DIR / "stylegan2_demo.pt"
    if bundled.is_file():
        G = sg.load_generator(bundled)
        name = f"bundled {bundled.name}"
    else:
        G = sg.random_generator(64, z_dim=128, w_dim=128, channel_max=128)
        name = "untrained 64 px stand-in (bundled checkpoint absent)"
    ms = slider_changes(G, a.changes, None)
    print(f"\n[1] {name}: {G.img_resolution} px, {sum(p.numel() for p in G.parameters()) / 1e6:.2f}M params")
    print(f"    slider change -> PNG: p50 {_pct(ms, 50):.1f} ms, p95 {_pct(ms, 95):.1f} ms "
          f"(target p95 <= 100 ms: {'met' if _pct(ms, 95) <= 100 else 'MISSED'})")
    base = naive_full(G, 5)
    print(f"    naive (mapping + official fused synthesis per change): p50 {_pct(base, 50):.1f} ms")
    frames = drag_frames(G, 3)
    print(f"    33 drag frames (the page renders them in the background after the face): "
          f"p50 {_pct(frames, 50):.0f} ms")

    big = sg.official_size_generator(1024)
    res = sg.preview_resolution(big, a.preview_budget_ms)
    prev = slider_changes(big, max(10, a.changes // 2), res)
    print(f"\n[2] official-size 1024 px generator (random weights, {big.num_ws} ws, "
          f"{sum(p.numel() for p in big.parameters()) / 1e6:.1f}M params)")
    print(f"    preview while dragging: early exit at {res} px (browser scales it up): "
          f"p50 {_pct(prev, 50):.0f} ms, p95 {_pct(prev, 95):.0f} ms "
          f"(target <= 500 ms: {'met' if _pct(prev, 95) <= 500 else 'MISSED'})")
    full = naive_full(big, a.full_repeats)
    ours_full = slider_changes(big, a.full_repeats, None)
    print(f"    full resolution on release (unfused, cached mapping): p50 {_pct(ours_full, 50):.0f} ms")
    print(f"    naive full synthesis per change (official fused path): p50 {_pct(full, 50):.0f} ms")
    print(f"    ratio naive / preview (p50): {_pct(full, 50) / _pct(prev, 50):.1f}x faster while dragging")


if __name__ == "__main__":
    main()
