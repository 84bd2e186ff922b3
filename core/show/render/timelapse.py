"""A training time-lapse: a DCGAN run's fixed-noise snapshots (``RUN/snapshots/step_*.png``), or the
frames of a recorded time-lapse video (``python -m core.dcgan timelapse``, e.g. the bundled
``checkpoints/dcgan_demo_timelapse.mp4``: a run long enough to end in faces), evenly thinned to at most
``max_frames``, stored as JPEG (a fifth of the PNG's size) for the scrub and the reel."""

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


def render_recorded(scene: TimelapseScene, ctx: RenderContext, video_path) -> dict:
    """Frames of a recorded time-lapse video; labels from its JSON sidecar (steps and minutes)."""
    from core.dcgan import read_timelapse_info
    from core.video import VideoError, iter_frames

    info = read_timelapse_info(video_path)
    try:
        all_frames = list(iter_frames(video_path, max_frames=2000))
    except VideoError as e:
        raise ShowError(str(e)) from None
    if len(all_frames) < 2:
        raise ShowError(f"{scene.run} has {len(all_frames)} frame(s); a time-lapse needs at least 2")
    chosen = pick(len(all_frames), scene.max_frames)
    frames, labels = [], []
    last = len(all_frames) - 1
    for i, index in enumerate(chosen):
        ctx.check_cancel()
        frames.append(ctx.put_image(all_frames[index], "jpg"))
        if info is not None and info.last_step > info.first_step:
            step = info.first_step + round((info.last_step - info.first_step) * index / last, -1)
            labels.append(f"recorded · step {int(step):,}")
        else:
            labels.append(f"recorded · frame {index + 1}")
        ctx.set_done(int(scene.max_frames * (i + 1) / len(chosen)), f"{i + 1}/{len(chosen)} frames")
    height, width = all_frames[0].shape[:2]
    return {"frames": frames, "labels": labels, "fps": scene.fps, "width": width, "height": height,
            "recorded": True, "minutes": info.minutes if info is not None else None}


def render(scene: TimelapseScene, ctx: RenderContext) -> dict:
    from core.dcgan import snapshot_paths
    from core.image.decode import read_rgb

    run = ctx.input_path(scene.run, "DCGAN run folder or recorded time-lapse")
    if run.is_file():
        return render_recorded(scene, ctx, run)
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
