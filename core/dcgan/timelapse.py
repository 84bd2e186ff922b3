"""A run's time-lapse: its fixed-noise snapshots as a video, each frame labelled with the step it shows.

``python -m core.dcgan timelapse --run RUN_DIR --out timelapse.mp4`` (the page's "Make time-lapse" does
the same). ``--minutes`` adds the training time to each label, from the snapshots' file times: only
meaningful for a run recorded in one go, in its own folder (copies lose the times; a pause counts).
The bundled ``checkpoints/dcgan_demo_timelapse.mp4`` is made this way (see checkpoints/README.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core import provenance as pv
from core.checkpoint import atomic_write_bytes
from core.dcgan.run_dir import CONFIG_NAME, read_json, snapshot_paths, snapshot_step
from core.image.decode import read_rgb

LABEL_HEIGHT = 22  # px strip under the grid, at the output scale


@dataclass
class TimelapseInfo:
    """What a written time-lapse shows (stored beside it as JSON, for captions and provenance)."""

    frames: int                  # video frames (snapshots used)
    fps: float                   # playback rate
    first_step: int              # step of the first frame
    last_step: int               # step of the last frame
    minutes: float | None        # training time up to the last frame (None: not measured)
    run: str                     # the run folder it was made from
    config: dict | None          # that run's config.json


def pick_evenly(n: int, k: int) -> list[int]:
    """k of n indices, evenly spaced, first and last included (all of them if n <= k)."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def _label(grid: np.ndarray, text: str, scale: int) -> np.ndarray:
    """The grid, upscaled ``scale`` times (nearest: pixels stay pixels), over a strip with ``text``."""
    im = Image.fromarray(grid)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    out = Image.new("RGB", (im.width, im.height + LABEL_HEIGHT), (14, 17, 23))
    out.paste(im, (0, 0))
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=15)
    width = draw.textlength(text, font=font)
    draw.text(((out.width - width) / 2, im.height + 3), text, fill=(235, 235, 235), font=font)
    return np.asarray(out)


def timelapse_frames(run_dir: str | os.PathLike, max_frames: int = 200, minutes: bool = False,
                     scale: int = 1) -> tuple[list[np.ndarray], list[int], float | None]:
    """Labelled frames of the run's snapshots (at most ``max_frames``, evenly thinned), their steps, and
    the minutes up to the last one (``minutes`` only)."""
    snaps = snapshot_paths(run_dir)
    if len(snaps) < 2:
        raise ValueError(f"{run_dir} has {len(snaps)} snapshot(s); a time-lapse needs at least 2.")
    chosen = [snaps[i] for i in pick_evenly(len(snaps), max_frames)]
    start = snaps[0].stat().st_mtime if minutes else 0.0
    frames, steps = [], []
    elapsed = None
    for path in chosen:
        step = snapshot_step(path)
        text = f"step {step:,}"
        if minutes:
            elapsed = (path.stat().st_mtime - start) / 60
            text += f"  ·  {elapsed:.0f} min" if elapsed >= 1 else f"  ·  {elapsed * 60:.0f} s"
        frames.append(_label(read_rgb(path), text, scale))
        steps.append(step)
    return frames, steps, elapsed


def write_timelapse(run_dir: str | os.PathLike, out: str | os.PathLike, fps: float = 8.0,
                    max_frames: int = 200, minutes: bool = False, scale: int = 1,
                    quality: int = 6, provenance: pv.ProvenanceSettings | None = None) -> TimelapseInfo:
    """Write the run's time-lapse to ``out`` (.mp4: H.264 at ``quality`` 1-10, see core.video; .gif), labelled
    and signed (core.provenance; ``provenance`` None: the environment's settings), and ``out``'s .json
    beside it."""
    out = Path(out)
    if out.suffix.lower() not in (".mp4", ".gif"):
        raise ValueError(f"--out must end in .mp4 or .gif, not {out.name!r}.")
    frames, steps, elapsed = timelapse_frames(run_dir, max_frames, minutes, scale)
    origin = pv.Origin("DCGAN trainer time-lapse", (), {"run": Path(run_dir).name, "first_step": steps[0],
                                                        "last_step": steps[-1]}, title=out.name)
    pv.export_video(frames, out, origin, fps, provenance, quality=quality)
    info = TimelapseInfo(frames=len(frames), fps=fps, first_step=steps[0], last_step=steps[-1],
                         minutes=None if elapsed is None else round(elapsed, 1), run=str(run_dir),
                         config=read_json(Path(run_dir) / CONFIG_NAME))
    atomic_write_bytes(out.with_suffix(".json"), json.dumps(asdict(info), indent=1).encode())
    return info


def read_timelapse_info(video_path: str | os.PathLike) -> TimelapseInfo | None:
    """The JSON written beside a time-lapse, or None."""
    data = read_json(Path(video_path).with_suffix(".json"))
    try:
        return TimelapseInfo(**data) if data else None
    except TypeError:
        return None
