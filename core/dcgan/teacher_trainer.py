"""DCGAN training on a teacher's unlimited stream of fresh samples (how the bundled DCGAN is made).

The run folder, snapshots, SWD, pause/stop, job progress and exact resume are :class:`Trainer`'s; only
the step differs. Two phases over :class:`core.teacher.TeacherStream`:

A. warm start (``rec_steps``): regress G(z) onto teacher(z) for the same z (multi-scale L1 at
   64/32/16/8 px). It reaches the teacher's layout fast, but blurry: L1 averages detail away. D already
   trains (teacher samples vs the student's), so it is ready when phase B needs it.
B. the tutorial's GAN step, with D's reals drawn from the stream (those scoring at least
   ``real_min_score`` on the face detector, so D also rejects the teacher's broken faces) and G's loss
   plus ``rec_weight`` x the regression for the batch's own z, which keeps seed s the teacher's face.

The data set passed in is only the SWD reference (the demo face set), so the page's curves compare
with the same faces as any other run. Single process: the stream is one seeded sequence.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from core.checkpoint import CheckpointError
from core.dcgan.augment import diff_augment
from core.dcgan.config import TrainConfig
from core.dcgan.data import ImageSet
from core.dcgan.trainer import Trainer
from core.teacher import TeacherStream, load_teacher, multiscale_l1

STREAM_KEY = "teacher_stream"


class TeacherTrainer(Trainer):
    """:class:`Trainer` whose reals come from a teacher generator (``cfg.teacher``)."""

    def __init__(self, cfg: TrainConfig, data: ImageSet, run_dir, resume: bool = False,
                 take_lock: bool = True, overwrite: bool = False, notices: list[str] | None = None,
                 teacher: nn.Module | None = None,  # [N, z, 1, 1] -> [N, 3, 64, 64] in [-1, 1]; None: cfg's
                 scorer=None):                      # uint8 NHWC -> [N] face scores; None: SmallFaceScorer
        if not cfg.teacher:
            raise ValueError("TeacherTrainer needs cfg.teacher (the plain Trainer trains on the data set).")
        if dist.is_available() and dist.is_initialized():
            raise ValueError("Teacher runs are single-process (the stream is one seeded sequence).")
        self._teacher = teacher if teacher is not None else load_teacher(cfg.teacher)
        self._scorer = scorer
        super().__init__(cfg, data, run_dir, resume=resume, take_lock=take_lock, overwrite=overwrite,
                         notices=notices)

    def _setup(self, data: ImageSet, resume: bool, overwrite: bool) -> None:
        # The stream exists before the base class restores a checkpoint into it.
        self.stream = TeacherStream(self._teacher.to(self.device), self.cfg.model.latent_dim, self.cfg.seed,
                                    self.cfg.real_min_score, self._scorer, self.device)
        super()._setup(data, resume, overwrite)

    @property
    def phase(self) -> str:
        return "A" if self.step < self.cfg.rec_steps else "B"

    def _as_input(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=self.memory_format)

    def train_step(self) -> dict[str, float]:
        cfg = self.cfg
        phase_a = self.phase == "A"
        z, target = self.stream.pairs(cfg.batch_size)
        levels = (64, 32, 16, 8)
        real = self.stream.filtered_reals(cfg.batch_size) if cfg.real_min_score > 0 else target
        real = self._as_input(real)
        aug = cfg.diffaugment
        with self._autocast():
            fake = self.G(z)
        fake = self._as_input(fake.float())

        # D learns teacher vs student in both phases: when the GAN loss joins in phase B it meets a D
        # that already knows what the regression gets wrong, not a random one (whose gradients tore the
        # warm-started faces into noise in the first recipe).
        self.opt_d.zero_grad(set_to_none=True)
        with self._autocast():
            out_real = self.D(diff_augment(real, aug) if aug else real).float()
            out_fake = self.D(diff_augment(fake.detach(), aug) if aug else fake.detach()).float()
        loss_real = F.binary_cross_entropy_with_logits(out_real, self.real_target)
        loss_fake = F.binary_cross_entropy_with_logits(out_fake, self.fake_target)
        (loss_real + loss_fake).backward()
        self.opt_d.step()

        self.opt_g.zero_grad(set_to_none=True)
        rec = multiscale_l1(fake, target, levels)
        if phase_a:
            rec.backward()
            loss_adv = torch.zeros(())
        else:
            self.D.requires_grad_(False)  # D's weight gradients are not needed for the G update
            with self._autocast():
                out_gen = self.D(diff_augment(fake, aug) if aug else fake).float()
            loss_adv = F.binary_cross_entropy_with_logits(out_gen, self.gen_target)
            (loss_adv + cfg.rec_weight * rec).backward()
            self.D.requires_grad_(True)
        self.opt_g.step()

        with torch.no_grad():
            vals = torch.stack([loss_real + loss_fake, torch.sigmoid(out_real).mean(),
                                torch.sigmoid(out_fake).mean(), rec]).tolist()
        stats = dict(zip(("d_loss", "d_x", "d_gz", "rec"), vals))
        if not phase_a:
            stats["g_loss"] = loss_adv.item()
        return stats

    def checkpoint_dict(self) -> dict:
        return {**super().checkpoint_dict(), STREAM_KEY: self.stream.state_dict()}

    def load_extra_state(self, ckpt: dict, name: str) -> None:
        if STREAM_KEY not in ckpt:
            raise CheckpointError(f"{name} is not a teacher run's checkpoint (no '{STREAM_KEY}'): resume it "
                                  "without --teacher.")
        try:
            self.stream.load_state_dict(ckpt[STREAM_KEY])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"{name}: the teacher stream's state is damaged "
                                  f"({type(e).__name__}).") from None
