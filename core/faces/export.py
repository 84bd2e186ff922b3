"""Writing crops: collision-free file names, checked PNG writes, and the training-set export.

Every image is encoded in memory with ``cv2.imencode`` and written through
:func:`core.checkpoint.atomic_write_bytes` (temp file, fsync, rename), so a full or read-only folder
raises instead of leaving a missing or truncated file behind a success message. Paths never go through
OpenCV's own file functions, which cannot take names that are not valid UTF-8.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from core.checkpoint import atomic_write_bytes
from core.cli import UserError, describe_os_error
from core.names import safe_name
from core.spreadsheet import csv_bytes

if TYPE_CHECKING:
    from core.faces.scan import ScanResult

# Longest stem kept from a source path (file systems allow 255 bytes per name; leave room for suffixes).
MAX_STEM_CHARS = 120
MANIFEST_COLUMNS = ["file", "source", "box", "score", "blur", "aligned", "name", "occupation"]


def display_name(name: str) -> str:
    """``name`` safe to print or show: bytes that were not UTF-8 (kept as surrogates) become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def safe_stem(relative: str) -> str:
    """A portable file-name stem for a source path: ``a/b.jpg`` -> ``a__b_jpg``.

    The extension stays in the stem so ``face.jpg`` and ``face.png`` differ; characters other than
    letters, digits, ``-`` and ``_`` (including undecodable bytes) become ``_``. Different sources can
    still map to the same stem (``a/b.jpg`` and ``a__b.jpg``); :class:`CropNamer` resolves that.
    """
    parts = [p for p in relative.replace("\\", "/").split("/") if p not in ("", ".")]
    stem = "__".join(safe_name(p, max_chars=len(p), fallback="_") for p in parts) or "image"
    if len(stem) > MAX_STEM_CHARS:
        digest = hashlib.sha1(relative.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        stem = f"{stem[:MAX_STEM_CHARS - 9]}-{digest}"
    return stem


class CropNamer:
    """Hands out crop file names that are unique within one output folder (case-insensitively)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def names(self, source: str, face_indices: Iterable[int]) -> list[str]:
        """One ``{stem}_face{j}.png`` name per face index, none handed out before."""
        indices = list(face_indices)
        stem = safe_stem(source)
        for attempt in range(1, 1_000_000):
            base = stem if attempt == 1 else f"{stem}-{attempt}"
            names = [f"{base}_face{j}.png" for j in indices]
            if not any(n.casefold() in self._used for n in names):
                self._used.update(n.casefold() for n in names)
                return names
        raise RuntimeError(f"no free crop name for {display_name(source)!r}")


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Encode a uint8 HxWx3 RGB image as PNG and write it atomically; raises on any failure.

    An OSError keeps the errno and gains the path, so the CLI says e.g. "no space left" for that file.
    """
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8, \
        f"expected uint8 HxWx3, got {rgb.dtype} {rgb.shape}"
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise UserError(f"could not encode {display_name(Path(path).name)} as PNG")
    write_file(path, buf.tobytes())


def write_file(path: str | os.PathLike, data: bytes) -> None:
    """The one checked write for this package's outputs (atomic; OSError names the file)."""
    try:
        atomic_write_bytes(path, data)
    except OSError as e:
        raise OSError(e.errno, e.strerror or str(e), display_name(os.fspath(path))) from None


def prepare_output_dir(out: str | os.PathLike, what: str = "--out") -> Path:
    """Create ``out`` and prove it takes a file, before any work: one clear error if it cannot."""
    out = Path(out)
    shown = display_name(os.fspath(out))
    if out.exists() and not out.is_dir():
        raise UserError(f"{what} {shown} is a file, not a folder; pass a folder for the crops")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        write_file(probe, b"ok")
        probe.unlink()
    except OSError as e:
        reason = describe_os_error(OSError(e.errno, e.strerror)).split(": ", 1)[-1]
        raise UserError(f"cannot write to {what} {shown}: {reason}") from None
    return out


def next_export_dir(parent: str | os.PathLike, when: float | None = None) -> Path:
    """``parent/faces-<local time>`` that does not exist yet (``-2``, ``-3`` ... within the same second), so
    a new export never replaces an earlier one."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    base = Path(parent) / f"faces-{stamp}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


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
        write_png(img_dir / fname, face.crop)
        meta = metadata.get(Path(rec.file).name, {})
        rows.append({"file": fname, "source": display_name(rec.file), "box": json.dumps(face.box),
                     "score": face.score, "blur": face.blur, "aligned": face.points is not None,
                     "name": meta.get("name", ""), "occupation": meta.get("occupation", "")})
        crops.append(face.crop)
    # File names and metadata come from whoever made the folder: every cell is spreadsheet-safe.
    manifest = csv_bytes(MANIFEST_COLUMNS, ([row[c] for c in MANIFEST_COLUMNS] for row in rows))
    write_file(img_dir / "manifest.csv", manifest)
    size = result.config.size
    arr = np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)
    npz = io.BytesIO()
    np.savez_compressed(npz, images=arr)
    write_file(dest / "faces.npz", npz.getvalue())
    return img_dir
