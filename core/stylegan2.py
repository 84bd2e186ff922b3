"""StyleGAN2(-ADA) generator, safe loaders and latent-space sampling helpers.

Architecture: Karras et al., "Analyzing and Improving the Image Quality of StyleGAN" (CVPR 2020,
config F) as released in NVIDIA's ``stylegan2-ada-pytorch`` (Karras et al., "Training Generative
Adversarial Networks with Limited Data", NeurIPS 2020). This is an independent implementation whose
``state_dict`` names and shapes equal the official ``G_ema`` ones, so official weights load unchanged
and give the official images (checked against reference outputs to 1e-4).

Semantic directions: Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs" (SeFa,
CVPR 2021): eigenvectors of A^T A where A stacks the style-modulation (affine) weights.

Loading never executes code from a file: official network pickles go through a restricted unpickler
that only rebuilds tensors and plain containers (the embedded module source is ignored), and the
project's own checkpoints are ``torch.load(weights_only=True)`` dicts::

    {'model': G.state_dict(), 'config': G.init_kwargs, 'step': n, 'version': CHECKPOINT_VERSION}

Command line::

    python -m core.stylegan2 download ffhq-1024     # official pickle into checkpoints/downloads
    python -m core.stylegan2 info PATH               # load a generator and print its config
"""

from __future__ import annotations

import argparse
import copy
import io
import math
import os
import pickle
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.checkpoint import CheckpointError, atomic_torch_save, safe_torch_load
from core.imaging import make_grid, to_uint8

CHECKPOINT_VERSION = 1

# ---------------------------------------------------------------------------------------------------
# Low-level ops (pure torch equivalents of the official CUDA kernels' reference paths)
# ---------------------------------------------------------------------------------------------------


def setup_filter(taps: Sequence[float]) -> torch.Tensor:
    """Separable FIR taps -> normalised 2-D filter (sum 1), as stored in ``resample_filter`` buffers."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    if f.ndim == 1:
        f = f.ger(f)
    return f / f.sum()


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, up: int = 1, down: int = 1,
              padding: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Upsample (zero insertion), pad, FIR filter (true convolution), downsample. NCHW.

    ``padding`` is (x0, x1, y0, y1); negative values crop.
    """
    n, c, h, w = x.shape
    px0, px1, py0, py1 = padding
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    # conv2d is a correlation; flipping the taps makes it the convolution the filter design assumes.
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype).flip(list(range(f.ndim)))
    f = f[None, None].repeat(c, 1, 1, 1)
    x = F.conv2d(x, f, groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """2x FIR up-sampling that keeps the signal centred (used on the skip image path)."""
    fw = f.shape[-1]
    p = ((fw + up - 1) // 2, (fw - up) // 2)
    return upfirdn2d(x, f, up=up, padding=(p[0], p[1], p[0], p[1]), gain=up * up)


def bias_act(x: torch.Tensor, b: torch.Tensor | None, act: str = "linear", gain: float | None = None,
             clamp: float | None = None) -> torch.Tensor:
    """Bias, activation, gain, clamp in that order (the official fused op's reference semantics)."""
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2))
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2)
        gain = math.sqrt(2) if gain is None else gain
    elif act == "relu":
        x = F.relu(x)
        gain = math.sqrt(2) if gain is None else gain
    elif act == "linear":
        gain = 1.0 if gain is None else gain
    else:
        raise ValueError(f"unsupported activation {act!r}")
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def _activation_gain(act: str) -> float:
    return math.sqrt(2) if act in ("lrelu", "relu") else 1.0


def conv2d_up2(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """3x3 (k x k) convolution fused with 2x FIR up-sampling, as a transposed conv + FIR blur.

    Equivalent to the official ``conv2d_resample(up=2, padding=k//2, flip_weight=False)``.
    """
    out_ch, in_per_group, kh, kw = w.shape
    fw = f.shape[-1]
    up = 2
    pad = kw // 2
    px0 = pad + (fw + up - 1) // 2 - (kw - 1)
    px1 = pad + (fw - up) // 2 - (kw - up)
    # Transposed conv wants [in, out/groups, k, k].
    if groups == 1:
        wt = w.transpose(0, 1)
    else:
        wt = w.reshape(groups, out_ch // groups, in_per_group, kh, kw).transpose(1, 2)
        wt = wt.reshape(groups * in_per_group, out_ch // groups, kh, kw)
    pt = max(min(-px0, -px1), 0)
    x = F.conv_transpose2d(x, wt, stride=up, padding=pt, groups=groups)
    p0, p1 = px0 + pt, px1 + pt
    return upfirdn2d(x, f, padding=(p0, p1, p0, p1), gain=up * up)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor,
                     noise: torch.Tensor | None = None, up: int = 1, padding: int = 0,
                     resample_filter: torch.Tensor | None = None, demodulate: bool = True,
                     fused_modconv: bool = True, weight_sq: torch.Tensor | None = None) -> torch.Tensor:
    """StyleGAN2 weight modulation/demodulation (Karras et al. 2020, Sec. 2.2).

    x: [N, I, H, W]; weight: [O, I, k, k]; styles: [N, I]; noise broadcastable to [N, O, H', W'].
    ``fused_modconv`` builds per-sample weights (the official inference path); otherwise activations
    are scaled around one shared conv, and the demodulation coefficients come from
    ``weight_sq = weight.square().sum([2, 3])`` ([O, I], cacheable) as ``rsqrt(styles^2 @ weight_sq^T)``,
    which is the same sum regrouped (equal up to float rounding) and much cheaper for batch 1 on CPU.
    """
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    assert styles.shape == (n, in_ch), f"styles {tuple(styles.shape)} vs x {tuple(x.shape)}"
    if x.dtype == torch.float16 and demodulate:
        # Pre-normalise so fp16 activations cannot overflow; demodulation undoes the scale.
        weight = weight * (1 / math.sqrt(in_ch * kh * kw) / weight.norm(float("inf"), dim=[1, 2, 3],
                                                                       keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
        weight_sq = None

    if not fused_modconv:
        dcoefs = None
        if demodulate:
            if weight_sq is None:
                weight_sq = weight.square().sum(dim=[2, 3])
            dcoefs = (styles.square() @ weight_sq.t() + 1e-8).rsqrt()  # [N, O]
        x = x * styles.to(x.dtype).reshape(n, -1, 1, 1)
        wx = weight.to(x.dtype)
        x = conv2d_up2(x, wx, resample_filter) if up == 2 else F.conv2d(x, wx, padding=padding)
        if dcoefs is not None:
            x = x * dcoefs.to(x.dtype).reshape(n, -1, 1, 1)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x

    # One grouped conv with per-sample weights (inference path of the official code).
    w = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, in_ch, kh, kw).to(x.dtype)
    if up == 2:
        x = conv2d_up2(x, w, resample_filter, groups=n)
    else:
        x = F.conv2d(x, w, padding=padding, groups=n)
    x = x.reshape(n, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


# ---------------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------------


class FullyConnectedLayer(nn.Module):
    """Dense layer with equalised learning rate (weights stored unscaled, scaled at run time)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation  # "linear" or "lrelu"
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)


class MappingNetwork(nn.Module):
    """z (+ class embedding) -> w, broadcast to ``num_ws`` and optionally truncated towards ``w_avg``."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int | None,
                 num_layers: int = 8,            # depth of the MLP
                 embed_features: int | None = None,  # class-embedding width (default w_dim)
                 layer_features: int | None = None,  # hidden width (default w_dim)
                 activation: str = "lrelu",
                 lr_multiplier: float = 0.01,    # learning-rate multiplier of the MLP (paper: 0.01)
                 w_avg_beta: float | None = 0.995):  # EMA decay of the tracked mean w
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        if embed_features is None:
            embed_features = w_dim
        if c_dim == 0:
            embed_features = 0
        if layer_features is None:
            layer_features = w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(num_layers):
            setattr(self, f"fc{idx}", FullyConnectedLayer(features[idx], features[idx + 1],
                                                           activation=activation,
                                                           lr_multiplier=lr_multiplier))
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, skip_w_avg_update: bool = False) -> torch.Tensor:
        x = None
        if self.z_dim > 0:
            assert z is not None and z.ndim == 2 and z.shape[1] == self.z_dim, \
                f"z must be [N, {self.z_dim}], got {None if z is None else tuple(z.shape)}"
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            assert c is not None and c.shape[1] == self.c_dim, f"c must be [N, {self.c_dim}]"
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        if self.w_avg_beta is not None and self.training and not skip_w_avg_update:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            assert self.w_avg_beta is not None, "truncation needs w_avg"
            if self.num_ws is None or truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x = x.clone()
                x[:, :truncation_cutoff] = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally 2x up-sampling) + per-pixel noise + bias + lrelu."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 kernel_size: int = 3, up: int = 1,
                 use_noise: bool = True,          # per-pixel noise inputs (paper: on)
                 activation: str = "lrelu",
                 resample_filter: Sequence[float] = (1, 3, 3, 1),  # FIR taps for up-sampling
                 conv_clamp: float | None = None,  # clamp pre-activations (fp16 safety; 256 in releases)
                 channels_last: bool = False):     # accepted for kwarg compatibility; unused on CPU
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution, self.up, self.use_noise = resolution, up, use_noise
        self.activation, self.conv_clamp = activation, conv_clamp
        self.padding = kernel_size // 2
        self.act_gain = _activation_gain(activation)
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def _weight_sq(self) -> torch.Tensor | None:
        """Cached ``weight.square().sum([2, 3])`` for inference; None (recompute) when training."""
        if torch.is_grad_enabled() and self.weight.requires_grad:
            return None
        key = (self.weight.data_ptr(), self.weight._version, self.weight.device, self.weight.dtype)
        cached = getattr(self, "_weight_sq_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, self.weight.detach().square().sum(dim=[2, 3]))
            self._weight_sq_cache = cached
        return cached[1]

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random",
                fused_modconv: bool = True, gain: float = 1,
                generator: torch.Generator | None = None) -> torch.Tensor:
        assert noise_mode in ("random", "const", "none"), f"bad noise_mode {noise_mode!r}"
        styles = self.affine(w)
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device,
                                generator=generator) * self.noise_strength
        if self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, fused_modconv=fused_modconv,
                             weight_sq=None if fused_modconv else self._weight_sq())
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias.to(x.dtype), act=self.activation, gain=self.act_gain * gain,
                        clamp=clamp)


class ToRGBLayer(nn.Module):
    """Modulated (not demodulated) 1x1 conv to image channels; the skip architecture sums these."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel_size: int = 1,
                 conv_clamp: float | None = None, channels_last: bool = False):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused_modconv: bool = True) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused_modconv=fused_modconv)
        return bias_act(x, self.bias.to(x.dtype), clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: [up-conv], conv, toRGB added to the up-sampled image."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 img_channels: int, is_last: bool,
                 architecture: str = "skip",       # only "skip" (the config-F generator) is supported
                 resample_filter: Sequence[float] = (1, 3, 3, 1),
                 conv_clamp: float | None = None,
                 use_fp16: bool = False,           # official fp16 layers; run in fp32 off-GPU
                 fp16_channels_last: bool = False,
                 **layer_kwargs: Any):
        super().__init__()
        if architecture != "skip":
            raise ValueError(f"only the 'skip' generator architecture is supported, not {architecture!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution, self.img_channels, self.is_last = resolution, img_channels, is_last
        self.architecture = architecture
        self.use_fp16 = use_fp16
        self.num_conv = 0
        self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        if in_channels != 0:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim=w_dim, resolution=resolution, up=2,
                                        resample_filter=resample_filter, conv_clamp=conv_clamp,
                                        **layer_kwargs)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim=w_dim, resolution=resolution,
                                    conv_clamp=conv_clamp, **layer_kwargs)
        self.num_conv += 1
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
        self.num_torgb += 1

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                force_fp32: bool = False, fused_modconv: bool | None = None,
                **layer_kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        assert ws.shape[1] == self.num_conv + self.num_torgb
        w_iter = iter(ws.unbind(dim=1))
        # Half precision only where the official release uses it AND a GPU is present (CPU fp16 convs
        # are slow and imprecise); the fixtures are defined with force_fp32.
        on_gpu = ws.device.type == "cuda"
        dtype = torch.float16 if (self.use_fp16 and not force_fp32 and on_gpu) else torch.float32
        if fused_modconv is None:
            fused_modconv = (not self.training) and (dtype == torch.float32 or int(ws.shape[0]) == 1)
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), fused_modconv=fused_modconv, **layer_kwargs)
        else:
            x = x.to(dtype)
            x = self.conv0(x, next(w_iter), fused_modconv=fused_modconv, **layer_kwargs)
            x = self.conv1(x, next(w_iter), fused_modconv=fused_modconv, **layer_kwargs)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        y = self.torgb(x, next(w_iter), fused_modconv=fused_modconv).to(torch.float32)
        img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(nn.Module):
    """Constant 4x4 input -> blocks up to ``img_resolution``; ws: [N, num_ws, w_dim]."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int,
                 channel_base: int = 32768,   # channels at resolution r = min(channel_base // r, channel_max)
                 channel_max: int = 512,
                 num_fp16_res: int = 0,       # how many top resolutions use fp16 in the release
                 **block_kwargs: Any):
        super().__init__()
        assert img_resolution >= 4 and img_resolution & (img_resolution - 1) == 0, "resolution: power of 2"
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.img_resolution_log2 = int(np.log2(img_resolution))
        self.block_resolutions = [2 ** i for i in range(2, self.img_resolution_log2 + 1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        fp16_resolution = max(2 ** (self.img_resolution_log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        # ws index at which each block's slice starts (blocks overlap by one: toRGB shares with next conv0)
        self.block_w_start: dict[int, int] = {}
        for res in self.block_resolutions:
            in_ch = channels[res // 2] if res > 4 else 0
            is_last = res == img_resolution
            block = SynthesisBlock(in_ch, channels[res], w_dim=w_dim, resolution=res,
                                   img_channels=img_channels, is_last=is_last,
                                   use_fp16=res >= fp16_resolution, **block_kwargs)
            self.block_w_start[res] = self.num_ws
            self.num_ws += block.num_conv
            if is_last:
                self.num_ws += block.num_torgb
            setattr(self, f"b{res}", block)

    def forward(self, ws: torch.Tensor, noise_mode: str | None = None, max_resolution: int | None = None,
                **block_kwargs: Any) -> torch.Tensor:
        """Image at ``img_resolution``, or the skip image after block ``max_resolution`` (preview).

        ``noise_mode`` None means 'random' while training and 'const' in eval mode (deterministic
        sampling by default; the official code defaults to 'random' in both).
        """
        if noise_mode is None:
            noise_mode = "random" if self.training else "const"
        block_kwargs["noise_mode"] = noise_mode
        assert ws.ndim == 3 and ws.shape[1:] == (self.num_ws, self.w_dim), \
            f"ws must be [N, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}"
        ws = ws.to(torch.float32)
        x = img = None
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            cur = ws.narrow(1, self.block_w_start[res], block.num_conv + block.num_torgb)
            x, img = block(x, img, cur, **block_kwargs)
            if max_resolution is not None and res >= max_resolution:
                break
        return img


# ---------------------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------------------


def _plain(obj: Any) -> Any:
    """Deep copy into builtins: dict subclasses -> dict, tuples -> lists, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


@dataclass
class GeneratorConfig:
    """Constructor arguments of :class:`Generator` (stored as ``config`` in project checkpoints)."""

    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = 1024
    img_channels: int = 3
    mapping_kwargs: dict | None = None
    synthesis_kwargs: dict | None = None


_SYNTHESIS_KEYS = {"channel_base", "channel_max", "num_fp16_res", "conv_clamp", "architecture",
                   "resample_filter", "use_noise", "fp16_channels_last", "activation", "kernel_size",
                   "channels_last"}


class Generator(nn.Module):
    """StyleGAN2 generator: ``G(z, c) = synthesis(mapping(z, c))``, official names and semantics."""

    def __init__(self, z_dim: int,             # latent z size (512 in releases)
                 c_dim: int,                   # class-label size (0 = unconditional)
                 w_dim: int,                   # intermediate latent w size
                 img_resolution: int,          # output resolution (power of two)
                 img_channels: int,            # 3 for RGB
                 mapping_kwargs: dict | None = None,    # MappingNetwork options (num_layers, ...)
                 synthesis_kwargs: dict | None = None,  # SynthesisNetwork options (channel_base, ...)
                 **extra_synthesis_kwargs: Any):  # stylegan3-repo pickles pass synthesis options flat
        super().__init__()
        mapping_kwargs = dict(mapping_kwargs or {})
        synthesis_kwargs = {**dict(synthesis_kwargs or {}), **extra_synthesis_kwargs}
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        # Plain builtins only, so project checkpoints stay loadable with weights_only=True even when the
        # kwargs came from a pickle (EasyDict, numpy scalars).
        self.init_kwargs = _plain(dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=img_resolution,
                                       img_channels=img_channels, mapping_kwargs=mapping_kwargs,
                                       synthesis_kwargs=synthesis_kwargs))
        self.synthesis = SynthesisNetwork(w_dim=w_dim, img_resolution=img_resolution,
                                          img_channels=img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws,
                                      **mapping_kwargs)

    @property
    def config(self) -> GeneratorConfig:
        return GeneratorConfig(**copy.deepcopy(self.init_kwargs))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, **synthesis_kwargs: Any) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, **synthesis_kwargs)


def generator_from_config(config: dict | GeneratorConfig) -> Generator:
    cfg = config if isinstance(config, dict) else config.__dict__
    cfg = dict(cfg)
    known = {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs",
             "synthesis_kwargs"}
    extra = {k: v for k, v in cfg.items() if k not in known}
    bad = [k for k in extra if k not in _SYNTHESIS_KEYS]
    if bad:
        raise CheckpointError(f"Unknown StyleGAN2 generator options {bad}.")
    base = {k: v for k, v in cfg.items() if k in known}
    return Generator(**base, **extra)


# ---------------------------------------------------------------------------------------------------
# Loading: official network pickles (restricted unpickler), project checkpoints
# ---------------------------------------------------------------------------------------------------


class UnsafePickleError(CheckpointError):
    """A pickle asked for a Python object outside the allow-list; nothing from it was run."""


@dataclass
class PersistentObject:
    """What an official ``torch_utils.persistence`` object becomes here: its class name and state.

    The embedded ``module_src`` (Python source the official loader would execute) is dropped unread.
    """

    class_name: str
    version: int | None
    state: dict


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("state"), dict):
        raise UnsafePickleError("The network pickle holds a persistent object of an unknown layout.")
    return PersistentObject(class_name=str(meta.get("class_name")), version=meta.get("version"),
                            state=meta["state"])


def _load_storage_from_bytes(payload: bytes) -> Any:
    # The payload is a legacy torch.save stream of one storage; weights_only keeps it code-free too.
    if not isinstance(payload, (bytes, bytearray)):
        raise UnsafePickleError("A tensor storage in the network pickle is not raw bytes.")
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)


class _PlainDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``: a dict with attribute reads, nothing else."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setstate__(self, state: Any) -> None:  # EasyDict keeps its data in the dict items
        pass


def _numpy_scalar() -> Any:
    core = getattr(np, "_core", None)
    multiarray = getattr(core, "multiarray", None) if core is not None else None
    if multiarray is None or not hasattr(multiarray, "scalar"):
        multiarray = np.core.multiarray
    return multiarray.scalar


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,           # pickles written with protocol < 4 spell sets this way
    ("builtins", "frozenset"): frozenset,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "scalar"): None,   # resolved lazily: numpy 1.x vs 2.x module names
    ("numpy._core.multiarray", "scalar"): None,
    ("dnnlib.util", "EasyDict"): _PlainDict,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for official StyleGAN2-ADA network pickles that never imports or runs their code.

    ``find_class`` answers only from :data:`_ALLOWED_GLOBALS`; any other global (``os.system``,
    ``builtins.eval``, a network class, ...) raises :class:`UnsafePickleError` before it is looked up.
    """

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if module.startswith("dnnlib.tflib"):
            raise UnsafePickleError(
                "This is a TensorFlow StyleGAN2 network pickle (dnnlib.tflib). Convert it to the PyTorch "
                "format with the official stylegan2-ada-pytorch `legacy.py`, or download the PyTorch "
                "release (`python -m core.stylegan2 list`).")
        if key not in _ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"Refused to load: the file asks for the Python object '{module}.{name}', which is not a "
                "tensor or plain container. Network pickles can carry code; this loader only rebuilds "
                "weights, so nothing from the file was run.")
        obj = _ALLOWED_GLOBALS[key]
        return _numpy_scalar() if obj is None else obj

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("Refused to load: the pickle uses persistent ids (not an official "
                                "StyleGAN2-ADA network pickle).")


_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_IMAGE_MAGICS = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
                 b"RIFF": "a RIFF (WebP/AVI/WAV) file", b"\x1a\x45\xdf\xa3": "a WebM/MKV video"}


def _describe_magic(head: bytes) -> str | None:
    for magic, what in _IMAGE_MAGICS.items():
        if head.startswith(magic):
            return what
    if head[4:8] == b"ftyp":
        return "an MP4/MOV video"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    return None


def load_network_pickle(path: str | os.PathLike) -> dict:
    """Parse an official network pickle safely. Networks come back as :class:`PersistentObject`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"File not found: {path}")
    data = path.read_bytes()
    if not data:
        raise CheckpointError(f"{path.name} is empty (0 bytes).")
    what = _describe_magic(data[:16])
    if what:
        raise CheckpointError(f"{path.name} is {what}, not a StyleGAN2 network pickle.")
    try:
        obj = RestrictedUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, RuntimeError, UnicodeDecodeError, OverflowError, MemoryError) as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        if isinstance(e, EOFError) or "truncated" in detail.lower() or "ran out of input" in detail.lower():
            raise CheckpointError(f"{path.name} is truncated or corrupt (the pickle ends early). "
                                  "Download it again; `python -m core.download get KEY` resumes.") from None
        raise CheckpointError(f"{path.name} is not a readable network pickle ({detail}).") from None
    if isinstance(obj, int) and obj == _TORCH_LEGACY_MAGIC:
        raise _LegacyTorchFile()
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path.name} is a pickle of a {type(obj).__name__}, not a network pickle "
                              "(expected a dict with 'G_ema').")
    return obj


class _LegacyTorchFile(Exception):
    """Internal signal: the pickle is really a legacy (non-zip) ``torch.save`` file."""


def persistent_state_dict(obj: PersistentObject, prefix: str = "") -> dict[str, torch.Tensor]:
    """Flatten a persistent module's pickled ``__dict__`` tree into a ``state_dict``."""
    state = obj.state
    skip = set(state.get("_non_persistent_buffers_set") or ())
    out: dict[str, torch.Tensor] = {}
    for name, t in (state.get("_parameters") or {}).items():
        if t is not None:
            out[prefix + name] = t.detach()
    for name, t in (state.get("_buffers") or {}).items():
        if t is not None and name not in skip:
            out[prefix + name] = t.detach()
    for name, child in (state.get("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, PersistentObject):
            raise CheckpointError(f"Sub-module '{prefix + name}' has an unexpected type.")
        out.update(persistent_state_dict(child, prefix + name + "."))
    for k, t in out.items():
        if not isinstance(t, torch.Tensor):
            raise CheckpointError(f"Entry '{k}' of the network is not a tensor.")
    return out


def _build_and_load(init_kwargs: dict, state_dict: dict[str, torch.Tensor], source: str) -> Generator:
    if any(k.startswith("synthesis.input.") for k in state_dict):
        raise CheckpointError(f"{source} is a StyleGAN3 (alias-free) generator; only StyleGAN2 / "
                              "StyleGAN2-ADA generators are supported.")
    try:
        G = generator_from_config(init_kwargs)
    except (TypeError, ValueError, AssertionError) as e:
        raise CheckpointError(f"{source}: cannot build a StyleGAN2 generator from its config "
                              f"({e}).") from None
    own = G.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong = [k for k in own if k in state_dict and tuple(own[k].shape) != tuple(state_dict[k].shape)]
    if missing or unexpected or wrong:
        raise CheckpointError(f"{source} does not match the StyleGAN2 architecture: missing {missing[:4]}, "
                              f"unexpected {unexpected[:4]}, wrong shape {wrong[:4]}.")
    G.load_state_dict({k: v.float() for k, v in state_dict.items()})
    return G.eval().requires_grad_(False)


def generator_from_network_pickle(obj: dict, key: str = "G_ema", source: str = "network pickle") -> Generator:
    net = obj.get(key)
    if not isinstance(net, PersistentObject):
        found = ", ".join(map(str, obj)) or "nothing"
        raise CheckpointError(f"{source} has no '{key}' network (it holds {found}).")
    if net.class_name.rsplit(".", 1)[-1] != "Generator":
        raise CheckpointError(f"{source}: '{key}' is a {net.class_name}, not a Generator.")
    init_kwargs = dict(net.state.get("_init_kwargs") or {})
    if net.state.get("_init_args"):
        raise CheckpointError(f"{source}: the generator was built with positional arguments; unsupported.")
    return _build_and_load(init_kwargs, persistent_state_dict(net), source)


def save_generator_checkpoint(G: Generator, path: str | os.PathLike, step: int = 0,
                              extra: dict | None = None) -> None:
    """Write the project format ``{'model', 'config', 'step', 'version', **extra}`` atomically."""
    ckpt = {"model": {k: v.detach().cpu() for k, v in G.state_dict().items()},
            "config": copy.deepcopy(G.init_kwargs), "step": int(step), "version": CHECKPOINT_VERSION}
    ckpt.update(extra or {})
    atomic_torch_save(ckpt, path)


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
    if "model" not in ckpt or "config" not in ckpt:
        found = ", ".join(sorted(map(str, ckpt))[:8]) or "nothing"
        raise CheckpointError(f"{source} is not a StyleGAN2 checkpoint: expected 'model' and 'config', "
                              f"found {found}.")
    cfg = ckpt["config"]
    if not isinstance(cfg, dict) or not {"z_dim", "w_dim", "img_resolution"} <= set(cfg):
        raise CheckpointError(f"{source} is a checkpoint of another model family (its config has no "
                              "z_dim / w_dim / img_resolution).")
    model = ckpt["model"]
    if not isinstance(model, dict):
        raise CheckpointError(f"{source}: 'model' is not a state dict.")
    return _build_and_load(cfg, model, source)


def load_generator(path: str | os.PathLike) -> Generator:
    """Open an official ``.pkl`` network pickle or a project ``.pt`` checkpoint as an eval Generator.

    Every failure is a :class:`CheckpointError` whose message says what the file is instead.
    The result carries ``G.source_info`` (kind, path, step when known).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"File not found: {path}")
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        raise CheckpointError(f"{path.name} is empty (0 bytes).")
    what = _describe_magic(head)
    if what:
        raise CheckpointError(f"{path.name} is {what}, not a StyleGAN2 network.")
    if head.startswith(b"PK\x03\x04"):
        ckpt = safe_torch_load(path)  # zip-format torch.save file
        G = generator_from_checkpoint(ckpt, path.name)
        G.source_info = {"kind": "project", "path": str(path), "step": ckpt.get("step"),
                         "kimg": ckpt.get("kimg")}
        return G
    if not head.startswith(b"\x80"):
        raise CheckpointError(f"{path.name} is neither a network pickle nor a PyTorch checkpoint "
                              f"(it starts with {head[:8]!r}).")
    try:
        obj = load_network_pickle(path)
    except _LegacyTorchFile:
        ckpt = safe_torch_load(path)  # legacy torch.save (e.g. FOMM's 2019 vox-cpk.pth.tar)
        G = generator_from_checkpoint(ckpt, path.name)
        G.source_info = {"kind": "project", "path": str(path), "step": ckpt.get("step")}
        return G
    G = generator_from_network_pickle(obj, source=path.name)
    G.source_info = {"kind": "official-pickle", "path": str(path), "step": None}
    return G


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


# ---------------------------------------------------------------------------------------------------
# Sampling helpers (pure, seeded; images come back as uint8 HxWx3 via core.imaging.to_uint8)
# ---------------------------------------------------------------------------------------------------


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """The official ``generate.py`` latent for a seed: ``RandomState(seed).randn(1, z_dim)``."""
    return torch.from_numpy(np.random.RandomState(int(seed) % (2 ** 32)).randn(1, z_dim)).float()


def zs_from_seeds(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    return torch.cat([z_from_seed(s, z_dim) for s in seeds]) if seeds else torch.zeros(0, z_dim)


def parse_seeds(text: str, limit: int = 10_000) -> list[int]:
    """'1, 5-8,42' -> [1, 5, 6, 7, 8, 42] (the official scripts' seed syntax). Raises ValueError."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(f"'{part}' is not a seed or a range like 10-20")
        a, b = int(lo), int(hi) if sep else int(lo)
        if b < a:
            raise ValueError(f"range '{part}' runs backwards")
        seeds.extend(range(a, b + 1))
        if len(seeds) > limit:
            raise ValueError(f"at most {limit} seeds at once")
    if not seeds:
        raise ValueError("no seeds given")
    return seeds


@torch.no_grad()
def seeds_to_ws(G: Generator, seeds: Sequence[int], truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
    """Mapping outputs for seeds: [N, num_ws, w_dim]."""
    z = zs_from_seeds(list(seeds), G.z_dim)
    c = torch.zeros(len(seeds), G.c_dim) if G.c_dim else None
    return G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)


def truncate(G: Generator, ws: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
    """Apply truncation to already-mapped (psi=1) ws, so one mapping serves every psi."""
    if psi == 1:
        return ws
    w_avg = G.mapping.w_avg
    out = ws.clone()
    n = ws.shape[1] if cutoff is None else cutoff
    out[:, :n] = w_avg.lerp(ws[:, :n], psi)
    return out


class WsCache:
    """Small thread-safe LRU of untruncated mapping outputs per seed for one generator.

    Dragging a slider then costs only synthesis; truncation is applied on the cached w.
    """

    def __init__(self, G: Generator, capacity: int = 512):
        self._G_ref = weakref.ref(G)
        self._data: OrderedDict[int, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity
        self.hits = self.misses = 0

    def get(self, seed: int, truncation_psi: float = 1.0,
            truncation_cutoff: int | None = None) -> torch.Tensor:
        G = self._G_ref()
        assert G is not None, "generator was garbage-collected"
        with self._lock:
            ws = self._data.get(int(seed))
            if ws is not None:
                self._data.move_to_end(int(seed))
                self.hits += 1
        if ws is None:
            ws = seeds_to_ws(G, [int(seed)])
            with self._lock:
                self.misses += 1
                self._data[int(seed)] = ws
                while len(self._data) > self.capacity:
                    self._data.popitem(last=False)
        return truncate(G, ws, truncation_psi, truncation_cutoff)


def _noise_generator(noise_mode: str, noise_seed: int) -> torch.Generator | None:
    if noise_mode != "random":
        return None
    g = torch.Generator()
    g.manual_seed(int(noise_seed))
    return g


@torch.no_grad()
def synthesize(G: Generator, ws: torch.Tensor, noise_mode: str = "const", noise_seed: int = 0,
               max_resolution: int | None = None, out_size: int | None = None) -> np.ndarray:
    """ws [N, num_ws, w_dim] -> uint8 [N, H, W, 3].

    ``max_resolution`` stops synthesis after that block (cheap preview; the skip architecture makes
    every block's running image valid) and ``out_size`` resizes (bilinear) for display.
    """
    assert ws.ndim == 3 and ws.shape[1] == G.num_ws, f"ws must be [N, {G.num_ws}, w_dim], got {ws.shape}"
    # Unfused modulation: one shared conv per layer and cached demodulation sums (same maths).
    img = G.synthesis(ws, noise_mode=noise_mode, max_resolution=max_resolution, fused_modconv=False,
                      generator=_noise_generator(noise_mode, noise_seed))
    if out_size is not None and img.shape[-1] != out_size:
        img = F.interpolate(img, size=(out_size, out_size), mode="bilinear", align_corners=False,
                            antialias=img.shape[-1] > out_size)
    return to_uint8(img)


def generate_images(G: Generator, seeds: Sequence[int], truncation_psi: float = 1.0,
                    truncation_cutoff: int | None = None, noise_mode: str = "const",
                    batch_size: int = 8) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (seed, uint8 HxWx3) like the official ``generate.py`` (noise seeded by the seed)."""
    seeds = list(seeds)
    for i in range(0, len(seeds), batch_size):
        chunk = seeds[i:i + batch_size]
        ws = seeds_to_ws(G, chunk, truncation_psi, truncation_cutoff)
        if noise_mode == "random":
            imgs = np.concatenate([synthesize(G, ws[j:j + 1], noise_mode, noise_seed=s)
                                   for j, s in enumerate(chunk)])
        else:
            imgs = synthesize(G, ws, noise_mode)
        yield from zip(chunk, imgs)


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: float, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation along the last dim (keeps Gaussian z at a typical norm)."""
    an = a / a.norm(dim=-1, keepdim=True).clamp_min(eps)
    bn = b / b.norm(dim=-1, keepdim=True).clamp_min(eps)
    dot = (an * bn).sum(-1, keepdim=True).clamp(-1 + eps, 1 - eps)
    omega = torch.acos(dot)
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:
        return lerp(a, b, t)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


@torch.no_grad()
def keyframe_ws(G: Generator, seeds: Sequence[int], steps_per_transition: int, space: str = "w",
                truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                loop: bool = False) -> torch.Tensor:
    """Latent path through keyframe seeds: lerp in W or slerp in Z. Returns [F, num_ws, w_dim]."""
    assert space in ("w", "z"), "space must be 'w' or 'z'"
    assert len(seeds) >= 2 and steps_per_transition >= 1
    keys = list(seeds) + ([seeds[0]] if loop else [])
    ts = [k / steps_per_transition for k in range(steps_per_transition)]
    out = []
    if space == "w":
        ws = seeds_to_ws(G, keys, truncation_psi, truncation_cutoff)
        for i in range(len(keys) - 1):
            out += [lerp(ws[i], ws[i + 1], t) for t in ts]
        if not loop:
            out.append(ws[-1])
        return torch.stack(out)
    zs = zs_from_seeds(keys, G.z_dim)
    path = []
    for i in range(len(keys) - 1):
        path += [slerp(zs[i], zs[i + 1], t) for t in ts]
    if not loop:
        path.append(zs[-1])
    z = torch.stack(path)
    c = torch.zeros(len(z), G.c_dim) if G.c_dim else None
    return G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)


def render_frames(G: Generator, ws: torch.Tensor, noise_mode: str = "const", batch_size: int = 4,
                  out_size: int | None = None) -> Iterator[np.ndarray]:
    """Yield uint8 HxWx3 frames for a latent path (for core.video.write_mp4 / write_gif)."""
    for i in range(0, len(ws), batch_size):
        yield from synthesize(G, ws[i:i + batch_size], noise_mode, out_size=out_size)


# Style groups of Karras et al. (2019): coarse 4-8 px (pose, face shape), middle 16-32 px (features,
# hair style, eyes), fine 64 px+ (colour scheme, micro-structure).
STYLE_GROUPS = ("coarse", "middle", "fine")


def style_layers(G: Generator, group: str) -> list[int]:
    """ws indices that a style group controls (generalised to small resolutions)."""
    assert group in STYLE_GROUPS, f"group must be one of {STYLE_GROUPS}"
    syn = G.synthesis
    res = syn.block_resolutions
    hi_coarse, hi_middle = 8, 32
    if res[-1] <= 32:  # small models: keep three non-empty groups
        hi_coarse, hi_middle = 8, 16
    # A block's first conv shares its w with the previous block's toRGB, so a group starts one past it
    # (this gives the paper's 0-3 / 4-7 / 8-17 split for 1024 px).
    start = {"coarse": 0,
             "middle": min(syn.block_w_start.get(hi_coarse * 2, syn.num_ws) + 1, syn.num_ws),
             "fine": min(syn.block_w_start.get(hi_middle * 2, syn.num_ws) + 1, syn.num_ws)}
    end = {"coarse": start["middle"], "middle": start["fine"], "fine": syn.num_ws}
    return list(range(start[group], end[group]))


def mix_styles(ws_dest: torch.Tensor, ws_src: torch.Tensor, layers: Sequence[int]) -> torch.Tensor:
    """Copy the ``layers`` of ``ws_src`` into ``ws_dest`` (both [N, num_ws, w_dim])."""
    out = ws_dest.clone()
    idx = list(layers)
    out[:, idx] = ws_src[:, idx]
    return out


@torch.no_grad()
def style_mixing_grid(G: Generator, row_seeds: Sequence[int], col_seeds: Sequence[int],
                      layers: Sequence[int], truncation_psi: float = 1.0, noise_mode: str = "const",
                      out_size: int | None = None) -> np.ndarray:
    """Official ``style_mixing.py`` layout: top row = column seeds, left column = row seeds,
    cell (r, c) = row seed's w with ``layers`` taken from column seed c. Returns one uint8 image."""
    row_ws = seeds_to_ws(G, row_seeds, truncation_psi)
    col_ws = seeds_to_ws(G, col_seeds, truncation_psi)
    row_img = synthesize(G, row_ws, noise_mode, out_size=out_size)
    col_img = synthesize(G, col_ws, noise_mode, out_size=out_size)
    blank = np.full_like(row_img[0], 255)
    tiles = [blank] + list(col_img)
    for r in range(len(row_seeds)):
        mixed = mix_styles(row_ws[r:r + 1].expand(len(col_seeds), -1, -1), col_ws, layers)
        tiles += [row_img[r]] + list(synthesize(G, mixed, noise_mode, out_size=out_size))
    return make_grid(tiles, cols=len(col_seeds) + 1)


@dataclass
class SemanticDirections:
    """SeFa result: unit directions in W, their eigenvalues, the ws layers they act on, and the
    standard deviation of mapped samples along each direction (so sliders move in sigma units)."""

    directions: torch.Tensor  # [K, w_dim]
    eigenvalues: torch.Tensor  # [K], descending
    layers: list[int]
    sigmas: torch.Tensor  # [K]


def modulation_layers(G: Generator) -> list[tuple[int, nn.Module]]:
    """(ws index, SynthesisLayer) for every modulated conv, in ws order."""
    out = []
    syn = G.synthesis
    for res in syn.block_resolutions:
        block = getattr(syn, f"b{res}")
        i = syn.block_w_start[res]
        for name in ("conv0", "conv1"):
            if hasattr(block, name):
                out.append((i, getattr(block, name)))
                i += 1
    return out


@torch.no_grad()
def sefa_directions(G: Generator, layers: Sequence[int] | None = None, num: int = 8,
                    num_sigma_samples: int = 1000) -> SemanticDirections:
    """Closed-form factorisation (Shen & Zhou 2021) of the style-modulation weights of ``layers``.

    The affine weights A (rows: output channels, each row normalised) of the chosen convs are
    stacked; the top eigenvectors of A^T A are the directions in W that change those styles most.
    """
    chosen = [(i, layer) for i, layer in modulation_layers(G) if layers is None or i in set(layers)]
    assert chosen, "no modulated layers selected"
    weight = torch.cat([layer.affine.weight.detach().float() for _, layer in chosen])  # [sumC, w_dim]
    weight = weight / weight.norm(dim=1, keepdim=True).clamp_min(1e-8)
    eigvals, eigvecs = torch.linalg.eigh(weight.T.double() @ weight.double())
    order = torch.argsort(eigvals, descending=True)[:num]
    directions = eigvecs[:, order].T.float().contiguous()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        z = torch.randn(num_sigma_samples, G.z_dim)
    c = torch.zeros(num_sigma_samples, G.c_dim) if G.c_dim else None
    w = G.mapping(z, c)[:, 0]
    sigmas = (w @ directions.T).std(dim=0).clamp_min(1e-6)
    used = sorted({i for i, _ in chosen})
    return SemanticDirections(directions, eigvals[order].float(), used, sigmas)


def apply_directions(ws: torch.Tensor, sem: SemanticDirections, amounts: Sequence[float]) -> torch.Tensor:
    """Move ws along each direction by ``amounts[k]`` sigmas, on the factorised layers only."""
    assert len(amounts) <= len(sem.directions)
    delta = torch.zeros(ws.shape[-1])
    for k, a in enumerate(amounts):
        if a:
            delta = delta + float(a) * float(sem.sigmas[k]) * sem.directions[k]
    out = ws.clone()
    out[:, sem.layers] += delta
    return out


def direction_strip(G: Generator, ws: torch.Tensor, sem: SemanticDirections, k: int,
                    amounts: Sequence[float] = (-3, -1.5, 0, 1.5, 3), noise_mode: str = "const",
                    max_resolution: int | None = None, out_size: int | None = None) -> np.ndarray:
    """Preview strip for direction k: uint8 images side by side, one per amount (sigmas)."""
    assert ws.shape[0] == 1, "direction_strip takes a single latent"
    batch = torch.cat([apply_directions(ws, sem, [0] * k + [a]) for a in amounts])
    imgs = synthesize(G, batch, noise_mode, max_resolution=max_resolution, out_size=out_size)
    return np.concatenate(list(imgs), axis=1)


def preview_resolution(G: Generator, budget_ms: float, probe: bool = True) -> int:
    """Largest block resolution whose synthesis fits ``budget_ms`` on this machine (for dragging).

    Times batch-1 synthesis per resolution (best of two, after a warm-up), smallest first, stopping at
    the first that misses.
    """
    ws = G.mapping.w_avg.reshape(1, 1, -1).repeat(1, G.num_ws, 1)
    best = G.synthesis.block_resolutions[0]
    if not probe:
        return best
    with torch.no_grad():
        synthesize(G, ws, max_resolution=best)  # warm-up: first calls pay for allocator/kernels setup
        for res in G.synthesis.block_resolutions:
            times = []
            for _ in range(2):
                t0 = time.perf_counter()
                synthesize(G, ws, max_resolution=res)
                times.append((time.perf_counter() - t0) * 1000)
            if min(times) > budget_ms:
                break
            best = res
    return best


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from core import download as dl

    p = argparse.ArgumentParser(prog="python -m core.stylegan2", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the official StyleGAN2 weights")
    d = sub.add_parser("download", help="download official StyleGAN2 weights (resumable, checksummed)")
    d.add_argument("key", help="e.g. ffhq-1024, metfaces (see `list`)")
    d.add_argument("--dest", default=None, help="folder (default checkpoints/downloads)")
    d.add_argument("--url", default=None, help="mirror URL instead of the official one")
    i = sub.add_parser("info", help="load a generator safely and print its config")
    i.add_argument("path")
    a = p.parse_args(argv)
    if a.cmd == "list":
        for w in dl.OFFICIAL_WEIGHTS.values():
            if w.family == "stylegan2":
                print(f"{w.key:14s} ~{w.size_mb:4d} MB  {w.description}\n{'':14s} {w.url}")
        return 0
    if a.cmd == "download":
        if a.key in dl.OFFICIAL_WEIGHTS and dl.OFFICIAL_WEIGHTS[a.key].family != "stylegan2":
            print(f"error: '{a.key}' is not a StyleGAN2 network", file=sys.stderr)
            return 2
        return dl.main(["get", a.key] + (["--dest", a.dest] if a.dest else []) +
                       (["--url", a.url] if a.url else []))
    try:
        G = load_generator(a.path)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    n = sum(t.numel() for t in G.state_dict().values())
    print(f"{a.path}: {G.source_info['kind']}, {G.img_resolution} px, num_ws {G.num_ws}, "
          f"{n / 1e6:.1f}M values")
    print(G.init_kwargs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
