"""Sliced Wasserstein distance over a Laplacian pyramid: the training curve's quality measure.

Karras et al., "Progressive Growing of GANs for Improved Quality, Stability, and Variation" (ICLR 2018),
appendix D. Needs no downloaded network, unlike FID.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

_GAUSS = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = (_GAUSS[:, None] * _GAUSS[None, :]).to(x).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, [2, 2, 2, 2], mode="reflect"), k, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, min_size: int = 16) -> list[torch.Tensor]:
    """Band-pass levels from full resolution down to ``min_size`` (the last level is the low-pass)."""
    levels = []
    while x.shape[-1] > min_size:
        down = _blur(x)[..., ::2, ::2]
        up = F.interpolate(down, scale_factor=2, mode="nearest")
        levels.append(x - _blur(up))
        x = down
    levels.append(x)
    return levels


def _patch_descriptors(level: torch.Tensor, per_image: int, gen: torch.Generator,
                       patch: int = 7) -> torch.Tensor:
    n, c, h, w = level.shape
    ys = torch.randint(0, h - patch + 1, (n, per_image), generator=gen)
    xs = torch.randint(0, w - patch + 1, (n, per_image), generator=gen)
    off = torch.arange(patch)
    rows = (ys[..., None] + off).view(n, per_image, patch, 1).expand(-1, -1, -1, patch)
    cols = (xs[..., None] + off).view(n, per_image, 1, patch).expand(-1, -1, patch, -1)
    batch = torch.arange(n).view(n, 1, 1, 1)
    patches = level.permute(0, 2, 3, 1)[batch, rows, cols]  # n, per_image, patch, patch, c
    d = patches.reshape(n * per_image, -1)
    # ProGAN normalises each descriptor set per channel before comparing.
    d = d.view(d.shape[0], patch * patch, c)
    d = (d - d.mean(dim=(0, 1), keepdim=True)) / (d.std(dim=(0, 1), keepdim=True) + 1e-8)
    return d.reshape(d.shape[0], -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, gen: torch.Generator, directions: int = 128,
                       repeats: int = 4) -> float:
    assert a.shape == b.shape and a.ndim == 2, (a.shape, b.shape)
    total = 0.0
    for _ in range(repeats):
        dirs = torch.randn(a.shape[1], directions, generator=gen)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        pa, _ = torch.sort(a @ dirs, dim=0)
        pb, _ = torch.sort(b @ dirs, dim=0)
        total += float((pa - pb).abs().mean())
    return total / repeats


class SWDEvaluator:
    """SWD (x1e3, averaged over pyramid levels) between a fixed real sample and generator samples.

    Patch positions and projection directions come from fixed seeds, so the curve moves only when
    the generator does; it never touches the training RNG streams.
    """

    def __init__(self, real_uint8: torch.Tensor, seed: int = 12345, patches_per_image: int = 64):
        # real_uint8: N x 3 x S x S uint8 reference images; seed fixes patches and directions.
        assert real_uint8.ndim == 4 and real_uint8.dtype == torch.uint8, real_uint8.shape
        self.seed, self.per_image = seed, patches_per_image
        self.n = real_uint8.shape[0]
        self.real = self._descriptors(real_uint8.float() / 127.5 - 1.0)

    def _descriptors(self, images: torch.Tensor) -> list[torch.Tensor]:
        gen = torch.Generator().manual_seed(self.seed)
        return [_patch_descriptors(lv, self.per_image, gen) for lv in laplacian_pyramid(images.float().cpu())]

    def __call__(self, fake: torch.Tensor) -> dict[str, float]:
        assert fake.shape[0] == self.n, (fake.shape, self.n)
        fake_desc = self._descriptors(fake.clamp(-1, 1))
        gen = torch.Generator().manual_seed(self.seed + 1)
        per_level = [1e3 * sliced_wasserstein(r, f, gen) for r, f in zip(self.real, fake_desc)]
        return {"swd": float(np.mean(per_level)), "swd_levels": per_level}
