"""Equalised-learning-rate building blocks shared by the generator and the discriminator.

Weights are stored as N(0, 1) samples and scaled by ``1 / sqrt(fan_in)`` at run time (Karras et al.,
"Progressive Growing of GANs", 2018), as in NVIDIA's ``networks.py``; tensor names follow it too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from core.stylegan2.ops import activation_gain, bias_act, conv2d_down2, setup_filter


class FullyConnectedLayer(nn.Module):
    """Dense layer with equalised learning rate (weights stored unscaled, scaled at run time)."""

    def __init__(self, in_features: int, out_features: int,
                 bias: bool = True,
                 activation: str = "linear",   # "linear", "lrelu" or "relu"
                 lr_multiplier: float = 1.0,   # learning-rate multiplier (0.01 in the mapping MLP)
                 bias_init: float = 0.0):      # initial bias (1 for the style affines)
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 2 and x.shape[1] == self.in_features, \
            f"expected [N, {self.in_features}], got {tuple(x.shape)}"
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)


class Conv2dLayer(nn.Module):
    """Convolution with equalised learning rate, optional 2x FIR down-sampling, bias and activation."""

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: int,                 # odd: the output keeps H (or H/2 with down=2)
                 bias: bool = True,
                 activation: str = "linear",       # "linear", "lrelu" or "relu"
                 down: int = 1,                    # 1, or 2 to blur and halve the resolution
                 resample_filter: Sequence[float] = (1, 3, 3, 1),  # FIR taps of the anti-aliasing blur
                 conv_clamp: float | None = None):  # clamp outputs to +-conv_clamp (None: off)
        super().__init__()
        assert down in (1, 2), f"down must be 1 or 2, not {down}"
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.down = kernel_size, down
        self.activation, self.conv_clamp = activation, conv_clamp
        self.act_gain = activation_gain(activation)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)

    def forward(self, x: torch.Tensor, gain: float = 1) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1] == self.in_channels, \
            f"expected [N, {self.in_channels}, H, W], got {tuple(x.shape)}"
        w = (self.weight * self.weight_gain).to(x.dtype)
        if self.down == 2:
            x = conv2d_down2(x, w, self.resample_filter)
        else:
            x = torch.nn.functional.conv2d(x, w, padding=self.kernel_size // 2)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        b = self.bias.to(x.dtype) if self.bias is not None else None
        return bias_act(x, b, act=self.activation, gain=self.act_gain * gain, clamp=clamp)
