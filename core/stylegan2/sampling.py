"""Rendering: latents to uint8 images (official ``generate.py`` and ``style_mixing.py`` behaviour),
latent-path frames for videos, and the preview resolution that fits a time budget.

Every function is pure and seeded: the same generator, latents and noise seed give the same
uint8 HxWx3 images (via :func:`core.image.convert.to_uint8`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from core.device import device_name, is_device_failure
from core.image.convert import make_grid, to_uint8
from core.jobs.priority import foreground, is_background, yield_to_foreground
from core.stylegan2.fast import FAST_MIN_RESOLUTION, bf16_is_fast, fast_synthesis
from core.stylegan2.latents import lerp, mix_styles, seeds_to_ws
from core.stylegan2.networks import Generator


def _noise_generator(noise_mode: str, noise_seed: int,
                     device: torch.device | None = None) -> torch.Generator | None:
    if noise_mode != "random":
        return None
    g = torch.Generator(device=device or "cpu")
    g.manual_seed(int(noise_seed))
    return g


PRECISIONS = ("auto", "fp32", "bf16", "reference")


def render_path(G: Generator, noise_mode: str = "const", precision: str = "auto") -> str:
    """Which synthesis draws G's pictures: 'fast-fp32' / 'fast-bf16' (:mod:`core.stylegan2.fast`, the CPU
    renderer for large generators), 'reference' (``G.synthesis``, the official numerics) or 'device'
    (``G.synthesis`` on a GPU, in half precision where the official network uses it).

    ``precision``: 'auto' (the fast fp32 renderer for generators of at least FAST_MIN_RESOLUTION px on the
    CPU, bf16 only where the CPU has bf16 units), 'fp32', 'bf16', or 'reference'.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if G.mapping.w_avg.device.type != "cpu":
        return "device"
    if precision == "reference" or noise_mode == "random" or G.training:
        return "reference"
    if precision == "auto":
        if G.img_resolution < FAST_MIN_RESOLUTION:
            return "reference"
        return "fast-bf16" if bf16_is_fast() else "fast-fp32"
    return f"fast-{precision}"


def uses_half(G: Generator) -> bool:
    """Whether the network's release runs its top blocks in fp16 on a GPU (``num_fp16_res`` > 0)."""
    return any(getattr(G.synthesis, f"b{r}").use_fp16 for r in G.synthesis.block_resolutions)


def render_precision(G: Generator, noise_mode: str = "const", precision: str = "auto") -> str:
    """The precision :func:`synthesize` draws G in: 'fast-fp32', 'fast-bf16', 'fp32' (the reference
    synthesis) or, on a GPU, 'fp16 mixed' where the official network uses half precision."""
    path = render_path(G, noise_mode, precision)
    if path == "device":
        return "fp16 mixed" if G.mapping.w_avg.device.type == "cuda" and uses_half(G) else "fp32"
    return "fp32" if path == "reference" else path


def generator_device(G: Generator) -> str:
    """'cpu', 'cuda:0', 'mps:0' ... (where G's weights are)."""
    return str(G.mapping.w_avg.device)


def _synthesis(G: Generator, ws: torch.Tensor, noise_mode: str, noise_seed: int,
               max_resolution: int | None, precision: str) -> torch.Tensor:
    path = render_path(G, noise_mode, precision)
    if path.startswith("fast-"):
        dtype = torch.bfloat16 if path == "fast-bf16" else torch.float32
        img = fast_synthesis(G, dtype)(ws.cpu(), noise_mode, max_resolution=max_resolution)
    else:
        ws = ws.to(G.mapping.w_avg.device)
        # Unfused modulation: one shared conv per layer and cached demodulation sums (same maths).
        # On a GPU the blocks the official release runs in fp16 run in fp16 (force_fp32 stays False).
        img = G.synthesis(ws, noise_mode=noise_mode, max_resolution=max_resolution,
                          fused_modconv=path == "device" and ws.shape[0] == 1,
                          generator=_noise_generator(noise_mode, noise_seed, ws.device)).float()
    return img


@torch.no_grad()
def synthesize(G: Generator, ws: torch.Tensor, noise_mode: str = "const", noise_seed: int = 0,
               max_resolution: int | None = None, out_size: int | None = None,
               precision: str = "auto") -> np.ndarray:
    """ws [N, num_ws, w_dim] -> uint8 [N, H, W, 3].

    ``max_resolution`` stops synthesis after that block (cheap preview; the skip architecture makes
    every block's running image valid) and ``out_size`` resizes (bilinear) for display. ``precision``
    picks the renderer (:func:`render_path`); ws may live on the CPU whatever G's device.

    Called from a background thread (:mod:`core.jobs.priority`) it first waits while a foreground render
    runs, and the fast renderer waits again between blocks; called from any other thread the render is a
    foreground one, which background renders step aside for.
    """
    assert ws.ndim == 3 and ws.shape[1] == G.num_ws, f"ws must be [N, {G.num_ws}, w_dim], got {ws.shape}"
    if is_background():
        yield_to_foreground()
        return _synthesize(G, ws, noise_mode, noise_seed, max_resolution, out_size, precision)
    with foreground():
        return _synthesize(G, ws, noise_mode, noise_seed, max_resolution, out_size, precision)


def _synthesize(G: Generator, ws: torch.Tensor, noise_mode: str, noise_seed: int, max_resolution: int | None,
                out_size: int | None, precision: str) -> np.ndarray:
    try:
        img = _synthesis(G, ws, noise_mode, noise_seed, max_resolution, precision)
    except Exception as e:  # noqa: BLE001 -- only a device giving out is retried, see below
        if generator_device(G) == "cpu" or not is_device_failure(e):
            raise
        # The GPU ran out of memory or failed mid-render: say so once, move G to the CPU (in place, so
        # every later call stays there) and draw the same picture again; nothing is lost.
        reason = " ".join(str(e).split())[:100]
        line = (f"{device_name(generator_device(G))} failed while drawing ({reason}); "
                "continuing on the processor")
        print(line, file=sys.stderr)
        G.__dict__["device_fallback"] = line
        G.to("cpu")
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        img = _synthesis(G, ws, noise_mode, noise_seed, max_resolution, precision)
    if out_size is not None and img.shape[-1] != out_size:
        img = F.interpolate(img, size=(out_size, out_size), mode="bilinear", align_corners=False,
                            antialias=img.shape[-1] > out_size)
    return to_uint8(img)


def generate_images(G: Generator, seeds: Sequence[int], truncation_psi: float = 1.0,
                    truncation_cutoff: int | None = None, noise_mode: str = "const",
                    batch_size: int = 8) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (seed, uint8 HxWx3) like the official ``generate.py`` (noise seeded by the seed)."""
    seeds = list(seeds)
    for i in range(0, len(seeds), batch_size):
        chunk = seeds[i:i + batch_size]
        ws = seeds_to_ws(G, chunk, truncation_psi, truncation_cutoff)
        if noise_mode == "random":
            imgs = np.concatenate([synthesize(G, ws[j:j + 1], noise_mode, noise_seed=s)
                                   for j, s in enumerate(chunk)])
        else:
            imgs = synthesize(G, ws, noise_mode)
        yield from zip(chunk, imgs)


def render_frames(G: Generator, ws: torch.Tensor, noise_mode: str = "const", batch_size: int = 4,
                  out_size: int | None = None) -> Iterator[np.ndarray]:
    """Yield uint8 HxWx3 frames for a latent path (for core.video.write_mp4 / write_gif)."""
    for i in range(0, len(ws), batch_size):
        yield from synthesize(G, ws[i:i + batch_size], noise_mode, out_size=out_size)


def morph_frames(G: Generator, ws_a: torch.Tensor, ws_b: torch.Tensor, count: int, noise_mode: str = "const",
                 noise_seed: int = 0, max_resolution: int | None = None,
                 batch_size: int = 4) -> Iterator[np.ndarray]:
    """Yield ``count`` uint8 HxWx3 frames of the linear W path from ``ws_a`` (t = 0) to ``ws_b`` (t = 1),
    evenly spaced in t; frame i is what :func:`synthesize` gives for ``lerp(ws_a, ws_b, i / (count - 1))``.

    A generator, so a caller working in the background can stop between batches.
    """
    assert ws_a.shape == ws_b.shape and ws_a.ndim == 3 and ws_a.shape[0] == 1, (ws_a.shape, ws_b.shape)
    assert count >= 2, count
    ts = [i / (count - 1) for i in range(count)]
    per_image_noise = noise_mode == "random"  # one noise draw per frame, as a single render would make
    for i in range(0, count, 1 if per_image_noise else batch_size):
        ws = torch.cat([lerp(ws_a, ws_b, t) for t in ts[i:i + (1 if per_image_noise else batch_size)]])
        yield from synthesize(G, ws, noise_mode, noise_seed=noise_seed, max_resolution=max_resolution)


@torch.no_grad()
def style_mixing_grid(G: Generator, row_seeds: Sequence[int], col_seeds: Sequence[int],
                      layers: Sequence[int], truncation_psi: float = 1.0, noise_mode: str = "const",
                      out_size: int | None = None) -> np.ndarray:
    """Official ``style_mixing.py`` layout: top row = column seeds, left column = row seeds,
    cell (r, c) = row seed's w with ``layers`` taken from column seed c. Returns one uint8 image."""
    row_ws = seeds_to_ws(G, row_seeds, truncation_psi)
    col_ws = seeds_to_ws(G, col_seeds, truncation_psi)
    row_img = synthesize(G, row_ws, noise_mode, out_size=out_size)
    col_img = synthesize(G, col_ws, noise_mode, out_size=out_size)
    blank = np.full_like(row_img[0], 255)
    tiles = [blank] + list(col_img)
    for r in range(len(row_seeds)):
        mixed = mix_styles(row_ws[r:r + 1].expand(len(col_seeds), -1, -1), col_ws, layers)
        tiles += [row_img[r]] + list(synthesize(G, mixed, noise_mode, out_size=out_size))
    return make_grid(tiles, cols=len(col_seeds) + 1)


def preview_resolution(G: Generator, budget_ms: float, probe: bool = True) -> int:
    """Largest block resolution whose synthesis fits ``budget_ms`` on this machine (for dragging).

    Times batch-1 synthesis per resolution (best of two, after a warm-up), smallest first, stopping at
    the first that misses.
    """
    ws = G.mapping.w_avg.reshape(1, 1, -1).repeat(1, G.num_ws, 1).cpu()
    best = G.synthesis.block_resolutions[0]
    if not probe:
        return best
    with torch.no_grad():
        synthesize(G, ws, max_resolution=best)  # warm-up: first calls pay for allocator/kernels setup
        for res in G.synthesis.block_resolutions:
            times = []
            for _ in range(2):
                t0 = time.perf_counter()
                synthesize(G, ws, max_resolution=res)
                times.append((time.perf_counter() - t0) * 1000)
            if min(times) > budget_ms:
                break
            best = res
    return best

