"""Tests of the project's StyleGAN2 training (core/stylegan2/training, core/stylegan2/training/cli.py) on tiny
CPU configs."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

stylegan2 = pytest.importorskip("core.stylegan2", reason="core.stylegan2 (the generator) is not available")

from core.checkpoint import CheckpointError, safe_torch_load  # noqa: E402
from core.cli import run_cli  # noqa: E402
from core.image.convert import make_grid  # noqa: E402
from core.stylegan2.discriminator import Discriminator  # noqa: E402
from core.stylegan2.training import (  # noqa: E402
    AugmentPipe,
    TrainConfig,
    Trainer,
    export_generator,
    train,
)
from core.stylegan2.training import load_training_images as load_images  # noqa: E402
from core.stylegan2.training.cli import main  # noqa: E402
from core.stylegan2.training.trainer import adam_state, lazy_adam  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "checkpoints" / "stylegan2_demo.pt"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_config(**kw) -> TrainConfig:
    base = dict(resolution=16, z_dim=16, w_dim=16, mapping_layers=2, g_channel_base=128, g_channel_max=16,
                d_channel_base=128, d_channel_max=16, batch_size=4, r1_interval=2, pl_weight=2.0,
                pl_interval=2, ada_interval=1, ada_kimg=1.0, seed=3, kimg=0.012, snapshot_kimg=0.008)
    base.update(kw)
    return TrainConfig(**base)


def tiny_images(n: int = 12, res: int = 16) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:res, :res] / res
    imgs = []
    for _ in range(n):  # smooth coloured blobs: a learnable, non-trivial distribution
        cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.3)
        blob = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r)[..., None]
        col = rng.uniform(0, 255, 3)
        imgs.append(np.where(blob, col, 255 - col))
    return np.stack(imgs).astype(np.uint8)


def test_discriminator_shapes_values_and_minibatch_std():
    torch.manual_seed(0)
    D = Discriminator(16, 3, channel_base=128, channel_max=16, mbstd_group=2)
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    out = D(x)
    assert out.shape == (4, 1)
    assert torch.isfinite(out).all()
    # Seeded regression values (equalised-lr init is N(0,1) weights, so values are O(1)).
    torch.testing.assert_close(out.flatten(), torch.tensor(EXPECTED_D_LOGITS), atol=1e-4, rtol=1e-4)
    # minibatch std: groups take strided samples (i, i + N/G, ...), as in the official code; identical
    # samples within each group give a (near) zero extra feature map, different ones do not
    feat = torch.randn(2, 5, 4, 4).repeat(2, 1, 1, 1)  # samples a, b, a, b
    y = D.minibatch_stddev(feat)
    assert y.shape == (4, 6, 4, 4)
    torch.testing.assert_close(y[:, :5], feat)
    assert y[:, -1].abs().max() < 1e-3
    assert D.minibatch_stddev(feat[[0, 2, 1, 3]])[:, -1].min() > 0.1
    # odd batch: the group size falls back to a divisor
    assert D(torch.randn(3, 3, 16, 16)).shape == (3, 1)


EXPECTED_D_LOGITS = [-0.749995, -0.51253, -0.346938, -0.181701]


def test_augment_pipe_identity_at_zero_and_differentiable():
    aug = AugmentPipe()
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    assert torch.equal(aug(x), x)
    aug.p.fill_(1.0)
    torch.manual_seed(0)
    x.requires_grad_(True)
    y = aug(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert (y - x).abs().mean() > 0.05
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_training_steps_finite_seeded_and_all_phases():
    images = tiny_images()
    t1 = Trainer(tiny_config(), images)
    stats = [t1.train_step() for _ in range(3)]
    for s in stats:
        assert math.isfinite(s.loss_g) and math.isfinite(s.loss_d)
    # step 0 and 2 run the lazy regularisers (interval 2), step 1 does not
    assert stats[0].r1_penalty is not None and stats[0].pl_penalty is not None
    assert stats[1].r1_penalty is None and stats[1].pl_penalty is None
    assert t1.step == 3 and t1.cur_nimg == 12
    # same seed -> same numbers; regression values pin the loop down
    t2 = Trainer(tiny_config(), images)
    stats2 = [t2.train_step() for _ in range(3)]
    assert [s.loss_g for s in stats] == [s.loss_g for s in stats2]
    assert [s.loss_d for s in stats] == [s.loss_d for s in stats2]
    got = [stats[0].loss_g, stats[0].loss_d, stats[2].loss_g, stats[2].loss_d]
    np.testing.assert_allclose(got, EXPECTED_LOSSES, rtol=1e-4, atol=1e-5)
    # w_avg is tracked by the trainer
    assert t1.G.mapping.w_avg.abs().sum() > 0


EXPECTED_LOSSES = [1.009255, 1.228264, 0.954399, 1.155923]


def test_r1_penalty_is_the_squared_input_gradient_and_moves_D():
    images = tiny_images()
    tr = Trainer(tiny_config(augment=False), images)
    real = tr.real_batch()
    x = real.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(tr.D(x).sum(), x)
    expected = g.square().sum(dim=[1, 2, 3]).mean().item()
    tr.D.zero_grad()
    got = tr._r1_reg(real)
    assert got == pytest.approx(expected, rel=1e-5)
    grads = [p.grad for p in tr.D.parameters() if p.grad is not None]
    assert grads and sum(float(gr.abs().sum()) for gr in grads) > 0
    # gamma 0 disables it
    tr0 = Trainer(tiny_config(r1_gamma=0.0), images)
    assert tr0.train_step().r1_penalty is None


def test_ema_follows_the_generator_with_the_configured_half_life():
    images = tiny_images()
    tr = Trainer(tiny_config(ema_rampup=None, ema_kimg=0.004), images)  # half-life = one batch of 4
    assert tr.ema_beta() == pytest.approx(0.5)
    before = [p.detach().clone() for p in tr.G_ema.parameters()]
    tr.train_step()
    for p_ema, p_old, p in zip(tr.G_ema.parameters(), before, tr.G.parameters()):
        torch.testing.assert_close(p_ema, (p_old + p.detach()) / 2, atol=1e-6, rtol=1e-5)
    # with ramp-up, the first step copies G outright (no images seen yet -> beta 0)
    tr2 = Trainer(tiny_config(), images)
    tr2.train_step()
    for p_ema, p in zip(tr2.G_ema.parameters(), tr2.G.parameters()):
        assert torch.equal(p_ema, p.detach())


def test_ada_raises_p_when_D_is_overconfident_and_lowers_it_otherwise():
    tr = Trainer(tiny_config(), tiny_images())
    step_size = 4 * 1 / (1.0 * 1000)
    tr.step = 1
    tr._ada_sum = torch.tensor([4.0, 4.0])  # r_t = 1 > 0.6
    tr._update_ada()
    assert tr.augment_p == pytest.approx(step_size)
    tr._ada_sum = torch.tensor([-4.0, 4.0])  # r_t = -1 < 0.6
    tr._update_ada()
    tr._update_ada()  # stays clamped at 0
    assert tr.augment_p == 0.0


def test_checkpoint_resume_is_exact_and_export_loads_with_load_generator(tmp_path):
    images = tiny_images()
    cfg = tiny_config(kimg=0.016, snapshot_kimg=0.008)  # 4 steps, checkpoint after 2
    straight = train(cfg, images, tmp_path / "a", log=lambda *_: None)
    run_b = tmp_path / "b"
    train(tiny_config(kimg=0.008, snapshot_kimg=0.008), images, run_b, log=lambda *_: None)
    ck = safe_torch_load(run_b / "checkpoint.pt")
    assert ck["step"] == 2 and set(ck) >= {"G", "D", "G_ema", "opt_G", "opt_D", "augment_p", "config"}
    resumed = train(cfg, images, run_b, resume=True, log=lambda *_: None)
    assert resumed.step == straight.step == 4
    for (k, a), b in zip(straight.G_ema.state_dict().items(), resumed.G_ema.state_dict().values()):
        torch.testing.assert_close(a, b, atol=0, rtol=0, msg=k)
    assert resumed.augment_p == straight.augment_p
    assert list(run_b.glob("samples_*img.png"))
    assert not list(run_b.glob(".checkpoint.pt.*.tmp"))

    out = tmp_path / "gen.pt"
    export_generator(resumed, out)
    raw = torch.load(out, weights_only=True)
    assert {"model", "config", "step", "version"} <= set(raw) and raw["step"] == 4
    G = stylegan2.load_generator(out)
    z = torch.randn(2, cfg.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = G(z, None, truncation_psi=0.7, noise_mode="const")
        b = resumed.G_ema(z, None, truncation_psi=0.7, noise_mode="const")
    assert a.shape == (2, 3, 16, 16)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)

    # the CLI export path used for the bundled checkpoint: file + sample grid from the run folder
    assert main(["--out", str(run_b), "--export-only", "--export", str(tmp_path / "cli.pt")]) == 0
    assert stylegan2.load_generator(tmp_path / "cli.pt").z_dim == cfg.z_dim
    assert (tmp_path / "cli_samples.png").is_file()

    # a picked snapshot (an exported G_ema) is bundled as measured, with its grid; a training state is not
    assert main(["--out", str(run_b), "--export-only", "--snapshot", str(out),
                 "--export", str(tmp_path / "snap.pt")]) == 0
    snap = torch.load(tmp_path / "snap.pt", weights_only=True)
    assert snap["notes"]["snapshot"] == "gen.pt" and snap["step"] == 4
    for k, v in raw["model"].items():
        torch.testing.assert_close(snap["model"][k], v, atol=0, rtol=0, msg=k)
    assert (tmp_path / "snap_samples.png").is_file()
    with pytest.raises(CheckpointError, match="model"):
        main(["--out", str(run_b), "--export-only", "--snapshot", str(run_b / "checkpoint.pt"),
              "--export", str(tmp_path / "bad.pt")])
    assert not (tmp_path / "bad.pt").exists()


def test_load_images_from_npz_and_folder(tmp_path):
    from PIL import Image

    imgs = tiny_images(3, 32)
    np.savez(tmp_path / "d.npz", images=imgs)
    a = load_images(tmp_path / "d.npz", 16)
    assert a.shape == (3, 16, 16, 3) and a.dtype == np.uint8
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, im in enumerate(imgs):
        Image.fromarray(np.pad(im, ((0, 0), (4, 4), (0, 0)))).save(folder / f"{i}.png")  # 32x40: cropped
    b = load_images(folder, 16)
    assert b.shape == (3, 16, 16, 3)
    np.testing.assert_allclose(a.astype(float).mean(), b.astype(float).mean(), atol=3)
    with pytest.raises(ValueError, match="images"):
        np.savez(tmp_path / "bad.npz", pics=imgs)
        load_images(tmp_path / "bad.npz", 16)
    assert run_cli(main, ["--data", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "r")]) == 2


DDP_WORKER = """
import json, sys
from pathlib import Path

from core.cli import run_cli
from core.stylegan2.training.cli import main


def digest(event, trainer):  # every process writes a fingerprint of its weights at the end
    if event != "end":
        return
    d = {k: float(v.double().sum()) for k, v in trainer.G.state_dict().items()}
    d.update({f"D.{k}": float(v.double().sum()) for k, v in trainer.D.state_dict().items()})
    Path(trainer.run_dir).mkdir(parents=True, exist_ok=True)
    (Path(trainer.run_dir) / f"rank{trainer.rank}_digest.json").write_text(json.dumps(d))


sys.exit(run_cli(lambda argv: main(argv, callbacks=[digest]), prog="ddp-worker"))
"""


def test_ddp_two_cpu_processes_with_gloo_stay_in_sync(tmp_path):
    np.savez(tmp_path / "d.npz", images=tiny_images(16))
    out = tmp_path / "run"
    worker = tmp_path / "ddp_worker.py"
    worker.write_text(DDP_WORKER)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(worker), "--data", str(tmp_path / "d.npz"), "--res", "16", "--kimg", "0.024",
           "--out", str(out), "--batch", "4", "--z-dim", "16", "--w-dim", "16", "--channel-base", "128",
           "--channel-max", "16", "--snap-kimg", "0.016", "--export", str(tmp_path / "g.pt")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    d0 = json.loads((out / "rank0_digest.json").read_text())
    d1 = json.loads((out / "rank1_digest.json").read_text())
    assert d0.keys() == d1.keys()
    assert all(d0[k] == pytest.approx(d1[k], rel=1e-6, abs=1e-7) for k in d0)  # gradients were averaged
    ck = safe_torch_load(out / "checkpoint.pt")
    assert ck["step"] == 6 and ck["cur_nimg"] == 24  # global batch 4 = 2 per process
    G = stylegan2.load_generator(tmp_path / "g.pt")
    assert G.img_resolution == 16


def test_bundled_checkpoint_opens_and_samples():
    assert BUNDLED.is_file(), "checkpoints/stylegan2_demo.pt is missing"
    assert BUNDLED.stat().st_size <= 50 * 2 ** 20
    G = stylegan2.load_generator(BUNDLED)
    assert G.img_resolution == 64
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        img = G(z, None, truncation_psi=0.7, noise_mode="const")
    assert img.shape == (2, 3, 64, 64) and torch.isfinite(img).all()
    assert 0.05 < img.std() < 2.0  # a trained model, not a constant or exploded output
    meta = torch.load(BUNDLED, weights_only=True)
    assert meta["kimg"] > 0 and meta["kind"] == "stylegan2"


def test_optimizer_is_torch_adam_and_runs_saved_by_the_hand_written_adam_resume_exactly():
    """Older runs stored the project's own Adam ({'t', 'exp_avg', 'exp_avg_sq'}); they resume into
    torch.optim.Adam with the same moments and step count, and continue as if never interrupted."""
    torch.manual_seed(0)
    target = torch.randn(6)
    p_ref = torch.nn.Parameter(torch.randn(6))
    ref = lazy_adam([p_ref], lr=0.01, betas=(0.0, 0.99), reg_interval=0)
    assert type(ref) is torch.optim.Adam
    for _ in range(3):
        ref.zero_grad()
        (p_ref - target).square().sum().backward()
        ref.step()
    st = ref.state_dict()["state"][0]
    legacy = {"t": 3, "lr": 0.01, "betas": [0.0, 0.99], "eps": 1e-8,
              "exp_avg": [st["exp_avg"].clone()], "exp_avg_sq": [st["exp_avg_sq"].clone()]}
    p_res = torch.nn.Parameter(p_ref.detach().clone())
    resumed = lazy_adam([p_res], lr=0.01, betas=(0.0, 0.99), reg_interval=0)
    resumed.load_state_dict(adam_state(resumed, legacy, "opt"))
    assert int(resumed.state_dict()["state"][0]["step"]) == 3
    for p, opt in ((p_ref, ref), (p_res, resumed)):
        opt.zero_grad()
        (p - target).square().sum().backward()
        opt.step()
    torch.testing.assert_close(p_res, p_ref, atol=0, rtol=0)
    with pytest.raises(CheckpointError, match="moment tensors"):
        adam_state(resumed, {**legacy, "exp_avg": []}, "opt")


def test_trainer_resumes_a_checkpoint_in_the_old_optimizer_layout_bit_identically():
    images = tiny_images()
    a = Trainer(tiny_config(), images)
    a.train_step()
    ck = a.state_dict()
    for part in ("opt_G", "opt_D"):  # rewrite the optimizer states as the hand-written Adam saved them
        per_param = ck[part]["state"]
        n = len(ck[part]["param_groups"][0]["params"])
        ck[part] = {"t": 1, "exp_avg": [per_param[i]["exp_avg"] for i in range(n)],
                    "exp_avg_sq": [per_param[i]["exp_avg_sq"] for i in range(n)]}
    buf = io.BytesIO()  # through a file, as a resume reads it
    torch.save(ck, buf)
    buf.seek(0)
    ck = torch.load(buf, weights_only=True)
    b = Trainer(tiny_config(), images)
    b.load_state_dict(ck)  # also restores the global RNG stream as of the save
    sb = b.train_step()
    torch.set_rng_state(ck["rng"]["torch"])
    sa = a.train_step()
    assert (sa.loss_g, sa.loss_d) == (sb.loss_g, sb.loss_d)
    for (k, x), y in zip(a.G.state_dict().items(), b.G.state_dict().values()):
        torch.testing.assert_close(x, y, atol=0, rtol=0, msg=k)


def test_training_snapshot_of_seed_s_is_the_samplers_seed_s(tmp_path):
    images = tiny_images()
    run = tmp_path / "run"
    tr = train(tiny_config(kimg=0.008, snapshot_kimg=0.008), images, run, log=lambda *_: None)
    export_generator(tr, tmp_path / "g.pt")
    G = stylegan2.load_generator(tmp_path / "g.pt")  # what the sampler page opens
    seeds = [0, 5, 11]
    sampler = np.stack([img for _, img in stylegan2.generate_images(G, seeds)])
    np.testing.assert_array_equal(tr.snapshot_images(seeds), sampler)
    # the snapshot file written during training shows seeds 0-15 exactly as the sampler renders them
    from PIL import Image

    (snap,) = run.glob("samples_*img.png")
    expected = make_grid([img for _, img in stylegan2.generate_images(G, range(16))], cols=4)
    np.testing.assert_array_equal(np.asarray(Image.open(snap)), expected)


def test_existing_run_is_not_overwritten_without_resume(tmp_path):
    images = tiny_images()
    cfg = tiny_config(kimg=0.004, snapshot_kimg=0.004)
    train(cfg, images, tmp_path / "r", log=lambda *_: None)
    before = (tmp_path / "r" / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match="--resume"):
        train(cfg, images, tmp_path / "r", log=lambda *_: None)
    assert (tmp_path / "r" / "checkpoint.pt").read_bytes() == before
    train(cfg, images, tmp_path / "r", log=lambda *_: None, overwrite=True)


def test_cli_resume_names_the_flags_it_ignores(tmp_path, capsys):
    from core.stylegan2.training.cli import main as train_main

    np.savez(tmp_path / "d.npz", images=tiny_images())
    flags = ["--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "r"), "--res", "16", "--z-dim", "16",
             "--w-dim", "16", "--map-layers", "2", "--channel-base", "128", "--channel-max", "16",
             "--batch", "4", "--snap-kimg", "0.004"]
    assert train_main(flags + ["--kimg", "0.004"]) == 0
    assert train_main(flags + ["--kimg", "0.008", "--resume", "--lr", "0.01", "--no-augment"]) == 0
    out = capsys.readouterr().out
    notice = next(line for line in out.splitlines() if "ignoring" in line)
    assert "--lr 0.01 (the run uses g_lr = 0.0025)" in notice
    assert "--no-augment (the run uses augment = True)" in notice
    assert "--kimg" not in notice  # kimg may change on resume: not ignored


def test_config_bounds_are_checked_before_building():
    for bad, word in ((dict(resolution=48), "power of two"), (dict(resolution=2 ** 20), "resolution"),
                      (dict(z_dim=10 ** 6), "z_dim"), (dict(batch_size=0), "batch_size"),
                      (dict(g_lr=float("nan")), "g_lr"), (dict(betas=(0.0, 1.0)), "betas"),
                      (dict(g_channel_base=8), "leaves no channels")):
        with pytest.raises(ValueError, match=word):
            tiny_config(**bad).validate()


# ---- teacher-stream recipe (core/stylegan2/training/{teacher,distill,distill_run}.py) ------------------
# A tiny DCGAN-shaped module stands in for gan-face-generate: no test needs the real teacher.

from core import teacher as teacher_mod  # noqa: E402
from core.cli import UserError  # noqa: E402
from core.stylegan2.training import (  # noqa: E402
    DistillConfig,
    Distiller,
    TeacherStream,
    convert_checkpoint,
    multiscale_l1,
    write_resume_file,
)
from core.stylegan2.training.distill import SCRATCH_KIND  # noqa: E402
from core.stylegan2.training.distill_run import resolve_config  # noqa: E402


def tiny_teacher(z_dim: int = 8) -> torch.nn.Module:
    """DCGAN generator layout (transposed convs 1 -> 4 -> 8 -> 16 px, tanh), seeded, frozen; weights
    drawn wide so that images vary clearly with z."""
    torch.manual_seed(11)
    net = torch.nn.Sequential(
        torch.nn.ConvTranspose2d(z_dim, 16, 4, 1, 0), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(16, 8, 4, 2, 1), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(8, 3, 4, 2, 1), torch.nn.Tanh())
    for layer in net[::2]:
        torch.nn.init.normal_(layer.weight, 0, 0.3)
    return net.eval().requires_grad_(False)


def brightness_score(faces: np.ndarray) -> np.ndarray:
    """Stand-in for SmallFaceScorer (uint8 NHWC -> [N]): the mean brightness."""
    return faces.reshape(len(faces), -1).mean(1) / 255.0


def tiny_distill(**kw) -> DistillConfig:
    base = dict(resolution=16, z_dim=8, w_dim=16, mapping_layers=2, g_channel_base=128, g_channel_max=16,
                d_channel_base=128, d_channel_max=16, batch_size=4, seed=3, rec_scales=(16, 8, 4),
                phase_a_kimg=0.008, r1_interval=2, real_min_score=0.49, ema_kimg=0.01, kimg=1.0,
                log_every=1)
    base.update(kw)
    return DistillConfig(**base)


def weights_equal(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(x, y, atol=0, rtol=0, msg=k)


def test_multiscale_l1_values():
    ones, zeros = torch.ones(2, 3, 16, 16), torch.zeros(2, 3, 16, 16)
    assert multiscale_l1(zeros, ones, (16, 8, 4)).item() == 1.0
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None]) % 2 * 2.0 - 1  # +-1, averages to 0
    target = checker.expand(2, 3, 16, 16)
    assert multiscale_l1(zeros, target, (16,)).item() == 1.0
    assert multiscale_l1(zeros, target, (16, 8)).item() == 0.5  # the 8 px level sees a flat grey


def test_teacher_stream_is_seeded_filtered_and_resumes():
    a = TeacherStream(tiny_teacher(), 8, seed=3, min_score=0.49, scorer=brightness_score)
    b = TeacherStream(tiny_teacher(), 8, seed=3, min_score=0.49, scorer=brightness_score)
    za, xa = a.pairs(4)
    zb, xb = b.pairs(4)
    assert za.shape == (4, 8) and xa.shape == (4, 3, 16, 16) and xa.abs().max() <= 1
    torch.testing.assert_close(xa, xb, atol=0, rtol=0)
    reals = a.filtered_reals(5)
    assert reals.shape == (5, 3, 16, 16)
    assert (brightness_score(teacher_mod.to_uint8_nhwc(reals)) >= 0.49).all()
    assert a.scored >= 16 and 5 <= a.kept < a.scored  # the filter rejected some samples
    state = a.state_dict()
    c = TeacherStream(tiny_teacher(), 8, seed=99, min_score=0.49, scorer=brightness_score)
    c.load_state_dict(state)
    torch.testing.assert_close(a.filtered_reals(3), c.filtered_reals(3), atol=0, rtol=0)
    torch.testing.assert_close(a.pairs(2)[1], c.pairs(2)[1], atol=0, rtol=0)
    picky = TeacherStream(tiny_teacher(), 8, seed=3, min_score=0.9, scorer=brightness_score)
    with pytest.raises(RuntimeError, match="no teacher sample scored >= 0.9"):
        picky.filtered_reals(1)  # a filter nothing passes fails loudly instead of spinning forever


def test_teacher_not_installed_is_one_line_user_error(monkeypatch):
    monkeypatch.setattr(teacher_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="gan-face-generate is not installed: pip install") as e:
        teacher_mod.load_teacher("gan-face-generate")
    assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="unknown teacher"):
        teacher_mod.load_teacher("nope")


def test_distiller_phases_regression_then_gan_with_lazy_r1():
    tr = Distiller(tiny_distill(d_start_kimg=0.008), tiny_teacher(), scorer=brightness_score)
    assert tr.G.z_dim == 8 and tr.phase == "A"
    d0 = [p.clone() for p in tr.D.parameters()]
    s1, s2 = tr.train_step(), tr.train_step()  # 8 images: phase A
    assert set(s1) == {"rec"} and math.isfinite(s2["rec"])
    assert all(torch.equal(a, b) for a, b in zip(d0, tr.D.parameters()))  # D untouched in phase A
    assert tr.phase == "B" and tr.opt_G.param_groups[0]["betas"] == (0.9, 0.99)
    s3, s4 = tr.train_step(), tr.train_step()
    assert {"rec", "adv_g", "loss_d", "real_logit", "fake_logit", "r1"} <= set(s3)  # R1 at D step 0
    assert "r1" not in s4 and tr.d_steps == 2 and tr.cur_nimg == 16
    assert tr.opt_G.param_groups[0]["betas"] == (0.0, 0.99)
    assert not all(torch.equal(a, b) for a, b in zip(d0, tr.D.parameters()))
    assert all(math.isfinite(v) for v in {**s3, **s4}.values())
    # lazy R1 correction of D's Adam (interval 2: lr x 2/3, betas ** 2/3)
    assert tr.opt_D.param_groups[0]["lr"] == pytest.approx(0.002 * 2 / 3)


def test_d_learns_during_the_warm_start_by_default_and_old_configs_keep_their_schedule():
    tr = Distiller(tiny_distill(), tiny_teacher(), scorer=brightness_score)
    d0 = [p.clone() for p in tr.D.parameters()]
    g_betas = tr.opt_G.param_groups[0]["betas"]
    stats = tr.train_step()
    assert tr.phase == "A" and g_betas == (0.9, 0.99) and "adv_g" not in stats  # G: regression only
    assert {"rec", "loss_d", "r1"} <= set(stats) and tr.d_steps == 1
    assert not all(torch.equal(a, b) for a, b in zip(d0, tr.D.parameters()))
    old = {k: v for k, v in asdict(tiny_distill(phase_a_kimg=3.0)).items() if k != "d_start_kimg"}
    assert DistillConfig.from_dict(old).d_start_kimg == 3.0  # stored before the field: D from phase B


def test_regression_warm_start_learns_the_teacher():
    tr = Distiller(tiny_distill(phase_a_kimg=10.0, g_lr=0.01, amp_bf16=False), tiny_teacher(),
                   scorer=brightness_score)
    first = [tr.train_step()["rec"] for _ in range(3)]
    for _ in range(40):
        last = tr.train_step()["rec"]
    assert last < 0.7 * np.mean(first), (first, last)



def noise_strengths(G) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for layer in G.synthesis.modules():
        if getattr(layer, "use_noise", False):
            out.setdefault(layer.resolution, []).append(float(layer.noise_strength))
    return out


def test_silent_noise_res_holds_those_noise_inputs_at_zero_and_may_be_set_on_resume(tmp_path):
    loud = Distiller(tiny_distill(), tiny_teacher(), scorer=brightness_score)
    for _ in range(3):
        loud.train_step()
    assert all(v != 0 for vs in noise_strengths(loud.G).values() for v in vs)  # noise strengths learn
    quiet = Distiller(tiny_distill(silent_noise_res=(8,)), tiny_teacher(), scorer=brightness_score)
    for _ in range(3):
        quiet.train_step()
    for G in (quiet.G, quiet.G_ema):
        strengths = noise_strengths(G)
        assert strengths[8] == [0.0, 0.0] and all(v != 0 for v in strengths[16])
    # switched on when a run is resumed: the loaded strengths are silenced before the next step
    ck = loud.state_dict()
    assert resolve_config(ck, {"silent_noise_res": (4, 16)}).silent_noise_res == (4, 16)
    resumed = Distiller(tiny_distill(silent_noise_res=(4, 16)), tiny_teacher(), scorer=brightness_score)
    resumed.load_state_dict(ck)
    strengths = noise_strengths(resumed.G_ema)
    assert strengths[4] == [0.0] and strengths[16] == [0.0, 0.0] and all(v != 0 for v in strengths[8])
    for bad in ((12,), (32,), ("8",)):
        with pytest.raises(UserError, match="silent_noise_res"):
            tiny_distill(silent_noise_res=bad).validate()


@pytest.mark.parametrize("bf16", [True, False])
def test_distiller_resume_is_exact_across_both_phases(tmp_path, bf16):
    cfg = tiny_distill(amp_bf16=bf16)
    straight = Distiller(cfg, tiny_teacher(), scorer=brightness_score)
    for _ in range(5):
        straight.train_step()
    first = Distiller(cfg, tiny_teacher(), scorer=brightness_score)
    for _ in range(3):  # into phase B, with a partly used filtered pool carried in the state
        first.train_step()
    torch.save(first.state_dict(), tmp_path / "ck.pt")
    resumed = Distiller(cfg, tiny_teacher(), scorer=brightness_score)
    assert resumed.load_state_dict(safe_torch_load(tmp_path / "ck.pt")) is True
    for _ in range(2):
        resumed.train_step()
    assert resumed.step == straight.step == 5 and resumed.d_steps == straight.d_steps == 5
    for a, b in ((straight.G, resumed.G), (straight.G_ema, resumed.G_ema), (straight.D, resumed.D)):
        weights_equal(a, b)


def scratch_layout(state: dict) -> dict:
    """The first run's scratch-script layout: hand-written Adam state, extra config keys, its kind."""
    def hand_adam(opt_state: dict) -> dict:
        per = opt_state["state"]
        ids = [i for group in opt_state["param_groups"] for i in group["params"]]  # one flat list then
        g = opt_state["param_groups"][0]
        return {"t": int(per[ids[0]]["step"]), "lr": g["lr"], "betas": list(g["betas"]), "eps": 1e-8,
                "exp_avg": [per[i]["exp_avg"] for i in ids],
                "exp_avg_sq": [per[i]["exp_avg_sq"] for i in ids]}

    return {**state, "kind": SCRATCH_KIND, "config": {**state["config"], "threads": 1},
            "opt_G": hand_adam(state["opt_G"]), "opt_D": hand_adam(state["opt_D"])}


def test_scratch_checkpoint_converts_and_resumes_exactly(tmp_path):
    cfg = tiny_distill()
    straight = Distiller(cfg, tiny_teacher(), scorer=brightness_score)
    for _ in range(5):
        straight.train_step()
    first = Distiller(cfg, tiny_teacher(), scorer=brightness_score)
    for _ in range(3):
        first.train_step()
    old = scratch_layout(first.state_dict())
    torch.save(old, tmp_path / "old.pt")
    converted = convert_checkpoint(safe_torch_load(tmp_path / "old.pt"))
    assert converted["kind"] == "stylegan2-distill" and "threads" not in converted["config"]
    resumed = Distiller(cfg, tiny_teacher(), scorer=brightness_score)
    assert resumed.load_state_dict(converted) is True
    resumed.train_step()
    resumed.train_step()
    weights_equal(straight.G_ema, resumed.G_ema)
    weights_equal(straight.D, resumed.D)
    with pytest.raises(CheckpointError, match="not a teacher-stream run"):
        convert_checkpoint({**old, "kind": "stylegan2-train"})


def test_resume_file_is_compact_warm_restart_without_moments(tmp_path):
    tr = Distiller(tiny_distill(), tiny_teacher(), scorer=brightness_score)
    for _ in range(3):
        tr.train_step()
    full = tr.state_dict()
    info = write_resume_file(full, tmp_path / "exact.pt")
    assert info["exact"] is True and "opt_G" in safe_torch_load(tmp_path / "exact.pt")
    info = write_resume_file(full, tmp_path / "warm.pt", max_bytes=info["bytes"] - 1)
    warm = safe_torch_load(tmp_path / "warm.pt")
    assert info["exact"] is False and "opt_G" not in warm and warm["resume"].startswith("warm restart")
    assert info["bytes"] < (tmp_path / "exact.pt").stat().st_size
    back = Distiller(tiny_distill(), tiny_teacher(), scorer=brightness_score)
    assert back.load_state_dict(warm) is False  # weights, counters, streams exact; Adam afresh
    weights_equal(tr.G_ema, back.G_ema)
    assert (back.step, back.cur_nimg, back.d_steps) == (3, 12, 3)
    assert math.isfinite(back.train_step()["rec"])
    with pytest.raises(CheckpointError, match="even without Adam moments"):
        write_resume_file(full, tmp_path / "x.pt", max_bytes=1000)


def test_cli_teacher_run_export_resume_file_and_continue(tmp_path, monkeypatch, capsys):
    import core.stylegan2.training.cli as train_cli
    from core.stylegan2.training import distill as distill_mod

    monkeypatch.setattr(train_cli, "load_teacher", lambda name: tiny_teacher())
    real_init = distill_mod.Distiller.__init__
    monkeypatch.setattr(distill_mod.Distiller, "__init__",  # the brightness scorer instead of MediaPipe
                        lambda self, cfg, teacher, scorer=None, device="cpu":
                        real_init(self, cfg, teacher, brightness_score, device))
    arch = ["--teacher", "gan-face-generate", "--res", "16", "--z-dim", "8", "--w-dim", "16", "--map-layers",
            "2", "--channel-base", "128", "--channel-max", "16", "--batch", "4", "--phase-a-kimg", "0.004",
            "--real-min-score", "0.49", "--r1-interval", "2", "--log-every", "1", "--seed", "3"]
    run = tmp_path / "run"
    assert main(arch + ["--kimg", "0.012", "--out", str(run), "--export", str(tmp_path / "g.pt")]) == 0
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in log] == ["A", "B", "B"] and log[-1]["kimg"] == 0.012
    G = stylegan2.load_generator(tmp_path / "g.pt")
    assert (G.z_dim, G.img_resolution) == (8, 16)
    # --export-only of a teacher run (how the bundled model is exported): the run's notes travel with it
    assert main(["--out", str(run), "--export-only", "--export", str(tmp_path / "e.pt")]) == 0
    notes = torch.load(tmp_path / "e.pt", weights_only=True)["notes"]
    assert notes["teacher"].startswith("gan-face-generate") and notes["train_seconds"] > 0
    assert "train_seconds_last_session" not in notes  # the dataset runs' log clock, absent here
    # a stored run keeps its architecture: changing it on resume is refused
    with pytest.raises(UserError, match="cannot change w_dim"):
        main(["--teacher", "gan-face-generate", "--out", str(run), "--resume", "--w-dim", "32"])
    capsys.readouterr()
    assert main(["--teacher", "gan-face-generate", "--out", str(run), "--write-resume",
                 str(tmp_path / "resume.pt")]) == 0
    assert "exact (with Adam moments)" in capsys.readouterr().out
    assert main(["--teacher", "gan-face-generate", "--out", str(tmp_path / "run2"), "--resume-from",
                 str(tmp_path / "resume.pt"), "--kimg", "0.02", "--d-start-kimg", "0.5",
                 "--mapping-lr-scale", "10", "--silent-noise-res", "8", "16"]) == 0
    ck = safe_torch_load(tmp_path / "run2" / "checkpoint.pt")
    assert tuple(ck["config"]["silent_noise_res"]) == (8, 16)
    silenced = [float(v) for k, v in ck["G_ema"].items() if k.endswith("noise_strength") and ".b4." not in k]
    assert len(silenced) == 4 and not any(silenced)  # b8 and b16, two layers each
    assert ck["cur_nimg"] == 20 and ck["config"]["w_dim"] == 16 and ck["config"]["kimg"] == 0.02
    assert ck["config"]["d_start_kimg"] == 0.5 and ck["config"]["mapping_lr_scale"] == 10  # schedule fields
    assert run_cli(main, ["--teacher", "gan-face-generate", "--out", str(tmp_path / "run2"), "--resume-from",
                          str(tmp_path / "resume.pt")], prog="x") == 2  # folder already holds a run
