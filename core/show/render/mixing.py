"""A style-mixing grid (the official ``style_mixing.py`` layout): top row = style sources, left column =
destinations. Cells are capped at 512 px so a 1024 px model's grid stays a picture a browser shows."""

from __future__ import annotations

from core.show.render.context import GRID_CELL_DISPLAY_PX, RenderContext, enlarged_for_display
from core.show.schema import MixingScene

MAX_CELL = 512


def estimate(scene: MixingScene) -> int:
    return (len(scene.row_seeds) + 1) * (len(scene.col_seeds) + 1) - 1


def render(scene: MixingScene, ctx: RenderContext) -> dict:
    from core import stylegan2 as sg

    G = ctx.generator(scene.model)
    ctx.check_cancel()
    cell = min(G.img_resolution, MAX_CELL)
    grid = sg.style_mixing_grid(G, scene.row_seeds, scene.col_seeds, sg.style_layers(G, scene.group),
                                scene.psi, scene.noise, out_size=None if cell == G.img_resolution else cell)
    ctx.advance(estimate(scene), "grid")
    shown = enlarged_for_display(grid, cell, GRID_CELL_DISPLAY_PX)
    return {"image": ctx.put_image(shown), "width": int(grid.shape[1]), "height": int(grid.shape[0]),
            "cell": cell}
