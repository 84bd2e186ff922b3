"""Eyes and mouth of the offline engine: eyelid motion, eye openness, and a painted mouth interior.

A smooth deformation field (:mod:`core.animate.warp`) cannot close an eye well (the lids would have to
meet, squeezing the field to a line) nor show what is behind the lips. So:

* **eyelids**: the field keeps each eye at least ``OPEN_FLOOR`` open; the rest of a blink is a second,
  per-eye map in the output: along the eye's own vertical axis, the upper lid slides down over the
  eye (the skin between the lid and the brow stretches, the eye itself is squeezed under the lid).
  It is monotone along that axis, so it folds nothing; it is the identity at the eye corners and
  outside the eye's box;
* **eye openness** of a face: lid gap over eye width, per eye (the measure the fidelity tool uses);
* **mouth interior**: inside the target inner-lip polygon, a dark-but-not-black interior in the lips'
  own hue, darkest at the back (under the upper lip) and in the corners, lighter towards the front of
  the floor, with a tongue rising from the floor of a wide opening; a wet inner-lip rim, darker and
  redder than the lips, with a highlight along the lower lip; and the upper teeth as an off-white
  band under the upper lip, shorter and darker towards the corners, once the opening is a tenth of the
  mouth's width. All of it follows the (filtered) lip geometry, so it does not flicker, and it is
  clipped to the polygon (anti-aliased): nothing outside the lips.

Coordinates are pixels of the output frame, (x, y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.animate.warp import remap

OPEN_FLOOR = 0.55       # the field keeps eyes and lips at least this open (share of the source's opening)
LID_STRETCH = 1.1       # the eyelid skin that stretches over a closing eye: this many eye openings high
LIP_STRETCH = 0.6       # the lips that move over the mouth's opening: this many openings high
LIP_FIELD_SHARE = 0.3   # the field opens a mouth this share of the way beyond the source's opening


@dataclass(frozen=True)
class Eye:
    """Face-mesh indices of one eye: the two corners, upper-lid and lower-lid points paired in order."""
    corners: tuple[int, int]
    upper: tuple[int, ...]
    lower: tuple[int, ...]


RIGHT_EYE = Eye((33, 133), (246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155))
LEFT_EYE = Eye((362, 263), (398, 384, 385, 386, 387, 388, 466), (382, 381, 380, 374, 373, 390, 249))
EYES = (RIGHT_EYE, LEFT_EYE)
UPPER_INNER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)   # corner to corner
LOWER_INNER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)


@dataclass(frozen=True)
class EyePos:
    """Rows of one eye's points in an engine keypoint array."""
    corners: np.ndarray
    upper: np.ndarray
    lower: np.ndarray


MOUTH = Eye((UPPER_INNER_LIP[0], UPPER_INNER_LIP[-1]), UPPER_INNER_LIP[1:-1], LOWER_INNER_LIP[1:-1])


def positions(band: Eye, keypoint_indices: list[int]) -> EyePos:
    """An eye's (or the inner lips') rows in an engine keypoint array."""
    pos = {idx: i for i, idx in enumerate(keypoint_indices)}
    return EyePos(np.array([pos[i] for i in band.corners]), np.array([pos[i] for i in band.upper]),
                  np.array([pos[i] for i in band.lower]))


def eye_positions(keypoint_indices: list[int]) -> tuple[EyePos, ...]:
    return tuple(positions(e, keypoint_indices) for e in EYES)


def eye_axes(kp: np.ndarray, eye: EyePos) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(origin, along, down, width): the eye's frame, ``down`` perpendicular to the corner line."""
    # Scalar arithmetic: called ~40 times a frame on two points, where numpy's per-call cost dominated.
    (ax, ay), (bx, by) = kp[eye.corners[0]].tolist(), kp[eye.corners[1]].tolist()
    dx, dy = bx - ax, by - ay
    width = math.hypot(dx, dy) + 1e-9
    ux, uy = dx / width, dy / width
    if ux < 0:  # the frame always runs left to right in the image
        ux, uy = -ux, -uy
    return np.array([(ax + bx) / 2, (ay + by) / 2]), np.array([ux, uy]), np.array([-uy, ux]), width


def lid_gaps(kp: np.ndarray, eye: EyePos) -> np.ndarray:
    """(n,) gaps between paired upper and lower lid points along the eye's down axis (open > 0)."""
    _, _, down, _ = eye_axes(kp, eye)
    return (kp[eye.lower] - kp[eye.upper]).astype(np.float64) @ down


def openness(kp: np.ndarray, eye: EyePos) -> float:
    """Lid gap over eye width (scale-free): ~0.25-0.35 open, < 0.1 closed."""
    return float(lid_gaps(kp, eye).mean() / eye_axes(kp, eye)[3])


def set_lid_gaps(kp: np.ndarray, eye: EyePos, gaps: np.ndarray, upper_share: float = 1.0) -> np.ndarray:
    """A copy of ``kp`` whose paired points moved along the down axis so the gaps are ``gaps``.

    ``upper_share`` of the change moves the upper points (1: eyelids), the rest the lower (lips: 0.5).
    """
    out = np.array(kp, dtype=np.float32, copy=True)
    _, _, down, _ = eye_axes(kp, eye)
    shift = (lid_gaps(kp, eye) - np.asarray(gaps, np.float64))[:, None] * down[None, :]
    out[eye.upper] += (upper_share * shift).astype(np.float32)
    out[eye.lower] -= ((1.0 - upper_share) * shift).astype(np.float32)
    return out


def _band_frame(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b = corners[0].astype(np.float64), corners[1].astype(np.float64)
    along = b - a
    along /= float(np.hypot(*along)) + 1e-9
    if along[0] < 0:
        along = -along
    return (a + b) / 2, along, np.array([-along[1], along[0]])


def _curve(points: np.ndarray, origin, along, down) -> tuple[np.ndarray, np.ndarray]:
    d = points.astype(np.float64) - origin
    a, b = d @ along, d @ down
    order = np.argsort(a)
    return a[order], b[order]


def reshape_band(map_x: np.ndarray, map_y: np.ndarray, upper: np.ndarray, lower: np.ndarray,
                 want_upper: np.ndarray, want_lower: np.ndarray, stretch: float) -> None:
    """Compose the backward maps (in place) with a map that narrows or widens an eye or a mouth.

    ``upper``/``lower``: (n, 2) pixel curves from corner to corner (shared corners) where the field
    put the lids or lips; ``want_*``: where they should be. Along the band's own vertical axis, the
    skin ``stretch`` band-heights above and below follows the moving edges and what lies between them
    (the eyeball, the teeth, the seam of closed lips) is squeezed or stretched: piecewise linear and
    increasing along that axis, so nothing folds; the identity at the corners and outside.
    """
    h, w = map_x.shape
    origin, along, down = _band_frame(upper[[0, -1]])
    ua, ub = _curve(upper, origin, along, down)
    la, lb = _curve(lower, origin, along, down)
    wua, wub = _curve(want_upper, origin, along, down)
    wla, wlb = _curve(want_lower, origin, along, down)
    if max(np.abs(wub - np.interp(wua, ua, ub)).max(), np.abs(wlb - np.interp(wla, la, lb)).max()) < 0.25:
        return  # the edges are where they should be
    a0, a1 = ua[0], ua[-1]
    gap_max = float(max((np.interp(ua, la, lb) - ub).max(), (np.interp(wua, wla, wlb) - wub).max(), 1.0))
    top_b = float(min(ub.min(), wub.min())) - stretch * gap_max - 2
    bot_b = float(max(lb.max(), wlb.max())) + stretch * gap_max + 2
    corners = np.array([origin + a * along + b * down for a in (a0, a1) for b in (top_b, bot_b)])
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + 1, (w, h))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    # Pixel coordinates as a row and a column, broadcast (the same values as a full grid, less work).
    xx = np.arange(x0, x1, dtype=np.float64)[None, :]
    yy = np.arange(y0, y1, dtype=np.float64)[:, None]
    dx, dy = xx - origin[0], yy - origin[1]
    pa, pb = dx * along[0] + dy * along[1], dx * down[0] + dy * down[1]
    inside = (pa > a0) & (pa < a1)
    up, lo = np.interp(pa, ua, ub), np.interp(pa, la, lb)
    lo = np.maximum(lo, up)
    up_w = np.interp(pa, wua, wub)
    lo_w = np.maximum(np.interp(pa, wla, wlb), up_w)
    reach = stretch * np.maximum(np.maximum(lo - up, lo_w - up_w), 1.0)
    top = np.minimum(up, up_w) - reach
    bot = np.maximum(lo, lo_w) + reach
    src_b = pb.copy()
    above = inside & (pb >= top) & (pb < up_w)
    src_b[above] = (top + (pb - top) * (up - top) / np.maximum(up_w - top, 1e-6))[above]
    middle = inside & (pb >= up_w) & (pb <= lo_w)
    src_b[middle] = (up + (pb - up_w) * (lo - up) / np.maximum(lo_w - up_w, 1e-6))[middle]
    below = inside & (pb > lo_w) & (pb <= bot)
    src_b[below] = (lo + (pb - lo_w) * (bot - lo) / np.maximum(bot - lo_w, 1e-6))[below]
    moved = above | middle | below
    if not moved.any():
        return
    shift = src_b - pb
    sx = (xx + shift * down[0]).astype(np.float32)
    sy = (yy + shift * down[1]).astype(np.float32)
    bx, by = remap(map_x, sx, sy), remap(map_y, sx, sy)
    map_x[y0:y1, x0:x1] = np.where(moved, bx, map_x[y0:y1, x0:x1])
    map_y[y0:y1, x0:x1] = np.where(moved, by, map_y[y0:y1, x0:x1])


def band_curves(kp: np.ndarray, eye: EyePos) -> tuple[np.ndarray, np.ndarray]:
    """(upper, lower) curves of an eye's lids or the inner lips, corner to corner, in ``kp``'s units."""
    c0, c1 = kp[eye.corners[0]], kp[eye.corners[1]]
    return np.concatenate([[c0], kp[eye.upper], [c1]]), np.concatenate([[c0], kp[eye.lower], [c1]])


# -- the mouth ----------------------------------------------------------------------------------
TEETH_FROM = 0.10       # the upper teeth start to show when the opening is this share of the mouth width
TEETH_FULL = 0.22       # ...and are fully shown from this share
TONGUE_FROM = 0.22      # the tongue shows on the floor of a mouth opened this wide...
TONGUE_FULL = 0.45      # ...and fully from this
_THROAT = np.array([26.0, 10.0, 12.0], np.float32)    # the back of the mouth: dark red-brown, not black
_ENAMEL = np.array([232.0, 224.0, 208.0], np.float32)
_FLOOR = np.array([0.38, 0.23, 0.24], np.float32)    # the lit front of the floor: this share of the lips
_TONGUE = np.array([0.64, 0.38, 0.40], np.float32)   # the tongue's crest, lit: this share of the lips
_RIM = np.array([0.80, 0.55, 0.58], np.float32)      # the wet inner rim: this share of the lips


def _slopes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(segment middles, slopes) of a curve b(a) with increasing a, for np.interp."""
    return (a[1:] + a[:-1]) / 2, np.diff(b) / np.maximum(np.diff(a), 0.5)


def _mix(base: np.ndarray, over: np.ndarray, amount: np.ndarray) -> np.ndarray:
    return base + (over - base) * amount[..., None]


def paint_mouth(frame: np.ndarray, upper: np.ndarray, lower: np.ndarray, strength: float) -> np.ndarray:
    """Paint the inside of an open mouth (in place and returned).

    ``upper``/``lower``: (n, 2) inner-lip points from corner to corner (shared corners); ``strength``
    0..1: how much of the opening is new (a source whose mouth was already open keeps its own).

    Everything is a function of the lips' geometry in the mouth's own frame (across ``u``: 0 at the
    midline, 1 at a corner; down ``v``: 0 at the upper lip, 1 at the lower) and of the opening (the
    widest inner-lip gap over the mouth's width), which the engine filters in time: no flicker.
    """
    poly = np.concatenate([upper, lower[::-1][1:-1]]).astype(np.float32)
    if strength <= 0.02 or cv2.contourArea(poly) < 2.0:
        return frame
    h, w = frame.shape[:2]
    x0, y0 = np.maximum(np.floor(poly.min(0)).astype(int) - 3, 0)
    x1, y1 = np.minimum(np.ceil(poly.max(0)).astype(int) + 4, (w, h))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return frame
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    solid = np.zeros(roi.shape[:2], np.float32)
    cv2.fillPoly(solid, [np.round((poly - (x0, y0)) * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_AA,
                 shift=4)
    inside = (solid > 0.5).astype(np.uint8)
    ring = (cv2.dilate(inside, np.ones((3, 3), np.uint8), iterations=2) > 0) & (inside == 0)
    lips = np.array(cv2.mean(roi, ring.view(np.uint8))[:3], np.float32) if ring.any() \
        else np.array([150.0, 80.0, 80.0], np.float32)
    # The mouth's own frame: along the corner line and down from it (a tilted head tilts the teeth).
    origin, along, down = _band_frame(upper[[0, -1]])
    ua, ub = _curve(upper, origin, along, down)
    la, lb = _curve(lower, origin, along, down)
    a0, a1 = float(ua[0]), float(ua[-1])
    width = max(a1 - a0, 1.0)
    gap = float((np.interp(ua, la, lb) - ub).max())           # the widest opening, pixels
    opening = gap / width
    dx = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(origin[0])
    dy = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(origin[1])
    pa = dx * np.float32(along[0]) + dy * np.float32(along[1])
    pb = dx * np.float32(down[0]) + dy * np.float32(down[1])
    top = np.interp(pa, ua, ub).astype(np.float32)
    height = np.maximum(np.interp(pa, la, lb).astype(np.float32) - top, 0.5)
    bottom = top + height
    below_lip = pb - top                                      # pixels under the upper lip
    # Distance to the nearer lip's edge, perpendicular to it (sub-pixel, smooth: no stair steps).
    top_slope = np.interp(pa, *_slopes(ua, ub)).astype(np.float32)
    bottom_slope = np.interp(pa, *_slopes(la, lb)).astype(np.float32)
    edge = np.minimum(below_lip / np.sqrt(1.0 + top_slope * top_slope),
                      (bottom - pb) / np.sqrt(1.0 + bottom_slope * bottom_slope))
    v = np.clip(below_lip / height, 0.0, 1.0)
    u = np.clip(np.abs(pa - (a0 + a1) / 2) / (width / 2), 0.0, 1.0)
    u2 = u * u
    # Layers, back to front, each a colour and a per-pixel weight (coverage x shading): blended at the
    # end in one small matrix product instead of one full-colour blend per layer.
    layers: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []   # (colour, weight, coverage)
    # Interior: dark but not black, in the lips' hue; the throat (darkest) under the upper lip and in
    # the cheeks at the corners, lighter towards the front of the floor of the mouth.
    light = (0.08 + 0.92 * v * v) * (1.0 - 0.8 * u2)
    corner = 1.0 - 0.3 * u2
    layers.append((_THROAT + 0.07 * lips, (1.0 - light) * corner, None))
    layers.append((lips * _FLOOR + np.array([16.0, 6.0, 6.0], np.float32), light * corner, None))
    # The tongue: a rounded mound rising from the floor of a wide-open mouth, lit on its crest.
    tongue_amount = float(np.clip((opening - TONGUE_FROM) / (TONGUE_FULL - TONGUE_FROM), 0.0, 1.0))
    if tongue_amount > 0:
        crest = (0.72 - 0.1 * tongue_amount + 0.45 * u2) * height    # pixels under the upper lip
        over = below_lip - crest
        tongue = np.clip(over / 1.2 + 0.5, 0.0, 1.0) * np.clip((0.9 - u) / 0.25, 0.0, 1.0) * tongue_amount
        lit = 0.62 + 0.38 * np.exp(-((over - 1.5) / 2.0) ** 2) * (1.0 - u2)
        layers.append((lips * _TONGUE, tongue * lit, tongue))
    # Upper teeth: an off-white band hanging from the upper lip, shorter and darker towards the
    # corners (the arch recedes), shadowed at the gum line.
    teeth_amount = float(np.clip((opening - TEETH_FROM) / (TEETH_FULL - TEETH_FROM), 0.0, 1.0))
    if teeth_amount > 0:
        reach = np.minimum(min(0.4 * gap, 0.14 * width) * (1.0 - 0.4 * u2), 0.6 * height)
        teeth = np.clip((reach - below_lip) / 0.9 + 0.5, 0.0, 1.0) * np.clip((0.8 - u) / 0.18, 0.0, 1.0)
        teeth *= teeth_amount
        shade = (0.97 - 0.42 * u2) * (0.72 + 0.28 * np.clip(below_lip / 1.5, 0.0, 1.0))
        layers.append((0.92 * _ENAMEL + 0.08 * lips, teeth * shade, teeth))
    # The lips' inner edge: a wet rim, darker and redder than the lips, with a highlight along the
    # lower lip's edge where it catches the light.
    rim_w = float(np.clip(0.7 + 0.035 * gap, 0.8, 2.0))
    edge = np.maximum(edge, 0.0)
    rim = np.exp(-(edge / rim_w) ** 2) * (0.6 + 0.2 * v)
    layers.append((lips * _RIM, rim, rim))
    shine = np.exp(-((edge - 0.4 * rim_w) / 0.6) ** 2) * np.clip((v - 0.6) / 0.2, 0.0, 1.0) * (1 - u2) * 0.4
    layers.append((np.minimum(lips * 1.12 + 34.0, 255.0), shine, shine))
    # Each layer shows through what lies in front of it (back to front: "over").
    weights, seen = [], np.ones_like(v)
    for _, weight, coverage in reversed(layers):
        weights.append(weight * seen)
        if coverage is not None:
            seen = seen * (1.0 - coverage)
    colours = np.array([c for c, _, _ in reversed(layers)], np.float32)
    colour = (np.stack(weights, -1) @ colours).astype(np.float32)
    # As soft as the face around it (a sharp painted mouth on a soft face reads as a sticker).
    colour = cv2.GaussianBlur(colour, (0, 0), 0.6)
    mask = cv2.GaussianBlur(solid, (0, 0), 0.5) * strength
    frame[y0:y1, x0:x1] = np.clip(_mix(roi, colour, mask), 0, 255).astype(np.uint8)
    return frame
