"""FFHQ-style face alignment from eye and mouth landmarks (image- and video-agnostic).

Follows the crop rule of Karras et al., "A Style-Based Generator Architecture for Generative
Adversarial Networks" (CVPR 2019), used to build FFHQ: an oriented square centred a little below the
eyes, rotated so the eyes are level, sized from the larger of the eye distance and eye-to-mouth
distance. Everything downstream (DCGAN, StyleGAN2, FOMM) then sees faces in one canonical pose.

Points are float (x, y) pixel coordinates. "Left"/"right" below are on the *image* (viewer's) side.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.landmarks import (
    LEFT_EYE_RING,
    MOUTH_LEFT_CORNER,
    MOUTH_RIGHT_CORNER,
    NUM_MESH_POINTS,
    RIGHT_EYE_RING,
)

ALIGN_SIZES = (32, 64, 96, 128, 256)


def eye_mouth_points(landmarks: np.ndarray) -> np.ndarray:
    """(4, 2) float32 [eye on image left, eye on image right, mouth image-left, mouth image-right].

    Accepts a 478-point MediaPipe mesh or an already reduced (4, 2) array (returned as is).
    """
    lm = np.asarray(landmarks, dtype=np.float32)
    assert lm.ndim == 2 and lm.shape[1] == 2, f"landmarks must be (K, 2), got {lm.shape}"
    if lm.shape[0] == 4:
        return lm
    assert lm.shape[0] >= NUM_MESH_POINTS - 10, f"expected a mesh or 4 points, got {lm.shape[0]}"
    # The subject's right eye/mouth corner appears on the image's left.
    return np.stack([lm[RIGHT_EYE_RING].mean(0), lm[LEFT_EYE_RING].mean(0),
                     lm[MOUTH_RIGHT_CORNER], lm[MOUTH_LEFT_CORNER]]).astype(np.float32)


def ffhq_quad(points: np.ndarray) -> np.ndarray:
    """The FFHQ crop square for (4, 2) eye/mouth points: (4, 2) corners TL, BL, BR, TR."""
    p = np.asarray(points, dtype=np.float64)
    assert p.shape == (4, 2), f"expected (4, 2) eye/mouth points, got {p.shape}"
    eye_l, eye_r, mouth_l, mouth_r = p
    eye_avg = (eye_l + eye_r) / 2
    eye_to_eye = eye_r - eye_l
    eye_to_mouth = (mouth_l + mouth_r) / 2 - eye_avg
    # Horizontal axis: the eye line, tilted to agree with the direction perpendicular to eye->mouth.
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    norm = np.hypot(*x)
    if norm < 1e-6:
        x = np.array([1.0, 0.0])
    else:
        x = x / norm
    x = x * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])  # x rotated by +90 degrees in image coordinates (y points down)
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y]).astype(np.float32)


def box_quad(box: tuple[float, float, float, float], scale: float = 1.6, shift: float = 0.08) -> np.ndarray:
    """Upright crop square from a detector box when no landmarks are known (e.g. Haar faces).

    Detector boxes hug the eyes-to-chin region; FFHQ crops show hair and neck too, so the square is
    ``scale`` times the box side, nudged up by ``shift`` of the side to roughly match the FFHQ centre.
    """
    x0, y0, x1, y1 = map(float, box)
    side = max(x1 - x0, y1 - y0) * scale
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - shift * (y1 - y0)
    h = side / 2
    return np.array([[cx - h, cy - h], [cx - h, cy + h], [cx + h, cy + h], [cx + h, cy - h]], np.float32)


def quad_affine(quad: np.ndarray, size: int) -> np.ndarray:
    """2x3 affine matrix mapping quad corners TL, BL, BR to the output square's corners."""
    q = np.asarray(quad, dtype=np.float32)
    assert q.shape == (4, 2), f"expected (4, 2) quad, got {q.shape}"
    dst = np.array([[0, 0], [0, size], [size, size]], np.float32)
    return cv2.getAffineTransform(q[:3], dst)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (K, 2) points."""
    p = np.asarray(points, dtype=np.float32)
    return p @ matrix[:, :2].T + matrix[:, 2]


def warp_quad(image: np.ndarray, quad: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop the oriented square ``quad`` of ``image`` to a ``size`` x ``size`` uint8 image.

    Returns (crop, 2x3 matrix from image to crop coordinates). Large shrink factors are done with an
    area-averaging pre-resize (like FFHQ's shrink step) so small crops of big photos do not alias.
    Pixels outside the photo are filled by reflection, as FFHQ does.
    """
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8, \
        f"expected uint8 HxWx3, got {image.dtype} {image.shape}"
    assert size in ALIGN_SIZES or 8 <= size <= 1024, f"unsupported crop size {size}"
    q = np.asarray(quad, dtype=np.float32)
    full_matrix = quad_affine(q, size)
    side = float(np.hypot(*(q[3] - q[0])))
    shrink = side / size
    src, qs = image, q
    if shrink >= 2.0:
        # Only shrink the region around the quad, so huge photos stay cheap.
        f = 1.0 / np.floor(shrink)
        pad = side * 0.1
        x0 = int(max(0, np.floor(q[:, 0].min() - pad)))
        y0 = int(max(0, np.floor(q[:, 1].min() - pad)))
        x1 = int(min(image.shape[1], np.ceil(q[:, 0].max() + pad)))
        y1 = int(min(image.shape[0], np.ceil(q[:, 1].max() + pad)))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            region = image[y0:y1, x0:x1]
            new_w, new_h = max(1, round(region.shape[1] * f)), max(1, round(region.shape[0] * f))
            src = cv2.resize(region, (new_w, new_h), interpolation=cv2.INTER_AREA)
            qs = (q - np.array([x0, y0], np.float32)) * np.array(
                [new_w / region.shape[1], new_h / region.shape[0]], np.float32)
    crop = cv2.warpAffine(np.ascontiguousarray(src), quad_affine(qs, size), (size, size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return crop, full_matrix


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 256) -> np.ndarray:
    """FFHQ-aligned ``size`` x ``size`` uint8 crop from a (478, 2) mesh or (4, 2) eye/mouth points."""
    return warp_quad(image, ffhq_quad(eye_mouth_points(landmarks)), size)[0]
