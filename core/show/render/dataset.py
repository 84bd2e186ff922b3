"""A dataset snapshot: scan a folder of photos (:func:`core.faces.scan_folder`) and keep the summary and a
grid of the kept, aligned faces."""

from __future__ import annotations

from core.show.errors import ShowError
from core.show.render.context import RenderContext
from core.show.schema import DatasetScene


def estimate(scene: DatasetScene) -> int:
    return 100


def render(scene: DatasetScene, ctx: RenderContext) -> dict:
    import numpy as np

    from core import faces as F
    from core.image.convert import make_grid

    folder = ctx.input_path(scene.folder, "photo folder")
    cfg = F.ScanConfig(detector=scene.detector, size=scene.size, min_face=scene.min_face,
                       blur_threshold=scene.blur_threshold, keep=scene.keep,
                       dup_threshold=scene.dup_threshold)

    def progress(i: int, n: int, rec) -> None:
        ctx.check_cancel()
        ctx.set_done(int(99 * (i + 1) / max(n, 1)), f"{i + 1}/{n} photos")

    result = F.scan_folder(folder, cfg, progress=progress, keep_crops=True)
    crops = [f.crop for _, f in result.kept_crops() if f.crop is not None][:scene.grid]
    summary = result.summary()
    if not crops:
        raise ShowError(f"no face was kept in {scene.folder} ({summary['images']} images scanned)")
    cols = int(np.ceil(np.sqrt(len(crops) * 16 / 9)))
    grid = make_grid(np.stack(crops), cols=min(cols, len(crops)))
    ctx.set_done(100, "grid")
    return {"image": ctx.put_image(grid, "png"), "width": int(grid.shape[1]), "height": int(grid.shape[0]),
            "summary": summary}
