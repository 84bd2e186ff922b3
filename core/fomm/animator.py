"""Batched FOMM inference: encode the source once, then animate batches of driving frames."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from core.device import has_bf16_units
from core.fomm.blocks import kp2gaussian, make_coordinate_grid
from core.fomm.dense_motion import sparse_motions
from core.fomm.fused import (
    FastConvBN,
    FastHourglass,
    FastPhaseConv,
    FastResBlock,
    FastUp,
    PackedConv,
    fast_antialias,
)
from core.fomm.generator import OcclusionAwareGenerator
from core.fomm.keypoint_detector import KPDetector
from core.fomm.normalize import normalize_kp
from core.image.convert import to_uint8


class FommAnimator:
    """Fast FOMM inference: encode the source once, then animate batches of driving frames.

    Gives the same frames as the official per-frame loop (``kp_detector`` + full ``generator`` per
    frame), within float rounding, but reuses the source's features, keypoints, downsampled image and
    gaussians, batches frames, runs under ``torch.inference_mode``, folds eval-mode BatchNorm into
    convolutions (packed once for oneDNN on CPU), evaluates nearest-upsample convolutions at low
    resolution, the residual bottleneck with Winograd F(4x4, 3x3) convolutions and the output
    convolution on the last upsampling's 2x2 phases, and decodes full-resolution frames a few at a
    time so they stay in the CPU caches. The networks are only read, never modified (safe to share
    through a cache).
    """

    def __init__(self, kp_detector: KPDetector, generator: OcclusionAwareGenerator,
                 device: torch.device | str = "cpu", size: int | None = None, batch_size: int = 4,
                 channels_last: bool = True, decode_frames: int = 2, amp_bf16: bool = False):
        self.device = torch.device(device)
        self.kp_detector = kp_detector
        self.generator = generator
        self.batch_size = batch_size  # driving frames per forward pass (bounds memory)
        self.decode_frames = decode_frames  # frames per full-resolution decoder pass (CPU cache sized)
        # The residual bottleneck (most of a frame's work) under bf16 autocast: its Winograd transforms
        # then run on the CPU's bf16 units (AMX), at ~1 % relative error in the bottleneck's features
        # (speed in docs/benchmarks.md). Off by default: the default path matches the official one. On a
        # device without bf16 units it is not used (emulated, slower, and oneDNN refuses some kernels).
        self.amp_bf16 = amp_bf16 and has_bf16_units(self.device.type)
        dm = generator.dense_motion_network
        assert dm is not None, "FommAnimator needs a generator with a dense motion network"
        self.dense_motion = dm
        # Resolution frames are resized to; the default matches the checkpoint's training size.
        self.size = size
        with torch.inference_mode():
            self._kp_hourglass = FastHourglass(kp_detector.predictor)
            self._dm_hourglass = FastHourglass(dm.hourglass)
            self._first = FastConvBN(generator.first, pool=False)
            self._down = [FastConvBN(b, pool=True) for b in generator.down_blocks]
            self._bottleneck = [FastResBlock(b) for b in generator.bottleneck]
            self._up = [FastUp(b) for b in generator.up_blocks]
            final = generator.final
            self._final = (FastPhaseConv(final) if self._up and final.kernel_size[0] % 2 == 1
                           and final.padding == (final.kernel_size[0] // 2,) * 2 else None)
        # The mask and occlusion heads read the same features: one convolution computes both.
        heads = [dm.mask] + ([dm.occlusion] if dm.occlusion is not None else [])
        assert all(h.padding == dm.mask.padding and h.kernel_size == dm.mask.kernel_size for h in heads)
        # NHWC activations let oneDNN skip a layout reorder around every convolution on CPU.
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self._heads = PackedConv(torch.cat([h.weight.detach() for h in heads]),
                                 torch.cat([h.bias.detach() for h in heads]), padding=dm.mask.padding)
        self._source: dict[str, Any] | None = None
        self._initial: dict[str, torch.Tensor] | None = None
        self._initial_cache: tuple[int, dict[str, torch.Tensor]] | None = None

    # -- helpers -------------------------------------------------------------------------------
    def _to_tensor(self, frames: np.ndarray) -> torch.Tensor:
        arr = np.asarray(frames)
        assert arr.dtype == np.uint8 and arr.ndim == 4 and arr.shape[-1] == 3, \
            f"expected uint8 NxHxWx3 frames, got {arr.dtype} {arr.shape}"
        if self.size is not None and arr.shape[1:3] != (self.size, self.size):
            import cv2
            arr = np.stack([cv2.resize(f, (self.size, self.size), interpolation=cv2.INTER_AREA) for f in arr])
        t = torch.from_numpy(np.ascontiguousarray(arr)).to(self.device)
        return t.permute(0, 3, 1, 2).float().div_(255.0)

    def _keypoints(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        kp = self.kp_detector
        if kp.scale_factor != 1:
            x = fast_antialias(kp.down, x)
        return kp.keypoints_from_features(self._kp_hourglass(x.contiguous(memory_format=self.memory_format)))

    # -- public API ----------------------------------------------------------------------------
    @torch.inference_mode()
    def set_source(self, image: np.ndarray) -> None:
        """Encode the source face (uint8 HxWx3) once: features, keypoints, downsampled image."""
        image = np.asarray(image)
        assert image.ndim == 3 and image.shape[-1] == 3, f"expected HxWx3 uint8, got {image.shape}"
        self.set_source_tensor(self._to_tensor(image[None]))

    @torch.inference_mode()
    def set_source_tensor(self, source: torch.Tensor) -> None:
        """Like :meth:`set_source` for a (1, 3, H, W) float tensor in [0, 1]."""
        assert source.ndim == 4 and source.shape[0] == 1, f"expected (1, C, H, W), got {tuple(source.shape)}"
        source = source.to(self.device)
        dm = self.dense_motion
        small = dm.down(source) if dm.scale_factor != 1 else source
        h, w = small.shape[2:]
        grid = make_coordinate_grid(h, w, small.dtype, small.device)
        features = self._first(source.contiguous(memory_format=self.memory_format))
        for block in self._down:
            features = block(features)
        kp_source = self._keypoints(source)
        self._source = dict(
            image=source, small=small, grid=grid, features=features, kp=kp_source,
            gauss=kp2gaussian(kp_source["value"], h, w, dm.kp_variance),
            # The background motion is the identity, so its warp of the source never changes.
            background=F.grid_sample(small, grid[None], align_corners=False))
        self._initial = None

    @property
    def kp_source(self) -> dict[str, torch.Tensor]:
        assert self._source is not None, "call set_source first"
        return self._source["kp"]

    def reset_driving(self) -> None:
        """Forget the initial driving frame (the next batch's first frame becomes it)."""
        self._initial = None

    @torch.inference_mode()
    def driving_keypoints(self, frames: np.ndarray) -> dict[str, torch.Tensor]:
        return self._keypoints(self._to_tensor(frames))

    @torch.inference_mode()
    def animate(self, frames: np.ndarray, relative: bool = True, adapt_scale: bool = True,
                driving_initial: np.ndarray | dict | None = None) -> np.ndarray:
        """Animate the source with driving frames (uint8 NxHxWx3) -> uint8 NxHxWx3 frames.

        ``driving_initial`` is the driving frame whose pose corresponds to the source (uint8 HxWx3,
        or its keypoints dict); by default the first frame seen since :meth:`set_source` or
        :meth:`reset_driving`, so a long video can be streamed through in several calls.
        """
        out = [self._predict(self._to_tensor(frames[i:i + self.batch_size]), relative, adapt_scale,
                             driving_initial)
               for i in range(0, len(frames), self.batch_size)]
        return to_uint8(torch.cat(out), drange=(0.0, 1.0))

    @torch.inference_mode()
    def animate_tensor(self, driving: torch.Tensor, relative: bool = True, adapt_scale: bool = True,
                       driving_initial: torch.Tensor | dict | None = None) -> torch.Tensor:
        """Float version of :meth:`animate`: (N, 3, H, W) in [0, 1] -> predictions in [0, 1]."""
        assert driving.ndim == 4, f"expected NCHW driving frames, got {tuple(driving.shape)}"
        return torch.cat([self._predict(driving[i:i + self.batch_size].to(self.device), relative,
                                        adapt_scale, driving_initial)
                          for i in range(0, driving.shape[0], self.batch_size)])

    def _predict(self, driving: torch.Tensor, relative: bool, adapt_scale: bool,
                 driving_initial: Any) -> torch.Tensor:
        src = self._source
        assert src is not None, "call set_source first"
        kp_driving = self._keypoints(driving)
        if driving_initial is not None:
            if isinstance(driving_initial, dict):
                initial = driving_initial
            elif torch.is_tensor(driving_initial):
                first = driving_initial.reshape(1, *driving_initial.shape[-3:])
                initial = self._keypoints(first.to(self.device))
            else:
                arr = np.ascontiguousarray(driving_initial)
                key = hash(arr.tobytes())  # callers pass the same frame with every batch: detect it once
                if self._initial_cache is None or self._initial_cache[0] != key:
                    kp = self._keypoints(self._to_tensor(arr.reshape(1, *arr.shape[-3:])))
                    self._initial_cache = (key, kp)
                initial = self._initial_cache[1]
        else:
            if self._initial is None:
                self._initial = {k: v[:1].clone() for k, v in kp_driving.items()}
            initial = self._initial
        kp_norm = normalize_kp(src["kp"], kp_driving, initial, adapt_movement_scale=adapt_scale,
                               use_relative_movement=relative, use_relative_jacobian=relative)
        return self._decode(kp_norm)

    def _decode(self, kp_driving: dict[str, torch.Tensor]) -> torch.Tensor:
        src, dm = self._source, self.dense_motion
        assert src is not None
        small, grid = src["small"], src["grid"]
        c, h, w = small.shape[1:]
        n, k = kp_driving["value"].shape[:2]
        motions = sparse_motions(grid, src["kp"], kp_driving)  # (N, K+1, h, w, 2)
        # One grid_sample of the single source for all frames and keypoints (no copies of the source).
        warped = F.grid_sample(small, motions[:, 1:].reshape(1, n * k * h, w, 2), align_corners=False)
        warped = warped.view(c, n, k, h, w).permute(1, 2, 0, 3, 4)
        deformed = torch.cat([src["background"].unsqueeze(1).expand(n, 1, c, h, w), warped], dim=1)
        heat = kp2gaussian(kp_driving["value"], h, w, dm.kp_variance) - src["gauss"]
        heat = torch.cat([heat.new_zeros(n, 1, h, w), heat], dim=1).unsqueeze(2)
        prediction = self._dm_hourglass(torch.cat([heat, deformed], dim=2).view(n, -1, h, w)
                                        .contiguous(memory_format=self.memory_format))
        heads = self._heads(prediction)
        mask = F.softmax(heads[:, :k + 1], dim=1)
        deformation = (motions * mask.unsqueeze(-1)).sum(dim=1)  # (N, h, w, 2)

        feats = src["features"]
        fc, fh, fw = feats.shape[1:]
        if (fh, fw) != (h, w):
            deformation = F.interpolate(deformation.permute(0, 3, 1, 2), size=(fh, fw), mode="bilinear",
                                        align_corners=False).permute(0, 2, 3, 1)
        out = F.grid_sample(feats, deformation.reshape(1, n * fh, fw, 2), align_corners=False)
        out = out.view(fc, n, fh, fw).permute(1, 0, 2, 3)
        if dm.occlusion is not None:
            occlusion = torch.sigmoid(heads[:, k + 1:])
            if occlusion.shape[2:] != (fh, fw):
                occlusion = F.interpolate(occlusion, size=(fh, fw), mode="bilinear", align_corners=False)
            out = out * occlusion
        # The full-resolution decoder runs a few frames at a time: its activations then stay in the
        # CPU caches, which beats batching all of them (batching still pays at the low-resolution
        # steps above), while each operation still has enough work to amortise its thread hand-off.
        step = self.decode_frames
        return torch.cat([self._decode_frames(out[i:i + step]) for i in range(0, n, step)])

    def _decode_frames(self, out: torch.Tensor) -> torch.Tensor:
        out = out.contiguous(memory_format=self.memory_format)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp_bf16):
            for block in self._bottleneck:
                out = block(out)
        out = out.float()
        if self._final is None:
            for block in self._up:
                out = block(out)
            return torch.sigmoid(self.generator.final(out))
        for block in self._up[:-1]:
            out = block(out)
        # The last upsampling hands its output over as 2x2 phases, which the output convolution reads.
        return F.pixel_shuffle(torch.sigmoid(self._final(self._up[-1](out, phase_channels=True))), 2)

