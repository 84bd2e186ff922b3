"""Hyper-parameters of one StyleGAN2 training run (:class:`TrainConfig`), saved into every checkpoint.

:meth:`TrainConfig.validate` bounds every field, for command-line flags and for configs read back
from a checkpoint being resumed alike, before any network is built.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from core.cli import UserError
from core.stylegan2.config import (
    MAX_CHANNEL_BASE,
    MAX_CHANNELS,
    MAX_LATENT,
    MAX_MAPPING_LAYERS,
    MAX_RESOLUTION,
    check_bool,
    check_float,
    check_int,
    is_power_of_two,
)

MIN_TRAIN_RESOLUTION = 8  # the discriminator needs at least one down-sampling block above 4x4
MAX_INTERVAL = 10 ** 9


@dataclass
class TrainConfig:
    """Hyper-parameters of one run. Defaults suit a small 64 px CPU run on a few thousand faces."""

    resolution: int = 64  # output side in pixels (power of two)
    z_dim: int = 128  # latent size
    w_dim: int = 128  # intermediate latent size
    mapping_layers: int = 2  # depth of the mapping MLP
    g_channel_base: int = 2048  # generator channels at resolution r: min(base // r, max)
    g_channel_max: int = 128
    d_channel_base: int = 2048  # discriminator channels, same rule
    d_channel_max: int = 128
    batch_size: int = 16  # global batch (split evenly over processes)
    g_lr: float = 0.0025
    d_lr: float = 0.0025
    betas: tuple[float, float] = (0.0, 0.99)
    r1_gamma: float = 0.1  # official 'auto' rule: 0.0002 * res**2 / batch -> ~0.05 at 64 px, batch 16
    r1_interval: int = 16  # lazy R1: every N discriminator steps
    pl_weight: float = 0.0  # path-length regularisation weight (0 disables; official uses 2)
    pl_interval: int = 4
    pl_batch_shrink: int = 2
    pl_decay: float = 0.01
    style_mixing_prob: float = 0.9
    w_avg_beta: float = 0.995  # decay of the tracked mean W used by the truncation trick
    ema_kimg: float = 5.0  # half-life of the generator EMA in thousands of images
    ema_rampup: float | None = 0.05  # EMA half-life is at most this fraction of images seen so far
    mbstd_group: int = 4
    augment: bool = True
    augment_p: float = 0.0  # initial augmentation probability
    ada_target: float = 0.6  # r_t value that ADA steers towards
    ada_interval: int = 4  # adjust p every N steps
    ada_kimg: float = 100.0  # kimg for p to move from 0 to 1 (official: 500; shorter runs need faster)
    mirror: bool = True  # random x-flips of the training images (a dataset mirror, not leaking)
    seed: int = 0
    kimg: float = 10.0  # length of training in thousands of real images shown
    snapshot_kimg: float = 1.0  # checkpoint + sample grid every this many kimg
    max_images: int | None = None  # use at most this many training images

    def generator_kwargs(self) -> dict[str, Any]:
        """Constructor kwargs of :class:`core.stylegan2.Generator` (the official argument names)."""
        return dict(z_dim=self.z_dim, c_dim=0, w_dim=self.w_dim, img_resolution=self.resolution,
                    img_channels=3, mapping_kwargs={"num_layers": self.mapping_layers},
                    synthesis_kwargs={"channel_base": self.g_channel_base, "channel_max": self.g_channel_max,
                                      "num_fp16_res": 0, "conv_clamp": None})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """A config from a checkpoint's ``config`` dict (unknown keys from newer versions are ignored)."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if isinstance(kw.get("betas"), (list, tuple)):
            kw["betas"] = tuple(kw["betas"])
        return cls(**kw)

    def validate(self, error: type[ValueError] = UserError) -> TrainConfig:
        """Raise ``error`` naming the first field outside its bounds; return self when all are sane."""
        res = check_int(self.resolution, "resolution", MIN_TRAIN_RESOLUTION, MAX_RESOLUTION, error)
        if not is_power_of_two(res):
            raise error(f"'resolution' = {res} is not a power of two "
                        f"({MIN_TRAIN_RESOLUTION}..{MAX_RESOLUTION})")
        check_int(self.z_dim, "z_dim", 1, MAX_LATENT, error)
        check_int(self.w_dim, "w_dim", 1, MAX_LATENT, error)
        check_int(self.mapping_layers, "mapping_layers", 1, MAX_MAPPING_LAYERS, error)
        for side in ("g", "d"):
            base = check_int(getattr(self, f"{side}_channel_base"), f"{side}_channel_base", 1,
                             MAX_CHANNEL_BASE, error)
            check_int(getattr(self, f"{side}_channel_max"), f"{side}_channel_max", 1, MAX_CHANNELS, error)
            if base < res:
                raise error(f"'{side}_channel_base' = {base} leaves no channels at {res} px "
                            "(it must be at least the resolution)")
        check_int(self.batch_size, "batch_size", 1, 4096, error)
        check_float(self.g_lr, "g_lr", 0, 10, error, open_low=True)
        check_float(self.d_lr, "d_lr", 0, 10, error, open_low=True)
        if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2:
            raise error(f"'betas' must be two numbers, not {self.betas!r}"[:120])
        for i, b in enumerate(self.betas):
            if check_float(b, f"betas[{i}]", 0, 1, error) >= 1:
                raise error(f"'betas[{i}]' = {b} must be below 1")
        check_float(self.r1_gamma, "r1_gamma", 0, 1e6, error)
        check_float(self.pl_weight, "pl_weight", 0, 1e6, error)
        for name in ("r1_interval", "pl_interval", "ada_interval"):
            check_int(getattr(self, name), name, 1, MAX_INTERVAL, error)
        check_int(self.pl_batch_shrink, "pl_batch_shrink", 1, 4096, error)
        for name in ("pl_decay", "style_mixing_prob", "w_avg_beta", "augment_p", "ada_target"):
            check_float(getattr(self, name), name, 0, 1, error)
        check_float(self.ema_kimg, "ema_kimg", 0, 1e6, error)
        if self.ema_rampup is not None:
            check_float(self.ema_rampup, "ema_rampup", 0, 1e3, error)
        check_int(self.mbstd_group, "mbstd_group", 1, 4096, error)
        check_bool(self.augment, "augment", error)
        check_bool(self.mirror, "mirror", error)
        check_float(self.ada_kimg, "ada_kimg", 0, 1e6, error, open_low=True)
        check_int(self.seed, "seed", 0, 2 ** 32 - 1, error)
        check_float(self.kimg, "kimg", 0, 1e6, error, open_low=True)
        check_float(self.snapshot_kimg, "snapshot_kimg", 0, 1e6, error, open_low=True)
        if self.max_images is not None:
            check_int(self.max_images, "max_images", 1, 10 ** 8, error)
        return self
