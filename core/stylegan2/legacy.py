"""Safe reading of NVIDIA's official StyleGAN2-ADA network pickles (the role of the official ``legacy.py``).

An official ``.pkl`` holds ``torch_utils.persistence`` objects whose ``module_src`` is Python source the
official loader executes. Here a restricted unpickler rebuilds only tensors and plain containers from an
allow-list; the embedded source is dropped unread and any other global (``os.system``, ``eval``, a
network class...) is refused before it is looked up, so nothing from the file ever runs.
"""

from __future__ import annotations

import io
import os
import pickle
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint import CheckpointError, describe_bytes


class UnsafePickleError(CheckpointError):
    """A pickle asked for a Python object outside the allow-list; nothing from it was run."""


@dataclass
class PersistentObject:
    """What an official ``torch_utils.persistence`` object becomes here: its class name and state.

    The embedded ``module_src`` (Python source the official loader would execute) is dropped unread.
    """

    class_name: str
    version: int | None
    state: dict


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("state"), dict):
        raise UnsafePickleError("The network pickle holds a persistent object of an unknown layout.")
    return PersistentObject(class_name=str(meta.get("class_name")), version=meta.get("version"),
                            state=meta["state"])


def _load_storage_from_bytes(payload: bytes) -> Any:
    # The payload is a legacy torch.save stream of one storage; weights_only keeps it code-free too.
    if not isinstance(payload, (bytes, bytearray)):
        raise UnsafePickleError("A tensor storage in the network pickle is not raw bytes.")
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)


class _PlainDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``: a dict with attribute reads, nothing else."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setstate__(self, state: Any) -> None:  # EasyDict keeps its data in the dict items
        pass


def _numpy_scalar() -> Any:
    core = getattr(np, "_core", None)
    multiarray = getattr(core, "multiarray", None) if core is not None else None
    if multiarray is None or not hasattr(multiarray, "scalar"):
        multiarray = np.core.multiarray
    return multiarray.scalar


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,           # pickles written with protocol < 4 spell sets this way
    ("builtins", "frozenset"): frozenset,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "scalar"): None,   # resolved lazily: numpy 1.x vs 2.x module names
    ("numpy._core.multiarray", "scalar"): None,
    ("dnnlib.util", "EasyDict"): _PlainDict,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for official StyleGAN2-ADA network pickles that never imports or runs their code.

    ``find_class`` answers only from :data:`_ALLOWED_GLOBALS`; any other global (``os.system``,
    ``builtins.eval``, a network class, ...) raises :class:`UnsafePickleError` before it is looked up.
    """

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if module.startswith("dnnlib.tflib"):
            raise UnsafePickleError(
                "This is a TensorFlow StyleGAN2 network pickle (dnnlib.tflib). Convert it to the PyTorch "
                "format with the official stylegan2-ada-pytorch `legacy.py`, or download the PyTorch "
                "release (`python -m core.stylegan2 list`).")
        if key not in _ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"Refused to load: the file asks for the Python object '{module}.{name}', which is not a "
                "tensor or plain container. Network pickles can carry code; this loader only rebuilds "
                "weights, so nothing from the file was run.")
        obj = _ALLOWED_GLOBALS[key]
        return _numpy_scalar() if obj is None else obj

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("Refused to load: the pickle uses persistent ids (not an official "
                                "StyleGAN2-ADA network pickle).")


_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def require_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it is an existing, non-empty file; else a CheckpointError saying what it is."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a network file; pass the .pkl or .pt file inside it.")
    if not path.exists():
        raise CheckpointError(f"File not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a regular file.")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path.name} is empty (0 bytes).")
    return path


def load_network_pickle(path: str | os.PathLike) -> dict:
    """Parse an official network pickle safely. Networks come back as :class:`PersistentObject`."""
    path = require_file(path)
    data = path.read_bytes()
    if not data.startswith(b"\x80"):
        raise CheckpointError(f"{path.name} is not a StyleGAN2 network pickle ({describe_bytes(data[:16])}).")
    try:
        obj = RestrictedUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, RuntimeError, UnicodeDecodeError, OverflowError, MemoryError) as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        if isinstance(e, EOFError) or "truncated" in detail.lower() or "ran out of input" in detail.lower():
            raise CheckpointError(f"{path.name} is truncated or corrupt (the pickle ends early). "
                                  "Download it again; `python -m core.download get KEY` resumes.") from None
        raise CheckpointError(f"{path.name} is not a readable network pickle ({detail}).") from None
    if isinstance(obj, int) and obj == _TORCH_LEGACY_MAGIC:
        raise LegacyTorchFile()
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path.name} is a pickle of a {type(obj).__name__}, not a network pickle "
                              "(expected a dict with 'G_ema').")
    return obj


class LegacyTorchFile(Exception):
    """Internal signal: the pickle is really a legacy (non-zip) ``torch.save`` file."""


def persistent_state_dict(obj: PersistentObject, prefix: str = "") -> dict[str, torch.Tensor]:
    """Flatten a persistent module's pickled ``__dict__`` tree into a ``state_dict``."""
    state = obj.state
    skip = set(state.get("_non_persistent_buffers_set") or ())
    out: dict[str, torch.Tensor] = {}
    for name, t in (state.get("_parameters") or {}).items():
        if t is not None:
            out[prefix + name] = t.detach()
    for name, t in (state.get("_buffers") or {}).items():
        if t is not None and name not in skip:
            out[prefix + name] = t.detach()
    for name, child in (state.get("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, PersistentObject):
            raise CheckpointError(f"Sub-module '{prefix + name}' has an unexpected type.")
        out.update(persistent_state_dict(child, prefix + name + "."))
    for k, t in out.items():
        if not isinstance(t, torch.Tensor):
            raise CheckpointError(f"Entry '{k}' of the network is not a tensor.")
    return out
