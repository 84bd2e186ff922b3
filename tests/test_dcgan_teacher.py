"""DCGAN teacher runs (core.dcgan.teacher_trainer): phases, exact resume, config rules, the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from core import dcgan
from core.checkpoint import safe_torch_load
from core.dcgan.teacher_trainer import STREAM_KEY, TeacherTrainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class TinyTeacher(nn.Module):
    """A 64 px DCGAN of width 4 standing in for gan-face-generate: [N, 100, 1, 1] -> [N, 3, 64, 64]."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(123)
        self.net = dcgan.build_generator(dcgan.ModelConfig(arch="tutorial", size=64, latent_dim=100,
                                                           g_width=4)).eval()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.flatten(1))


def brightness_score(faces: np.ndarray) -> np.ndarray:
    """A stand-in face scorer: mean brightness in [0, 1]."""
    return faces.reshape(len(faces), -1).mean(1) / 255.0


def teacher_config(**over) -> dcgan.TrainConfig:
    model = dcgan.ModelConfig(arch="tutorial", size=64, latent_dim=100, g_width=4, d_width=4)
    base = dict(model=model, steps=6, batch_size=4, seed=5, log_every=1, checkpoint_every=100, threads=1,
                snapshot_every=3, swd_every=3, swd_images=8, n_fixed=4, teacher="gan-face-generate",
                rec_steps=3, rec_weight=1.0, real_min_score=0.3)
    base.update(over)
    return dcgan.TrainConfig(**base)


def reference_set(n: int = 12) -> dcgan.ImageSet:
    g = torch.Generator().manual_seed(0)
    return dcgan.ImageSet(images=torch.randint(0, 256, (n, 3, 64, 64), generator=g, dtype=torch.uint8),
                          source="reference")


def make(cfg, run_dir: Path, **kw) -> TeacherTrainer:
    return TeacherTrainer(cfg, reference_set(), run_dir, teacher=TinyTeacher(), scorer=brightness_score, **kw)


def test_warm_start_regresses_then_gan_phase_and_exact_resume(tmp_path):
    cfg = teacher_config()
    full = make(cfg, tmp_path / "full")
    assert full.run() == "finished"
    full.close()
    logged = dcgan.read_metrics(tmp_path / "full")
    assert logged[0]["step"] == 0 and "swd" in logged[0]  # the SWD curve starts at step 0
    rows = [r for r in logged if "d_loss" in r]  # the training steps
    assert all({"rec", "d_loss"} <= set(r) and "g_loss" not in r for r in rows[:3])  # A: regression, D learns
    assert all({"d_loss", "g_loss", "rec"} <= set(r) for r in rows[3:])  # phase B: GAN + regression
    assert rows[0]["rec"] > 0 and all(np.isfinite(r["rec"]) for r in rows)
    assert full.stream.scored > 0 and 0 < full.stream.kept <= full.stream.scored  # D's reals were filtered

    part = make(cfg, tmp_path / "part")
    assert part.run(until=4) == "stopped"
    part.close()
    torch.manual_seed(999)  # disturb the global RNG: the stream has its own, restored from the checkpoint
    resumed = make(cfg, tmp_path / "part", resume=True)
    assert resumed.step == 4 and resumed.run() == "finished"
    resumed.close()
    strip = [{k: v for k, v in r.items() if k not in ("time", "images_per_s")} for r in logged]
    again = [{k: v for k, v in r.items() if k not in ("time", "images_per_s")}
             for r in dcgan.read_metrics(tmp_path / "part")]
    assert strip == again  # bitwise equal losses and SWD
    for k, v in full.G.state_dict().items():
        torch.testing.assert_close(v, resumed.G.state_dict()[k], rtol=0, atol=0)
    ckpt = safe_torch_load(tmp_path / "part" / dcgan.CHECKPOINT_NAME)
    assert STREAM_KEY in ckpt and ckpt["config"]["teacher"] == "gan-face-generate"


def test_regression_pulls_the_student_towards_the_teacher(tmp_path):
    cfg = teacher_config(steps=40, rec_steps=40, snapshot_every=0, swd_every=0, batch_size=8)
    tr = make(cfg, tmp_path / "run")
    tr.run()
    tr.close()
    rec = [r["rec"] for r in dcgan.read_metrics(tmp_path / "run")]
    assert np.mean(rec[-5:]) < 0.7 * np.mean(rec[:5])


def test_teacher_config_rules_and_old_configs():
    with pytest.raises(dcgan.ConfigError, match="latent_dim 100 and size 64"):
        teacher_config(model=dcgan.ModelConfig(arch="tutorial", size=32, latent_dim=100)).validate()
    with pytest.raises(dcgan.ConfigError, match="teacher must be one of"):
        teacher_config(teacher="someone-else").validate()
    with pytest.raises(dcgan.ConfigError, match="real_min_score"):
        teacher_config(real_min_score=1.5).validate()
    with pytest.raises(ValueError, match="needs cfg.teacher"):
        TeacherTrainer(teacher_config(teacher=""), reference_set(), "unused", teacher=TinyTeacher())
    saved = {k: v for k, v in teacher_config(teacher="").__dict__.items()}
    saved["model"] = saved["model"].__dict__
    for new_field in ("teacher", "rec_steps", "rec_weight", "real_min_score", "amp_bf16"):
        saved.pop(new_field)  # a run saved before teacher runs existed
    cfg = dcgan.TrainConfig.from_saved(saved, "old.pt")
    assert cfg.teacher == "" and cfg.rec_steps == 0 and cfg.amp_bf16 is False


def test_cli_teacher_run_without_the_teacher_installed_is_one_line(tmp_path, monkeypatch):
    import core.teacher

    monkeypatch.setattr(core.teacher.importlib.util, "find_spec", lambda name: None)
    npz = tmp_path / "ref.npz"
    np.savez(npz, images=np.zeros((8, 64, 64, 3), np.uint8))
    from core.dcgan.cli import main

    with pytest.raises(Exception, match="not installed"):
        main(["train", "--teacher", "gan-face-generate", "--data", str(npz), "--out", str(tmp_path / "r"),
              "--arch", "tutorial", "--size", "64", "--latent-dim", "100", "--steps", "1"])


def test_resume_may_switch_bf16_but_not_the_networks(tmp_path, capsys):
    from core.dcgan.cli import main

    npz = tmp_path / "data.npz"
    np.savez(npz, images=np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    common = ["train", "--data", str(npz), "--out", str(tmp_path / "run"), "--arch", "tutorial",
              "--size", "32", "--latent-dim", "8", "--g-width", "4", "--d-width", "4", "--batch-size", "4",
              "--threads", "1", "--swd-every", "0"]
    assert main(common + ["--steps", "2"]) == 0
    assert main(common + ["--resume", "--steps", "4", "--bf16", "1", "--g-width", "8"]) == 0
    out = capsys.readouterr().out
    assert "ignoring g_width=8 (the run uses 4)" in out
    saved = safe_torch_load(tmp_path / "run" / dcgan.CHECKPOINT_NAME)
    assert saved["step"] == 4 and saved["config"]["amp_bf16"] is True
    assert saved["config"]["model"]["g_width"] == 4
