"""Opening DCGAN checkpoints safely: file kind, config bounds and weight shapes before anything is built.

Order of checks for every file the user names: it is a ``torch.save`` zip (a pickle is refused without
being unpickled), it holds a DCGAN dict (other families are named), its config passes the bounds in
:mod:`core.dcgan.config`, and its weights fit the network that config describes, checked on the
``meta`` device (no memory) before the real network is allocated.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from core.checkpoint import (
    CheckpointError,
    atomic_write_bytes,
    describe_bytes,
    load_state_strict,
    require_keys,
    safe_torch_load,
)
from core.dcgan.config import ConfigError, ModelConfig, TrainConfig, model_config_from_dict
from core.dcgan.models import build_generator, build_models

CHECKPOINT_VERSION = 1
GENERATOR_KEYS = ["model", "config", "step"]
RESUME_KEYS = ["model", "discriminator", "opt_g", "opt_d", "rng", "sampler", "step", "config"]


def _foreign_kind(ckpt: Any) -> str | None:
    """Name the family of a checkpoint written by another part of the project (or by its authors)."""
    if not isinstance(ckpt, dict):
        return None
    kind = ckpt.get("kind")
    if isinstance(kind, str) and kind.startswith("stylegan2"):
        return "a StyleGAN2 checkpoint; open it with the StyleGAN2 sampler (python -m core.stylegan2)"
    if {"G_ema", "G"} & set(ckpt) or "generator_config" in ckpt:
        return "a StyleGAN2 checkpoint; open it with the StyleGAN2 sampler (python -m core.stylegan2)"
    if "kp_detector" in ckpt or ("generator" in ckpt and "model" not in ckpt):
        return "a First Order Motion Model checkpoint; open it in the FOMM animator (python -m core.fomm)"
    return None


def read_checkpoint(path: str | os.PathLike, keys: list[str], kind: str = "DCGAN",
                    map_location: str | torch.device = "cpu") -> dict:
    """The checkpoint dict at ``path`` with ``keys``; every failure is one readable CheckpointError."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; name the checkpoint file inside it "
                              f"(e.g. {path / 'checkpoint.pt'}).")
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as f:
            head = f.read(8)
        if head[:1] == b"\x80":  # a raw pickle: never unpickled here, whatever it claims to be
            raise CheckpointError(f"{path.name} is a Python pickle (e.g. an official StyleGAN2 network "
                                  f".pkl), not a DCGAN checkpoint; DCGAN checkpoints are written by "
                                  f"python -m core.dcgan train or export.")
        if not head.startswith(b"PK\x03\x04"):
            raise CheckpointError(f"{path.name} is not a DCGAN checkpoint ({describe_bytes(head)}).")
    try:
        ckpt = safe_torch_load(path, map_location=map_location)
    except CheckpointError as e:
        # torch's own message may advise weights_only=False, which would run the file's code: never relay it.
        text = str(e)
        if "weights_only" in text.replace("weights_only loading", ""):
            text = (f"{path.name} holds Python objects beyond tensors and plain containers; it is not a "
                    f"DCGAN checkpoint and is refused without being run.")
        raise CheckpointError(text) from None
    foreign = _foreign_kind(ckpt)
    if foreign:
        raise CheckpointError(f"{path.name} is {foreign}, not a {kind} checkpoint.")
    return require_keys(ckpt, keys, kind, path.name)


def check_weights_fit(cfg: ModelConfig, state: Any, name: str, part: str = "model",
                      discriminator: bool = False) -> None:
    """Refuse ``state`` unless every name and shape fits the network ``cfg`` describes (built on ``meta``)."""
    with torch.device("meta"):
        g, d = build_models(cfg) if discriminator else (build_generator(cfg), None)
    with warnings.catch_warnings():  # loading into meta tensors is a deliberate no-op: only shapes matter
        warnings.simplefilter("ignore", UserWarning)
        load_state_strict(d if discriminator else g, state, name, part, hint=_hint(cfg))


def _hint(cfg: ModelConfig) -> str:
    return (f"Its config says {cfg.arch} {cfg.size} px, latent {cfg.latent_dim}, widths "
            f"{cfg.g_width}/{cfg.d_width}; the file's weights were saved for another network.")


def checked_model_config(ckpt: dict, name: str) -> ModelConfig:
    """The checkpoint's validated model config, after checking that ``ckpt['model']`` fits it."""
    saved = ckpt["config"]
    try:
        cfg = model_config_from_dict(saved.get("model") if isinstance(saved, dict) else None, name)
    except ConfigError as e:
        raise CheckpointError(str(e)) from None
    check_weights_fit(cfg, ckpt["model"], name)
    return cfg


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Generator (eval mode) and the raw checkpoint dict; raises CheckpointError with a clear message."""
    name = Path(path).name
    ckpt = read_checkpoint(path, GENERATOR_KEYS)
    cfg = checked_model_config(ckpt, name)
    gen = load_state_strict(build_generator(cfg), ckpt["model"], name, "model", hint=_hint(cfg))
    return gen.to(device).eval(), ckpt


def export_generator(checkpoint: str | os.PathLike, dest: str | os.PathLike) -> dict:
    """A small inference-only copy (G weights, config, step, fixed noise) of a training checkpoint.

    The source is checked as :func:`load_generator` checks it, so a bad file is never passed on.
    Returns the exported dict.
    """
    ckpt = read_checkpoint(checkpoint, GENERATOR_KEYS)
    checked_model_config(ckpt, Path(checkpoint).name)
    slim = {k: ckpt[k] for k in ("model", "config", "step", "fixed_noise") if k in ckpt}
    slim["version"] = CHECKPOINT_VERSION
    save_checkpoint(slim, dest)
    return slim


def save_checkpoint(obj: dict, path: str | os.PathLike) -> None:
    """Serialise in memory, then write atomically: a full disk is a plain ENOSPC OSError, and the previous
    file at ``path`` stays whole (torch's streaming writer would report a cryptic RuntimeError)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as e:
        if e.filename is None and e.errno is not None:  # a failed write() names no file: say which
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise


def saved_train_config(ckpt: dict, name: str) -> TrainConfig:
    """The strictly validated TrainConfig of a resumable checkpoint."""
    try:
        return TrainConfig.from_saved(ckpt["config"], name)
    except ConfigError as e:
        raise CheckpointError(str(e)) from None
