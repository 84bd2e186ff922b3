"""DiffAugment (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020).

The same kind of random transform is applied to real and fake images, differentiably, so the
discriminator cannot memorise a small dataset. Randomness comes from torch's global RNG, which the
trainer's checkpoints save, so a resumed run augments exactly as an uninterrupted one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _aug_color(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + mean


def _aug_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    gy = (torch.arange(h, device=x.device).view(1, h, 1) + ty + 1).clamp(0, h + 1)
    gx = (torch.arange(w, device=x.device).view(1, 1, w) + tx + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # zero border: shifted-in pixels are black-ish
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded[batch, gy, gx].permute(0, 3, 1, 2)


def _aug_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    gy = (torch.arange(ch, device=x.device).view(1, ch, 1) + oy - ch // 2).clamp(0, h - 1)
    gx = (torch.arange(cw, device=x.device).view(1, 1, cw) + ox - cw // 2).clamp(0, w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[torch.arange(n, device=x.device).view(n, 1, 1), gy, gx] = 0
    return x * mask.unsqueeze(1)


AUGMENTS = {"color": _aug_color, "translation": _aug_translation, "cutout": _aug_cutout}


def augment_policy(policy: str) -> list[str]:
    """The op names of a comma-separated policy such as ``"color,translation"``."""
    return [p.strip() for p in policy.split(",") if p.strip()]


def diff_augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    """Apply the DiffAugment ops named in ``policy`` to an NCHW batch."""
    assert x.ndim == 4, f"expected NCHW, got {tuple(x.shape)}"
    for name in augment_policy(policy):
        x = AUGMENTS[name](x)
    return x
