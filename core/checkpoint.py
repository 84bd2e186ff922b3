"""Checkpoint files: atomic writes and safe reads.

Checkpoints are plain dicts (``{'model': state_dict, 'config': asdict(cfg), 'step': n,
'version': v, ...}``) so that ``torch.load(weights_only=True)`` opens them without running code.
Writes go to a temporary file in the same folder and are renamed over the target, so a crash
mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, unsafe or of the wrong kind. The message is for users."""


def _atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temp file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file + fsync + rename."""
    _atomic_write(path, lambda f: f.write(data))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` that never leaves a half-written file at ``path``."""
    _atomic_write(path, lambda f: torch.save(obj, f))


def safe_torch_load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)`` with every failure turned into a :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"Checkpoint is empty (0 bytes): {path.name}")
    with open(path, "rb") as f:
        head = f.read(8)
    # torch.save writes a zip archive (PK..) or, before PyTorch 1.6, a raw pickle (protocol byte 0x80).
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):
        raise CheckpointError(f"{path.name} is not a PyTorch checkpoint ({describe_bytes(head)}).")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).splitlines()[0] if str(e) else ""
        if "global" in str(e).lower():
            raise CheckpointError(
                f"{path.name} contains Python objects beyond plain tensors, which are refused for "
                f"safety (weights_only loading): {_unsupported_global(str(e)) or first}") from None
        raise CheckpointError(f"{path.name} is not a readable PyTorch checkpoint: {first}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{path.name} is not a readable PyTorch checkpoint: "
                              f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def describe_bytes(head: bytes) -> str:
    """A guess of what a file is from its first bytes, for error messages."""
    signatures = [(b"\x89PNG", "it is a PNG image"), (b"\xff\xd8\xff", "it is a JPEG image"),
                  (b"GIF8", "it is a GIF image"), (b"PK\x03\x04", "it is a zip archive"),
                  (b"\x1f\x8b", "it is gzip-compressed"), (b"%PDF", "it is a PDF")]
    for magic, what in signatures:
        if head.startswith(magic):
            return what
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "it looks like text"
    return "unrecognised content"


def _unsupported_global(message: str) -> str:
    for line in message.splitlines():
        if "Unsupported global" in line or "GLOBAL" in line:
            return line.strip()
    return ""


def require_keys(ckpt: Any, keys: list[str], kind: str, name: str = "checkpoint") -> dict:
    """Check that a loaded checkpoint is a dict with ``keys``; explain what it looks like if not."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{name} is not a {kind} checkpoint (it holds a {type(ckpt).__name__}).")
    missing = [k for k in keys if k not in ckpt]
    if missing:
        found = ", ".join(sorted(map(str, ckpt))[:8]) or "nothing"
        raise CheckpointError(f"{name} is not a {kind} checkpoint: missing {missing}; it has {found}.")
    return ckpt
