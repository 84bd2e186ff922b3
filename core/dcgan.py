"""DCGAN training on face crops: models, data, a resumable training loop, SWD, sampling and a CLI.

Papers: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks" (ICLR 2016); differentiable augmentation from Zhao et al.,
"Differentiable Augmentation for Data-Efficient GAN Training" (NeurIPS 2020); the sliced
Wasserstein distance over a Laplacian pyramid from Karras et al., "Progressive Growing of GANs for
Improved Quality, Stability, and Variation" (ICLR 2018).

Two architecture families:

* ``study``: what the seed studies used (Keras style). A dense layer maps z to 4x4x(4*g_width), then
  upsample + 3x3 conv + batch norm + ReLU blocks double the size up to 32 px; a final block upsamples
  by the *resolution multiplier* ``size // 32`` (1, 2, 3, 4 -> 32, 64, 96, 128 px). The discriminator is
  strided convs with LeakyReLU and dropout, then a dense logit.
* ``tutorial``: the PyTorch DCGAN tutorial (transposed convs, batch norm), 64 px and a 32 px variant.

The discriminators return logits; losses use ``BCEWithLogits`` (the tutorial's Sigmoid + BCELoss,
computed stably). Training state lives in one run folder (see :class:`Trainer`).

Command line::

    python -m core.dcgan train --data DIR --arch study --size 64 --steps 2000 --out RUN_DIR [--resume]
    python -m core.dcgan sample --checkpoint RUN_DIR/checkpoint.pt --n 16 --out grid.png
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from core.checkpoint import (
    CheckpointError,
    atomic_torch_save,
    atomic_write_bytes,
    require_keys,
    safe_torch_load,
)
from core.imaging import make_grid, png_bytes, to_uint8

CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.jsonl"
STATUS_NAME = "status.json"
CONTROL_NAME = "control.json"
LOCK_NAME = "run.lock"
LATEST_GRID_NAME = "latest.png"
SNAPSHOT_DIR = "snapshots"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")
STUDY_SIZES = (32, 64, 96, 128)
TUTORIAL_SIZES = (32, 64)


# ----------------------------------------------------------------------------------------------
# Configs


@dataclass
class ModelConfig:
    arch: str = "study"          # "study" (dense + upsample/conv) or "tutorial" (transposed convs)
    size: int = 64               # output side in px; study: 32/64/96/128, tutorial: 32/64
    latent_dim: int = 100        # length of z
    g_width: int = 64            # generator base width (study: 4x4 map has 4*g_width channels)
    d_width: int = 64            # discriminator width of its first conv
    d_dropout: float = 0.3       # study discriminator dropout after each LeakyReLU

    def validate(self) -> None:
        if self.arch not in ("study", "tutorial"):
            raise ValueError(f"Unknown architecture {self.arch!r}: choose 'study' or 'tutorial'.")
        sizes = STUDY_SIZES if self.arch == "study" else TUTORIAL_SIZES
        if self.size not in sizes:
            raise ValueError(f"The {self.arch} architecture supports sizes {sizes}, not {self.size}.")
        if self.latent_dim < 1 or self.g_width < 4 or self.d_width < 4:
            raise ValueError("latent_dim must be >= 1 and widths >= 4.")


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    steps: int = 2000            # total optimizer steps (one D and one G update each)
    batch_size: int = 64         # global batch; split evenly across DDP ranks
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    label_smoothing: float = 0.0  # one-sided: real target = 1 - label_smoothing
    diffaugment: str = ""        # comma list of "color", "translation", "cutout" ("" = off)
    seed: int = 0
    checkpoint_every: int = 200  # steps between checkpoints (also on pause/stop/finish)
    snapshot_every: int = 50     # steps between fixed-noise grid snapshots (time-lapse frames)
    swd_every: int = 500         # steps between SWD evaluations (0 = off)
    swd_images: int = 256        # fixed real/fake sample size for SWD
    log_every: int = 10          # steps between metrics.jsonl lines
    n_fixed: int = 16            # fixed-noise grid size
    threads: int = 0             # torch intra-op threads (0 = leave as is)
    channels_last: bool = True   # NHWC memory format: faster convs on CPU (oneDNN)
    device: str = "auto"         # "auto" (CUDA when present), "cpu", "cuda"

    def validate(self) -> None:
        self.model.validate()
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be positive.")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError("label_smoothing must be in [0, 0.5).")
        unknown = set(_augment_policy(self.diffaugment)) - set(AUGMENTS)
        if unknown:
            raise ValueError(f"Unknown DiffAugment ops {sorted(unknown)}; use {sorted(AUGMENTS)}.")

    @staticmethod
    def from_dict(d: dict) -> TrainConfig:
        d = dict(d)
        model = ModelConfig(**{k: v for k, v in d.pop("model", {}).items()
                               if k in {f.name for f in fields(ModelConfig)}})
        known = {f.name for f in fields(TrainConfig)}
        return TrainConfig(model=model, **{k: v for k, v in d.items() if k in known})


PRESETS: dict[str, dict[str, Any]] = {
    # Visible progress within minutes on 2 CPU cores: 32 px, small widths and batch, frequent frames.
    "live demo": dict(model=dict(arch="tutorial", size=32, latent_dim=64, g_width=32, d_width=32),
                      steps=3000, batch_size=32, snapshot_every=20, swd_every=200, swd_images=128,
                      log_every=5, checkpoint_every=250, diffaugment="translation"),
    # The tutorial's full widths; worth a GPU.
    "quality": dict(model=dict(arch="tutorial", size=64, latent_dim=100, g_width=64, d_width=64),
                    steps=20000, batch_size=128, snapshot_every=200, swd_every=1000, swd_images=512,
                    log_every=20, checkpoint_every=1000, diffaugment="color,translation,cutout"),
}


def preset_config(name: str, **overrides: Any) -> TrainConfig:
    d = json.loads(json.dumps(PRESETS[name]))
    model_over = overrides.pop("model", {})
    d["model"].update(model_over)
    d.update(overrides)
    return TrainConfig.from_dict(d)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# ----------------------------------------------------------------------------------------------
# Models


def _init_dcgan_weights(module: nn.Module) -> None:
    # DCGAN paper: all weights from N(0, 0.02); batch-norm scales from N(1, 0.02).
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class StudyGenerator(nn.Module):
    """Dense -> 4x4 map -> (upsample, 3x3 conv, BN, ReLU) blocks -> 3x3 conv -> tanh."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        self.base = 4 * cfg.g_width
        self.fc = nn.Linear(cfg.latent_dim, 4 * 4 * self.base, bias=False)
        self.fc_bn = nn.BatchNorm1d(4 * 4 * self.base)
        # Three doublings reach 32 px; the resolution multiplier (1..4) sets the last upsampling.
        factors = [2, 2, 2] + ([cfg.size // 32] if cfg.size > 32 else [])
        widths = [4 * cfg.g_width, 2 * cfg.g_width, cfg.g_width, max(8, cfg.g_width // 2)]
        blocks, c_in = [], self.base
        for factor, c_out in zip(factors, widths):
            blocks += [nn.Upsample(scale_factor=factor, mode="nearest"),
                       nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU(True)]
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.to_rgb = nn.Conv2d(c_in, 3, 3, padding=1)
        self.apply(_init_dcgan_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.fc_bn(self.fc(z)))
        x = x.view(z.shape[0], self.base, 4, 4)
        return torch.tanh(self.to_rgb(self.blocks(x)))


class StudyDiscriminator(nn.Module):
    """Strided 4x4 convs with LeakyReLU(0.2) and dropout down to <= 4 px, then a dense logit."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        layers, c_in, side, c_out = [], 3, cfg.size, cfg.d_width
        while side > 4 and side % 2 == 0:
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2, True), nn.Dropout(cfg.d_dropout)]
            c_in, side, c_out = c_out, side // 2, min(c_out * 2, 8 * cfg.d_width)
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in * side * side, 1)
        self.apply(_init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1)).view(-1)


class TutorialGenerator(nn.Module):
    """PyTorch DCGAN tutorial generator: ConvTranspose(4, s2) + BN + ReLU stack, tanh output."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        g = cfg.g_width
        mult = cfg.size // 8  # 8 at 64 px (ngf*8 at 4x4), 4 at 32 px
        layers = [nn.ConvTranspose2d(cfg.latent_dim, g * mult, 4, 1, 0, bias=False),
                  nn.BatchNorm2d(g * mult), nn.ReLU(True)]
        while mult > 1:
            layers += [nn.ConvTranspose2d(g * mult, g * mult // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(g * mult // 2), nn.ReLU(True)]
            mult //= 2
        layers += [nn.ConvTranspose2d(g, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(_init_dcgan_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(z.shape[0], -1, 1, 1))


class TutorialDiscriminator(nn.Module):
    """PyTorch DCGAN tutorial discriminator (the final Sigmoid is folded into the loss)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_width
        layers: list[nn.Module] = [nn.Conv2d(3, d, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        c, side = d, cfg.size // 2
        while side > 4:
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2),
                       nn.LeakyReLU(0.2, True)]
            c, side = c * 2, side // 2
        layers += [nn.Conv2d(c, 1, 4, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)
        self.apply(_init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)


def build_models(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator for ``cfg`` (weights drawn from torch's global RNG)."""
    cfg.validate()
    if cfg.arch == "study":
        return StudyGenerator(cfg), StudyDiscriminator(cfg)
    return TutorialGenerator(cfg), TutorialDiscriminator(cfg)


def build_generator(cfg: ModelConfig) -> nn.Module:
    cfg.validate()
    return StudyGenerator(cfg) if cfg.arch == "study" else TutorialGenerator(cfg)


# ----------------------------------------------------------------------------------------------
# DiffAugment (Zhao et al. 2020): the same random transform applied to real and fake images, and
# differentiable, so the discriminator cannot memorise a small dataset.


def _aug_color(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + mean


def _aug_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    gy = (torch.arange(h, device=x.device).view(1, h, 1) + ty + 1).clamp(0, h + 1)
    gx = (torch.arange(w, device=x.device).view(1, 1, w) + tx + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # zero border: shifted-in pixels are black-ish
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded[batch, gy, gx].permute(0, 3, 1, 2)


def _aug_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    gy = (torch.arange(ch, device=x.device).view(1, ch, 1) + oy - ch // 2).clamp(0, h - 1)
    gx = (torch.arange(cw, device=x.device).view(1, 1, cw) + ox - cw // 2).clamp(0, w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[torch.arange(n, device=x.device).view(n, 1, 1), gy, gx] = 0
    return x * mask.unsqueeze(1)


AUGMENTS = {"color": _aug_color, "translation": _aug_translation, "cutout": _aug_cutout}


def _augment_policy(policy: str) -> list[str]:
    return [p.strip() for p in policy.split(",") if p.strip()]


def diff_augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    """Apply the DiffAugment ops named in ``policy`` (uses torch's global RNG, which checkpoints save)."""
    assert x.ndim == 4, f"expected NCHW, got {tuple(x.shape)}"
    for name in _augment_policy(policy):
        x = AUGMENTS[name](x)
    return x


# ----------------------------------------------------------------------------------------------
# Data


class DatasetError(ValueError):
    """The training images are missing, unreadable or too few. The message is for users."""


@dataclass
class ImageSet:
    images: torch.Tensor          # uint8 N x 3 x S x S
    source: str
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _square_resize(img, size: int):
    from PIL import Image

    w, h = img.size
    side = min(w, h)
    if w != h:  # centre crop: face crops are centred by the explorer's export
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if side != size:
        img = img.resize((size, size), Image.Resampling.LANCZOS if side > size else Image.Resampling.BICUBIC)
    return img


def _to_rgb(img):
    from PIL import Image

    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def _resize_array_batch(arr: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    if arr.shape[1] == size and arr.shape[2] == size:
        return arr
    return np.stack([np.asarray(_square_resize(Image.fromarray(a), size)) for a in arr])


def load_npz_images(path: str | os.PathLike, size: int) -> np.ndarray:
    """The explorer's export format: ``images`` uint8 N x H x W x 3 (grayscale/RGBA also accepted)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "images" not in data:
                raise DatasetError(f"{Path(path).name} has no 'images' array (found {sorted(data.files)}).")
            arr = data["images"]
    except (OSError, ValueError) as e:
        if isinstance(e, DatasetError):
            raise
        raise DatasetError(f"{Path(path).name} is not a readable .npz export: {e}") from None
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4):
        raise DatasetError(f"{Path(path).name}: expected images N x H x W x 3, got shape {arr.shape}.")
    if arr.dtype != np.uint8:
        raise DatasetError(f"{Path(path).name}: expected uint8 images, got {arr.dtype}.")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif arr.shape[-1] == 4:
        arr = arr[..., :3]
    return _resize_array_batch(arr, size)


def load_dataset(path: str | os.PathLike, size: int, min_images: int = 1) -> ImageSet:
    """Load every image under ``path`` (a folder, searched recursively, or an .npz export) as uint8 NCHW.

    Mixed sizes are centre-cropped to squares and resized; grayscale, palette, CMYK and RGBA images
    become RGB (transparency over white). Unreadable files are skipped and listed.
    """
    from PIL import Image, ImageOps

    path = Path(path)
    if not path.exists():
        raise DatasetError(f"Dataset not found: {path}")
    chunks: list[np.ndarray] = []
    skipped: list[str] = []
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        suffix = f.suffix.lower()
        if suffix == ".npz":
            chunks.append(load_npz_images(f, size))
        elif suffix in IMAGE_EXTENSIONS:
            try:
                with Image.open(f) as im:
                    im = ImageOps.exif_transpose(im)
                    chunks.append(np.asarray(_square_resize(_to_rgb(im), size))[None])
            except Exception:  # any undecodable file is skipped, not fatal
                skipped.append(f.name)
    n = sum(len(c) for c in chunks)
    if n == 0:
        unreadable = f"; {len(skipped)} files were unreadable" if skipped else ""
        raise DatasetError(f"No images found in {path} (looked for {', '.join(IMAGE_EXTENSIONS)} files and "
                           f".npz exports{unreadable}).")
    if n < min_images:
        raise DatasetError(f"{path.name} has only {n} usable image(s); training needs at least {min_images} "
                           f"(one batch). Add images or lower the batch size.")
    arr = np.concatenate(chunks)
    images = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).contiguous()
    return ImageSet(images=images, source=str(path), skipped=skipped)


class EpochSampler:
    """Shuffled batches without replacement from an explicit generator; its state is checkpointed."""

    def __init__(self, n: int, batch_size: int, seed: int):
        assert n >= batch_size, (n, batch_size)
        self.n, self.batch_size = n, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch, self.position = 0, 0
        self.order = torch.randperm(n, generator=self.generator)

    def next_indices(self) -> torch.Tensor:
        if self.position + self.batch_size > self.n:  # drop the ragged tail, as DataLoader(drop_last)
            self.order = torch.randperm(self.n, generator=self.generator)
            self.epoch, self.position = self.epoch + 1, 0
        idx = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return idx

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "order": self.order.clone(),
                "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.order = state["order"].clone()
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


# ----------------------------------------------------------------------------------------------
# RNG state as plain tensors (so checkpoints stay weights_only-loadable)


def capture_rng_state(device: torch.device) -> dict:
    np_state = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": int(np_state[2]), "numpy_has_gauss": int(np_state[3]), "numpy_gauss": float(np_state[4]),
        "python_version": int(py_version), "python_internal": torch.tensor(py_internal, dtype=torch.int64),
        "python_gauss": py_gauss,
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), state["numpy_pos"],
                         state["numpy_has_gauss"], state["numpy_gauss"]))
    random.setstate((state["python_version"], tuple(int(v) for v in state["python_internal"].tolist()),
                     state["python_gauss"]))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


# ----------------------------------------------------------------------------------------------
# Sliced Wasserstein distance over a Laplacian pyramid (ProGAN, Karras et al. 2018, appendix D)

_GAUSS = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = (_GAUSS[:, None] * _GAUSS[None, :]).to(x).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, [2, 2, 2, 2], mode="reflect"), k, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, min_size: int = 16) -> list[torch.Tensor]:
    """Band-pass levels from full resolution down to ``min_size`` (the last level is the low-pass)."""
    levels = []
    while x.shape[-1] > min_size:
        down = _blur(x)[..., ::2, ::2]
        up = F.interpolate(down, scale_factor=2, mode="nearest")
        levels.append(x - _blur(up))
        x = down
    levels.append(x)
    return levels


def _patch_descriptors(level: torch.Tensor, per_image: int, gen: torch.Generator,
                       patch: int = 7) -> torch.Tensor:
    n, c, h, w = level.shape
    ys = torch.randint(0, h - patch + 1, (n, per_image), generator=gen)
    xs = torch.randint(0, w - patch + 1, (n, per_image), generator=gen)
    off = torch.arange(patch)
    rows = (ys[..., None] + off).view(n, per_image, patch, 1).expand(-1, -1, -1, patch)
    cols = (xs[..., None] + off).view(n, per_image, 1, patch).expand(-1, -1, patch, -1)
    batch = torch.arange(n).view(n, 1, 1, 1)
    patches = level.permute(0, 2, 3, 1)[batch, rows, cols]  # n, per_image, patch, patch, c
    d = patches.reshape(n * per_image, -1)
    # ProGAN normalises each descriptor set per channel before comparing.
    d = d.view(d.shape[0], patch * patch, c)
    d = (d - d.mean(dim=(0, 1), keepdim=True)) / (d.std(dim=(0, 1), keepdim=True) + 1e-8)
    return d.reshape(d.shape[0], -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, gen: torch.Generator, directions: int = 128,
                       repeats: int = 4) -> float:
    assert a.shape == b.shape and a.ndim == 2, (a.shape, b.shape)
    total = 0.0
    for _ in range(repeats):
        dirs = torch.randn(a.shape[1], directions, generator=gen)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        pa, _ = torch.sort(a @ dirs, dim=0)
        pb, _ = torch.sort(b @ dirs, dim=0)
        total += float((pa - pb).abs().mean())
    return total / repeats


class SWDEvaluator:
    """SWD (x1e3, averaged over pyramid levels) between a fixed real sample and generator samples.

    Patch positions and projection directions come from fixed seeds, so the curve moves only when
    the generator does; it never touches the training RNG streams.
    """

    def __init__(self, real_uint8: torch.Tensor, seed: int = 12345, patches_per_image: int = 64):
        assert real_uint8.ndim == 4 and real_uint8.dtype == torch.uint8, real_uint8.shape
        self.seed, self.per_image = seed, patches_per_image
        self.n = real_uint8.shape[0]
        self.real = self._descriptors(real_uint8.float() / 127.5 - 1.0)

    def _descriptors(self, images: torch.Tensor) -> list[torch.Tensor]:
        gen = torch.Generator().manual_seed(self.seed)
        return [_patch_descriptors(lv, self.per_image, gen) for lv in laplacian_pyramid(images.float().cpu())]

    def __call__(self, fake: torch.Tensor) -> dict[str, float]:
        assert fake.shape[0] == self.n, (fake.shape, self.n)
        fake_desc = self._descriptors(fake.clamp(-1, 1))
        gen = torch.Generator().manual_seed(self.seed + 1)
        per_level = [1e3 * sliced_wasserstein(r, f, gen) for r, f in zip(self.real, fake_desc)]
        return {"swd": float(np.mean(per_level)), "swd_levels": per_level}


# ----------------------------------------------------------------------------------------------
# Sampling (pure, seeded)


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """Generator outputs in [-1, 1] (NCHW float) in eval mode; the module's mode is restored."""
    assert z.ndim == 2, f"expected N x latent_dim, got {tuple(z.shape)}"
    was_training = generator.training
    generator.eval()
    try:
        device = next(generator.parameters()).device
        chunks = [generator(z[i:i + batch].to(device)).float().cpu() for i in range(0, len(z), batch)]
        return torch.cat(chunks)
    finally:
        generator.train(was_training)


def latent_noise(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def sample(generator: nn.Module, n: int, seed: int) -> np.ndarray:
    """``n`` images as uint8 N x H x W x 3 for ``seed`` (same seed, same images)."""
    out = to_uint8(generate(generator, latent_noise(n, generator.latent_dim, seed)))
    assert out.shape[0] == n and out.shape[-1] == 3
    return out


def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    an, bn = a / a.norm(), b / b.norm()
    omega = torch.acos((an * bn).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def latent_walk(generator: nn.Module, seeds: list[int], frames_per_leg: int = 16) -> np.ndarray:
    """Spherical interpolation through the latents of ``seeds`` (a closed loop); uint8 N x H x W x 3."""
    assert len(seeds) >= 2 and frames_per_leg >= 1
    zs = [latent_noise(1, generator.latent_dim, s)[0] for s in seeds]
    path = [_slerp(zs[i], zs[(i + 1) % len(zs)], k / frames_per_leg)
            for i in range(len(zs)) for k in range(frames_per_leg)]
    return to_uint8(generate(generator, torch.stack(path)))


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Generator (eval mode) and the raw checkpoint dict; raises CheckpointError with a clear message."""
    ckpt = require_keys(safe_torch_load(path), ["model", "config", "step"], "DCGAN", Path(path).name)
    try:
        cfg = TrainConfig.from_dict(ckpt["config"])
        gen = build_generator(cfg.model)
        gen.load_state_dict(ckpt["model"])
    except (TypeError, ValueError, RuntimeError, KeyError) as e:
        raise CheckpointError(f"{Path(path).name} does not match a DCGAN generator: "
                              f"{str(e).splitlines()[0]}") from None
    return gen.to(device).eval(), ckpt


# ----------------------------------------------------------------------------------------------
# Run folder: lock, control, status, metrics


class RunBusyError(RuntimeError):
    """Another training process owns the run folder."""


class RunLock:
    """Exclusive advisory lock on RUN_DIR/run.lock (released by the OS if the process dies)."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_NAME
        self._fh = None

    def acquire(self) -> RunLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            owner = fh.read().strip() or "unknown"
            fh.close()
            raise RunBusyError(f"Run folder {self.path.parent} is busy: another training process "
                               f"(pid {owner}) is using it. Stop it or choose another folder.") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            import fcntl

            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def run_is_busy(run_dir: str | os.PathLike) -> bool:
    """True while some process holds the run folder's lock."""
    lock = RunLock(Path(run_dir))
    if not lock.path.exists():
        return False
    try:
        lock.acquire()
    except RunBusyError:
        return True
    lock.release()
    return False


def write_json_atomic(path: Path, data: dict) -> None:
    atomic_write_bytes(path, json.dumps(data).encode())


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """All complete lines of RUN_DIR/metrics.jsonl (a line being written is ignored)."""
    path = Path(run_dir) / METRICS_NAME
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            rows.append(json.loads(line))
    return rows


def set_control(run_dir: str | os.PathLike, command: str) -> None:
    """Ask the run's training process to ``run``, ``pause`` or ``stop`` (it checks every step)."""
    assert command in ("run", "pause", "stop"), command
    write_json_atomic(Path(run_dir) / CONTROL_NAME, {"command": command, "time": time.time()})


def snapshot_paths(run_dir: str | os.PathLike) -> list[Path]:
    return sorted((Path(run_dir) / SNAPSHOT_DIR).glob("step_*.png"))


# ----------------------------------------------------------------------------------------------
# Training


_CONTROL_CODES = {"run": 0, "pause": 1, "stop": 2}


class Trainer:
    """The DCGAN loop (the tutorial's update order) writing everything the page shows into ``run_dir``.

    Exact resume: the checkpoint holds G, D, both optimizers, torch/numpy/python RNG states, the
    sampler's generator and permutation, the step, the fixed noise and the config; restoring them
    reproduces an uninterrupted run's losses bit for bit on the same device and thread count.
    Under ``torch.distributed`` (torchrun) the models are wrapped in DDP; rank 0 writes the files.
    """

    def __init__(self, cfg: TrainConfig, data: ImageSet, run_dir: str | os.PathLike, resume: bool = False,
                 take_lock: bool = True):
        cfg.validate()
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.distributed = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.distributed else 0
        self.world = dist.get_world_size() if self.distributed else 1
        self.is_main = self.rank == 0
        if cfg.batch_size % self.world:
            raise ValueError(f"batch_size {cfg.batch_size} must divide evenly over {self.world} processes.")
        if len(data) < cfg.batch_size:
            raise DatasetError(f"{Path(data.source).name} has only {len(data)} usable image(s); training "
                               f"needs at least {cfg.batch_size} (one batch). Add images or lower the "
                               f"batch size.")
        self._threads_before = torch.get_num_threads()
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        if self.distributed and self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", self.rank)))
            torch.cuda.set_device(self.device)
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.lock = RunLock(self.run_dir).acquire() if (take_lock and self.is_main) else None
        try:
            self._setup(data, resume)
        except BaseException:
            self.close()
            raise

    # -- setup -----------------------------------------------------------------------------------

    def _setup(self, data: ImageSet, resume: bool) -> None:
        cfg = self.cfg
        # Every rank builds identical initial weights (DDP also broadcasts them); noise and
        # augmentation then differ per rank.
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        random.seed(cfg.seed)
        g, d = build_models(cfg.model)
        self.G = g.to(self.device, memory_format=self.memory_format)
        self.D = d.to(self.device, memory_format=self.memory_format)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        self.fixed_noise = latent_noise(cfg.n_fixed, cfg.model.latent_dim, cfg.seed + 1)
        # uint8, converted per batch (4x less memory than float); on the GPU to avoid host copies.
        self.data = data.images.to(self.device) if self.device.type == "cuda" else data.images
        self.sampler = EpochSampler(len(data), cfg.batch_size, cfg.seed)
        self.step = 0
        torch.manual_seed(cfg.seed + 1000 * self.rank)
        self.swd: SWDEvaluator | None = None
        self.swd_noise: torch.Tensor | None = None
        self.path = self.run_dir / CHECKPOINT_NAME
        if resume and self.path.exists():
            self.load_checkpoint(self.path)
        elif self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            for stale in (METRICS_NAME, CONTROL_NAME):
                (self.run_dir / stale).unlink(missing_ok=True)
            for old in snapshot_paths(self.run_dir):
                old.unlink()
        if self.is_main:
            self._truncate_metrics_after(self.step)
            write_json_atomic(self.run_dir / "config.json", asdict(cfg))
            set_control(self.run_dir, "run")  # a stale "stop" from an earlier session must not end this one
        self.g_train = self.G
        self.d_train = self.D
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_train = DDP(self.G, device_ids=ids)
            self.d_train = DDP(self.D, device_ids=ids)
        per_rank = cfg.batch_size // self.world
        smooth = 1.0 - cfg.label_smoothing
        self.real_target = torch.full((per_rank,), smooth, device=self.device)
        self.fake_target = torch.zeros(per_rank, device=self.device)
        self.gen_target = torch.ones(per_rank, device=self.device)
        self._ips_window: list[tuple[float, int]] = []
        self._control_mtime = 0.0
        self._control = "run"
        self._last_status_write = 0.0

    def _truncate_metrics_after(self, step: int) -> None:
        # Lines logged after the checkpoint we resume from describe steps that will be redone.
        path = self.run_dir / METRICS_NAME
        if path.exists():
            rows = [r for r in read_metrics(self.run_dir) if r.get("step", 0) <= step]
            atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in rows).encode())
        for snap in snapshot_paths(self.run_dir):
            if int(snap.stem.split("_")[1]) > step:
                snap.unlink()

    # -- checkpoints -----------------------------------------------------------------------------

    def checkpoint_dict(self) -> dict:
        rng = capture_rng_state(self.device)
        if self.distributed:
            gathered: list[Any] = [None] * self.world
            dist.all_gather_object(gathered, rng)
            rng = {"per_rank": gathered}
        return {
            "model": self.G.state_dict(), "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "rng": rng, "sampler": self.sampler.state_dict(), "step": self.step,
            "fixed_noise": self.fixed_noise.clone(), "config": asdict(self.cfg),
            "version": CHECKPOINT_VERSION, "world_size": self.world,
        }

    def save_checkpoint(self) -> None:
        ckpt = self.checkpoint_dict()  # collective under DDP: every rank calls it
        if self.is_main:
            atomic_torch_save(ckpt, self.path)

    def load_checkpoint(self, path: Path) -> None:
        ckpt = require_keys(safe_torch_load(path, map_location=self.device),
                            ["model", "discriminator", "opt_g", "opt_d", "rng", "sampler", "step", "config"],
                            "resumable DCGAN", path.name)
        saved = TrainConfig.from_dict(ckpt["config"])
        if saved.model != self.cfg.model:
            raise CheckpointError(f"{path.name} was trained with a different model config ({saved.model}); "
                                  f"resume with the same architecture or use a new run folder.")
        self.G.load_state_dict(ckpt["model"])
        self.D.load_state_dict(ckpt["discriminator"])
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        self.sampler.load_state_dict({k: (v.cpu() if torch.is_tensor(v) else v)
                                      for k, v in ckpt["sampler"].items()})
        self.fixed_noise = ckpt["fixed_noise"].cpu()
        self.step = int(ckpt["step"])
        rng = ckpt["rng"]
        if "per_rank" in rng:
            rng = rng["per_rank"][self.rank] if self.rank < len(rng["per_rank"]) else rng["per_rank"][0]
        rng = {k: (v.cpu() if torch.is_tensor(v) and k != "cuda" else v) for k, v in rng.items()}
        if "cuda" in rng:
            rng["cuda"] = rng["cuda"].cpu()
        restore_rng_state(rng, self.device)

    # -- one step --------------------------------------------------------------------------------

    def _real_batch(self) -> torch.Tensor:
        idx = self.sampler.next_indices()
        if self.distributed:
            idx = idx[self.rank::self.world]
        x = self.data[idx].to(self.device, non_blocking=True).float().div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=self.memory_format)

    def train_step(self) -> dict[str, float]:
        """One discriminator and one generator update; returns this rank's losses and D outputs."""
        cfg = self.cfg
        real = self._real_batch()
        z = torch.randn(real.shape[0], cfg.model.latent_dim, device=self.device)
        fake = self.g_train(z)
        aug = cfg.diffaugment

        self.opt_d.zero_grad(set_to_none=True)
        out_real = self.d_train(diff_augment(real, aug) if aug else real)
        loss_real = F.binary_cross_entropy_with_logits(out_real, self.real_target)
        loss_real.backward()
        out_fake = self.d_train(diff_augment(fake.detach(), aug) if aug else fake.detach())
        loss_fake = F.binary_cross_entropy_with_logits(out_fake, self.fake_target)
        loss_fake.backward()
        self.opt_d.step()

        self.opt_g.zero_grad(set_to_none=True)
        # D's weight gradients are not needed for the G update; skipping them saves a third of the
        # backward work. DDP expects every registered parameter to get a gradient, so only single-process.
        freeze = not self.distributed
        if freeze:
            self.D.requires_grad_(False)
        out_gen = self.d_train(diff_augment(fake, aug) if aug else fake)
        loss_g = F.binary_cross_entropy_with_logits(out_gen, self.gen_target)
        loss_g.backward()
        if freeze:
            self.D.requires_grad_(True)
        self.opt_g.step()

        with torch.no_grad():
            vals = torch.stack([loss_real + loss_fake, loss_g, torch.sigmoid(out_real).mean(),
                                torch.sigmoid(out_fake).mean(), torch.sigmoid(out_gen).mean()]).tolist()
        return dict(zip(("d_loss", "g_loss", "d_x", "d_gz", "d_gz_g"), vals))

    # -- control and files -----------------------------------------------------------------------

    def _read_control(self) -> str:
        path = self.run_dir / CONTROL_NAME
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return "run"
        if mtime != self._control_mtime:
            self._control_mtime = mtime
            data = read_json(path) or {}
            self._control = data.get("command", "run") if data.get("command") in _CONTROL_CODES else "run"
        return self._control

    def _agree(self, nonfinite: bool) -> tuple[str, bool]:
        """Control command and NaN flag, agreed across ranks (one tiny all-reduce per step)."""
        command = self._read_control() if self.is_main else "run"
        if not self.distributed:
            return command, nonfinite
        flags = torch.tensor([_CONTROL_CODES[command], int(nonfinite)], dtype=torch.int64)
        if self.device.type == "cuda":
            flags = flags.to(self.device)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        code, bad = flags.tolist()
        return {v: k for k, v in _CONTROL_CODES.items()}[code], bool(bad)

    def images_per_second(self) -> float:
        w = self._ips_window
        if len(w) < 2 or w[-1][0] <= w[0][0]:
            return 0.0
        return (w[-1][1] - w[0][1]) * self.cfg.batch_size / (w[-1][0] - w[0][0])

    def write_status(self, state: str, message: str = "", force: bool = True) -> None:
        if not self.is_main:
            return
        now = time.time()
        if not force and now - self._last_status_write < 1.0:
            return
        self._last_status_write = now
        ips = self.images_per_second()
        remaining = max(0, self.cfg.steps - self.step)
        eta = remaining * self.cfg.batch_size / ips if ips > 0 else None
        write_json_atomic(self.run_dir / STATUS_NAME, {
            "state": state, "step": self.step, "steps": self.cfg.steps, "images_per_s": ips, "eta_s": eta,
            "pid": os.getpid(), "world_size": self.world, "device": str(self.device), "message": message,
            "time": now, "checkpoint_step": self._checkpoint_step()})

    def _checkpoint_step(self) -> int | None:
        return getattr(self, "_saved_step", None)

    def _save(self) -> None:
        self.save_checkpoint()
        self._saved_step = self.step

    def snapshot(self) -> np.ndarray:
        """Fixed-noise grid (uint8) at the current step, written to the run folder."""
        grid = make_grid(list(to_uint8(generate(self.G, self.fixed_noise))))
        if self.is_main:
            data = png_bytes(grid)
            atomic_write_bytes(self.run_dir / SNAPSHOT_DIR / f"step_{self.step:07d}.png", data)
            atomic_write_bytes(self.run_dir / LATEST_GRID_NAME, data)
        return grid

    def evaluate_swd(self) -> dict[str, float]:
        cfg = self.cfg
        if self.swd is None:
            n = min(cfg.swd_images, len(self.data))
            pick = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(cfg.seed + 7))[:n]
            self.swd = SWDEvaluator(self.data[pick], seed=cfg.seed + 11)
            self.swd_noise = latent_noise(n, cfg.model.latent_dim, cfg.seed + 13)
        return self.swd(generate(self.G, self.swd_noise))

    def _log(self, row: dict) -> None:
        if self.is_main:
            with open(self.run_dir / METRICS_NAME, "a") as f:
                f.write(json.dumps(row) + "\n")

    # -- main loop -------------------------------------------------------------------------------

    def run(self, until: int | None = None) -> str:
        """Train to ``until`` (default: cfg.steps); returns ``finished``, ``stopped`` or ``nan``."""
        cfg = self.cfg
        until = cfg.steps if until is None else min(until, cfg.steps)
        start_step = self.step
        if self.is_main and self.step == 0:
            self.snapshot()
        self._ips_window = [(time.perf_counter(), self.step)]
        self.write_status("running")
        paused_saved = False
        while self.step < until:
            command, _ = self._agree(False)
            if command == "stop":
                self._save()
                self.write_status("stopped", f"Stopped at step {self.step}; resume continues from here.")
                return "stopped"
            if command == "pause":
                if not paused_saved:
                    self._save()
                    paused_saved = True
                    self.write_status("paused", f"Paused at step {self.step}.")
                time.sleep(0.2)
                self._ips_window = [(time.perf_counter(), self.step)]
                continue
            paused_saved = False
            losses = self.train_step()
            finite = all(math.isfinite(v) for v in losses.values())
            _, bad = self._agree(not finite) if self.distributed else (None, not finite)
            if bad:
                last = self._checkpoint_step()
                msg = (f"Losses became NaN/inf at step {self.step + 1}; training stopped. The last good "
                       f"checkpoint (step {last if last is not None else 'none yet'}) is kept. Try lower "
                       f"learning rates or label smoothing.")
                self.write_status("nan", msg)
                return "nan"
            self.step += 1
            now = time.perf_counter()
            self._ips_window.append((now, self.step))
            if len(self._ips_window) > 50:
                self._ips_window.pop(0)
            row = None
            if self.step % cfg.log_every == 0 or self.step == until:
                row = {"step": self.step, **losses, "images_per_s": self.images_per_second(),
                       "time": time.time()}
            if self.is_main and cfg.swd_every and (self.step % cfg.swd_every == 0 or self.step == cfg.steps):
                row = row or {"step": self.step, **losses, "time": time.time()}
                row.update(self.evaluate_swd())
            if row is not None:
                self._log(row)
            if self.is_main and cfg.snapshot_every and (self.step % cfg.snapshot_every == 0
                                                        or self.step == cfg.steps):
                self.snapshot()
            if self.step % cfg.checkpoint_every == 0:
                self._save()
            self.write_status("running", force=False)
        self._save()
        done = self.step >= cfg.steps
        self.write_status("finished" if done else "stopped",
                          f"{'Finished' if done else 'Stopped'} at step {self.step} "
                          f"({self.step - start_step} steps this session).")
        return "finished" if done else "stopped"

    def close(self) -> None:
        """Release the run folder and restore the caller's thread setting."""
        torch.set_num_threads(self._threads_before)
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def export_generator(checkpoint: str | os.PathLike, dest: str | os.PathLike) -> None:
    """A small inference-only copy (G weights, config, step, fixed noise) of a training checkpoint."""
    ckpt = require_keys(safe_torch_load(checkpoint), ["model", "config", "step"], "DCGAN",
                        Path(checkpoint).name)
    slim = {k: ckpt[k] for k in ("model", "config", "step", "fixed_noise") if k in ckpt}
    slim["version"] = CHECKPOINT_VERSION
    atomic_torch_save(slim, dest)


# ----------------------------------------------------------------------------------------------
# Command line


_NUMERIC_FLAGS = ("batch_size", "lr_g", "lr_d", "beta1", "beta2", "label_smoothing", "seed",
                  "checkpoint_every", "snapshot_every", "swd_every", "swd_images", "log_every", "threads",
                  "n_fixed")


def _add_train_args(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--data", required=True, help="folder of images (any sizes/modes) or an .npz export")
    p.add_argument("--out", required=True, help="run folder (one run per folder)")
    p.add_argument("--arch", choices=["study", "tutorial"], help=f"default {d.model.arch}")
    p.add_argument("--size", type=int, help=f"default {d.model.size}")
    p.add_argument("--steps", type=int, help=f"default {d.steps}")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint.pt")
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a preset; other flags override it")
    p.add_argument("--config", help="start from a TrainConfig JSON file (as written to RUN_DIR/config.json)")
    p.add_argument("--latent-dim", type=int)
    p.add_argument("--g-width", type=int)
    p.add_argument("--d-width", type=int)
    p.add_argument("--d-dropout", type=float)
    for name in _NUMERIC_FLAGS:
        typ = type(getattr(d, name))
        p.add_argument("--" + name.replace("_", "-"), type=typ)
    p.add_argument("--diffaugment", help='e.g. "color,translation,cutout" ("" = off)')
    p.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    p.add_argument("--no-channels-last", action="store_true")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    if getattr(args, "config", None):
        base = asdict(TrainConfig.from_dict(json.loads(Path(args.config).read_text())))
    else:
        base = asdict(preset_config(args.preset)) if args.preset else asdict(TrainConfig())
    for name in ("arch", "size", "latent_dim", "g_width", "d_width", "d_dropout"):
        v = getattr(args, name, None)
        if v is not None:
            base["model"][name] = v
    for name in ("steps", *_NUMERIC_FLAGS, "diffaugment", "device"):
        v = getattr(args, name, None)
        if v is not None:
            base[name] = v
    if args.no_channels_last:
        base["channels_last"] = False
    return TrainConfig.from_dict(base)


def train_main(args: argparse.Namespace) -> int:
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        backend = "nccl" if torch.cuda.is_available() and args.device != "cpu" else "gloo"
        dist.init_process_group(backend)
    trainer = None
    run_dir = Path(args.out)
    try:
        cfg = config_from_args(args)
        if args.resume and (run_dir / CHECKPOINT_NAME).exists():
            saved = safe_torch_load(run_dir / CHECKPOINT_NAME)
            resumed = TrainConfig.from_dict(saved["config"])
            resumed.steps = cfg.steps  # allow extending a finished run
            cfg = resumed
        cfg.validate()
        data = load_dataset(args.data, cfg.model.size, min_images=cfg.batch_size)
        trainer = Trainer(cfg, data, run_dir, resume=args.resume)
        if trainer.is_main:
            print(f"dcgan: {len(data)} images from {data.source} (skipped {len(data.skipped)}), "
                  f"{cfg.model.arch} {cfg.model.size}px, step {trainer.step}/{cfg.steps}, "
                  f"device {trainer.device}, world {trainer.world}", flush=True)
        state = trainer.run()
        if trainer.is_main:
            print(f"dcgan: {state} at step {trainer.step}", flush=True)
        if distributed:
            dist.barrier()  # tear gloo down only once every rank is done with it
        return 0 if state in ("finished", "stopped") else 3
    except (DatasetError, CheckpointError, RunBusyError, ValueError) as e:
        print(f"dcgan: error: {e}", file=sys.stderr, flush=True)
        if not isinstance(e, RunBusyError) and (not distributed or dist.get_rank() == 0):
            with contextlib.suppress(OSError):
                run_dir.mkdir(parents=True, exist_ok=True)
                write_json_atomic(run_dir / STATUS_NAME, {"state": "failed", "message": str(e),
                                                          "pid": os.getpid(), "time": time.time()})
        return 2
    finally:
        if trainer is not None:
            trainer.close()
        if distributed:
            dist.destroy_process_group()


def start_training(data: str | os.PathLike, run_dir: str | os.PathLike, cfg: TrainConfig | None = None,
                   resume: bool = False) -> int:
    """Launch ``python -m core.dcgan train`` as a background job for ``run_dir``; returns its pid.

    The job lives on after page reruns and browser sessions end; control it with :func:`set_control`
    and read it back with :func:`run_state`. Raises RunBusyError if the folder already has a live run.
    """
    from core import jobs

    run_dir = Path(run_dir)
    if run_is_busy(run_dir):
        raise RunBusyError(f"Run folder {run_dir} is busy: a training process is already using it.")
    run_dir.mkdir(parents=True, exist_ok=True)
    args = ["-m", "core.dcgan", "train", "--data", str(data), "--out", str(run_dir)]
    if cfg is not None:
        cfg.validate()
        atomic_write_bytes(run_dir / "requested_config.json", json.dumps(asdict(cfg)).encode())
        args += ["--config", str(run_dir / "requested_config.json")]
    if resume:
        args.append("--resume")
    write_json_atomic(run_dir / STATUS_NAME, {"state": "starting", "step": None, "time": time.time(),
                                              "message": "Starting the training process..."})
    set_control(run_dir, "run")
    return jobs.start_job(args, run_dir)


def run_state(run_dir: str | os.PathLike) -> dict:
    """The run's status.json, corrected when its process died without saying so."""
    from core import jobs

    run_dir = Path(run_dir)
    status = read_json(run_dir / STATUS_NAME) or {"state": "empty", "message": "No run in this folder yet."}
    alive = jobs.job_alive(run_dir) or run_is_busy(run_dir)
    status["alive"] = alive
    if status.get("state") in ("starting", "running", "paused") and not alive:
        info = jobs.job_info(run_dir) or {}
        if status.get("state") != "starting" or time.time() - info.get("started", 0) > 2:
            status["state"] = "crashed"
            status["message"] = ("The training process ended unexpectedly. Last log lines:\n"
                                 + jobs.log_tail(run_dir, 8))
    status["has_checkpoint"] = (run_dir / CHECKPOINT_NAME).exists()
    return status


def sample_main(args: argparse.Namespace) -> int:
    try:
        gen, ckpt = load_generator(args.checkpoint)
    except CheckpointError as e:
        print(f"dcgan: error: {e}", file=sys.stderr)
        return 2
    images = sample(gen, args.n, args.seed)
    atomic_write_bytes(args.out, png_bytes(make_grid(list(images))))
    print(f"dcgan: wrote {args.n} samples (step {ckpt['step']}) to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.dcgan", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train_args(sub.add_parser("train", help="train (or --resume) a DCGAN in a run folder"))
    s = sub.add_parser("sample", help="write a grid of samples from a checkpoint")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--n", type=int, default=16)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True)
    e = sub.add_parser("export", help="write a small generator-only checkpoint")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "train":
        return train_main(args)
    if args.command == "sample":
        return sample_main(args)
    export_generator(args.checkpoint, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
