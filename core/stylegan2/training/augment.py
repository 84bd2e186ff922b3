"""ADA-style differentiable augmentation (Karras et al., "Training Generative Adversarial Networks with
Limited Data", NeurIPS 2020): flip, 90-degree rotation, integer and fractional translation, isotropic /
anisotropic scaling, rotation, brightness, contrast and saturation, each applied to a sample with
probability ``p``. The trainer tunes ``p`` with the overfitting heuristic ``r_t = E[sign(D(real))]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class AugmentPipe(nn.Module):
    """Differentiable augmentations applied with probability ``p`` each (ADA, Karras et al. 2020).

    Every transform is invertible-in-distribution at p < ~0.8, so the generator cannot learn to produce
    augmented images ("non-leaking"); gradients flow through ``grid_sample`` and the colour matrix, so
    the same pipeline is applied to real and generated images before the discriminator.
    """

    def __init__(self, xflip: float = 1, rotate90: float = 1, xint: float = 1, scale: float = 1,
                 rotate: float = 1, aniso: float = 1, xfrac: float = 1, brightness: float = 1,
                 contrast: float = 1, saturation: float = 1):
        super().__init__()
        # per-transform multipliers of p (official 'bgc' set: blit + geometric + colour)
        self.weights = dict(xflip=xflip, rotate90=rotate90, xint=xint, scale=scale, rotate=rotate,
                            aniso=aniso, xfrac=xfrac, brightness=brightness, contrast=contrast,
                            saturation=saturation)
        self.register_buffer("p", torch.zeros([]))

    def _gate(self, name: str, n: int, device: torch.device) -> torch.Tensor:
        prob = float(self.p) * self.weights[name]
        return (torch.rand(n, device=device) < prob).float()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if float(self.p) <= 0:
            return images
        n, c, h, w = images.shape
        dev = images.device
        eye = torch.eye(3, device=dev).repeat(n, 1, 1)

        def compose(mat: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            return mat @ m

        def rot(theta: torch.Tensor) -> torch.Tensor:
            m = eye.clone()
            m[:, 0, 0], m[:, 0, 1] = torch.cos(theta), -torch.sin(theta)
            m[:, 1, 0], m[:, 1, 1] = torch.sin(theta), torch.cos(theta)
            return m

        def scale2(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
            m = eye.clone()
            m[:, 0, 0], m[:, 1, 1] = sx, sy
            return m

        def translate(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
            m = eye.clone()
            m[:, 0, 2], m[:, 1, 2] = tx, ty
            return m

        # Geometric part: one affine matrix per sample in normalised [-1, 1] coordinates.
        mat = eye.clone()
        g = self._gate("xflip", n, dev)
        flip = 1 - 2 * g * torch.randint(0, 2, (n,), device=dev).float()
        mat = compose(mat, scale2(flip, torch.ones(n, device=dev)))
        g = self._gate("rotate90", n, dev)
        mat = compose(mat, rot(g * torch.randint(0, 4, (n,), device=dev).float() * (math.pi / 2)))
        g = self._gate("xint", n, dev)
        t = (torch.rand(n, 2, device=dev) * 2 - 1) * 0.125 * 2  # +-12.5% of the side; [-1,1] spans 2
        t = torch.round(t * w / 2) / (w / 2)  # whole pixels
        mat = compose(mat, translate(g * t[:, 0], g * t[:, 1]))
        g = self._gate("scale", n, dev)
        s = torch.exp2(torch.randn(n, device=dev) * 0.2 * g)
        mat = compose(mat, scale2(s, s))
        p_rot = 1 - math.sqrt(max(0.0, 1 - min(float(self.p) * self.weights["rotate"], 1.0)))
        g = (torch.rand(n, device=dev) < p_rot).float()
        mat = compose(mat, rot(g * (torch.rand(n, device=dev) * 2 - 1) * math.pi))
        g = self._gate("aniso", n, dev)
        a = torch.exp2(torch.randn(n, device=dev) * 0.2 * g)
        mat = compose(mat, scale2(a, 1 / a))
        g = (torch.rand(n, device=dev) < p_rot).float()
        mat = compose(mat, rot(g * (torch.rand(n, device=dev) * 2 - 1) * math.pi))
        g = self._gate("xfrac", n, dev)
        t = torch.randn(n, 2, device=dev) * 0.125 * 2
        mat = compose(mat, translate(g * t[:, 0], g * t[:, 1]))
        if not torch.equal(mat, eye):
            grid = F.affine_grid(mat[:, :2, :], [n, c, h, w], align_corners=False)
            images = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection",
                                   align_corners=False)

        # Colour part: brightness, contrast, saturation (applied around the per-image mean luma).
        g = self._gate("brightness", n, dev).reshape(n, 1, 1, 1)
        images = images + g * torch.randn(n, 1, 1, 1, device=dev) * 0.2
        g = self._gate("contrast", n, dev).reshape(n, 1, 1, 1)
        k = torch.exp2(torch.randn(n, 1, 1, 1, device=dev) * 0.5 * g)
        mean = images.mean(dim=[1, 2, 3], keepdim=True)
        images = (images - mean) * k + mean
        if c == 3:
            g = self._gate("saturation", n, dev).reshape(n, 1, 1, 1)
            k = torch.exp2(torch.randn(n, 1, 1, 1, device=dev) * 1.0 * g)
            luma = images.mean(dim=1, keepdim=True)
            images = (images - luma) * k + luma
        return images
