"""Opening and saving generators: official ``.pkl`` network pickles and the project's ``.pt`` checkpoints.

Loading never executes code from a file: official network pickles go through the restricted unpickler
of :mod:`core.stylegan2.legacy`, and project checkpoints are ``torch.load(weights_only=True)`` dicts::

    {'model': G.state_dict(), 'config': G.init_kwargs, 'step': n, 'version': CHECKPOINT_VERSION, ...}

Before a generator is built its config is checked against sane bounds
(:func:`~core.stylegan2.config.validate_generator_kwargs`). A config whose generator could exceed
:data:`MAX_GENERATOR_VALUES` is then laid out on the meta device (no memory) and counted exactly, and the
file's tensor names and shapes are compared with it before any memory is allocated; a config that stays
within the limit even at its largest (:func:`values_upper_bound`) is built on the CPU directly, because
the first meta-device operation of a process imports torch's Python meta kernels (seconds), which the
sampler's first picture would wait for. Either way the weights go in through
:func:`core.checkpoint.load_state_strict`.
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from core.checkpoint import (
    CheckpointError,
    atomic_torch_save,
    describe_bytes,
    load_state_strict,
    safe_torch_load,
)
from core.stylegan2.config import GeneratorConfig, validate_generator_kwargs
from core.stylegan2.legacy import (
    LegacyTorchFile,
    PersistentObject,
    load_network_pickle,
    persistent_state_dict,
    require_file,
)
from core.stylegan2.networks import Generator

CHECKPOINT_VERSION = 1
# 250 M values (1 GB in fp32) is ~8x the official 1024 px generator: anything larger is not a StyleGAN2
# this app can sample interactively.
MAX_GENERATOR_VALUES = 250_000_000


def values_upper_bound(kwargs: dict) -> int:
    """An upper bound on the parameter and buffer values of the generator that validated ``kwargs``
    describe: every block counted with the widest channel count, two conv layers and a toRGB each."""
    syn, mapping = kwargs["synthesis_kwargs"], kwargs["mapping_kwargs"]
    w_dim, img_channels = int(kwargs["w_dim"]), int(kwargs["img_channels"])
    channels = min(int(syn.get("channel_max", 512)), int(syn.get("channel_base", 32768)) // 4)
    k = int(syn.get("kernel_size", 3))
    taps = max(4, len(syn.get("resample_filter", (1, 3, 3, 1))))  # conv1 keeps the default 4 taps
    total, res = channels * 4 * 4, 4  # the constant input
    while res <= int(kwargs["img_resolution"]):
        conv = (w_dim + 1) * channels + channels * channels * k * k + channels + res * res + 1 + taps * taps
        torgb = (w_dim + 1) * channels + channels * img_channels + img_channels
        total += 2 * conv + torgb + taps * taps
        res *= 2
    c_dim = int(kwargs.get("c_dim", 0))
    embed = int(mapping.get("embed_features") or w_dim) if c_dim else 0
    width = max(int(kwargs["z_dim"]) + embed, int(mapping.get("layer_features") or w_dim), w_dim)
    layers = int(mapping.get("num_layers", 8))
    return total + (c_dim + 1) * embed + layers * (width + 1) * width + w_dim


def generator_from_config(config: dict | GeneratorConfig, source: str = "config") -> Generator:
    """A randomly initialised generator from a (validated) config."""
    return Generator(**validate_generator_kwargs(config, source))


def build_generator(config: Any, state_dict: Any, source: str) -> Generator:
    """Validate ``config``, check ``state_dict`` against the layout it implies, then build and load.

    Raises :class:`CheckpointError` when the config is out of bounds or the tensors do not fit it;
    memory is only ever allocated for a generator within :data:`MAX_GENERATOR_VALUES`.
    """
    if isinstance(state_dict, dict) and any(str(k).startswith("synthesis.input.") for k in state_dict):
        raise CheckpointError(f"{source} is a StyleGAN3 (alias-free) generator; only StyleGAN2 / "
                              "StyleGAN2-ADA generators are supported.")
    kwargs = validate_generator_kwargs(config, source)
    hint = (f"Its config says {kwargs['img_resolution']} px, z_dim {kwargs['z_dim']}, w_dim "
            f"{kwargs['w_dim']}; the weights were saved from another architecture.")
    if values_upper_bound(kwargs) <= MAX_GENERATOR_VALUES:
        try:
            with torch.random.fork_rng(devices=[]):  # the random init must not move the caller's seed
                G = Generator(**kwargs)
        except (TypeError, ValueError, AssertionError) as e:
            raise CheckpointError(f"{source}: cannot build a StyleGAN2 generator from its config "
                                  f"({e}).") from None
        load_state_strict(G, state_dict, source, "model", hint)
        return G.eval().requires_grad_(False)
    try:
        with torch.device("meta"):
            G = Generator(**kwargs)
    except (TypeError, ValueError, AssertionError) as e:
        raise CheckpointError(f"{source}: cannot build a StyleGAN2 generator from its config "
                              f"({e}).") from None
    values = sum(t.numel() for t in G.state_dict().values())
    if values > MAX_GENERATOR_VALUES:
        raise CheckpointError(f"{source}: its config describes a generator of {values / 1e6:.0f}M values, "
                              f"more than the {MAX_GENERATOR_VALUES / 1e6:.0f}M supported.")
    with warnings.catch_warnings():  # loading into meta tensors only compares names and shapes
        warnings.simplefilter("ignore", UserWarning)
        load_state_strict(G, state_dict, source, "model", hint)
    G = G.to_empty(device="cpu")
    load_state_strict(G, state_dict, source, "model", hint)
    return G.eval().requires_grad_(False)


def generator_from_network_pickle(obj: dict, key: str = "G_ema", source: str = "network pickle") -> Generator:
    """The ``key`` network of a parsed official pickle (:func:`load_network_pickle`) as an eval Generator."""
    net = obj.get(key)
    if not isinstance(net, PersistentObject):
        found = ", ".join(map(str, obj)) or "nothing"
        raise CheckpointError(f"{source} has no '{key}' network (it holds {found}).")
    if net.class_name.rsplit(".", 1)[-1] != "Generator":
        raise CheckpointError(f"{source}: '{key}' is a {net.class_name}, not a Generator.")
    if net.state.get("_init_args"):
        raise CheckpointError(f"{source}: the generator was built with positional arguments; unsupported.")
    init_kwargs = net.state.get("_init_kwargs")
    if not isinstance(init_kwargs, dict):
        raise CheckpointError(f"{source}: the generator has no constructor arguments (_init_kwargs).")
    return build_generator(dict(init_kwargs), persistent_state_dict(net), source)


def generator_from_checkpoint(ckpt: Any, source: str = "checkpoint") -> Generator:
    """Project checkpoint dict -> Generator (also explains what other kinds of file it got)."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{source} holds a {type(ckpt).__name__}, not a StyleGAN2 checkpoint.")
    if "generator" in ckpt and "kp_detector" in ckpt:
        raise CheckpointError(f"{source} is a First Order Motion Model checkpoint (it has 'generator' and "
                              "'kp_detector'); open it in the FOMM animator, not the StyleGAN2 sampler.")
    if "g_ema" in ckpt and "latent_avg" in ckpt:
        raise CheckpointError(f"{source} is a rosinality stylegan2-pytorch checkpoint; convert it to an "
                              "official network pickle or a project checkpoint first.")
    if ckpt.get("kind") == "stylegan2-train":
        raise CheckpointError(f"{source} is a StyleGAN2 training checkpoint; export its generator first "
                              "(python -m core.stylegan2.training --out RUN --export-only --export FILE.pt).")
    if "model" not in ckpt or "config" not in ckpt:
        found = ", ".join(sorted(map(str, ckpt))[:8]) or "nothing"
        raise CheckpointError(f"{source} is not a StyleGAN2 checkpoint: expected 'model' and 'config', "
                              f"found {found}.")
    cfg = ckpt["config"]
    if not isinstance(cfg, dict) or not {"z_dim", "w_dim", "img_resolution"} <= set(cfg):
        raise CheckpointError(f"{source} is a checkpoint of another model family (its config has no "
                              "z_dim / w_dim / img_resolution).")
    if not isinstance(ckpt["model"], dict):
        raise CheckpointError(f"{source}: 'model' is not a state dict.")
    return build_generator(cfg, ckpt["model"], source)


def free_memory_bytes() -> int | None:
    """Memory the system can still give without swapping (Linux ``MemAvailable``, which counts the page
    cache as free), or None where it cannot tell (then no check is made)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_fits_in_memory(path: Path, factor: float = 2.0) -> None:
    """One clear line instead of a swap storm or a killed process: loading holds the file's tensors and
    the built generator at once, about ``factor`` x the file's size."""
    free = free_memory_bytes()
    size = path.stat().st_size
    if free is not None and size * factor > free:
        raise CheckpointError(f"{path.name} is {size / 2**20:.0f} MB and opening it needs about "
                              f"{size * factor / 2**20:.0f} MB, but only {free / 2**20:.0f} MB of memory is "
                              "free; close other programs or use a machine with more memory.")


def load_generator(path: str | os.PathLike) -> Generator:
    """Open an official ``.pkl`` network pickle or a project ``.pt`` checkpoint as an eval Generator.

    Every failure is a :class:`CheckpointError` whose message says what the file is instead (a file too
    large for the free memory included). The result carries ``G.source_info`` (kind, path, step when
    known).
    """
    path = require_file(path)
    check_fits_in_memory(path)
    try:
        return _load_generator(path)
    except MemoryError:
        raise CheckpointError(f"{path.name}: not enough memory to open it "
                              f"({path.stat().st_size / 2**20:.0f} MB file).") from None


def _load_generator(path: Path) -> Generator:
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"PK\x03\x04"):
        ckpt = safe_torch_load(path)  # zip-format torch.save file
        G = generator_from_checkpoint(ckpt, path.name)
        G.source_info = {"kind": "project", "path": str(path), "step": ckpt.get("step"),
                         "kimg": ckpt.get("kimg")}
        return G
    if not head.startswith(b"\x80"):
        raise CheckpointError(f"{path.name} is neither a network pickle nor a PyTorch checkpoint "
                              f"({describe_bytes(head)}).")
    try:
        obj = load_network_pickle(path)
    except LegacyTorchFile:
        ckpt = safe_torch_load(path)  # legacy torch.save (e.g. FOMM's 2019 vox-cpk.pth.tar)
        G = generator_from_checkpoint(ckpt, path.name)
        G.source_info = {"kind": "project", "path": str(path), "step": ckpt.get("step")}
        return G
    G = generator_from_network_pickle(obj, source=path.name)
    G.source_info = {"kind": "official-pickle", "path": str(path), "step": None}
    return G


def save_generator_checkpoint(G: Generator, path: str | os.PathLike, step: int = 0,
                              extra: dict | None = None) -> None:
    """Write the project format ``{'model', 'config', 'step', 'version', **extra}`` atomically."""
    ckpt = {"model": {k: v.detach().cpu() for k, v in G.state_dict().items()},
            "config": copy.deepcopy(G.init_kwargs), "step": int(step), "version": CHECKPOINT_VERSION}
    ckpt.update(extra or {})
    atomic_torch_save(ckpt, Path(path))


def random_generator(img_resolution: int = 64, z_dim: int = 128, w_dim: int = 128, seed: int = 0,
                     channel_max: int = 128, mapping_layers: int = 4) -> Generator:
    """A randomly initialised (untrained) generator, for demos without weights and for benchmarks.

    ``w_avg`` is set to the mean of 2,000 mapped samples so that truncation behaves as in trained
    models.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = Generator(z_dim=z_dim, c_dim=0, w_dim=w_dim, img_resolution=img_resolution, img_channels=3,
                      mapping_kwargs={"num_layers": mapping_layers},
                      synthesis_kwargs={"channel_base": channel_max * 32, "channel_max": channel_max,
                                        "num_fp16_res": 0, "conv_clamp": None})
        G.eval().requires_grad_(False)
        with torch.no_grad():
            z = torch.randn(2000, z_dim)
            G.mapping.w_avg.copy_(G.mapping(z, None)[:, 0].mean(0))
    G.source_info = {"kind": "random", "path": None, "step": 0}
    return G


def official_size_generator(resolution: int = 1024, seed: int = 0) -> Generator:
    """Random weights in the official FFHQ config-F shape (for timing the real model's cost)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = Generator(512, 0, 512, resolution, 3, mapping_kwargs={"num_layers": 8},
                      synthesis_kwargs={"channel_base": 32768 if resolution >= 512 else 16384,
                                        "channel_max": 512, "num_fp16_res": 4, "conv_clamp": 256})
    G.source_info = {"kind": "random", "path": None, "step": 0}
    return G.eval().requires_grad_(False)

