"""Landmark-driven first-order motion transfer: the offline animation engine (no downloaded weights).

The idea follows the First Order Motion Model (Siarohin et al., "First Order Motion Model for Image
Animation", NeurIPS 2019): keypoints on the source and on every driving frame, *relative* motion
(source keypoints + (driving - initial driving) x adaptive scale, the scale being the square root of the
ratio of the keypoints' convex-hull areas), and local affine (first-order) transforms around the
keypoints combined into one dense warp of the source. Where FOMM *learns* its keypoints, jacobians,
dense-motion masks and an inpainting generator, this engine uses what runs offline:

* keypoints: a fixed subset (~150) of MediaPipe's 478-point face mesh (``core.landmarks``), plus a ring
  around the face that follows the head at 80% strength and fixed anchors on the image border;
* local affines: one exact affine per triangle of a fixed Delaunay triangulation of those keypoints
  (piecewise-affine warp, continuous across triangle edges), evaluated per output pixel from a
  rasterised triangle-index map of the *target* mesh and applied with ``cv2.remap``;
* eyes: the eye rings are mesh vertices, so when the driving lids close the eye interior is compressed
  and the eyelid skin above it stretches down (a plausible blink);
* mouth: an opening mouth would stretch the closed lips' seam, so the part of the target inner-lip
  polygon the source cannot supply is painted with a shaded dark mouth interior in the lips' own colour,
  feathered at its edge in proportion to the opening.

What it cannot do compared with neural FOMM: no occlusion reasoning or inpainting (a turned head
stretches the far cheek instead of revealing new content; where the nose or cheek would pass over the
outline, the motion around the folding triangles is smoothed until none flips (``warp.fold_free``), which
flattens the far side), teeth and tongue never
appear, hair and shoulders only follow a smooth falloff, nothing outside the face mesh moves on its
own, and rotations beyond ~30 degrees of yaw or pitch look flat and smeared. On the other hand it
is fast (the warp alone takes ~2.5-4 ms of CPU a frame at 256 px; end-to-end figures in
bench/bench_animate.py), deterministic, and exactly identity-preserving when the driving face does
not move.

Coordinates: keypoints are float32 (K, 2) arrays of (x, y); "normalised" means divided by the frame
size (so [0, 1] across the frame), "pixel" means in the output image.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from core import landmarks as lmk
from core.animate.warp import PiecewiseAffineWarper, triangulate

# Face-mesh indices driving the warp (order is part of the motion-file format: keep it stable).
_BROWS = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 300, 293, 334, 296, 336, 285, 295, 282, 283, 276]
_NOSE = [168, 6, 197, 195, 5, 4, 1, 2, 98, 327, 129, 358, 64, 294]
_CHEEKS = [50, 280, 187, 411, 118, 347, 212, 432, 202, 422, 36, 266]
OUTER_LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185]
INNER_LIPS = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191]
KEYPOINT_INDICES: list[int] = list(dict.fromkeys(
    lmk.FACE_OVAL + _BROWS + lmk.RIGHT_EYE_RING + lmk.LEFT_EYE_RING + _NOSE + _CHEEKS
    + OUTER_LIPS + INNER_LIPS))
NUM_KEYPOINTS = len(KEYPOINT_INDICES)
_POS = {idx: i for i, idx in enumerate(KEYPOINT_INDICES)}
OVAL_POS = np.array([_POS[i] for i in lmk.FACE_OVAL])
INNER_LIPS_POS = np.array([_POS[i] for i in INNER_LIPS])
_UPPER_INNER = [_POS[i] for i in (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)]
_LOWER_INNER = [_POS[i] for i in (95, 88, 178, 87, 14, 317, 402, 318, 324)]

RING_SCALE = 1.45      # the head ring sits this far out from the face centre, relative to the oval
RING_FOLLOW = 0.8      # fraction of the oval's motion the ring follows (hair, ears, neck)
KEEP_SCALE = 1.1       # the warp is exact inside the oval grown by this; softened outside (warp.py)
_BORDER_STEPS = 4      # anchors per image side


def subset(mesh_points: np.ndarray) -> np.ndarray:
    """(478 or 468, 2) face-mesh landmarks -> (NUM_KEYPOINTS, 2) engine keypoints."""
    assert mesh_points.ndim == 2 and mesh_points.shape[1] == 2 and mesh_points.shape[0] >= 468, \
        f"expected (468+, 2) mesh landmarks, got {mesh_points.shape}"
    return np.asarray(mesh_points, dtype=np.float32)[KEYPOINT_INDICES]


def hull_area(points: np.ndarray) -> float:
    """Area of the convex hull of (K, 2) points."""
    hull = cv2.convexHull(np.asarray(points, dtype=np.float32))
    return float(cv2.contourArea(hull))


def normalize_keypoints(kp_source: np.ndarray, kp_driving: np.ndarray, kp_driving_initial: np.ndarray,
                        adapt_movement_scale: bool = True, use_relative_movement: bool = True) -> np.ndarray:
    """Target keypoints for one frame, FOMM-style, in the source's normalised coordinates.

    kp_source, kp_driving, kp_driving_initial: (K, 2) normalised keypoints (each in its own frame).
    Relative: source + (driving - initial) * scale, scale = sqrt(hull(source) / hull(initial)) when
    ``adapt_movement_scale``; absolute: the driving keypoints themselves.
    """
    assert kp_source.shape == kp_driving.shape == kp_driving_initial.shape, \
        (kp_source.shape, kp_driving.shape, kp_driving_initial.shape)
    if not use_relative_movement:
        return np.asarray(kp_driving, dtype=np.float32).copy()
    scale = 1.0
    if adapt_movement_scale:
        scale = float(np.sqrt(hull_area(kp_source) / max(hull_area(kp_driving_initial), 1e-12)))
    return (kp_source + (kp_driving - kp_driving_initial) * scale).astype(np.float32)


def normalised_shape(kp: np.ndarray) -> np.ndarray:
    """Keypoints centred and divided by sqrt(hull area): comparable across faces (best-frame search)."""
    kp = np.asarray(kp, dtype=np.float32)
    return (kp - kp.mean(0)) / np.sqrt(max(hull_area(kp), 1e-12))


def best_frame(kp_source: np.ndarray, kp_driving: Iterable[np.ndarray]) -> int:
    """Index of the driving frame whose normalised keypoints best match the source's (official idea)."""
    ref = normalised_shape(kp_source)
    best, best_d = 0, np.inf
    for i, kp in enumerate(kp_driving):
        d = float(((normalised_shape(kp) - ref) ** 2).sum())
        if d < best_d:
            best, best_d = i, d
    return best


def _ring_and_border(kp_px: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    oval = kp_px[OVAL_POS]
    centre = oval.mean(0)
    ring = centre + (oval - centre) * RING_SCALE
    t = np.linspace(0, size, _BORDER_STEPS + 1, dtype=np.float32)
    lo, hi = np.zeros_like(t), np.full_like(t, size)
    border = np.concatenate([np.stack([t, lo], 1), np.stack([t, hi], 1),
                             np.stack([lo[1:-1], t[1:-1]], 1), np.stack([hi[1:-1], t[1:-1]], 1)])
    return ring.astype(np.float32), border.astype(np.float32)


class LandmarkAnimator:
    """Animate one source face with driving keypoints (the offline engine).

    Usage: ``anim = LandmarkAnimator(); anim.set_source(img)`` (or pass ``source_keypoints``), then
    ``anim.render(target_kp)`` per frame, or ``anim.animate(driving_kp, ...)`` for a whole sequence.
    """

    def __init__(self, landmarker: lmk.FaceLandmarker | None = None):
        self._landmarker = landmarker  # static-image FaceLandmarker for the source; created lazily
        self.source: np.ndarray | None = None
        self.source_kp: np.ndarray | None = None   # (K, 2) normalised
        self._warper: PiecewiseAffineWarper | None = None
        self._source_mouth_area = 0.0

    def set_source(self, image: np.ndarray, source_keypoints: np.ndarray | None = None) -> None:
        """Square uint8 HxWx3 source face; keypoints (K, 2) normalised, detected when not given."""
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8, image.shape
        assert image.shape[0] == image.shape[1], f"source must be square, got {image.shape}"
        size = image.shape[0]
        if source_keypoints is None:
            if self._landmarker is None:
                self._landmarker = lmk.FaceLandmarker(max_faces=1, video=False, refine=False)
            meshes = self._landmarker.mesh(image)
            if not meshes:
                raise ValueError("No face found in the source image: use a clear, frontal face photo.")
            source_keypoints = subset(meshes[0]) / size
        kp = np.asarray(source_keypoints, dtype=np.float32)
        assert kp.shape == (NUM_KEYPOINTS, 2), f"expected ({NUM_KEYPOINTS}, 2) keypoints, got {kp.shape}"
        self.source, self.source_kp = np.ascontiguousarray(image), kp
        kp_px = kp * size
        ring, border = _ring_and_border(kp_px, size)
        points = np.concatenate([kp_px, ring, border])
        # Triangulate with the lips parted and the lids apart, so one topology fits closed and open
        # mouths and eyes alike (a closed-mouth source would otherwise link lips across the seam).
        layout = points.copy()
        face_h = np.ptp(kp_px[OVAL_POS, 1]) + 1e-3
        layout[_UPPER_INNER, 1] -= 0.02 * face_h
        layout[_LOWER_INNER, 1] += 0.04 * face_h
        self._warper = PiecewiseAffineWarper(image, points, triangulate(layout))
        self._source_mouth_area = float(cv2.contourArea(kp_px[INNER_LIPS_POS]))

    def target_points(self, target_kp: np.ndarray) -> np.ndarray:
        """All warp points in pixels (keypoints, head ring, border) for normalised target keypoints."""
        assert self.source_kp is not None, "call set_source first"
        size = self.source.shape[0]
        src_px, tgt_px = self.source_kp * size, np.asarray(target_kp, np.float32) * size
        src_ring, border = _ring_and_border(src_px, size)
        ring = src_ring + RING_FOLLOW * (tgt_px[OVAL_POS] - src_px[OVAL_POS])
        return np.concatenate([tgt_px, ring, border])

    def render(self, target_kp: np.ndarray) -> np.ndarray:
        """Source warped onto (K, 2) normalised target keypoints -> uint8 HxWx3."""
        assert self._warper is not None, "call set_source first"
        pts = self.target_points(target_kp)
        oval = pts[OVAL_POS]
        centre = oval.mean(0)
        frame = self._warper.warp(pts, keep=centre + (oval - centre) * KEEP_SCALE)
        return self._paint_mouth(frame, pts[:NUM_KEYPOINTS])

    def _paint_mouth(self, frame: np.ndarray, kp_px: np.ndarray) -> np.ndarray:
        poly = kp_px[INNER_LIPS_POS]
        area = float(cv2.contourArea(poly))
        # Opening the source lips cannot supply: paint it; a source with an open mouth keeps its own.
        alpha_max = np.clip((area - self._source_mouth_area * 1.15) / max(area, 1e-6), 0.0, 1.0)
        if area < 2.0 or alpha_max <= 0.02:
            return frame
        h, w = frame.shape[:2]
        x0, y0 = np.floor(poly.min(0)).astype(int) - 3
        x1, y1 = np.ceil(poly.max(0)).astype(int) + 4
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return frame
        solid = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.fillPoly(solid, [np.round((poly - (x0, y0)) * 16).astype(np.int32)], 1.0,
                     lineType=cv2.LINE_AA, shift=4)
        out = frame.copy()
        roi = out[y0:y1, x0:x1].astype(np.float32)
        # The interior takes the lips' own colour, darkened (a fixed dark red read as a pasted block on
        # pale or small faces), and its edge is feathered in proportion to the opening.
        ring = (cv2.dilate(solid, np.ones((3, 3), np.uint8), iterations=2) > 0.5) & (solid < 0.5)
        lips = roi[ring].mean(0) if ring.any() else np.array([150.0, 80.0, 80.0], np.float32)
        height = float(np.ptp(poly[:, 1]))
        sigma = max(0.8, 0.18 * height)
        mask = cv2.GaussianBlur(solid, (0, 0), sigma) * solid ** 0.5 * alpha_max
        # Shaded: darkest in the middle of the opening, nearer the lips' colour towards them.
        yy = np.linspace(-1, 1, y1 - y0, dtype=np.float32)[:, None]
        shade = (0.22 + 0.3 * np.abs(yy)) * np.ones((1, x1 - x0), np.float32)
        interior = shade[..., None] * lips[None, None, :]
        out[y0:y1, x0:x1] = (roi * (1 - mask[..., None]) + interior * mask[..., None]).astype(np.uint8)
        return out

    def animate(self, driving_kp: Iterable[np.ndarray], driving_initial: np.ndarray,
                relative: bool = True, adapt_scale: bool = True) -> Iterator[np.ndarray]:
        """Yield one uint8 frame per (K, 2) normalised driving keypoint set."""
        assert self.source_kp is not None, "call set_source first"
        for kp in driving_kp:
            yield self.render(normalize_keypoints(self.source_kp, kp, driving_initial,
                                                  adapt_movement_scale=adapt_scale,
                                                  use_relative_movement=relative))
