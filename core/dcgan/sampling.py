"""Pure, seeded sampling: the same seed gives the same faces, as uint8 N x H x W x 3."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from core.image.convert import to_uint8

MAX_SAMPLES = 1024


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, batch: int = 64,
             batch_stats: bool = False) -> torch.Tensor:
    """Generator outputs in [-1, 1] (NCHW float); the module's mode is restored.

    Eval mode by default (batch norm with its running statistics, as every sample of a trained model).
    ``batch_stats``: normalise with the statistics of the batch itself, as in training and as the PyTorch
    DCGAN tutorial's fixed-noise grids do, without touching the running statistics (the training
    snapshots use it: the running statistics trail the weights by ~50 steps, so early eval-mode grids
    are flat grey).
    """
    assert z.ndim == 2, f"expected N x latent_dim, got {tuple(z.shape)}"
    if batch_stats:
        batch_stats = len(z) > 1  # one sample has no batch statistics (BatchNorm1d refuses it)
        batch = max(len(z), 1)    # the statistics of the whole grid, not of chunks of it
    was_training = generator.training
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    tracking = [m.track_running_stats for m in norms]
    generator.train(batch_stats)
    if batch_stats:
        for m in norms:
            m.track_running_stats = False  # train-mode batch norm then neither reads nor updates them
    try:
        device = next(generator.parameters()).device
        chunks = [generator(z[i:i + batch].to(device)).float().cpu() for i in range(0, len(z), batch)]
        return torch.cat(chunks)
    finally:
        for m, flag in zip(norms, tracking):
            m.track_running_stats = flag
        generator.train(was_training)


def latent_noise(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    """``n`` latents for ``seed`` (N x latent_dim), from a private generator: the global RNG is untouched."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def sample(generator: nn.Module, n: int, seed: int) -> np.ndarray:
    """``n`` images as uint8 N x H x W x 3 for ``seed`` (same seed, same images)."""
    if not 1 <= n <= MAX_SAMPLES:
        raise ValueError(f"The number of samples must be between 1 and {MAX_SAMPLES}, not {n}.")
    out = to_uint8(generate(generator, latent_noise(n, generator.latent_dim, seed)))
    assert out.shape[0] == n and out.shape[-1] == 3
    return out


def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    an, bn = a / a.norm(), b / b.norm()
    omega = torch.acos((an * bn).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def latent_walk(generator: nn.Module, seeds: list[int], frames_per_leg: int = 16) -> np.ndarray:
    """Spherical interpolation through the latents of ``seeds`` (a closed loop); uint8 N x H x W x 3."""
    assert len(seeds) >= 2 and frames_per_leg >= 1
    zs = [latent_noise(1, generator.latent_dim, s)[0] for s in seeds]
    path = [_slerp(zs[i], zs[(i + 1) % len(zs)], k / frames_per_leg)
            for i in range(len(zs)) for k in range(frames_per_leg)]
    return to_uint8(generate(generator, torch.stack(path)))
