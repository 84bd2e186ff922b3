"""The one image reader: every family (faces, DCGAN, StyleGAN2 training, the animator) decodes here.

Decoding applies EXIF orientation, takes the first frame of animations and converts palette, alpha
(over white), CMYK, 16-bit, float and 1-bit images to 8-bit RGB, so a 16-bit greyscale PNG reads the
same in the explorer and in training. A decompression-bomb guard bounds the pixel count before any
pixel is decoded. Failures raise :class:`ImageRejected` with a reason meant for users, never another
exception.

Phones save HEIC/HEIF (iPhone) and AVIF photos: HEIF is read through the pillow-heif plugin (registered
here, once), AVIF through Pillow's own AVIF support. Where a decoder is missing, such a file is
rejected as "unsupported format" with the package to install, never skipped without a word.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError, features

try:  # the maintained HEIF plugin for Pillow (libheif + libde265 in its wheel)
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - requirements.txt pins it; a bare install still says why
    HEIF_SUPPORTED = False
AVIF_SUPPORTED = bool(features.check("avif"))

# The one extension list: folder scans, uploads and training sets all accept exactly these.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".heic", ".heif",
                    ".hif", ".avif")
# 64 MP: a 12000 x 5300 panorama still opens; a 30000 x 30000 header claim is refused before decoding.
DEFAULT_MAX_PIXELS = 64_000_000
# Encoded files larger than this are refused before they are read into memory.
MAX_FILE_BYTES = 256 * 1024 * 1024

R_EMPTY = "empty file"
R_NOT_IMAGE = "not an image"
R_CORRUPT = "corrupt or truncated"
R_TOO_LARGE = "too large (decompression bomb guard)"
R_UNSUPPORTED = "unsupported format"
# ISO base media "ftyp" brands of still images (HEIF/HEIC and AVIF); an MP4 clip has other brands.
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1")
AVIF_BRANDS = (b"avif", b"avis")
# Files that start like an image but that Pillow cannot identify are damaged images, not "not an image".
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00",
                     b"MM\x00*")


class ImageRejected(Exception):
    """An input file that is not a usable image. ``reason`` is one of the ``R_*`` phrases."""

    def __init__(self, reason: str, detail: str = ""):
        detail = " ".join(detail.split())  # a decoder's message may span lines; a reason is one line
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def load_image(source: str | os.PathLike | bytes, max_pixels: int = DEFAULT_MAX_PIXELS
               ) -> tuple[np.ndarray, bool]:
    """Decode a file path or bytes to ``(uint8 HxWx3 RGB, is_grayscale)``."""
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ImageRejected(R_TOO_LARGE, f"{size / 2**20:.0f} MiB file exceeds "
                                                 f"{MAX_FILE_BYTES / 2**20:.0f} MiB")
            data = path.read_bytes()
        except OSError as e:
            raise ImageRejected(R_NOT_IMAGE, f"cannot read {path.name}: {e.strerror or e}") from None
    if len(data) == 0:
        raise ImageRejected(R_EMPTY)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        brand = image_brand(data)
        if brand is not None and not (HEIF_SUPPORTED if brand == "HEIF" else AVIF_SUPPORTED):
            package = "pillow-heif" if brand == "HEIF" else "Pillow with AVIF support"
            raise ImageRejected(R_UNSUPPORTED, f"a {brand} photo, and no {brand} decoder is installed "
                                               f"(install {package})") from None
        if data.startswith(_IMAGE_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or brand:
            raise ImageRejected(R_CORRUPT, "the header of an image file is damaged") from None
        raise ImageRejected(R_NOT_IMAGE, "unrecognised format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageRejected(R_TOO_LARGE, str(e)) from None
    except Exception as e:  # a damaged header can raise almost anything inside Pillow's plugins
        raise ImageRejected(R_CORRUPT, f"{type(e).__name__}: {e}") from None
    w, h = im.size
    if w * h > max_pixels:
        raise ImageRejected(R_TOO_LARGE, f"{w}x{h} = {w * h / 1e6:.0f} MP exceeds {max_pixels / 1e6:.0f} MP")
    if w == 0 or h == 0:
        raise ImageRejected(R_CORRUPT, "zero-sized image")
    try:
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        im.load()
        im = ImageOps.exif_transpose(im) or im
        rgb, gray = _to_rgb8(im)
    except ImageRejected:
        raise
    except Exception as e:
        raise ImageRejected(R_CORRUPT, f"{type(e).__name__}: {e}") from None
    return rgb, gray


def image_brand(data: bytes) -> str | None:
    """"HEIF" or "AVIF" when ``data`` starts like an ISO-BMFF still image (major or compatible brand)."""
    if data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[:4], "big")
    brands = [data[8:12]] + [data[i:i + 4] for i in range(16, min(max(size, 16), 64), 4)]
    if any(b in AVIF_BRANDS for b in brands):
        return "AVIF"
    if any(b in HEIF_BRANDS for b in brands):
        return "HEIF"
    return None


def read_rgb(source: str | os.PathLike | bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """:func:`load_image` without the greyscale flag: uint8 HxWx3 RGB."""
    return load_image(source, max_pixels)[0]


def _to_rgb8(im: Image.Image) -> tuple[np.ndarray, bool]:
    mode = im.mode
    gray = mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
    if mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        a8 = np.clip(a * (255.0 / hi), 0, 255).round().astype(np.uint8)
        return np.repeat(a8[..., None], 3, axis=2), True
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if not gray:
        gray = is_grayscale(rgb)
    return np.ascontiguousarray(rgb), gray


def is_grayscale(rgb: np.ndarray, tolerance: int = 4) -> bool:
    """True when the three channels agree within ``tolerance`` almost everywhere (a grey photo)."""
    s = rgb[:: max(1, rgb.shape[0] // 64), :: max(1, rgb.shape[1] // 64)].astype(np.int16)
    spread = s.max(axis=2) - s.min(axis=2)
    return bool(np.mean(spread > tolerance) < 0.01)


def list_image_files(root: str | os.PathLike) -> list[Path]:
    """Image-like files under ``root`` (recursive, sorted, hidden files skipped); ``[root]`` for a file.

    Files are picked by extension, so a text file named ``.jpg`` is reported as unreadable rather
    than silently ignored; :func:`list_skipped_files` names the others.
    """
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(p for p in _visible_files(root) if p.suffix.lower() in IMAGE_EXTENSIONS)


def list_skipped_files(root: str | os.PathLike) -> list[tuple[Path, str]]:
    """(file, reason) for every visible file under ``root`` that :func:`list_image_files` leaves out
    (a clip, a RAW file, a document...), so a scan can count and name every file it saw."""
    root = Path(root)
    if root.is_file():
        return []
    return [(p, f"not a photo type ({p.suffix.lower() or 'no extension'}; photos are "
                f"{', '.join(e.lstrip('.') for e in IMAGE_EXTENSIONS)})")
            for p in sorted(_visible_files(root)) if p.suffix.lower() not in IMAGE_EXTENSIONS]


def _visible_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(root).parts)]


def square_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square and resize to ``size`` (Lanczos down, bicubic up): uint8 size x size x 3."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    im = Image.fromarray(np.ascontiguousarray(rgb[top:top + side, left:left + side]))
    if side != size:
        im = im.resize((size, size), Image.Resampling.LANCZOS if side > size else Image.Resampling.BICUBIC)
    return np.asarray(im, dtype=np.uint8)
