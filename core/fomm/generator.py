"""Occlusion-aware generator: encode the source, warp its features, decode the frame (Sec. 3.2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.fomm.blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d, hourglass_width
from core.fomm.dense_motion import DenseMotionNetwork


def warp(inp: torch.Tensor, deformation: torch.Tensor) -> torch.Tensor:
    """Backward-warp NCHW ``inp`` by a (N, h, w, 2) flow, resizing the flow bilinearly when needed."""
    h, w = inp.shape[2:]
    if deformation.shape[1:3] != (h, w):
        deformation = F.interpolate(deformation.permute(0, 3, 1, 2), size=(h, w), mode="bilinear",
                                    align_corners=False).permute(0, 2, 3, 1)
    return F.grid_sample(inp, deformation, align_corners=False)


class OcclusionAwareGenerator(nn.Module):
    """Encoder, feature warping by the dense motion with occlusion, Johnson-style decoder (Sec. 3.2).

    Arguments are the fields of :class:`core.fomm.config.GeneratorParams` (commented there) plus
    ``num_kp``, ``num_channels`` and ``estimate_jacobian`` (accepted for the official signature, unused).
    """

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
            DownBlock2d(hourglass_width(block_expansion, max_features, i),
                        hourglass_width(block_expansion, max_features, i + 1))
            for i in range(num_down_blocks)])
        self.up_blocks = nn.ModuleList([
            UpBlock2d(hourglass_width(block_expansion, max_features, num_down_blocks - i),
                      hourglass_width(block_expansion, max_features, num_down_blocks - i - 1))
            for i in range(num_down_blocks)])
        width = hourglass_width(block_expansion, max_features, num_down_blocks)
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

