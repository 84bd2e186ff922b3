"""The StyleGAN2 generator: mapping network, synthesis layers and blocks, and :class:`Generator`.

Architecture: Karras et al., "Analyzing and Improving the Image Quality of StyleGAN" (CVPR 2020,
config F) as released in NVIDIA's ``stylegan2-ada-pytorch`` (``training/networks.py``). This is an
independent implementation whose ``state_dict`` names and shapes equal the official ``G_ema`` ones, so
official weights load unchanged and give the official images (checked against reference outputs to 1e-4).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from core.stylegan2.config import GeneratorConfig, plain_kwargs
from core.stylegan2.layers import FullyConnectedLayer
from core.stylegan2.ops import (
    activation_gain,
    bias_act,
    modulated_conv2d,
    normalize_2nd_moment,
    setup_filter,
    upsample2d,
)


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
        self.act_gain = activation_gain(activation)
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
        self.init_kwargs = plain_kwargs(dict(
            z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels,
            mapping_kwargs=mapping_kwargs, synthesis_kwargs=synthesis_kwargs))
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

