"""The right to animate a real person: the animator asks once per photo, remembered by the photo's hash.

Stored in the user's config folder (``consent.json``: SHA-256 of the photo -> when it was confirmed), never
the photo itself.
"""

from __future__ import annotations

import datetime
import hashlib
import json

from core.checkpoint import atomic_write_bytes
from core.provenance.settings import config_dir

MAX_BYTES = 4 << 20


def photo_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load() -> dict:
    path = config_dir() / "consent.json"
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def has_consent(digest: str) -> bool:
    return digest in _load()


def record_consent(digest: str) -> None:
    data = _load()
    data[digest] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    atomic_write_bytes(config_dir() / "consent.json", json.dumps(data, indent=1).encode())
