"""A training time-lapse: a DCGAN run's fixed-noise snapshots (``RUN/snapshots/step_*.png``), evenly
thinned to at most ``max_frames``, stored as JPEG (a fifth of the PNG's size) for the scrub and the reel."""

from __future__ import annotations

import re

from core.show.errors import ShowError
from core.show.render.context import RenderContext
from core.show.schema import TimelapseScene


def estimate(scene: TimelapseScene) -> int:
    return scene.max_frames


def pick(n: int, k: int) -> list[int]:
    """k indices out of n, evenly spaced, first and last included."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def render(scene: TimelapseScene, ctx: RenderContext) -> dict:
    from core.dcgan import snapshot_paths
    from core.images import read_rgb

    run = ctx.input_path(scene.run, "DCGAN run folder")
    snaps = snapshot_paths(run)
    if len(snaps) < 2:
        raise ShowError(f"{scene.run} has {len(snaps)} snapshot(s); a time-lapse needs at least 2")
    chosen = [snaps[i] for i in pick(len(snaps), scene.max_frames)]
    frames, labels = [], []
    width = height = 0
    for i, path in enumerate(chosen):
        ctx.check_cancel()
        rgb = read_rgb(path)
        height, width = rgb.shape[:2]
        frames.append(ctx.put_image(rgb, "jpg"))
        m = re.search(r"(\d+)", path.stem)
        labels.append(f"step {int(m.group(1)):,}" if m else path.stem)
        ctx.set_done(int(scene.max_frames * (i + 1) / len(chosen)), f"{i + 1}/{len(chosen)} snapshots")
    return {"frames": frames, "labels": labels, "fps": scene.fps, "width": width, "height": height}
