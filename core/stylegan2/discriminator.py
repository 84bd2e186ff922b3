"""The StyleGAN2 residual discriminator (Karras et al. 2020, config E/F 'resnet' D), unconditional.

Built from the same equalised layers and FIR filter as the generator (:mod:`core.stylegan2.layers`).
Tensor names (``from_rgb``, ``blocks.N.conv0/conv1/skip``, ``epilogue_*``, ``out``) are the project's
training-checkpoint names and stay fixed so older runs resume.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from core.stylegan2.layers import Conv2dLayer, FullyConnectedLayer


class DiscriminatorBlock(nn.Module):
    """Residual block: two 3x3 convs (the second one down-samples) plus a 1x1 down-sampling skip.

    Both branches are scaled by sqrt(0.5) so the block keeps unit variance.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = Conv2dLayer(in_channels, in_channels, 3, activation="lrelu")
        self.conv1 = Conv2dLayer(in_channels, out_channels, 3, activation="lrelu", down=2)
        self.skip = Conv2dLayer(in_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return y + x


class Discriminator(nn.Module):
    """Residual discriminator with a minibatch-stddev epilogue: [N, C, R, R] in [-1, 1] -> logits [N, 1]."""

    def __init__(self, img_resolution: int,      # input side (power of two, >= 8)
                 img_channels: int = 3,          # input channels
                 channel_base: int = 2048,       # channels at resolution r: min(base // r, channel_max)
                 channel_max: int = 128,
                 mbstd_group: int = 4):          # group size of the minibatch standard deviation feature
        super().__init__()
        assert img_resolution >= 8 and img_resolution & (img_resolution - 1) == 0, img_resolution
        self.img_resolution = img_resolution
        self.mbstd_group = mbstd_group
        log2 = int(math.log2(img_resolution))
        ch = {2 ** i: min(channel_base // 2 ** i, channel_max) for i in range(2, log2 + 1)}
        assert min(ch.values()) >= 1, f"channel_base {channel_base} leaves no channels at {img_resolution} px"
        self.from_rgb = Conv2dLayer(img_channels, ch[img_resolution], 1, activation="lrelu")
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(ch[2 ** i], ch[2 ** (i - 1)]) for i in range(log2, 2, -1))
        c4 = ch[4]
        self.epilogue_conv = Conv2dLayer(c4 + 1, c4, 3, activation="lrelu")
        self.epilogue_fc = FullyConnectedLayer(c4 * 16, c4, activation="lrelu")
        self.out = FullyConnectedLayer(c4, 1)

    def minibatch_stddev(self, x: torch.Tensor) -> torch.Tensor:
        """Append the average per-group standard deviation as one extra feature map.

        Groups take strided samples (i, i + N/G, ...), as in the official code; an odd tail batch uses
        the largest group size that divides it.
        """
        n, c, h, w = x.shape
        g = min(self.mbstd_group, n)
        while n % g:
            g -= 1
        y = x.reshape(g, -1, c, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt()
        y = y.mean(dim=[1, 2, 3]).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        assert img.ndim == 4 and img.shape[2] == img.shape[3] == self.img_resolution, tuple(img.shape)
        x = self.from_rgb(img)
        for block in self.blocks:
            x = block(x)
        x = self.epilogue_conv(self.minibatch_stddev(x))
        return self.out(self.epilogue_fc(x.flatten(1)))
