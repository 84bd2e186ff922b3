"""Unsupervised keypoint detector with local jacobians (Sec. 3.1 of Siarohin et al. 2019)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.fomm.blocks import AntiAliasInterpolation2d, Hourglass, make_coordinate_grid


class KPDetector(nn.Module):
    """Unsupervised keypoints with local jacobians (Sec. 3.1 of the paper).

    Arguments are the fields of :class:`core.fomm.config.KPDetectorParams` (commented there) plus
    ``num_kp``, ``num_channels`` and ``estimate_jacobian`` of :class:`~core.fomm.config.FommConfig`.
    """

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

