"""Dense motion network: sparse keypoint motions blended into one flow, plus occlusion (Sec. 3.2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.fomm.blocks import (
    KP_VARIANCE,
    AntiAliasInterpolation2d,
    Hourglass,
    kp2gaussian,
    make_coordinate_grid,
)


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
    """Blends sparse motions into a dense flow with predicted masks; predicts occlusion (Sec. 3.2).

    Arguments are the fields of :class:`core.fomm.config.DenseMotionParams` (commented there) plus
    ``num_kp``, ``num_channels``, ``estimate_occlusion_map`` and the gaussians' ``kp_variance``.
    """

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

