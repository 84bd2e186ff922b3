"""Hyper-parameters of one StyleGAN2 training run (:class:`TrainConfig`), saved into every checkpoint.

:meth:`TrainConfig.validate` bounds every field, for command-line flags and for configs read back
from a checkpoint being resumed alike, before any network is built.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from core import checks
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
from core.teacher import TEACHER_Z_DIM

MIN_TRAIN_RESOLUTION = 8  # the discriminator needs at least one down-sampling block above 4x4
MAX_INTERVAL = 10 ** 9
BETA = checks.Bound(0, 1, open_high=True)  # an Adam beta: [0, 1)


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




@dataclass
class DistillConfig:
    """Hyper-parameters of a teacher-stream run (:mod:`core.stylegan2.training.distill`).

    Defaults are the recipe of the bundled teacher student: a 64 px G of 4.5 M parameters (channels
    256-256-256-128-64) taking the teacher's own z, a 1.5 M-parameter D. Fields in
    :data:`DISTILL_SCHEDULE_FIELDS` may change when a run is resumed; the others define the networks.
    """

    resolution: int = 64  # output side in pixels (the teacher's)
    z_dim: int = TEACHER_Z_DIM  # must equal the teacher's z size: seed s gives both the same z
    w_dim: int = 256
    mapping_layers: int = 4
    g_channel_base: int = 4096  # G channels at resolution r: min(base // r, max) -> 256-256-256-128-64
    g_channel_max: int = 256
    d_channel_base: int = 4096  # D channels, same rule -> 64 at 64 px, 128 below
    d_channel_max: int = 128
    mbstd_group: int = 4
    batch_size: int = 8
    seed: int = 0
    # phase A (warm start): multi-scale L1 regression of G(z) onto teacher(z)
    g_lr: float = 0.002
    # The mapping MLP's learning rate is g_lr x its 0.01 lr multiplier x this. The regression must reshape
    # z -> w quickly; at 1 (the paper's setting) the mapping barely moves and L1 stalled near 0.28 for
    # 17 kimg, at 100 it passed 0.27 within 3.2 kimg (same network, same stream).
    mapping_lr_scale: float = 100.0
    g_betas_rec: tuple[float, float] = (0.9, 0.99)  # momentum helps plain regression converge
    rec_scales: tuple[int, ...] = ()  # resolutions of the multi-scale L1; () = res, res/2, res/4, res/8
    phase_a_kimg: float = 17.0  # regression only until this many kimg, then phase B
    # D learns (teacher vs student, lazy R1) from this kimg on, also during phase A: the GAN loss of phase B
    # then meets a D that already knows what the regression gets wrong (a D started cold at phase B tore
    # the warm-started faces into noise in the first run, as it did for the DCGAN).
    d_start_kimg: float = 0.0
    # phase B: rec_weight * regression + adv_weight * non-saturating GAN loss, lazy R1 on D
    g_betas_gan: tuple[float, float] = (0.0, 0.99)  # StyleGAN2's betas once D is in the loop
    d_lr: float = 0.002
    rec_weight: float = 0.5
    adv_weight: float = 1.0
    r1_gamma: float = 0.1
    r1_interval: int = 16
    # > 0: D's reals are fresh teacher samples whose SmallFaceScorer score is at least this (D then also
    # rejects the teacher's broken faces); 0: the teacher images of the batch's own z.
    real_min_score: float = 0.8
    ema_kimg: float = 2.0  # half-life of the exported G EMA
    ema_rampup: float = 0.05
    w_avg_beta: float = 0.995
    amp_bf16: bool = True  # G and D passes under bf16 autocast (losses, R1 and Adam stay fp32)
    # Noise inputs of the synthesis layers at these resolutions are held at zero strength (projected after
    # every G update, in G and G_ema). The third run's student leaned on its 32 px noise alone (strength
    # 0.025, every other layer ~0.001), and the sampler's fixed 'const' noise pattern then drew the same
    # horizontal streaks through every face's eyes; with it silenced G must draw that detail itself.
    silent_noise_res: tuple[int, ...] = ()
    kimg: float = 10_000.0  # stop after this many kimg
    checkpoint_minutes: float = 4.0
    snapshot_minutes: float = 20.0  # exported G_ema snapshots for bench/bench_quality.py
    log_every: int = 50  # steps

    def rec_levels(self) -> tuple[int, ...]:
        """The multi-scale L1's resolutions (64/32/16/8 at 64 px by default)."""
        return tuple(self.rec_scales) or tuple(self.resolution >> k for k in range(4) if self.resolution >> k)

    def generator_kwargs(self) -> dict[str, Any]:
        """Constructor kwargs of :class:`core.stylegan2.Generator` (the official argument names)."""
        return TrainConfig.generator_kwargs(self)  # type: ignore[arg-type]  # same field names

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DistillConfig:
        """A config from a checkpoint's ``config`` (the scratch script's extra keys are ignored)."""
        known = {f.name for f in fields(cls)}
        # runs stored before these fields existed trained at the paper's mapping rate, with D from phase B
        d = {"mapping_lr_scale": 1.0, "d_start_kimg": d.get("phase_a_kimg", cls.phase_a_kimg), **d}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in known})

    def validate(self, error: type[ValueError] = UserError) -> DistillConfig:
        """Raise ``error`` naming the first field outside its bounds; return self when all are sane."""
        res = check_int(self.resolution, "resolution", MIN_TRAIN_RESOLUTION, MAX_RESOLUTION, error)
        if not is_power_of_two(res):
            raise error(f"'resolution' = {res} is not a power of two")
        check_int(self.z_dim, "z_dim", 1, MAX_LATENT, error)
        check_int(self.w_dim, "w_dim", 1, MAX_LATENT, error)
        check_int(self.mapping_layers, "mapping_layers", 1, MAX_MAPPING_LAYERS, error)
        for side in ("g", "d"):
            if check_int(getattr(self, f"{side}_channel_base"), f"{side}_channel_base", 1,
                         MAX_CHANNEL_BASE, error) < res:
                raise error(f"'{side}_channel_base' must be at least the resolution ({res})")
            check_int(getattr(self, f"{side}_channel_max"), f"{side}_channel_max", 1, MAX_CHANNELS, error)
        check_int(self.mbstd_group, "mbstd_group", 1, 4096, error)
        check_int(self.batch_size, "batch_size", 1, 4096, error)
        check_int(self.seed, "seed", 0, 2 ** 20, error)
        for name in ("g_lr", "d_lr"):
            check_float(getattr(self, name), name, 0, 10, error, open_low=True)
        for name in ("g_betas_rec", "g_betas_gan"):
            betas = getattr(self, name)
            if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(
                    checks.real_number(b) and BETA.admits(b) for b in betas):
                raise error(f"'{name}' must be two numbers in [0, 1), not {checks.shown(betas)}")
        if any(not isinstance(s, int) or s < 1 or res % s for s in self.rec_levels()):
            raise error(f"'rec_scales' must be divisors of {res}, not {self.rec_scales!r}"[:120])
        check_float(self.mapping_lr_scale, "mapping_lr_scale", 0, 1e4, error, open_low=True)
        for name in ("phase_a_kimg", "d_start_kimg", "rec_weight", "adv_weight", "r1_gamma", "ema_kimg",
                     "ema_rampup"):
            check_float(getattr(self, name), name, 0, 1e6, error)
        check_int(self.r1_interval, "r1_interval", 1, MAX_INTERVAL, error)
        check_float(self.real_min_score, "real_min_score", 0, 0.99, error)
        check_float(self.w_avg_beta, "w_avg_beta", 0, 1, error)
        check_bool(self.amp_bf16, "amp_bf16", error)
        synthesis_res = {4 << k for k in range(res.bit_length()) if 4 << k <= res}
        if not isinstance(self.silent_noise_res, (tuple, list)) or any(
                not isinstance(r, int) or r not in synthesis_res for r in self.silent_noise_res):
            allowed = ", ".join(map(str, sorted(synthesis_res)))
            raise error(f"'silent_noise_res' must be synthesis resolutions ({allowed}), "
                        f"not {self.silent_noise_res!r}"[:160])
        check_float(self.kimg, "kimg", 0, 1e6, error, open_low=True)
        check_float(self.checkpoint_minutes, "checkpoint_minutes", 0, 1e6, error, open_low=True)
        check_float(self.snapshot_minutes, "snapshot_minutes", 0, 1e6, error, open_low=True)
        check_int(self.log_every, "log_every", 1, MAX_INTERVAL, error)
        return self


# May change when a teacher-stream run is resumed (the rest define the networks and the streams).
DISTILL_SCHEDULE_FIELDS = ("g_lr", "mapping_lr_scale", "g_betas_rec", "g_betas_gan", "d_lr", "rec_scales",
                           "phase_a_kimg", "d_start_kimg", "rec_weight", "adv_weight", "r1_gamma",
                           "r1_interval", "real_min_score", "ema_kimg", "ema_rampup", "amp_bf16",
                           "silent_noise_res", "kimg", "checkpoint_minutes", "snapshot_minutes", "log_every")
