"""The DCGAN training loop: resumable bit for bit, controllable from the page, data-parallel under torchrun.

Everything the page shows is written into one run folder (see :mod:`core.dcgan.run_dir`). Inside a
``core.jobs`` process job (how the page starts it) the loop reports its progress in steps to the job
layer, which estimates the time left; the layer's cancel (the folder's ``cancel`` file, also honoured
when the run was started from a terminal) checkpoints and stops it; pausing is ``control.json``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from core.checkpoint import CheckpointError, atomic_write_bytes, load_state_strict
from core.dcgan.augment import diff_augment
from core.dcgan.config import TrainConfig, resolve_device
from core.dcgan.data import DatasetError, EpochSampler, ImageSet
from core.dcgan.loading import (
    CHECKPOINT_VERSION,
    GENERATOR_KEYS,
    RESUME_KEYS,
    checked_model_config,
    read_checkpoint,
    save_checkpoint,
    saved_train_config,
)
from core.dcgan.models import build_models
from core.dcgan.quality import SWDEvaluator
from core.dcgan.rng import capture_rng_state, restore_rng_state
from core.dcgan.run_dir import (
    CHECKPOINT_NAME,
    CONFIG_NAME,
    CONTROL_NAME,
    LATEST_GRID_NAME,
    METRICS_NAME,
    SNAPSHOT_DIR,
    STATUS_NAME,
    RunExistsError,
    RunLock,
    previous_run_files,
    read_json,
    read_metrics,
    remove_partial_writes,
    set_control,
    snapshot_name,
    snapshot_paths,
    snapshot_step,
    write_json_atomic,
)
from core.dcgan.sampling import generate, latent_noise
from core.image.convert import make_grid, png_bytes, to_uint8
from core.jobs import CANCEL_FILE, cancel_requested, current_context
from core.optim import adam

# What the loop does next, agreed across ranks as the largest code: stop beats pause beats run.
_COMMANDS = ("run", "pause", "stop")
_COMMAND_CODES = {name: code for code, name in enumerate(_COMMANDS)}



class UniformMaskDropout(nn.Dropout):
    """``nn.Dropout`` with its mask drawn by ``uniform_`` instead of ``bernoulli_``: the same
    distribution (keep with probability 1 - p, scaled by 1 / (1 - p)), but CPU ``bernoulli_`` draws
    element by element, a noticeable share of a study-architecture training step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0
        keep = torch.empty_like(x).uniform_().ge_(self.p).mul_(1.0 / (1.0 - self.p))
        return x * keep


def use_uniform_mask_dropout(module: nn.Module) -> None:
    """Swap every ``nn.Dropout`` in ``module`` for :class:`UniformMaskDropout` (no parameters change)."""
    for parent in module.modules():
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                setattr(parent, name, UniformMaskDropout(child.p))

class Trainer:
    """The DCGAN loop (the tutorial's update order) writing everything the page shows into ``run_dir``.

    Exact resume: the checkpoint holds G, D, both optimizers, torch/numpy/python RNG states, the
    sampler's generator and permutation, the step, the fixed noise and the config; restoring them
    reproduces an uninterrupted run's losses bit for bit on the same device and thread count.
    Under ``torch.distributed`` (torchrun) the models are wrapped in DDP; rank 0 writes the files.
    A fresh run refuses a folder that holds an earlier run's checkpoint, metrics or snapshots unless
    ``overwrite`` is set.
    """

    def __init__(self, cfg: TrainConfig, data: ImageSet, run_dir: str | os.PathLike, resume: bool = False,
                 take_lock: bool = True, overwrite: bool = False, notices: list[str] | None = None):
        # cfg: validated here; data: uint8 images (at least one batch); run_dir: this run's folder;
        # resume: continue from RUN_DIR/checkpoint.pt when present; take_lock: hold RUN_DIR/run.lock;
        # overwrite: allow a fresh run to replace an earlier one; notices: lines recorded in config.json
        # and shown in the status (e.g. "batch reduced to fit").
        cfg.validate()
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.notices = list(notices or [])
        self.distributed = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.distributed else 0
        self.world = dist.get_world_size() if self.distributed else 1
        self.is_main = self.rank == 0
        if cfg.batch_size % self.world:
            raise ValueError(f"batch_size {cfg.batch_size} must divide evenly over {self.world} processes.")
        if len(data) < cfg.batch_size:
            raise DatasetError(f"{Path(data.source).name} has only {len(data)} usable image(s); training "
                               f"needs at least {cfg.batch_size} (one batch). Add images or lower the "
                               f"batch size.")
        self._threads_before = torch.get_num_threads()
        self.lock = None
        # The job this process runs as (a no-op context outside one): progress, ETA and cancel.
        self.job = current_context()
        self._in_job = self.job.run_dir is not None and self.job.run_dir.resolve() == self.run_dir.resolve()
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        if self.distributed and self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", self.rank)))
            torch.cuda.set_device(self.device)
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        try:
            self.lock = RunLock(self.run_dir).acquire() if (take_lock and self.is_main) else None
            self._setup(data, resume, overwrite)
        except BaseException:
            self.close()
            raise

    # -- setup -----------------------------------------------------------------------------------

    def _setup(self, data: ImageSet, resume: bool, overwrite: bool) -> None:
        cfg = self.cfg
        self.path = self.run_dir / CHECKPOINT_NAME
        resuming = resume and self.path.exists()
        if not resuming and not overwrite:
            refuse_previous_run(self.run_dir)
        if self.is_main and self.lock is not None:
            remove_partial_writes(self.run_dir)  # left by a process killed mid-write; we hold the lock
            if not self._in_job:
                # A stop meant for an earlier run (a job's own cancel file is cleared when it starts, and
                # one written since is meant for this run).
                (self.run_dir / CANCEL_FILE).unlink(missing_ok=True)
        # Every rank builds identical initial weights (DDP also broadcasts them); noise and
        # augmentation then differ per rank.
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        random.seed(cfg.seed)
        g, d = build_models(cfg.model)
        if self.device.type == "cpu":
            use_uniform_mask_dropout(d)
        self.G = g.to(self.device, memory_format=self.memory_format)
        self.D = d.to(self.device, memory_format=self.memory_format)
        self.opt_g = adam(self.G.parameters(), cfg.lr_g, (cfg.beta1, cfg.beta2))
        self.opt_d = adam(self.D.parameters(), cfg.lr_d, (cfg.beta1, cfg.beta2))
        self.fixed_noise = latent_noise(cfg.n_fixed, cfg.model.latent_dim, cfg.seed + 1)
        # uint8, converted per batch (4x less memory than float); on the GPU to avoid host copies.
        self.data = data.images.to(self.device) if self.device.type == "cuda" else data.images
        self.sampler = EpochSampler(len(data), cfg.batch_size, cfg.seed)
        self.step = 0
        torch.manual_seed(cfg.seed + 1000 * self.rank)
        self.swd: SWDEvaluator | None = None
        self.swd_noise: torch.Tensor | None = None
        if resuming:
            self.load_checkpoint(self.path)
        elif cfg.init_generator:
            self.load_initial_generator(Path(cfg.init_generator))
        if not resuming and self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            for stale in (METRICS_NAME, CONTROL_NAME):
                (self.run_dir / stale).unlink(missing_ok=True)
            for old in snapshot_paths(self.run_dir):
                old.unlink()
        if self.is_main:
            self._truncate_metrics_after(self.step)
            saved = asdict(cfg) | ({"notices": self.notices} if self.notices else {})
            write_json_atomic(self.run_dir / CONFIG_NAME, saved)
            set_control(self.run_dir, "run")  # a stale "pause" from an earlier session must not hold this one
        self.g_train = self.G
        self.d_train = self.D
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_train = DDP(self.G, device_ids=ids)
            self.d_train = DDP(self.D, device_ids=ids)
        per_rank = cfg.batch_size // self.world
        smooth = 1.0 - cfg.label_smoothing
        self.real_target = torch.full((per_rank,), smooth, device=self.device)
        self.fake_target = torch.zeros(per_rank, device=self.device)
        self.gen_target = torch.ones(per_rank, device=self.device)
        self._ips_window: list[tuple[float, int]] = []
        self._control_mtime = 0.0
        self._control = "run"
        self._last_status_write = 0.0

    def _truncate_metrics_after(self, step: int) -> None:
        # Lines logged after the checkpoint we resume from describe steps that will be redone.
        path = self.run_dir / METRICS_NAME
        if path.exists():
            rows = [r for r in read_metrics(self.run_dir) if r.get("step", 0) <= step]
            atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in rows).encode())
        for snap in snapshot_paths(self.run_dir):
            if snapshot_step(snap) > step:
                snap.unlink()

    # -- checkpoints -----------------------------------------------------------------------------

    def checkpoint_dict(self) -> dict:
        rng = capture_rng_state(self.device)
        if self.distributed:
            gathered: list[Any] = [None] * self.world
            dist.all_gather_object(gathered, rng)
            rng = {"per_rank": gathered}
        return {
            "model": self.G.state_dict(), "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "rng": rng, "sampler": self.sampler.state_dict(), "step": self.step,
            "fixed_noise": self.fixed_noise.clone(), "config": asdict(self.cfg),
            "version": CHECKPOINT_VERSION, "world_size": self.world,
        }

    def save_checkpoint(self) -> None:
        ckpt = self.checkpoint_dict()  # collective under DDP: every rank calls it
        if self.is_main:
            save_checkpoint(ckpt, self.path)

    def load_checkpoint(self, path: Path) -> None:
        """Restore everything from a resumable checkpoint, after checking its config and every shape."""
        name = path.name
        ckpt = read_checkpoint(path, RESUME_KEYS, "resumable DCGAN", map_location=self.device)
        saved = saved_train_config(ckpt, name)
        if saved.model != self.cfg.model:
            raise CheckpointError(f"{name} was trained with a different model config ({saved.model}); "
                                  f"resume with the same architecture or use a new run folder.")
        load_state_strict(self.G, ckpt["model"], name, "model")
        load_state_strict(self.D, ckpt["discriminator"], name, "discriminator")
        try:
            self.opt_g.load_state_dict(ckpt["opt_g"])
            self.opt_d.load_state_dict(ckpt["opt_d"])
            for opt, lr in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
                for group in opt.param_groups:  # a resumed run may change its learning rates
                    group["lr"] = lr
            self.step = int(ckpt["step"])
            fixed = ckpt["fixed_noise"].cpu() if "fixed_noise" in ckpt else self.fixed_noise
            assert fixed.ndim == 2 and fixed.shape[1] == self.cfg.model.latent_dim, tuple(fixed.shape)
            self.fixed_noise = fixed
            rng = ckpt["rng"]
            if "per_rank" in rng:
                rng = rng["per_rank"][self.rank] if self.rank < len(rng["per_rank"]) else rng["per_rank"][0]
            rng = {k: (v.cpu() if torch.is_tensor(v) else v) for k, v in rng.items()}
            restore_rng_state(rng, self.device)
        except (ValueError, LookupError, TypeError, AttributeError, RuntimeError, AssertionError) as e:
            first = str(e).splitlines()[0] if str(e) else ""
            raise CheckpointError(f"{name}: the saved training state is damaged or from another program "
                                  f"({type(e).__name__}: {first}).") from None
        try:
            self.sampler.load_state_dict({k: (v.cpu() if torch.is_tensor(v) else v)
                                          for k, v in ckpt["sampler"].items()})
        except (ValueError, KeyError, TypeError, AttributeError, RuntimeError) as e:
            # Images were added or removed since the checkpoint: keep training, in a fresh data order.
            self.notices.append(f"The data order restarts ({e}); the run is no longer bit-identical to an "
                                f"uninterrupted one.")
        self.load_extra_state(ckpt, name)

    def load_initial_generator(self, path: Path) -> None:
        """Start G (and the fixed noise, so the grid shows that generator's own faces) from a generator
        export; checked like any checkpoint, refused when its architecture differs from this run's."""
        ckpt = read_checkpoint(path, GENERATOR_KEYS, "DCGAN generator", map_location=self.device)
        model = checked_model_config(ckpt, path.name)
        if model != self.cfg.model:
            raise CheckpointError(f"{path.name} is a {model.arch} {model.size} px generator (z "
                                  f"{model.latent_dim}, width {model.g_width}); this run's model differs "
                                  f"({self.cfg.model}).")
        load_state_strict(self.G, ckpt["model"], path.name, "model")
        fixed = ckpt.get("fixed_noise")
        if torch.is_tensor(fixed) and fixed.ndim == 2 and fixed.shape[1] == model.latent_dim and len(fixed):
            self.fixed_noise = fixed[: self.cfg.n_fixed].float().cpu()

    def load_extra_state(self, ckpt: dict, name: str) -> None:
        """Restore what a subclass adds to :meth:`checkpoint_dict` (nothing here)."""

    # -- one step --------------------------------------------------------------------------------

    def _real_batch(self) -> torch.Tensor:
        idx = self.sampler.next_indices()
        if self.distributed:
            idx = idx[self.rank::self.world]
        x = self.data[idx].to(self.device, non_blocking=True).float().div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=self.memory_format)

    def _autocast(self):
        """bf16 autocast of the G and D passes when ``cfg.amp_bf16`` (losses and Adam stay fp32)."""
        if not self.cfg.amp_bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def train_step(self) -> dict[str, float]:
        """One discriminator and one generator update; returns this rank's losses and D outputs."""
        cfg = self.cfg
        real = self._real_batch()
        z = torch.randn(real.shape[0], cfg.model.latent_dim, device=self.device)
        with torch.set_grad_enabled(self.step >= cfg.d_warmup_steps), self._autocast():
            fake = self.g_train(z)
        fake = fake.float()
        aug = cfg.diffaugment

        self.opt_d.zero_grad(set_to_none=True)
        with self._autocast():
            out_real = self.d_train(diff_augment(real, aug) if aug else real).float()
        loss_real = F.binary_cross_entropy_with_logits(out_real, self.real_target)
        loss_real.backward()
        with self._autocast():
            out_fake = self.d_train(diff_augment(fake.detach(), aug) if aug else fake.detach()).float()
        loss_fake = F.binary_cross_entropy_with_logits(out_fake, self.fake_target)
        loss_fake.backward()
        self.opt_d.step()

        if self.step < cfg.d_warmup_steps:  # a fresh D learns alone first (see TrainConfig.d_warmup_steps)
            with torch.no_grad(), self._autocast():
                out_gen = self.d_train(fake).float()
            loss_g = F.binary_cross_entropy_with_logits(out_gen, self.gen_target)
            with torch.no_grad():
                vals = torch.stack([loss_real + loss_fake, loss_g, torch.sigmoid(out_real).mean(),
                                    torch.sigmoid(out_fake).mean(), torch.sigmoid(out_gen).mean()]).tolist()
            return dict(zip(("d_loss", "g_loss", "d_x", "d_gz", "d_gz_g"), vals))

        self.opt_g.zero_grad(set_to_none=True)
        # D's weight gradients are not needed for the G update; skipping them saves a third of the
        # backward work. DDP expects every registered parameter to get a gradient, so only single-process.
        freeze = not self.distributed
        if freeze:
            self.D.requires_grad_(False)
        with self._autocast():
            out_gen = self.d_train(diff_augment(fake, aug) if aug else fake).float()
        loss_g = F.binary_cross_entropy_with_logits(out_gen, self.gen_target)
        loss_g.backward()
        if freeze:
            self.D.requires_grad_(True)
        self.opt_g.step()

        with torch.no_grad():
            vals = torch.stack([loss_real + loss_fake, loss_g, torch.sigmoid(out_real).mean(),
                                torch.sigmoid(out_fake).mean(), torch.sigmoid(out_gen).mean()]).tolist()
        return dict(zip(("d_loss", "g_loss", "d_x", "d_gz", "d_gz_g"), vals))

    # -- control and files -----------------------------------------------------------------------

    def _stop_requested(self) -> bool:
        # Inside its job, ask the job's context (so the layer records the end as "cancelled").
        return self.job.cancelled() if self._in_job else cancel_requested(self.run_dir)

    def _read_control(self) -> str:
        if self._stop_requested():
            return "stop"
        path = self.run_dir / CONTROL_NAME
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return "run"
        if mtime != self._control_mtime:
            self._control_mtime = mtime
            data = read_json(path) or {}
            self._control = "pause" if data.get("command") == "pause" else "run"
        return self._control

    def _agree(self, nonfinite: bool) -> tuple[str, bool]:
        """Control command and NaN flag, agreed across ranks (one tiny all-reduce per step)."""
        command = self._read_control() if self.is_main else "run"
        if not self.distributed:
            return command, nonfinite
        flags = torch.tensor([_COMMAND_CODES[command], int(nonfinite)], dtype=torch.int64)
        if self.device.type == "cuda":
            flags = flags.to(self.device)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        code, bad = flags.tolist()
        return _COMMANDS[code], bool(bad)

    def images_per_second(self) -> float:
        w = self._ips_window
        if len(w) < 2 or w[-1][0] <= w[0][0]:
            return 0.0
        return (w[-1][1] - w[0][1]) * self.cfg.batch_size / (w[-1][0] - w[0][0])

    def write_status(self, state: str, message: str = "", force: bool = True) -> None:
        if not self.is_main:
            return
        now = time.time()
        if not force and now - self._last_status_write < 1.0:
            return
        self._last_status_write = now
        # The time left is the job layer's estimate (job.json), from the progress reported each step.
        write_json_atomic(self.run_dir / STATUS_NAME, {
            "state": state, "step": self.step, "steps": self.cfg.steps,
            "images_per_s": self.images_per_second(),
            "pid": os.getpid(), "world_size": self.world, "device": str(self.device),
            "message": message or " ".join(self.notices), "notices": self.notices,
            "time": now, "checkpoint_step": self._checkpoint_step()})

    def _checkpoint_step(self) -> int | None:
        return getattr(self, "_saved_step", None)

    def _save(self) -> None:
        self.save_checkpoint()
        self._saved_step = self.step

    def snapshot(self) -> np.ndarray:
        """Fixed-noise grid (uint8) at the current step, written to the run folder.

        Drawn with the grid's own batch-norm statistics (see ``sampling.generate``): eval-mode grids stay
        flat grey for the first few dozen steps, while the running statistics catch up.
        """
        grid = make_grid(list(to_uint8(generate(self.G, self.fixed_noise, batch_stats=True))))
        if self.is_main:
            data = png_bytes(grid)
            atomic_write_bytes(self.run_dir / SNAPSHOT_DIR / snapshot_name(self.step), data)
            atomic_write_bytes(self.run_dir / LATEST_GRID_NAME, data)
        return grid

    def report_progress(self) -> None:
        """Steps done and images/s to the job layer (a no-op outside a job; cheap: it writes <= 4/s)."""
        if self.is_main:
            ips = self.images_per_second()
            self.job.progress(self.step, self.cfg.steps, f"{ips:.0f} images/s" if ips else "",
                              unit="steps")

    def evaluate_swd(self) -> dict[str, float]:
        cfg = self.cfg
        if self.swd is None:
            n = min(cfg.swd_images, len(self.data))
            pick = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(cfg.seed + 7))[:n]
            self.swd = SWDEvaluator(self.data[pick], seed=cfg.seed + 11)
            self.swd_noise = latent_noise(n, cfg.model.latent_dim, cfg.seed + 13)
        return self.swd(generate(self.G, self.swd_noise))

    def _log(self, row: dict) -> None:
        if self.is_main:
            with open(self.run_dir / METRICS_NAME, "a") as f:
                f.write(json.dumps(row) + "\n")

    # -- main loop -------------------------------------------------------------------------------

    def run(self, until: int | None = None) -> str:
        """Train to ``until`` (default: cfg.steps); returns ``finished``, ``stopped`` or ``nan``."""
        cfg = self.cfg
        until = cfg.steps if until is None else min(until, cfg.steps)
        start_step = self.step
        if self.is_main and self.step == 0:
            self.snapshot()
            if cfg.swd_every:  # the quality chart starts with a point, not empty until swd_every steps
                self._log({"step": 0, "time": time.time(), **self.evaluate_swd()})
        self._ips_window = [(time.perf_counter(), self.step)]
        self.write_status("running")
        self.report_progress()
        paused_saved = False
        while self.step < until:
            command, _ = self._agree(False)
            if command == "stop":
                self._save()
                self.write_status("stopped", f"Stopped at step {self.step}; resume continues from here.")
                return "stopped"
            if command == "pause":
                if not paused_saved:
                    self._save()
                    paused_saved = True
                    self.write_status("paused", f"Paused at step {self.step}.")
                time.sleep(0.2)
                self._ips_window = [(time.perf_counter(), self.step)]
                continue
            paused_saved = False
            losses = self.train_step()
            finite = all(math.isfinite(v) for v in losses.values())
            _, bad = self._agree(not finite) if self.distributed else (None, not finite)
            if bad:
                last = self._checkpoint_step()
                msg = (f"Losses became NaN/inf at step {self.step + 1}; training stopped. The last good "
                       f"checkpoint (step {last if last is not None else 'none yet'}) is kept. Try lower "
                       f"learning rates or label smoothing.")
                self.write_status("nan", msg)
                return "nan"
            self.step += 1
            now = time.perf_counter()
            self._ips_window.append((now, self.step))
            if len(self._ips_window) > 50:
                self._ips_window.pop(0)
            row = None
            if self.step % cfg.log_every == 0 or self.step == until:
                row = {"step": self.step, **losses, "images_per_s": self.images_per_second(),
                       "time": time.time()}
            if self.is_main and cfg.swd_every and (self.step % cfg.swd_every == 0 or self.step == cfg.steps):
                row = row or {"step": self.step, **losses, "time": time.time()}
                row.update(self.evaluate_swd())
            if row is not None:
                self._log(row)
            if self.is_main and cfg.snapshot_due(self.step):
                self.snapshot()
            if self.step % cfg.checkpoint_every == 0:
                self._save()
            self.write_status("running", force=False)
            self.report_progress()
        self._save()
        done = self.step >= cfg.steps
        self.write_status("finished" if done else "stopped",
                          f"{'Finished' if done else 'Stopped'} at step {self.step} "
                          f"({self.step - start_step} steps this session).")
        return "finished" if done else "stopped"

    def close(self) -> None:
        """Release the run folder and restore the caller's thread setting."""
        torch.set_num_threads(self._threads_before)
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def refuse_previous_run(run_dir: str | os.PathLike) -> None:
    """Raise RunExistsError if ``run_dir`` holds an earlier run that a fresh start would delete."""
    found = previous_run_files(run_dir)
    if found:
        raise RunExistsError(f"Run folder {run_dir} already holds a run ({', '.join(found)}); a fresh start "
                             f"would delete it. Continue it with --resume, replace it with --overwrite, or "
                             f"choose another folder.")
