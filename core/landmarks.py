"""Face detection and dense landmarks from the in-wheel MediaPipe models (runs offline).

MediaPipe 0.10.21 ships BlazeFace (short and full range) and the 478-point Face Mesh inside its
wheel, so no model file is downloaded at run time. Both the face pipeline (alignment) and the
offline animation engine (motion transfer) use this module.

Landmark arrays are float32 (N, 2) in pixel coordinates (x, y) of the input image.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

# Before MediaPipe is imported anywhere: its native logging is silenced by this module's settings.
from core.native_logs import native_logs_quiet

NUM_MESH_POINTS = 478

# Face Mesh indices of semantic points (canonical MediaPipe topology; the subject's left eye is on
# the image's right).
RIGHT_EYE_RING = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]
LEFT_EYE_RING = [362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398]
RIGHT_IRIS_CENTER = 468
LEFT_IRIS_CENTER = 473
MOUTH_LEFT_CORNER = 291
MOUTH_RIGHT_CORNER = 61
UPPER_LIP_INNER = 13
LOWER_LIP_INNER = 14
NOSE_TIP = 1
CHIN = 152
# Eye openness: upper and lower lid mid points.
RIGHT_EYE_LIDS = (159, 145)
LEFT_EYE_LIDS = (386, 374)
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]


@dataclass
class Face:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
    score: float                              # detector confidence in [0, 1]
    landmarks: np.ndarray | None = None       # (478, 2) float32 pixel coords, when a mesh was fitted
    # (6, 2) float32 BlazeFace keypoints in pixels (detect() fills them): the two eyes, nose tip, mouth
    # centre and the two ear tragions, in MediaPipe's order.
    keypoints: np.ndarray | None = None

    @property
    def size(self) -> float:
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))

    def eye_centers(self) -> tuple[np.ndarray, np.ndarray]:
        """(subject's left eye, subject's right eye) centres in pixels; needs landmarks."""
        assert self.landmarks is not None, "eye_centers needs mesh landmarks"
        lm = self.landmarks
        return lm[LEFT_EYE_RING].mean(0), lm[RIGHT_EYE_RING].mean(0)

    def mouth_corners(self) -> tuple[np.ndarray, np.ndarray]:
        assert self.landmarks is not None, "mouth_corners needs mesh landmarks"
        return self.landmarks[MOUTH_LEFT_CORNER], self.landmarks[MOUTH_RIGHT_CORNER]


def _as_rgb(image: np.ndarray) -> np.ndarray:
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8, \
        f"expected uint8 HxWx3 RGB, got {image.dtype} {image.shape}"
    return np.ascontiguousarray(image)


class FaceLandmarker:
    """BlazeFace detection plus Face Mesh landmarks. Thread-safe (MediaPipe graphs are not).

    ``video=True`` lets the mesh track between consecutive frames, which is faster and steadier
    for driving videos; use ``video=False`` for unrelated photos.
    """

    def __init__(self, max_faces: int = 4, min_confidence: float = 0.5, video: bool = False,
                 refine: bool = True):
        self._lock = threading.Lock()
        with native_logs_quiet():
            import mediapipe as mp  # imported lazily: it takes ~1 s and pulls TensorFlow Lite

            self._detector = mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=min_confidence)
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=not video, max_num_faces=max_faces, refine_landmarks=refine,
                min_detection_confidence=min_confidence, min_tracking_confidence=0.5)

    def close(self) -> None:
        with native_logs_quiet():
            self._detector.close()
            self._mesh.close()

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def detect(self, image: np.ndarray) -> list[Face]:
        """Face boxes from BlazeFace (full-range model), largest first. No landmarks."""
        rgb = _as_rgb(image)
        h, w = rgb.shape[:2]
        with self._lock, native_logs_quiet():
            res = self._detector.process(rgb)
        faces = []
        for d in res.detections or []:
            b = d.location_data.relative_bounding_box
            x0, y0 = max(0.0, b.xmin * w), max(0.0, b.ymin * h)
            x1, y1 = min(float(w), (b.xmin + b.width) * w), min(float(h), (b.ymin + b.height) * h)
            kps = np.array([(k.x * w, k.y * h) for k in d.location_data.relative_keypoints],
                           dtype=np.float32).reshape(-1, 2)
            if x1 > x0 and y1 > y0:
                faces.append(Face((x0, y0, x1, y1), float(d.score[0]),
                                  keypoints=kps if len(kps) == 6 else None))
        return sorted(faces, key=lambda f: -f.size)

    def mesh(self, image: np.ndarray) -> list[np.ndarray]:
        """478-point landmark sets (pixel coords), one per face found by the mesh's own detector."""
        rgb = _as_rgb(image)
        h, w = rgb.shape[:2]
        with self._lock, native_logs_quiet():
            res = self._mesh.process(rgb)
        out = []
        for fl in res.multi_face_landmarks or []:
            pts = np.array([(p.x * w, p.y * h) for p in fl.landmark], dtype=np.float32)
            out.append(pts)
        return out

    def faces(self, image: np.ndarray) -> list[Face]:
        """Detected faces with mesh landmarks attached where the mesh found the same face."""
        faces = self.detect(image)
        meshes = self.mesh(image) if faces else []
        for lm in meshes:
            cx, cy = lm[:, 0].mean(), lm[:, 1].mean()
            for f in faces:
                if f.landmarks is None and f.box[0] <= cx <= f.box[2] and f.box[1] <= cy <= f.box[3]:
                    f.landmarks = lm
                    break
        return faces


class SmallFaceScorer:
    """MediaPipe's short-range BlazeFace score of a small face shown as in a profile photo.

    Each face (uint8 HxWx3, any side) is resized to ``face_px`` (bicubic) and pasted in the middle of a
    ``canvas_px`` grey canvas; the score is the best detection's, 0 when none. The one face-likeness
    measure of generated samples: ``bench/bench_quality.py`` reports it and the StyleGAN2 teacher
    stream filters D's real images by it, so both agree by construction.
    """

    def __init__(self, canvas_px: int = 320, face_px: int = 160, min_confidence: float = 0.05):
        assert 0 < face_px <= canvas_px, (face_px, canvas_px)
        self.canvas_px, self.face_px = canvas_px, face_px
        self._lock = threading.Lock()
        with native_logs_quiet():
            import mediapipe as mp  # imported lazily: it takes ~1 s and pulls TensorFlow Lite

            self._detector = mp.solutions.face_detection.FaceDetection(  # model 0 = short range (<2 m)
                model_selection=0, min_detection_confidence=min_confidence)

    def close(self) -> None:
        with native_logs_quiet():
            self._detector.close()

    def __enter__(self) -> SmallFaceScorer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def score(self, face: np.ndarray) -> float:
        import cv2

        face = _as_rgb(face)
        canvas = np.full((self.canvas_px, self.canvas_px, 3), 128, np.uint8)
        off = (self.canvas_px - self.face_px) // 2
        canvas[off:off + self.face_px, off:off + self.face_px] = cv2.resize(
            face, (self.face_px, self.face_px), interpolation=cv2.INTER_CUBIC)
        with self._lock, native_logs_quiet():
            res = self._detector.process(canvas)
        return max((float(d.score[0]) for d in res.detections or []), default=0.0)

    def scores(self, faces: np.ndarray) -> np.ndarray:
        """float64 [N] scores of uint8 [N, H, W, 3] faces."""
        assert faces.ndim == 4, faces.shape
        return np.array([self.score(f) for f in faces], dtype=np.float64)
