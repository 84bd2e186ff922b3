"""One device choice (core.device): the automatic order CUDA -> MPS -> CPU, the overrides (request, then
CUSTOM_CAST_DEVICE), one-line refusals, the CPU fallback when a device fails mid-way; and the StyleGAN2
``sample`` command built on it. This machine has no GPU: the CUDA/MPS branches are driven by faking
torch's availability probes; the real work runs on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import device as dv
from core import stylegan2 as sg
from core.cli import run_cli
from core.image.decode import read_rgb
from tests.conftest import shared_path

TINY = ("reference", "stylegan2_ada", "tiny32-network.pkl")


@pytest.fixture
def fake_gpus(monkeypatch):
    def set_(cuda: bool = False, mps: bool = False, count: int = 1):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count if cuda else 0)
        monkeypatch.setattr(dv, "_mps_available", lambda: mps)
    monkeypatch.delenv(dv.ENV_VAR, raising=False)
    return set_


def test_automatic_order_is_cuda_then_mps_then_cpu(fake_gpus):
    fake_gpus(cuda=True, mps=True)
    assert dv.choose_device() == dv.DeviceChoice("cuda", "automatic")
    fake_gpus(mps=True)
    assert dv.choose_device().device == "mps"
    fake_gpus()
    assert dv.choose_device(None) == dv.DeviceChoice("cpu", "automatic")
    assert dv.choose_device("auto").device == "cpu"


def test_request_beats_environment_beats_automatic(fake_gpus, monkeypatch):
    fake_gpus(cuda=True, count=2)
    monkeypatch.setenv(dv.ENV_VAR, "cpu")
    assert dv.choose_device() == dv.DeviceChoice("cpu", "environment")
    assert dv.choose_device("CUDA:1") == dv.DeviceChoice("cuda:1", "requested")
    monkeypatch.setenv(dv.ENV_VAR, "auto")
    assert dv.choose_device().device == "cuda"


@pytest.mark.parametrize("request_, message", [
    ("cuda", "no CUDA GPU is available"), ("mps", "MPS is not available"), ("tpu", "unknown device"),
    ("cpu:0", "unknown device"), ("cuda:x", "unknown device")])
def test_missing_or_unknown_devices_are_one_clear_line(fake_gpus, request_, message):
    fake_gpus()
    with pytest.raises(dv.DeviceError, match=message) as e:
        dv.choose_device(request_)
    assert "\n" not in str(e.value)


def test_gpu_index_beyond_the_machine_is_refused(fake_gpus, monkeypatch):
    fake_gpus(cuda=True, count=1)
    with pytest.raises(dv.DeviceError, match="no GPU 3"):
        dv.choose_device("cuda:3")
    monkeypatch.setenv(dv.ENV_VAR, "cuda")
    fake_gpus()
    monkeypatch.setenv(dv.ENV_VAR, "cuda")
    with pytest.raises(dv.DeviceError, match=dv.ENV_VAR):
        dv.choose_device()


def test_device_failure_falls_back_to_cpu_with_one_line():
    calls, lines = [], []

    def work(device: str) -> str:
        calls.append(device)
        if device == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return f"done on {device}"

    assert dv.run_with_cpu_fallback(work, "cuda", lines.append) == ("done on cpu", "cpu")
    assert calls == ["cuda", "cpu"] and len(lines) == 1
    assert "ran out of memory" in lines[0] and "continuing on the processor" in lines[0]
    # A bug is not a device failure: it is not hidden behind a silent retry.
    with pytest.raises(KeyError):
        dv.run_with_cpu_fallback(lambda d: {}["x"], "cuda", lines.append)
    assert dv.is_device_failure(RuntimeError("MPS backend out of memory"))
    assert not dv.is_device_failure(RuntimeError("shape mismatch"))


def test_precision_words():
    assert dv.precision_for("cuda", True) == "fp16 mixed"
    assert dv.precision_for("cuda", False) == dv.precision_for("cpu", True) == "fp32"
    assert dv.describe("cpu", "fast-fp32").startswith("Drawing on the processor")
    assert "half precision" in dv.describe("cuda", "fp16 mixed")
    G = sg.official_size_generator(256)
    assert sg.uses_half(G) and sg.render_precision(G) in ("fast-fp32", "fast-bf16")
    assert sg.generator_device(G) == "cpu"


# --- python -m core.stylegan2 sample ------------------------------------------------------------------

def test_sample_writes_one_png_per_seed_and_refuses_to_overwrite(tmp_path, capsys, one_torch_thread):
    net = shared_path(*TINY)
    out = tmp_path / "faces"
    argv = ["sample", "--network", str(net), "--seeds", "3-4,9", "--psi", "0.7", "--out", str(out),
            "--device", "cpu"]
    assert run_cli(sg.main, argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["seed0003.png", "seed0004.png", "seed0009.png"]
    G = sg.load_generator(net)
    want = sg.synthesize(G, sg.seeds_to_ws(G, [4], 0.7))[0]
    np.testing.assert_array_equal(read_rgb(out / "seed0004.png"), want)
    assert "Drawing on the processor" in capsys.readouterr().err
    before = (out / "seed0003.png").stat().st_mtime_ns
    assert run_cli(sg.main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and "--overwrite" in err and len(err.splitlines()) == 1
    assert (out / "seed0003.png").stat().st_mtime_ns == before
    assert run_cli(sg.main, argv + ["--overwrite"]) == 0


@pytest.mark.parametrize("extra, message", [
    (["--seeds", "9-3"], "runs backwards"), (["--seeds", "1", "--psi", "-1"], "--psi"),
    (["--seeds", "1", "--device", "cuda"], "no CUDA GPU"), (["--seeds", "1", "--device", "mps"], "MPS")])
def test_sample_bad_input_is_one_line(tmp_path, capsys, fake_gpus, extra, message):
    fake_gpus()
    code = run_cli(sg.main, ["sample", "--network", str(shared_path(*TINY)), "--out", str(tmp_path)] + extra)
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_network_too_large_for_memory_is_one_line(tmp_path, capsys, monkeypatch):
    from core.stylegan2 import loading

    monkeypatch.setattr(loading, "free_memory_bytes", lambda: 1 << 20)  # 1 MB free
    code = run_cli(sg.main, ["sample", "--network", str(shared_path(*TINY)), "--seeds", "1",
                             "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "of memory is free" in err and len(err.splitlines()) == 1


def test_synthesize_falls_back_to_cpu_when_the_gpu_fails_mid_render(monkeypatch, capsys, one_torch_thread):
    from core.stylegan2 import sampling

    G = sg.load_generator(shared_path(*TINY))
    ws = sg.seeds_to_ws(G, [2], 0.7)
    want = sg.synthesize(G, ws)
    real, calls = sampling._synthesis, []

    def flaky(*args):
        calls.append(1)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.50 GiB")
        return real(*args)

    monkeypatch.setattr(sampling, "_synthesis", flaky)
    monkeypatch.setattr(sampling, "generator_device", lambda G_: "cuda:0" if len(calls) < 2 else "cpu")
    got = sg.synthesize(G, ws)
    np.testing.assert_array_equal(got, want)  # the same picture, from the CPU
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "continuing on the processor" in err[0]
    assert "continuing on the processor" in G.__dict__["device_fallback"]  # the page shows it


def test_other_families_share_the_choice(fake_gpus, monkeypatch, tmp_path, capsys):
    from core import dcgan
    from core.show.cli import main as show_main

    fake_gpus()
    monkeypatch.setenv(dv.ENV_VAR, "cpu")
    assert dcgan.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(dv.DeviceError, match="no CUDA GPU"):
        dcgan.resolve_device("cuda")
    code = run_cli(show_main, ["prepare", str(tmp_path), "--device", "mps"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "MPS is not available" in err and len(err.splitlines()) == 1
