"""Training loop for the project's own StyleGAN2 (Karras et al., "Analyzing and Improving the Image
Quality of StyleGAN", CVPR 2020) with ADA-style augmentation (Karras et al., "Training Generative
Adversarial Networks with Limited Data", NeurIPS 2020).

What is here, all written for this project:

* :class:`TrainConfig`: every hyper-parameter of a run, saved into each checkpoint.
* :class:`Discriminator`: the StyleGAN2 residual discriminator (equalised learning rate, FIR blur
  before every stride-2 convolution, minibatch standard deviation in the 4x4 epilogue).
* :class:`AugmentPipe`: differentiable augmentations (flip, 90-degree rotation, integer and fractional
  translation, isotropic / anisotropic scaling, rotation, brightness, contrast, saturation), each applied
  to a sample with probability ``p``; ``p`` is tuned during training by the ADA overfitting heuristic
  ``r_t = E[sign(D(real))]``.
* :class:`Trainer`: non-saturating logistic loss, lazy R1 on reals, optional lazy path-length
  regularisation, style mixing, EMA of the generator, atomic checkpoints with resume, and data
  parallelism over ``torch.distributed`` (gradients averaged by all-reduce) when launched by ``torchrun``.
* :func:`export_generator`: writes the EMA generator in the project's checkpoint format that
  :func:`core.stylegan2.load_generator` opens.

The generator itself is :class:`core.stylegan2.Generator` (official tensor names), so a model trained
here can be opened by every tool that opens the official weights.

CLI::

    python -m core.stylegan2_train --data faces64.npz --res 64 --kimg 20 --out runs/sg2 [--resume]
    torchrun --nproc_per_node 2 -m core.stylegan2_train ...     # data parallel (gloo on CPU)
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.checkpoint import CheckpointError, atomic_torch_save, require_keys, safe_torch_load

TRAIN_CHECKPOINT_VERSION = 1
GENERATOR_EXPORT_VERSION = 1
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


# --------------------------------------------------------------------------------------------------
# Configuration


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
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "betas" in kw:
            kw["betas"] = tuple(kw["betas"])
        return cls(**kw)


# --------------------------------------------------------------------------------------------------
# Low-level ops shared by the discriminator and the augmentations


def _fir_filter() -> torch.Tensor:
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = torch.outer(f, f)
    return f / f.sum()


def _blur(x: torch.Tensor, f: torch.Tensor, pad: int) -> torch.Tensor:
    """Depthwise FIR low-pass (the anti-aliasing filter StyleGAN2 puts before every down-sampling)."""
    c = x.shape[1]
    x = F.pad(x, [pad, pad, pad, pad])
    return F.conv2d(x, f.to(x.dtype).flip([0, 1])[None, None].repeat(c, 1, 1, 1), groups=c)


class EqualConv2d(nn.Module):
    """Conv with equalised learning rate (weights ~ N(0,1), scaled by 1/sqrt(fan_in) at run time).

    ``down=True`` blurs first and then convolves with stride 2, as in StyleGAN2's discriminator.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: bool = True, down: bool = False, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.activation = activation  # leaky ReLU(0.2) * sqrt(2) keeps unit variance
        self.gain = gain  # output scale after the activation (sqrt(0.5) on both residual branches)
        self.down = down
        self.kernel_size = kernel_size
        self.register_buffer("resample_filter", _fir_filter())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.weight_gain
        if self.down:
            # FIR padding chosen so that a 3x3 (or 1x1) stride-2 conv maps H to H/2 exactly.
            x = _blur(x, self.resample_filter, pad=(self.kernel_size + 1) // 2)
            x = F.conv2d(x, w, stride=2) if self.kernel_size > 1 else F.conv2d(x[:, :, ::2, ::2], w)
        else:
            x = F.conv2d(x, w, padding=self.kernel_size // 2)
        if self.bias is not None:
            x = x + self.bias.reshape(1, -1, 1, 1)
        if self.activation:
            x = F.leaky_relu(x, 0.2) * math.sqrt(2)
        return x * self.gain if self.gain != 1 else x


class EqualLinear(nn.Module):
    """Fully connected layer with equalised learning rate."""

    def __init__(self, in_features: int, out_features: int, activation: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.weight_gain = 1.0 / math.sqrt(in_features)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias)
        return F.leaky_relu(x, 0.2) * math.sqrt(2) if self.activation else x


class Adam:
    """Plain Adam (Kingma & Ba 2015) with a weights_only-safe state dict.

    ``torch.optim`` pulls in ``torch._dynamo`` on first use, which costs ~10 s of start-up per process on
    a loaded 2-core machine (every DDP worker pays it); this loop needs nothing beyond textbook Adam.
    """

    def __init__(self, params: list[nn.Parameter], lr: float, betas: tuple[float, float], eps: float = 1e-8):
        self.params = params
        self.lr, self.betas, self.eps = lr, tuple(betas), eps
        self.t = 0
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]

    def zero_grad(self, set_to_none: bool = False) -> None:
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        bias1, bias2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq):
            if p.grad is None:
                continue
            m.lerp_(p.grad, 1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            denom = (v / bias2).sqrt_().add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / bias1)

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "lr": self.lr, "betas": list(self.betas), "eps": self.eps,
                "exp_avg": [m.clone() for m in self.exp_avg],
                "exp_avg_sq": [v.clone() for v in self.exp_avg_sq]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "state" in state and "param_groups" in state:  # a torch.optim.Adam state dict (older runs)
            per_param = state["state"]
            assert len(per_param) in (0, len(self.params)), "optimizer state does not match the model"
            state = {"t": int(per_param[0]["step"]) if per_param else 0,
                     "exp_avg": [per_param[i]["exp_avg"] for i in range(len(per_param))],
                     "exp_avg_sq": [per_param[i]["exp_avg_sq"] for i in range(len(per_param))]}
            if not per_param:
                return
        assert len(state["exp_avg"]) == len(self.params), "optimizer state does not match the model"
        self.t = int(state["t"])
        for dst, src in zip(self.exp_avg + self.exp_avg_sq, state["exp_avg"] + state["exp_avg_sq"]):
            dst.copy_(src)


# --------------------------------------------------------------------------------------------------
# Discriminator


class DiscriminatorBlock(nn.Module):
    """Residual block: two 3x3 convs (the second one down-samples) plus a 1x1 down-sampling skip.

    The sum is scaled by sqrt(0.5) so the block keeps unit variance (StyleGAN2 'resnet' D).
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3, down=True, gain=math.sqrt(0.5))
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False, activation=False, down=True,
                                gain=math.sqrt(0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.skip(x)
        x = self.conv1(self.conv0(x))
        return y + x  # both branches already carry the sqrt(0.5) gain


class Discriminator(nn.Module):
    """StyleGAN2 residual discriminator with a minibatch-stddev epilogue (unconditional).

    Args:
        img_resolution: input side (power of two, >= 8).
        img_channels: input channels (3).
        channel_base, channel_max: channels at resolution r are ``min(channel_base // r, channel_max)``.
        mbstd_group: group size for the minibatch standard deviation feature.
    """

    def __init__(self, img_resolution: int, img_channels: int = 3, channel_base: int = 2048,
                 channel_max: int = 128, mbstd_group: int = 4):
        super().__init__()
        assert img_resolution >= 8 and img_resolution & (img_resolution - 1) == 0, img_resolution
        self.img_resolution = img_resolution
        self.mbstd_group = mbstd_group
        log2 = int(math.log2(img_resolution))
        ch = {2 ** i: min(channel_base // 2 ** i, channel_max) for i in range(2, log2 + 1)}
        self.from_rgb = EqualConv2d(img_channels, ch[img_resolution], 1)
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(ch[2 ** i], ch[2 ** (i - 1)]) for i in range(log2, 2, -1))
        c4 = ch[4]
        self.epilogue_conv = EqualConv2d(c4 + 1, c4, 3)
        self.epilogue_fc = EqualLinear(c4 * 16, c4)
        self.out = EqualLinear(c4, 1, activation=False)

    def minibatch_stddev(self, x: torch.Tensor) -> torch.Tensor:
        """Append the average per-group standard deviation as one extra feature map."""
        n, c, h, w = x.shape
        g = min(self.mbstd_group, n)
        while n % g:  # odd tail batches: largest group size that divides the batch
            g -= 1
        y = x.reshape(g, -1, c, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt()
        y = y.mean(dim=[1, 2, 3]).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        """NCHW images in [-1, 1] -> logits of shape [N, 1]."""
        assert img.ndim == 4 and img.shape[2] == img.shape[3] == self.img_resolution, tuple(img.shape)
        x = self.from_rgb(img)
        for block in self.blocks:
            x = block(x)
        x = self.epilogue_conv(self.minibatch_stddev(x))
        return self.out(self.epilogue_fc(x.flatten(1)))


# --------------------------------------------------------------------------------------------------
# ADA-style augmentation


class AugmentPipe(nn.Module):
    """Differentiable augmentations applied with probability ``p`` each (ADA, Karras et al. 2020).

    Every transform is invertible-in-distribution at p < ~0.8, so the generator cannot learn to produce
    augmented images ("non-leaking"); gradients flow through ``grid_sample`` and the colour matrix, so
    the same pipeline is applied to real and generated images before the discriminator.
    """

    def __init__(self, xflip: float = 1, rotate90: float = 1, xint: float = 1, scale: float = 1,
                 rotate: float = 1, aniso: float = 1, xfrac: float = 1, brightness: float = 1,
                 contrast: float = 1, saturation: float = 1):
        super().__init__()
        # per-transform multipliers of p (official 'bgc' set: blit + geometric + colour)
        self.weights = dict(xflip=xflip, rotate90=rotate90, xint=xint, scale=scale, rotate=rotate,
                            aniso=aniso, xfrac=xfrac, brightness=brightness, contrast=contrast,
                            saturation=saturation)
        self.register_buffer("p", torch.zeros([]))

    def _gate(self, name: str, n: int, device: torch.device) -> torch.Tensor:
        prob = float(self.p) * self.weights[name]
        return (torch.rand(n, device=device) < prob).float()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if float(self.p) <= 0:
            return images
        n, c, h, w = images.shape
        dev = images.device
        eye = torch.eye(3, device=dev).repeat(n, 1, 1)

        def compose(mat: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            return mat @ m

        def rot(theta: torch.Tensor) -> torch.Tensor:
            m = eye.clone()
            m[:, 0, 0], m[:, 0, 1] = torch.cos(theta), -torch.sin(theta)
            m[:, 1, 0], m[:, 1, 1] = torch.sin(theta), torch.cos(theta)
            return m

        def scale2(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
            m = eye.clone()
            m[:, 0, 0], m[:, 1, 1] = sx, sy
            return m

        def translate(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
            m = eye.clone()
            m[:, 0, 2], m[:, 1, 2] = tx, ty
            return m

        # Geometric part: one affine matrix per sample in normalised [-1, 1] coordinates.
        mat = eye.clone()
        g = self._gate("xflip", n, dev)
        flip = 1 - 2 * g * torch.randint(0, 2, (n,), device=dev).float()
        mat = compose(mat, scale2(flip, torch.ones(n, device=dev)))
        g = self._gate("rotate90", n, dev)
        mat = compose(mat, rot(g * torch.randint(0, 4, (n,), device=dev).float() * (math.pi / 2)))
        g = self._gate("xint", n, dev)
        t = (torch.rand(n, 2, device=dev) * 2 - 1) * 0.125 * 2  # +-12.5% of the side; [-1,1] spans 2
        t = torch.round(t * w / 2) / (w / 2)  # whole pixels
        mat = compose(mat, translate(g * t[:, 0], g * t[:, 1]))
        g = self._gate("scale", n, dev)
        s = torch.exp2(torch.randn(n, device=dev) * 0.2 * g)
        mat = compose(mat, scale2(s, s))
        p_rot = 1 - math.sqrt(max(0.0, 1 - min(float(self.p) * self.weights["rotate"], 1.0)))
        g = (torch.rand(n, device=dev) < p_rot).float()
        mat = compose(mat, rot(g * (torch.rand(n, device=dev) * 2 - 1) * math.pi))
        g = self._gate("aniso", n, dev)
        a = torch.exp2(torch.randn(n, device=dev) * 0.2 * g)
        mat = compose(mat, scale2(a, 1 / a))
        g = (torch.rand(n, device=dev) < p_rot).float()
        mat = compose(mat, rot(g * (torch.rand(n, device=dev) * 2 - 1) * math.pi))
        g = self._gate("xfrac", n, dev)
        t = torch.randn(n, 2, device=dev) * 0.125 * 2
        mat = compose(mat, translate(g * t[:, 0], g * t[:, 1]))
        if not torch.equal(mat, eye):
            grid = F.affine_grid(mat[:, :2, :], [n, c, h, w], align_corners=False)
            images = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection",
                                   align_corners=False)

        # Colour part: brightness, contrast, saturation (applied around the per-image mean luma).
        g = self._gate("brightness", n, dev).reshape(n, 1, 1, 1)
        images = images + g * torch.randn(n, 1, 1, 1, device=dev) * 0.2
        g = self._gate("contrast", n, dev).reshape(n, 1, 1, 1)
        k = torch.exp2(torch.randn(n, 1, 1, 1, device=dev) * 0.5 * g)
        mean = images.mean(dim=[1, 2, 3], keepdim=True)
        images = (images - mean) * k + mean
        if c == 3:
            g = self._gate("saturation", n, dev).reshape(n, 1, 1, 1)
            k = torch.exp2(torch.randn(n, 1, 1, 1, device=dev) * 1.0 * g)
            luma = images.mean(dim=1, keepdim=True)
            images = (images - luma) * k + luma
        return images


# --------------------------------------------------------------------------------------------------
# Data


def load_images(path: str | os.PathLike, resolution: int, max_images: int | None = None) -> np.ndarray:
    """Training images as uint8 NHWC at ``resolution`` from an ``.npz`` (key ``images``) or a folder.

    Images of another size are centre-cropped to a square and resized with Lanczos.
    """
    from PIL import Image

    path = Path(path)
    if path.is_file() and path.suffix == ".npz":
        with np.load(path) as data:
            if "images" not in data:
                raise ValueError(f"{path.name} has no 'images' array (found {list(data.keys())})")
            arr = data["images"]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"No images ({', '.join(IMAGE_SUFFIXES)}) in {path}")
        arr = np.stack([_center_square(f, resolution) for f in files[:max_images]])
    else:
        raise ValueError(f"Training data must be an .npz file or an image folder: {path}")
    if max_images is not None:
        arr = arr[:max_images]
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"expected uint8 NHWC RGB images, got {arr.dtype} {arr.shape}")
    if arr.shape[1:3] != (resolution, resolution):
        arr = np.stack([np.asarray(Image.fromarray(a).resize((resolution, resolution), Image.LANCZOS))
                        for a in arr])
    return np.ascontiguousarray(arr)


def _center_square(file: Path, resolution: int) -> np.ndarray:
    from PIL import Image

    im = Image.open(file).convert("RGB")
    s = min(im.size)
    left, top = (im.size[0] - s) // 2, (im.size[1] - s) // 2
    return np.asarray(im.crop((left, top, left + s, top + s)).resize((resolution, resolution), Image.LANCZOS))


# --------------------------------------------------------------------------------------------------
# Distributed helpers (no-ops in a single process)


def _dist_on() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _world() -> tuple[int, int]:
    if _dist_on():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _all_reduce_mean_(tensors: list[torch.Tensor]) -> None:
    """Average tensors in place over processes (one flat all-reduce: few, large messages)."""
    rank, world = _world()
    if world == 1 or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    torch.distributed.all_reduce(flat)
    flat /= world
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].reshape(t.shape))
        offset += t.numel()


def _broadcast_module_(module: nn.Module) -> None:
    if _world()[1] > 1:
        for t in list(module.parameters()) + list(module.buffers()):
            torch.distributed.broadcast(t.data, src=0)


# --------------------------------------------------------------------------------------------------
# Trainer


def _make_generator(cfg: TrainConfig) -> nn.Module:
    from core.stylegan2 import Generator

    return Generator(**cfg.generator_kwargs())


@dataclass
class StepStats:
    """Losses of the most recent step (None where that phase did not run)."""

    loss_g: float = float("nan")
    loss_d: float = float("nan")
    r1_penalty: float | None = None
    pl_penalty: float | None = None
    real_logit: float = float("nan")
    fake_logit: float = float("nan")
    augment_p: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


class Trainer:
    """StyleGAN2 training state (G, D, G_ema, optimisers, ADA) and one-step update.

    Args:
        cfg: run configuration.
        images: uint8 NHWC training images at ``cfg.resolution``.
        run_dir: folder for checkpoints and sample grids (rank 0 writes).
    """

    def __init__(self, cfg: TrainConfig, images: np.ndarray, run_dir: str | os.PathLike | None = None):
        assert images.dtype == np.uint8 and images.ndim == 4 and images.shape[1:] == (
            cfg.resolution, cfg.resolution, 3), f"bad training images {images.dtype} {images.shape}"
        self.cfg = cfg
        self.rank, self.world = _world()
        assert cfg.batch_size % self.world == 0, "batch_size must divide evenly over processes"
        self.batch_gpu = cfg.batch_size // self.world
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.images = torch.from_numpy(images)
        # Identical initial weights in every process: seed from cfg.seed only, then broadcast anyway.
        torch.manual_seed(cfg.seed)
        self.G = _make_generator(cfg).train()
        self.D = Discriminator(cfg.resolution, 3, cfg.d_channel_base, cfg.d_channel_max,
                               cfg.mbstd_group).train()
        _broadcast_module_(self.G)
        _broadcast_module_(self.D)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.augment = AugmentPipe() if cfg.augment else None
        if self.augment is not None:
            self.augment.p.fill_(cfg.augment_p)
        g_reg = cfg.pl_interval if cfg.pl_weight > 0 else 0
        d_reg = cfg.r1_interval if cfg.r1_gamma > 0 else 0
        self.opt_G = self._lazy_adam(self.G.parameters(), cfg.g_lr, g_reg)
        self.opt_D = self._lazy_adam(self.D.parameters(), cfg.d_lr, d_reg)
        self.step = 0
        self.cur_nimg = 0
        self.pl_mean = torch.zeros([])
        self._ada_sum = torch.zeros(2)  # [sum of sign(D(real)), count] since the last p update
        # Per-process streams: data order and latents differ across ranks, reproducible per seed.
        self.data_gen = torch.Generator().manual_seed(cfg.seed * 1000 + self.rank)
        self.z_gen = torch.Generator().manual_seed(cfg.seed * 1000 + 500 + self.rank)
        torch.manual_seed(cfg.seed * 1000 + 999 + self.rank)  # synthesis noise + augmentation draws
        self._order = torch.empty(0, dtype=torch.long)
        self._order_pos = 0

    def _lazy_adam(self, params, lr: float, reg_interval: int) -> Adam:
        """Adam with lazy-regularisation correction: lr and betas rescaled by interval / (interval + 1)."""
        betas = tuple(self.cfg.betas)
        if reg_interval > 0:
            ratio = reg_interval / (reg_interval + 1)
            lr = lr * ratio
            betas = tuple(b ** ratio for b in betas)
        return Adam(list(params), lr=lr, betas=betas)

    # ---- data and latents ---------------------------------------------------------------------------

    def real_batch(self) -> torch.Tensor:
        """Next per-process batch of real images, NCHW float in [-1, 1] (random order, epoch-wise)."""
        idx = []
        while len(idx) < self.batch_gpu:
            if self._order_pos >= len(self._order):
                self._order = torch.randperm(len(self.images), generator=self.data_gen)
                self._order_pos = 0
            take = min(self.batch_gpu - len(idx), len(self._order) - self._order_pos)
            idx.extend(self._order[self._order_pos:self._order_pos + take].tolist())
            self._order_pos += take
        x = self.images[idx].permute(0, 3, 1, 2).float() / 127.5 - 1
        if self.cfg.mirror:
            flip = torch.rand(len(idx), generator=self.data_gen) < 0.5
            x[flip] = x[flip].flip(3)
        return x

    def latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.G.z_dim, generator=self.z_gen)

    def mapping(self, z: torch.Tensor, mix: bool) -> torch.Tensor:
        """W+ latents with style mixing; tracks W's mean for truncation.

        The mapping runs in eval mode so that the generator implementation never updates ``w_avg``
        itself; the trainer owns that update (one place, same rule in every process).
        """
        mapping = self.G.mapping
        mapping.eval()
        ws = mapping(z, None, truncation_psi=1, truncation_cutoff=None)
        if mix and self.cfg.style_mixing_prob > 0:
            num_ws = ws.shape[1]
            cutoff = torch.randint(1, num_ws, (), generator=self.z_gen).item()
            use = torch.rand((), generator=self.z_gen).item() < self.cfg.style_mixing_prob
            if use:
                ws2 = mapping(self.latents(z.shape[0]), None, truncation_psi=1, truncation_cutoff=None)
                ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        with torch.no_grad():
            w_mean = ws[:, 0].detach().mean(0)
            _all_reduce_mean_([w_mean])
            mapping.w_avg.copy_(w_mean.lerp(mapping.w_avg, self.cfg.w_avg_beta))
        return ws

    def run_D(self, img: torch.Tensor) -> torch.Tensor:
        if self.augment is not None:
            img = self.augment(img)
        return self.D(img)

    # ---- one training step --------------------------------------------------------------------------

    def train_step(self) -> StepStats:
        """One G update and one D update on one global batch (+ lazy regularisers when due)."""
        cfg = self.cfg
        stats = StepStats()
        n = self.batch_gpu
        self.G.synthesis.train()

        # G main: non-saturating logistic loss  softplus(-D(G(z))).
        self.D.requires_grad_(False)
        self.G.requires_grad_(True)
        self.opt_G.zero_grad(set_to_none=False)
        img = self.G.synthesis(self.mapping(self.latents(n), mix=True), noise_mode="random")
        logits = self.run_D(img)
        loss_g = F.softplus(-logits).mean()
        loss_g.backward()
        stats.loss_g = loss_g.item()
        if cfg.pl_weight > 0 and self.step % cfg.pl_interval == 0:
            stats.pl_penalty = self._path_length_reg()
        self._reduce_grads(self.G)
        self.opt_G.step()

        # D main: softplus(D(G(z))) + softplus(-D(x)).
        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=False)
        # The G step's images (pre-update) serve as D's fakes: saves a synthesis pass, which is most of
        # a step's cost on CPU, at the price of fakes one G update stale.
        fake_logits = self.run_D(img.detach())
        real = self.real_batch()
        real_logits = self.run_D(real)
        loss_d = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        loss_d.backward()
        stats.loss_d = loss_d.item()
        stats.real_logit = real_logits.mean().item()
        stats.fake_logit = fake_logits.mean().item()
        self._ada_sum += torch.stack([real_logits.detach().sign().sum(), torch.tensor(float(n))])
        if cfg.r1_gamma > 0 and self.step % cfg.r1_interval == 0:
            stats.r1_penalty = self._r1_reg(real)
        self._reduce_grads(self.D)
        self.opt_D.step()

        self._update_ema()  # before counting this batch, as the official loop does (beta 0 at step 0)
        self.step += 1
        self.cur_nimg += cfg.batch_size
        self._update_ada()
        stats.augment_p = self.augment_p
        return stats

    def _r1_reg(self, real: torch.Tensor) -> float:
        """Lazy R1: gamma/2 * ||dD(x)/dx||^2 on reals, scaled by the interval (Mescheder et al. 2018)."""
        real = real.detach().requires_grad_(True)
        logits = self.run_D(real)
        (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
        penalty = grad.square().sum(dim=[1, 2, 3])
        (penalty.mean() * (self.cfg.r1_gamma / 2) * self.cfg.r1_interval).backward()
        return penalty.mean().item()

    def _path_length_reg(self) -> float:
        """Lazy path-length regularisation: keep |J_w^T y| close to its running mean (StyleGAN2 Sec. 3.2)."""
        cfg = self.cfg
        n = max(1, self.batch_gpu // cfg.pl_batch_shrink)
        ws = self.mapping(self.latents(n), mix=True)
        img = self.G.synthesis(ws, noise_mode="random")
        noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
        lengths = grad.square().sum(2).mean(1).sqrt()
        mean_len = lengths.detach().mean()
        _all_reduce_mean_([mean_len])
        self.pl_mean = self.pl_mean.lerp(mean_len, cfg.pl_decay)
        penalty = (lengths - self.pl_mean).square()
        (penalty.mean() * cfg.pl_weight * cfg.pl_interval).backward()
        return penalty.mean().item()

    def _reduce_grads(self, module: nn.Module) -> None:
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        _all_reduce_mean_(grads)
        for g in grads:  # one bad batch must not destroy the weights
            torch.nan_to_num_(g, nan=0, posinf=1e5, neginf=-1e5)

    def ema_beta(self) -> float:
        """EMA decay for this step: half-life ema_kimg, ramped up over the first images."""
        cfg = self.cfg
        ema_nimg = cfg.ema_kimg * 1000
        if cfg.ema_rampup is not None:
            ema_nimg = min(ema_nimg, self.cur_nimg * cfg.ema_rampup)
        return 0.5 ** (cfg.batch_size / max(ema_nimg, 1e-8))

    @torch.no_grad()
    def _update_ema(self) -> None:
        beta = self.ema_beta()
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    def _update_ada(self) -> None:
        """ADA: nudge p up when D is over-confident on reals (r_t > target), down otherwise."""
        cfg = self.cfg
        if self.augment is None or self.step % cfg.ada_interval != 0:
            return
        stats = self._ada_sum.clone()
        if self.world > 1:
            torch.distributed.all_reduce(stats)
        r_t = (stats[0] / stats[1].clamp(min=1)).item()
        adjust = np.sign(r_t - cfg.ada_target) * (cfg.batch_size * cfg.ada_interval) / (cfg.ada_kimg * 1000)
        self.augment.p.copy_((self.augment.p + adjust).clamp(0, 1))
        self._ada_sum.zero_()
        self.last_r_t = r_t

    @property
    def augment_p(self) -> float:
        return float(self.augment.p) if self.augment is not None else 0.0

    # ---- checkpoints --------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume, as plain tensors and containers (weights_only-loadable)."""
        return {
            "kind": "stylegan2-train",
            "version": TRAIN_CHECKPOINT_VERSION,
            "config": asdict(self.cfg),
            "generator_config": self.cfg.generator_kwargs(),
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "step": self.step,
            "cur_nimg": self.cur_nimg,
            "augment_p": self.augment_p,
            "pl_mean": self.pl_mean.clone(),
            "ada_sum": self._ada_sum.clone(),
            "rng": {"data": self.data_gen.get_state(), "z": self.z_gen.get_state(),
                    "torch": torch.get_rng_state(), "order": self._order.clone(),
                    "order_pos": self._order_pos},
        }

    def load_state_dict(self, ckpt: dict[str, Any]) -> None:
        require_keys(ckpt, ["G", "D", "G_ema", "opt_G", "opt_D", "step", "cur_nimg"], "StyleGAN2 training")
        try:
            self.G.load_state_dict(ckpt["G"])
            self.D.load_state_dict(ckpt["D"])
            self.G_ema.load_state_dict(ckpt["G_ema"])
            self.opt_G.load_state_dict(ckpt["opt_G"])
            self.opt_D.load_state_dict(ckpt["opt_D"])
        except (KeyError, AssertionError, RuntimeError, TypeError) as e:
            raise CheckpointError(f"This training checkpoint does not match the current model/optimizer "
                                  f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                                  "start a new run folder.") from None
        self.step = int(ckpt["step"])
        self.cur_nimg = int(ckpt["cur_nimg"])
        if self.augment is not None:
            self.augment.p.fill_(float(ckpt.get("augment_p", 0.0)))
        self.pl_mean = ckpt.get("pl_mean", torch.zeros([])).clone()
        self._ada_sum = ckpt.get("ada_sum", torch.zeros(2)).clone()
        rng = ckpt.get("rng")
        if rng is not None and self.rank == 0:  # other ranks keep their own (distinct) streams
            self.data_gen.set_state(rng["data"])
            self.z_gen.set_state(rng["z"])
            torch.set_rng_state(rng["torch"])
            self._order = rng["order"].clone()
            self._order_pos = int(rng["order_pos"])

    def save(self, path: str | os.PathLike) -> None:
        if self.rank == 0:
            atomic_torch_save(self.state_dict(), path)

    @torch.no_grad()
    def sample_grid(self, seeds: list[int], truncation_psi: float = 1.0) -> np.ndarray:
        """uint8 grid of G_ema samples for fixed seeds (same seeds every snapshot, to watch progress)."""
        from core.imaging import make_grid, to_uint8

        z = torch.stack([torch.randn(self.G_ema.z_dim, generator=torch.Generator().manual_seed(s))
                         for s in seeds])
        img = self.G_ema(z, None, truncation_psi=truncation_psi, noise_mode="const")
        return make_grid(list(to_uint8(img)), cols=int(math.ceil(math.sqrt(len(seeds)))))


# --------------------------------------------------------------------------------------------------
# Export in the project's generator format


def _generator_checkpoint_version() -> int:
    """The generator module's checkpoint version, so exports always match what its loader expects."""
    import core.stylegan2 as sg2

    return int(getattr(sg2, "CHECKPOINT_VERSION", GENERATOR_EXPORT_VERSION))


def export_generator(train_ckpt: dict[str, Any] | Trainer, path: str | os.PathLike,
                     notes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the EMA generator as ``{'model', 'config', 'step', 'version', ...}`` for load_generator."""
    if isinstance(train_ckpt, Trainer):
        train_ckpt = train_ckpt.state_dict()
    require_keys(train_ckpt, ["G_ema", "generator_config", "step", "cur_nimg", "config"],
                 "StyleGAN2 training")
    out = {
        "kind": "stylegan2",
        "model": train_ckpt["G_ema"],
        "config": train_ckpt["generator_config"],
        "step": int(train_ckpt["step"]),
        "version": _generator_checkpoint_version(),
        "kimg": train_ckpt["cur_nimg"] / 1000,
        "augment_p": float(train_ckpt.get("augment_p", 0.0)),
        "train_config": train_ckpt["config"],
        "notes": dict(notes or {}),
    }
    atomic_torch_save(out, path)
    return out


def export_run(run_dir: str | os.PathLike, path: str | os.PathLike, grid_seeds: int = 32,
               truncation_psi: float = 0.7, notes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Export ``run_dir/checkpoint.pt`` to ``path`` and write ``<path stem>_samples.png`` next to it.

    The grid is rendered from the exported file through :func:`core.stylegan2.load_generator`, so it
    shows exactly what the sampler page shows for seeds 0..grid_seeds-1 (``noise_mode='const'``).
    """
    from PIL import Image

    from core.imaging import make_grid, to_uint8
    from core.stylegan2 import load_generator, zs_from_seeds

    run_dir, path = Path(run_dir), Path(path)
    ckpt = safe_torch_load(run_dir / "checkpoint.pt")
    notes = dict(notes or {})
    log_path = run_dir / "log.jsonl"
    if log_path.is_file() and "train_seconds" not in notes:
        lines = [json.loads(x) for x in log_path.read_text().splitlines() if x.strip()]
        if lines:  # wall time of the last logged step (the log restarts its clock on resume)
            notes["train_seconds_last_session"] = lines[-1].get("sec")
    out = export_generator(ckpt, path, notes=notes)
    G = load_generator(path)
    z = zs_from_seeds(list(range(grid_seeds)), G.z_dim)  # the official generate.py seed -> z rule
    with torch.no_grad():
        img = G(z, None, truncation_psi=truncation_psi, noise_mode="const")
    grid = make_grid(list(to_uint8(img)), cols=8)
    Image.fromarray(grid).save(path.with_name(path.stem + "_samples.png"))
    return out


# --------------------------------------------------------------------------------------------------
# Run driver + CLI


def _init_distributed() -> bool:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or _dist_on():
        return False
    torch.distributed.init_process_group(backend="gloo")  # the loop keeps every tensor on the CPU
    return True


def train(cfg: TrainConfig, data: str | os.PathLike | np.ndarray, run_dir: str | os.PathLike,
          resume: bool = False, log=print, rank_digest: bool = False) -> Trainer:
    """Train until ``cfg.kimg``; checkpoint to ``run_dir/checkpoint.pt`` every ``snapshot_kimg``.

    With ``resume`` the run continues from ``run_dir/checkpoint.pt`` (its saved config wins, except
    ``kimg`` which may be raised to train longer).
    """
    run_dir = Path(run_dir)
    ckpt_path = run_dir / "checkpoint.pt"
    ckpt = None
    if resume and ckpt_path.is_file():
        ckpt = safe_torch_load(ckpt_path)
        require_keys(ckpt, ["config", "G", "step"], "StyleGAN2 training")
        saved = TrainConfig.from_dict(ckpt["config"])
        saved.kimg, saved.snapshot_kimg = cfg.kimg, cfg.snapshot_kimg
        cfg = saved
    images = data if isinstance(data, np.ndarray) else load_images(data, cfg.resolution, cfg.max_images)
    trainer = Trainer(cfg, images, run_dir)
    if ckpt is not None:
        trainer.load_state_dict(ckpt)
        log(f"resumed from {ckpt_path} at {trainer.cur_nimg / 1000:.2f} kimg")
    if trainer.rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    seeds = list(range(16))
    t0 = time.time()
    next_snap = (math.floor(trainer.cur_nimg / (cfg.snapshot_kimg * 1000)) + 1) * cfg.snapshot_kimg * 1000
    log_path = run_dir / "log.jsonl"
    while trainer.cur_nimg < cfg.kimg * 1000:
        stats = trainer.train_step()
        if trainer.rank == 0 and (trainer.step % 10 == 0 or trainer.step == 1):
            rec = dict(step=trainer.step, kimg=round(trainer.cur_nimg / 1000, 3),
                       sec=round(time.time() - t0, 1),
                       loss_g=round(stats.loss_g, 4), loss_d=round(stats.loss_d, 4),
                       real=round(stats.real_logit, 3), fake=round(stats.fake_logit, 3),
                       p=round(stats.augment_p, 4), r1=stats.r1_penalty, pl=stats.pl_penalty)
            log(json.dumps(rec))
            with open(log_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
        done = trainer.cur_nimg >= cfg.kimg * 1000
        if trainer.cur_nimg >= next_snap or done:
            next_snap += cfg.snapshot_kimg * 1000
            trainer.save(ckpt_path)
            if trainer.rank == 0:
                from PIL import Image

                Image.fromarray(trainer.sample_grid(seeds)).save(
                    run_dir / f"samples_{trainer.cur_nimg:08d}img.png")
    if rank_digest:  # test hook: every process writes a fingerprint of its weights
        digest = {k: float(v.double().sum()) for k, v in trainer.G.state_dict().items()}
        digest.update({f"D.{k}": float(v.double().sum()) for k, v in trainer.D.state_dict().items()})
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / f"rank{trainer.rank}_digest.json").write_text(json.dumps(digest))
    return trainer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Train the project's StyleGAN2 (runs data-parallel under torchrun).")
    ap.add_argument("--data", help=".npz with uint8 NHWC 'images', or an image folder")
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--kimg", type=float, default=10.0)
    ap.add_argument("--out", required=True, help="run folder (checkpoint.pt, samples, log)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--z-dim", type=int, default=128)
    ap.add_argument("--w-dim", type=int, default=128)
    ap.add_argument("--map-layers", type=int, default=2)
    ap.add_argument("--channel-base", type=int, default=2048, help="G and D channel_base")
    ap.add_argument("--channel-max", type=int, default=128, help="G and D channel_max")
    ap.add_argument("--gamma", type=float, default=0.1, help="R1 weight")
    ap.add_argument("--pl-weight", type=float, default=0.0)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--ada-kimg", type=float, default=100.0)
    ap.add_argument("--ema-kimg", type=float, default=None, help="default: batch * 10 / 32 (official)")
    ap.add_argument("--lr", type=float, default=0.0025)
    ap.add_argument("--snap-kimg", type=float, default=1.0)
    ap.add_argument("--max-images", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    ap.add_argument("--export", default=None, help="also write the EMA generator here (project format)")
    ap.add_argument("--export-only", action="store_true",
                    help="no training: export OUT/checkpoint.pt to --export (+ a sample grid PNG)")
    ap.add_argument("--rank-digest", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.export_only:
        if not args.export:
            ap.error("--export-only needs --export PATH")
        try:
            out = export_run(args.out, args.export)
        except (CheckpointError, ValueError) as e:
            print(f"error: {e}")
            return 2
        print(f"exported {out['kimg']:.2f} kimg (step {out['step']}) to {args.export}")
        return 0
    if not args.data:
        ap.error("--data is required for training")
    ema_kimg = args.ema_kimg if args.ema_kimg is not None else args.batch * 10 / 32
    distributed = _init_distributed()
    cfg = TrainConfig(resolution=args.res, z_dim=args.z_dim, w_dim=args.w_dim, mapping_layers=args.map_layers,
                      g_channel_base=args.channel_base, g_channel_max=args.channel_max,
                      d_channel_base=args.channel_base, d_channel_max=args.channel_max, batch_size=args.batch,
                      g_lr=args.lr, d_lr=args.lr, r1_gamma=args.gamma, pl_weight=args.pl_weight,
                      augment=not args.no_augment, ada_kimg=args.ada_kimg, ema_kimg=ema_kimg,
                      seed=args.seed, kimg=args.kimg, snapshot_kimg=args.snap_kimg,
                      max_images=args.max_images)
    try:
        trainer = train(cfg, args.data, args.out, resume=args.resume, rank_digest=args.rank_digest,
                        log=print if _world()[0] == 0 else (lambda *_: None))
        if args.export and trainer.rank == 0:
            export_generator(trainer, args.export)
            print(f"exported generator to {args.export}")
        if distributed:
            torch.distributed.barrier()  # tear gloo down only once every rank is done with it
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}")
        return 2
    finally:
        if distributed:
            torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
