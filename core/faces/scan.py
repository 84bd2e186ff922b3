"""The scan loop: read, hash, cache lookup and decode ahead in a thread; detect, align and decide here.

Images are streamed one at a time so memory stays bounded, and per-image results are cached on disk
under the SHA-1 of the file's bytes (:mod:`core.faces.cache`) so rescans are near-instant. Quality
decisions (size, blur, duplicates, which face to keep) are cheap and rerun on every scan, so changing a
threshold never needs a re-detection.
"""

from __future__ import annotations

import errno
import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core import CACHE_DIR
from core.faces.cache import cache_path, load_cache, save_cache
from core.faces.detection import crop_face, downscale, get_detector
from core.faces.export import CropNamer, prepare_output_dir, write_png
from core.faces.ingest import folder_sources, skipped_sources
from core.faces.quality import DuplicateIndex, blur_score, phash
from core.faces.records import (
    FILE_REASONS,
    R_BLURRY,
    R_DUPLICATE,
    R_EXTRA,
    R_NO_FACE,
    R_SMALL,
    FaceRecord,
    ImageRecord,
    ScanConfig,
)
from core.image.decode import R_CORRUPT, ImageRejected, load_image

ProgressFn = Callable[[int, int, ImageRecord], None]
Source = tuple[str, Callable[[], bytes]]


def _detect_and_align(rec: ImageRecord, rgb: np.ndarray, cfg: ScanConfig) -> None:
    """Detect, align and measure the faces of a decoded image into ``rec`` (no quality decisions)."""
    for det in get_detector(cfg.detector)(rgb):
        crop, crop_pts = crop_face(rgb, det, cfg.size)
        rec.faces.append(FaceRecord(box=[round(v, 2) for v in det.box], score=round(det.score, 4),
                                    points=det.points, crop_points=crop_pts, blur=round(blur_score(crop), 2),
                                    phash=f"{phash(crop):016x}", crop=crop))


def _prepare(name: str, read: Callable[[], bytes], cfg: ScanConfig, cache_root: Path
             ) -> tuple[ImageRecord, np.ndarray | None, Path | None]:
    """Stage 1 (runs ahead in a thread): read, hash, cache lookup, decode.

    Returns (record, decoded RGB still needing detection or None, cache path to fill or None).
    """
    try:
        data = read()
    except ImageRejected as e:
        return ImageRecord(file=name, reason=e.reason, detail=e.detail), None, None
    except OSError as e:
        return ImageRecord(file=name, reason=R_CORRUPT, detail=f"unreadable: {e.strerror or e}"), None, None
    sha1 = hashlib.sha1(data).hexdigest()
    path = cache_path(sha1, cfg, cache_root) if cfg.use_cache else None
    if path is not None and path.exists():
        rec = load_cache(path, name, cfg.size)
        if rec is not None:
            return rec, None, None
    rec = ImageRecord(file=name, sha1=sha1)
    try:
        rgb, rec.grayscale = load_image(data, cfg.max_pixels)
    except ImageRejected as e:
        rec.reason, rec.detail = e.reason, e.detail
        return rec, None, path
    rec.height, rec.width = rgb.shape[:2]
    luma = cv2.cvtColor(downscale(rgb, 256)[0], cv2.COLOR_RGB2GRAY)
    rec.brightness, rec.contrast = float(luma.mean()), float(luma.std())
    return rec, rgb, path


def _where(f: FaceRecord) -> str:
    return f"{f.side:.0f} px at x={f.box[0]:.0f}, y={f.box[1]:.0f}"


def _decide(rec: ImageRecord, cfg: ScanConfig, dups: DuplicateIndex) -> None:
    """Apply quality rules and duplicate detection in place (cheap; rerun for every scan).

    With several faces in one photo, ``rec.detail`` says which one was kept and where it is.
    """
    if rec.reason in FILE_REASONS:
        return
    rec.reason, rec.detail = None, ""
    if not rec.faces:
        rec.reason = R_NO_FACE
        return
    rec.faces.sort(key=lambda f: -f.side)
    for i, f in enumerate(rec.faces):
        f.kept, f.reason, f.duplicate_of = False, None, None
        if cfg.keep == "largest" and i > 0:
            f.reason = R_EXTRA
        elif f.side < cfg.min_face:
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
    n = len(rec.faces)
    if n > 1 and cfg.keep == "largest":
        first = rec.faces[0]
        if first.kept:
            rec.detail = (f"{n} faces found; kept the largest, face 0 ({_where(first)}); the other "
                          f"{n - 1} not used (keep 'all' to use every face)")
        else:
            rec.detail = (f"{n} faces found; the largest, face 0 ({_where(first)}), was rejected: "
                          f"{first.reason}")
    elif n > 1:
        kept = [str(i) for i, f in enumerate(rec.faces) if f.kept]
        rec.detail = f"{n} faces found; kept {len(kept)}: face {', '.join(kept) or 'none'}"


def iter_scan(files: Iterable[Source], cfg: ScanConfig, cache_dir: str | os.PathLike | None = None,
              prefetch: int = 2) -> Iterator[ImageRecord]:
    """Stream :class:`ImageRecord` s for (name, read_bytes) pairs.

    Reading, hashing and decoding run ``prefetch`` images ahead in one helper thread (Pillow and
    OpenCV release the GIL) while detection runs here, so at most ``prefetch + 1`` decoded images are
    in memory at any time.
    """
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
                    save_cache(path, rec)
                except OSError:
                    pass  # a read-only or full cache only costs speed
            _decide(rec, cfg, dups)
            yield rec


@dataclass
class ScanResult:
    records: list[ImageRecord]
    seconds: float
    config: ScanConfig
    # Files seen but not read as photos (a clip, a document...): (name, reason), so the summary counts
    # every file of the folder and names each one it left out.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> dict:
        rejected = Counter(r.reason for r in self.records if r.reason is not None and r.reason != R_DUPLICATE)
        return {
            "files": len(self.records) + len(self.skipped),
            "skipped": len(self.skipped),
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
                "records": [r.to_json() for r in self.records],
                "skipped_files": [{"file": f, "reason": why} for f, why in self.skipped]}


def scan_files(files: list[Source], cfg: ScanConfig | None = None, out_dir: str | os.PathLike | None = None,
               progress: ProgressFn | None = None, keep_crops: bool = True,
               cache_dir: str | os.PathLike | None = None) -> ScanResult:
    """Scan (name, read_bytes) pairs.

    Kept crops go to ``out_dir`` as PNGs when given, under names unique within the folder (each face's
    ``crop_file``); every write is checked, so a failure raises instead of being reported as written.
    Crops stay in memory only with ``keep_crops`` (turn it off for huge sets so memory stays bounded).
    """
    cfg = cfg or ScanConfig()
    cfg.validate()
    out = prepare_output_dir(out_dir) if out_dir is not None else None
    namer = CropNamer()
    t0 = time.perf_counter()
    records = []
    for i, rec in enumerate(iter_scan(files, cfg, cache_dir), 1):
        kept = [j for j, f in enumerate(rec.faces) if f.kept and f.crop is not None]
        if out is not None and kept:
            for j, name in zip(kept, namer.names(rec.file, kept), strict=True):
                write_png(out / name, rec.faces[j].crop)
                rec.faces[j].crop_file = name
        for f in rec.faces:
            if not (keep_crops and f.kept):
                f.crop = None
        records.append(rec)
        if progress is not None:
            progress(i, len(files), rec)
    return ScanResult(records, time.perf_counter() - t0, cfg)


def scan_folder(root: str | os.PathLike, cfg: ScanConfig | None = None, **kw) -> ScanResult:
    """Scan every image under a folder; see :func:`scan_files` for the keyword arguments."""
    if not Path(root).exists():
        raise FileNotFoundError(errno.ENOENT, "no such folder", os.fspath(root))
    result = scan_files(folder_sources(root), cfg, **kw)
    result.skipped = skipped_sources(root)
    return result
