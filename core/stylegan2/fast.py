"""A fast inference renderer for the StyleGAN2 synthesis network (large generators on the CPU).

It computes the same function as :class:`~core.stylegan2.networks.SynthesisNetwork` (config F, skip
architecture) with the work regrouped for batch-1 inference:

* **modulation in the weights**: per sample the style, the demodulation coefficient and the activation
  gain are multiplied into the conv weights ([O, I, 3, 3], cheap) instead of scaling activations
  ([C, H, W], a full pass over memory each); demodulation uses the cached ``sum_k W^2`` ([O, I]);
  ``lrelu(g * y) = g * lrelu(y)`` for ``g > 0``, so the gain folds into weights, bias and noise;
* **channels-last** activations and weights throughout (oneDNN's fast layout for few channels);
* **no activation-sized allocation per layer**: every conv writes in place (oneDNN's sum post-op,
  :func:`conv_add_`) into one of three slots of a buffer kept across calls, pre-filled with the
  noise (``noise_const * noise_strength * gain``), with the bias inside the conv; then leaky ReLU and
  clamp in place. A fresh 134 MB activation at 1024 px costs ~33k page faults (the kernel zeroes every
  page): ~17 % of a face's CPU time went there;
* the 2x up-sampling conv as the transposed conv's **four output phases** (plain convs with 2x2, 2x1,
  1x2 and 1x1 taps: exactly its multiply-adds, none on inserted zeros) interleaved into a zero-bordered
  buffer, then the **4x4 FIR blur** as a depthwise conv with the bias. oneDNN's transposed conv runs at
  35-45 % of a plain conv's speed for 32-128 channels; the phases run at ~85 %. (Folding the FIR into
  the weights gives 4 phases of 3x3 taps, 4x the multiply-adds: measured 1.4-2.3x slower than the
  blur it saves, see docs/photoreal.md);
* optional **bf16** activations and weights (``dtype=torch.bfloat16``), worth it only on CPUs with
  bf16 units (oneDNN reports them; :func:`bf16_is_fast`); the skip image is accumulated in fp32.

The result equals the reference synthesis up to float rounding (PSNR > 100 dB in fp32; tested to the
official outputs within 1e-4). The reference path (``G.synthesis``) is unchanged and stays the one the
official-parity tests pin (tests/test_stylegan2.py); :func:`core.stylegan2.sampling.synthesize` uses
this renderer by default only for large generators (:data:`FAST_MIN_RESOLUTION`) on the CPU.
"""

from __future__ import annotations

import functools
import math
import threading
import weakref

import torch
import torch.nn.functional as F

from core.jobs.priority import yield_to_foreground
from core.stylegan2.networks import Generator, SynthesisLayer, ToRGBLayer

# Generators at least this large render through the fast path by default (below it the reference path
# is already interactive and its exact numerics are what the bundled model's tests pin down).
FAST_MIN_RESOLUTION = 256
CL = torch.channels_last
# Activation buffers a FastSynthesis keeps between calls (a face and a background drag frame at once).
KEPT_SCRATCH = 2
# Bytes of kept buffers across all renderers: past it the least recently used renderers drop theirs (the
# one that just drew never does). A 1024 px fp32 face's buffer is 0.377 GiB, a 256 px drag frame's 0.096:
# two models' buffers fit, and switching models never piles them up (the sampler caches up to four
# generators, each with its renderer).
KEPT_BYTES = 1 << 30


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


def _round(n: int) -> int:
    return -(-n // 16) * 16  # 64-byte aligned offsets inside the scratch buffer


@functools.cache
def inplace_conv_supported(dtype: torch.dtype) -> bool:
    """Whether oneDNN's in-place convolution (its sum post-op adds the result into an existing buffer)
    runs here in ``dtype`` and gives the plain convolution's answer; probed once on a tiny input."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        x = torch.randn(1, 3, 5, 5, generator=torch.Generator().manual_seed(0)).contiguous(memory_format=CL)
        w = torch.randn(4, 3, 3, 3, generator=torch.Generator().manual_seed(1)).contiguous(memory_format=CL)
        bias, out = torch.arange(4.0), torch.ones(1, 4, 5, 5).contiguous(memory_format=CL)
        expected = F.conv2d(x, w, bias, padding=1) + 1
        x, w, bias, out = (t.to(dtype) for t in (x, w, bias, out))
        _INPLACE_CONV(out, x, w, bias, [1, 1], [1, 1], [1, 1], 1, "add", None, None, [], None)
        return bool(torch.allclose(out.float(), expected, atol=0.1, rtol=0.02))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def _inplace_conv_op():
    try:
        return torch.ops.mkldnn._convolution_pointwise_.binary
    except (AttributeError, RuntimeError):
        return None


_INPLACE_CONV = _inplace_conv_op()


def conv_add_(out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
              padding: tuple[int, int], groups: int = 1, inplace: bool = True) -> torch.Tensor:
    """``out += conv2d(x, weight, bias)``. With ``inplace`` (oneDNN, see :func:`inplace_conv_supported`)
    the convolution writes straight into ``out`` (channels-last), so no activation-sized tensor is
    allocated: at 1024 px a fresh 134 MB output costs ~33k page faults, ~80 ms of kernel time."""
    if inplace:
        _INPLACE_CONV(out, x, weight, bias, list(padding), [1, 1], [1, 1], groups, "add", None, None, [],
                      None)
    else:
        out.add_(F.conv2d(x, weight, bias, padding=padding, groups=groups))
    return out


class _Scratch:
    """Three activation slots carved from one buffer that lives across layers and calls: every layer
    writes into a slot its input does not occupy (see :meth:`FastSynthesis._one`)."""

    def __init__(self, slot_elems: int, dtype: torch.dtype):
        self.slot_elems = _round(slot_elems)
        with torch.inference_mode(False):  # a normal tensor: writable in and outside inference mode
            self.buffer = torch.empty(3 * self.slot_elems, dtype=dtype)
        self.nbytes = self.buffer.numel() * self.buffer.element_size()

    def views(self, slot: int, shapes: list[tuple[int, int, int]]) -> list[torch.Tensor]:
        """Channels-last [1, C, H, W] tensors for ``shapes`` (C, H, W), side by side in ``slot``."""
        out, offset = [], slot * self.slot_elems
        for c, h, w in shapes:
            n = c * h * w
            out.append(self.buffer[offset:offset + n].view(1, h, w, c).permute(0, 3, 1, 2))
            offset += _round(n)
        assert offset <= (slot + 1) * self.slot_elems
        return out

    def span(self, slot: int, shapes: list[tuple[int, int, int]]) -> torch.Tensor:
        """The flat stretch of ``slot`` that :meth:`views` of ``shapes`` cover (to clear them at once)."""
        start = slot * self.slot_elems
        return self.buffer[start:start + sum(_round(c * h * w) for c, h, w in shapes)]


# The 2x up-sampling conv's four output phases (row parity a, column parity b): which 3x3 taps of
# the transposed conv land on them, and the padding that lines them up (see _UpLayer).
_PHASE_TAPS = {0: [2, 0], 1: [1]}
_PHASES = [(a, b) for a in (0, 1) for b in (0, 1)]


class _Layer:
    """Constants of one SynthesisLayer without up-sampling, prepared once."""

    def __init__(self, layer: SynthesisLayer, dtype: torch.dtype):
        self.gain = layer.act_gain
        self.clamp = layer.conv_clamp  # block gain is 1 at inference
        self.affine = _affine(layer.affine)
        w = layer.weight.detach().float()
        self.out_channels = w.shape[0]
        self.weight_sq = w.square().sum(dim=[2, 3])  # [O, I]
        self.weight = w.contiguous(memory_format=CL)  # modulating is one multiply that writes this layout
        self.bias = (layer.bias.detach().float() * self.gain).to(dtype)
        self.noise = None
        if layer.use_noise:
            noise = layer.noise_const.detach().float() * float(layer.noise_strength) * self.gain
            self.noise = noise.reshape(1, 1, *noise.shape).to(dtype)
        self.padding = layer.padding
        self.dtype = dtype
        self.inplace = inplace_conv_supported(dtype)

    def modulation(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample style [I] and demodulation x activation gain [O]."""
        styles = torch.addmm(self.affine[1], w, self.affine[0])[0]
        dcoefs = (self.weight_sq @ styles.square() + 1e-8).rsqrt() * self.gain
        return styles, dcoefs

    def start(self, out: torch.Tensor, noise: bool) -> None:
        """The output buffer before the convolution adds into it: the noise (or zeros)."""
        if noise and self.noise is not None:
            out.copy_(self.noise.expand_as(out))
        else:
            out.zero_()

    def finish(self, out: torch.Tensor) -> torch.Tensor:
        F.leaky_relu_(out, 0.2)
        if self.clamp is not None:
            out.clamp_(-self.clamp, self.clamp)
        return out

    def out_shapes(self, res: int) -> list[tuple[int, int, int]]:
        return [(self.out_channels, res, res)]

    def __call__(self, x: torch.Tensor, w: torch.Tensor, noise: bool, out: torch.Tensor) -> torch.Tensor:
        styles, dcoefs = self.modulation(w)
        weight = (self.weight * (dcoefs[:, None, None, None] * styles[None, :, None, None])).to(self.dtype)
        self.start(out, noise)
        conv_add_(out, x, weight, self.bias, (self.padding, self.padding), inplace=self.inplace)
        return self.finish(out)


class _UpLayer(_Layer):
    """A 2x up-sampling SynthesisLayer: the 3x3 transposed conv (stride 2) split into its four output
    phases, each a plain conv on the low-resolution input with 2x2, 2x1, 1x2 or 1x1 taps (9 taps in
    all: the transposed conv's multiply-adds, none on inserted zeros), written in place and interleaved
    into a zero-bordered buffer, then the 4x4 FIR blur as a depthwise conv with the bias, in place into
    the noise. oneDNN's transposed conv runs at 35-45 % of a plain conv's speed for 32-128 channels;
    the phases run at 65-100 %.

    The bordered buffer holds the transposed conv's (2h + 1)-wide output inside a zero border of 1
    (upfirdn2d's padding before the FIR): output row 2m + a sits at row 1 + 2m + a, so its odd rows are
    phase a = 0 (m = 0..h) and its even rows phase a = 1 (m = -1..h). Every phase is computed with
    padding 1, which for the 1-tap phases yields exactly those extra rows m = -1 and h, zeros (no bias
    yet): the border comes with the phases, nothing else writes it."""

    def __init__(self, layer: SynthesisLayer, dtype: torch.dtype):
        super().__init__(layer, dtype)
        w = layer.weight.detach().float()
        if w.shape[2:] != (3, 3) or layer.resample_filter.shape != (4, 4) or layer.padding != 1:
            raise ValueError("the fast renderer up-samples with 3x3 convs and a 4x4 FIR filter only")
        self.phases = [(a, b, w[:, :, _PHASE_TAPS[a]][:, :, :, _PHASE_TAPS[b]].contiguous(memory_format=CL))
                       for a, b in _PHASES]
        # Depthwise blur (the flipped FIR times the up-sampling gain 4), one filter per channel.
        f = (layer.resample_filter.detach().float() * 4).flip([0, 1])
        self.blur = f[None, None].repeat(w.shape[0], 1, 1, 1).to(dtype).contiguous(memory_format=CL)

    def out_shapes(self, res: int) -> list[tuple[int, int, int]]:
        h, c = res // 2, self.out_channels
        return [(c, h + 1 + a, h + 1 + b) for a, b in _PHASES]

    @staticmethod
    def padded_shape(res: int, channels: int) -> tuple[int, int, int]:
        return channels, res + 3, res + 3

    def __call__(self, x: torch.Tensor, w: torch.Tensor, noise: bool,  # type: ignore[override]
                 phases: list[torch.Tensor], cleared: torch.Tensor, padded: torch.Tensor,
                 out: torch.Tensor) -> torch.Tensor:
        """``phases``: views of ``out_shapes``, all inside ``cleared`` (zeroed here at once)."""
        styles, dcoefs = self.modulation(w)
        scale = dcoefs[:, None, None, None] * styles[None, :, None, None]  # [O, I, 1, 1]
        cleared.zero_()
        for (a, b, weight), phase in zip(self.phases, phases):
            conv_add_(phase, x, (weight * scale).to(self.dtype), None, (1, 1), inplace=self.inplace)
            padded[:, :, 1 - a::2, 1 - b::2].copy_(phase)
        self.start(out, noise)
        conv_add_(out, padded, self.blur, self.bias, (0, 0), groups=out.shape[1], inplace=self.inplace)
        return self.finish(out)


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
    references to ``G``'s affine layers and copies of the constants it precomputes, and between calls
    up to :data:`KEPT_SCRATCH` activation buffers (3 slots of the largest layer: ~0.4 GB for a 1024 px
    fp32 generator). The buffers go with the renderer (it holds no reference back to ``G``, so dropping
    ``G`` frees them at once, without the garbage collector), when :meth:`release_buffers` is called, or
    when other renderers draw and the buffers kept by all of them pass :data:`KEPT_BYTES`. Calls from
    several threads at once are safe: each takes its own buffer.
    """

    def __init__(self, G: Generator, dtype: torch.dtype = torch.float32):
        if dtype not in (torch.float32, torch.bfloat16):
            raise ValueError(f"the fast renderer runs in float32 or bfloat16, not {dtype}")
        self.dtype = dtype  # no reference to G: G -> its cached renderer -> G would be a cycle
        syn = G.synthesis
        self.block_resolutions = list(syn.block_resolutions)
        self.blocks = []
        for res in self.block_resolutions:
            b = getattr(syn, f"b{res}")
            const = None
            if b.in_channels == 0:
                const = b.const.detach().float()[None].to(dtype).contiguous(memory_format=CL)
            up = _UpLayer(b.conv0, dtype) if b.in_channels != 0 else None
            f = b.resample_filter.detach().float() * 4
            up_filter = f[None, None].repeat(G.img_channels, 1, 1, 1).contiguous(memory_format=CL)
            self.blocks.append((syn.block_w_start[res], const, up, _Layer(b.conv1, dtype),
                                _ToRGB(b.torgb, dtype), up_filter))
        self.num_ws, self.w_dim = syn.num_ws, syn.w_dim
        self.version = _weights_version(G)
        self._kept: list[_Scratch] = []
        self._lock = threading.Lock()

    @torch.no_grad()
    def __call__(self, ws: torch.Tensor, noise_mode: str = "const",
                 max_resolution: int | None = None) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> image [N, 3, H, W] float32 in [-1, 1] scale (unclamped)."""
        if noise_mode not in ("const", "none"):
            raise ValueError(f"the fast renderer draws noise_mode 'const' or 'none', not {noise_mode!r}")
        assert ws.ndim == 3 and ws.shape[1:] == (self.num_ws, self.w_dim), tuple(ws.shape)
        ws = ws.to(torch.float32)
        scratch = self._take_scratch(max_resolution)
        try:
            images = [self._one(ws[i:i + 1], noise_mode == "const", max_resolution, scratch)
                      for i in range(ws.shape[0])]
            return images[0] if len(images) == 1 else torch.cat(images)
        finally:
            self._keep_scratch(scratch)

    def __getstate__(self) -> dict:
        # Copies (a trainer deep-copies G for its EMA) take the constants, not the lock or buffers.
        return {k: v for k, v in self.__dict__.items() if k not in ("_kept", "_lock")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _kept=[], _lock=threading.Lock())

    def release_buffers(self) -> None:
        """Drop the kept activation buffers (the next call allocates afresh)."""
        with self._lock:
            self._kept.clear()

    def _slot_elems(self, max_resolution: int | None) -> int:
        need = 0
        for res, (_, _, up, conv, _, _) in zip(self.block_resolutions, self.blocks):
            shapes = [conv.out_shapes(res)]
            if up is not None:
                shapes += [up.out_shapes(res), [_UpLayer.padded_shape(res, up.out_channels)]]
            need = max([need] + [sum(_round(c * h * w) for c, h, w in group) for group in shapes])
            if max_resolution is not None and res >= max_resolution:
                break
        return need

    def _take_scratch(self, max_resolution: int | None) -> _Scratch:
        need = _round(self._slot_elems(max_resolution))
        with self._lock:
            fits = [s for s in self._kept if s.slot_elems >= need]
            if fits:
                best = min(fits, key=lambda s: s.slot_elems)
                self._kept.remove(best)
                return best
        return _Scratch(need, self.dtype)

    def kept_bytes(self) -> int:
        with self._lock:
            return sum(s.nbytes for s in self._kept)

    def _keep_scratch(self, scratch: _Scratch) -> None:
        with self._lock:
            self._kept.append(scratch)
            if len(self._kept) > KEPT_SCRATCH:
                self._kept.remove(min(self._kept, key=lambda s: s.slot_elems))
        for other in _drew(self):  # outside our lock: theirs are taken one at a time, never nested
            other.release_buffers()

    def _one(self, ws: torch.Tensor, noise: bool, max_resolution: int | None,
             scratch: _Scratch) -> torch.Tensor:
        x = img = None
        x_slot = None  # the scratch slot x lives in (None: the const input)
        for res, (idx, const, up, conv, torgb, filt) in zip(self.block_resolutions, self.blocks):
            # In background work, step aside here and before each layer while a person waits for a
            # foreground render (the state is this loop's locals and the scratch buffer: resuming redoes
            # nothing). A 256 px drag frame's largest layer is ~0.3 s of one core: finer steps than frames.
            yield_to_foreground()
            a, b = [s for s in range(3) if s != x_slot][:2]
            if const is not None:
                x = const
            if up is not None:
                # The phases go to slot a and the bordered buffer to slot b; the output then
                # overwrites the phases (slot a), and conv1 writes slot b.
                phases = scratch.views(a, up.out_shapes(res))
                padded, = scratch.views(b, [_UpLayer.padded_shape(res, up.out_channels)])
                out, = scratch.views(a, conv.out_shapes(res))
                x = up(x, ws[:, idx], noise, phases, scratch.span(a, up.out_shapes(res)), padded, out)
                x_slot, idx = a, idx + 1
                yield_to_foreground()
            out, = scratch.views(b if x_slot == a else a, conv.out_shapes(res))
            x = conv(x, ws[:, idx], noise, out)
            x_slot = b if x_slot == a else a
            y = torgb(x, ws[:, idx + 1])
            img = y if img is None else _upsample_skip(img, filt).add_(y)
            if max_resolution is not None and res >= max_resolution:
                break
        return img


# Renderers that kept buffers, least recently used first (weak: this list keeps no renderer alive).
_RECENT: list[weakref.ref[FastSynthesis]] = []
_RECENT_LOCK = threading.Lock()


def _drew(renderer: FastSynthesis) -> list[FastSynthesis]:
    """Mark ``renderer`` most recently used; the others whose buffers must go to stay within
    :data:`KEPT_BYTES`, least recently used first."""
    with _RECENT_LOCK:
        alive = [r for r in (ref() for ref in _RECENT) if r is not None and r is not renderer]
        _RECENT[:] = [weakref.ref(r) for r in alive] + [weakref.ref(renderer)]
        total, drop = renderer.kept_bytes(), []
        for r in reversed(alive):  # most recent first; past the budget, it and every older one drop
            total += r.kept_bytes()
            if drop or total > KEPT_BYTES:
                drop.append(r)
        return drop[::-1]


def kept_buffer_bytes() -> int:
    """Bytes of activation buffers all live renderers keep now."""
    with _RECENT_LOCK:
        renderers = [r for r in (ref() for ref in _RECENT) if r is not None]
    return sum(r.kept_bytes() for r in renderers)


def _weights_version(G: Generator) -> tuple:
    return tuple((p.data_ptr(), p._version) for p in G.synthesis.parameters())


def fast_synthesis(G: Generator, dtype: torch.dtype = torch.float32) -> FastSynthesis:
    """The cached :class:`FastSynthesis` of ``G`` for ``dtype`` (rebuilt when G's weights change)."""
    cache = G.__dict__.setdefault("_fast_synthesis", {})
    fs = cache.get(dtype)
    if fs is None or fs.version != _weights_version(G):
        fs = cache[dtype] = FastSynthesis(G, dtype)
    return fs
