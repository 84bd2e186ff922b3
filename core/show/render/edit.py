"""A semantic edit: one face swept along a SeFa direction (Shen & Zhou 2021) over an amount range, as
frames for the scrub."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from core.show.errors import ShowError
from core.show.render.context import RenderContext, enlarged_for_display
from core.show.render.morph import batch_size
from core.show.schema import EditScene


def estimate(scene: EditScene) -> int:
    return scene.frames


def render(scene: EditScene, ctx: RenderContext) -> dict:
    import torch

    from core import stylegan2 as sg

    G = ctx.generator(scene.model)
    layers = None if scene.layers == "all" else sg.style_layers(G, scene.layers)
    sem = sg.sefa_directions(G, layers=layers, num=scene.direction + 1)
    if scene.direction >= len(sem.directions):
        raise ShowError(f"direction {scene.direction + 1}: this model has only {len(sem.directions)} "
                        f"directions for the {scene.layers} layers")
    ws = sg.seeds_to_ws(G, [scene.seed], scene.psi)
    amounts = scene.amounts()
    path = torch.cat([sg.apply_directions(ws, sem, [0.0] * scene.direction + [a]) for a in amounts])
    step = 1 if scene.noise == "random" else batch_size(G.img_resolution)

    def frames_from(start: int) -> Iterator[np.ndarray]:
        for i in range(start, len(amounts), step):
            for frame in sg.synthesize(G, path[i:i + step], scene.noise, noise_seed=scene.seed):
                yield enlarged_for_display(frame, G.img_resolution)

    frames = ctx.render_sequence(len(amounts), frames_from)
    return {"frames": frames, "fps": 12.0, "width": G.img_resolution, "height": G.img_resolution,
            "amounts": amounts, "labels": [f"{a:+.1f}σ" for a in amounts]}
