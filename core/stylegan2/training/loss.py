"""StyleGAN2 losses: the non-saturating logistic GAN loss, R1 on reals and path-length regularisation.

Goodfellow et al. 2014 (non-saturating loss), Mescheder et al. 2018 (R1), Karras et al. 2020 Sec. 3.2
(path length). The lazy schedules and their interval scaling live in the trainer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """softplus(-D(G(z))), averaged."""
    return F.softplus(-fake_logits).mean()


def discriminator_loss(fake_logits: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """softplus(D(G(z))) + softplus(-D(x)), averaged."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def r1_penalty(run_D: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """Per-sample ||dD(x)/dx||^2 on real images [N] (differentiable, for the lazy R1 update)."""
    real = real.detach().requires_grad_(True)
    logits = run_D(real)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return grad.square().sum(dim=[1, 2, 3])


def path_lengths(img: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
    """Per-sample |J_w^T y| for random image-space directions y [N] (differentiable)."""
    assert img.ndim == 4 and ws.ndim == 3 and img.shape[0] == ws.shape[0], (img.shape, ws.shape)
    noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
    (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
    return grad.square().sum(2).mean(1).sqrt()
