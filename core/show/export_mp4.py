"""The video reel: a show as one MP4 (H.264 through :mod:`core.video`), with a title card before each scene.

Stills hold for a few seconds, frame sequences play at their own fps, animations play once (at least
three seconds), evidence shows its headline and verdict over the chart. Frames are composed on a dark
16:9 canvas (1920x1080 when the show has media of 720 px or more, else 1280x720). The reel is silent:
animations keep their sound in the present page and in the HTML reel.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core import provenance as pv
from core.checkpoint import atomic_write_bytes
from core.image.decode import read_rgb
from core.provenance import watermark
from core.provenance.label import draw_label
from core.show import store
from core.show.licences import SYNTHETIC_KINDS, show_licences, uses_real_photo
from core.show.view import SceneView, not_ready_view, scene_views

FPS = 24
BACKGROUND = (14, 17, 23)
TEXT = (245, 245, 245)
MUTED = (170, 170, 170)
FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/Library/Fonts/Arial Unicode.ttf",
              "/System/Library/Fonts/Supplemental/Arial Unicode.ttf")


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont:
    """A font with arrows, Greek letters (ψ, σ) when the system has one; Pillow's own otherwise."""
    for path in FONT_FILES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _canvas(size: tuple[int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    im = Image.new("RGB", size, BACKGROUND)
    return im, ImageDraw.Draw(im)


def _centered(draw: ImageDraw.ImageDraw, y: int, text: str, size: int, fill, width: int) -> int:
    f = font(size)
    for line in text.splitlines() or [""]:
        for part in textwrap.wrap(line, max(10, int(width / (size * 0.55)))) or [""]:
            w = draw.textlength(part, font=f)
            draw.text(((width - w) / 2, y), part, font=f, fill=fill)
            y += int(size * 1.3)
    return y


def title_card(size: tuple[int, int], title: str, text: str = "") -> np.ndarray:
    im, draw = _canvas(size)
    w, h = size
    big = h // 12
    lines = len(textwrap.wrap(text, max(10, int(w / (h // 24 * 0.55))))) if text else 0
    y = int(h / 2 - (big * 1.3 + lines * h / 24 * 1.3) / 2)
    y = _centered(draw, y, title, big, TEXT, w)
    if text:
        _centered(draw, y + h // 40, text, h // 24, MUTED, w)
    return np.asarray(im)


def compose(size: tuple[int, int], picture: np.ndarray | Image.Image | None, title: str, caption: str = "",
            lines: tuple[str, ...] = ()) -> np.ndarray:
    """A picture fitted under a title (and optional text lines), caption at the bottom."""
    im, draw = _canvas(size)
    w, h = size
    top = _centered(draw, h // 40, title, h // 22, TEXT, w)
    for line in lines:
        top = _centered(draw, top, line, h // 30, TEXT if line is lines[0] else MUTED, w)
    bottom = h - (h // 20 if caption else h // 40)
    if caption:
        _centered(draw, bottom + h // 160, caption, h // 45, MUTED, w)
    if picture is not None:
        pic = picture if isinstance(picture, Image.Image) else Image.fromarray(np.asarray(picture))
        box_w, box_h = w - w // 20, max(bottom - top - h // 60, 10)
        scale = min(box_w / pic.width, box_h / pic.height)
        new = (max(1, int(pic.width * scale)), max(1, int(pic.height * scale)))
        resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
        pic = pic.convert("RGB").resize(new, resample)
        im.paste(pic, ((w - new[0]) // 2, top + (box_h - new[1]) // 2))
    return np.asarray(im)


def _open(path: Path) -> Image.Image:
    return Image.fromarray(read_rgb(path))


def _hold(frame: np.ndarray, seconds: float) -> Iterator[np.ndarray]:
    for _ in range(max(1, int(round(seconds * FPS)))):
        yield frame


def scene_frames(view: SceneView, size: tuple[int, int], still_s: float = 4.0,
                 card_s: float = 1.5, label: str | None = None) -> Iterator[np.ndarray]:
    """Output frames (at :data:`FPS`) for one scene, its title card first; ``label``: drawn into each
    picture a model made (core.provenance.label), so a crop to the face keeps it."""
    if label and view.kind in SYNTHETIC_KINDS:
        last_only = bool(getattr(view.scene, "side_by_side", False))  # source | driving | result

        def _open(path: Path) -> Image.Image:
            return Image.fromarray(draw_label(read_rgb(path), label))

        def compose(size, picture, *args, **kwargs):
            if isinstance(picture, np.ndarray):
                picture = draw_label(picture, label, last_only)
            return _compose_plain(size, picture, *args, **kwargs)
    else:
        _open, compose = _open_plain, _compose_plain
    if view.kind == "title":
        yield from _hold(title_card(size, view.title, view.text), 3.0)
        return
    yield from _hold(title_card(size, view.title, view.caption), card_s)
    if not view.ready:
        yield from _hold(compose(size, None, view.title, lines=("Not prepared:", view.message)), 2.0)
    elif view.frames:
        per_frame = FPS / max(view.fps, 1.0)
        shown, last = 0.0, None
        for i, path in enumerate(view.frames):
            last = compose(size, _open(path), view.title, view.labels[i] if i < len(view.labels) else "")
            shown += per_frame
            while shown >= 1:
                yield last
                shown -= 1
        yield from _hold(last, 1.0)
    elif view.video:
        from core.video import iter_frames, probe_video

        fps = probe_video(view.video).fps or FPS
        pictures = [compose(size, f, view.title, view.caption) for f in iter_frames(view.video)]
        if pictures:
            total = max(len(pictures) / fps, 3.0)
            for k in range(int(total * FPS)):
                yield pictures[int(k * fps / FPS) % len(pictures)]
    elif view.chart:
        chart = compose(size, _open(view.chart), view.title, lines=(view.headline, view.verdict))
        yield from _hold(chart, 6.0)
    elif view.image:
        yield from _hold(compose(size, _open(view.image), view.title, view.caption), still_s)


_open_plain, _compose_plain = _open, compose


def _watermarked(frames: Iterator[tuple[np.ndarray, bool]], every: int) -> Iterator[np.ndarray]:
    """The invisible watermark on a distinct frame of a model's scene at most once per ``every`` frames; a
    held frame (the same array yielded again) repeats its marked copy at no cost."""
    last_src, last_out, since = None, None, every
    for frame, synthetic in frames:
        if frame is last_src:
            yield last_out
            continue
        out = frame
        if synthetic and since >= every:
            out, since = watermark.embed(frame), 0
        last_src, last_out = frame, out
        since += 1
        yield out


def reel_size(views: list[SceneView]) -> tuple[int, int]:
    tallest = max((v.height or 0 for v in views), default=0)
    return (1920, 1080) if tallest >= 720 else (1280, 720)


def export_mp4(show_dir: str | os.PathLike, out: str | os.PathLike,
               progress: Callable[[int, int], None] | None = None,
               settings: pv.ProvenanceSettings | None = None) -> Path:
    """Render the reel MP4 (written whole, then moved into place atomically); returns its path."""
    return export_mp4_signed(show_dir, out, progress, settings)[0]


def export_mp4_signed(show_dir: str | os.PathLike, out: str | os.PathLike,
                      progress: Callable[[int, int], None] | None = None,
                      settings: pv.ProvenanceSettings | None = None) -> tuple[Path, pv.SignResult]:
    """:func:`export_mp4`, labelled (pictures a model made), watermarked (about once a second of such
    scenes) and signed (C2PA manifest embedded); also returns how it was signed."""
    from core.video import write_mp4

    settings = settings if settings is not None else pv.settings_from_env()
    show = store.load_show(show_dir)
    views = scene_views(show_dir, show)
    size = reel_size(views)
    label = pv.label_text(settings)

    def frames() -> Iterator[tuple[np.ndarray, bool]]:
        for i, view in enumerate(views):
            synthetic = view.kind in SYNTHETIC_KINDS
            try:
                for frame in scene_frames(view, size, label=label):
                    yield frame, synthetic
            except (OSError, ValueError) as e:  # a media file unreadable now: it says so, the rest play
                for frame in scene_frames(not_ready_view(view, e), size):
                    yield frame, False
            if progress:
                progress(i + 1, len(views))

    stream = _watermarked(frames(), FPS) if settings.watermark else (f for f, _ in frames())
    out = store.check_export_path(show_dir, out, "--mp4")
    work_parent = out.parent if out.parent.is_dir() else None
    origin = pv.Origin("show reel (MP4)", tuple(lic.key for lic in show_licences(show)),
                       {"show": show.title, "scenes": len(show.scenes)}, real_photo=uses_real_photo(show),
                       title=out.name)
    with tempfile.TemporaryDirectory(prefix=".reel-", dir=work_parent) as work:
        tmp = Path(work) / "reel.mp4"
        write_mp4(stream, tmp, fps=FPS, quality=8)
        signed = pv.seal_file(tmp, origin, settings)
        atomic_write_bytes(out, tmp.read_bytes())
    return out, signed
