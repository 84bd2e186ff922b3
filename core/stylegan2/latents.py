"""Latent-space tools: the official seed -> z rule, mapping seeds to W, truncation, interpolation paths
and style mixing.

``z_from_seed`` is the one seed rule of the project (NVIDIA's ``generate.py``:
``RandomState(seed).randn(1, z_dim)``): the sampler page, the exported sample grids and the training
snapshots all draw z through it, so seed s shows the same face everywhere for the same weights.
Style groups follow Karras et al. (2019): coarse 4-8 px (pose, face shape), middle 16-32 px (features,
hair style, eyes), fine 64 px+ (colour scheme, micro-structure).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

from core.stylegan2.networks import Generator


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """The official ``generate.py`` latent for a seed: ``RandomState(seed).randn(1, z_dim)``."""
    return torch.from_numpy(np.random.RandomState(int(seed) % (2 ** 32)).randn(1, z_dim)).float()


def zs_from_seeds(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    """[N, z_dim] latents, one :func:`z_from_seed` row per seed."""
    return torch.cat([z_from_seed(s, z_dim) for s in seeds]) if seeds else torch.zeros(0, z_dim)


def parse_seeds(text: str, limit: int = 10_000) -> list[int]:
    """'1, 5-8,42' -> [1, 5, 6, 7, 8, 42] (the official scripts' seed syntax). Raises ValueError."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(f"'{part}' is not a seed or a range like 10-20")
        a, b = int(lo), int(hi) if sep else int(lo)
        if b < a:
            raise ValueError(f"range '{part}' runs backwards")
        seeds.extend(range(a, b + 1))
        if len(seeds) > limit:
            raise ValueError(f"at most {limit} seeds at once")
    if not seeds:
        raise ValueError("no seeds given")
    return seeds


@torch.no_grad()
def seeds_to_ws(G: Generator, seeds: Sequence[int], truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
    """Mapping outputs for seeds: [N, num_ws, w_dim], on the CPU whatever device G is on (latents are
    small; the pages and the show keep, cache and interpolate them there)."""
    device = G.mapping.w_avg.device if hasattr(G.mapping, "w_avg") else torch.device("cpu")
    z = zs_from_seeds(list(seeds), G.z_dim).to(device)
    c = torch.zeros(len(seeds), G.c_dim, device=device) if G.c_dim else None
    return G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff).cpu()


def truncate(G: Generator, ws: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
    """Apply truncation to already-mapped (psi=1) ws, so one mapping serves every psi."""
    if psi == 1:
        return ws
    w_avg = G.mapping.w_avg.to(ws.device)
    out = ws.clone()
    n = ws.shape[1] if cutoff is None else cutoff
    out[:, :n] = w_avg.lerp(ws[:, :n], psi)
    return out


class WsCache:
    """Small thread-safe LRU of untruncated mapping outputs per seed for one generator.

    Dragging a slider then costs only synthesis; truncation is applied on the cached w.
    """

    def __init__(self, G: Generator, capacity: int = 512):
        self._G_ref = weakref.ref(G)
        self._data: OrderedDict[int, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity
        self.hits = self.misses = 0

    def get(self, seed: int, truncation_psi: float = 1.0,
            truncation_cutoff: int | None = None) -> torch.Tensor:
        G = self._G_ref()
        assert G is not None, "generator was garbage-collected"
        with self._lock:
            ws = self._data.get(int(seed))
            if ws is not None:
                self._data.move_to_end(int(seed))
                self.hits += 1
        if ws is None:
            ws = seeds_to_ws(G, [int(seed)])
            with self._lock:
                self.misses += 1
                self._data[int(seed)] = ws
                while len(self._data) > self.capacity:
                    self._data.popitem(last=False)
        return truncate(G, ws, truncation_psi, truncation_cutoff)


def farthest_seeds(cache: WsCache, seed: int, candidates: Sequence[int],
                   truncation_psi: float = 1.0) -> list[int]:
    """``candidates`` (without ``seed``) ordered by the distance of their truncated w from ``seed``'s,
    farthest first: a morph partner far away in W looks like another person, a near one like a twin."""
    ref = cache.get(seed, truncation_psi)[0, 0]
    others = list(dict.fromkeys(int(c) for c in candidates if int(c) != int(seed)))
    dist = {c: float((cache.get(c, truncation_psi)[0, 0] - ref).norm()) for c in others}
    return sorted(others, key=lambda c: -dist[c])


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Linear interpolation ``a + (b - a) * t`` (the path used in W)."""
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: float, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation along the last dim (keeps Gaussian z at a typical norm)."""
    an = a / a.norm(dim=-1, keepdim=True).clamp_min(eps)
    bn = b / b.norm(dim=-1, keepdim=True).clamp_min(eps)
    dot = (an * bn).sum(-1, keepdim=True).clamp(-1 + eps, 1 - eps)
    omega = torch.acos(dot)
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:
        return lerp(a, b, t)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


@torch.no_grad()
def keyframe_ws(G: Generator, seeds: Sequence[int], steps_per_transition: int, space: str = "w",
                truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                loop: bool = False) -> torch.Tensor:
    """Latent path through keyframe seeds: lerp in W or slerp in Z. Returns [F, num_ws, w_dim]."""
    assert space in ("w", "z"), "space must be 'w' or 'z'"
    assert len(seeds) >= 2 and steps_per_transition >= 1
    keys = list(seeds) + ([seeds[0]] if loop else [])
    ts = [k / steps_per_transition for k in range(steps_per_transition)]
    out = []
    if space == "w":
        ws = seeds_to_ws(G, keys, truncation_psi, truncation_cutoff)
        for i in range(len(keys) - 1):
            out += [lerp(ws[i], ws[i + 1], t) for t in ts]
        if not loop:
            out.append(ws[-1])
        return torch.stack(out)
    zs = zs_from_seeds(keys, G.z_dim)
    path = []
    for i in range(len(keys) - 1):
        path += [slerp(zs[i], zs[i + 1], t) for t in ts]
    if not loop:
        path.append(zs[-1])
    device = G.mapping.w_avg.device
    z = torch.stack(path).to(device)
    c = torch.zeros(len(z), G.c_dim, device=device) if G.c_dim else None
    return G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff).cpu()


# Style groups of Karras et al. (2019): coarse 4-8 px (pose, face shape), middle 16-32 px (features,
# hair style, eyes), fine 64 px+ (colour scheme, micro-structure).
STYLE_GROUPS = ("coarse", "middle", "fine")


def style_layers(G: Generator, group: str) -> list[int]:
    """ws indices that a style group controls (generalised to small resolutions)."""
    assert group in STYLE_GROUPS, f"group must be one of {STYLE_GROUPS}"
    syn = G.synthesis
    res = syn.block_resolutions
    hi_coarse, hi_middle = 8, 32
    if res[-1] <= 32:  # small models: keep three non-empty groups
        hi_coarse, hi_middle = 8, 16
    # A block's first conv shares its w with the previous block's toRGB, so a group starts one past it
    # (this gives the paper's 0-3 / 4-7 / 8-17 split for 1024 px).
    start = {"coarse": 0,
             "middle": min(syn.block_w_start.get(hi_coarse * 2, syn.num_ws) + 1, syn.num_ws),
             "fine": min(syn.block_w_start.get(hi_middle * 2, syn.num_ws) + 1, syn.num_ws)}
    end = {"coarse": start["middle"], "middle": start["fine"], "fine": syn.num_ws}
    return list(range(start[group], end[group]))


def mix_styles(ws_dest: torch.Tensor, ws_src: torch.Tensor, layers: Sequence[int]) -> torch.Tensor:
    """Copy the ``layers`` of ``ws_src`` into ``ws_dest`` (both [N, num_ws, w_dim])."""
    out = ws_dest.clone()
    idx = list(layers)
    out[:, idx] = ws_src[:, idx]
    return out

