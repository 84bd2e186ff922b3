"""The one upload store: bytes a browser sent, kept on disk under a name derived from their content.

Reruns of a page get the same file back for the same bytes (no second copy, no re-decoding), two
uploads with the same name but different content never overwrite each other, and a file is written
atomically, so a reader never sees half an upload.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from core.checkpoint import atomic_write_bytes

DIGEST_CHARS = 16
MAX_SUFFIX_CHARS = 12


def content_name(data: bytes, original_name: str, default_suffix: str = "") -> str:
    """``<sha256 prefix><suffix>``: the suffix is the original's, lower-cased and reduced to [a-z0-9.]."""
    suffix = Path(original_name or "").suffix.lower()
    if not re.fullmatch(rf"\.[a-z0-9]{{1,{MAX_SUFFIX_CHARS - 1}}}", suffix):
        suffix = default_suffix
    return hashlib.sha256(data).hexdigest()[:DIGEST_CHARS] + suffix


def store_upload(data: bytes, original_name: str, folder: str | os.PathLike,
                 default_suffix: str = "") -> Path:
    """The stored copy of ``data`` in ``folder`` (written once, atomically; reused on later calls)."""
    folder = Path(folder)
    path = folder / content_name(data, original_name, default_suffix)
    if not (path.is_file() and path.stat().st_size == len(data)):
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    return path
