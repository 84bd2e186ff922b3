"""Semantic directions by closed-form factorisation (SeFa; Shen & Zhou, "Closed-Form Factorization of
Latent Semantics in GANs", CVPR 2021): eigenvectors of A^T A where A stacks the style-modulation
(affine) weights of the chosen layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.stylegan2.networks import Generator
from core.stylegan2.sampling import synthesize


@dataclass
class SemanticDirections:
    """SeFa result: unit directions in W, their eigenvalues, the ws layers they act on, and the
    standard deviation of mapped samples along each direction (so sliders move in sigma units)."""

    directions: torch.Tensor  # [K, w_dim]
    eigenvalues: torch.Tensor  # [K], descending
    layers: list[int]
    sigmas: torch.Tensor  # [K]


def modulation_layers(G: Generator) -> list[tuple[int, nn.Module]]:
    """(ws index, SynthesisLayer) for every modulated conv, in ws order."""
    out = []
    syn = G.synthesis
    for res in syn.block_resolutions:
        block = getattr(syn, f"b{res}")
        i = syn.block_w_start[res]
        for name in ("conv0", "conv1"):
            if hasattr(block, name):
                out.append((i, getattr(block, name)))
                i += 1
    return out


@torch.no_grad()
def sefa_directions(G: Generator, layers: Sequence[int] | None = None, num: int = 8,
                    num_sigma_samples: int = 1000) -> SemanticDirections:
    """Closed-form factorisation (Shen & Zhou 2021) of the style-modulation weights of ``layers``.

    The affine weights A (rows: output channels, each row normalised) of the chosen convs are
    stacked; the top eigenvectors of A^T A are the directions in W that change those styles most.
    """
    chosen = [(i, layer) for i, layer in modulation_layers(G) if layers is None or i in set(layers)]
    assert chosen, "no modulated layers selected"
    weight = torch.cat([layer.affine.weight.detach().float() for _, layer in chosen])  # [sumC, w_dim]
    weight = weight / weight.norm(dim=1, keepdim=True).clamp_min(1e-8)
    eigvals, eigvecs = torch.linalg.eigh(weight.T.double() @ weight.double())
    order = torch.argsort(eigvals, descending=True)[:num]
    directions = eigvecs[:, order].T.float().contiguous()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        z = torch.randn(num_sigma_samples, G.z_dim)
    c = torch.zeros(num_sigma_samples, G.c_dim) if G.c_dim else None
    w = G.mapping(z, c)[:, 0]
    sigmas = (w @ directions.T).std(dim=0).clamp_min(1e-6)
    used = sorted({i for i, _ in chosen})
    return SemanticDirections(directions, eigvals[order].float(), used, sigmas)


def apply_directions(ws: torch.Tensor, sem: SemanticDirections, amounts: Sequence[float]) -> torch.Tensor:
    """Move ws along each direction by ``amounts[k]`` sigmas, on the factorised layers only."""
    assert len(amounts) <= len(sem.directions)
    delta = torch.zeros(ws.shape[-1])
    for k, a in enumerate(amounts):
        if a:
            delta = delta + float(a) * float(sem.sigmas[k]) * sem.directions[k]
    out = ws.clone()
    out[:, sem.layers] += delta
    return out


def direction_strip(G: Generator, ws: torch.Tensor, sem: SemanticDirections, k: int,
                    amounts: Sequence[float] = (-3, -1.5, 0, 1.5, 3), noise_mode: str = "const",
                    max_resolution: int | None = None, out_size: int | None = None) -> np.ndarray:
    """Preview strip for direction k: uint8 images side by side, one per amount (sigmas)."""
    assert ws.shape[0] == 1, "direction_strip takes a single latent"
    batch = torch.cat([apply_directions(ws, sem, [0] * k + [a]) for a in amounts])
    imgs = synthesize(G, batch, noise_mode, max_resolution=max_resolution, out_size=out_size)
    return np.concatenate(list(imgs), axis=1)

