"""The sampler's exports as background jobs (core.jobs thread jobs): a keyframe interpolation to a signed
MP4 + GIF, and a seed list to a signed zip of PNGs. Each reports progress (frames / images done, with the
ETA the job layer estimates), stops at a cancel request, and writes its files whole (or not at all) into
``out_dir``; the job's result names them, so a page rerun (or another tab) finds them again.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import jobs
from core import provenance as pv
from core.checkpoint import atomic_write_bytes
from core.stylegan2.latents import keyframe_ws
from core.stylegan2.networks import Generator
from core.stylegan2.sampling import generate_images, render_frames

VIDEO_KIND, BATCH_KIND = "stylegan2-video", "stylegan2-batch"
MAX_VIDEO_PX = 512   # the MP4's frame size at most (the view and a projector gain nothing above it)
MAX_GIF_PX = 256     # GIF frames above this are halved (GIFs grow fast)


@dataclass(frozen=True)
class Interpolation:
    keyframe_seeds: tuple[int, ...]
    steps: int          # frames per transition
    space: str          # "w" (lerp) or "z" (slerp)
    loop: bool
    fps: float
    psi: float
    noise_mode: str


def _unique_stem(prefix: str) -> str:
    # Time for the reader, a random tail so two exports in one second never overwrite each other.
    return f"{prefix}_{int(time.time())}_{uuid.uuid4().hex[:6]}"


def start_interpolation_job(run_dir: str | os.PathLike, G: Generator, spec: Interpolation,
                            out_dir: str | os.PathLike, model: str,
                            settings: pv.ProvenanceSettings | None = None) -> jobs.ThreadJob[dict]:
    """Render ``spec`` to ``out_dir/morph_*.mp4`` and ``.gif`` in a thread job of ``run_dir``; the job's
    result is ``{"mp4": path, "gif": path, "frames": n}``. Raises core.jobs.JobBusyError if busy."""
    if len(spec.keyframe_seeds) < 2 or spec.space not in ("w", "z") or spec.steps < 1 or spec.fps <= 0:
        raise ValueError("an interpolation needs two keyframe seeds, space 'w' or 'z', steps >= 1, fps > 0")
    out_dir = Path(out_dir)
    stem = _unique_stem(f"morph_{'-'.join(map(str, spec.keyframe_seeds[:6]))}")
    origin = pv.Origin("StyleGAN2 sampler", (model,),
                       {"keyframe_seeds": list(spec.keyframe_seeds), "psi": spec.psi, "space": spec.space,
                        "noise": spec.noise_mode})

    def work(ctx: jobs.JobContext) -> dict:
        ws_path = keyframe_ws(G, spec.keyframe_seeds, spec.steps, spec.space, spec.psi, loop=spec.loop)
        frames: list[np.ndarray] = []
        out_size = min(G.img_resolution, MAX_VIDEO_PX)
        for i, frame in enumerate(render_frames(G, ws_path, spec.noise_mode, out_size=out_size)):
            ctx.raise_if_cancelled()
            frames.append(frame)
            ctx.progress(i + 1, len(ws_path), f"Frame {i + 1}/{len(ws_path)}", unit="frames")
        gif_frames = [f[::2, ::2] if f.shape[0] > MAX_GIF_PX else f for f in frames]
        out_dir.mkdir(parents=True, exist_ok=True)
        mp4, gif = out_dir / f"{stem}.mp4", out_dir / f"{stem}.gif"
        pv.export_video(frames, mp4, origin, spec.fps, settings)
        ctx.raise_if_cancelled()
        pv.export_video(gif_frames, gif, origin, spec.fps, settings)
        return {"mp4": str(mp4), "gif": str(gif), "frames": len(frames)}

    return jobs.start_thread_job(run_dir, work, kind=VIDEO_KIND)


def start_batch_job(run_dir: str | os.PathLike, G: Generator, seeds: list[int], psi: float, noise_mode: str,
                    out_dir: str | os.PathLike, model: str, seeds_text: str = "",
                    settings: pv.ProvenanceSettings | None = None) -> jobs.ThreadJob[dict]:
    """Render ``seeds`` to a signed zip of PNGs (``seed00042.png`` ...) at ``out_dir/stylegan2_batch_*.zip``
    in a thread job of ``run_dir``; the result is ``{"zip": path, "images": n, "seconds": s}``."""
    if not seeds:
        raise ValueError("a batch needs at least one seed")
    seeds = list(seeds)
    path = Path(out_dir) / f"{_unique_stem('stylegan2_batch')}.zip"
    zip_origin = pv.Origin("StyleGAN2 sampler", (model,), {"seeds": seeds_text or seeds, "psi": psi},
                           title="stylegan2_batch.zip")

    def work(ctx: jobs.JobContext) -> dict:
        t0 = time.perf_counter()

        def faces() -> Iterator[tuple[str, np.ndarray, pv.Origin]]:
            for i, (s, img) in enumerate(generate_images(G, seeds, psi, noise_mode=noise_mode)):
                ctx.raise_if_cancelled()
                yield f"seed{s:05d}.png", img, pv.Origin("StyleGAN2 sampler", (model,),
                                                         {"seed": s, "psi": psi, "noise": noise_mode})
                ctx.progress(i + 1, len(seeds), f"{i + 1}/{len(seeds)}", unit="images")

        data = pv.export_zip(faces(), zip_origin, settings)
        atomic_write_bytes(path, data)
        return {"zip": str(path), "images": len(seeds), "seconds": time.perf_counter() - t0}

    return jobs.start_thread_job(run_dir, work, kind=BATCH_KIND)
