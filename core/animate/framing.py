"""Square face framing shared by the source and driving sides: crops from face boxes, resampling."""

from __future__ import annotations

import cv2
import numpy as np

OUTPUT_SIZE = 256   # the engines work on 256 x 256 crops (the neural FOMM's vox-256 resolution)


def crop_square(frame: np.ndarray, crop: tuple[float, float, float], size: int) -> np.ndarray:
    """Square crop (x0, y0, side) resized to size x size; parts outside the frame replicate the edge."""
    x0, y0, side = crop
    s = size / side
    if s < 0.75:  # pre-shrink large downscales so bilinear sampling does not alias
        k = max(1, int(1 / s) // 2 * 2)
        if k >= 2:
            frame = cv2.resize(frame, (frame.shape[1] // k, frame.shape[0] // k),
                               interpolation=cv2.INTER_AREA)
            x0, y0, side, s = x0 / k, y0 / k, side / k, size / (side / k)
    m = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], dtype=np.float32)
    return cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def face_crop_from_boxes(boxes: list[tuple[float, float, float, float]], frame_size: tuple[int, int],
                         margin: float = 1.0) -> tuple[int, int, int]:
    """One square crop (x0, y0, side) covering the union of face boxes plus ``margin`` box sizes.

    Kept inside the frame (side at most the frame's shorter edge), so ffmpeg can crop it.
    """
    assert boxes, "need at least one face box"
    b = np.asarray(boxes, dtype=np.float64)
    face = float(np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])))
    ux0, uy0, ux1, uy1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    side = max(ux1 - ux0, uy1 - uy0) + margin * face
    cx = (ux0 + ux1) / 2
    cy = (uy0 + uy1) / 2 - 0.1 * face   # BlazeFace boxes sit low on the forehead: include some hair
    w, h = frame_size
    side = int(min(max(side, 16.0), w, h)) // 2 * 2
    x0 = int(round(min(max(cx - side / 2, 0), w - side)))
    y0 = int(round(min(max(cy - side / 2, 0), h - side)))
    return x0, y0, side

