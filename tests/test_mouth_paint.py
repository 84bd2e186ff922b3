"""The painted mouth of the offline engine (issue 20): inner-lip rim, shaded interior, tongue, upper teeth.

A synthetic mouth on a flat pink-lip frame: inner lips from corner to corner, opened by a given share
of the mouth's width (the engine's own measure of the opening).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.animate import features as ft

LIPS = (190, 90, 100)
SIZE = 96
LEFT, RIGHT, MID_Y = 28.0, 68.0, 46.0
WIDTH = RIGHT - LEFT


def _frame() -> np.ndarray:
    return np.full((SIZE, SIZE, 3), LIPS, np.uint8)


def _mouth(opening: float, tilt_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(upper, lower) inner lips, 11 points corner to corner; the widest gap is ``opening`` x width."""
    s = np.linspace(-1.0, 1.0, 11)
    x = (LEFT + RIGHT) / 2 + s * WIDTH / 2
    bulge = 1.0 - s ** 2
    upper = np.stack([x, MID_Y - 0.2 * opening * WIDTH * bulge], 1)
    lower = np.stack([x, MID_Y + 0.8 * opening * WIDTH * bulge], 1)
    if tilt_deg:
        c, sn = np.cos(np.radians(tilt_deg)), np.sin(np.radians(tilt_deg))
        rot = np.array([[c, -sn], [sn, c]])
        centre = np.array([(LEFT + RIGHT) / 2, MID_Y])
        upper, lower = (upper - centre) @ rot.T + centre, (lower - centre) @ rot.T + centre
    return upper.astype(np.float32), lower.astype(np.float32)


def _paint(opening: float, strength: float = 1.0, tilt_deg: float = 0.0) -> np.ndarray:
    upper, lower = _mouth(opening, tilt_deg)
    return ft.paint_mouth(_frame(), upper, lower, strength).astype(np.float64)


def _at(img: np.ndarray, opening: float, u: float, v: float) -> np.ndarray:
    """The pixel at ``u`` (0 midline, +-1 corners) across and ``v`` (0 upper lip, 1 lower) down."""
    upper, lower = _mouth(opening)
    x = (LEFT + RIGHT) / 2 + u * WIDTH / 2
    top = np.interp(x, upper[:, 0], upper[:, 1])
    bottom = np.interp(x, lower[:, 0], lower[:, 1])
    return img[int(round(top + v * (bottom - top))), int(round(x))]


def _luma(px: np.ndarray) -> float:
    return float(px @ np.array([0.299, 0.587, 0.114]))


def _polygon_mask(opening: float, grow: int = 0) -> np.ndarray:
    upper, lower = _mouth(opening)
    poly = np.concatenate([upper, lower[::-1][1:-1]]).round().astype(np.int32)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    cv2.fillPoly(mask, [poly], 1)
    if grow:
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=grow)
    return mask.astype(bool)


def _teeth_pixels(img: np.ndarray) -> int:
    """Off-white pixels: bright, with the channels close together (lips and tongue are red)."""
    return int(((img.mean(-1) > 150) & (np.ptp(img, -1) < 45)).sum())


def test_closed_mouth_or_no_new_opening_leaves_the_frame_alone():
    upper, lower = _mouth(0.3)
    assert np.array_equal(ft.paint_mouth(_frame(), upper, upper.copy(), 1.0), _frame()), "closed lips"
    assert np.array_equal(ft.paint_mouth(_frame(), upper, lower, 0.0), _frame()), "the source's own opening"


def test_open_interior_is_dark_not_black_and_darker_at_the_back_and_corners(monkeypatch):
    img = _paint(0.4)
    inside = _polygon_mask(0.4)
    assert img[inside].sum(-1).min() > 45, "never black"
    assert np.percentile(img[inside].mean(-1), 10) < 0.4 * np.mean(LIPS), "dark"
    assert (img[inside][:, 0] > img[inside][:, 1]).mean() > 0.6, "the interior keeps the lips' red hue"
    # The shading itself, without the teeth and the tongue in front of it.
    for feature in ("TEETH", "TONGUE"):
        monkeypatch.setattr(ft, f"{feature}_FROM", 9.0)
        monkeypatch.setattr(ft, f"{feature}_FULL", 10.0)
    img = _paint(0.4)
    back, front = _at(img, 0.4, 0.0, 0.2), _at(img, 0.4, 0.0, 0.75)
    assert _luma(back) < 0.75 * _luma(front), "the back of the mouth is darker than the front of its floor"
    assert _at(img, 0.4, 0.6, 0.7).sum() < 0.9 * _at(img, 0.4, 0.0, 0.7).sum(), "darker in the corners"


def test_inner_lip_rim_is_darker_and_redder_than_the_lips_with_a_highlight_below():
    img = _paint(0.4)
    lips = np.array(LIPS, float)
    rim = _at(img, 0.4, 0.88, 0.05)             # by the corner, just under the upper lip (no teeth there)
    assert _luma(rim) < 0.85 * _luma(lips), "darker than the lips"
    assert rim[0] / max(rim[1], 1.0) > 1.2 * lips[0] / lips[1], "redder than the lips"
    upper, lower = _mouth(0.4)
    x = int(round((LEFT + RIGHT) / 2))
    bottom = int(np.floor(np.interp(x, lower[:, 0], lower[:, 1])))
    lower_edge = img[bottom - 1:bottom + 1, x].mean(0)
    above_it = img[bottom - 4, x]
    assert _luma(lower_edge) > _luma(above_it), "the wet lower lip's edge catches the light"


def test_upper_teeth_show_under_the_upper_lip_only_when_the_mouth_is_open_wide_enough():
    narrow = _paint(0.5 * ft.TEETH_FROM)
    assert _teeth_pixels(narrow) == 0
    wide = _paint(0.35)
    assert _teeth_pixels(wide) >= 25
    teeth = _at(wide, 0.35, 0.0, 0.12)
    interior = _at(wide, 0.35, 0.0, 0.5)
    assert _luma(teeth) > 2.5 * _luma(interior), "off-white teeth against the dark interior"
    assert np.ptp(teeth) < 45, "off-white, not pink"
    ys = np.nonzero((wide.mean(-1) > 150) & (np.ptp(wide, -1) < 45))[0]
    upper, lower = _mouth(0.35)
    assert ys.mean() < upper[:, 1].min() + 0.35 * (lower[:, 1].max() - upper[:, 1].min()), \
        "they hang from the upper lip"
    # A tilted head tilts them with the mouth: still under the upper lip.
    assert _teeth_pixels(_paint(0.35, tilt_deg=15.0)) >= 25


def test_nothing_is_painted_outside_the_lips():
    for opening in (0.12, 0.4):
        img = _paint(opening)
        outside = ~_polygon_mask(opening, grow=2)
        assert np.abs(img[outside] - np.array(LIPS, float)).max() == 0


def test_the_look_changes_smoothly_with_the_opening():
    """No threshold switches a feature on at once (the opening is filtered in time; so is the look)."""
    openings = np.arange(0.04, 0.6, 0.01)
    frames = [_paint(o) for o in openings]
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    assert max(steps) < 3.0, max(steps)
    half = (_paint(0.3).mean() + _frame().mean()) / 2
    assert _paint(0.3, strength=0.5).mean() == pytest.approx(half, abs=1.0), "a partly new opening fades in"


def test_a_mouth_partly_outside_the_frame_is_painted_where_it_shows():
    upper, lower = _mouth(0.4)
    shift = np.array([SIZE - RIGHT + 12.0, 0.0], np.float32)     # the right corner 12 px past the edge
    out = ft.paint_mouth(_frame(), upper + shift, lower + shift, 1.0)
    assert out.shape == (SIZE, SIZE, 3) and out.dtype == np.uint8
    assert (np.abs(out.astype(int) - _frame()).sum(-1) > 60).sum() > 100
