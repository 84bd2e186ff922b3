"""The main StyleGAN2 trainer (``python -m core.stylegan2.training`` without ``--teacher``) takes the studio's
one device choice: ``--device``, else $CUSTOM_CAST_DEVICE, else CUDA, MPS, CPU; a missing device is one
line; data-parallel runs stay on the CPU. Only the choice logic and the CPU path run here (no GPU on the
test machine; the GPUs are faked for the choice)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import device as dv
from core.checkpoint import safe_torch_load
from core.cli import UserError, run_cli
from core.stylegan2.training import train
from core.stylegan2.training.cli import main, training_device
from tests.test_stylegan2_train import tiny_config, tiny_images

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FLAGS = ["--res", "16", "--z-dim", "16", "--w-dim", "16", "--map-layers", "2", "--channel-base", "128",
         "--channel-max", "16", "--batch", "4", "--kimg", "0.008", "--snap-kimg", "0.008", "--seed", "3"]


@pytest.fixture
def fake_gpus(monkeypatch):
    def set_(cuda: bool = False, mps: bool = False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 1 if cuda else 0)
        monkeypatch.setattr(dv, "_mps_available", lambda: mps)
    monkeypatch.delenv(dv.ENV_VAR, raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    return set_


def test_the_trainer_follows_the_one_device_choice(fake_gpus, monkeypatch):
    fake_gpus(cuda=True, mps=True)
    assert training_device(None) == "cuda" and training_device("auto") == "cuda"
    assert training_device("mps") == "mps" and training_device("cpu") == "cpu"
    monkeypatch.setenv(dv.ENV_VAR, "cpu")
    assert training_device(None) == "cpu" and training_device("cuda") == "cuda"  # the flag wins
    monkeypatch.delenv(dv.ENV_VAR)
    fake_gpus(mps=True)
    assert training_device(None) == "mps"
    fake_gpus()
    assert training_device(None) == "cpu"
    with pytest.raises(dv.DeviceError, match="no CUDA GPU is available"):
        training_device("cuda")
    # torchrun (gloo): the CPU, whatever the machine has; another device asked for is refused.
    fake_gpus(cuda=True)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert training_device(None) == "cpu" and training_device("cpu") == "cpu"
    with pytest.raises(UserError, match="runs on the CPU"):
        training_device("cuda")


def test_a_missing_device_is_one_line_before_anything_is_written(fake_gpus, tmp_path, capsys):
    fake_gpus()
    np.savez(tmp_path / "d.npz", images=tiny_images())
    run = tmp_path / "run"
    code = run_cli(main, ["--data", str(tmp_path / "d.npz"), "--out", str(run), *FLAGS, "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no CUDA GPU is available" in err
    assert not run.exists()


def test_the_cpu_path_trains_says_where_and_equals_the_automatic_run(fake_gpus, tmp_path, capsys):
    """``--device cpu`` and automatic on a machine without a GPU train the same numbers (the CPU losses
    are pinned in tests/test_stylegan2_train.py), and the log's first line says where it ran."""
    fake_gpus()
    np.savez(tmp_path / "d.npz", images=tiny_images())
    runs = {}
    for name, extra in (("cpu", ["--device", "cpu"]), ("auto", [])):
        assert main(["--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / name), *FLAGS, *extra]) == 0
        assert capsys.readouterr().out.splitlines()[0] == "training on cpu"
        runs[name] = safe_torch_load(tmp_path / name / "checkpoint.pt")
    assert runs["cpu"]["step"] == runs["auto"]["step"] == 2
    for k, v in runs["cpu"]["G_ema"].items():
        torch.testing.assert_close(runs["auto"]["G_ema"][k], v, atol=0, rtol=0, msg=k)
    # The library call takes the device too (a resolved choice) and records it.
    trainer = train(tiny_config(kimg=0.004), tiny_images(), tmp_path / "lib", log=lambda *_: None,
                    device="cpu")
    assert trainer.device == torch.device("cpu") and trainer.step == 1
