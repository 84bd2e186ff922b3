"""The one Adam constructor of the training loops (DCGAN trainer, StyleGAN2 trainer and distiller).

``torch.optim.Adam`` with its fused kernel where torch has one for the parameters' device (CPU and CUDA):
the same update rule as the default per-tensor loop, one kernel over all parameters instead of a dozen
small ops per tensor (figures in docs/benchmarks.md). Results differ from the loop only by float
rounding; the state dict is the same, so checkpoints resume either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

FUSED_DEVICE_TYPES = ("cpu", "cuda")


def adam(params: Iterable[torch.nn.Parameter], lr: float, betas: Sequence[float],
         eps: float = 1e-8) -> torch.optim.Adam:
    """``torch.optim.Adam(params, lr, betas, eps)``, fused when every parameter is a float tensor on a
    device with a fused kernel."""
    params = list(params)
    fused = bool(params) and all(p.device.type in FUSED_DEVICE_TYPES and p.is_floating_point()
                                 for p in params)
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps, fused=fused or None)
