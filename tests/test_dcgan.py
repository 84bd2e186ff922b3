"""DCGAN core: tiny configs on CPU, seeded, asserting shapes and values."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import core.checkpoint as checkpoint_mod
from core import dcgan, jobs
from core.checkpoint import CheckpointError, safe_torch_load

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_config(arch: str = "study", size: int = 32, **over) -> dcgan.TrainConfig:
    model = dcgan.ModelConfig(arch=arch, size=size, latent_dim=8, g_width=4, d_width=4)
    # One thread: tiny convs are dominated by thread hand-offs, worse still on a busy CI machine.
    base = dict(model=model, steps=6, batch_size=4, seed=3, log_every=1, checkpoint_every=100, threads=1,
                snapshot_every=3, swd_every=3, swd_images=8, n_fixed=4,
                diffaugment="color,translation,cutout")
    base.update(over)
    return dcgan.TrainConfig(**base)


def tiny_data(n: int = 12, size: int = 32, seed: int = 0) -> dcgan.ImageSet:
    g = torch.Generator().manual_seed(seed)
    return dcgan.ImageSet(images=torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8),
                          source="tiny")


# -- models ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch,size", [("study", 32), ("study", 64), ("study", 96), ("study", 128),
                                       ("tutorial", 32), ("tutorial", 64)])
def test_model_shapes(arch, size):
    cfg = dcgan.ModelConfig(arch=arch, size=size, latent_dim=8, g_width=4, d_width=4)
    g, d = dcgan.build_models(cfg)
    with torch.no_grad():
        x = g(torch.randn(2, 8))
    assert x.shape == (2, 3, size, size)
    assert float(x.abs().max()) <= 1.0
    assert d(x).shape == (2,)


def test_bad_model_config_message():
    with pytest.raises(ValueError, match="supports sizes"):
        dcgan.ModelConfig(arch="tutorial", size=96).validate()
    with pytest.raises(ValueError, match="Unknown architecture"):
        dcgan.ModelConfig(arch="vae").validate()


def test_seeded_sample_values():
    torch.manual_seed(0)
    g = dcgan.build_generator(dcgan.ModelConfig(arch="tutorial", size=32, latent_dim=8, g_width=4))
    a = dcgan.sample(g, 3, seed=7)
    b = dcgan.sample(g, 3, seed=7)
    c = dcgan.sample(g, 3, seed=8)
    assert a.shape == (3, 32, 32, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert g.training  # sampling restores the module's mode
    # Pinned values: init N(0, 0.02) from seed 0 makes a near-flat image around mid-grey.
    z = dcgan.latent_noise(2, 8, 7)
    np.testing.assert_allclose(z[0, :3].numpy(), [-0.8201, 0.3956, 0.8989], atol=1e-4)
    out = dcgan.generate(g, z)
    assert out.shape == (2, 3, 32, 32)
    # Eval-mode BN with fresh running stats and N(0, 0.02) weights: outputs of order 1e-5.
    np.testing.assert_allclose(out[1, :, 5, 7].numpy(), [6.2930e-06, -1.5289e-05, -1.6550e-05], rtol=1e-3)
    walk = dcgan.latent_walk(g, [1, 2, 3], frames_per_leg=2)
    assert walk.shape == (6, 32, 32, 3)
    np.testing.assert_array_equal(walk[0], dcgan.sample(g, 1, 1)[0])


def test_snapshot_grids_use_the_batch_statistics_without_side_effects():
    torch.manual_seed(0)
    g = dcgan.build_generator(dcgan.ModelConfig(arch="tutorial", size=32, latent_dim=8, g_width=4))
    z = dcgan.latent_noise(4, 8, 7)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    # Fresh running statistics make eval-mode grids flat grey; the batch's own statistics do not.
    assert float(dcgan.generate(g, z).std()) < 1e-4
    grid = dcgan.generate(g, z, batch_stats=True)
    assert float(grid.std()) == pytest.approx(0.05350, abs=1e-4)
    np.testing.assert_allclose(grid[1, :, 5, 7].numpy(), [0.017558, -0.039377, -0.047109], atol=1e-5)
    assert g.training  # mode restored
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())  # running stats untouched
    g.eval()
    torch.testing.assert_close(dcgan.generate(g, z, batch_stats=True), grid, rtol=0, atol=0)
    assert not g.training
    study = dcgan.build_generator(dcgan.ModelConfig(arch="study", size=32, latent_dim=8, g_width=4))
    assert dcgan.generate(study, z[:1], batch_stats=True).shape == (1, 3, 32, 32)  # one sample: eval mode


def test_snapshot_schedule_is_dense_early():
    due = lambda every, steps: [s for s in range(1, steps + 1)
                                if dcgan.TrainConfig(steps=steps, snapshot_every=every).snapshot_due(s)]
    assert due(200, 1000) == [1, 10, 25, 50, 200, 400, 600, 800, 1000]
    assert due(50, 200) == [1, 10, 50, 100, 150, 200]
    assert due(20, 70) == [1, 20, 40, 60, 70]
    assert due(3, 6) == [3, 6]  # intervals this short need no early frames
    assert due(0, 100) == []


def test_import_is_light():
    code = ("import sys, core.dcgan as d; from core.dcgan import snapshot_paths, latest_snapshot, RunLock; "
            "print('torch' in sys.modules, 'Trainer' in dir(d), sorted(set(d.__all__) - set(dir(d))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.split() == ["False", "True", "[]"], out.stderr
    assert dcgan.Trainer is dcgan.trainer.Trainer and "sample" in dcgan.__all__
    with pytest.raises(AttributeError):
        dcgan.no_such_name  # noqa: B018


def test_diffaugment_shapes_and_determinism():
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    torch.manual_seed(1)
    a = dcgan.diff_augment(x, "color,translation,cutout")
    torch.manual_seed(1)
    b = dcgan.diff_augment(x, "color,translation,cutout")
    assert a.shape == x.shape
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    cut = dcgan.diff_augment(torch.ones(2, 3, 16, 16), "cutout")
    assert float((cut == 0).float().mean()) > 0.05  # a square is blanked per image


def test_swd_properties():
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (16, 3, 32, 32), generator=g, dtype=torch.uint8)
    ev = dcgan.SWDEvaluator(real, seed=1, patches_per_image=16)
    same = ev(real.float() / 127.5 - 1)
    assert same["swd"] == pytest.approx(0.0, abs=1e-6)
    assert len(same["swd_levels"]) == 2  # 32 and 16 px levels
    near = ev((real.float() / 127.5 - 1) + 0.05 * torch.randn(16, 3, 32, 32, generator=g))
    far = ev(torch.zeros(16, 3, 32, 32).uniform_(-0.1, 0.1))
    assert 0 < near["swd"] < far["swd"]


# -- data ------------------------------------------------------------------------------------------


def test_loader_mixed_sizes_and_modes(tmp_path):
    Image.new("L", (50, 40), 128).save(tmp_path / "gray.png")
    Image.new("RGBA", (80, 80), (255, 0, 0, 0)).save(tmp_path / "transparent.png")
    Image.new("P", (20, 30)).save(tmp_path / "palette.gif")
    Image.new("CMYK", (64, 64), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (33, 33), (0, 0, 255)).save(tmp_path / "sub" / "blue.jpeg")
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    np.savez(tmp_path / "export.npz", images=np.full((2, 16, 16, 3), 7, np.uint8))
    data = dcgan.load_dataset(tmp_path, 32)
    assert data.images.shape == (7, 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.skipped == ["broken.jpg"]
    one = lambda name: dcgan.load_dataset(tmp_path / name, 32).images
    assert torch.all(one("transparent.png") == 255)  # transparency composited over white
    assert torch.all(one("gray.png") == 128)
    assert torch.all(one("export.npz") == 7) and one("export.npz").shape == (2, 3, 32, 32)
    blue = one("sub/blue.jpeg")[0, :, 16, 16].tolist()
    assert blue[2] > 240 and blue[0] < 15


def test_dataset_empty_and_too_small(tmp_path):
    with pytest.raises(dcgan.DatasetError, match="No images found"):
        dcgan.load_dataset(tmp_path, 32)
    with pytest.raises(dcgan.DatasetError, match="not found"):
        dcgan.load_dataset(tmp_path / "missing", 32)
    Image.new("RGB", (8, 8)).save(tmp_path / "one.png")
    with pytest.raises(dcgan.DatasetError, match="only 1 usable"):
        dcgan.load_dataset(tmp_path, 32, min_images=4)
    with pytest.raises(dcgan.DatasetError, match="at least 4"):
        dcgan.Trainer(tiny_config(), dcgan.load_dataset(tmp_path, 32), tmp_path / "run")
    np.savez(tmp_path / "bad.npz", pixels=np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(dcgan.DatasetError, match="no 'images'"):
        dcgan.load_npz_images(tmp_path / "bad.npz", 32)


# -- training --------------------------------------------------------------------------------------


def _losses(run_dir: Path) -> list[tuple]:
    return [(r["step"], r["d_loss"], r["g_loss"], r["d_x"], r["d_gz"]) for r in dcgan.read_metrics(run_dir)
            if "d_loss" in r]  # step 0 has only its SWD


@pytest.mark.parametrize("arch", ["study", "tutorial"])
def test_exact_resume(tmp_path, arch):
    cfg = tiny_config(arch)
    data = tiny_data()
    full = dcgan.Trainer(cfg, data, tmp_path / "full")
    assert full.run() == "finished"
    full.close()

    part = dcgan.Trainer(cfg, data, tmp_path / "part")
    assert part.run(until=4) == "stopped"  # a stop writes a checkpoint
    part.close()
    torch.manual_seed(999)  # disturb every RNG the resumed run must restore
    np.random.seed(999)
    resumed = dcgan.Trainer(cfg, data, tmp_path / "part", resume=True)
    assert resumed.step == 4
    assert resumed.run() == "finished"
    resumed.close()

    a, b = _losses(tmp_path / "full"), _losses(tmp_path / "part")
    assert [r[0] for r in a] == list(range(1, 7)) and a == b  # bitwise equal losses
    for k, v in full.G.state_dict().items():
        torch.testing.assert_close(v, resumed.G.state_dict()[k], rtol=0, atol=0)
    ckpt = safe_torch_load(tmp_path / "part" / dcgan.CHECKPOINT_NAME)
    assert ckpt["step"] == 6 and ckpt["version"] == dcgan.CHECKPOINT_VERSION
    assert {"model", "discriminator", "opt_g", "opt_d", "rng", "sampler", "fixed_noise"} <= set(ckpt)
    assert all(math.isfinite(r[1]) for r in a) and 0 < a[0][3] < 1
    rows = dcgan.read_metrics(tmp_path / "part")
    assert [r["step"] for r in rows if "swd" in r] == [0, 3, 6]  # step 0: the chart never starts empty
    assert [p.name for p in dcgan.snapshot_paths(tmp_path / "part")] == [
        "step_0000000.png", "step_0000003.png", "step_0000006.png"]
    grid = np.asarray(Image.open(tmp_path / "part" / dcgan.LATEST_GRID_NAME))
    assert grid.shape == (2 + 2 * 34, 2 + 2 * 34, 3)  # 4 fixed samples of 32 px, 2 px padding


def test_uniform_mask_dropout_is_dropout(tmp_path):
    from core.dcgan.trainer import UniformMaskDropout

    drop = UniformMaskDropout(0.3).train()
    torch.manual_seed(0)
    y = drop(torch.ones(200_000))
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005  # keep probability 1 - p
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.7))  # inverted-dropout scaling
    assert torch.equal(drop.eval()(torch.ones(5)), torch.ones(5))
    assert torch.equal(UniformMaskDropout(1.0).train()(torch.ones(3)), torch.zeros(3))
    # The study D trains with it; its parameters and checkpoint keys are the textbook model's.
    trainer = dcgan.Trainer(tiny_config("study"), tiny_data(), tmp_path / "run")
    drops = [m for m in trainer.D.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops and all(type(m) is UniformMaskDropout for m in drops)
    textbook_d = dcgan.build_models(tiny_config("study").model)[1]
    assert trainer.D.state_dict().keys() == textbook_d.state_dict().keys()
    trainer.close()


def test_atomic_checkpoint_survives_crash_before_rename(tmp_path, monkeypatch):
    trainer = dcgan.Trainer(tiny_config(steps=3), tiny_data(), tmp_path)
    trainer.run(until=2)
    path = tmp_path / dcgan.CHECKPOINT_NAME
    assert safe_torch_load(path)["step"] == 2
    trainer.train_step()
    trainer.step += 1

    def crash(*_):
        raise OSError("simulated power cut between write and rename")

    monkeypatch.setattr(checkpoint_mod.os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        trainer.save_checkpoint()
    monkeypatch.undo()
    ckpt = safe_torch_load(path)
    assert ckpt["step"] == 2  # the old file is intact and loadable
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    g, loaded = dcgan.load_generator(path)
    assert loaded["step"] == 2 and not g.training
    trainer.close()


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path):
    trainer = dcgan.Trainer(tiny_config(checkpoint_every=2, steps=10), tiny_data(), tmp_path)
    assert trainer.run(until=2) == "stopped"
    with torch.no_grad():
        next(trainer.G.parameters()).fill_(float("nan"))
    assert trainer.run() == "nan"
    trainer.close()
    status = json.loads((tmp_path / dcgan.STATUS_NAME).read_text())
    assert status["state"] == "nan" and "step 2" in status["message"]
    ckpt = safe_torch_load(tmp_path / dcgan.CHECKPOINT_NAME)
    assert ckpt["step"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_run_folder_lock(tmp_path):
    first = dcgan.Trainer(tiny_config(), tiny_data(), tmp_path)
    assert dcgan.run_is_busy(tmp_path)
    with pytest.raises(dcgan.RunBusyError, match="busy"):
        dcgan.Trainer(tiny_config(), tiny_data(), tmp_path)
    first.close()
    assert not dcgan.run_is_busy(tmp_path)


def test_resume_refuses_other_architecture(tmp_path):
    t = dcgan.Trainer(tiny_config(steps=1), tiny_data(), tmp_path)
    t.run()
    t.close()
    with pytest.raises(CheckpointError, match="different model config"):
        dcgan.Trainer(tiny_config("tutorial"), tiny_data(), tmp_path, resume=True)


def test_stop_via_the_job_layers_cancel(tmp_path):
    # A stale stop from an earlier run is dropped when a run starts outside a job; one sent since stops it.
    jobs.request_cancel(tmp_path)
    t = dcgan.Trainer(tiny_config(steps=50, swd_every=0, snapshot_every=0), tiny_data(), tmp_path)
    assert not jobs.cancel_requested(tmp_path)
    dcgan.stop_training(tmp_path)
    assert t.run() == "stopped" and t.step == 0
    assert json.loads((tmp_path / dcgan.STATUS_NAME).read_text())["state"] == "stopped"
    t.close()
    with pytest.raises(ValueError, match="control command"):
        dcgan.set_control(tmp_path, "stop")  # stopping is the layer's cancel, pausing the control file


def test_timelapse_of_a_run(tmp_path):
    run = tmp_path / "run"
    trainer = dcgan.Trainer(tiny_config("tutorial", steps=4, snapshot_every=1, swd_every=0), tiny_data(), run)
    trainer.run()
    trainer.close()
    step, path = dcgan.latest_snapshot(run)
    assert step == 4 and path.name == "step_0000004.png" and dcgan.snapshot_step(path) == 4
    out = tmp_path / "tl.mp4"
    assert dcgan.main(["timelapse", "--run", str(run), "--out", str(out), "--fps", "4", "--scale", "2"]) == 0
    info = dcgan.read_timelapse_info(out)
    assert (info.frames, info.first_step, info.last_step, info.minutes) == (5, 0, 4, None)
    assert info.config["steps"] == 4
    from core.video import count_frames, probe_video

    assert count_frames(out) == 5
    assert probe_video(out).size == (140, 140 + 22)  # 4 samples of 32 px, 2x, over the label strip
    frames, steps, minutes = dcgan.timelapse_frames(run, max_frames=3, minutes=True)
    assert steps == [0, 2, 4] and frames[0].shape == (70 + 22, 70, 3) and minutes < 5
    (run / "snapshots" / "step_0000001.png").rename(tmp_path / "moved.png")
    for snap in dcgan.snapshot_paths(run)[1:]:
        snap.unlink()
    assert dcgan.main(["timelapse", "--run", str(run), "--out", str(out)]) == 2  # one snapshot: one line


def test_cli_train_sample_export(tmp_path, monkeypatch):
    data_dir = tmp_path / "imgs"
    data_dir.mkdir()
    for i in range(6):
        Image.new("RGB", (40 + i, 40), (i * 40, 100, 200)).save(data_dir / f"{i}.png")
    run = tmp_path / "run"
    args = ["train", "--data", str(data_dir), "--arch", "tutorial", "--size", "32", "--steps", "2", "--out",
            str(run), "--batch-size", "4", "--g-width", "4", "--d-width", "4", "--latent-dim", "8",
            "--swd-every", "0", "--threads", "1"]
    assert dcgan.main(args) == 0
    assert dcgan.main([*args[:8], "3", *args[9:], "--resume"]) == 0
    assert safe_torch_load(run / dcgan.CHECKPOINT_NAME)["step"] == 3
    assert dcgan.main(["sample", "--checkpoint", str(run / dcgan.CHECKPOINT_NAME), "--n", "4",
                       "--out", str(tmp_path / "grid.png")]) == 0
    # Exported labelled and signed (core.provenance): a small grid is enlarged so the label reads.
    from core import provenance as pv

    assert Image.open(tmp_path / "grid.png").size == (256, 256)
    assert pv.verify(tmp_path / "grid.png", check_watermark=False).generation["generator"] == "DCGAN sampler"
    monkeypatch.setenv("CUSTOM_CAST_LABEL", "off")
    assert dcgan.main(["sample", "--checkpoint", str(run / dcgan.CHECKPOINT_NAME), "--n", "4",
                       "--out", str(tmp_path / "raw.png")]) == 0
    assert Image.open(tmp_path / "raw.png").size == (2 + 2 * 34, 2 + 2 * 34)
    assert dcgan.main(["export", "--checkpoint", str(run / dcgan.CHECKPOINT_NAME),
                       "--out", str(tmp_path / "g.pt")]) == 0
    slim = safe_torch_load(tmp_path / "g.pt")
    assert set(slim) == {"model", "config", "step", "fixed_noise", "version"}
    assert dcgan.main(["train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r2")]) == 2
    assert "not found" in dcgan.run_state(tmp_path / "r2")["message"]
    assert dcgan.main(["sample", "--checkpoint", str(tmp_path / "nope.pt"), "--out", "x.png"]) == 2


def test_background_job_stop_and_resume(tmp_path):
    data = tmp_path / "faces.npz"
    rng = np.random.default_rng(0)
    np.savez(data, images=rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    run = tmp_path / "run"
    cfg = tiny_config(steps=100000, swd_every=0, snapshot_every=0, checkpoint_every=1000, threads=1)
    pid = dcgan.start_training(data, run, cfg)
    deadline = time.time() + 60
    while time.time() < deadline and (dcgan.run_state(run).get("step") or 0) < 2:
        time.sleep(0.2)
    state = dcgan.run_state(run)
    assert state["state"] == "running" and state["alive"], (state, jobs.log_tail(run))
    job = jobs.read_job(run)
    assert job.kind == dcgan.JOB_KIND and job.pid == pid and job.state == jobs.RUNNING
    assert job.progress.unit == "steps" and job.progress.total == 100000 and job.progress.done >= 1
    while time.time() < deadline and dcgan.run_state(run)["eta_s"] is None:
        time.sleep(0.2)  # the layer estimates after ~1 s of steps
    assert dcgan.run_state(run)["eta_s"] > 0
    with pytest.raises(dcgan.RunBusyError):
        dcgan.start_training(data, run, cfg)
    dcgan.set_control(run, "pause")
    while time.time() < deadline and dcgan.run_state(run)["state"] != "paused":
        time.sleep(0.1)
    paused_at = dcgan.run_state(run)["step"]
    time.sleep(0.5)
    assert dcgan.run_state(run)["step"] == paused_at
    dcgan.stop_training(run)
    assert jobs.wait(run, 30)
    state = dcgan.run_state(run)
    assert state["state"] == "stopped" and state["has_checkpoint"] and not state["alive"]
    assert not jobs.pid_alive(pid)
    assert jobs.read_job(run).state == jobs.CANCELLED  # the layer saw the trainer obey its cancel
    assert safe_torch_load(run / dcgan.CHECKPOINT_NAME)["step"] == paused_at
    assert dcgan.training_data(run) == str(data)
    # Continuing is the same CLI with --resume; a process killed without a word reads as crashed.
    pid = dcgan.start_training(data, run, cfg, resume=True)
    assert dcgan.run_state(run)["state"] in ("starting", "running")
    while time.time() < deadline + 30 and dcgan.run_state(run)["state"] != "running":
        time.sleep(0.2)
    os.kill(pid, 9)
    assert jobs.wait(run, 30)
    state = dcgan.run_state(run)
    assert state["state"] == "crashed" and not state["alive"] and state["job"].interrupted, state


# -- DDP on gloo -----------------------------------------------------------------------------------

_DDP_WORKER = r"""
import sys, torch, torch.distributed as dist
sys.path.insert(0, sys.argv[4])
from core import dcgan
rank, world, init = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
torch.set_num_threads(1)
cfg = dcgan.TrainConfig(model=dcgan.ModelConfig(arch="tutorial", size=32, latent_dim=8, g_width=4, d_width=4),
                        steps=3, batch_size=4, seed=3, log_every=1, swd_every=0, snapshot_every=0, threads=1)
data = dcgan.ImageSet(torch.randint(0, 256, (12, 3, 32, 32), generator=torch.Generator().manual_seed(0),
                                    dtype=torch.uint8), "tiny")
t = dcgan.Trainer(cfg, data, sys.argv[5])
assert t.world == 2 and t.run() == "finished"
digest = torch.cat([p.detach().flatten() for p in t.G.parameters()])
out = [torch.zeros_like(digest) for _ in range(world)]
dist.all_gather(out, digest)
assert torch.equal(out[0], out[1]), "ranks diverged"
print("ok", rank, float(digest.sum()), flush=True)
t.close()
dist.barrier()  # neither rank tears gloo down while the other still talks to it (else: "terminate called")
dist.destroy_process_group()
# gloo's transport threads can still abort the interpreter's own shutdown ("terminate called without an
# active exception", seen once in CI-like runs); the work is checked above, so leave without it.
import os
os._exit(0)
"""


def test_ddp_two_cpu_processes_gloo(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(_DDP_WORKER)
    init = f"file://{tempfile.mktemp(dir=tmp_path)}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(script), "RANK", "2", init, str(ROOT), str(tmp_path / "run")]
    procs = [subprocess.Popen([c if c != "RANK" else str(r) for c in cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env)
             for r in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert all(o.strip().splitlines()[-1].startswith("ok") for o in outs)
    ckpt = safe_torch_load(tmp_path / "run" / dcgan.CHECKPOINT_NAME)
    assert ckpt["step"] == 3 and ckpt["world_size"] == 2 and len(ckpt["rng"]["per_rank"]) == 2
    assert len(dcgan.read_metrics(tmp_path / "run")) == 3  # only rank 0 writes files


def test_a_run_can_start_from_a_trained_generator_and_warm_up_its_discriminator(tmp_path):
    """Issue 22: the live preset continues the bundled generator, so faces show at step 0; its fresh
    discriminator learns alone for d_warmup_steps, during which G does not move."""
    source = dcgan.Trainer(tiny_config("tutorial", steps=2), tiny_data(), tmp_path / "src")
    source.run()
    source.close()
    dcgan.export_generator(tmp_path / "src" / dcgan.CHECKPOINT_NAME, tmp_path / "g.pt")
    cfg = tiny_config("tutorial", steps=3, d_warmup_steps=2, init_generator=str(tmp_path / "g.pt"),
                      snapshot_every=1)
    t = dcgan.Trainer(cfg, tiny_data(), tmp_path / "run")
    start = {k: v.clone() for k, v in t.G.state_dict().items()}
    for k, v in source.G.state_dict().items():
        torch.testing.assert_close(start[k], v, rtol=0, atol=0)
    torch.testing.assert_close(t.fixed_noise, source.fixed_noise[: cfg.n_fixed])
    t.run(until=2)
    for k, v in t.G.named_parameters():  # D alone learned in the warm-up (BatchNorm statistics may move)
        torch.testing.assert_close(v.detach(), start[k], rtol=0, atol=0)
    t.run()
    assert any(not torch.equal(v.detach(), start[k]) for k, v in t.G.named_parameters())
    t.close()
    bad = tiny_config("study", init_generator=str(tmp_path / "g.pt"))
    with pytest.raises(CheckpointError, match="model differs"):
        dcgan.Trainer(bad, tiny_data(), tmp_path / "bad")
    with pytest.raises(dcgan.ConfigError, match="init_generator"):
        tiny_config(init_generator=7).validate()
