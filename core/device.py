"""One device choice for every model family: CUDA, then Apple's MPS, then the CPU.

The choice can be overridden, strongest first, by an explicit request (a ``--device`` flag, the studio's
sidebar), then the ``CUSTOM_CAST_DEVICE`` environment variable, then the automatic order. Values:
``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``. A request for a device this machine lacks is a
:class:`DeviceError` with one plain sentence (the CLIs print it as their one line).

:func:`run_with_cpu_fallback` runs work on the chosen device and, when the device fails mid-way (CUDA out
of memory, a lost or broken GPU, an MPS op it cannot run), says so in one line and runs it again on the CPU;
callers pass a function that rebuilds its inputs for a device, so nothing is lost.

This module imports torch lazily so torch-free pages and tools can use :func:`describe`'s words.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch

ENV_VAR = "CUSTOM_CAST_DEVICE"
CHOICES = ("auto", "cuda", "mps", "cpu")
T = TypeVar("T")


class DeviceError(ValueError):
    """A requested device this machine does not have (or a malformed request)."""


@dataclass(frozen=True)
class DeviceChoice:
    device: str          # 'cpu', 'cuda', 'cuda:1', 'mps'
    source: str          # 'requested', 'environment' or 'automatic'

    @property
    def type(self) -> str:
        return self.device.split(":")[0]


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available() -> list[str]:
    """The device kinds this machine can run on, in the automatic order."""
    import torch

    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    return found + ["cpu"]


def _check(name: str, source: str) -> str:
    import torch

    text = name.strip().lower()
    kind, _, index = text.partition(":")
    if kind not in CHOICES or (index and (kind != "cuda" or not index.isdigit())):
        where = f" (from {ENV_VAR})" if source == "environment" else ""
        raise DeviceError(f"unknown device {name!r}{where}; choose auto, cuda, cuda:N, mps or cpu")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("no CUDA GPU is available on this machine (asked for "
                              f"{name!r}{' in ' + ENV_VAR if source == 'environment' else ''}); "
                              "use --device cpu or auto")
        if index and int(index) >= torch.cuda.device_count():
            raise DeviceError(f"there is no GPU {index}: this machine has {torch.cuda.device_count()}")
    if kind == "mps" and not _mps_available():
        raise DeviceError(f"Apple's MPS is not available on this machine (asked for {name!r}); "
                          "use --device cpu or auto")
    return text


def choose_device(requested: str | None = None) -> DeviceChoice:
    """The device to run on: ``requested`` (unless None or 'auto'), else ``$CUSTOM_CAST_DEVICE`` (unless
    empty or 'auto'), else CUDA, then MPS, then the CPU."""
    if requested and requested.strip().lower() != "auto":
        return DeviceChoice(_check(requested, "requested"), "requested")
    env = os.environ.get(ENV_VAR, "").strip()
    if env and env.lower() != "auto":
        return DeviceChoice(_check(env, "environment"), "environment")
    return DeviceChoice(available()[0], "automatic")


def torch_device(choice: DeviceChoice | str | None = None) -> torch.device:
    import torch

    if not isinstance(choice, DeviceChoice):
        choice = choose_device(choice)
    return torch.device(choice.device)


def precision_for(device_type: str, uses_half: bool) -> str:
    """'fp16 mixed' where a network's official release runs its top layers in fp16 on a GPU (StyleGAN2's
    ``num_fp16_res`` blocks, with ``conv_clamp``), else 'fp32'."""
    return "fp16 mixed" if device_type == "cuda" and uses_half else "fp32"


def device_name(device: str) -> str:
    """Plain words for a device: 'the graphics card (NVIDIA H100)', 'the Apple GPU', 'the processor'."""
    kind = device.split(":")[0]
    if kind == "cuda":
        try:
            import torch

            index = int(device.split(":")[1]) if ":" in device else 0
            return f"the graphics card ({torch.cuda.get_device_name(index)})"
        except Exception:  # noqa: BLE001 -- words only; a driver hiccup must not break a page
            return "the graphics card"
    if kind == "mps":
        return "the Apple GPU"
    return f"the processor ({os.cpu_count() or 1} cores)"


def describe(device: str, precision: str) -> str:
    """One sentence for the room: where and how precisely the pictures are drawn."""
    words = {"fp32": "full precision", "fp16 mixed": "half precision in the layers trained for it",
             "bf16": "reduced precision (bfloat16)", "fast-fp32": "full precision, fast renderer",
             "fast-bf16": "reduced precision (bfloat16), fast renderer",
             "reference": "full precision", "device": "full precision"}
    return f"Drawing on {device_name(device)}, {words.get(precision, precision)}."


def is_device_failure(error: BaseException) -> bool:
    """Whether ``error`` is a device giving out (out of memory, a lost GPU, an op MPS lacks) rather than
    a bug in the caller: those are worth retrying on the CPU."""
    import torch

    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    if isinstance(error, (RuntimeError, NotImplementedError)):
        text = str(error).lower()
        return any(k in text for k in ("out of memory", "cuda", "cudnn", "cublas", "mps", "device-side",
                                       "hip error", "no kernel image"))
    return False


def run_with_cpu_fallback(work: Callable[[str], T], device: str,
                          warn: Callable[[str], Any] | None = None) -> tuple[T, str]:
    """``work(device)``; if the device fails mid-way, one line to ``warn`` (stderr by default) and
    ``work('cpu')``. Returns (result, the device that produced it)."""
    if device == "cpu":
        return work("cpu"), "cpu"
    try:
        return work(device), device
    except Exception as e:  # noqa: BLE001 -- filtered just below; anything else re-raises
        if not is_device_failure(e):
            raise
        reason = "ran out of memory" if "out of memory" in str(e).lower() else "failed"
        line = (f"{device_name(device)} {reason} ({' '.join(str(e).split())[:120]}); "
                "continuing on the processor")
        (warn or (lambda s: print(s, file=sys.stderr)))(line)
        _free_cache(device)
        return work("cpu"), "cpu"


def _free_cache(device: str) -> None:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()


def add_device_argument(parser: Any) -> None:
    """The ``--device`` flag every command that runs a model shares."""
    parser.add_argument("--device", default=None,
                        help=f"auto (CUDA, then MPS, then CPU), cuda, cuda:N, mps or cpu; default "
                             f"${ENV_VAR} or auto")


def has_bf16_units(device: str = "cpu") -> bool:
    """Whether bf16 runs natively on ``device``: a CUDA GPU that supports it, or a CPU with bf16 units that
    oneDNN uses (AVX512-BF16 / AMX). Elsewhere bf16 is emulated, far slower than fp32, and some oneDNN
    kernels refuse it outright ("could not create a primitive descriptor")."""
    import torch

    if str(device).startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if str(device) != "cpu":
        return False
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
