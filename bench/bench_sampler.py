"""Benchmark: StyleGAN2 sampler latency from a slider change to a displayable image.

1. The bundled model (or, when checkpoints/stylegan2_demo.pt is absent, the page's 64 px untrained
   stand-in): A<->B morph slider changes with cached mapping outputs -> lerp in W -> synthesis ->
   uint8 -> PNG (what Streamlit ships; the browser scales it to the display width). Target p95 <= 100 ms.
   Also: the 33 drag frames of a morph pair (``sg.morph_frames``), rendered in the background.
2. A 1024 px generator in the official FFHQ config-F shape (random weights; cost does not depend on
   the values): low-resolution early-exit preview while dragging (target <= 500 ms) against the naive
   approach, a full official-style synthesis per change. Prints the ratio.
3. The renderers for one full 1024 px face (official FFHQ config-F shape): the reference synthesis, the
   fast fp32 renderer (core.stylegan2.fast) and its bf16 mode, interleaved with the machine's own plain
   fp32 (and bf16) 3x3 convolution throughput measured in the same run; prints s/face, the effective
   GFLOP/s as a share of the conv throughput, the speed-ups and the PSNR against the reference; then
   the same share in one thread's CPU seconds (other work on a shared machine inflates wall times,
   much less the CPU time a thread gets), and the load average before and after.
   ``--renderer-only`` runs just this part.

Usage: python bench/bench_sampler.py [--threads 2] [--changes 40] [--full-repeats 2] [--renderer-only]
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
from core.image.convert import png_bytes, to_uint8  # noqa: E402


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


def synthesis_gflop(G: sg.Generator) -> float:
    """Multiply-adds x 2 of one face's convolutions, counted as the network defines them (a transposed
    3x3 conv at the input resolution for the up-sampling layers, the 4x4 FIR blurs and toRGB included)."""
    flop = 0.0
    syn = G.synthesis
    for res in syn.block_resolutions:
        b = getattr(syn, f"b{res}")
        c = b.out_channels
        if b.in_channels:
            flop += 2 * b.in_channels * c * 9 * (res // 2) ** 2 + 2 * c * 16 * res * res  # up-conv + blur
        flop += 2 * c * c * 9 * res * res + 2 * c * 3 * res * res  # conv + toRGB
    return flop / 1e9


def conv_throughput(dtype: torch.dtype, channels: int = 512, size: int = 64, runs: int = 1,
                    clock=time.perf_counter) -> tuple[float, float]:
    """GFLOP/s of a plain 3x3 conv (batch 1, channels-last, the layout oneDNN is fastest in), ``runs``
    convs back to back, best of three, and the seconds of one conv (``clock``: wall or CPU time)."""
    x = torch.randn(1, channels, size, size).to(dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(channels, channels, 3, 3).to(dtype).contiguous(memory_format=torch.channels_last)
    torch.nn.functional.conv2d(x, w, padding=1)
    best = min(_timed(lambda: [torch.nn.functional.conv2d(x, w, padding=1) for _ in range(runs)], clock)
               for _ in range(3)) / runs
    return 2 * channels * channels * 9 * size * size / best / 1e9, best


def _timed(fn, clock=time.perf_counter) -> float:
    t0 = clock()
    fn()
    return clock() - t0


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


@torch.no_grad()
def renderers(repeats: int, bf16_full: bool) -> None:
    from core.stylegan2.fast import FastSynthesis, bf16_is_fast, fast_synthesis, psnr

    G = sg.official_size_generator(1024)
    ws = sg.seeds_to_ws(G, [1], 0.7)
    gflop = synthesis_gflop(G)
    threads = torch.get_num_threads()
    load_before = _load()
    cold = _timed(lambda: FastSynthesis(G)(ws))  # the first face: buffers allocated, pages touched
    fp32 = fast_synthesis(G)
    bf16 = fast_synthesis(G, torch.bfloat16)
    ref_img = G.synthesis(ws, noise_mode="const")  # warm-up and the reference picture
    fast_img = fp32(ws)
    conv32, conv16, t_ref, t_fast = [], [], [], []
    for _ in range(repeats):  # interleaved, so load from other work hits every figure alike
        conv32.append(conv_throughput(torch.float32, runs=10)[0])
        t_ref.append(_timed(lambda: G.synthesis(ws, noise_mode="const")))
        conv32.append(conv_throughput(torch.float32, runs=10)[0])
        t_fast.append(_timed(lambda: fp32(ws)))
    conv32_best = max(conv32)
    print(f"\n[3] renderers, one 1024 px face ({gflop:.0f} GFLOP; random weights, official FFHQ shape), "
          f"{threads} thread(s); load average before {load_before}")
    print(f"    machine: plain fp32 3x3 conv (512 ch, 64x64, channels-last, 10 in a row): best "
          f"{conv32_best:.1f} GFLOP/s, median {np.median(conv32):.1f} over {len(conv32)} runs interleaved "
          f"with the renders")
    for name, ts in (("reference synthesis (official fused path)", t_ref), ("fast fp32 renderer", t_fast)):
        best = min(ts)
        print(f"    {name}: best {best:.2f} s/face, p50 {np.median(ts):.2f} s -> "
              f"{gflop / best:.1f} GFLOP/s = {100 * gflop / best / conv32_best:.0f} % of the conv throughput "
              f"(best vs best; p50 vs p50: {100 * gflop / np.median(ts) / np.median(conv32):.0f} %)")
    print(f"    fast fp32 / reference speed-up: {min(t_ref) / min(t_fast):.2f}x; "
          f"PSNR fp32 vs reference: {psnr(fast_img, ref_img):.1f} dB; first face of a fresh renderer "
          f"(buffers allocated): {cold:.2f} s")
    # Other work on the machine inflates wall times; one thread's CPU seconds mostly do not see it.
    torch.set_num_threads(1)
    conv_gf = conv_throughput(torch.float32, runs=10, clock=time.thread_time)[0]
    cpu_ref = min(_timed(lambda: G.synthesis(ws, noise_mode="const"), time.thread_time) for _ in range(2))
    cpu_fast = min(_timed(lambda: fp32(ws), time.thread_time) for _ in range(max(2, repeats)))
    torch.set_num_threads(threads)
    print(f"    one thread, CPU seconds (load-independent): conv {conv_gf:.1f} GFLOP per CPU-s; reference "
          f"{cpu_ref:.2f} CPU-s/face = {100 * gflop / cpu_ref / conv_gf:.0f} %, fast fp32 {cpu_fast:.2f} "
          f"CPU-s/face = {100 * gflop / cpu_fast / conv_gf:.0f} % of the conv's GFLOP per CPU-s")
    drag = [_timed(lambda: fp32(ws, max_resolution=256)) for _ in range(2)]
    print(f"    one drag frame (the 256 px block of the skip architecture), fast fp32: {min(drag):.2f} s; "
          f"a 65-frame 1024 px show morph at the fp32 face time: {65 * min(t_fast) / 60:.1f} min")
    # bf16: only CPUs with bf16 units (AVX512-BF16 / AMX) run bf16 convs natively; elsewhere oneDNN
    # emulates them many times slower, so without --bf16-full the comparison is made at 64 px.
    units = bf16_is_fast()
    res = None if (units or bf16_full) else 64
    conv16.append(conv_throughput(torch.bfloat16, 256, 32)[0])
    c32_small = conv_throughput(torch.float32, 256, 32)[0]
    b_img = bf16(ws, max_resolution=res)
    f_img = fp32(ws, max_resolution=res)
    t_b = min(_timed(lambda: bf16(ws, max_resolution=res)) for _ in range(max(1, repeats - 1)))
    t_f = min(_timed(lambda: fp32(ws, max_resolution=res)) for _ in range(max(1, repeats - 1)))
    where = "full 1024 px face" if res is None else f"face up to the {res} px block"
    print(f"    bf16 units on this CPU: {'yes' if units else 'NO (oneDNN emulates bf16)'}; plain 3x3 conv "
          f"(256 ch, 32x32): bf16 {conv16[0]:.1f} vs fp32 {c32_small:.1f} GFLOP/s")
    print(f"    bf16 renderer ({where}): {t_b:.3f} s vs fp32 {t_f:.3f} s -> {t_f / t_b:.2f}x; "
          f"PSNR bf16 vs fp32: {psnr(b_img, f_img):.1f} dB")
    print(f"    load average after: {_load()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--changes", type=int, default=40)
    ap.add_argument("--full-repeats", type=int, default=2)
    ap.add_argument("--preview-budget-ms", type=float, default=400.0)
    ap.add_argument("--renderer-only", action="store_true", help="only part 3 (the 1024 px renderers)")
    ap.add_argument("--renderer-repeats", type=int, default=3)
    ap.add_argument("--bf16-full", action="store_true",
                    help="time bf16 on the full face even where the CPU has no bf16 units (slow)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"torch {torch.__version__}, {a.threads} thread(s), {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f} (other work on the machine inflates every figure)")
    if a.renderer_only:
        renderers(a.renderer_repeats, a.bf16_full)
        return

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
    renderers(a.renderer_repeats, a.bf16_full)


if __name__ == "__main__":
    main()
