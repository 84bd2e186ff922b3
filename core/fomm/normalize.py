"""Keypoint normalisation of the official demo: relative motion, relative jacobian, adaptive scale."""

from __future__ import annotations

import numpy as np
import torch


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

