"""Face detectors: OpenCV's Haar cascade (the seed study's) and MediaPipe BlazeFace + Face Mesh.

The seed study cut faces from scraped profile pictures with the Viola-Jones Haar cascade (Viola &
Jones, "Rapid Object Detection using a Boosted Cascade of Simple Features", CVPR 2001). The modern
detector is BlazeFace (Bazarevsky et al. 2019) plus the 478-point Face Mesh (Kartynnik et al. 2019),
whose landmarks drive the FFHQ alignment of :mod:`core.faces.align`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from core.faces.align import box_quad, eye_mouth_points, ffhq_quad, transform_points, warp_quad

# "modern-fast" is the modern detector without the mesh (BlazeFace keypoints align the crop).
DETECTORS = ("modern", "haar", "modern-fast")
# Detection runs on a copy whose long side is at most this; boxes/landmarks are scaled back, and crops
# are cut from the full-resolution image.
DETECT_MAX_SIDE = 640


@dataclass
class DetectedFace:
    box: tuple[float, float, float, float]   # x0, y0, x1, y1 in full-image pixels
    score: float                               # detector confidence (Haar: 1.0)
    points: list[list[float]] | None = None    # (4, 2) eye/mouth points (image-left first), if known
    landmarks: np.ndarray | None = None        # (478, 2) mesh, modern detector only (not cached)

    @property
    def size(self) -> float:
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


def downscale(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """(copy whose long side is at most ``max_side``, scale factor applied); the input when small."""
    h, w = rgb.shape[:2]
    s = min(1.0, max_side / max(h, w))
    if s >= 1.0:
        return rgb, 1.0
    return cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA), s


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (the seed study's detector) plus the eye cascade.

    When two eyes are found inside a face box, the crop is oriented from them (mouth points are
    estimated from the box); otherwise an upright box-based crop is used.
    """

    name = "haar"

    def __init__(self, min_neighbors: int = 5):
        self.min_neighbors = min_neighbors  # higher = fewer false positives, more misses
        self._face = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        self._eye = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_eye.xml")
        assert not self._face.empty() and not self._eye.empty(), "OpenCV Haar cascades are missing"
        self._lock = threading.Lock()

    def __call__(self, rgb: np.ndarray) -> list[DetectedFace]:
        small, scale = downscale(rgb, DETECT_MAX_SIDE)
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        min_side = max(20, int(0.06 * min(gray.shape)))
        with self._lock:
            boxes = self._face.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=self.min_neighbors,
                                                minSize=(min_side, min_side))
        faces = []
        for x, y, w, h in (boxes if len(boxes) else []):
            pts = self._eye_points(gray, x, y, w, h)
            box = (x / scale, y / scale, (x + w) / scale, (y + h) / scale)
            faces.append(DetectedFace(box, 1.0, (pts / scale).tolist() if pts is not None else None))
        return sorted(faces, key=lambda f: -f.size)

    def _eye_points(self, gray: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray | None:
        roi = gray[y:y + h // 2 + h // 10, x:x + w]
        with self._lock:
            eyes = self._eye.detectMultiScale(roi, scaleFactor=1.1, minNeighbors=5,
                                              minSize=(max(8, w // 10), max(8, w // 10)))
        if len(eyes) < 2:
            return None
        eyes = sorted(eyes, key=lambda e: -e[2] * e[3])[:2]
        centres = sorted([(x + ex + ew / 2, y + ey + eh / 2) for ex, ey, ew, eh in eyes])
        (lx, ly), (rx, ry) = centres
        if not (0.25 * w < rx - lx < 0.7 * w) or abs(ry - ly) > 0.25 * w:
            return None
        # Mouth corners are not detected; place them where they sit on an average frontal face.
        ex, ey = (rx - lx), (ry - ly)
        down = np.array([-ey, ex]) * 1.1
        mouth_l = np.array([lx, ly]) + np.array([ex, ey]) * 0.12 + down
        mouth_r = np.array([rx, ry]) - np.array([ex, ey]) * 0.12 + down
        return np.array([[lx, ly], [rx, ry], mouth_l, mouth_r], np.float32)


class ModernDetector:
    """BlazeFace + 478-point Face Mesh from :class:`core.landmarks.FaceLandmarker` (offline).

    With ``mesh=False`` only BlazeFace runs and its own eye and mouth-centre keypoints drive the
    alignment (the FFHQ rule needs only the mouth's midpoint), about twice as fast, slightly less
    precise. Faces the mesh misses fall back to the keypoints too.
    """

    name = "modern"

    def __init__(self, min_confidence: float = 0.5, max_faces: int = 4, mesh: bool = True):
        # Imported here: MediaPipe is heavy and the Haar path, the zip checks and the CLI's refusals
        # do not need it.
        from core.landmarks import FaceLandmarker

        self.mesh = mesh  # fit the 478-point mesh (precise eyes and mouth corners)
        self._lm = FaceLandmarker(max_faces=max_faces, min_confidence=min_confidence)

    def __call__(self, rgb: np.ndarray) -> list[DetectedFace]:
        small, scale = downscale(rgb, DETECT_MAX_SIDE)
        out = []
        for f in (self._lm.faces(small) if self.mesh else self._lm.detect(small)):
            box = tuple(float(v) / scale for v in f.box)
            lm = f.landmarks / scale if f.landmarks is not None else None
            if lm is not None:
                pts = eye_mouth_points(lm).tolist()
            elif getattr(f, "keypoints", None) is not None:
                kp = f.keypoints / scale
                eyes = sorted([kp[0], kp[1]], key=lambda p: p[0])  # image-left eye first
                pts = np.array([eyes[0], eyes[1], kp[3], kp[3]], np.float32).tolist()
            else:
                pts = None
            out.append(DetectedFace(box, f.score, pts, lm))
        return out

    def close(self) -> None:
        self._lm.close()


_DETECTORS: dict[str, HaarDetector | ModernDetector] = {}
_DETECTORS_LOCK = threading.Lock()


def get_detector(name: str) -> HaarDetector | ModernDetector:
    """Process-wide detector instance (loading MediaPipe graphs costs ~1 s, so reuse them)."""
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose one of {DETECTORS}")
    with _DETECTORS_LOCK:
        if name not in _DETECTORS:
            _DETECTORS[name] = HaarDetector() if name == "haar" else ModernDetector(mesh=name == "modern")
        return _DETECTORS[name]


def crop_face(rgb: np.ndarray, face: DetectedFace, size: int) -> tuple[np.ndarray, list[list[float]] | None]:
    """Aligned crop of one face: FFHQ rule when eye/mouth points are known, box-based otherwise.

    Returns (uint8 size x size x 3, eye/mouth points in crop coordinates or None).
    """
    quad = ffhq_quad(np.asarray(face.points)) if face.points is not None else box_quad(face.box)
    crop, matrix = warp_quad(rgb, quad, size)
    assert crop.shape == (size, size, 3), f"crop has shape {crop.shape}, expected ({size}, {size}, 3)"
    pts = transform_points(np.asarray(face.points), matrix).tolist() if face.points is not None else None
    return crop, pts
