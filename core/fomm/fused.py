"""Inference-only fused blocks: eval-mode BatchNorm folded into convolutions, cheaper upsampling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.fomm.blocks import AntiAliasInterpolation2d, Hourglass, ResBlock2d, UpBlock2d


def fold_bn(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BatchNorm after a conv, folded into the conv's weight and bias."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    weight = conv.weight * scale.view(-1, 1, 1, 1)
    bias = (conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean))
    return weight.detach().clone(), ((bias - norm.running_mean) * scale + norm.bias).detach().clone()


class FastUp:
    """UpBlock2d as four 2x2 convolutions at the input resolution (one per output phase).

    A 3x3 convolution of a nearest-upsampled map only ever sees 2x2 distinct input pixels, so
    summing the kernel taps that land on the same pixel gives the exact result with 4/9 of the work.
    """

    def __init__(self, block: UpBlock2d):
        self.memory_format = torch.contiguous_format
        weight, self.bias = fold_bn(block.conv, block.norm)
        assert weight.shape[-1] == 3 and block.conv.padding == (1, 1), "fast path expects 3x3 convs"
        rows = [(weight[:, :, 0:1], weight[:, :, 1:2] + weight[:, :, 2:3]),  # output row phase 0
                (weight[:, :, 0:1] + weight[:, :, 1:2], weight[:, :, 2:3])]  # output row phase 1
        self.kernels = []
        for a in range(2):
            w_rows = torch.cat(rows[a], dim=2)  # (out, in, 2, 3)
            for b in range(2):
                if b == 0:
                    k = torch.cat([w_rows[..., 0:1], w_rows[..., 1:2] + w_rows[..., 2:3]], dim=3)
                else:
                    k = torch.cat([w_rows[..., 0:1] + w_rows[..., 1:2], w_rows[..., 2:3]], dim=3)
                self.kernels.append(k.contiguous())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        xp = F.pad(x, (1, 1, 1, 1))
        out = torch.empty((n, self.bias.shape[0], 2 * h, 2 * w), dtype=x.dtype, device=x.device,
                          memory_format=self.memory_format)
        for a in range(2):
            for b in range(2):
                window = xp[:, :, a:a + h + 1, b:b + w + 1]
                out[:, :, a::2, b::2] = F.conv2d(window, self.kernels[2 * a + b], self.bias).relu_()
        return out


class FastConvBN:
    def __init__(self, block: nn.Module, pool: bool):
        self.weight, self.bias = fold_bn(block.conv, block.norm)
        self.padding = block.conv.padding
        self.pool = pool

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.weight, self.bias, padding=self.padding).relu_()
        return F.avg_pool2d(out, 2) if self.pool else out


class FastHourglass:
    def __init__(self, hourglass: Hourglass):
        self.down = [FastConvBN(b, pool=True) for b in hourglass.encoder.down_blocks]
        self.up = [FastUp(b) for b in hourglass.decoder.up_blocks]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        skips = [x]
        for block in self.down:
            skips.append(block(skips[-1]))
        out = skips.pop()
        for block in self.up:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return out


class FastResBlock:
    def __init__(self, block: ResBlock2d):
        self.norm1 = block.norm1
        self.w1, self.b1 = fold_bn(block.conv1, block.norm2)  # norm2 follows conv1 directly
        self.w2, self.b2 = block.conv2.weight.detach(), block.conv2.bias.detach()
        self.pad = block.conv1.padding

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n1 = self.norm1
        out = F.batch_norm(x, n1.running_mean, n1.running_var, n1.weight, n1.bias, False, 0.0, n1.eps).relu_()
        out = F.conv2d(out, self.w1, self.b1, padding=self.pad).relu_()
        return F.conv2d(out, self.w2, self.b2, padding=self.pad).add_(x)


def fast_antialias(down: AntiAliasInterpolation2d, x: torch.Tensor) -> torch.Tensor:
    """AntiAliasInterpolation2d evaluating the blur only where nearest downsampling samples it."""
    step = 1 / down.scale
    if step != int(step) or x.shape[2] % int(step) or x.shape[3] % int(step):
        return down(x)
    out = F.pad(x, (down.ka, down.kb, down.ka, down.kb))
    return F.conv2d(out, weight=down.weight, groups=down.groups, stride=int(step))

