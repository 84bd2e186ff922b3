"""The visible label: a small "AI-generated" pill (or the user's wording) drawn into the picture.

Placement: centred horizontally, just below the chin line of an aligned face (bottom edge at 90 % of the
height). Aligned faces (FFHQ-style crops: ours, NVIDIA's) have the chin at about 80-85 % of the height and
the face centred, so the label sits inside the box a face detector or a person cropping "to the face" keeps,
while mouth and eyes stay clear. A picture of several faces side by side (the animator's source | driving |
result) gets one label per square panel. Pictures under 96 px are too small for legible text: the export
enlarges a labelled face to 256 px first (core.provenance.export).

Videos of a moving face get the label at the top edge instead (``top=True``, over hair or background):
an overlay near the mouth made MediaPipe's face mesh misread the animated face (``../shared/tools/
motion_fidelity.py`` on the liveportrait_d0 clip: mouth correlation 0.08 with the pill under the chin,
0.98 at the top edge or without a label). Any overlay in the frame still costs some steadiness of the
re-tracked landmarks (liveportrait_d3: jitter ratio 1.23 without a label, 1.33 at the top edge, 1.38-1.48
on the forehead), so the top edge is the least harmful place. A tight crop to the face loses it; the
watermark and the signed manifest remain.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
              "/Library/Fonts/Arial Bold.ttf", "/System/Library/Fonts/Supplemental/Arial Bold.ttf")
BOTTOM = 0.90      # the pill's bottom edge, as a fraction of the height
TOP_BOTTOM = 0.08  # the same with ``top=True`` (videos)
TEXT_HEIGHT = 0.045  # text size, as a fraction of the panel's height
MIN_TEXT_PX = 9
MAX_CHARS = 40


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont:
    for path in FONT_FILES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _panels(width: int, height: int) -> list[tuple[int, int]]:
    """(left, width) of each square-ish face panel: 1 for a single face, 3 for source | driving | result."""
    n = max(1, round(width / height)) if width >= 1.8 * height else 1
    step = width / n
    return [(int(round(i * step)), int(round(step))) for i in range(n)]


def draw_label(image: np.ndarray, text: str, last_panel_only: bool = False, top: bool = False) -> np.ndarray:
    """A copy of the uint8 HxWx3 picture with the label drawn in; ``last_panel_only``: only on the last
    panel (the animator's source | driving | result: the driving video and the source photo may be real);
    ``top``: at the top edge (videos of a moving face, see above)."""
    text = " ".join(str(text).split())[:MAX_CHARS] or "AI-generated"
    image = np.asarray(image, dtype=np.uint8)
    h, w = image.shape[:2]
    y0, y1, band = _label_band(w, h, text, last_panel_only, top)
    out = image.copy()
    if y1 > y0:  # only the rows the pill covers: elsewhere the overlay is transparent
        rows = Image.fromarray(out[y0:y1]).convert("RGBA")
        out[y0:y1] = np.asarray(Image.alpha_composite(rows, band).convert("RGB"))
    return out


@lru_cache(maxsize=32)
def _label_band(width: int, height: int, text: str, last_panel_only: bool,
                top: bool) -> tuple[int, int, Image.Image]:
    """The label's overlay for a picture of this size, cut to the rows it covers: drawn once, then reused
    for every frame of a video (drawing the text cost about as much as the rest of a frame's label)."""
    h = height
    size = max(MIN_TEXT_PX, int(round(h * TEXT_HEIGHT)))
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    font = _font(size)
    panels = _panels(width, h)
    for left, panel_width in panels[-1:] if last_panel_only else panels:
        fit = font
        tw = draw.textlength(text, font=fit)
        if tw > panel_width * 0.9:  # long wording on a narrow panel: shrink to fit
            fit = _font(max(MIN_TEXT_PX - 2, int(size * panel_width * 0.9 / tw)))
            tw = draw.textlength(text, font=fit)
        th = fit.size
        pad_x, pad_y = max(3, th // 2), max(2, th // 4)
        bottom = int(h * (TOP_BOTTOM if top else BOTTOM))
        pill_top = bottom - th - 2 * pad_y
        x0 = left + (panel_width - tw) / 2 - pad_x
        draw.rounded_rectangle((x0, pill_top, x0 + tw + 2 * pad_x, bottom), radius=(th + 2 * pad_y) // 2,
                               fill=(0, 0, 0, 150))
        draw.text((x0 + pad_x, pill_top + pad_y), text, font=fit, fill=(255, 255, 255, 235), anchor="lt")
    box = overlay.getchannel("A").getbbox()
    if box is None:
        return 0, 0, overlay
    y0, y1 = box[1], box[3]
    return y0, y1, overlay.crop((0, y0, width, y1))
