"""A face scene: one StyleGAN2 sample at the model's full resolution."""

from __future__ import annotations

from core.show.render.context import RenderContext, enlarged_for_display
from core.show.schema import FaceScene


def estimate(scene: FaceScene) -> int:
    return 1


def face_image(G, seed: int, psi: float, noise: str):
    """uint8 HxWx3 for a seed, as the sampler draws it (noise seeded by the seed, like ``generate.py``)."""
    from core import stylegan2 as sg

    ws = sg.seeds_to_ws(G, [seed], psi)
    return sg.synthesize(G, ws, noise, noise_seed=seed)[0]


def render(scene: FaceScene, ctx: RenderContext) -> dict:
    G = ctx.generator(scene.model)
    ctx.check_cancel()
    image = face_image(G, scene.seed, scene.psi, scene.noise)
    ctx.advance(1, "1/1 image")
    shown = enlarged_for_display(image, G.img_resolution)
    return {"image": ctx.put_image(shown), "width": int(image.shape[1]), "height": int(image.shape[0])}
