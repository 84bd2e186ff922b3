"""Winograd F(4x4, 3x3) convolution for inference: 3x3 stride-1 convolutions with 4x fewer multiplies.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016). Every 6x6 input tile and
3x3 kernel is mapped to a 6x6 "Winograd domain" where the convolution becomes 36 independent
channel matrix products (one per tile position), then mapped back to a 4x4 output tile. Exact up
to float rounding (relative error ~1e-6 in float32). Used for the generator's residual bottleneck,
where 3x3 convolutions of 256 channels at 64x64 dominate the cost of a FOMM frame.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Transform matrices of F(4x4, 3x3) (interpolation points 0, +-1, +-2, infinity).
_BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
       [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
_G = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]
_AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
TILE = 4  # output pixels per tile side
SPAN = TILE + 2  # input pixels per tile side


class Winograd3x3:
    """A 3x3, stride 1, padding 1 convolution (fixed weight and bias) evaluated with F(4x4, 3x3).

    ``weight`` (C_out, C_in, 3, 3) and ``bias`` (C_out,) are transformed once. Calls take and
    return channels-last NCHW tensors; the optional ``pre`` (scale, shift) applies
    ``relu(x * scale + shift)`` per input channel (an eval-mode BatchNorm and ReLU) while the input
    is copied into tiles, ``residual`` is added to the output and ``relu`` applied last, so a
    residual block needs no separate elementwise passes.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        assert weight.ndim == 4 and weight.shape[2:] == (3, 3), f"expected 3x3 kernels, got {weight.shape}"
        c_out, c_in = weight.shape[:2]
        g = torch.tensor(_G, dtype=torch.float64)
        u = torch.einsum("ak,ockl,bl->aboc", g, weight.detach().double(), g)  # (6, 6, C_out, C_in)
        # The 36 channel products as one grouped 1x1 convolution (group = tile position), so a call
        # is a handful of large operations: on a loaded machine every extra parallel region costs a
        # thread hand-off, which would eat the saving.
        self.weight = u.float().reshape(SPAN * SPAN * c_out, c_in, 1, 1).contiguous()
        self._packed: dict[int, object] = {}  # oneDNN prepacked weights, per tile count
        bt = torch.tensor(_BT, dtype=torch.float64)
        at = torch.tensor(_AT, dtype=torch.float64)
        self.input_transform = torch.kron(bt, bt).float()  # (36, 36) on flattened 6x6 tiles
        self.output_transform = torch.kron(at, at).float()  # (16, 36)
        self.bias = bias.detach().float().clone()
        self.c_in, self.c_out = c_in, c_out

    def _products(self, v: torch.Tensor) -> torch.Tensor:
        """(T, 36, C_in) -> (T, 36, C_out): one channel matrix product per tile position."""
        count = v.shape[0]
        grouped = v.view(1, count, 1, SPAN * SPAN * self.c_in).permute(0, 3, 1, 2)  # channels-last NCHW
        if v.device.type == "cpu" and hasattr(torch.ops, "mkldnn_prepacked"):
            if count not in self._packed:
                self._packed[count] = torch.ops.mkldnn_prepacked.conv2d_prepack(
                    self.weight, None, [1, 1], [0, 0], [1, 1], SPAN * SPAN, list(grouped.shape), "none")
            out = torch.ops.mkldnn_prepacked.conv2d_run(grouped, self._packed[count])
        else:
            out = F.conv2d(grouped, self.weight.to(v.device), groups=SPAN * SPAN)
        return out.permute(0, 2, 3, 1).reshape(count, SPAN * SPAN, self.c_out)

    def __call__(self, x: torch.Tensor, pre: tuple[torch.Tensor, torch.Tensor] | None = None,
                 residual: torch.Tensor | None = None, relu: bool = False) -> torch.Tensor:
        n, c, h, w = x.shape
        assert c == self.c_in, f"expected {self.c_in} input channels, got {c}"
        th, tw = -(-h // TILE), -(-w // TILE)
        # Zero-padded NHWC input covering whole tiles (1 pixel of conv padding on each side).
        padded = x.new_zeros(n, th * TILE + 2, tw * TILE + 2, c)
        inner = padded[:, 1:h + 1, 1:w + 1]
        if pre is not None:
            torch.addcmul(pre[1], x.permute(0, 2, 3, 1), pre[0], out=inner).relu_()
        else:
            inner.copy_(x.permute(0, 2, 3, 1))
        s = padded.stride()
        tiles = padded.as_strided((n, th, tw, SPAN, SPAN, c),
                                  (s[0], TILE * s[1], TILE * s[2], s[1], s[2], s[3]))
        count = n * th * tw
        v = torch.matmul(self.input_transform, tiles.reshape(count, SPAN * SPAN, c))
        y = torch.matmul(self.output_transform, self._products(v))  # (T, 16, C_out)
        y = y.view(n, th, tw, TILE, TILE, self.c_out).permute(0, 1, 3, 2, 4, 5)
        out = torch.empty((n, th * TILE, tw * TILE, self.c_out), dtype=x.dtype, device=x.device)
        torch.add(y, self.bias, out=out.view(n, th, TILE, tw, TILE, self.c_out))
        if (th * TILE, tw * TILE) != (h, w):
            out = out[:, :h, :w].contiguous()
        if residual is not None:
            out.add_(residual.permute(0, 2, 3, 1))
        if relu:
            out.relu_()
        return out.permute(0, 3, 1, 2)
