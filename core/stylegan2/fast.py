"""A fast inference renderer for the StyleGAN2 synthesis network (large generators on the CPU).

It computes the same function as :class:`~core.stylegan2.networks.SynthesisNetwork` (config F, skip
architecture) with the work regrouped for batch-1 inference:

* **modulation in the weights**: per sample the style, the demodulation coefficient and the activation
  gain are multiplied into the conv weights ([O, I, 3, 3], cheap) instead of scaling activations
  ([C, H, W], a full pass over memory each); demodulation uses the cached ``sum_k W^2`` ([O, I]);
  ``lrelu(g * y) = g * lrelu(y)`` for ``g > 0``, so the gain folds into weights, bias and noise;
* **channels-last** activations and weights throughout (oneDNN's fast layout for few channels);
* the conv's **bias inside the convolution**, then noise, activation and clamp **in place**;
* **precomputed constant-noise buffers** (``noise_const * noise_strength * gain``) and FIR filters;
* the 2x up-sampling conv as a 3x3 **transposed convolution + a separate 4x4 depthwise blur**
  (folding the FIR into the weights gives 4 phases of 3x3 taps, 4x the multiply-adds; measured 1.4-2.3x
  slower than the blur it saves, see docs/photoreal.md);
* optional **bf16** activations and weights (``dtype=torch.bfloat16``), worth it only on CPUs with
  bf16 units (oneDNN reports them; :func:`bf16_is_fast`); the skip image is accumulated in fp32.

The result equals the reference synthesis up to float rounding (PSNR > 100 dB in fp32; tested to the
official outputs within 1e-4). The reference path (``G.synthesis``) is unchanged and stays the one the
official-parity tests pin (tests/test_stylegan2.py); :func:`core.stylegan2.sampling.synthesize` uses
this renderer by default only for large generators (:data:`FAST_MIN_RESOLUTION`) on the CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from core.stylegan2.networks import Generator, SynthesisLayer, ToRGBLayer

# Generators at least this large render through the fast path by default (below it the reference path
# is already interactive and its exact numerics are what the bundled model's tests pin down).
FAST_MIN_RESOLUTION = 256
CL = torch.channels_last


def bf16_is_fast() -> bool:
    """Whether this CPU has bf16 units that oneDNN uses (AVX512-BF16 / AMX); on plain AVX2 bf16 convs
    are emulated and many times slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def psnr(image: torch.Tensor, reference: torch.Tensor, peak: float = 2.0) -> float:
    """PSNR in dB of ``image`` against ``reference`` (both in [-1, 1] scale, so the peak is 2)."""
    mse = float((image.float() - reference.float()).square().mean())
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def _affine(fc) -> tuple[torch.Tensor, torch.Tensor]:
    """A style affine's equalised weight and bias, scaled once (addmm at run time)."""
    return ((fc.weight.detach().float() * fc.weight_gain).t().contiguous(),
            (fc.bias.detach().float() * fc.bias_gain)[None])


class _Layer:
    """Constants of one SynthesisLayer, prepared once."""

    def __init__(self, layer: SynthesisLayer, dtype: torch.dtype):
        self.up = layer.up
        self.gain = layer.act_gain
        self.clamp = layer.conv_clamp  # block gain is 1 at inference
        self.affine = _affine(layer.affine)
        w = layer.weight.detach().float()
        self.weight_sq = w.square().sum(dim=[2, 3])  # [O, I]
        # Kept in the layout the conv wants, so modulating is one multiply that writes it directly:
        # [O, I, k, k] for the conv, [I, O, k, k] for the transposed conv, both channels-last.
        self.weight = (w.transpose(0, 1) if self.up == 2 else w).contiguous(memory_format=CL)
        self.bias = (layer.bias.detach().float() * self.gain).to(dtype)
        self.noise = None
        if layer.use_noise:
            noise = layer.noise_const.detach().float() * float(layer.noise_strength) * self.gain
            self.noise = noise.reshape(1, 1, *noise.shape).to(dtype)
        self.padding = layer.padding
        self.dtype = dtype
        if self.up == 2:
            # Depthwise blur (the flipped FIR times the up-sampling gain 4), one filter per channel.
            f = (layer.resample_filter.detach().float() * 4).flip([0, 1])
            self.blur = f[None, None].repeat(w.shape[0], 1, 1, 1).to(dtype).contiguous(memory_format=CL)

    def __call__(self, x: torch.Tensor, w: torch.Tensor, noise: bool) -> torch.Tensor:
        styles = torch.addmm(self.affine[1], w, self.affine[0])  # [1, I]
        dcoefs = (styles.square() @ self.weight_sq.t() + 1e-8).rsqrt() * self.gain  # [1, O]
        if self.up == 2:
            scale = styles.reshape(-1, 1, 1, 1) * dcoefs.reshape(1, -1, 1, 1)  # [I, O, 1, 1]
            y = F.conv_transpose2d(x, (self.weight * scale).to(self.dtype), stride=2)
            # upfirdn2d padding (1, 1) on each side of the (2h + 1)-wide output, then the 4x4 FIR.
            y = F.conv2d(y, self.blur, self.bias, padding=1, groups=y.shape[1])  # bias after the blur
        else:
            scale = dcoefs.reshape(-1, 1, 1, 1) * styles.reshape(1, -1, 1, 1)  # [O, I, 1, 1]
            y = F.conv2d(x, (self.weight * scale).to(self.dtype), self.bias, padding=self.padding)
        if noise and self.noise is not None:
            y.add_(self.noise)
        F.leaky_relu_(y, 0.2)
        if self.clamp is not None:
            y.clamp_(-self.clamp, self.clamp)
        return y


class _ToRGB:
    def __init__(self, layer: ToRGBLayer, dtype: torch.dtype):
        weight, bias = _affine(layer.affine)
        self.affine = (weight * layer.weight_gain, bias * layer.weight_gain)
        self.weight = layer.weight.detach().float().contiguous(memory_format=CL)
        self.bias = layer.bias.detach().float().to(dtype)
        self.clamp = layer.conv_clamp
        self.dtype = dtype

    def __call__(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = torch.addmm(self.affine[1], w, self.affine[0])
        y = F.conv2d(x, (self.weight * styles.reshape(1, -1, 1, 1)).to(self.dtype), self.bias)
        if self.clamp is not None:
            y = y.clamp_(-self.clamp, self.clamp)
        return y.float()


def _upsample_skip(img: torch.Tensor, up_filter: torch.Tensor) -> torch.Tensor:
    """``ops.upsample2d`` (zero insertion, pad (2, 1), 4x4 FIR, gain 4) as one stride-2 transposed conv,
    which skips the multiplications by the inserted zeros (the FIR is symmetric, so no flip)."""
    return F.conv_transpose2d(img, up_filter, stride=2, padding=1, groups=img.shape[1])


class FastSynthesis:
    """Batch-1 inference renderer equivalent to ``G.synthesis`` (noise modes 'const' and 'none').

    Build it once per generator and dtype (:func:`fast_synthesis` caches it on ``G``); it keeps
    references to ``G``'s affine layers and copies of the constants it precomputes.
    """

    def __init__(self, G: Generator, dtype: torch.dtype = torch.float32):
        if dtype not in (torch.float32, torch.bfloat16):
            raise ValueError(f"the fast renderer runs in float32 or bfloat16, not {dtype}")
        self.G, self.dtype = G, dtype
        syn = G.synthesis
        self.block_resolutions = list(syn.block_resolutions)
        self.blocks = []
        for res in self.block_resolutions:
            b = getattr(syn, f"b{res}")
            const = None
            if b.in_channels == 0:
                const = b.const.detach().float()[None].to(dtype).contiguous(memory_format=CL)
            layers = [_Layer(b.conv0, dtype)] if b.in_channels != 0 else []
            layers.append(_Layer(b.conv1, dtype))
            f = b.resample_filter.detach().float() * 4
            up_filter = f[None, None].repeat(G.img_channels, 1, 1, 1).contiguous(memory_format=CL)
            self.blocks.append((syn.block_w_start[res], const, layers, _ToRGB(b.torgb, dtype), up_filter))
        self.num_ws, self.w_dim = syn.num_ws, syn.w_dim
        self.version = _weights_version(G)

    @torch.no_grad()
    def __call__(self, ws: torch.Tensor, noise_mode: str = "const",
                 max_resolution: int | None = None) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> image [N, 3, H, W] float32 in [-1, 1] scale (unclamped)."""
        if noise_mode not in ("const", "none"):
            raise ValueError(f"the fast renderer draws noise_mode 'const' or 'none', not {noise_mode!r}")
        assert ws.ndim == 3 and ws.shape[1:] == (self.num_ws, self.w_dim), tuple(ws.shape)
        ws = ws.to(torch.float32)
        return torch.cat([self._one(ws[i:i + 1], noise_mode == "const", max_resolution)
                          for i in range(ws.shape[0])])

    def _one(self, ws: torch.Tensor, noise: bool, max_resolution: int | None) -> torch.Tensor:
        x = img = None
        for res, (start, const, layers, torgb, filt) in zip(self.block_resolutions, self.blocks):
            idx = start
            if const is not None:
                x = const
            for layer in layers:
                x = layer(x, ws[:, idx], noise)
                idx += 1
            y = torgb(x, ws[:, idx])
            img = y if img is None else _upsample_skip(img, filt).add_(y)
            if max_resolution is not None and res >= max_resolution:
                break
        return img


def _weights_version(G: Generator) -> tuple:
    return tuple((p.data_ptr(), p._version) for p in G.synthesis.parameters())


def fast_synthesis(G: Generator, dtype: torch.dtype = torch.float32) -> FastSynthesis:
    """The cached :class:`FastSynthesis` of ``G`` for ``dtype`` (rebuilt when G's weights change)."""
    cache = G.__dict__.setdefault("_fast_synthesis", {})
    fs = cache.get(dtype)
    if fs is None or fs.version != _weights_version(G):
        fs = cache[dtype] = FastSynthesis(G, dtype)
    return fs
