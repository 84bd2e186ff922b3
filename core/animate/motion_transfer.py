"""Landmark-driven first-order motion transfer: the offline animation engine (no downloaded weights).

The idea follows the First Order Motion Model (Siarohin et al., "First Order Motion Model for Image
Animation", NeurIPS 2019): keypoints on the source and on every driving frame, *relative* motion
(source keypoints + (driving - initial driving) x adaptive scale, the scale being the square root of the
ratio of the keypoints' convex-hull areas), turned into one dense warp of the source. Where FOMM
*learns* its keypoints, dense motion, occlusion masks and an inpainting generator, this engine uses
what runs offline:

* keypoints: a fixed subset (~150) of MediaPipe's 478-point face mesh (``core.landmarks``), a head ring
  and a looser outer ring that follow the head's similarity motion (hair, ears, neck), and fixed
  anchors outside the frame;
* in time (:class:`Follower`): a One-Euro filter on the driving keypoints (less jitter than the
  tracker, little lag), the head's travel and size change followed only in part (framing, not
  expression), and eye openness transferred as a ratio of each eye's usual opening;
* the warp (:mod:`core.animate.warp`): a smooth polyharmonic-spline field through the control points,
  checked cell by cell for a positive Jacobian determinant and damped locally where it would fold;
  occlusion-aware clean-up first (the far cheek is squeezed, never crossed by the nose; lips never
  cross), so no output pixel comes from a folded or torn region;
* eyes and mouth (:mod:`core.animate.features`): the field keeps eyes and lips partly open and opens a
  mouth only part of the way, and per-band maps (monotone along the band's own vertical axis) slide the
  lids over the eye in a blink and the lips over the teeth or apart; an opening mouth is painted with a
  shaded interior, a wet inner-lip edge, a hint of tongue and, when wide, upper teeth.

What it cannot do compared with neural FOMM: no real inpainting (a turned head squeezes the far cheek
instead of revealing the far side; teeth and tongue are painted, not the person's own), hair and
shoulders only follow the rings, and rotations beyond ~30 degrees of yaw or pitch look flat. On the
other hand it is fast (end-to-end figures in bench/bench_animate.py), deterministic, and exactly
identity-preserving when the driving face does not move.

Coordinates: keypoints are float32 (K, 2) arrays of (x, y); "normalised" means divided by the frame
size (so [0, 1] across the frame), "pixel" means in the output image.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TypeVar

import cv2
import numpy as np

from core import landmarks as lmk
from core.animate import features as ft
from core.animate.smoothing import LookAheadOneEuro, OneEuroFilter
from core.animate.warp import SmoothWarper, remap, similarity

T = TypeVar("T")

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

RING_SCALE = 1.3       # the head ring (hair, ears, jaw line) sits this far out from the oval's centre...
OUTER_SCALE = 1.9      # ...and a looser ring (hair ends, neck, shoulders) this far
OUTER_FOLLOW = 0.5     # share of the head's similarity motion the outer ring follows
_RING_STEP = 2         # every second oval point makes a ring point
_OUTER_POINTS = 12
_BORDER_STEPS = 4      # anchors per image side
MIN_SOURCE_GAP = 0.6   # pixels: the source's closed lids are parted at least this much, and its
MIN_SOURCE_LIP_GAP = 2.5  # lips this much (a wider seam lets the field open a mouth with a gentler slope)
MOUTH_TAPER = 1.15     # an opening is at most this times a parabola through its widest gap
ANCHOR_OUT = 0.25      # the fixed anchors sit this far outside the frame (share of its size)
RING_MIN_ROOM = 0.12   # ring points stay this far beyond the outline point they follow (share of its radius)
DAMPING_RELAX = 0.04   # per frame, a damped point gets back this share of its motion
RING_ROOM = 0.12       # ring points stay at least this far (share of the size) from the anchors
FAR_CHEEK_KEEP = 0.5  # on a turn, far-side points keep at least this share of their distance to the outline
_UPPER_INNER_POS = np.array([_POS[i] for i in ft.UPPER_INNER_LIP])
_LOWER_INNER_POS = np.array([_POS[i] for i in ft.LOWER_INNER_LIP])
EYE_POS = ft.eye_positions(KEYPOINT_INDICES)
MOUTH_POS = ft.positions(ft.MOUTH, KEYPOINT_INDICES)
_OUTER_LOWER_POS = np.array([_POS[i] for i in (146, 91, 181, 84, 17, 314, 405, 321, 375)])  # as MOUTH.lower
_RIGID_POS = np.array([_POS[i] for i in lmk.FACE_OVAL + [168, 6, 197, 195, 5]])   # head pose from these
_NOSE_TIP = _POS[1]
_CHEEK_R, _CHEEK_L = _POS[234], _POS[454]
_NOSE_POS = np.array([_POS[i] for i in _NOSE])
_FREE_POS = np.setdiff1d(np.arange(NUM_KEYPOINTS), OVAL_POS)


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


# -- driving -> target, in time ---------------------------------------------------------------------
# One-Euro settings (face units: keypoints / sqrt(face hull area)); lids and lips react faster.
SMOOTH_MIN_CUTOFF = 0.9      # Hz, head and face outline at rest
SMOOTH_BETA = 4.0
FAST_MIN_CUTOFF = 4.0        # Hz, eyelids and inner lips at rest
FAST_BETA = 15.0
SMOOTH_D_CUTOFF = 2.0        # Hz, the speed estimate's own low-pass (quick lips need a quick estimate)
TURN_MIN_CUTOFF = 3.0        # Hz, the driver's turn (the nose's place between the cheeks) at rest
TURN_BETA = 10.0
LOOKAHEAD = 4                # frames: offline, the filter also runs back from this far ahead (no lag)
EYE_RATIO_MAX = 1.35         # an eye opens at most this much wider than the source's own
EYE_GAIN = 1.5               # changes of the driving eye's openness, amplified this much: a warped eye
                             # reads as less open or closed than its lids say (the iris stays round)
EYE_HISTORY = 1500           # frames of driving eye openness the usual opening is taken over...
EYE_USUAL_PERCENTILE = 85    # ...as this percentile (eyes are open most of the time; a long squint
                             # or a look down must not become the new "open")
_FAST_POS = np.unique(np.concatenate([*(np.concatenate([e.upper, e.lower]) for e in EYE_POS),
                                      _UPPER_INNER_POS, _LOWER_INNER_POS]))


HEAD_SHIFT_FOLLOW = 0.5      # share of the driving head's travel across the frame the source follows
HEAD_SHIFT_MAX = 0.08        # ...at most this far (share of the frame)
TURN_KNEE = 0.05             # turns (the yaw measure: nose place between the cheeks) pass in full up to
TURN_LIMIT = 0.16            # this, then saturate softly towards this
TURN_MIDDLE_DEPTH = 0.7      # on a turn the face's middle moves sideways this much as far as the nose tip
HEAD_SCALE_FOLLOW = 0.3      # share of the driving head's approach / retreat (log scale) it follows


class Follower:
    """Driving keypoints -> target keypoints, frame by frame: the engine's motion in time.

    1. the driving keypoints are smoothed in time by a One-Euro filter (less jitter than the tracker,
       little lag on blinks and turns);
    2. FOMM-style relative motion (:func:`normalize_keypoints`);
    3. eye openness transfers as a ratio: each source eye opens as much, relative to its own opening,
       as the driving eye does relative to its usual opening (a running high percentile), so a full blink
       closes an eye of any size and a wide-eyed driver does not tear a narrow-eyed source.
    """

    def __init__(self, source_kp: np.ndarray, driving_initial: np.ndarray, fps: float = 25.0,
                 relative: bool = True, adapt_scale: bool = True, smooth: bool = True, lookahead: int = 0,
                 mouth_rest: np.ndarray | None = None):
        self.source_kp = np.asarray(source_kp, np.float32)
        self.initial = np.asarray(driving_initial, np.float32)
        self.dt = 1.0 / max(float(fps), 1.0)
        self.relative, self.adapt_scale = relative, adapt_scale
        self._unit = float(np.sqrt(max(hull_area(self.initial), 1e-12)))
        # One filter row per keypoint, and one more for the driver's turn (its own, quicker cutoff: the
        # outline's smoothing would flatten the small, quick turns of a talking head).
        min_cut = np.full((NUM_KEYPOINTS + 1, 1), SMOOTH_MIN_CUTOFF)
        beta = np.full((NUM_KEYPOINTS + 1, 1), SMOOTH_BETA)
        min_cut[_FAST_POS], beta[_FAST_POS] = FAST_MIN_CUTOFF, FAST_BETA
        min_cut[-1], beta[-1] = TURN_MIN_CUTOFF, TURN_BETA
        self.lookahead = lookahead if smooth else 0
        self._filter = OneEuroFilter(min_cut, beta, SMOOTH_D_CUTOFF) if smooth and not lookahead else None
        self._ahead = LookAheadOneEuro(min_cut, beta, SMOOTH_D_CUTOFF, lookahead) if self.lookahead else None
        self._source_gaps = [ft.lid_gaps(self.source_kp, e) for e in EYE_POS]
        self._scale = float(np.sqrt(hull_area(self.source_kp) / max(hull_area(self.initial), 1e-12))) \
            if adapt_scale else 1.0
        # The driver's most closed mouth so far: given for a whole known sequence (:func:`mouth_rest`);
        # for a tracked video, closed lips (the attention mesh reads them as touching), so a driver who
        # starts mid-word opens the source's mouth from the first frame.
        self._mouth_rest = np.minimum(ft.lid_gaps(self.initial, MOUTH_POS), 0.0) if mouth_rest is None \
            else np.asarray(mouth_rest, np.float64)
        self._history: list[deque] = [deque(maxlen=EYE_HISTORY) for _ in EYE_POS]
        self._depth = _turn_depth(self.source_kp)

    def _turn_as_driver(self, upright: np.ndarray, driver_turn: float) -> np.ndarray:
        """The head turns as far as the driver's does (softly saturated), depth-aware.

        The turn is measured as the fidelity tool does (the nose tip's place between the cheek
        outline's sides); relative motion alone carries it only roughly (the same sideways
        displacements turn a wide or a turned source less). What is missing is added as a sideways
        shift that is largest for the points nearest the camera (the nose, then the face's middle) and
        zero at the cheek outline, as a turning head shows it, in the head's upright frame. Large turns
        saturate softly (:func:`_soft_turn`): beyond ~30 degrees a 2D warp can only squeeze the far
        cheek, and a full squeeze reads as a crease along the nose.
        """
        want = _yaw(self.source_kp) + _soft_turn(driver_turn)
        width = float(upright[_CHEEK_L, 0] - upright[_CHEEK_R, 0])
        missing = want - _yaw(upright)
        if abs(missing) < 1e-5 or width <= 1e-6:
            return upright
        out = upright.copy()
        out[:, 0] += (missing * width * self._depth).astype(np.float32)
        return out

    def _mouth_from_rest(self, kp: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The mouth opens by the driver's opening beyond closed lips (or its most closed mouth so far),
        not beyond the first frame's: a driver who starts mid-word would otherwise leave a closed
        source mouth shut whenever he opens less than on that first frame (every small opening of fast
        speech)."""
        gaps = ft.lid_gaps(kp, MOUTH_POS)
        if gaps.mean() < self._mouth_rest.mean():
            self._mouth_rest = gaps
        extra = (ft.lid_gaps(self.initial, MOUTH_POS) - self._mouth_rest) * self._scale
        if not extra.any():
            return target
        return ft.set_lid_gaps(target, MOUTH_POS, ft.lid_gaps(target, MOUTH_POS) + extra, 0.3)

    def _steady_head(self, target: np.ndarray, driver_turn: float) -> np.ndarray:
        """The head keeps its rotation, but only part of its travel and of its size change.

        A driver walking towards the camera or drifting across the frame is framing, not expression;
        followed in full, it drags the source face out of its photo and stretches the neck.
        """
        rot, shift = similarity(self.source_kp[_RIGID_POS], target[_RIGID_POS])
        angle, scale = _angle_scale(rot)
        centre = self.source_kp[_RIGID_POS].mean(0)
        moved = centre @ rot.T + shift - centre
        moved = np.clip(moved * HEAD_SHIFT_FOLLOW, -HEAD_SHIFT_MAX, HEAD_SHIFT_MAX)
        keep_scale = scale ** HEAD_SCALE_FOLLOW
        c, s_ = np.cos(angle) * keep_scale, np.sin(angle) * keep_scale
        steady = np.array([[c, -s_], [s_, c]], np.float32)
        # target = S(expression); keep the expression, replace S by the steadier similarity.
        inv = _inverse_similarity(rot)
        expression = self._turn_as_driver((target - shift) @ inv.T, driver_turn)
        return ((expression - centre) @ steady.T + centre + moved).astype(np.float32)

    def __call__(self, kp_driving: np.ndarray) -> np.ndarray:
        """The target for one driving frame, right away (causal smoothing; ``lookahead`` must be 0)."""
        assert self._ahead is None, "a look-ahead follower is fed through stream()"
        kp = np.asarray(kp_driving, np.float32)
        if self._filter is not None:
            return self._transfer(self._filter(self._filter_row(kp), self.dt))
        return self._transfer(self._filter_row(kp))

    def stream(self, items: Iterable[tuple[T, np.ndarray]]) -> Iterator[tuple[T, np.ndarray]]:
        """(anything, driving keypoints) pairs -> (the same thing, target keypoints), in order.

        With a look-ahead the smoothing runs ``lookahead`` frames behind the input (zero-phase: the
        result does not trail the driver); the things paired with the keypoints (the driving frames)
        wait in a buffer of that many.
        """
        if self._ahead is None:
            for thing, kp in items:
                yield thing, self(kp)
            return
        waiting: deque = deque()
        for thing, kp in items:
            waiting.append(thing)
            for smoothed in self._ahead.push(self._filter_row(kp), self.dt):
                yield waiting.popleft(), self._transfer(smoothed)
        for smoothed in self._ahead.flush(self.dt):
            yield waiting.popleft(), self._transfer(smoothed)

    def _filter_row(self, kp: np.ndarray) -> np.ndarray:
        """(K + 1, 2): keypoints in face units, then (the driver's turn, 0)."""
        kp = np.asarray(kp, np.float32)
        rot, shift = similarity(self.initial[_RIGID_POS], kp[_RIGID_POS])
        turn = _yaw((kp - shift) @ _inverse_similarity(rot).T) - _yaw(self.initial)
        return np.concatenate([kp / self._unit, [[turn, 0.0]]])

    def _transfer(self, row: np.ndarray) -> np.ndarray:
        """Smoothed driving keypoints and turn (:meth:`_filter_row`) -> target keypoints."""
        kp, turn = (row[:-1] * self._unit).astype(np.float32), float(row[-1, 0])
        if not self.relative:
            return normalize_keypoints(self.source_kp, kp, self.initial, self.adapt_scale, False)
        # FOMM's relative motion, with the head's similarity motion (roll, approach, travel) taken out
        # of the driver first and put back on the source after: added as raw displacements, a driver
        # who leans in or rolls his head would move the source's points by the *driver's* geometry
        # (a source whose face is shaped or turned otherwise would bend, and read as turning).
        rot, shift = similarity(self.initial[_RIGID_POS], kp[_RIGID_POS])      # initial -> now
        upright = ((kp - shift) @ _inverse_similarity(rot).T).astype(np.float32)
        target = normalize_keypoints(self.source_kp, upright, self.initial, self.adapt_scale, True)
        target = self._mouth_from_rest(upright, target)
        centre_i, centre_s = self.initial[_RIGID_POS].mean(0), self.source_kp[_RIGID_POS].mean(0)
        travel = (centre_i @ rot.T + shift - centre_i) * self._scale
        target = ((target - centre_s) @ rot.T + centre_s + travel).astype(np.float32)
        target = self._steady_head(target, turn)
        for eye, history, gaps in zip(EYE_POS, self._history, self._source_gaps):
            now = ft.openness(kp, eye)
            history.append(now)
            usual = max(float(np.percentile(history, EYE_USUAL_PERCENTILE)), 1e-3)
            ratio = float(np.clip(1.0 + EYE_GAIN * (now / usual - 1.0), 0.0, EYE_RATIO_MAX))
            target = ft.set_lid_gaps(target, eye, np.maximum(gaps, 0.0) * ratio)
        return target


def mouth_rest(driving_kp: Iterable[np.ndarray]) -> np.ndarray:
    """Inner-lip gaps (normalised, per point pair) of the sequence's most closed mouth: the rest the
    mouth opens from (a procedural or recorded motion's closed lips may keep a seam)."""
    gaps = np.array([ft.lid_gaps(np.asarray(kp, np.float32), MOUTH_POS) for kp in driving_kp])
    return gaps[int(np.argmin(gaps.mean(1)))]


def _yaw(kp: np.ndarray) -> float:
    """The nose tip's place between the cheek outline's sides (0..1; the fidelity tool's yaw + 0.5)."""
    return float((kp[_NOSE_TIP, 0] - kp[_CHEEK_R, 0]) / (kp[_CHEEK_L, 0] - kp[_CHEEK_R, 0] + 1e-9))


def _soft_turn(turn: float) -> float:
    """Turns pass in full up to TURN_KNEE, then saturate softly (tanh) towards TURN_LIMIT."""
    size = abs(turn)
    if size <= TURN_KNEE:
        return turn
    room = TURN_LIMIT - TURN_KNEE
    return float(np.sign(turn) * (TURN_KNEE + room * np.tanh((size - TURN_KNEE) / room)))


def _turn_depth(kp: np.ndarray) -> np.ndarray:
    """(K,) how far each point moves sideways on a small turn, relative to the nose tip: 1 - u^2 across
    the face (u = -1..1 from one cheek outline to the other), the face's middle at 0.7 of the nose."""
    left, right = float(kp[_CHEEK_R, 0]), float(kp[_CHEEK_L, 0])
    u = (kp[:, 0] - (left + right) / 2) / max((right - left) / 2, 1e-9)
    depth = np.clip(1.0 - u ** 2, 0.0, 1.0) * TURN_MIDDLE_DEPTH
    depth[_NOSE_POS] /= TURN_MIDDLE_DEPTH
    return (depth / max(depth[_NOSE_TIP], 1e-3)).astype(np.float32)


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _inverse_similarity(rot: np.ndarray) -> np.ndarray:
    a, b = float(rot[0, 0]), float(rot[1, 0])   # rot = [[a, -b], [b, a]]
    return np.array([[a, b], [-b, a]]) / max(a * a + b * b, 1e-12)


def _angle_scale(rot: np.ndarray) -> tuple[float, float]:
    return float(np.arctan2(rot[1, 0], rot[0, 0])), float(np.hypot(rot[0, 0], rot[1, 0]))


# -- the animator ---------------------------------------------------------------------------------
def _ring_limits(size: int) -> tuple[float, float]:
    return (RING_ROOM - ANCHOR_OUT) * size, (1 + ANCHOR_OUT - RING_ROOM) * size - 1


def _rings(kp_px: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Head ring, outer ring and border anchors (pixels) around a face's keypoints, and which of the
    candidate ring points (one per second outline point) were kept."""
    oval = kp_px[OVAL_POS]
    centre = oval.mean(0)
    ring = centre + (oval[::_RING_STEP] - centre) * RING_SCALE
    angles = np.linspace(0, 2 * np.pi, _OUTER_POINTS, endpoint=False)
    radius = np.ptp(oval, 0) / 2 * OUTER_SCALE
    outer = centre + np.stack([np.cos(angles), np.sin(angles)], 1) * radius
    # The fixed anchors sit outside the frame, so a face that fills it (a chin on the bottom edge) still
    # has room to move; ring points that would crowd them are left out.
    out = ANCHOR_OUT * size
    t = np.linspace(-out, size - 1 + out, _BORDER_STEPS + 1, dtype=np.float32)
    lo, hi = np.full_like(t, -out), np.full_like(t, size - 1 + out)
    border = np.concatenate([np.stack([t, lo], 1), np.stack([t, hi], 1),
                             np.stack([lo[1:-1], t[1:-1]], 1), np.stack([hi[1:-1], t[1:-1]], 1)])
    lo_ok, hi_ok = _ring_limits(size)

    def kept(p):
        return ((p >= lo_ok) & (p <= hi_ok)).all(1)

    return ring[kept(ring)].astype(np.float32), outer[kept(outer)].astype(np.float32), \
        border.astype(np.float32), kept(ring)


class LandmarkAnimator:
    """Animate one source face with driving keypoints (the offline engine).

    Usage: ``anim = LandmarkAnimator(); anim.set_source(img)`` (or pass ``source_keypoints``), then
    ``anim.render(target_kp)`` per frame, or ``anim.animate(driving_kp, ...)`` for a whole sequence
    (smoothed in time, eye openness as a ratio: :class:`Follower`).
    """

    def __init__(self, landmarker: lmk.FaceLandmarker | None = None):
        self._landmarker = landmarker  # static-image FaceLandmarker for the source; created lazily
        self.source: np.ndarray | None = None
        self.source_kp: np.ndarray | None = None   # (K, 2) normalised
        self._warper: SmoothWarper | None = None
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
        # A closed mouth's (or eye's) mesh often has the lower points a hair above the upper ones;
        # sampled in that order, any opening would fold the warp. Part them by a fraction of a pixel.
        for band, gap in zip((*EYE_POS, MOUTH_POS), (MIN_SOURCE_GAP, MIN_SOURCE_GAP, MIN_SOURCE_LIP_GAP)):
            kp = ft.set_lid_gaps(kp, band, np.maximum(ft.lid_gaps(kp, band), gap / size), 0.5)
        self.source, self.source_kp = np.ascontiguousarray(image), kp
        self._source_mouth_area = float(cv2.contourArea(self._inner_lips(kp * size)))
        self._source_gaps = [ft.lid_gaps(kp * size, e) for e in (*EYE_POS, MOUTH_POS)]
        kp_px = kp * size
        self._ring, self._outer, self._border, self._ring_kept = _rings(kp_px, size)
        points = np.concatenate([kp_px, self._ring, self._outer, self._border])
        anchored = np.zeros(len(points), bool)
        anchored[-len(self._border):] = True
        # Fine nodes over the face and a little around it; the hair and background bend gently.
        lo, hi = kp_px[OVAL_POS].min(0), kp_px[OVAL_POS].max(0)
        pad = (hi - lo) * 0.12
        self._warper = SmoothWarper(image, points, (*(lo - pad), *(hi + pad)), anchored)
        self._damping = np.ones(len(points), np.float32)   # carried from frame to frame (render)

    @staticmethod
    def _inner_lips(kp_px: np.ndarray) -> np.ndarray:
        return np.concatenate([kp_px[_UPPER_INNER_POS], kp_px[_LOWER_INNER_POS][::-1][1:-1]])

    def head_motion(self, target_kp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The head's similarity motion (A, t), source pixels -> target pixels (outline and nose bridge)."""
        size = self.source.shape[0]
        return similarity(self.source_kp[_RIGID_POS] * size,
                          np.asarray(target_kp, np.float32)[_RIGID_POS] * size)

    def control_points(self, target_kp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(target, rest) control points in pixels: keypoints, head ring, outer ring, border anchors.

        The rings follow the head's similarity motion (the outer one in part); ``rest`` is the source
        moved rigidly with the head, the fold-free pose the warp falls back towards.
        """
        assert self._warper is not None, "call set_source first"
        size = self.source.shape[0]
        rot, shift = self.head_motion(target_kp)
        src_px = self.source_kp * size

        def moved(p):
            return p @ rot.T + shift

        lo, hi = _ring_limits(size)
        ring = np.clip(moved(self._ring), lo, hi)
        outer = np.clip(self._outer + OUTER_FOLLOW * (moved(self._outer) - self._outer), lo, hi)
        tgt = self._keep_order(np.asarray(target_kp, np.float32) * size, rot, shift)
        ring = self._ring_outside(ring, tgt)
        target = np.concatenate([tgt, ring, outer, self._border]).astype(np.float32)
        rest = np.concatenate([moved(src_px), ring, outer, self._border]).astype(np.float32)
        return target, rest

    def _ring_outside(self, ring: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        """Ring points pushed out radially to stay RING_MIN_ROOM beyond the face outline they follow.

        On a turn the near side's outline widens past the rigidly moved ring; a ring point inside the
        outline would fold the field between them. The push is continuous in time (no flicker).
        """
        oval = tgt[OVAL_POS]
        centre = oval.mean(0)
        follow = oval[::_RING_STEP][self._ring_kept]
        radial = ring - centre
        r_ring = np.linalg.norm(radial, axis=1) + 1e-6
        r_need = np.linalg.norm(follow - centre, axis=1) * (1.0 + RING_MIN_ROOM)
        scale = np.maximum(r_need / r_ring, 1.0)
        lo, hi = _ring_limits(self.source.shape[0])
        return np.clip(centre + radial * scale[:, None], lo, hi).astype(np.float32)

    def _keep_order(self, tgt: np.ndarray, rot: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """Occlusion-aware clean-up of target keypoints that a 2D field could only show by folding.

        * lips: an inner lower-lip point never rises above its upper partner (they meet instead);
        * eyes: the field keeps each eye ``features.OPEN_FLOOR`` open (the eyelid map closes the rest);
        * far cheek: on a turn, points between the nose and the far outline keep at least
          ``FAR_CHEEK_KEEP`` of their source distance to it (the far cheek is squeezed, the nose never
          crosses the outline), measured in the head's own upright frame.
        """
        size = self.source.shape[0]
        tgt = self._lips_apart(tgt)
        for band, gaps, share in zip((*EYE_POS, MOUTH_POS), self._source_gaps_px(), (1.0, 1.0, 0.5)):
            floor = np.maximum(ft.lid_gaps(tgt, band), np.maximum(gaps, 0.0) * ft.OPEN_FLOOR)
            tgt = ft.set_lid_gaps(tgt, band, floor, share)
        # A mouth opened far beyond the source's seam would need a cliff in the field (folds at the
        # upper lip): the field opens it part of the way, the lip band map the rest.
        src_gaps = self._source_gaps_px()[2]
        now = ft.lid_gaps(tgt, MOUTH_POS)
        capped = np.where(now > src_gaps, src_gaps + ft.LIP_FIELD_SHARE * (now - src_gaps), now)
        tgt = ft.set_lid_gaps(tgt, MOUTH_POS, capped, 0.3)
        src_px = self.source_kp * size
        # Far cheek, in the head's upright frame (the source's own).
        up = (tgt - shift) @ _inverse_similarity(rot).T
        oval_s, oval_t = src_px[OVAL_POS], up[OVAL_POS]
        centre = oval_t.mean(0)
        side = np.sign(up[_NOSE_TIP, 0] - centre[0] - (src_px[_NOSE_TIP, 0] - oval_s.mean(0)[0]))
        if side != 0:
            far_t = oval_t[(oval_t[:, 0] - centre[0]) * side > 0]
            far_s = oval_s[(oval_s[:, 0] - oval_s.mean(0)[0]) * side > 0]
            if len(far_t) >= 2 and len(far_s) >= 2:
                o_t, o_s = np.argsort(far_t[:, 1]), np.argsort(far_s[:, 1])
                edge_t = np.interp(up[_FREE_POS, 1], far_t[o_t, 1], far_t[o_t, 0])
                edge_s = np.interp(src_px[_FREE_POS, 1], far_s[o_s, 1], far_s[o_s, 0])
                d_s = (edge_s - src_px[_FREE_POS, 0]) * side
                d_t = (edge_t - up[_FREE_POS, 0]) * side
                need = (d_s > 0) & (d_t < FAR_CHEEK_KEEP * d_s)
                if need.any():
                    idx = _FREE_POS[need]
                    up[idx, 0] = edge_t[need] - side * FAR_CHEEK_KEEP * d_s[need]
                    tgt[idx] = up[idx] @ rot.T.astype(np.float64) + shift
        return tgt.astype(np.float32)

    def _source_gaps_px(self) -> list[np.ndarray]:
        """Source openings of the right eye, the left eye and the inner lips, pixels per point pair."""
        return self._source_gaps


    def _lips_apart(self, tgt: np.ndarray) -> np.ndarray:
        """Inner lips that neither cross nor open as a box.

        A lower-lip point never rises above its upper partner (they meet instead), and the opening
        beyond the source's own tapers towards the corners at least like a parabola through the widest
        gap (a jaw that drops every lower-lip point alike, as in procedural motions, would otherwise
        open a rectangle).
        """
        gaps = np.maximum(ft.lid_gaps(tgt, MOUTH_POS), 0.0)
        own = np.maximum(self._source_gaps_px()[2], 0.0)
        origin, along, _, width = ft.eye_axes(tgt, MOUTH_POS)
        u = np.abs((tgt[MOUTH_POS.upper] - origin) @ along) / (width / 2 + 1e-9)
        extra = np.maximum(gaps - own, 0.0)
        envelope = own + extra.max() * np.clip(1.0 - u ** 2, 0.0, 1.0) * MOUTH_TAPER
        out = ft.set_lid_gaps(tgt, MOUTH_POS, np.minimum(gaps, np.maximum(envelope, np.minimum(gaps, own))),
                              0.5)
        # The lower lip's outer edge comes along with its inner edge (the lip keeps its thickness).
        out[_OUTER_LOWER_POS] += out[MOUTH_POS.lower] - tgt[MOUTH_POS.lower]
        return out

    def render(self, target_kp: np.ndarray) -> np.ndarray:
        """Source warped onto (K, 2) normalised target keypoints -> uint8 HxWx3."""
        assert self._warper is not None, "call set_source first"
        # The per-frame spline solve is a small dense system: one BLAS thread is ~10x faster than
        # OpenBLAS's two, whose threads wait on each other when the other core is busy (tracking).
        with _blas_controller().limit(limits=1, user_api="blas"):
            return self._render(target_kp)

    def _render(self, target_kp: np.ndarray) -> np.ndarray:
        size = self.source.shape[0]
        wanted = np.asarray(target_kp, np.float32) * size
        target, rest = self.control_points(target_kp)
        # Damping starts from the last frame's, relaxed towards none: a fold that comes and goes
        # between frames would otherwise switch the damping on and off (visible jitter).
        start = np.minimum(self._damping + DAMPING_RELAX, 1.0)
        placed, nodes = self._warper.fold_free(target, rest, start)
        self._damping = self._warper.last_damping
        map_x, map_y = self._warper.dense(nodes)
        field_kp = placed[:NUM_KEYPOINTS]
        # What the field could not narrow (it keeps eyes and lips OPEN_FLOOR open) or open (a mouth
        # wider than the source's): the band maps move the lids and lips the rest of the way.
        wanted = self._lips_apart(wanted)
        for band in EYE_POS:
            gaps = np.minimum(ft.lid_gaps(wanted, band), ft.lid_gaps(field_kp, band))
            narrowed = ft.set_lid_gaps(field_kp, band, gaps, 1.0)
            ft.reshape_band(map_x, map_y, *ft.band_curves(field_kp, band), *ft.band_curves(narrowed, band),
                            ft.LID_STRETCH)
        lips = field_kp.copy()
        lips[MOUTH_POS.upper], lips[MOUTH_POS.lower] = wanted[MOUTH_POS.upper], wanted[MOUTH_POS.lower]
        ft.reshape_band(map_x, map_y, *ft.band_curves(field_kp, MOUTH_POS), *ft.band_curves(lips, MOUTH_POS),
                        ft.LIP_STRETCH)
        frame = remap(self.source, map_x, map_y)
        area = float(cv2.contourArea(self._inner_lips(lips)))
        # A mouth opened wider than the source's is painted (fading in from 1.05x to 1.45x the source's
        # opening); a source whose mouth is open keeps its own interior up to about its own opening.
        growth = area / max(self._source_mouth_area, 4.0)
        strength = float(np.clip((growth - 1.05) / 0.4, 0.0, 1.0))
        return ft.paint_mouth(frame, lips[_UPPER_INNER_POS], lips[_LOWER_INNER_POS], strength)

    def follower(self, driving_initial: np.ndarray, fps: float = 25.0, relative: bool = True,
                 adapt_scale: bool = True, smooth: bool = True, lookahead: int = 0,
                 mouth_rest: np.ndarray | None = None) -> Follower:
        """A :class:`Follower` for this source; offline callers pass ``lookahead=LOOKAHEAD`` and feed
        it through ``stream`` (no smoothing lag), and ``mouth_rest`` when the whole sequence is known."""
        assert self.source_kp is not None, "call set_source first"
        return Follower(self.source_kp, driving_initial, fps, relative, adapt_scale, smooth, lookahead,
                        mouth_rest)

    def animate(self, driving_kp: Iterable[np.ndarray], driving_initial: np.ndarray,
                relative: bool = True, adapt_scale: bool = True, fps: float = 25.0) -> Iterator[np.ndarray]:
        """Yield one uint8 frame per (K, 2) normalised driving keypoint set."""
        driving_kp = list(driving_kp)
        follow = self.follower(driving_initial, fps, relative, adapt_scale, lookahead=LOOKAHEAD,
                               mouth_rest=mouth_rest(driving_kp) if driving_kp else None)
        for _, target in follow.stream((None, kp) for kp in driving_kp):
            yield self.render(target)
