"""Training images: an ``.npz`` with a uint8 NHWC ``images`` array, or a folder of image files.

Files are decoded by the project's one image reader (:mod:`core.image.decode`: EXIF orientation, palette,
16-bit and CMYK modes, bomb guard) and centre-cropped to squares by :func:`core.image.decode.square_resize`.
Unreadable files in a folder are skipped and counted; a folder with no readable image is an error.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.checkpoint import describe_bytes
from core.image.decode import IMAGE_EXTENSIONS, ImageRejected, list_image_files, load_image, square_resize


class DatasetError(ValueError):
    """The training data cannot be used; the message is for users."""


def load_training_images(path: str | os.PathLike, resolution: int, max_images: int | None = None,
                         warn: Callable[[str], None] | None = None) -> np.ndarray:
    """Training images as uint8 NHWC at ``resolution`` from an ``.npz`` (key ``images``) or a folder.

    Images of another size are centre-cropped to a square and resized (Lanczos down, bicubic up).
    ``warn`` receives one line about skipped unreadable files, if any.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"Training data not found: {path}")
    if path.is_dir():
        arr = _load_folder(path, resolution, max_images, warn)
    elif path.suffix.lower() == ".npz":
        arr = _load_npz(path)
    else:
        with open(path, "rb") as f:
            what = describe_bytes(f.read(16))
        raise DatasetError(f"Training data must be an .npz file or an image folder; {path.name} is "
                           f"neither ({what}).")
    if max_images is not None:
        arr = arr[:max_images]
    if len(arr) == 0:
        raise DatasetError(f"{path.name} holds no images.")
    if arr.shape[1:3] != (resolution, resolution):
        arr = np.stack([square_resize(a, resolution) for a in arr])
    assert arr.dtype == np.uint8 and arr.shape[1:] == (resolution, resolution, 3), arr.shape
    return np.ascontiguousarray(arr)


def _load_npz(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "images" not in data:
                raise DatasetError(f"{path.name} has no 'images' array (found {list(data.keys())[:8]})")
            arr = data["images"]
    except DatasetError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        with open(path, "rb") as f:
            what = describe_bytes(f.read(16))
        raise DatasetError(f"{path.name} is not a readable .npz archive ({what}; "
                           f"{str(e).splitlines()[0] if str(e) else type(e).__name__}).") from None
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3 or min(arr.shape[1:3], default=0) < 1:
        raise DatasetError(f"{path.name}: expected uint8 NHWC RGB images, got {arr.dtype} {arr.shape}")
    return arr


def _load_folder(path: Path, resolution: int, max_images: int | None,
                 warn: Callable[[str], None] | None) -> np.ndarray:
    files = list_image_files(path)
    if not files:
        raise DatasetError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {path}")
    images, rejected = [], []
    for file in files:
        if max_images is not None and len(images) >= max_images:
            break
        try:
            images.append(square_resize(load_image(file)[0], resolution))
        except ImageRejected as e:
            rejected.append(f"{file.name}: {e}")
    if not images:
        raise DatasetError(f"None of the {len(files)} image files in {path} could be read "
                           f"(e.g. {rejected[0]}).")
    if rejected and warn is not None:
        warn(f"skipped {len(rejected)} unreadable image file(s), e.g. {rejected[0]}")
    return np.stack(images)
