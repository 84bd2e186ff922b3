"""Data parallelism over ``torch.distributed`` (gloo on CPU) when launched by ``torchrun``.

Gradients are averaged by one flat all-reduce per update; every helper is a no-op in a single process.
"""

from __future__ import annotations

import os

import torch
from torch import nn


def is_distributed() -> bool:
    """True inside a process group (launched by torchrun)."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) in a single process."""
    if is_distributed():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def all_reduce_mean_(tensors: list[torch.Tensor]) -> None:
    """Average tensors in place over processes (one flat all-reduce: few, large messages)."""
    size = world()[1]
    if size == 1 or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    torch.distributed.all_reduce(flat)
    flat /= size
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].reshape(t.shape))
        offset += t.numel()


def broadcast_module_(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process."""
    if world()[1] > 1:
        for t in list(module.parameters()) + list(module.buffers()):
            torch.distributed.broadcast(t.data, src=0)


def init_distributed() -> bool:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); True if this call joined it."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or is_distributed():
        return False
    torch.distributed.init_process_group(backend="gloo")  # the loop keeps every tensor on the CPU
    return True
