"""A morph scene: every frame of a keyframe path (lerp in W or slerp in Z) at the model's full resolution,
ready for an in-browser scrub (at least 65 frames per transition by default)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from core.show.render.context import RenderContext, enlarged_for_display
from core.show.schema import MorphScene


def estimate(scene: MorphScene) -> int:
    return scene.frame_count()


def batch_size(resolution: int) -> int:
    """Frames per synthesis call: small batches at high resolution keep memory flat."""
    return 1 if resolution >= 512 else 4 if resolution >= 128 else 8


def render(scene: MorphScene, ctx: RenderContext) -> dict:
    from core import stylegan2 as sg

    G = ctx.generator(scene.model)
    ws = sg.keyframe_ws(G, scene.seeds, scene.frames_per_transition - 1, scene.space, scene.psi,
                        loop=scene.loop)
    total = scene.frame_count()
    assert ws.shape[0] == total, f"path has {ws.shape[0]} frames, expected {total}"
    # Random noise is drawn once (same seed every call) so it does not flicker from frame to frame.
    step = 1 if scene.noise == "random" else batch_size(G.img_resolution)

    def frames_from(start: int) -> Iterator[np.ndarray]:
        for i in range(start, total, step):
            for frame in sg.synthesize(G, ws[i:i + step], scene.noise, noise_seed=scene.seeds[0]):
                yield enlarged_for_display(frame, G.img_resolution)

    frames = ctx.render_sequence(total, frames_from)
    per = scene.frames_per_transition - 1
    keyframes = [min(k * per, total - 1) for k in range(len(scene.seeds) + (1 if scene.loop else 0))]
    return {"frames": frames, "fps": scene.fps, "width": G.img_resolution, "height": G.img_resolution,
            "keyframes": keyframes, "labels": [f"seed {s}" for s in scene.seeds]}
