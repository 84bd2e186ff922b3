"""Typed DCGAN configs, the page's presets, and the bounds every field must meet before anything is built.

Configs also arrive from files (``--config`` JSON, a checkpoint's ``config``), so
:func:`model_config_from_dict` and :meth:`TrainConfig.from_saved` check types and bounds field by
field: a checkpoint claiming ``latent_dim`` 10**6 or ``size`` 2**20 is refused with one sentence, never
allocated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

import torch

from core import CHECKPOINTS_DIR, checks
from core.checks import Bound
from core.dcgan.augment import AUGMENTS, augment_policy
from core.teacher import TEACHER_NAMES, TEACHER_Z_DIM

STUDY_SIZES = (32, 64, 96, 128)
TUTORIAL_SIZES = (32, 64)

# Inclusive unless an end is open. The upper bounds keep the largest network near 300 MB of weights: far
# beyond the presets, far below a runaway allocation. The types come from the dataclass fields.
MODEL_BOUNDS: dict[str, Bound] = {
    "latent_dim": Bound(1, 1024), "g_width": Bound(4, 512), "d_width": Bound(4, 512),
    "d_dropout": Bound(0.0, 1.0, open_high=True)}
TRAIN_BOUNDS: dict[str, Bound] = {
    "steps": Bound(1, 10**9), "batch_size": Bound(2, 4096), "lr_g": Bound(0.0, 1.0, open_low=True),
    "lr_d": Bound(0.0, 1.0, open_low=True), "beta1": Bound(0.0, 1.0, open_high=True),
    "beta2": Bound(0.0, 1.0, open_high=True), "label_smoothing": Bound(0.0, 0.5, open_high=True),
    "seed": Bound(0, 2**62), "checkpoint_every": Bound(1, 10**9), "snapshot_every": Bound(0, 10**9),
    "swd_every": Bound(0, 10**9), "swd_images": Bound(2, 10_000), "log_every": Bound(1, 10**9),
    "n_fixed": Bound(1, 256), "threads": Bound(0, 1024), "rec_steps": Bound(0, 10**9),
    "rec_weight": Bound(0.0, 1000.0), "real_min_score": Bound(0.0, 0.99), "d_warmup_steps": Bound(0, 10**9)}
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d{1,2})?)$")
# Extra snapshots early in a run, where the regular interval would leave the page without a new picture
# for minutes; only those at most a quarter of ``snapshot_every`` are taken (50 -> 1, 10; 200 -> 1-50).
EARLY_SNAPSHOTS = (1, 10, 25, 50, 100, 250, 500, 1000)


class ConfigError(ValueError):
    """A config value is missing, of the wrong type or out of bounds. The message is for users."""


def _check_field(owner: str, name: str, value: Any, expected: str) -> None:
    # Plain Python values only: the config is saved in checkpoints that weights_only=True must open.
    ok = {"int": checks.whole_number(value, plain=True) is not None,
          "float": checks.real_number(value, plain=True),
          "str": isinstance(value, str), "bool": isinstance(value, bool)}[expected]
    if not ok:
        kind = {"int": "a whole number", "float": "a number", "str": "text", "bool": "true/false"}[expected]
        raise ConfigError(f"{owner}.{name} must be {kind}, not {value!r:.40}.")
    bound = {**MODEL_BOUNDS, **TRAIN_BOUNDS}.get(name)
    if bound is not None and not bound.admits(value):
        lo_s = f"> {bound.lo}" if bound.open_low else f">= {bound.lo}"
        hi_s = f"< {bound.hi}" if bound.open_high else f"<= {bound.hi}"
        raise ConfigError(f"{name} must be {lo_s} and {hi_s}, not {checks.shown(value)}.")


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
            raise ConfigError(f"Unknown architecture {self.arch!r}: choose 'study' or 'tutorial'.")
        for f in fields(self):
            if f.name != "arch":
                _check_field("model", f.name, getattr(self, f.name), str(f.type))
        sizes = STUDY_SIZES if self.arch == "study" else TUTORIAL_SIZES
        if self.size not in sizes:
            raise ConfigError(f"The {self.arch} architecture supports sizes {sizes}, not {self.size}.")


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    steps: int = 2000            # total optimizer steps (one D and one G update each)
    batch_size: int = 64         # global batch; split evenly across DDP ranks
    lr_g: float = 2e-4           # Adam learning rate of the generator
    lr_d: float = 2e-4           # Adam learning rate of the discriminator
    beta1: float = 0.5           # Adam beta1 (the DCGAN paper's 0.5)
    beta2: float = 0.999         # Adam beta2
    label_smoothing: float = 0.0  # one-sided: real target = 1 - label_smoothing
    diffaugment: str = ""        # comma list of "color", "translation", "cutout" ("" = off)
    seed: int = 0                # weights, data order, noise and augmentation all derive from it
    checkpoint_every: int = 200  # steps between checkpoints (also on pause/stop/finish)
    snapshot_every: int = 50     # steps between fixed-noise grid snapshots (time-lapse frames; 0 = off),
    #                              plus the dense early ones of EARLY_SNAPSHOTS (see snapshot_due)
    swd_every: int = 500         # steps between SWD evaluations (0 = off)
    swd_images: int = 256        # fixed real/fake sample size for SWD
    log_every: int = 10          # steps between metrics.jsonl lines
    n_fixed: int = 16            # fixed-noise grid size
    threads: int = 0             # torch intra-op threads (0 = leave as is)
    channels_last: bool = True   # NHWC memory format: faster convs on CPU (oneDNN)
    device: str = "auto"         # "auto" (core.device: CUDA, then MPS, then CPU), "cpu", "cuda", "mps"
    # Teacher runs (core.dcgan.teacher_trainer): D's reals are fresh samples of a teacher generator instead
    # of the data set, which then only serves as the SWD reference. Older configs lack these fields; they
    # default to a plain data-set run.
    teacher: str = ""            # "" = train on the data set; "gan-face-generate" = the teacher stream
    rec_steps: int = 0           # teacher runs: regression-only warm start (G(z) onto teacher(z)), in steps
    rec_weight: float = 0.0      # teacher runs, after the warm start: weight of that regression in G's loss
    real_min_score: float = 0.0  # teacher runs: D's reals score >= this on the face detector (0 = all)
    amp_bf16: bool = False       # G and D passes under bf16 autocast (losses and Adam in fp32)
    # A fresh run may start from a trained generator export (G weights and its fixed noise) instead of
    # random weights: the live preset shows faces at once and continues the bundled run on the chosen
    # images. Its new discriminator first learns alone for d_warmup_steps, so that it does not push the
    # trained generator around while it still knows nothing.
    init_generator: str = ""     # "" = random weights; else a generator file (python -m core.dcgan export)
    d_warmup_steps: int = 0      # steps at the start of a run in which only D is updated

    def validate(self) -> None:
        if not isinstance(self.model, ModelConfig):
            raise ConfigError(f"model must be a ModelConfig, not {type(self.model).__name__}.")
        self.model.validate()
        for f in fields(self):
            if f.name not in ("model", "diffaugment", "device", "teacher", "init_generator"):
                _check_field("config", f.name, getattr(self, f.name), str(f.type))
        if not isinstance(self.diffaugment, str):
            raise ConfigError(f"diffaugment must be a string, not {self.diffaugment!r:.40}.")
        unknown = set(augment_policy(self.diffaugment)) - set(AUGMENTS)
        if unknown:
            raise ConfigError(f"Unknown DiffAugment ops {sorted(unknown)}; use {sorted(AUGMENTS)}.")
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            raise ConfigError(f"device must be 'auto', 'cpu', 'mps', 'cuda' or 'cuda:N', "
                              f"not {self.device!r:.40}.")
        if not isinstance(self.init_generator, str) or len(self.init_generator) > 4096:
            raise ConfigError(f"init_generator must be a file path or empty, not "
                              f"{self.init_generator!r:.40}.")
        if self.teacher not in ("", *TEACHER_NAMES):
            raise ConfigError(f"teacher must be one of {list(TEACHER_NAMES)} or empty, "
                              f"not {self.teacher!r:.40}.")
        if self.teacher and (self.model.latent_dim != TEACHER_Z_DIM or self.model.size != 64):
            raise ConfigError(f"A teacher run needs latent_dim {TEACHER_Z_DIM} and size 64 (the teacher's "
                              "own z and resolution: seed s then means the same face for both).")

    def snapshot_due(self, step: int) -> bool:
        """Whether the trainer writes a fixed-noise snapshot after ``step``: every ``snapshot_every``
        steps, at the last step, and early at those EARLY_SNAPSHOTS steps that are at most a quarter of
        the interval (so the first picture of a run comes after one step, not after a whole interval)."""
        every = self.snapshot_every
        if not every:
            return False
        return step % every == 0 or step == self.steps or (step in EARLY_SNAPSHOTS and 4 * step <= every)

    @staticmethod
    def from_dict(d: dict) -> TrainConfig:
        """Lenient: unknown keys are dropped and missing ones take defaults (for the page's own files)."""
        d = dict(d)
        model = ModelConfig(**{k: v for k, v in dict(d.pop("model", {}) or {}).items()
                               if k in {f.name for f in fields(ModelConfig)}})
        known = {f.name for f in fields(TrainConfig)}
        return TrainConfig(model=model, **{k: v for k, v in d.items() if k in known and k != "model"})

    @staticmethod
    def from_saved(d: Any, source: str) -> TrainConfig:
        """Strict: every field must be present and valid (a checkpoint's or a run's saved config)."""
        model = model_config_from_dict(d.get("model") if isinstance(d, dict) else None, source)
        d = {**TEACHER_DEFAULTS, **d} if isinstance(d, dict) else d  # runs saved before teacher runs existed
        missing = [f.name for f in fields(TrainConfig) if f.name not in d]
        if missing:
            raise ConfigError(f"{source}: the saved config lacks {missing}; it was not written by this "
                              "DCGAN trainer, so its settings cannot be trusted.")
        cfg = TrainConfig(model=model, **{f.name: d[f.name] for f in fields(TrainConfig)[1:]})
        try:
            cfg.validate()
        except ConfigError as e:
            raise ConfigError(f"{source}: invalid saved config: {e}") from None
        return cfg


TEACHER_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)
                    if f.name in ("teacher", "rec_steps", "rec_weight", "real_min_score", "amp_bf16",
                                  "init_generator", "d_warmup_steps")}


def model_config_from_dict(d: Any, source: str) -> ModelConfig:
    """A validated ModelConfig from a saved dict; refuses missing, mistyped or out-of-bounds fields."""
    if not isinstance(d, dict):
        raise ConfigError(f"{source}: no DCGAN model config (found {type(d).__name__}).")
    missing = [f.name for f in fields(ModelConfig) if f.name not in d]
    if missing:
        raise ConfigError(f"{source}: the model config lacks {missing}; not a DCGAN checkpoint of this "
                          "project.")
    cfg = ModelConfig(**{f.name: d[f.name] for f in fields(ModelConfig)})
    try:
        cfg.validate()
    except ConfigError as e:
        raise ConfigError(f"{source}: invalid model config: {e}") from None
    return cfg


PRESETS: dict[str, dict[str, Any]] = {
    # Faces at once on 2 CPU cores: continues the bundled generator (76 min of training, see
    # checkpoints/README.md) on the chosen images; its fresh discriminator learns alone for the first steps.
    # The page says so; the recorded time-lapse beside it shows how those faces came out of noise.
    "live demo": dict(model=dict(arch="tutorial", size=64, latent_dim=100, g_width=64, d_width=64),
                      init_generator=str(CHECKPOINTS_DIR / "dcgan_demo.pt"), d_warmup_steps=20,
                      steps=1000, batch_size=16, lr_g=2e-5, lr_d=1e-4, snapshot_every=10, swd_every=100,
                      swd_images=128, log_every=5, checkpoint_every=100, diffaugment="translation"),
    # From random weights: 32 px, small widths and batch, a new picture every 10 steps (a snapshot costs
    # about a twentieth of a step). Faces take tens of minutes on 2 CPU cores.
    "from scratch (small)": dict(model=dict(arch="tutorial", size=32, latent_dim=64, g_width=32, d_width=32),
                                 steps=3000, batch_size=32, snapshot_every=10, swd_every=200, swd_images=128,
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


def bf16_is_fast(device: torch.device) -> bool:
    """Whether bf16 autocast pays on ``device``: CPUs with native bf16 units (AVX512-BF16 / AMX: the
    live-demo preset trains x1.8-2.0 faster, same SWD curve) and bf16-capable GPUs; elsewhere it is
    emulated and slower."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_device(name: str | None = "auto") -> torch.device:
    """The studio's one device choice (core.device): 'auto' is $CUSTOM_CAST_DEVICE, else CUDA, MPS, CPU;
    a device this machine lacks is a one-line DeviceError."""
    from core.device import choose_device

    return torch.device(choose_device(None if name in (None, "auto") else name).device)
