"""Face data pipeline: robust loading, detection, FFHQ alignment, quality checks, duplicates, cache.

The seed study cut faces from scraped profile pictures with OpenCV's Viola-Jones Haar cascade
(Viola & Jones, "Rapid Object Detection using a Boosted Cascade of Simple Features", CVPR 2001).
This module offers that detector and a modern one (MediaPipe BlazeFace, Bazarevsky et al. 2019, plus
the 478-point Face Mesh, Kartynnik et al. 2019) whose landmarks drive FFHQ-style alignment
(:mod:`core.align`). Images are streamed one at a time so memory stays bounded, and per-image
results are cached on disk under the SHA-1 of the file's bytes so rescans are near-instant.

Command line::

    python -m core.faces scan DIR --out OUTDIR [--detector haar|modern] [--size N] [--json]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import shutil
import sys
import threading
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from core import CACHE_DIR
from core.align import ALIGN_SIZES, box_quad, eye_mouth_points, ffhq_quad, transform_points, warp_quad

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")
# "modern-fast" is the modern detector without the mesh (BlazeFace keypoints align the crop).
DETECTORS = ("modern", "haar", "modern-fast")
# Bump when the cached record layout or the detection/alignment maths change.
CACHE_VERSION = 1
# Default pixel cap: 64 MP decodes to ~200 MB; anything bigger is treated as a decompression bomb.
DEFAULT_MAX_PIXELS = 64_000_000
# Detection runs on a copy whose long side is at most this; boxes/landmarks are scaled back, and crops
# are cut from the full-resolution image.
DETECT_MAX_SIDE = 640

# Rejection reasons (stable strings: they are JSON keys in the CLI summary and UI filter values).
R_EMPTY = "empty file"
R_NOT_IMAGE = "not an image"
R_CORRUPT = "corrupt or truncated"
R_TOO_LARGE = "too large (decompression bomb guard)"
R_NO_FACE = "no face found"
R_SMALL = "face too small"
R_BLURRY = "blurry"
R_DUPLICATE = "duplicate"
R_EXTRA = "not the largest face"


class ImageRejected(Exception):
    """An input file that cannot be used; ``reason`` is one of the R_* constants."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class IngestRefused(Exception):
    """A whole upload (e.g. a zip archive) was refused; the message says why, for the user."""


# ----------------------------------------------------------------------------------------------
# Loading


def load_image(source: str | os.PathLike | bytes, max_pixels: int = DEFAULT_MAX_PIXELS
               ) -> tuple[np.ndarray, bool]:
    """Decode a file path or bytes to (uint8 HxWx3 RGB, is_grayscale).

    Applies EXIF orientation, takes the first frame of animations, converts palette/alpha (over
    white)/CMYK/16-bit/float/1-bit images to 8-bit RGB. Raises :class:`ImageRejected` with a reason for
    empty, non-image, truncated/corrupt and oversized files, never another exception.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if len(data) == 0:
        raise ImageRejected(R_EMPTY)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
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


# ----------------------------------------------------------------------------------------------
# Quality measures and perceptual hashes


def blur_score(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image (Pech-Pacheco et al. 2000); low means blurry."""
    g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return float(cv2.Laplacian(g, cv2.CV_64F).var())


def dhash(image: np.ndarray) -> int:
    """64-bit difference hash (horizontal gradients of a 9x8 grey thumbnail)."""
    g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    small = cv2.resize(g, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def phash(image: np.ndarray) -> int:
    """64-bit DCT perceptual hash: signs of the 8x8 low-frequency block against its median."""
    g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    small = cv2.resize(g, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    return int(bin(a ^ b).count("1"))


class DuplicateIndex:
    """Near-duplicate lookup of 64-bit hashes by Hamming distance (vectorised linear scan)."""

    def __init__(self, threshold: int = 6):
        self.threshold = threshold  # max differing bits for two hashes to count as the same picture
        self._hashes = np.zeros(0, dtype=np.uint64)
        self._ids: list[str] = []

    def find(self, h: int) -> str | None:
        """Id of the closest stored hash within the threshold, else None."""
        if not len(self._hashes):
            return None
        x = np.bitwise_xor(self._hashes, np.uint64(h))
        dist = np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(1)
        i = int(dist.argmin())
        return self._ids[i] if dist[i] <= self.threshold else None

    def add(self, h: int, ident: str) -> None:
        self._hashes = np.append(self._hashes, np.uint64(h))
        self._ids.append(ident)


# ----------------------------------------------------------------------------------------------
# Detection


@dataclass
class DetectedFace:
    box: tuple[float, float, float, float]   # x0, y0, x1, y1 in full-image pixels
    score: float                               # detector confidence (Haar: 1.0)
    points: list[list[float]] | None = None    # (4, 2) eye/mouth points (image-left first), if known
    landmarks: np.ndarray | None = None        # (478, 2) mesh, modern detector only (not cached)

    @property
    def size(self) -> float:
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


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
        small, scale = _downscale(rgb, DETECT_MAX_SIDE)
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
        from core.landmarks import FaceLandmarker

        self.mesh = mesh  # fit the 478-point mesh (precise eyes and mouth corners)
        self._lm = FaceLandmarker(max_faces=max_faces, min_confidence=min_confidence)

    def __call__(self, rgb: np.ndarray) -> list[DetectedFace]:
        small, scale = _downscale(rgb, DETECT_MAX_SIDE)
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


def _downscale(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    s = min(1.0, max_side / max(h, w))
    if s >= 1.0:
        return rgb, 1.0
    return cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA), s


_DETECTORS: dict[str, object] = {}
_DETECTORS_LOCK = threading.Lock()


def get_detector(name: str):
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
    pts = transform_points(np.asarray(face.points), matrix).tolist() if face.points is not None else None
    return crop, pts


# ----------------------------------------------------------------------------------------------
# Scanning


@dataclass
class ScanConfig:
    detector: str = "modern"          # "modern" (BlazeFace + mesh), "modern-fast" or "haar" (the study's)
    size: int = 64                    # aligned crop side, one of ALIGN_SIZES
    min_face: int = 32                # minimum face box side in source pixels
    blur_threshold: float = 20.0      # minimum Laplacian variance of the aligned crop
    keep: str = "largest"             # "largest" face per image or "all"
    dup_threshold: int = 6            # pHash Hamming distance at or below which crops are duplicates
    max_pixels: int = DEFAULT_MAX_PIXELS
    use_cache: bool = True

    def validate(self) -> None:
        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, got {self.detector!r}")
        if self.size not in ALIGN_SIZES:
            raise ValueError(f"size must be one of {ALIGN_SIZES}, got {self.size}")
        if self.keep not in ("largest", "all"):
            raise ValueError(f"keep must be 'largest' or 'all', got {self.keep!r}")


@dataclass
class FaceRecord:
    box: list[float]
    score: float
    points: list[list[float]] | None   # eye/mouth points in source pixels (None: box-based crop)
    crop_points: list[list[float]] | None
    blur: float
    phash: str
    kept: bool = False
    reason: str | None = None
    duplicate_of: str | None = None
    crop_file: str | None = None
    crop: np.ndarray | None = field(default=None, repr=False)  # not serialised


@dataclass
class ImageRecord:
    file: str                       # path relative to the scanned root (or the upload name)
    sha1: str = ""
    width: int = 0
    height: int = 0
    grayscale: bool = False
    brightness: float = 0.0         # mean luma 0..255 of the whole image
    contrast: float = 0.0           # luma standard deviation
    reason: str | None = None       # why no face was kept (None when at least one face was kept)
    detail: str = ""
    faces: list[FaceRecord] = field(default_factory=list)
    cached: bool = False

    @property
    def kept_faces(self) -> list[FaceRecord]:
        return [f for f in self.faces if f.kept]

    def to_json(self) -> dict:
        d = asdict(self)
        for f in d["faces"]:
            f.pop("crop", None)
        return d


def _cache_path(sha1: str, cfg: ScanConfig, cache_dir: Path) -> Path:
    return cache_dir / f"v{CACHE_VERSION}-{cfg.detector}-{cfg.size}" / sha1[:2] / f"{sha1}.fc"


_CACHE_MAGIC = b"FCC1"


def _detect_and_align(rec: ImageRecord, rgb: np.ndarray, cfg: ScanConfig) -> None:
    """Detect, align and measure the faces of a decoded image into ``rec`` (no quality decisions)."""
    for det in get_detector(cfg.detector)(rgb):
        crop, crop_pts = crop_face(rgb, det, cfg.size)
        rec.faces.append(FaceRecord(box=[round(v, 2) for v in det.box], score=round(det.score, 4),
                                    points=det.points, crop_points=crop_pts, blur=round(blur_score(crop), 2),
                                    phash=f"{phash(crop):016x}", crop=crop))


def _save_cache(path: Path, rec: ImageRecord) -> None:
    """One small file per image: magic, JSON length, JSON record, raw crop bytes (fast to read back)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps(rec.to_json()).encode()
    crops = b"".join(np.ascontiguousarray(f.crop).tobytes() for f in rec.faces)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(_CACHE_MAGIC + len(meta).to_bytes(4, "little") + meta + crops)
    os.replace(tmp, path)


def _load_cache(path: Path, name: str, size: int) -> ImageRecord | None:
    try:
        blob = path.read_bytes()
        if blob[:4] != _CACHE_MAGIC:
            return None
        n = int.from_bytes(blob[4:8], "little")
        d = json.loads(blob[8:8 + n])
        faces = [FaceRecord(**{k: v for k, v in f.items() if k != "crop"}) for f in d.pop("faces")]
        crops = np.frombuffer(blob, np.uint8, offset=8 + n).reshape(len(faces), size, size, 3)
    except Exception:  # a damaged cache entry is just recomputed
        return None
    for f, c in zip(faces, crops, strict=True):
        f.crop = c
    d["file"] = name
    d.pop("cached", None)
    return ImageRecord(**d, faces=faces, cached=True)


def _prepare(name: str, read: Callable[[], bytes], cfg: ScanConfig, cache_root: Path
             ) -> tuple[ImageRecord, np.ndarray | None, Path | None]:
    """Stage 1 (runs ahead in a thread): read, hash, cache lookup, decode.

    Returns (record, decoded RGB still needing detection or None, cache path to fill or None).
    """
    try:
        data = read()
    except OSError as e:
        return ImageRecord(file=name, reason=R_CORRUPT, detail=f"unreadable: {e}"), None, None
    sha1 = hashlib.sha1(data).hexdigest()
    path = _cache_path(sha1, cfg, cache_root) if cfg.use_cache else None
    if path is not None and path.exists():
        rec = _load_cache(path, name, cfg.size)
        if rec is not None:
            return rec, None, None
    rec = ImageRecord(file=name, sha1=sha1)
    try:
        rgb, rec.grayscale = load_image(data, cfg.max_pixels)
    except ImageRejected as e:
        rec.reason, rec.detail = e.reason, e.detail
        return rec, None, path
    rec.height, rec.width = rgb.shape[:2]
    luma = cv2.cvtColor(_downscale(rgb, 256)[0], cv2.COLOR_RGB2GRAY)
    rec.brightness, rec.contrast = float(luma.mean()), float(luma.std())
    return rec, rgb, path


def _decide(rec: ImageRecord, cfg: ScanConfig, dups: DuplicateIndex) -> None:
    """Apply quality rules and duplicate detection in place (cheap; rerun for every scan)."""
    if rec.reason in (R_EMPTY, R_NOT_IMAGE, R_CORRUPT, R_TOO_LARGE):
        return
    rec.reason = None
    if not rec.faces:
        rec.reason = R_NO_FACE
        return
    rec.faces.sort(key=lambda f: -min(f.box[2] - f.box[0], f.box[3] - f.box[1]))
    for i, f in enumerate(rec.faces):
        f.kept, f.reason, f.duplicate_of = False, None, None
        side = min(f.box[2] - f.box[0], f.box[3] - f.box[1])
        if cfg.keep == "largest" and i > 0:
            f.reason = R_EXTRA
        elif side < cfg.min_face:
            f.reason = R_SMALL
        elif f.blur < cfg.blur_threshold:
            f.reason = R_BLURRY
        else:
            h = int(f.phash, 16)
            other = dups.find(h)
            if other is not None:
                f.reason, f.duplicate_of = R_DUPLICATE, other
            else:
                f.kept = True
                dups.add(h, f"{rec.file}#{i}")
    if not rec.kept_faces:
        rec.reason = rec.faces[0].reason


def iter_files(root: str | os.PathLike) -> list[Path]:
    """Image-like files under ``root`` (recursive, sorted, hidden files skipped).

    Files are picked by extension, so a text file named ``.jpg`` is scanned and reported rather than
    silently ignored.
    """
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


ProgressFn = Callable[[int, int, "ImageRecord"], None]


def iter_scan(files: Iterable[tuple[str, Callable[[], bytes]]], cfg: ScanConfig,
              cache_dir: str | os.PathLike | None = None, prefetch: int = 2) -> Iterator[ImageRecord]:
    """Stream :class:`ImageRecord` s for (name, read_bytes) pairs.

    Reading, hashing and decoding run ``prefetch`` images ahead in one helper thread (Pillow and
    OpenCV release the GIL) while detection runs here, so at most ``prefetch + 1`` decoded images are
    in memory at any time.
    """
    from concurrent.futures import ThreadPoolExecutor

    cfg.validate()
    cache_root = Path(cache_dir) if cache_dir is not None else CACHE_DIR / "faces"
    dups = DuplicateIndex(cfg.dup_threshold)
    it = iter(files)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-prefetch") as pool:
        pending = []
        for item in it:
            pending.append(pool.submit(_prepare, *item, cfg, cache_root))
            if len(pending) > prefetch:
                break
        while pending:
            rec, rgb, path = pending.pop(0).result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(_prepare, *nxt, cfg, cache_root))
            if rgb is not None:
                _detect_and_align(rec, rgb, cfg)
                del rgb
            if path is not None:
                try:
                    _save_cache(path, rec)
                except OSError:
                    pass  # a read-only cache only costs speed
            _decide(rec, cfg, dups)
            yield rec


@dataclass
class ScanResult:
    records: list[ImageRecord]
    seconds: float
    config: ScanConfig

    def summary(self) -> dict:
        rejected = Counter(r.reason for r in self.records if r.reason is not None and r.reason != R_DUPLICATE)
        return {
            "images": len(self.records),
            "faces_kept": sum(len(r.kept_faces) for r in self.records),
            "rejected": dict(sorted(rejected.items())),
            "duplicates": sum(1 for r in self.records for f in r.faces if f.reason == R_DUPLICATE),
            "seconds": round(self.seconds, 3),
        }

    def kept_crops(self) -> list[tuple[ImageRecord, FaceRecord]]:
        return [(r, f) for r in self.records for f in r.kept_faces]

    def to_json(self) -> dict:
        return {"summary": self.summary(), "config": asdict(self.config),
                "records": [r.to_json() for r in self.records]}


def scan_files(files: list[tuple[str, Callable[[], bytes]]], cfg: ScanConfig | None = None,
               out_dir: str | os.PathLike | None = None, progress: ProgressFn | None = None,
               keep_crops: bool = True, cache_dir: str | os.PathLike | None = None) -> ScanResult:
    """Scan (name, read_bytes) pairs. Kept crops go to ``out_dir`` as PNGs when given; they stay in
    memory only with ``keep_crops`` (turn it off for huge sets so memory stays bounded)."""
    cfg = cfg or ScanConfig()
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    records = []
    for i, rec in enumerate(iter_scan(files, cfg, cache_dir), 1):
        for j, f in enumerate(rec.faces):
            if f.kept and out is not None and f.crop is not None:
                stem = Path(rec.file).with_suffix("").as_posix().replace("/", "__")
                f.crop_file = f"{stem}_face{j}.png"
                cv2.imwrite(str(out / f.crop_file), cv2.cvtColor(f.crop, cv2.COLOR_RGB2BGR))
            if not (keep_crops and f.kept):
                f.crop = None
        records.append(rec)
        if progress is not None:
            progress(i, len(files), rec)
    return ScanResult(records, time.perf_counter() - t0, cfg)


class ScanCancelled(Exception):
    """Raised inside a background scan when the user cancels it."""


class ScanJob:
    """A scan running in a daemon thread, so it survives UI reruns while a registry holds the job.

    Poll ``done``/``total``/``finished``; read ``result`` or ``error`` when finished.
    """

    def __init__(self, files: list[tuple[str, Callable[[], bytes]]], cfg: ScanConfig,
                 cache_dir: str | os.PathLike | None = None, keep_crops: bool = True):
        self.total = len(files)
        self.done = 0
        self.result: ScanResult | None = None
        self.error: str | None = None
        self.started = time.time()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(files, cfg, cache_dir, keep_crops),
                                        daemon=True, name="face-scan")
        self._thread.start()

    def _run(self, files, cfg, cache_dir, keep_crops) -> None:
        try:
            self.result = scan_files(files, cfg, progress=self._progress, keep_crops=keep_crops,
                                     cache_dir=cache_dir)
        except ScanCancelled:
            self.error = "cancelled"
        except Exception as e:  # reported to the UI instead of dying silently in the thread
            self.error = f"{type(e).__name__}: {e}"

    def _progress(self, i: int, n: int, rec: ImageRecord) -> None:
        self.done = i
        if self._cancel.is_set():
            raise ScanCancelled

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    def eta_seconds(self) -> float | None:
        if not self.done:
            return None
        el = time.time() - self.started
        return el / self.done * (self.total - self.done)

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.finished


def folder_sources(root: str | os.PathLike) -> list[tuple[str, Callable[[], bytes]]]:
    root = Path(root)
    base = root if root.is_dir() else root.parent
    return [(p.relative_to(base).as_posix(), p.read_bytes) for p in iter_files(root)]


def scan_folder(root: str | os.PathLike, cfg: ScanConfig | None = None, **kw) -> ScanResult:
    """Scan every image under a folder; see :func:`scan_files` for the keyword arguments."""
    if not Path(root).exists():
        raise FileNotFoundError(f"no such folder: {root}")
    return scan_files(folder_sources(root), cfg, **kw)


# ----------------------------------------------------------------------------------------------
# Ingest: zip archives, uploads, metadata


def _safe_member(name: str) -> bool:
    p = name.replace("\\", "/")
    if p.startswith("/") or (len(p) > 1 and p[1] == ":"):
        return False
    return ".." not in p.split("/")


def extract_zip(archive: str | os.PathLike | bytes, dest: str | os.PathLike,
                max_total_bytes: int = 1 << 30, max_files: int = 20000) -> Path:
    """Extract a zip into ``dest`` after checking it; raise :class:`IngestRefused` with a reason.

    Refuses archives with entries escaping ``dest`` (``../``, absolute paths, drive letters), more than
    ``max_files`` entries, or more than ``max_total_bytes`` uncompressed (checked from the directory
    and again while extracting, since the directory can lie).
    """
    dest = Path(dest)
    src = io.BytesIO(archive) if isinstance(archive, bytes) else archive
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as e:
        raise IngestRefused(f"not a readable zip archive ({e})") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        bad = [i.filename for i in zf.infolist() if not _safe_member(i.filename)]
        if bad:
            raise IngestRefused(f"zip refused: {len(bad)} entr{'y' if len(bad) == 1 else 'ies'} would "
                                f"escape the target folder (e.g. {bad[0]!r})")
        if len(infos) > max_files:
            raise IngestRefused(f"zip refused: {len(infos)} files exceed the limit of {max_files}")
        total = sum(i.file_size for i in infos)
        if total > max_total_bytes:
            raise IngestRefused(f"zip refused: {total / 1e6:.0f} MB uncompressed exceeds the "
                                f"{max_total_bytes / 1e6:.0f} MB cap")
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        written = 0
        for info in infos:
            target = (dest / info.filename).resolve()
            if root not in target.parents:
                raise IngestRefused(f"zip refused: entry {info.filename!r} escapes the target folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as fin, open(target, "wb") as fout:
                while chunk := fin.read(1 << 20):
                    written += len(chunk)
                    if written > max_total_bytes:
                        raise IngestRefused("zip refused: uncompressed size exceeds the cap")
                    fout.write(chunk)
    return dest


def save_uploads(files: Iterable[tuple[str, bytes]], dest: str | os.PathLike) -> Path:
    """Write uploaded (name, bytes) pairs into ``dest`` under their base names (no paths honoured)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        base = Path(name.replace("\\", "/")).name or "upload"
        if base.startswith("."):
            base = "_" + base
        (dest / base).write_bytes(data)
    return dest


METADATA_COLUMNS = {"filename": ("filename", "file", "image", "path"),
                    "name": ("name", "full_name", "fullname"),
                    "occupation": ("occupation", "headline", "title", "job", "role")}


def read_metadata(source: str | os.PathLike | bytes) -> dict[str, dict[str, str]]:
    """Optional metadata CSV -> {file base name: {"name": ..., "occupation": ...}}.

    Column names are matched loosely (e.g. ``headline`` counts as occupation). Raises ValueError with
    a readable message when there is no filename column.
    """
    text = source.decode("utf-8-sig", "replace") if isinstance(source, bytes) else \
        Path(source).read_text(encoding="utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
    pick = {k: next((cols[a] for a in aliases if a in cols), None) for k, aliases in METADATA_COLUMNS.items()}
    if pick["filename"] is None:
        raise ValueError(f"metadata CSV needs a filename column (one of {METADATA_COLUMNS['filename']})")
    out = {}
    for row in reader:
        fname = (row.get(pick["filename"]) or "").strip()
        if fname:
            out[Path(fname).name] = {k: (row.get(pick[k]) or "").strip() if pick[k] else ""
                                     for k in ("name", "occupation")}
    return out


# ----------------------------------------------------------------------------------------------
# Export


def export_training_set(result: ScanResult, dest: str | os.PathLike,
                        metadata: dict[str, dict[str, str]] | None = None) -> Path:
    """Write kept crops as ``dest/images/*.png`` + ``dest/images/manifest.csv`` and ``dest/faces.npz``.

    Returns the ``images`` folder, which is what the DCGAN trainer reads (the .npz sits beside it so a
    trainer scanning that folder does not load every face twice).
    """
    dest = Path(dest)
    img_dir = dest / "images"
    if img_dir.exists():
        shutil.rmtree(img_dir)
    img_dir.mkdir(parents=True)
    metadata = metadata or {}
    crops, rows = [], []
    for n, (rec, face) in enumerate(result.kept_crops()):
        if face.crop is None:
            continue
        fname = f"{n:05d}.png"
        cv2.imwrite(str(img_dir / fname), cv2.cvtColor(face.crop, cv2.COLOR_RGB2BGR))
        meta = metadata.get(Path(rec.file).name, {})
        rows.append({"file": fname, "source": rec.file, "box": json.dumps(face.box), "score": face.score,
                     "blur": face.blur, "aligned": face.points is not None, "name": meta.get("name", ""),
                     "occupation": meta.get("occupation", "")})
        crops.append(face.crop)
    with open(img_dir / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["file", "source", "box", "score", "blur", "aligned", "name",
                                           "occupation"])
        w.writeheader()
        w.writerows(rows)
    size = result.config.size
    arr = np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)
    np.savez_compressed(dest / "faces.npz", images=arr)
    return img_dir


# ----------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.faces", description="Face pipeline")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("scan", help="detect, align and filter the faces of every image in DIR")
    sp.add_argument("dir", type=Path)
    sp.add_argument("--out", type=Path, required=True, help="folder for the aligned crops (PNG)")
    sp.add_argument("--detector", choices=DETECTORS, default="modern")
    sp.add_argument("--size", type=int, choices=ALIGN_SIZES, default=64)
    sp.add_argument("--keep", choices=("largest", "all"), default="largest")
    sp.add_argument("--min-face", type=int, default=32)
    sp.add_argument("--blur", type=float, default=20.0, help="minimum Laplacian variance of a crop")
    sp.add_argument("--dup-threshold", type=int, default=6)
    sp.add_argument("--no-cache", action="store_true")
    sp.add_argument("--cache-dir", type=Path)
    sp.add_argument("--json", action="store_true", help="print one JSON object (records + summary)")
    args = ap.parse_args(argv)
    if not args.dir.exists():
        print(f"error: {args.dir} does not exist", file=sys.stderr)
        return 2
    cfg = ScanConfig(detector=args.detector, size=args.size, keep=args.keep, min_face=args.min_face,
                     blur_threshold=args.blur, dup_threshold=args.dup_threshold, use_cache=not args.no_cache)

    def progress(i: int, n: int, rec: ImageRecord) -> None:
        if not args.json and (i % 50 == 0 or i == n):
            print(f"{i}/{n}", file=sys.stderr, flush=True)

    result = scan_folder(args.dir, cfg, out_dir=args.out, progress=progress, keep_crops=False,
                         cache_dir=args.cache_dir)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        s = result.summary()
        print(f"{s['images']} images, {s['faces_kept']} faces kept, rejected {s['rejected']}, "
              f"{s['duplicates']} duplicates, {s['seconds']:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
