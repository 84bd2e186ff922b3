"""Source preparation: the face to animate, found, aligned FFHQ-style and resized to a square."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np

from core.animate.errors import AnimationError
from core.animate.framing import OUTPUT_SIZE, crop_square, face_crop_from_boxes
from core.image.decode import ImageRejected, read_rgb

_static_lock = threading.Lock()
_static: list = []


def static_landmarker():
    """One shared static-image FaceLandmarker (thread-safe; building one costs ~0.5 s)."""
    from core.landmarks import FaceLandmarker

    with _static_lock:
        if not _static:
            _static.append(FaceLandmarker(max_faces=1, video=False, refine=False))
        return _static[0]


def read_source_image(path: str | os.PathLike) -> np.ndarray:
    """The source photo as uint8 HxWx3 RGB (core.image.decode: EXIF, modes, bombs) or an AnimationError."""
    path = Path(path)
    if not path.exists():
        raise AnimationError(f"Source image not found: {path}")
    try:
        return read_rgb(path)
    except ImageRejected as e:
        raise AnimationError(f"Could not read the source image {path.name}: {e}") from None


def prepare_source(image: np.ndarray | str | os.PathLike, size: int = OUTPUT_SIZE, crop_face: bool = True,
                   landmarker=None, notes: list[str] | None = None) -> np.ndarray:
    """Square size x size uint8 source face.

    ``crop_face``: find the face and align it FFHQ-style with ``core.faces.align`` (uploaded photos; a
    detector-box crop when the mesh fails); with False the image is taken as an already framed face
    (generated faces) and only centre-cropped. With several faces the largest is used, and a line
    saying so is appended to ``notes``.
    """
    if not isinstance(image, np.ndarray):
        image = read_source_image(image)
    assert image.ndim == 3 and image.shape[2] in (3, 4) and image.dtype == np.uint8, \
        f"expected uint8 HxWx3, got {image.dtype} {image.shape}"
    image = np.ascontiguousarray(image[..., :3])
    h, w = image.shape[:2]
    if crop_face:
        landmarker = landmarker or static_landmarker()
        faces = landmarker.detect(image)  # largest first
        region, offset = image, np.zeros(2, np.float32)
        if len(faces) > 1:  # mesh only around the largest face, so the mesh cannot pick another
            fx0, fy0, fx1, fy1 = faces[0].box
            if notes is not None:
                notes.append(f"{len(faces)} faces found in the source photo: animating the largest one "
                             f"(centred at x={(fx0 + fx1) / 2:.0f}, y={(fy0 + fy1) / 2:.0f} px).")
            x0, y0, side = face_crop_from_boxes([faces[0].box], (w, h), margin=1.0)
            region, offset = image[y0:y0 + side, x0:x0 + side], np.array([x0, y0], np.float32)
        meshes = landmarker.mesh(region)
        if meshes:  # FFHQ-style alignment (eyes level), the framing the generators' faces share
            from core.faces.align import eye_mouth_points, ffhq_quad, warp_quad

            return warp_quad(image, ffhq_quad(eye_mouth_points(meshes[0] + offset)), size)[0]
        if faces:
            x0, y0, side = face_crop_from_boxes([faces[0].box], (w, h), margin=0.9)
            return crop_square(image, (x0, y0, side), size)
        if max(h, w) > 3 * size:
            raise AnimationError("No face found in the source photo: use a clear, frontal face.")
    side = min(h, w)
    crop = ((w - side) / 2, (h - side) / 2, float(side))
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    x0, y0 = int(crop[0]), int(crop[1])
    return cv2.resize(image[y0:y0 + side, x0:x0 + side], (size, size), interpolation=interp)
