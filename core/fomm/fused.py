"""Inference-only fused blocks: eval-mode BatchNorm folded into convolutions, cheaper upsampling,
Winograd residual blocks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.fomm.blocks import AntiAliasInterpolation2d, Hourglass, ResBlock2d, UpBlock2d
from core.fomm.winograd import TILE, Winograd3x3


class PackedConv:
    """``F.conv2d`` (stride 1) with fixed weights, optionally followed by ReLU.

    On CPU the weights are packed once into oneDNN's blocked layout (the way
    ``torch.jit.optimize_for_inference`` does), instead of being reordered on every call, and the
    ReLU runs inside the convolution. Elsewhere it is plain ``F.conv2d``.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, padding: int | tuple[int, int] = 0,
                 relu: bool = False):
        self.weight = weight.detach().contiguous(memory_format=torch.channels_last)
        self.bias = bias.detach().clone() if bias is not None else None
        self.padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
        self.relu = relu
        self._packed = None  # built on the first CPU call; valid for any input size

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.dtype == torch.float32 and _HAS_PREPACKED:
            x = x.contiguous(memory_format=torch.channels_last)
            if self._packed is None:
                self._packed = torch.ops.mkldnn_prepacked.conv2d_prepack(
                    self.weight, self.bias, [1, 1], list(self.padding), [1, 1], 1, list(x.shape),
                    "relu" if self.relu else "none")
            return torch.ops.mkldnn_prepacked.conv2d_run(x, self._packed)
        out = F.conv2d(x, self.weight, self.bias, padding=self.padding)
        return out.relu_() if self.relu else out


_HAS_PREPACKED = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn_prepacked, "conv2d_run")


def fold_bn(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BatchNorm after a conv, folded into the conv's weight and bias."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    weight = conv.weight * scale.view(-1, 1, 1, 1)
    bias = (conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean))
    return weight.detach().clone(), ((bias - norm.running_mean) * scale + norm.bias).detach().clone()


class FastUp:
    """UpBlock2d as 2x2 convolutions at the input resolution (one per output phase), in one call.

    A 3x3 convolution of a nearest-upsampled map only ever sees 2x2 distinct input pixels, so
    summing the kernel taps that land on the same pixel gives the exact result with 4/9 of the work.
    The four phase kernels are stacked into one convolution over the input padded by one pixel;
    phase (a, b) is its output shifted by (a, b), interleaved into the result with one strided copy.
    """

    # On small maps the one-pixel border of the stacked convolution costs more than the copies of
    # four separate per-phase windows (2x2 maps: 9 outputs per phase instead of 4).
    max_padding_overhead = 1.15

    def __init__(self, block: UpBlock2d):
        weight, bias = fold_bn(block.conv, block.norm)
        assert weight.shape[-1] == 3 and block.conv.padding == (1, 1), "fast path expects 3x3 convs"
        rows = [(weight[:, :, 0:1], weight[:, :, 1:2] + weight[:, :, 2:3]),  # output row phase 0
                (weight[:, :, 0:1] + weight[:, :, 1:2], weight[:, :, 2:3])]  # output row phase 1
        kernels = []
        for a in range(2):
            w_rows = torch.cat(rows[a], dim=2)  # (out, in, 2, 3)
            for b in range(2):
                if b == 0:
                    k = torch.cat([w_rows[..., 0:1], w_rows[..., 1:2] + w_rows[..., 2:3]], dim=3)
                else:
                    k = torch.cat([w_rows[..., 0:1] + w_rows[..., 1:2], w_rows[..., 2:3]], dim=3)
                kernels.append(k)
        self.kernels = [PackedConv(k, bias, relu=True) for k in kernels]  # one per phase, for small maps
        # All four phases as one (4 * out, in, 2, 2) convolution.
        self.stacked = PackedConv(torch.cat(kernels), bias.repeat(4), padding=1, relu=True)
        self.out_channels = bias.shape[0]

    def __call__(self, x: torch.Tensor, phase_channels: bool = False) -> torch.Tensor:
        """(N, C, H, W) -> (N, C_out, 2H, 2W); with ``phase_channels`` the same pixels as
        (N, 4 * C_out, H, W), channel (2a + b) * C_out + c holding output pixel (2i + a, 2j + b)."""
        n, _, h, w = x.shape
        co = self.out_channels
        if (h + 1) * (w + 1) > self.max_padding_overhead * h * w:
            out = self._small(x)
            return space_to_phases(out) if phase_channels else out
        phases = self.stacked(x)  # (n, 4 * co, h + 1, w + 1)
        phases = phases.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1)  # NHWC
        row, col = (w + 1) * 4 * co, 4 * co
        if phase_channels:  # out[n, i, j, (2a + b) * co + c] = phases[n, i + a, j + b, (2a + b) * co + c]
            shifted = phases.as_strided((n, h, w, 2, 2, co),
                                        ((h + 1) * row, row, col, row + 2 * co, col + co, 1))
            return shifted.reshape(n, h, w, 4 * co).permute(0, 3, 1, 2)
        # out[n, 2i + a, 2j + b, c] = phases[n, i + a, j + b, (2a + b) * co + c]
        interleaved = phases.as_strided((n, h, 2, w, 2, co),
                                        ((h + 1) * row, row, row + 2 * co, col, col + co, 1))
        return interleaved.reshape(n, 2 * h, 2 * w, co).permute(0, 3, 1, 2)

    def _small(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        xp = F.pad(x, (1, 1, 1, 1))
        out = torch.empty((n, self.out_channels, 2 * h, 2 * w), dtype=x.dtype, device=x.device,
                          memory_format=torch.channels_last)
        for a in range(2):
            for b in range(2):
                window = xp[:, :, a:a + h + 1, b:b + w + 1]
                out[:, :, a::2, b::2] = self.kernels[2 * a + b](window)
        return out


def space_to_phases(x: torch.Tensor) -> torch.Tensor:
    """(N, C, 2H, 2W) -> channels-last (N, 4C, H, W), channel (2a + b) * C + c = pixel (2i + a, 2j + b)."""
    n, c, h2, w2 = x.shape
    nhwc = x.permute(0, 2, 3, 1).reshape(n, h2 // 2, 2, w2 // 2, 2, c)
    return nhwc.permute(0, 1, 3, 2, 4, 5).reshape(n, h2 // 2, w2 // 2, 4 * c).permute(0, 3, 1, 2)


class FastPhaseConv:
    """A stride-1 'same' convolution (odd kernel) applied to a map given as its 2x2 phases.

    Takes :func:`space_to_phases` layout, returns the result in ``pixel_shuffle`` layout
    (channel c * 4 + 2p + q = output pixel (2i + p, 2j + q)). Same sums as the full-resolution
    convolution, but with 4x the output channels at a quarter of the pixels, which oneDNN runs far
    faster for the generator's 3-channel 7x7 output convolution.
    """

    def __init__(self, conv: nn.Conv2d):
        k = conv.kernel_size[0]
        assert conv.kernel_size == (k, k) and k % 2 == 1 and conv.padding == (k // 2, k // 2), \
            "expects an odd square 'same' convolution"
        half = k // 2
        self.padding = (half + 1) // 2  # phase-map taps reach this far either way
        taps = 2 * self.padding + 1
        weight = conv.weight.detach()
        co, ci = weight.shape[:2]
        phased = weight.new_zeros(co, 2, 2, 2, 2, ci, taps, taps)  # (c_out, p, q, a, b, c_in, ky, kx)
        for p in range(2):
            for q in range(2):
                for a in range(2):
                    for b in range(2):
                        for ky in range(taps):
                            for kx in range(taps):
                                dy = 2 * (ky - self.padding) + a - p
                                dx = 2 * (kx - self.padding) + b - q
                                if abs(dy) <= half and abs(dx) <= half:
                                    phased[:, p, q, a, b, :, ky, kx] = weight[:, :, dy + half, dx + half]
        bias = conv.bias.detach().repeat_interleave(4) if conv.bias is not None else None
        self.conv = PackedConv(phased.reshape(4 * co, 4 * ci, taps, taps), bias, padding=self.padding)

    def __call__(self, phases: torch.Tensor) -> torch.Tensor:
        return self.conv(phases)


class FastConvBN:
    def __init__(self, block: nn.Module, pool: bool):
        self.conv = PackedConv(*fold_bn(block.conv, block.norm), padding=block.conv.padding, relu=True)
        self.pool = pool

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
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
    """ResBlock2d with norm2 folded into conv1; Winograd convolutions when they pay off."""

    winograd_min_channels = 64  # below this width the transforms cost more than they save

    def __init__(self, block: ResBlock2d):
        n1 = block.norm1
        self.norm1 = n1
        scale = n1.weight / torch.sqrt(n1.running_var + n1.eps)
        self.pre = (scale.detach().clone(), (n1.bias - n1.running_mean * scale).detach().clone())
        w1, b1 = fold_bn(block.conv1, block.norm2)  # norm2 follows conv1 directly
        w2, b2 = block.conv2.weight.detach(), block.conv2.bias.detach()
        self.conv1 = PackedConv(w1, b1, padding=block.conv1.padding, relu=True)
        self.conv2 = PackedConv(w2, b2, padding=block.conv2.padding)
        self.winograd = None
        if (block.conv1.kernel_size == (3, 3) and block.conv1.padding == (1, 1)
                and w1.shape[0] >= self.winograd_min_channels):
            self.winograd = (Winograd3x3(w1, b1), Winograd3x3(w2, b2))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # On GPUs the vendor library's own convolution algorithms are faster.
        if self.winograd is not None and x.device.type == "cpu" and min(x.shape[2:]) >= TILE:
            conv1, conv2 = self.winograd
            x = x.contiguous(memory_format=torch.channels_last)
            return conv2(conv1(x, pre=self.pre, relu=True), residual=x)
        n1 = self.norm1
        out = F.batch_norm(x, n1.running_mean, n1.running_var, n1.weight, n1.bias, False, 0.0, n1.eps).relu_()
        return self.conv2(self.conv1(out)).add_(x)


def fast_antialias(down: AntiAliasInterpolation2d, x: torch.Tensor) -> torch.Tensor:
    """AntiAliasInterpolation2d evaluating the blur only where nearest downsampling samples it."""
    step = 1 / down.scale
    if step != int(step) or x.shape[2] % int(step) or x.shape[3] % int(step):
        return down(x)
    out = F.pad(x, (down.ka, down.kb, down.ka, down.kb))
    return F.conv2d(out, weight=down.weight, groups=down.groups, stride=int(step))

