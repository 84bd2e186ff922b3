"""Teacher-stream training of the project's StyleGAN2 (:class:`Distiller`): one step, state, resume.

Two phases over :class:`~core.teacher.TeacherStream` (fresh teacher samples):

A. warm start: regress G(z) onto teacher(z) for the same z (multi-scale L1 at 64/32/16/8 px) - fast to
   reach the teacher's layout, but blurry (L1 averages detail away);
B. from ``phase_a_kimg`` on: ``rec_weight`` x the regression + ``adv_weight`` x the non-saturating GAN
   loss against teacher samples, to win sharpness back.

D (non-saturating loss, lazy R1) learns from ``d_start_kimg`` on, by default from the start, so that the
GAN loss of phase B meets a D that already tells teacher faces from the regression's blur.

G_ema is what gets exported. With ``amp_bf16`` the G and D passes run under bf16 autocast (losses,
R1 and Adam in fp32): 1.6-1.9x faster per step on an AVX512-BF16 CPU, same regression loss. The full
state round-trips through :meth:`Distiller.state_dict` (weights_only-loadable) so a resumed run continues
bit-identically; :func:`~core.stylegan2.training.distill_run.convert_checkpoint` reads the scratch
script's checkpoints of the first run (same tensor names, the hand-written Adam's layout).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from core.checkpoint import CheckpointError, load_state_strict, require_keys
from core.stylegan2.discriminator import Discriminator
from core.stylegan2.networks import Generator
from core.stylegan2.training.config import DistillConfig
from core.stylegan2.training.loss import discriminator_loss, generator_loss, r1_penalty
from core.stylegan2.training.trainer import adam_state, lazy_adam
from core.teacher import TeacherStream, multiscale_l1

DISTILL_KIND = "stylegan2-distill"
TEACHER_NOTE = "gan-face-generate 1.1.1 DigiFace DCGAN (MIT), unlimited sample stream"
SCRATCH_KIND = "stylegan2-teacher-distill"  # the first run's scratch script (same layout otherwise)
DISTILL_VERSION = 1


class Distiller:
    """Student G, G_ema, D, two Adams and the teacher stream; one step = one batch of fresh z."""

    def __init__(self, cfg: DistillConfig,
                 teacher: nn.Module,                      # [N, z_dim, 1, 1] -> [N, 3, R, R] in [-1, 1]
                 scorer=None,                             # uint8 NHWC -> [N] scores (default SmallFaceScorer)
                 device: torch.device | str = "cpu"):
        cfg.validate()
        self.cfg = cfg
        self.device = torch.device(device)
        torch.manual_seed(cfg.seed)
        self.G = Generator(**cfg.generator_kwargs()).train().to(self.device)
        self.D = Discriminator(cfg.resolution, 3, cfg.d_channel_base, cfg.d_channel_max,
                               cfg.mbstd_group).train().to(self.device)
        self._silence_noise(self.G)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        # G has no lazy regulariser; its betas follow the phase (set every step). D: lazy R1 correction.
        self.opt_G = lazy_adam(self.G.synthesis.parameters(), cfg.g_lr, cfg.g_betas_rec, 0)
        self.opt_G.add_param_group({"params": list(self.G.mapping.parameters())})  # lr set every step
        self.opt_D = lazy_adam(self.D.parameters(), cfg.d_lr, cfg.g_betas_gan, cfg.r1_interval)
        self.stream = TeacherStream(teacher.to(self.device), cfg.z_dim, cfg.seed, cfg.real_min_score, scorer,
                                    self.device)
        self.step = 0
        self.cur_nimg = 0
        self.d_steps = 0
        self.train_seconds = 0.0
        torch.manual_seed(cfg.seed * 1000 + 999)  # synthesis noise

    @property
    def phase(self) -> str:
        return "A" if self.cur_nimg < self.cfg.phase_a_kimg * 1000 else "B"

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.amp_bf16)

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """W+ for z (no style mixing: the regression needs z -> image); the trainer tracks w_avg."""
        mapping = self.G.mapping
        mapping.eval()  # the generator never updates w_avg itself
        ws = mapping(z, None, truncation_psi=1, truncation_cutoff=None)
        with torch.no_grad():
            mapping.w_avg.copy_(ws[:, 0].detach().float().mean(0).lerp(mapping.w_avg, self.cfg.w_avg_beta))
        return ws

    def train_step(self) -> dict[str, float]:
        """One G update (+ one D update from ``d_start_kimg`` on); returns the step's losses."""
        cfg = self.cfg
        t0 = time.monotonic()
        phase = self.phase
        stats: dict[str, float] = {}
        z, real = self.stream.pairs(cfg.batch_size)

        self.G.synthesis.train()
        self.G.requires_grad_(True)
        self.D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=False)
        for group, scale in zip(self.opt_G.param_groups, (1.0, cfg.mapping_lr_scale)):
            group["lr"] = cfg.g_lr * scale  # schedule fields may change on resume
            group["betas"] = tuple(cfg.g_betas_rec if phase == "A" else cfg.g_betas_gan)
        with self._autocast():
            img = self.G.synthesis(self.mapping(z), noise_mode="random").float()
        assert img.shape == real.shape, (tuple(img.shape), tuple(real.shape))
        rec = multiscale_l1(img, real, cfg.rec_levels())
        loss = rec * (1.0 if phase == "A" else cfg.rec_weight)
        stats["rec"] = rec.item()
        if phase == "B":
            with self._autocast():
                adv = generator_loss(self.D(img).float())
            loss = loss + cfg.adv_weight * adv
            stats["adv_g"] = adv.item()
        loss.backward()
        self._sanitize(self.G)
        self.opt_G.step()
        self._silence_noise(self.G)

        if self.cur_nimg >= cfg.d_start_kimg * 1000:  # D: the G step's images (pre-update) as fakes
            if cfg.real_min_score > 0:
                real = self.stream.filtered_reals(cfg.batch_size)
            self.G.requires_grad_(False)
            self.D.requires_grad_(True)
            self.opt_D.zero_grad(set_to_none=False)
            with self._autocast():
                fake_logits = self.D(img.detach()).float()
                real_logits = self.D(real).float()
            loss_d = discriminator_loss(fake_logits, real_logits)
            loss_d.backward()
            stats.update(loss_d=loss_d.item(), real_logit=real_logits.mean().item(),
                         fake_logit=fake_logits.mean().item())
            if cfg.r1_gamma > 0 and self.d_steps % cfg.r1_interval == 0:  # fp32: R1 needs the precision
                penalty = r1_penalty(lambda x: self.D(x).float(), real).mean()
                (penalty * (cfg.r1_gamma / 2) * cfg.r1_interval).backward()
                stats["r1"] = penalty.item()
            self._sanitize(self.D)
            self.opt_D.step()
            self.d_steps += 1

        self._update_ema()
        self.step += 1
        self.cur_nimg += cfg.batch_size
        self.train_seconds += time.monotonic() - t0
        return stats

    @staticmethod
    def _sanitize(module: nn.Module) -> None:
        for p in module.parameters():  # one bad batch must not destroy the weights
            if p.grad is not None:
                torch.nan_to_num_(p.grad, nan=0, posinf=1e5, neginf=-1e5)

    @torch.no_grad()
    def _update_ema(self) -> None:
        cfg = self.cfg
        ema_nimg = min(cfg.ema_kimg * 1000, max(self.cur_nimg, 1) * cfg.ema_rampup)
        beta = 0.5 ** (cfg.batch_size / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)
        self._silence_noise(self.G_ema)

    @torch.no_grad()
    def _silence_noise(self, G: Generator) -> None:
        """Hold the noise strength of the ``silent_noise_res`` layers at zero (see DistillConfig)."""
        silent = set(self.cfg.silent_noise_res)
        for layer in G.synthesis.modules():
            if getattr(layer, "use_noise", False) and layer.resolution in silent:
                layer.noise_strength.zero_()

    # ---- state ----------------------------------------------------------------------------------------

    def state_dict(self, optimizers: bool = True) -> dict[str, Any]:
        """Plain tensors and containers; without ``optimizers`` a warm-restart point (no Adam moments)."""
        stream = self.stream.state_dict()
        out = {"kind": DISTILL_KIND, "version": DISTILL_VERSION, "config": asdict(self.cfg),
               "generator_config": self.cfg.generator_kwargs(),
               "G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(), "D": self.D.state_dict(),
               "step": self.step, "cur_nimg": self.cur_nimg, "d_steps": self.d_steps,
               "train_seconds": self.train_seconds, "real_pool": stream["pool"],
               "rng": {"z": stream["z"], "real": stream["real"], "torch": torch.get_rng_state()}}
        if optimizers:
            out.update(opt_G=self.opt_G.state_dict(), opt_D=self.opt_D.state_dict())
        return out

    def load_state_dict(self, ckpt: dict[str, Any], name: str = "teacher-stream checkpoint") -> bool:
        """Load :meth:`state_dict` (or the scratch script's layout); returns whether Adam moments were in it
        (False: a warm restart - weights, counters and streams exact, Adam starting afresh)."""
        require_keys(ckpt, ["G", "G_ema", "D", "step", "cur_nimg", "rng"], "teacher-stream training", name)
        hint = "Resume with the code version that wrote it, or start a new run folder."
        load_state_strict(self.G, ckpt["G"], name, "G", hint)
        load_state_strict(self.G_ema, ckpt["G_ema"], name, "G_ema", hint)
        load_state_strict(self.D, ckpt["D"], name, "D", hint)
        exact = "opt_G" in ckpt and "opt_D" in ckpt
        if exact:
            for opt, part in ((self.opt_G, "opt_G"), (self.opt_D, "opt_D")):
                try:
                    opt.load_state_dict(adam_state(opt, ckpt[part], f"{name}: '{part}'"))
                except (KeyError, ValueError, RuntimeError, TypeError, IndexError) as e:
                    if isinstance(e, CheckpointError):
                        raise
                    raise CheckpointError(f"{name}: '{part}' does not match this model's optimizer "
                                          f"({type(e).__name__}).") from None
            self._restore_lazy_d_hparams()
        self.step, self.cur_nimg = int(ckpt["step"]), int(ckpt["cur_nimg"])
        self.d_steps = int(ckpt.get("d_steps", 0))
        self.train_seconds = float(ckpt.get("train_seconds", 0.0))
        rng = ckpt["rng"]
        self.stream.load_state_dict({"z": rng["z"], "real": rng.get("real", self.stream.real_gen.get_state()),
                                     "pool": ckpt.get("real_pool", torch.zeros(0))})
        torch.set_rng_state(rng["torch"])
        for G in (self.G, self.G_ema):  # a run may silence layers on resume
            self._silence_noise(G)
        return exact

    def _restore_lazy_d_hparams(self) -> None:
        """D's lr and betas come from the (possibly changed) config, not the loaded optimizer state."""
        fresh = lazy_adam([torch.zeros(1)], self.cfg.d_lr, self.cfg.g_betas_gan, self.cfg.r1_interval)
        for group in self.opt_D.param_groups:
            group["lr"], group["betas"] = fresh.param_groups[0]["lr"], fresh.param_groups[0]["betas"]
