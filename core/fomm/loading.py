"""Building the FOMM networks and loading official checkpoints (``vox-cpk.pth.tar``) safely.

The official file is a legacy ``torch.save`` dict of state dicts (``generator``, ``kp_detector``,
often ``discriminator``, optimizer states and ``epoch``); it is read with
``torch.load(weights_only=True)`` through :func:`core.checkpoint.safe_torch_load`, so no code is ever
executed. The config is validated against bounds and against the checkpoint's tensor shapes before
any network is built; the weights then load through :func:`core.checkpoint.load_state_strict`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

from core.checkpoint import CheckpointError, load_state_strict, safe_torch_load
from core.fomm.config import FommConfig, load_config
from core.fomm.generator import OcclusionAwareGenerator
from core.fomm.keypoint_detector import KPDetector

CONFIG_HINT = "Use the config that matches the checkpoint (vox-cpk.pth.tar goes with config/vox-256.yaml)."
EXPECTED = ("expected a First Order Motion Model checkpoint such as vox-cpk.pth.tar, "
            "a dict with 'generator' and 'kp_detector' state dicts")


def build_fomm(config: Any = None) -> tuple[KPDetector, OcclusionAwareGenerator]:
    """Fresh (randomly initialised) networks for ``config`` (validated first)."""
    cfg = load_config(config)
    return KPDetector(**cfg.kp_detector_kwargs()), OcclusionAwareGenerator(**cfg.generator_kwargs())


def _shape(state: dict, key: str) -> tuple[int, ...] | None:
    value = state.get(key)
    return tuple(value.shape) if torch.is_tensor(value) else None


def _count(state: dict, pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in state if (m := rx.match(k))})


def check_fits_config(ckpt: dict, cfg: FommConfig, name: str) -> None:
    """Compare the config's structural fields with what the checkpoint's tensors imply, before building.

    Only cheap, unambiguous facts are compared (keypoint count, channels, depths, jacobian and
    occlusion heads); widths and everything else are checked tensor by tensor after building.
    """
    kp, gen = ckpt["kp_detector"], ckpt["generator"]
    if not isinstance(kp, dict) or not isinstance(gen, dict):
        return  # load_state_strict names the part that is not a state dict
    dm = cfg.generator_params.dense_motion_params
    implied: list[tuple[str, Any, Any]] = [
        ("num_kp", (_shape(kp, "kp.weight") or (cfg.num_kp,))[0], cfg.num_kp),
        ("num_channels", (_shape(gen, "first.conv.weight") or (0, cfg.num_channels))[1], cfg.num_channels),
        ("estimate_jacobian", "jacobian.weight" in kp, cfg.estimate_jacobian),
        ("kp_detector_params.num_blocks", _count(kp, r"predictor\.encoder\.down_blocks\.(\d+)\."),
         cfg.kp_detector_params.num_blocks),
        ("generator_params.block_expansion", (_shape(gen, "first.conv.weight") or
                                              (cfg.generator_params.block_expansion,))[0],
         cfg.generator_params.block_expansion),
        ("generator_params.num_down_blocks", _count(gen, r"down_blocks\.(\d+)\."),
         cfg.generator_params.num_down_blocks),
        ("generator_params.num_bottleneck_blocks", _count(gen, r"bottleneck\.r(\d+)\."),
         cfg.generator_params.num_bottleneck_blocks),
        ("generator_params.estimate_occlusion_map", "dense_motion_network.occlusion.weight" in gen,
         cfg.generator_params.estimate_occlusion_map and dm is not None)]
    if dm is not None:
        implied.append(("dense_motion_params.num_blocks",
                        _count(gen, r"dense_motion_network\.hourglass\.encoder\.down_blocks\.(\d+)\."),
                        dm.num_blocks))
    for field_name, in_checkpoint, in_config in implied:
        if in_checkpoint != in_config:
            raise CheckpointError(f"{name} was trained with a different config: its weights imply "
                                  f"{field_name}={in_checkpoint}, the config says {in_config}. {CONFIG_HINT}")


def load_fomm(checkpoint: str | os.PathLike | None, config: Any = None,
              device: torch.device | str = "cpu") -> tuple[KPDetector, OcclusionAwareGenerator]:
    """``(kp_detector, generator)`` in eval mode, from an official ``*-cpk.pth.tar`` (or random if None).

    Anything that is not such a checkpoint raises :class:`~core.checkpoint.CheckpointError` with a
    message for users; a bad config raises :class:`~core.fomm.config.FommConfigError`.
    """
    cfg = load_config(config)
    ckpt = None
    if checkpoint is not None:
        name = Path(checkpoint).name
        try:
            ckpt = safe_torch_load(checkpoint)
        except CheckpointError as e:
            raise CheckpointError(f"{name} cannot be used as FOMM weights ({EXPECTED}): {e}") from None
        if not isinstance(ckpt, dict):
            raise CheckpointError(
                f"{name} is not a FOMM checkpoint: it holds a {type(ckpt).__name__}; {EXPECTED}.")
        if "generator" not in ckpt or "kp_detector" not in ckpt:
            keys = ", ".join(sorted(map(str, ckpt))[:8]) or "nothing"
            hint = ""
            if "model" in ckpt and "config" in ckpt:
                hint = " It looks like one of this project's own checkpoints (e.g. a DCGAN), not FOMM."
            elif "G_ema" in ckpt:
                hint = " It looks like a StyleGAN2 network, not FOMM."
            raise CheckpointError(f"{name} is not a FOMM checkpoint: it has {keys}; {EXPECTED}.{hint}")
        check_fits_config(ckpt, cfg, name)
    kp_detector, generator = build_fomm(cfg)
    if ckpt is not None:
        load_state_strict(generator, ckpt["generator"], name, "generator", CONFIG_HINT)
        load_state_strict(kp_detector, ckpt["kp_detector"], name, "kp_detector", CONFIG_HINT)
    kp_detector.to(device).eval()
    generator.to(device).eval()
    for p in list(kp_detector.parameters()) + list(generator.parameters()):
        p.requires_grad_(False)
    return kp_detector, generator
