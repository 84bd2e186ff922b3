"""The teacher of a teacher-stream run and its unlimited stream of fresh samples (StyleGAN2 and DCGAN).

The teacher is gan-face-generate's DigiFace DCGAN (MIT licence, 64 px, z ~ N(0, I) of size 100). It is a
build-time tool, never an app dependency: it is imported only when a teacher run is built, e.g. after
``pip install --no-deps --target /tmp/gfg gan_face_generate==1.1.1`` with /tmp/gfg on PYTHONPATH (as
``assets/make_demo_assets.py`` does). Any ``nn.Module`` mapping [N, z_dim, 1, 1] to [N, 3, R, R] in
[-1, 1] can stand in for it (the tests inject a tiny DCGAN).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.cli import UserError

TEACHER_NAMES = ("gan-face-generate",)
TEACHER_Z_DIM = 100  # gan-face-generate's DCGAN takes z of shape (N, 100, 1, 1)
TEACHER_INSTALL = ("pip install --no-deps --target /tmp/gfg gan_face_generate==1.1.1 "
                   "and put /tmp/gfg on PYTHONPATH")
FILTER_CHUNK = 16  # teacher samples scored per refill of the filtered pool
FILTER_MAX_TRIES = 4096  # samples scored without one kept: the filter is wrong, not unlucky


def load_teacher(name: str = "gan-face-generate") -> nn.Module:
    """The named teacher with its bundled weights, eval mode, frozen; UserError when not installed."""
    if name not in TEACHER_NAMES:
        raise UserError(f"unknown teacher {name!r} (known: {', '.join(TEACHER_NAMES)})")
    spec = importlib.util.find_spec("gan_face_generate")
    if spec is None or spec.origin is None:
        raise UserError(f"the teacher gan-face-generate is not installed: {TEACHER_INSTALL}")
    from gan_face_generate.models import Generator as TeacherGenerator

    weights = Path(spec.origin).parent / "weights.tar"  # the wheel's own file (MIT), a plain state dict
    state = torch.load(weights, map_location="cpu", weights_only=True)["netG_state_dict"]
    net = TeacherGenerator(0, 3, TEACHER_Z_DIM, 64)  # ngpu 0, RGB, z 100, 64 base filters
    net.load_state_dict(state)
    return net.eval().requires_grad_(False)


@torch.no_grad()
def teacher_images(teacher: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """[N, z_dim] z -> [N, 3, R, R] teacher images in [-1, 1] (float32)."""
    assert z.ndim == 2, tuple(z.shape)
    img = teacher(z[:, :, None, None]).float().clamp(-1, 1)
    assert img.ndim == 4 and img.shape[:2] == (z.shape[0], 3), tuple(img.shape)
    return img


def to_uint8_nhwc(img: torch.Tensor) -> np.ndarray:
    """[-1, 1] NCHW -> uint8 NHWC (the scorer's input)."""
    return ((img.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def multiscale_l1(img: torch.Tensor, target: torch.Tensor, scales: tuple[int, ...]) -> torch.Tensor:
    """Mean over ``scales`` of the L1 distance after area down-sampling to that resolution."""
    assert img.shape == target.shape and img.ndim == 4, (tuple(img.shape), tuple(target.shape))
    total = img.new_zeros(())
    for s in scales:
        k = img.shape[-1] // s
        a, b = (img, target) if k == 1 else (F.avg_pool2d(img, k), F.avg_pool2d(target, k))
        total = total + (a - b).abs().mean()
    return total / len(scales)


class TeacherStream:
    """Fresh teacher samples, never a fixed set: D cannot over-fit it and no augmentation is needed.

    ``pairs(n)`` gives (z, teacher(z)) for the regression and D's default reals; ``filtered_reals(n)``
    gives teacher images whose face score is at least ``min_score`` (a pool carried across steps). Two
    seeded generators, so the stream resumes exactly through :meth:`state_dict`.
    """

    def __init__(self, teacher: nn.Module,                # [N, z_dim, 1, 1] -> [N, 3, R, R] in [-1, 1]
                 z_dim: int,                              # the teacher's latent size
                 seed: int,                               # stream seed (the scratch run's rule)
                 min_score: float = 0.0,                  # > 0: filtered_reals keeps faces scoring this
                 scorer: Callable[[np.ndarray], np.ndarray] | None = None,  # uint8 NHWC -> [N] scores
                 device: torch.device | str = "cpu"):
        self.teacher, self.z_dim, self.min_score = teacher, z_dim, min_score
        self.device = torch.device(device)
        self.z_gen = torch.Generator().manual_seed(seed * 1000 + 500)
        self.real_gen = torch.Generator().manual_seed(seed * 1000 + 700)
        self.pool = torch.zeros(0)
        self._scorer = scorer
        self.scored = self.kept = 0

    def pairs(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(z [n, z_dim], teacher(z) [n, 3, R, R]) on the stream's device."""
        z = torch.randn(n, self.z_dim, generator=self.z_gen).to(self.device)
        return z, teacher_images(self.teacher, z)

    def filtered_reals(self, n: int) -> torch.Tensor:
        """``n`` teacher images scoring at least ``min_score`` (the default scorer is SmallFaceScorer)."""
        if self._scorer is None:
            from core.landmarks import SmallFaceScorer

            self._scorer = SmallFaceScorer().scores
        pool = self.pool.to(self.device)
        tries = 0
        while len(pool) < n:
            if tries >= FILTER_MAX_TRIES:
                raise RuntimeError(f"no teacher sample scored >= {self.min_score} in {tries} tries: "
                                   "lower --real-min-score (0 turns the filter off)")
            tries += FILTER_CHUNK
            z = torch.randn(FILTER_CHUNK, self.z_dim, generator=self.real_gen).to(self.device)
            imgs = teacher_images(self.teacher, z)
            keep = torch.from_numpy(np.asarray(self._scorer(to_uint8_nhwc(imgs))) >= self.min_score)
            self.scored += FILTER_CHUNK
            self.kept += int(keep.sum())
            kept = imgs[keep.to(self.device)]
            pool = kept if len(pool) == 0 else torch.cat([pool, kept])
            if len(kept):
                tries = 0
        out, self.pool = pool[:n], pool[n:]
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"z": self.z_gen.get_state(), "real": self.real_gen.get_state(),
                "pool": self.pool.cpu().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.z_gen.set_state(state["z"])
        if "real" in state:
            self.real_gen.set_state(state["real"])
        self.pool = state.get("pool", torch.zeros(0)).clone()
