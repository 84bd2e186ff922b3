"""Generator configuration: the :class:`GeneratorConfig` record and its validation against sane bounds.

A config comes from a checkpoint's ``config`` or an official pickle's ``_init_kwargs``, i.e. from a
file the user picked. Every field is checked here before a single tensor is allocated, so a
``z_dim`` of 10^6, a resolution of 2^20 or a negative channel count is one clear
:class:`~core.checkpoint.CheckpointError` instead of a 4 TB allocation or a division by zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core import checks
from core.checkpoint import CheckpointError
from core.checks import shown
from core.stylegan2.ops import ACTIVATIONS

MAX_LATENT = 4096          # z_dim / w_dim / hidden widths (releases use 512)
MAX_CLASSES = 10_000       # c_dim
MIN_RESOLUTION, MAX_RESOLUTION = 4, 2048
MAX_CHANNELS = 2048        # channel_max (releases use 512)
MAX_CHANNEL_BASE = 2 ** 20  # channel_base (releases use 16384 or 32768)
MAX_MAPPING_LAYERS = 32    # releases use 8 (2 in the project's small models)

GENERATOR_KEYS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs",
                  "synthesis_kwargs")
MAPPING_KEYS = {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier",
                "w_avg_beta"}
SYNTHESIS_KEYS = {"channel_base", "channel_max", "num_fp16_res", "conv_clamp", "architecture",
                  "resample_filter", "use_noise", "fp16_channels_last", "activation", "kernel_size",
                  "channels_last"}


@dataclass
class GeneratorConfig:
    """Constructor arguments of :class:`~core.stylegan2.networks.Generator` (``config`` in checkpoints)."""

    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = 1024
    img_channels: int = 3
    mapping_kwargs: dict | None = None
    synthesis_kwargs: dict | None = None


def plain_kwargs(obj: Any) -> Any:
    """Deep copy into builtins: dict subclasses -> dict, tuples -> lists, numpy scalars -> Python.

    Keeps project checkpoints loadable with ``weights_only=True`` when kwargs came from a pickle.
    """
    if isinstance(obj, dict):
        return {str(k): plain_kwargs(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain_kwargs(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def check_int(value: Any, name: str, lo: int, hi: int, error: type[ValueError] = CheckpointError) -> int:
    return checks.check_int(value, name, lo, hi, error=error)


def check_float(value: Any, name: str, lo: float, hi: float, error: type[ValueError] = CheckpointError,
                open_low: bool = False) -> float:
    return checks.check_float(value, name, lo, hi, error=error, open_low=open_low)


def check_choice(value: Any, name: str, choices: tuple | set,
                 error: type[ValueError] = CheckpointError) -> Any:
    return checks.check_choice(value, name, choices, error=error)


def check_bool(value: Any, name: str, error: type[ValueError] = CheckpointError) -> bool:
    return checks.check_bool(value, name, error=error)


def is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _check_mapping(kw: dict) -> None:
    if "num_layers" in kw:
        check_int(kw["num_layers"], "mapping_kwargs.num_layers", 1, MAX_MAPPING_LAYERS)
    for key in ("embed_features", "layer_features"):
        if kw.get(key) is not None:
            check_int(kw[key], f"mapping_kwargs.{key}", 1, MAX_LATENT)
    if "activation" in kw:
        check_choice(kw["activation"], "mapping_kwargs.activation", ACTIVATIONS)
    if "lr_multiplier" in kw:
        check_float(kw["lr_multiplier"], "mapping_kwargs.lr_multiplier", 0, 1000, open_low=True)
    if kw.get("w_avg_beta") is not None:
        check_float(kw["w_avg_beta"], "mapping_kwargs.w_avg_beta", 0, 1)


def _check_synthesis(kw: dict, resolution: int) -> None:
    base = check_int(kw.get("channel_base", 32768), "synthesis_kwargs.channel_base", 1, MAX_CHANNEL_BASE)
    check_int(kw.get("channel_max", 512), "synthesis_kwargs.channel_max", 1, MAX_CHANNELS)
    if base < resolution:  # channels at the top block would be base // resolution = 0
        raise CheckpointError(f"'synthesis_kwargs.channel_base' = {base} leaves no channels at "
                              f"{resolution} px (it must be at least the resolution)")
    if "num_fp16_res" in kw:
        check_int(kw["num_fp16_res"], "synthesis_kwargs.num_fp16_res", 0, 16)
    if kw.get("conv_clamp") is not None:
        check_float(kw["conv_clamp"], "synthesis_kwargs.conv_clamp", 0, 1e9, open_low=True)
    if "architecture" in kw and kw["architecture"] != "skip":
        raise CheckpointError(f"only the 'skip' generator architecture is supported, not "
                              f"{shown(kw['architecture'])}")
    if "resample_filter" in kw:
        taps = kw["resample_filter"]
        if (not isinstance(taps, (list, tuple)) or not 1 <= len(taps) <= 16
                or any(checks.finite_number(t) is None for t in taps) or sum(taps) == 0):
            raise CheckpointError(f"'synthesis_kwargs.resample_filter' = {shown(taps)} is not a list of "
                                  "1-16 finite filter taps with a non-zero sum")
    for key in ("use_noise", "fp16_channels_last", "channels_last"):
        if key in kw:
            check_bool(kw[key], f"synthesis_kwargs.{key}")
    if "activation" in kw:
        check_choice(kw["activation"], "synthesis_kwargs.activation", ACTIVATIONS)
    if "kernel_size" in kw:
        k = check_int(kw["kernel_size"], "synthesis_kwargs.kernel_size", 1, 7)
        if k % 2 == 0:
            raise CheckpointError(f"'synthesis_kwargs.kernel_size' = {k} must be odd")


def validate_generator_kwargs(config: Any, source: str = "checkpoint") -> dict:
    """Check a generator config against sane bounds; return it as plain kwargs for ``Generator``.

    Synthesis options given flat (as stylegan3-repo pickles do) are folded into ``synthesis_kwargs``.
    Raises :class:`CheckpointError` ("<source>: 'field' = value is outside ...") before anything is built.
    """
    if isinstance(config, GeneratorConfig):
        config = dict(config.__dict__)
    if not isinstance(config, dict):
        raise CheckpointError(f"{source}: the generator config is a {type(config).__name__}, not a dict.")
    cfg = plain_kwargs(config)
    missing = [k for k in ("z_dim", "w_dim", "img_resolution") if k not in cfg]
    if missing:
        raise CheckpointError(f"{source}: the generator config has no {', '.join(missing)}.")
    extra = {k: v for k, v in cfg.items() if k not in GENERATOR_KEYS}
    unknown = sorted(k for k in extra if k not in SYNTHESIS_KEYS)
    if unknown:
        raise CheckpointError(f"{source}: unknown StyleGAN2 generator options {unknown}.")
    mapping = cfg.get("mapping_kwargs") or {}
    synthesis = cfg.get("synthesis_kwargs") or {}
    for name, kw in (("mapping_kwargs", mapping), ("synthesis_kwargs", synthesis)):
        if not isinstance(kw, dict):
            raise CheckpointError(f"{source}: '{name}' is a {type(kw).__name__}, not a dict.")
    synthesis = {**synthesis, **extra}
    unknown = sorted(set(mapping) - MAPPING_KEYS) + sorted(set(synthesis) - SYNTHESIS_KEYS)
    if unknown:
        raise CheckpointError(f"{source}: unknown StyleGAN2 generator options {unknown}.")
    try:
        check_int(cfg["z_dim"], "z_dim", 1, MAX_LATENT)
        check_int(cfg.get("c_dim", 0), "c_dim", 0, MAX_CLASSES)
        check_int(cfg["w_dim"], "w_dim", 1, MAX_LATENT)
        check_int(cfg.get("img_channels", 3), "img_channels", 1, 4)
        res = check_int(cfg["img_resolution"], "img_resolution", MIN_RESOLUTION, MAX_RESOLUTION)
        if not is_power_of_two(res):
            raise CheckpointError(f"'img_resolution' = {res} is not a power of two "
                                  f"({MIN_RESOLUTION}..{MAX_RESOLUTION})")
        _check_mapping(mapping)
        _check_synthesis(synthesis, res)
    except CheckpointError as e:
        raise CheckpointError(f"{source}: invalid StyleGAN2 config: {e}") from None
    return {"z_dim": cfg["z_dim"], "c_dim": cfg.get("c_dim", 0), "w_dim": cfg["w_dim"],
            "img_resolution": cfg["img_resolution"], "img_channels": cfg.get("img_channels", 3),
            "mapping_kwargs": mapping, "synthesis_kwargs": synthesis}
