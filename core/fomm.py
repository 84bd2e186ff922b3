"""First Order Motion Model for image animation (Siarohin et al., NeurIPS 2019).

An independent implementation of the paper's networks whose tensor names, shapes and outputs equal
those of the official ``first-order-model`` code, so the released ``vox-cpk.pth.tar`` loads as is:

* :class:`KPDetector` -- an hourglass predicts one heatmap per keypoint; a spatial softmax and a
  soft-argmax give the keypoint, and heatmap-weighted maps give its 2x2 jacobian (the "first order"
  local affine motion).
* :class:`DenseMotionNetwork` -- sparse motions (one local affine transform per keypoint plus the
  background identity) warp a downsampled source; an hourglass turns those warps and keypoint
  heatmaps into soft masks that blend the sparse motions into one dense flow, and an occlusion map.
* :class:`OcclusionAwareGenerator` -- encodes the source, warps its features with the dense flow,
  multiplies by the occlusion map and decodes the animated frame.

:func:`normalize_kp` follows the official demo (relative motion, relative jacobian, movement scale
from the keypoints' convex-hull areas). :class:`FommAnimator` is the fast inference path: source
features and keypoints are computed once, driving frames go through in batches under
``torch.inference_mode`` with batch-norm folded into the convolutions and the upsampling
convolutions evaluated at low resolution.

Coordinates follow the official code: keypoints in [-1, 1] as (x, y), and ``grid_sample`` with
``align_corners=False`` (modern PyTorch defaults, as the reference fixtures were computed).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.checkpoint import CheckpointError, safe_torch_load

KP_VARIANCE = 0.01  # variance of the keypoint gaussians fed to the dense motion network (official value)
BN_EPS = 1e-5

# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


@dataclass
class FommConfig:
    """The ``model_params`` section of an official FOMM config (e.g. ``config/vox-256.yaml``)."""

    num_kp: int = 10                 # keypoints per image
    num_channels: int = 3            # image channels
    estimate_jacobian: bool = True   # predict a 2x2 jacobian per keypoint (first-order motion)
    kp_detector_params: dict = field(default_factory=lambda: dict(
        temperature=0.1, block_expansion=32, max_features=1024, scale_factor=0.25, num_blocks=5))
    generator_params: dict = field(default_factory=lambda: dict(
        block_expansion=64, max_features=512, num_down_blocks=2, num_bottleneck_blocks=6,
        estimate_occlusion_map=True,
        dense_motion_params=dict(block_expansion=64, max_features=1024, num_blocks=5, scale_factor=0.25)))
    frame_size: int = 256            # the resolution the checkpoint was trained at (dataset frame_shape)

    @classmethod
    def from_model_params(cls, model_params: dict, frame_size: int = 256) -> FommConfig:
        common = dict(model_params.get("common_params", {}))
        return cls(num_kp=int(common.get("num_kp", 10)), num_channels=int(common.get("num_channels", 3)),
                   estimate_jacobian=bool(common.get("estimate_jacobian", False)),
                   kp_detector_params=dict(model_params["kp_detector_params"]),
                   generator_params=dict(model_params["generator_params"]), frame_size=frame_size)

    def common_params(self) -> dict:
        return dict(num_kp=self.num_kp, num_channels=self.num_channels,
                    estimate_jacobian=self.estimate_jacobian)


def _parse_scalar(text: str) -> Any:
    text = text.strip()
    if text == "" or text in ("~", "null", "Null", "NULL"):
        return None
    if text in ("True", "true", "yes"):
        return True
    if text in ("False", "false", "no"):
        return False
    if text[0] in "'\"" and text[-1] == text[0]:
        return text[1:-1]
    if text[0] == "[" and text[-1] == "]":
        inner = text[1:-1].strip()
        return [_parse_scalar(t) for t in inner.split(",")] if inner else []
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def parse_simple_yaml(text: str) -> dict:
    """Parse the YAML subset used by the official FOMM configs (nested maps, scalars, flow lists).

    PyYAML is not a dependency; this covers block mappings by indentation, ``#`` comments, ints,
    floats (``2.0e-4``), booleans, quoted strings and ``[a, b]`` lists. Anything else is an error.
    """
    root: dict = {}
    stack: list[tuple[int, dict]] = [(-1, root)]
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        key, sep, value = line.strip().partition(":")
        if not sep or line.strip().startswith("- "):
            raise ValueError(f"unsupported YAML on line {lineno}: {raw.strip()!r}")
        while stack and indent <= stack[-1][0]:
            stack.pop()
        parent = stack[-1][1]
        if value.strip() == "":
            child: dict = {}
            parent[key.strip()] = child
            stack.append((indent, child))
        else:
            parent[key.strip()] = _parse_scalar(value)
    return root


def load_config(config: str | os.PathLike | dict | FommConfig | None) -> FommConfig:
    """An official YAML/JSON config path, a dict holding ``model_params``, or a :class:`FommConfig`."""
    if config is None:
        return FommConfig()
    if isinstance(config, FommConfig):
        return config
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"FOMM config not found: {path}")
        text = path.read_text(encoding="utf-8")
        try:
            config = json.loads(text)
        except json.JSONDecodeError:
            config = parse_simple_yaml(text)
    if not isinstance(config, dict):
        raise ValueError(f"FOMM config must be a mapping, got {type(config).__name__}")
    params = config.get("model_params", config)
    if "kp_detector_params" not in params or "generator_params" not in params:
        raise ValueError("FOMM config needs model_params with kp_detector_params and generator_params")
    shape = config.get("frame_shape") or config.get("dataset_params", {}).get("frame_shape") or [256]
    return FommConfig.from_model_params(params, frame_size=int(shape[0]))


# ---------------------------------------------------------------------------------------------
# Building blocks (names of submodules and tensors equal the official ones)
# ---------------------------------------------------------------------------------------------


def make_coordinate_grid(height: int, width: int, dtype: torch.dtype = torch.float32,
                         device: torch.device | str | None = None) -> torch.Tensor:
    """(H, W, 2) grid of (x, y) covering [-1, 1] inclusive at the first and last pixel centres."""
    xs = torch.arange(width, dtype=dtype, device=device)
    ys = torch.arange(height, dtype=dtype, device=device)
    xs = 2 * (xs / (width - 1)) - 1
    ys = 2 * (ys / (height - 1)) - 1
    return torch.stack([xs.view(1, -1).expand(height, width), ys.view(-1, 1).expand(height, width)], dim=2)


def kp2gaussian(kp_value: torch.Tensor, height: int, width: int,
                variance: float = KP_VARIANCE) -> torch.Tensor:
    """Gaussian bumps at keypoints (..., K, 2) -> (..., K, H, W) (Eq. 6's H_k)."""
    grid = make_coordinate_grid(height, width, kp_value.dtype, kp_value.device)
    diff = grid - kp_value[..., None, None, :]
    return torch.exp(-0.5 * (diff ** 2).sum(-1) / variance)


class ResBlock2d(nn.Module):
    """Pre-activation residual block (BN, ReLU, conv) x2 that keeps the resolution."""

    def __init__(self, in_features: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_features, in_features, kernel_size, padding=padding)
        self.conv2 = nn.Conv2d(in_features, in_features, kernel_size, padding=padding)
        self.norm1 = nn.BatchNorm2d(in_features, affine=True)
        self.norm2 = nn.BatchNorm2d(in_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return out + x


class UpBlock2d(nn.Module):
    """Nearest x2 upsampling, conv, BN, ReLU."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2))))


class DownBlock2d(nn.Module):
    """Conv, BN, ReLU, 2x2 average pooling."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features, affine=True)
        self.pool = nn.AvgPool2d(kernel_size=(2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.relu(self.norm(self.conv(x))))


class SameBlock2d(nn.Module):
    """Conv, BN, ReLU at the same resolution."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x)))


def _hourglass_width(block_expansion: int, max_features: int, level: int) -> int:
    return min(max_features, block_expansion * (2 ** level))


class Encoder(nn.Module):
    """Hourglass encoder: returns the input and every down block's output (for skip connections)."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3, max_features: int = 256):
        super().__init__()
        self.down_blocks = nn.ModuleList([
            DownBlock2d(in_features if i == 0 else _hourglass_width(block_expansion, max_features, i),
                        _hourglass_width(block_expansion, max_features, i + 1))
            for i in range(num_blocks)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class Decoder(nn.Module):
    """Hourglass decoder: upsample and concatenate the matching encoder output each step."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3, max_features: int = 256):
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):
            width_in = _hourglass_width(block_expansion, max_features, i + 1)
            width_in *= 1 if i == num_blocks - 1 else 2  # concatenated skip doubles the input
            blocks.append(UpBlock2d(width_in, _hourglass_width(block_expansion, max_features, i)))
        self.up_blocks = nn.ModuleList(blocks)
        self.out_filters = block_expansion + in_features

    def forward(self, skips: list[torch.Tensor]) -> torch.Tensor:
        skips = list(skips)
        out = skips.pop()
        for block in self.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return out


class Hourglass(nn.Module):
    """U-Net style hourglass (encoder + decoder with skips)."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3, max_features: int = 256):
        super().__init__()
        self.encoder = Encoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = Decoder(block_expansion, in_features, num_blocks, max_features)
        self.out_filters = self.decoder.out_filters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def gaussian_blur_kernel(channels: int, scale: float) -> torch.Tensor:
    """Depthwise gaussian kernel (channels, 1, k, k) that band-limits before downsampling by ``scale``."""
    sigma = (1 / scale - 1) / 2
    size = 2 * round(sigma * 4) + 1
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    kernel = g[:, None] * g[None, :]
    kernel = kernel / kernel.sum()
    return kernel.expand(channels, 1, size, size).clone()


class AntiAliasInterpolation2d(nn.Module):
    """Gaussian blur then nearest downsampling (the ``weight`` buffer is part of the checkpoint)."""

    def __init__(self, channels: int, scale: float):
        super().__init__()
        kernel = gaussian_blur_kernel(channels, scale)
        size = kernel.shape[-1]
        self.ka = size // 2
        self.kb = self.ka - 1 if size % 2 == 0 else self.ka
        self.register_buffer("weight", kernel)
        self.groups = channels
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 1.0:
            return x
        out = F.pad(x, (self.ka, self.kb, self.ka, self.kb))
        out = F.conv2d(out, weight=self.weight, groups=self.groups)
        return F.interpolate(out, scale_factor=(self.scale, self.scale))


# ---------------------------------------------------------------------------------------------
# The three networks
# ---------------------------------------------------------------------------------------------


class KPDetector(nn.Module):
    """Unsupervised keypoints with local jacobians (Sec. 3.1 of the paper)."""

    def __init__(self, block_expansion: int, num_kp: int, num_channels: int, max_features: int,
                 num_blocks: int, temperature: float, estimate_jacobian: bool = False,
                 scale_factor: float = 1, single_jacobian_map: bool = False, pad: int = 0):
        super().__init__()
        self.predictor = Hourglass(block_expansion, in_features=num_channels, max_features=max_features,
                                   num_blocks=num_blocks)
        self.kp = nn.Conv2d(self.predictor.out_filters, num_kp, kernel_size=(7, 7), padding=pad)
        if estimate_jacobian:
            self.num_jacobian_maps = 1 if single_jacobian_map else num_kp
            self.jacobian = nn.Conv2d(self.predictor.out_filters, 4 * self.num_jacobian_maps,
                                      kernel_size=(7, 7), padding=pad)
            # Start from identity jacobians: the official initialisation, kept for untrained configs.
            with torch.no_grad():
                self.jacobian.weight.zero_()
                self.jacobian.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0] * self.num_jacobian_maps))
        else:
            self.jacobian = None
        self.num_kp = num_kp
        self.temperature = temperature
        self.scale_factor = scale_factor
        if scale_factor != 1:
            self.down = AntiAliasInterpolation2d(num_channels, scale_factor)

    def keypoints_from_features(self, feature_map: torch.Tensor) -> dict[str, torch.Tensor]:
        """Heatmap softmax -> soft-argmax keypoints, and heatmap-weighted jacobians."""
        prediction = self.kp(feature_map)
        n, k, h, w = prediction.shape
        heatmap = F.softmax(prediction.view(n, k, -1) / self.temperature, dim=2).view(n, k, h, w)
        grid = make_coordinate_grid(h, w, heatmap.dtype, heatmap.device)
        out = {"value": (heatmap.unsqueeze(-1) * grid).sum(dim=(2, 3))}
        if self.jacobian is not None:
            jacobian_map = self.jacobian(feature_map).reshape(n, self.num_jacobian_maps, 4, h, w)
            jacobian = (heatmap.unsqueeze(2) * jacobian_map).view(n, k, 4, -1).sum(dim=-1)
            out["jacobian"] = jacobian.view(n, k, 2, 2)
        return out

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        assert x.ndim == 4, f"expected NCHW images in [0, 1], got shape {tuple(x.shape)}"
        if self.scale_factor != 1:
            x = self.down(x)
        return self.keypoints_from_features(self.predictor(x))


def sparse_motions(identity_grid: torch.Tensor, kp_source: dict, kp_driving: dict) -> torch.Tensor:
    """Eq. 4: per-keypoint backward warps T_{S<-D}(z) (N, K+1, H, W, 2), background identity first."""
    h, w, _ = identity_grid.shape
    kd, ks = kp_driving["value"], kp_source["value"]
    n, k = kd.shape[0], kd.shape[1]
    coords = identity_grid.view(1, 1, h, w, 2) - kd.view(n, k, 1, 1, 2)
    if "jacobian" in kp_driving:
        jac = torch.matmul(kp_source["jacobian"], torch.inverse(kp_driving["jacobian"]))
        jac = jac.unsqueeze(-3).unsqueeze(-3).expand(n, k, h, w, 2, 2)
        coords = torch.matmul(jac, coords.unsqueeze(-1)).squeeze(-1)
    driving_to_source = coords + ks.view(ks.shape[0], k, 1, 1, 2)
    identity = identity_grid.view(1, 1, h, w, 2).expand(n, 1, h, w, 2)
    return torch.cat([identity, driving_to_source], dim=1)


class DenseMotionNetwork(nn.Module):
    """Blends sparse motions into a dense flow with predicted masks; predicts occlusion (Sec. 3.2)."""

    def __init__(self, block_expansion: int, num_blocks: int, max_features: int, num_kp: int,
                 num_channels: int, estimate_occlusion_map: bool = False, scale_factor: float = 1,
                 kp_variance: float = KP_VARIANCE):
        super().__init__()
        self.hourglass = Hourglass(block_expansion=block_expansion,
                                   in_features=(num_kp + 1) * (num_channels + 1),
                                   max_features=max_features, num_blocks=num_blocks)
        self.mask = nn.Conv2d(self.hourglass.out_filters, num_kp + 1, kernel_size=(7, 7), padding=(3, 3))
        self.occlusion = (nn.Conv2d(self.hourglass.out_filters, 1, kernel_size=(7, 7), padding=(3, 3))
                          if estimate_occlusion_map else None)
        self.num_kp = num_kp
        self.scale_factor = scale_factor
        self.kp_variance = kp_variance
        if scale_factor != 1:
            self.down = AntiAliasInterpolation2d(num_channels, scale_factor)

    def heatmap_representation(self, h: int, w: int, kp_driving: dict, kp_source: dict) -> torch.Tensor:
        """Eq. 6: difference of driving and source gaussians, zero for the background (N, K+1, 1, H, W)."""
        heat = (kp2gaussian(kp_driving["value"], h, w, self.kp_variance)
                - kp2gaussian(kp_source["value"], h, w, self.kp_variance))
        zeros = heat.new_zeros(heat.shape[0], 1, h, w)
        return torch.cat([zeros, heat], dim=1).unsqueeze(2)

    def deformed_sources(self, source_small: torch.Tensor, motions: torch.Tensor) -> torch.Tensor:
        """Eq. 7: the (downsampled) source warped by every sparse motion (N, K+1, C, H, W)."""
        n, kk, h, w, _ = motions.shape
        src = source_small.unsqueeze(1).expand(n, kk, *source_small.shape[1:]).reshape(n * kk, -1, h, w)
        out = F.grid_sample(src, motions.reshape(n * kk, h, w, 2), align_corners=False)
        return out.view(n, kk, -1, h, w)

    def motion_from_deformed(self, heatmap: torch.Tensor, deformed: torch.Tensor,
                             motions: torch.Tensor) -> dict[str, torch.Tensor]:
        n, kk, _, h, w = deformed.shape
        prediction = self.hourglass(torch.cat([heatmap, deformed], dim=2).view(n, -1, h, w))
        mask = F.softmax(self.mask(prediction), dim=1)
        out = {"sparse_deformed": deformed, "mask": mask}
        # Soft assignment of every pixel to one local motion (or the background).
        out["deformation"] = (motions * mask.unsqueeze(-1)).sum(dim=1)
        if self.occlusion is not None:
            out["occlusion_map"] = torch.sigmoid(self.occlusion(prediction))
        return out

    def forward(self, source_image: torch.Tensor, kp_driving: dict,
                kp_source: dict) -> dict[str, torch.Tensor]:
        if self.scale_factor != 1:
            source_image = self.down(source_image)
        _, _, h, w = source_image.shape
        grid = make_coordinate_grid(h, w, source_image.dtype, source_image.device)
        heatmap = self.heatmap_representation(h, w, kp_driving, kp_source)
        motions = sparse_motions(grid, kp_source, kp_driving)
        if source_image.shape[0] != motions.shape[0]:
            source_image = source_image.expand(motions.shape[0], *source_image.shape[1:])
        deformed = self.deformed_sources(source_image, motions)
        return self.motion_from_deformed(heatmap, deformed, motions)


def warp(inp: torch.Tensor, deformation: torch.Tensor) -> torch.Tensor:
    """Backward-warp NCHW ``inp`` by a (N, h, w, 2) flow, resizing the flow bilinearly when needed."""
    h, w = inp.shape[2:]
    if deformation.shape[1:3] != (h, w):
        deformation = F.interpolate(deformation.permute(0, 3, 1, 2), size=(h, w), mode="bilinear",
                                    align_corners=False).permute(0, 2, 3, 1)
    return F.grid_sample(inp, deformation, align_corners=False)


class OcclusionAwareGenerator(nn.Module):
    """Encoder, feature warping by the dense motion with occlusion, Johnson-style decoder (Sec. 3.2)."""

    def __init__(self, num_channels: int, num_kp: int, block_expansion: int, max_features: int,
                 num_down_blocks: int, num_bottleneck_blocks: int, estimate_occlusion_map: bool = False,
                 dense_motion_params: dict | None = None, estimate_jacobian: bool = False):
        super().__init__()
        self.dense_motion_network = (
            DenseMotionNetwork(num_kp=num_kp, num_channels=num_channels,
                               estimate_occlusion_map=estimate_occlusion_map, **dense_motion_params)
            if dense_motion_params is not None else None)
        self.first = SameBlock2d(num_channels, block_expansion, kernel_size=7, padding=3)
        self.down_blocks = nn.ModuleList([
            DownBlock2d(_hourglass_width(block_expansion, max_features, i),
                        _hourglass_width(block_expansion, max_features, i + 1))
            for i in range(num_down_blocks)])
        self.up_blocks = nn.ModuleList([
            UpBlock2d(_hourglass_width(block_expansion, max_features, num_down_blocks - i),
                      _hourglass_width(block_expansion, max_features, num_down_blocks - i - 1))
            for i in range(num_down_blocks)])
        width = _hourglass_width(block_expansion, max_features, num_down_blocks)
        self.bottleneck = nn.Sequential()
        for i in range(num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", ResBlock2d(width, kernel_size=3, padding=1))
        self.final = nn.Conv2d(block_expansion, num_channels, kernel_size=(7, 7), padding=(3, 3))
        self.estimate_occlusion_map = estimate_occlusion_map
        self.num_channels = num_channels

    def encode_source(self, source_image: torch.Tensor) -> torch.Tensor:
        """Source features before warping; depend on the source only, so they can be reused per frame."""
        out = self.first(source_image)
        for block in self.down_blocks:
            out = block(out)
        return out

    def decode(self, source_image: torch.Tensor, features: torch.Tensor, kp_source: dict,
               kp_driving: dict) -> dict[str, torch.Tensor]:
        """Warp precomputed source ``features`` to the driving keypoints and decode the frame."""
        output: dict[str, torch.Tensor] = {}
        out = features
        if self.dense_motion_network is not None:
            motion = self.dense_motion_network(source_image=source_image, kp_driving=kp_driving,
                                               kp_source=kp_source)
            output["mask"] = motion["mask"]
            output["sparse_deformed"] = motion["sparse_deformed"]
            deformation = motion["deformation"]
            if out.shape[0] != deformation.shape[0]:
                out = out.expand(deformation.shape[0], *out.shape[1:])
            out = warp(out, deformation)
            if "occlusion_map" in motion:
                occlusion = motion["occlusion_map"]
                output["occlusion_map"] = occlusion
                if occlusion.shape[2:] != out.shape[2:]:
                    occlusion = F.interpolate(occlusion, size=out.shape[2:], mode="bilinear",
                                              align_corners=False)
                out = out * occlusion
            src = source_image.expand(deformation.shape[0], *source_image.shape[1:])
            output["deformed"] = warp(src, deformation)
        out = self.bottleneck(out)
        for block in self.up_blocks:
            out = block(out)
        output["prediction"] = torch.sigmoid(self.final(out))
        return output

    def forward(self, source_image: torch.Tensor, kp_driving: dict,
                kp_source: dict) -> dict[str, torch.Tensor]:
        assert source_image.ndim == 4, f"expected NCHW source in [0, 1], got {tuple(source_image.shape)}"
        return self.decode(source_image, self.encode_source(source_image), kp_source, kp_driving)


# ---------------------------------------------------------------------------------------------
# Keypoint normalisation (official demo) and loading
# ---------------------------------------------------------------------------------------------


def convex_hull_area(points: torch.Tensor) -> float:
    """Area of the convex hull of (K, 2) points (scipy's ``ConvexHull.volume`` in 2-D)."""
    from scipy.spatial import ConvexHull
    return float(ConvexHull(points.detach().cpu().double().numpy()).volume)


def normalize_kp(kp_source: dict, kp_driving: dict, kp_driving_initial: dict,
                 adapt_movement_scale: bool = False, use_relative_movement: bool = False,
                 use_relative_jacobian: bool = False) -> dict[str, torch.Tensor]:
    """Driving keypoints moved onto the source, as in the official demo.

    Relative movement adds the driving motion since the initial driving frame to the source
    keypoints, scaled by sqrt(source hull area / initial driving hull area) when
    ``adapt_movement_scale``; the relative jacobian is J_driving J_initial^-1 J_source.
    """
    if adapt_movement_scale:
        scale = np.sqrt(convex_hull_area(kp_source["value"][0])) / np.sqrt(
            convex_hull_area(kp_driving_initial["value"][0]))
    else:
        scale = 1.0
    kp_new = dict(kp_driving)
    if use_relative_movement:
        kp_new["value"] = (kp_driving["value"] - kp_driving_initial["value"]) * scale + kp_source["value"]
        if use_relative_jacobian:
            jacobian_diff = torch.matmul(kp_driving["jacobian"],
                                         torch.inverse(kp_driving_initial["jacobian"]))
            kp_new["jacobian"] = torch.matmul(jacobian_diff, kp_source["jacobian"])
    return kp_new


def build_fomm(config: Any = None) -> tuple[KPDetector, OcclusionAwareGenerator]:
    """Fresh (randomly initialised) networks for ``config``."""
    cfg = load_config(config)
    kp_detector = KPDetector(**cfg.kp_detector_params, **cfg.common_params())
    generator = OcclusionAwareGenerator(**cfg.generator_params, **cfg.common_params())
    return kp_detector, generator


def _load_state(module: nn.Module, state: Any, part: str, name: str) -> None:
    if not isinstance(state, dict):
        raise CheckpointError(f"{name}: '{part}' is not a state dict (it holds a {type(state).__name__}).")
    # Some old exports lack BatchNorm's step counter; it does not affect inference.
    own = module.state_dict()
    state = {k: v for k, v in state.items()}
    for key in own:
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = own[key]
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise CheckpointError(
            f"{name}: the '{part}' weights do not fit this FOMM config "
            f"({len(missing)} missing, e.g. {missing[:3]}; "
            f"{len(unexpected)} unexpected, e.g. {unexpected[:3]}). "
            "Use the config that matches the checkpoint (vox-cpk.pth.tar goes with config/vox-256.yaml).")
    for key, value in state.items():
        if not torch.is_tensor(value):
            raise CheckpointError(f"{name}: '{part}.{key}' is not a tensor.")
        if tuple(value.shape) != tuple(own[key].shape):
            raise CheckpointError(
                f"{name}: '{part}.{key}' has shape {tuple(value.shape)} but this config expects "
                f"{tuple(own[key].shape)}; the checkpoint was trained with a different config.")
    module.load_state_dict(state, strict=True)


def load_fomm(checkpoint: str | os.PathLike | None, config: Any = None,
              device: torch.device | str = "cpu") -> tuple[KPDetector, OcclusionAwareGenerator]:
    """``(kp_detector, generator)`` in eval mode, from an official ``*-cpk.pth.tar`` (or random if None).

    The checkpoint is read with ``torch.load(weights_only=True)``: the official file is a legacy
    ``torch.save`` dict of state dicts (``generator``, ``kp_detector``, often ``discriminator``,
    optimizer states and ``epoch``), so no code is ever executed. Anything else raises
    :class:`~core.checkpoint.CheckpointError` with a message for users.
    """
    kp_detector, generator = build_fomm(config)
    if checkpoint is not None:
        name = Path(checkpoint).name
        expected = ("expected a First Order Motion Model checkpoint such as vox-cpk.pth.tar, "
                    "a dict with 'generator' and 'kp_detector' state dicts")
        try:
            ckpt = safe_torch_load(checkpoint)
        except CheckpointError as e:
            raise CheckpointError(f"{name} cannot be used as FOMM weights ({expected}): {e}") from None
        if not isinstance(ckpt, dict):
            raise CheckpointError(
                f"{name} is not a FOMM checkpoint: it holds a {type(ckpt).__name__}; {expected}.")
        if "generator" not in ckpt or "kp_detector" not in ckpt:
            keys = ", ".join(sorted(map(str, ckpt))[:8]) or "nothing"
            hint = ""
            if "model" in ckpt and "config" in ckpt:
                hint = " It looks like one of this project's own checkpoints (e.g. a DCGAN), not FOMM."
            elif "G_ema" in ckpt:
                hint = " It looks like a StyleGAN2 network, not FOMM."
            raise CheckpointError(f"{name} is not a FOMM checkpoint: it has {keys}; {expected}.{hint}")
        _load_state(generator, ckpt["generator"], "generator", name)
        _load_state(kp_detector, ckpt["kp_detector"], "kp_detector", name)
    kp_detector.to(device).eval()
    generator.to(device).eval()
    for p in list(kp_detector.parameters()) + list(generator.parameters()):
        p.requires_grad_(False)
    return kp_detector, generator


# ---------------------------------------------------------------------------------------------
# Fast inference
# ---------------------------------------------------------------------------------------------


def _fold_bn(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BatchNorm after a conv, folded into the conv's weight and bias."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    weight = conv.weight * scale.view(-1, 1, 1, 1)
    bias = (conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean))
    return weight.detach().clone(), ((bias - norm.running_mean) * scale + norm.bias).detach().clone()


class _FastUp:
    """UpBlock2d as four 2x2 convolutions at the input resolution (one per output phase).

    A 3x3 convolution of a nearest-upsampled map only ever sees 2x2 distinct input pixels, so
    summing the kernel taps that land on the same pixel gives the exact result with 4/9 of the work.
    """

    def __init__(self, block: UpBlock2d):
        self.memory_format = torch.contiguous_format
        weight, self.bias = _fold_bn(block.conv, block.norm)
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


class _FastConvBN:
    def __init__(self, block: nn.Module, pool: bool):
        self.weight, self.bias = _fold_bn(block.conv, block.norm)
        self.padding = block.conv.padding
        self.pool = pool

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.weight, self.bias, padding=self.padding).relu_()
        return F.avg_pool2d(out, 2) if self.pool else out


class _FastHourglass:
    def __init__(self, hourglass: Hourglass):
        self.down = [_FastConvBN(b, pool=True) for b in hourglass.encoder.down_blocks]
        self.up = [_FastUp(b) for b in hourglass.decoder.up_blocks]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        skips = [x]
        for block in self.down:
            skips.append(block(skips[-1]))
        out = skips.pop()
        for block in self.up:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return out


class _FastResBlock:
    def __init__(self, block: ResBlock2d):
        self.norm1 = block.norm1
        self.w1, self.b1 = _fold_bn(block.conv1, block.norm2)  # norm2 follows conv1 directly
        self.w2, self.b2 = block.conv2.weight.detach(), block.conv2.bias.detach()
        self.pad = block.conv1.padding

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n1 = self.norm1
        out = F.batch_norm(x, n1.running_mean, n1.running_var, n1.weight, n1.bias, False, 0.0, n1.eps).relu_()
        out = F.conv2d(out, self.w1, self.b1, padding=self.pad).relu_()
        return F.conv2d(out, self.w2, self.b2, padding=self.pad).add_(x)


def _fast_antialias(down: AntiAliasInterpolation2d, x: torch.Tensor) -> torch.Tensor:
    """AntiAliasInterpolation2d evaluating the blur only where nearest downsampling samples it."""
    step = 1 / down.scale
    if step != int(step) or x.shape[2] % int(step) or x.shape[3] % int(step):
        return down(x)
    out = F.pad(x, (down.ka, down.kb, down.ka, down.kb))
    return F.conv2d(out, weight=down.weight, groups=down.groups, stride=int(step))


class FommAnimator:
    """Fast FOMM inference: encode the source once, then animate batches of driving frames.

    Gives the same frames as the official per-frame loop (``kp_detector`` + full ``generator`` per
    frame), within float rounding, but reuses the source's features, keypoints, downsampled image and
    gaussians, batches frames, runs under ``torch.inference_mode``, folds eval-mode BatchNorm into
    convolutions and evaluates nearest-upsample convolutions at low resolution. The networks are
    only read, never modified (safe to share through a cache).
    """

    def __init__(self, kp_detector: KPDetector, generator: OcclusionAwareGenerator,
                 device: torch.device | str = "cpu", size: int | None = None, batch_size: int = 4,
                 channels_last: bool = True):
        self.device = torch.device(device)
        self.kp_detector = kp_detector
        self.generator = generator
        self.batch_size = batch_size  # driving frames per forward pass (bounds memory)
        dm = generator.dense_motion_network
        assert dm is not None, "FommAnimator needs a generator with a dense motion network"
        self.dense_motion = dm
        # Resolution frames are resized to; the default matches the checkpoint's training size.
        self.size = size
        with torch.inference_mode():
            self._kp_hourglass = _FastHourglass(kp_detector.predictor)
            self._dm_hourglass = _FastHourglass(dm.hourglass)
            self._first = _FastConvBN(generator.first, pool=False)
            self._down = [_FastConvBN(b, pool=True) for b in generator.down_blocks]
            self._bottleneck = [_FastResBlock(b) for b in generator.bottleneck]
            self._up = [_FastUp(b) for b in generator.up_blocks]
        # NHWC activations let oneDNN skip a layout reorder around every convolution on CPU.
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            fast = [*self._kp_hourglass.down, *self._kp_hourglass.up, *self._dm_hourglass.down,
                    *self._dm_hourglass.up, self._first, *self._down, *self._bottleneck, *self._up]
            for block in fast:
                if isinstance(block, _FastUp):
                    block.memory_format = torch.channels_last
                for name, value in list(vars(block).items()):
                    if torch.is_tensor(value) and value.ndim == 4:
                        setattr(block, name, value.contiguous(memory_format=torch.channels_last))
                    elif isinstance(value, list):
                        setattr(block, name, [v.contiguous(memory_format=torch.channels_last) for v in value])
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
            x = _fast_antialias(kp.down, x)
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
        from core.imaging import to_uint8
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
        mask = F.softmax(dm.mask(prediction), dim=1)
        deformation = (motions * mask.unsqueeze(-1)).sum(dim=1)  # (N, h, w, 2)

        feats = src["features"]
        fc, fh, fw = feats.shape[1:]
        if (fh, fw) != (h, w):
            deformation = F.interpolate(deformation.permute(0, 3, 1, 2), size=(fh, fw), mode="bilinear",
                                        align_corners=False).permute(0, 2, 3, 1)
        out = F.grid_sample(feats, deformation.reshape(1, n * fh, fw, 2), align_corners=False)
        out = out.view(fc, n, fh, fw).permute(1, 0, 2, 3)
        if dm.occlusion is not None:
            occlusion = torch.sigmoid(dm.occlusion(prediction))
            if occlusion.shape[2:] != (fh, fw):
                occlusion = F.interpolate(occlusion, size=(fh, fw), mode="bilinear", align_corners=False)
            out = out * occlusion
        out = out.contiguous(memory_format=self.memory_format)
        for block in self._bottleneck:
            out = block(out)
        for block in self._up:
            out = block(out)
        return torch.sigmoid(self.generator.final(out))


def main(argv: list[str] | None = None) -> int:
    """``python -m core.fomm animate ...`` is served by :mod:`core.animate` (the video pipeline)."""
    from core import animate  # imported lazily: the pipeline pulls in video and landmark code

    return int(animate.main(sys.argv[1:] if argv is None else argv) or 0)


__all__ = ["FommConfig", "load_config", "parse_simple_yaml", "KPDetector", "DenseMotionNetwork",
           "OcclusionAwareGenerator", "normalize_kp", "build_fomm", "load_fomm", "FommAnimator",
           "make_coordinate_grid", "kp2gaussian", "sparse_motions"]

if __name__ == "__main__":
    sys.exit(main())
