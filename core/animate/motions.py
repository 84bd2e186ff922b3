"""Motion files: keypoint trajectories (JSON) that drive the offline engine without a video.

The bundled demo motions (``assets/motions/*.json``: nod, turn, smile, talk, blink) were made
procedurally by ``assets/make_demo_motions.py``; :func:`core.animate.driving.record_motion` writes one
from any video.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import ASSETS_DIR
from core.animate import motion_transfer as mt
from core.animate.errors import AnimationError
from core.checkpoint import atomic_write_bytes

MOTIONS_DIR = ASSETS_DIR / "motions"
MOTION_FORMAT = "custom-cast-motion"
MOTION_SCALE = 1000            # motion files store coordinates as integers in 1/1000 of the frame


@dataclass
class Motion:
    """A keypoint trajectory that drives the offline engine: (T, K, 2) normalised keypoints."""
    name: str
    fps: float
    keypoints: np.ndarray

    def __post_init__(self):
        kp = np.asarray(self.keypoints, dtype=np.float32)
        assert kp.ndim == 3 and kp.shape[1:] == (mt.NUM_KEYPOINTS, 2), \
            f"expected (T, {mt.NUM_KEYPOINTS}, 2) keypoints, got {kp.shape}"
        self.keypoints = kp


def save_motion(motion: Motion, path: str | os.PathLike) -> Path:
    path = Path(path)
    frames = np.round(motion.keypoints.reshape(len(motion.keypoints), -1) * MOTION_SCALE).astype(int)
    doc = {"format": MOTION_FORMAT, "version": 1, "name": motion.name, "fps": float(motion.fps),
           "scale": MOTION_SCALE, "keypoint_indices": mt.KEYPOINT_INDICES, "frames": frames.tolist()}
    atomic_write_bytes(path, json.dumps(doc, separators=(",", ":")).encode())
    return path


def load_motion(path: str | os.PathLike) -> Motion:
    name = Path(path).name
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise AnimationError(f"Could not read the motion file {name}: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != MOTION_FORMAT:
        raise AnimationError(f"{name} is not a Custom Cast motion file.")
    if doc.get("keypoint_indices") != mt.KEYPOINT_INDICES:
        raise AnimationError(f"{name} was recorded with a different keypoint layout.")
    try:
        frames = np.asarray(doc["frames"], dtype=np.float32) / float(doc.get("scale", MOTION_SCALE))
        fps = float(doc.get("fps", 25.0))
    except (KeyError, TypeError, ValueError):
        raise AnimationError(f"{name} has malformed frames.") from None
    if frames.ndim != 2 or frames.shape[1] != 2 * mt.NUM_KEYPOINTS or len(frames) == 0:
        raise AnimationError(f"{name} has malformed frames.")
    if not (np.isfinite(frames).all() and 1.0 <= fps <= 240.0):
        raise AnimationError(f"{name} has non-finite keypoints or an fps outside 1..240.")
    keypoints = frames.reshape(len(frames), mt.NUM_KEYPOINTS, 2)
    return Motion(str(doc.get("name", Path(path).stem)), fps, keypoints)


def bundled_motions() -> dict[str, Path]:
    """Demo motion name -> file (nod, turn, smile, talk, blink), when the assets are present."""
    return {p.stem: p for p in sorted(MOTIONS_DIR.glob("*.json"))}
