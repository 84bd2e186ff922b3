"""Per-image scan cache: one small file per photo, keyed by the SHA-1 of its bytes, so rescans are fast.

A file holds a magic tag, the JSON record's length, the JSON record and the raw crop bytes, which read
back without decoding any image. Writes are atomic (temp file, fsync, rename) so a crash or a full
disk never leaves a half-written entry; a damaged entry is simply recomputed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.checkpoint import atomic_write_bytes
from core.faces.records import FaceRecord, ImageRecord, ScanConfig

# Bump when the cached record layout or the detection/alignment maths change.
CACHE_VERSION = 1
_CACHE_MAGIC = b"FCC1"


def cache_path(sha1: str, cfg: ScanConfig, cache_dir: Path) -> Path:
    return cache_dir / f"v{CACHE_VERSION}-{cfg.detector}-{cfg.size}" / sha1[:2] / f"{sha1}.fc"


def save_cache(path: Path, rec: ImageRecord) -> None:
    """Store a record with its crops; raises OSError when the cache folder cannot be written."""
    meta = json.dumps(rec.to_json()).encode()
    crops = b"".join(np.ascontiguousarray(f.crop).tobytes() for f in rec.faces)
    atomic_write_bytes(path, _CACHE_MAGIC + len(meta).to_bytes(4, "little") + meta + crops)


def load_cache(path: Path, name: str, size: int) -> ImageRecord | None:
    """The cached record of ``path`` renamed to ``name``, or None when missing or damaged."""
    try:
        blob = path.read_bytes()
        if blob[:4] != _CACHE_MAGIC:
            return None
        n = int.from_bytes(blob[4:8], "little")
        d = json.loads(blob[8:8 + n])
        faces = [FaceRecord(**{k: v for k, v in f.items() if k != "crop"}) for f in d.pop("faces")]
        crops = np.frombuffer(blob, np.uint8, offset=8 + n).reshape(len(faces), size, size, 3)
        d["file"] = name
        d.pop("cached", None)
        rec = ImageRecord(**d, faces=faces, cached=True)
    except Exception:  # noqa: BLE001 - any damage (bad JSON, short file, stale layout) means recompute
        return None
    for f, c in zip(faces, crops, strict=True):
        f.crop = c
    return rec
