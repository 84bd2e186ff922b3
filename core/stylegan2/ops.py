"""Low-level StyleGAN2 ops: FIR filters (upfirdn2d), bias + activation, resampling convolutions and
weight (de)modulation.

Pure-torch equivalents of the reference paths of NVIDIA's ``torch_utils/ops`` (``upfirdn2d``,
``bias_act``, ``conv2d_resample``) in ``stylegan2-ada-pytorch``. The generator and the training
discriminator both use these, so there is one FIR filter and one equalised convolution in the project.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

ACTIVATIONS = ("linear", "lrelu", "relu")


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


def activation_gain(act: str) -> float:
    """The gain that keeps unit variance after ``act`` (sqrt 2 for the rectifiers)."""
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


def conv2d_down2(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """k x k convolution fused with 2x FIR down-sampling (blur, then stride 2), NCHW.

    Equivalent to the official ``conv2d_resample(down=2, padding=k//2)``: the FIR padding makes a
    k x k stride-2 conv map H to H/2 exactly; a 1x1 conv down-samples first, which is cheaper.
    """
    kw = w.shape[-1]
    fw = f.shape[-1]
    pad = kw // 2
    p0, p1 = pad + (fw - 2 + 1) // 2, pad + (fw - 2) // 2
    if kw == 1:
        return F.conv2d(upfirdn2d(x, f, down=2, padding=(p0, p1, p0, p1)), w)
    return F.conv2d(upfirdn2d(x, f, padding=(p0, p1, p0, p1)), w, stride=2)


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
