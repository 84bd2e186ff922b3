"""What a renderer gets: the show folder, progress and cancel, media writers, cached models, and frame
sequences that resume where a cancelled or crashed prepare stopped.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core import provenance as pv
from core.show import store
from core.show.errors import ShowError
from core.show.licences import SYNTHETIC_KINDS
from core.show.schema import Scene, Show

JPEG_QUALITY = 85  # with 4:2:0 chroma: enlarged 64 px faces ~7.5 KB at 256 px (11.7 KB at 90, 4:4:4)
# Pictures of small models are stored enlarged (Lanczos) so that each face or grid cell is at least this
# many pixels: the player shows a face ~500 px wide, and a browser's own scaling of 64 px is a blur.
FACE_DISPLAY_PX = 256
GRID_CELL_DISPLAY_PX = 128
PARTIAL_SAVE_S = 1.0  # the resume record of a frame sequence is rewritten at most once a second


def encode_image(rgb: np.ndarray, fmt: str = "jpg", quality: int = JPEG_QUALITY) -> bytes:
    """uint8 HxWx3 -> JPEG (photos, frames), PNG (charts, lossless) or WebP bytes."""
    rgb = np.asarray(rgb)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3, \
        f"expected uint8 HxWx3, got {rgb.dtype} {rgb.shape}"
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(rgb))
    if fmt == "jpg":
        im.save(buf, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2, optimize=False)
    elif fmt == "webp":
        im.save(buf, "WEBP", quality=quality, method=4)
    elif fmt == "png":
        im.save(buf, "PNG", compress_level=6)
    else:
        raise ShowError(f"unknown image format {fmt!r}")
    return buf.getvalue()


def enlarged_for_display(rgb: np.ndarray, cell: int, min_cell: int = FACE_DISPLAY_PX) -> np.ndarray:
    """``rgb`` (a face of side ``cell``, or a grid of such cells) scaled by the smallest whole factor that
    makes a cell at least ``min_cell`` pixels; unchanged when it already is."""
    from core.image.convert import display_resize

    factor = max(1, -(-min_cell // max(int(cell), 1)))
    if factor == 1:
        return rgb
    return display_resize(rgb, (rgb.shape[0] * factor, rgb.shape[1] * factor))


class RenderContext:
    """One scene's render: ``advance``/``check_cancel`` report to the prepare job; ``put_*`` store media."""

    def __init__(self, show_dir: Path, show: Show, scene: Scene, key: str,
                 report: Callable[[int, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None,
                 models: dict[str, Any] | None = None,
                 log: Callable[[str], None] | None = None, device: str | None = None):
        self.show_dir = Path(show_dir)  # the show folder (media lands in its media/)
        self.show = show                # the whole show (animations may use a face scene's render)
        self.scene = scene
        self.key = key                  # the scene's render key
        self._report = report           # report(units done in this scene, message)
        self._cancelled = cancelled     # True once a cancel was requested
        self.models = models if models is not None else {}  # generator cache shared across scenes
        self.log = log or (lambda message: None)
        self.device = device            # core.device request for the models (None: env, else automatic)
        self.done = 0

    # -- progress and cancel --------------------------------------------------------------------

    def advance(self, n: int = 1, message: str = "") -> None:
        self.done += n
        if self._report is not None:
            self._report(self.done, message)

    def set_done(self, done: int, message: str = "") -> None:
        self.done = done
        if self._report is not None:
            self._report(self.done, message)

    def check_cancel(self) -> None:
        from core.jobs import JobCancelled

        if self._cancelled is not None and self._cancelled():
            raise JobCancelled("prepare cancelled")

    # -- media ----------------------------------------------------------------------------------

    def put_image(self, rgb: np.ndarray, fmt: str = "jpg") -> str:
        """Store a picture; a model's picture of 256 px or more carries the invisible watermark (the stage
        shows a badge instead of a drawn-in label; the reels that leave the studio are signed whole)."""
        if self.scene.KIND in SYNTHETIC_KINDS and pv.settings_from_env().watermark:
            from core.provenance import watermark

            rgb = watermark.embed(rgb)
        return store.put_media(self.show_dir, encode_image(rgb, fmt), f".{fmt}")

    def put_bytes(self, data: bytes, suffix: str) -> str:
        return store.put_media(self.show_dir, data, suffix)

    def input_path(self, value: str, what: str) -> Path:
        path = store.resolve_input(self.show_dir, value)
        if not path.exists():
            raise ShowError(f"{what} not found: {value}")
        return path

    def generator(self, model: str):
        """The scene's StyleGAN2 generator (loaded once per prepare run)."""
        if model not in self.models:
            from core import stylegan2 as sg

            path = store.resolve_input(self.show_dir, model)
            if not path.is_file():
                raise ShowError(f"model file not found: {model} (put it back, or present the show from its "
                                "media, which needs no model)")
            from core.device import choose_device

            self.models.clear()  # one large generator in memory at a time
            # The requested device (`prepare --device`, the studio's choice), else $CUSTOM_CAST_DEVICE, else
            # CUDA, MPS, CPU; sg.synthesize falls back to the CPU if the device gives out mid-render.
            device = choose_device(self.device).device
            G = sg.load_generator(path)
            self.models[model] = G.to(device) if device != "cpu" else G
        return self.models[model]

    # -- frame sequences that resume ------------------------------------------------------------

    def render_sequence(self, total: int, frames_from: Callable[[int], Iterator[np.ndarray]],
                        fmt: str = "jpg", label: str = "frames") -> list[str]:
        """Store ``total`` frames from ``frames_from(start)``, resuming after the frames a previous run
        recorded in the scene's partial manifest. Returns the media paths in order."""
        partial = store.read_render(self.show_dir, self.key, partial=True)
        done: list[str] = []
        if partial is not None and partial.get("total") == total:
            done = [rel for rel in partial.get("frames", [])
                    if store.media_file(self.show_dir, rel).is_file()][:total]
            if done:
                self.log(f"resuming {self.scene.KIND} '{self.scene.display_title()}' "
                         f"at frame {len(done) + 1}")
        self.set_done(len(done), f"{len(done)}/{total} {label}")
        last_save, saved = time.monotonic(), len(done)
        try:
            if len(done) < total:
                for rgb in frames_from(len(done)):
                    done.append(self.put_image(rgb, fmt))
                    self.advance(1, f"{len(done)}/{total} {label}")
                    if time.monotonic() - last_save >= PARTIAL_SAVE_S:
                        store.write_render(self.show_dir, self.key, {"total": total, "frames": done},
                                           partial=True)
                        last_save, saved = time.monotonic(), len(done)
                    if len(done) >= total:
                        break
                    self.check_cancel()
        finally:  # a cancel or a crash keeps what was rendered, so the next prepare resumes after it
            if saved != len(done) and len(done) < total:
                store.write_render(self.show_dir, self.key, {"total": total, "frames": done}, partial=True)
        if len(done) != total:
            raise ShowError(f"the renderer produced {len(done)} of {total} {label}")
        return done
