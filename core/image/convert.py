"""Image conversions shared by every model family.

The one place where network outputs in [-1, 1] scale become uint8 HxWx3 arrays, where arrays are
tiled into grids and resized for display. Keep these here so DCGAN, StyleGAN2 and FOMM agree to the last
bit. torch is imported by the two tensor conversions only, so torch-free pages (animator, home) can use
the rest without paying for it.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch


def to_uint8(images: torch.Tensor, drange: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Convert NCHW (or CHW) float images in ``drange`` to uint8 NHWC (or HWC) arrays.

    Matches the official StyleGAN2 export: ``(x - lo) * 255 / (hi - lo)``, rounded, clamped.
    Grayscale (C=1) is repeated to three channels so callers always get HxWx3.
    """
    import torch

    single = images.ndim == 3
    if single:
        images = images.unsqueeze(0)
    assert images.ndim == 4, f"expected NCHW, got shape {tuple(images.shape)}"
    assert images.shape[1] in (1, 3), f"expected 1 or 3 channels, got {images.shape[1]}"
    lo, hi = drange
    x = (images.detach().float() - lo) * (255.0 / (hi - lo))
    x = x.round().clamp(0, 255).to(torch.uint8)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    out = x.permute(0, 2, 3, 1).cpu().numpy()
    return out[0] if single else out


def from_uint8(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """Inverse of :func:`to_uint8`: uint8 NHWC/HWC arrays to float NCHW/CHW tensors in [-1, 1]."""
    import torch

    arr = np.asarray(images)
    assert arr.dtype == np.uint8, f"expected uint8, got {arr.dtype}"
    assert arr.ndim in (3, 4) and arr.shape[-1] == 3, f"expected (N)HxWx3, got {arr.shape}"
    t = torch.from_numpy(np.ascontiguousarray(arr)).to(device).float()
    t = t.permute(0, 3, 1, 2) if arr.ndim == 4 else t.permute(2, 0, 1)
    return t / 127.5 - 1.0


def make_grid(images: np.ndarray | list[np.ndarray], cols: int | None = None, pad: int = 2,
              pad_value: int = 255) -> np.ndarray:
    """Tile equally sized uint8 HxWx3 images into one uint8 image (row-major)."""
    imgs = [np.asarray(im) for im in images]
    assert imgs, "make_grid needs at least one image"
    h, w = imgs[0].shape[:2]
    assert all(im.shape == imgs[0].shape for im in imgs), "all grid images must share one shape"
    n = len(imgs)
    cols = cols or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.full((rows * h + (rows + 1) * pad, cols * w + (cols + 1) * pad, 3), pad_value, np.uint8)
    for i, im in enumerate(imgs):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y:y + h, x:x + w] = im if im.ndim == 3 else im[..., None]
    return grid


def png_bytes(image: np.ndarray, compress_level: int = 6) -> bytes:
    """Encode a uint8 HxWx3 array as PNG bytes (for downloads and caches). ``compress_level`` 1 encodes
    about 5x faster for files about 15 % larger: for pictures a person is waiting for, on this machine."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def display_resize(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """uint8 HxWx3 (or NxHxWx3) resized for display to ``size`` (side, or (height, width)): Lanczos when
    enlarging - sharper than a browser's own scaling of a 64 px face - and area averaging when shrinking."""
    import cv2

    h, w = (size, size) if isinstance(size, int) else size
    batch = images if images.ndim == 4 else images[None]
    assert batch.dtype == np.uint8 and batch.shape[-1] == 3, (batch.dtype, batch.shape)
    if batch.shape[1:3] == (h, w):
        return images
    interp = cv2.INTER_LANCZOS4 if h * w >= batch.shape[1] * batch.shape[2] else cv2.INTER_AREA
    out = np.stack([cv2.resize(np.ascontiguousarray(f), (w, h), interpolation=interp) for f in batch])
    assert out.shape == (len(batch), h, w, 3), out.shape
    return out if images.ndim == 4 else out[0]
