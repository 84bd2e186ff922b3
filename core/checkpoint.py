"""Checkpoint files: atomic writes and safe reads.

Checkpoints are plain dicts (``{'model': state_dict, 'config': asdict(cfg), 'step': n,
'version': v, ...}``) so that ``torch.load(weights_only=True)`` opens them without running code.
Writes go to a temporary file in the same folder and are renamed over the target, so a crash
mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import errno
import os
import pickle
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:  # torch is imported where it is used: atomic byte writes (job manifests) stay light
    import torch


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, unsafe or of the wrong kind. The message is for users."""


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temp file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600 files; give the result the permissions a plain open() would (umask).
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def publish_file(finished: str | os.PathLike, path: str | os.PathLike) -> None:
    """Move a fully written file (e.g. ffmpeg's or a download's output) over ``path`` atomically.

    For files another program wrote: fsync it, then rename it over the target on the same file system,
    so a reader sees either the old file or the whole new one.
    """
    finished, path = Path(finished), Path(path)
    with open(finished, "rb") as f:
        os.fsync(f.fileno())
    os.chmod(finished, 0o666 & ~_UMASK)
    os.replace(finished, path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file + fsync + rename."""
    _atomic_write(path, lambda f: f.write(data))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` that never leaves a half-written file at ``path``."""
    import torch

    try:
        _atomic_write(path, lambda f: torch.save(obj, f))
    except RuntimeError as e:
        # torch's zip writer reports a full disk as a RuntimeError ("... file write failed"); name it.
        if _disk_full(Path(path).parent):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from None
        raise RuntimeError(f"could not write {Path(path).name}: {str(e).splitlines()[0]}") from None


def _disk_full(folder: Path, needed: int = 1 << 20) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < needed


def safe_torch_load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)`` with every failure turned into a :class:`CheckpointError`."""
    import torch

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
        first = _first_line_without_unsafe_advice(str(e))
        if "global" in str(e).lower():
            raise CheckpointError(
                f"{path.name} contains Python objects beyond plain tensors, which are refused for "
                f"safety (weights_only loading): {_unsupported_global(str(e)) or first}") from None
        raise CheckpointError(f"{path.name} is not a readable PyTorch checkpoint: {first}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{path.name} is not a readable PyTorch checkpoint: "
                              f"{_first_line_without_unsafe_advice(str(e)) or type(e).__name__}") from None


def _first_line_without_unsafe_advice(message: str) -> str:
    """torch's first line may advise re-running with weights_only=False, which would execute the file's
    code: a user must never be told that, so such a line is replaced by a plain statement."""
    first = message.splitlines()[0].strip() if message.strip() else ""
    if "weights_only" in first.lower() or "weights only" in first.lower():
        return "it holds Python objects beyond tensors and plain containers, refused without being run"
    return first


def describe_bytes(head: bytes) -> str:
    """A guess of what a file is from its first bytes, for error messages."""
    signatures = [(b"\x89PNG", "it is a PNG image"), (b"\xff\xd8\xff", "it is a JPEG image"),
                  (b"GIF8", "it is a GIF image"), (b"PK\x03\x04", "it is a zip archive"),
                  (b"\x1f\x8b", "it is gzip-compressed"), (b"%PDF", "it is a PDF"),
                  (b"RIFF", "it is a RIFF file (WebP image, AVI video or WAV audio)"),
                  (b"\x1a\x45\xdf\xa3", "it is a WebM/MKV video")]
    for magic, what in signatures:
        if head.startswith(magic):
            return what
    if head[4:8] == b"ftyp":
        return "it is an MP4/MOV video"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "it looks like text"
    return "unrecognised content"


def _unsupported_global(message: str) -> str:
    """The object torch refused, e.g. ``it refers to builtins.eval``; never torch's advice around it (to
    allowlist the global "if you trust" it, which would run the file's code)."""
    match = re.search(r"GLOBAL\s+([\w.]+)", message)
    return f"it refers to {match.group(1)}" if match else ""


def require_keys(ckpt: Any, keys: list[str], kind: str, name: str = "checkpoint") -> dict:
    """Check that a loaded checkpoint is a dict with ``keys``; explain what it looks like if not."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{name} is not a {kind} checkpoint (it holds a {type(ckpt).__name__}).")
    missing = [k for k in keys if k not in ckpt]
    if missing:
        found = ", ".join(sorted(map(str, ckpt))[:8]) or "nothing"
        raise CheckpointError(f"{name} is not a {kind} checkpoint: missing {missing}; it has {found}.")
    return ckpt


def check_finite_weights(state: dict, name: str, part: str = "model") -> None:
    """CheckpointError when a floating-point tensor of ``state`` holds NaN or an infinity.

    Such weights (a diverged run, a damaged file) load without complaint and then render black or grey
    pictures that look like success; every loader of every family refuses them here, in one line.
    """
    import torch

    bad = [(k, v) for k, v in state.items()
           if torch.is_tensor(v) and v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        key, first = bad[0]
        count = int((~torch.isfinite(first)).sum())
        more = f" and {len(bad) - 1} more tensor(s)" if len(bad) > 1 else ""
        raise CheckpointError(f"{name}: the '{part}' weights are broken: {count} NaN or infinite value(s) in "
                              f"'{part}.{key}'{more}. The file cannot render anything; use another "
                              "checkpoint (a diverged training run saves such weights).")


def load_state_strict(module: torch.nn.Module, state: Any, name: str, part: str = "model",
                      hint: str = "") -> torch.nn.Module:
    """Load ``state`` into ``module`` only if every tensor name and shape matches; else a CheckpointError.

    Checked before ``load_state_dict`` so the user sees which names or shapes differ (and ``hint``,
    e.g. which config goes with the file) instead of torch's multi-line report. BatchNorm step
    counters absent from old exports are filled from the module, as they do not affect inference.
    """
    import torch

    if not isinstance(state, dict):
        raise CheckpointError(f"{name}: '{part}' is not a state dict (it holds a {type(state).__name__}).")
    own = module.state_dict()
    state = dict(state)
    for key in own:
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = own[key]
    not_tensors = [k for k, v in state.items() if not torch.is_tensor(v)]
    if not_tensors:
        raise CheckpointError(f"{name}: '{part}.{not_tensors[0]}' is not a tensor.")
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
             if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or wrong:
        groups = (("missing", missing), ("unexpected", unexpected), ("with another shape", wrong))
        details = "; ".join(f"{len(v)} {label}, e.g. {v[:3]}" for label, v in groups if v)
        raise CheckpointError(f"{name}: the '{part}' weights do not fit this architecture ({details})."
                              + (f" {hint}" if hint else ""))
    check_finite_weights(state, name, part)
    module.load_state_dict({k: v.to(own[k].dtype) if v.is_floating_point() else v for k, v in state.items()},
                           strict=True)
    return module
