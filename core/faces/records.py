"""What a scan decides: its configuration, one record per image and per face, and the reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from core import checks
from core.faces.align import ALIGN_SIZES
from core.faces.detection import DETECTORS
from core.image.decode import DEFAULT_MAX_PIXELS, R_CORRUPT, R_EMPTY, R_NOT_IMAGE, R_TOO_LARGE, R_UNSUPPORTED

# Rejection reasons (stable strings: they are JSON keys in the CLI summary and UI filter values). The
# file-level ones (R_EMPTY, R_NOT_IMAGE, R_CORRUPT, R_TOO_LARGE) come from the image reader.
R_NO_FACE = "no face found"
R_SMALL = "face too small"
R_BLURRY = "blurry"
R_DUPLICATE = "duplicate"
R_EXTRA = "not the largest face"
FILE_REASONS = (R_EMPTY, R_NOT_IMAGE, R_CORRUPT, R_TOO_LARGE, R_UNSUPPORTED)
KEEP_MODES = ("largest", "all")
MAX_MIN_FACE = 100_000            # px: no photo the reader accepts has a face side beyond this
MAX_BLUR_THRESHOLD = 1e6          # Laplacian variance of 8-bit pixels stays far below this


@dataclass
class ScanConfig:
    detector: str = "modern"          # "modern" (BlazeFace + mesh), "modern-fast" or "haar" (the study's)
    size: int = 64                    # aligned crop side, one of ALIGN_SIZES
    min_face: int = 32                # minimum face box side in source pixels
    blur_threshold: float = 20.0      # minimum Laplacian variance of the aligned crop
    keep: str = "largest"             # "largest" face per image or "all"
    dup_threshold: int = 6            # pHash Hamming distance at or below which crops are duplicates
    max_pixels: int = DEFAULT_MAX_PIXELS  # decompression-bomb guard for each photo
    use_cache: bool = True            # reuse per-image results stored under the file's SHA-1

    def validate(self) -> None:
        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, got {self.detector!r}")
        if self.size not in ALIGN_SIZES:
            raise ValueError(f"size must be one of {ALIGN_SIZES}, got {self.size}")
        if self.keep not in KEEP_MODES:
            raise ValueError(f"keep must be 'largest' or 'all', got {self.keep!r}")
        if not 0 <= self.min_face <= MAX_MIN_FACE:
            raise ValueError(f"the minimum face size (--min-face) must be 0 to {MAX_MIN_FACE} pixels, "
                             f"got {self.min_face}")
        blur = checks.finite_number(self.blur_threshold)
        if blur is None or not checks.Bound(0, MAX_BLUR_THRESHOLD).admits(blur):
            # NaN would compare False with every sharpness: no crop rejected as blurred, silently
            raise ValueError(f"the blur threshold (--blur) must be a number from 0 to "
                             f"{MAX_BLUR_THRESHOLD:g}, "
                             f"got {self.blur_threshold}")
        if not 0 <= self.dup_threshold <= 64:
            raise ValueError(f"the duplicate threshold counts differing bits of a 64-bit hash: 0..64, "
                             f"got {self.dup_threshold}")
        if not self.max_pixels > 0:
            raise ValueError(f"max_pixels must be positive, got {self.max_pixels}")


@dataclass
class FaceRecord:
    box: list[float]                   # x0, y0, x1, y1 in source pixels
    score: float                       # detector confidence
    points: list[list[float]] | None   # eye/mouth points in source pixels (None: box-based crop)
    crop_points: list[list[float]] | None
    blur: float                        # Laplacian variance of the aligned crop
    phash: str                         # 16 hex digits
    kept: bool = False
    reason: str | None = None
    duplicate_of: str | None = None    # "file#face" of the first copy
    crop_file: str | None = None       # name of the written crop inside the output folder, if any
    crop: np.ndarray | None = field(default=None, repr=False)  # not serialised

    @property
    def side(self) -> float:
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])


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
    detail: str = ""                # more on the reason, or which face was kept when there were several
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
