"""A motion shown on a neutral synthetic face: the driving view of bundled motions, and how much it moves.

Bundled motions are keypoint trajectories; drawn as dots they tell a viewer little. Here the offline
engine applies a motion to one frontal, closed-mouth face from the bundled synthetic set
(``assets/demo_faces/faces64.npz``, no real person), which is what the page loops beside the motion
picker (pre-rendered small clips in ``assets/motions/previews/``) and what side-by-side renders of a
motion show as "driving". :func:`motion_change` measures how much a motion moves the mouth, the eyes
and the whole face (mean absolute pixel change), for the bench and the tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from core import ASSETS_DIR
from core.animate import motion_transfer as mt
from core.animate.framing import OUTPUT_SIZE
from core.animate.motions import MOTIONS_DIR, Motion

FACES_NPZ = ASSETS_DIR / "demo_faces" / "faces64.npz"
PREVIEW_FACE = 3            # index in faces64.npz: frontal, neutral expression, mouth closed
PREVIEWS_DIR = MOTIONS_DIR / "previews"
PREVIEW_SIZE = 192          # pre-rendered preview clips are this many pixels square
_MOUTH_POS = np.array([mt.KEYPOINT_INDICES.index(i) for i in mt.OUTER_LIPS])
_EYES_POS = np.array([mt.KEYPOINT_INDICES.index(i) for i in mt.lmk.RIGHT_EYE_RING + mt.lmk.LEFT_EYE_RING])


def preview_face(index: int = PREVIEW_FACE, size: int = OUTPUT_SIZE) -> np.ndarray:
    """A bundled synthetic face (uint8 size x size x 3), enlarged from 64 px as the animator page enlarges
    it (``display_resize``, Lanczos): previews and the fidelity test then animate the face the room sees."""
    from core.image.convert import display_resize

    if not FACES_NPZ.exists():
        raise FileNotFoundError(f"The bundled faces are missing: {FACES_NPZ}")
    with np.load(FACES_NPZ, allow_pickle=False) as data:
        face = data["images"][index]
    return display_resize(face, size)


def motion_animator(face: np.ndarray | None = None) -> mt.LandmarkAnimator:
    """The offline engine set up on ``face`` (default: the neutral preview face; keypoints detected)."""
    from core.animate.source import static_landmarker

    anim = mt.LandmarkAnimator(static_landmarker())
    anim.set_source(preview_face() if face is None else face)
    return anim


def preview_frames(motion: Motion, animator: mt.LandmarkAnimator | None = None,
                   size: int | None = None) -> Iterator[np.ndarray]:
    """One frame per motion frame: the motion applied (relative, adapted) to the animator's face."""
    anim = animator or motion_animator()
    for frame in anim.animate(motion.keypoints, motion.keypoints[0], fps=motion.fps):
        if size is not None and frame.shape[0] != size:
            frame = cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
        yield frame


def preview_path(name: str) -> Path | None:
    """The pre-rendered preview clip of a bundled motion, if present."""
    path = PREVIEWS_DIR / f"{name}.mp4"
    return path if path.is_file() else None


def write_preview(motion: Motion, path: str | os.PathLike, size: int = PREVIEW_SIZE,
                  animator: mt.LandmarkAnimator | None = None) -> Path:
    """A small looping H.264 clip of the motion on the neutral face (what the page shows)."""
    from core import video

    video.write_mp4(preview_frames(motion, animator, size), path, motion.fps, quality=5, preset="slow")
    return Path(path)


def _box(points: np.ndarray, grow: float, size: int) -> tuple[slice, slice]:
    lo, hi = points.min(0), points.max(0)
    pad = (hi - lo) * grow / 2
    x0, y0 = np.maximum(np.floor(lo - pad), 0).astype(int)
    x1, y1 = np.minimum(np.ceil(hi + pad), size).astype(int)
    return slice(y0, y1), slice(x0, x1)


def motion_change(motion: Motion, animator: mt.LandmarkAnimator | None = None) -> dict[str, float]:
    """Mean absolute pixel change (0-255) a motion causes on a face, per region.

    ``mouth``/``eyes``/``face``: |frame_t - rest frame| averaged over the region's pixels and all
    frames; regions are boxes around the rest pose's outer lips (grown 50 %, so an opening jaw counts),
    eye rings (grown 50 %) and face oval. ``mouth_step``: the same for consecutive frames in the mouth
    box (how lively the mouth is from frame to frame).
    """
    anim = animator or motion_animator()
    size = anim.source.shape[0]
    kp_px = anim.source_kp * size
    regions = {"mouth": _box(kp_px[_MOUTH_POS], 0.5, size),
               "eyes": _box(kp_px[_EYES_POS], 0.5, size),
               "face": _box(kp_px[mt.OVAL_POS], 0.0, size)}
    sums = dict.fromkeys([*regions, "mouth_step"], 0.0)
    rest = prev = None
    n = 0
    for frame in preview_frames(motion, anim):
        f = frame.astype(np.int16)
        if rest is None:
            rest = prev = f
            continue
        for name, (ys, xs) in regions.items():
            sums[name] += float(np.abs(f[ys, xs] - rest[ys, xs]).mean())
        ys, xs = regions["mouth"]
        sums["mouth_step"] += float(np.abs(f[ys, xs] - prev[ys, xs]).mean())
        prev = f
        n += 1
    return {k: v / max(n, 1) for k, v in sums.items()}
