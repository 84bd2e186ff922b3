"""StyleGAN2 training state and one update step (:class:`Trainer`).

G, D and the generator EMA, two ``torch.optim.Adam`` optimisers with the lazy-regularisation
correction, ADA's probability update, style mixing and the trainer-owned ``w_avg`` tracking; the
full state round-trips through :meth:`Trainer.state_dict` as plain tensors and containers
(``torch.load(weights_only=True)`` opens it) so a resumed run continues bit-identically.

The networks, optimisers and augmentation live on ``device`` (the studio's one choice, core.device);
the training images, the data order and the latent draws stay on the CPU (so a seed draws the same
batches and latents on every device), and checkpoints are written with CPU tensors, so a run started on
a GPU resumes on the CPU and the other way round.
"""

from __future__ import annotations

import copy
import errno
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.checkpoint import CheckpointError, atomic_torch_save, load_state_strict, require_keys
from core.image.convert import make_grid
from core.optim import adam
from core.stylegan2.discriminator import Discriminator
from core.stylegan2.networks import Generator
from core.stylegan2.sampling import generate_images
from core.stylegan2.training.augment import AugmentPipe
from core.stylegan2.training.config import TrainConfig
from core.stylegan2.training.distributed import all_reduce_mean_, broadcast_module_, world
from core.stylegan2.training.loss import discriminator_loss, generator_loss, path_lengths, r1_penalty

TRAIN_CHECKPOINT_VERSION = 1


@dataclass
class StepStats:
    """Losses of the most recent step (None where that phase did not run)."""

    loss_g: float = float("nan")
    loss_d: float = float("nan")
    r1_penalty: float | None = None
    pl_penalty: float | None = None
    real_logit: float = float("nan")
    fake_logit: float = float("nan")
    augment_p: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


def lazy_adam(params: Sequence[nn.Parameter], lr: float, betas: Sequence[float],
              reg_interval: int) -> torch.optim.Adam:
    """Adam with the lazy-regularisation correction: lr and betas rescaled by interval / (interval + 1)."""
    betas = tuple(betas)
    if reg_interval > 0:
        ratio = reg_interval / (reg_interval + 1)
        lr = lr * ratio
        betas = tuple(b ** ratio for b in betas)
    return adam(params, lr, betas, eps=1e-8)


def adam_state(opt: torch.optim.Adam, saved: Any, name: str) -> dict:
    """``saved`` in ``opt``'s layout. Converts the project's earlier hand-written Adam
    (``{'t', 'exp_avg': [...], 'exp_avg_sq': [...]}``) and a ``torch.optim.Adam`` state whose parameters
    were split into other groups (e.g. one group before the mapping got its own learning rate): the
    moments follow the parameters' order, the group settings come from ``opt``."""
    if not isinstance(saved, dict):
        raise CheckpointError(f"{name} is not an optimizer state (it holds a {type(saved).__name__}).")
    own = opt.state_dict()
    ids = [i for group in own["param_groups"] for i in group["params"]]
    if "state" in saved and "param_groups" in saved:
        try:
            saved_ids = [i for group in saved["param_groups"] for i in group["params"]]
        except (TypeError, KeyError):
            return saved  # let load_state_dict name the damage
        sizes = [len(g["params"]) for g in own["param_groups"]]
        if [len(g["params"]) for g in saved["param_groups"]] == sizes:
            return saved
        if len(saved_ids) != len(ids):
            raise CheckpointError(f"{name} holds moments for {len(saved_ids)} parameters, this model has "
                                  f"{len(ids)}.")
        state = {new: saved["state"][old] for old, new in zip(saved_ids, ids) if old in saved["state"]}
        return {"state": state, "param_groups": own["param_groups"]}
    require_keys(saved, ["t", "exp_avg", "exp_avg_sq"], "Adam optimizer", name)
    if len(saved["exp_avg"]) != len(ids) or len(saved["exp_avg_sq"]) != len(ids):
        raise CheckpointError(f"{name} holds {len(saved['exp_avg'])} moment tensors for {len(ids)} "
                              "parameters.")
    t = int(saved["t"])
    state = {} if t == 0 else {
        i: {"step": torch.tensor(float(t)), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
        for i, m, v in zip(ids, saved["exp_avg"], saved["exp_avg_sq"])}
    return {"state": state, "param_groups": own["param_groups"]}


class Trainer:
    """StyleGAN2 training state (G, D, G_ema, optimisers, ADA) and one-step update."""

    def __init__(self, cfg: TrainConfig,
                 images: np.ndarray,                       # uint8 NHWC at cfg.resolution
                 run_dir: str | os.PathLike | None = None,  # checkpoints and sample grids (rank 0 writes)
                 device: str | torch.device = "cpu"):     # a resolved device (core.device.choose_device)
        cfg.validate()
        assert images.dtype == np.uint8 and images.ndim == 4 and images.shape[1:] == (
            cfg.resolution, cfg.resolution, 3), f"bad training images {images.dtype} {images.shape}"
        self.cfg = cfg
        self.rank, self.world = world()
        if cfg.batch_size % self.world:
            raise ValueError(f"batch_size {cfg.batch_size} must divide evenly over {self.world} processes")
        self.batch_gpu = cfg.batch_size // self.world
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.images = torch.from_numpy(images)
        self.device = torch.device(device)
        if self.world > 1 and self.device.type != "cpu":
            raise ValueError("data-parallel training (torchrun, gloo) runs on the CPU; use --device cpu")
        # Identical initial weights in every process: seed from cfg.seed only, then broadcast anyway.
        torch.manual_seed(cfg.seed)
        self.G = Generator(**cfg.generator_kwargs()).train().to(self.device)
        self.D = Discriminator(cfg.resolution, 3, cfg.d_channel_base, cfg.d_channel_max,
                               cfg.mbstd_group).train().to(self.device)
        broadcast_module_(self.G)
        broadcast_module_(self.D)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.augment = AugmentPipe().to(self.device) if cfg.augment else None
        if self.augment is not None:
            self.augment.p.fill_(cfg.augment_p)
        g_reg = cfg.pl_interval if cfg.pl_weight > 0 else 0
        d_reg = cfg.r1_interval if cfg.r1_gamma > 0 else 0
        self.opt_G = lazy_adam(self.G.parameters(), cfg.g_lr, cfg.betas, g_reg)
        self.opt_D = lazy_adam(self.D.parameters(), cfg.d_lr, cfg.betas, d_reg)
        self.step = 0
        self.cur_nimg = 0
        self.pl_mean = torch.zeros([], device=self.device)
        self._ada_sum = torch.zeros(2)  # [sum of sign(D(real)), count] since the last p update
        self.last_r_t: float | None = None
        # Per-process streams: data order and latents differ across ranks, reproducible per seed.
        self.data_gen = torch.Generator().manual_seed(cfg.seed * 1000 + self.rank)
        self.z_gen = torch.Generator().manual_seed(cfg.seed * 1000 + 500 + self.rank)
        torch.manual_seed(cfg.seed * 1000 + 999 + self.rank)  # synthesis noise + augmentation draws
        self._order = torch.empty(0, dtype=torch.long)
        self._order_pos = 0

    # ---- data and latents ---------------------------------------------------------------------------

    def real_batch(self) -> torch.Tensor:
        """Next per-process batch of real images, NCHW float in [-1, 1] (random order, epoch-wise)."""
        idx: list[int] = []
        while len(idx) < self.batch_gpu:
            if self._order_pos >= len(self._order):
                self._order = torch.randperm(len(self.images), generator=self.data_gen)
                self._order_pos = 0
            take = min(self.batch_gpu - len(idx), len(self._order) - self._order_pos)
            idx.extend(self._order[self._order_pos:self._order_pos + take].tolist())
            self._order_pos += take
        x = self.images[idx].permute(0, 3, 1, 2).float() / 127.5 - 1
        if self.cfg.mirror:
            flip = torch.rand(len(idx), generator=self.data_gen) < 0.5
            x[flip] = x[flip].flip(3)
        return x.to(self.device)

    def latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.G.z_dim, generator=self.z_gen).to(self.device)

    def mapping(self, z: torch.Tensor, mix: bool) -> torch.Tensor:
        """W+ latents with style mixing; tracks W's mean for truncation.

        The mapping runs in eval mode so that the generator implementation never updates ``w_avg``
        itself; the trainer owns that update (one place, same rule in every process).
        """
        mapping = self.G.mapping
        mapping.eval()
        ws = mapping(z, None, truncation_psi=1, truncation_cutoff=None)
        if mix and self.cfg.style_mixing_prob > 0:
            num_ws = ws.shape[1]
            cutoff = torch.randint(1, num_ws, (), generator=self.z_gen).item()
            use = torch.rand((), generator=self.z_gen).item() < self.cfg.style_mixing_prob
            if use:
                ws2 = mapping(self.latents(z.shape[0]), None, truncation_psi=1, truncation_cutoff=None)
                ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        with torch.no_grad():
            w_mean = ws[:, 0].detach().mean(0)
            all_reduce_mean_([w_mean])
            mapping.w_avg.copy_(w_mean.lerp(mapping.w_avg, self.cfg.w_avg_beta))
        return ws

    def run_D(self, img: torch.Tensor) -> torch.Tensor:
        if self.augment is not None:
            img = self.augment(img)
        return self.D(img)

    # ---- one training step --------------------------------------------------------------------------

    def train_step(self) -> StepStats:
        """One G update and one D update on one global batch (+ lazy regularisers when due)."""
        cfg = self.cfg
        stats = StepStats()
        n = self.batch_gpu
        self.G.synthesis.train()

        self.D.requires_grad_(False)
        self.G.requires_grad_(True)
        self.opt_G.zero_grad(set_to_none=False)
        img = self.G.synthesis(self.mapping(self.latents(n), mix=True), noise_mode="random")
        loss_g = generator_loss(self.run_D(img))
        loss_g.backward()
        stats.loss_g = loss_g.item()
        if cfg.pl_weight > 0 and self.step % cfg.pl_interval == 0:
            stats.pl_penalty = self._path_length_reg()
        self._reduce_grads(self.G)
        self.opt_G.step()

        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=False)
        # The G step's images (pre-update) serve as D's fakes: saves a synthesis pass, which is most of
        # a step's cost on CPU, at the price of fakes one G update stale.
        fake_logits = self.run_D(img.detach())
        real = self.real_batch()
        real_logits = self.run_D(real)
        loss_d = discriminator_loss(fake_logits, real_logits)
        loss_d.backward()
        stats.loss_d = loss_d.item()
        stats.real_logit = real_logits.mean().item()
        stats.fake_logit = fake_logits.mean().item()
        self._ada_sum += torch.stack([real_logits.detach().sign().sum().cpu(), torch.tensor(float(n))])
        if cfg.r1_gamma > 0 and self.step % cfg.r1_interval == 0:
            stats.r1_penalty = self._r1_reg(real)
        self._reduce_grads(self.D)
        self.opt_D.step()

        self._update_ema()  # before counting this batch, as the official loop does (beta 0 at step 0)
        self.step += 1
        self.cur_nimg += cfg.batch_size
        self._update_ada()
        stats.augment_p = self.augment_p
        return stats

    def _r1_reg(self, real: torch.Tensor) -> float:
        """Lazy R1: gamma/2 * ||dD(x)/dx||^2 on reals, scaled by the interval; returns the mean penalty."""
        penalty = r1_penalty(self.run_D, real)
        (penalty.mean() * (self.cfg.r1_gamma / 2) * self.cfg.r1_interval).backward()
        return penalty.mean().item()

    def _path_length_reg(self) -> float:
        """Lazy path-length regularisation: keep |J_w^T y| close to its running mean."""
        cfg = self.cfg
        n = max(1, self.batch_gpu // cfg.pl_batch_shrink)
        ws = self.mapping(self.latents(n), mix=True)
        img = self.G.synthesis(ws, noise_mode="random")
        lengths = path_lengths(img, ws)
        mean_len = lengths.detach().mean()
        all_reduce_mean_([mean_len])
        self.pl_mean = self.pl_mean.lerp(mean_len, cfg.pl_decay)
        penalty = (lengths - self.pl_mean).square()
        (penalty.mean() * cfg.pl_weight * cfg.pl_interval).backward()
        return penalty.mean().item()

    def _reduce_grads(self, module: nn.Module) -> None:
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        all_reduce_mean_(grads)
        for g in grads:  # one bad batch must not destroy the weights
            torch.nan_to_num_(g, nan=0, posinf=1e5, neginf=-1e5)

    def ema_beta(self) -> float:
        """EMA decay for this step: half-life ema_kimg, ramped up over the first images."""
        cfg = self.cfg
        ema_nimg = cfg.ema_kimg * 1000
        if cfg.ema_rampup is not None:
            ema_nimg = min(ema_nimg, self.cur_nimg * cfg.ema_rampup)
        return 0.5 ** (cfg.batch_size / max(ema_nimg, 1e-8))

    @torch.no_grad()
    def _update_ema(self) -> None:
        beta = self.ema_beta()
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    def _update_ada(self) -> None:
        """ADA: nudge p up when D is over-confident on reals (r_t > target), down otherwise."""
        cfg = self.cfg
        if self.augment is None or self.step % cfg.ada_interval != 0:
            return
        stats = self._ada_sum.clone()
        if self.world > 1:
            torch.distributed.all_reduce(stats)
        r_t = (stats[0] / stats[1].clamp(min=1)).item()
        adjust = np.sign(r_t - cfg.ada_target) * (cfg.batch_size * cfg.ada_interval) / (cfg.ada_kimg * 1000)
        self.augment.p.copy_((self.augment.p + adjust).clamp(0, 1))
        self._ada_sum.zero_()
        self.last_r_t = r_t

    @property
    def augment_p(self) -> float:
        return float(self.augment.p) if self.augment is not None else 0.0

    # ---- snapshots ----------------------------------------------------------------------------------

    def snapshot_images(self, seeds: Sequence[int], truncation_psi: float = 1.0) -> np.ndarray:
        """uint8 [N, H, W, 3] G_ema images for ``seeds``, rendered exactly as the sampler renders them
        (official seed -> z rule, ``noise_mode='const'``), so seed s here is seed s on the sampler page."""
        return np.stack([img for _, img in generate_images(self.G_ema, list(seeds), truncation_psi)])

    def sample_grid(self, seeds: Sequence[int], truncation_psi: float = 1.0) -> np.ndarray:
        """uint8 grid of :meth:`snapshot_images` (same seeds every snapshot, to watch progress)."""
        imgs = self.snapshot_images(seeds, truncation_psi)
        return make_grid(list(imgs), cols=int(math.ceil(math.sqrt(len(imgs)))))

    # ---- checkpoints --------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume, as plain CPU tensors and containers (weights_only-loadable)."""
        state = {
            "kind": "stylegan2-train",
            "version": TRAIN_CHECKPOINT_VERSION,
            "config": asdict(self.cfg),
            "generator_config": self.cfg.generator_kwargs(),
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "step": self.step,
            "cur_nimg": self.cur_nimg,
            "augment_p": self.augment_p,
            "pl_mean": self.pl_mean.clone(),
            "ada_sum": self._ada_sum.clone(),
            "rng": {"data": self.data_gen.get_state(), "z": self.z_gen.get_state(),
                    "torch": torch.get_rng_state(), "order": self._order.clone(),
                    "order_pos": self._order_pos},
        }
        if self.device.type == "cuda":  # the synthesis noise and augmentation draws
            state["rng"]["cuda"] = torch.cuda.get_rng_state(self.device)
        return state if self.device.type == "cpu" else _on_cpu(state)

    def load_state_dict(self, ckpt: dict[str, Any], name: str = "training checkpoint") -> None:
        require_keys(ckpt, ["G", "D", "G_ema", "opt_G", "opt_D", "step", "cur_nimg"], "StyleGAN2 training",
                     name)
        hint = "Start a new run folder, or resume with the code version that wrote it."
        load_state_strict(self.G, ckpt["G"], name, "G", hint)
        load_state_strict(self.D, ckpt["D"], name, "D", hint)
        load_state_strict(self.G_ema, ckpt["G_ema"], name, "G_ema", hint)
        for opt, part in ((self.opt_G, "opt_G"), (self.opt_D, "opt_D")):
            try:
                opt.load_state_dict(adam_state(opt, ckpt[part], f"{name}: '{part}'"))
            except (KeyError, ValueError, RuntimeError, TypeError, IndexError) as e:
                if isinstance(e, CheckpointError):
                    raise
                raise CheckpointError(f"{name}: '{part}' does not match this model's optimizer "
                                      f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). "
                                      f"{hint}") from None
        self.step = int(ckpt["step"])
        self.cur_nimg = int(ckpt["cur_nimg"])
        if self.augment is not None:
            self.augment.p.fill_(float(ckpt.get("augment_p", 0.0)))
        self.pl_mean = ckpt.get("pl_mean", torch.zeros([])).clone().to(self.device)
        self._ada_sum = ckpt.get("ada_sum", torch.zeros(2)).clone()
        rng = ckpt.get("rng")
        if rng is not None and self.rank == 0:  # other ranks keep their own (distinct) streams
            self.data_gen.set_state(rng["data"])
            self.z_gen.set_state(rng["z"])
            torch.set_rng_state(rng["torch"])
            self._order = rng["order"].clone()
            self._order_pos = int(rng["order_pos"])
            if self.device.type == "cuda" and "cuda" in rng:
                torch.cuda.set_rng_state(rng["cuda"], self.device)

    def save(self, path: str | os.PathLike) -> None:
        """Atomically write :meth:`state_dict` (rank 0 only); a full disk keeps the previous checkpoint."""
        if self.rank != 0:
            return
        path = Path(path)
        try:
            atomic_torch_save(self.state_dict(), path)
        except RuntimeError as e:  # torch's zip writer reports a failed write (e.g. ENOSPC) as RuntimeError
            free = shutil.disk_usage(path.parent).free if path.parent.is_dir() else 0
            if free < 16 * 2 ** 20:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from None
            raise CheckpointError(f"could not write {path}: {str(e).splitlines()[0]}") from None


def _on_cpu(tree: Any) -> Any:
    """``tree`` (dicts, lists, tuples of tensors and plain values) with every tensor copied to the CPU."""
    if isinstance(tree, torch.Tensor):
        return tree.cpu()
    if isinstance(tree, dict):
        return {k: _on_cpu(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_on_cpu(v) for v in tree)
    return tree
