"""An output that is also an input, and weights that are NaN or infinite (issue 23, classes 6 and 9).

Each command runs as a user would (one batched interpreter): writing over the checkpoint, the driving
video, the source photo, a run's own files, through a symlink, a hard link or ``..``, is refused in one
line and the input is left byte for byte as it was. Checkpoints of every family with a NaN or an
infinity in one tensor are refused at load, in one line, instead of rendering black pictures.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core import ASSETS_DIR, CHECKPOINTS_DIR, video
from core.checkpoint import CheckpointError, check_finite_weights
from core.cli import UserError, check_output_path
from tests.bad_inputs.conftest import assert_refused, run_cli_batch
from tests.conftest import shared_path

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("outputs")
    ckpt = d / "dcgan.pt"
    ckpt.write_bytes((CHECKPOINTS_DIR / "dcgan_demo.pt").read_bytes())
    os.link(ckpt, d / "dcgan_hardlink.pt")
    (d / "dcgan_symlink.pt").symlink_to(ckpt)
    (d / "sub").mkdir()
    faces = np.load(ASSETS_DIR / "demo_faces" / "faces64.npz")["images"]
    Image.fromarray(np.kron(faces[0], np.ones((4, 4, 1), np.uint8))).save(d / "face.png")
    video.write_mp4([np.kron(faces[i % 3], np.ones((4, 4, 1), np.uint8)) for i in range(6)],
                    d / "driving.mp4", fps=25)
    run = d / "run"
    (run / "snapshots").mkdir(parents=True)
    for step in (10, 20, 30):
        Image.fromarray(faces[step // 10]).save(run / "snapshots" / f"step_{step:07d}.png")
    (run / "config.json").write_text('{"model": {"size": 64}}')
    (run / "status.json").write_text('{"state": "finished"}')
    (d / "sg2run").mkdir()
    (d / "sg2run" / "checkpoint.pt").write_bytes(b"PK\x03\x04 a training checkpoint")
    return {p.name: p for p in d.iterdir()} | {"dir": d}


# ------------------------------------------------------------------- 6. an output that is also an input

def test_outputs_over_inputs_are_refused_and_inputs_kept(files):
    d, ckpt, run = files["dir"], files["dcgan.pt"], files["run"]
    before = {name: _digest(files[name]) for name in ("dcgan.pt", "face.png", "driving.mp4")}
    before["sg2"] = _digest(files["sg2run"] / "checkpoint.pt")
    before_run = {p: _digest(p) for p in run.rglob("*") if p.is_file()}
    cases = [
        (["core.dcgan", "sample", "--checkpoint", ckpt, "--out", ckpt], ["--out", "checkpoint"]),
        (["core.dcgan", "sample", "--checkpoint", ckpt, "--out", files["dcgan_hardlink.pt"]], ["checkpoint"]),
        (["core.dcgan", "sample", "--checkpoint", ckpt, "--out", files["dcgan_symlink.pt"]], ["checkpoint"]),
        (["core.dcgan", "sample", "--checkpoint", ckpt, "--out", d / "sub" / ".." / "dcgan.pt"],
         ["checkpoint"]),
        (["core.dcgan", "export", "--checkpoint", files["dcgan_symlink.pt"], "--out", ckpt], ["checkpoint"]),
        (["core.dcgan", "timelapse", "--run", run, "--out", run / "config.mp4"], ["config.json"]),
        (["core.dcgan", "timelapse", "--run", run, "--out", run / "snapshots" / "t.gif"], ["snapshots"]),
        (["core.fomm", "animate", "--source", files["face.png"], "--driving", files["driving.mp4"],
          "--out", files["driving.mp4"]], ["driving video"]),
        (["core.animate", "animate", "--source", files["face.png"], "--driving", files["driving.mp4"],
          "--out", d / "sub" / ".." / "face.png"], ["source image"]),
        (["core.animate", "record-motion", "--video", files["driving.mp4"], "--out", files["driving.mp4"]],
         ["the video"]),
        (["core.stylegan2.training", "--out", files["sg2run"], "--export-only", "--export",
          files["sg2run"] / "." / "checkpoint.pt"], ["--export", "run's checkpoint"]),
        (["core.stylegan2.training", "--out", files["sg2run"], "--teacher", "gan-face-generate",
          "--write-resume", files["sg2run"] / "checkpoint.pt"], ["--write-resume", "run's checkpoint"]),
    ]
    results = run_cli_batch([cmd for cmd, _ in cases])
    for (_, words), result in zip(cases, results, strict=True):
        assert_refused(result, *words)
    assert {name: _digest(files[name]) for name in before if name != "sg2"} | {
        "sg2": _digest(files["sg2run"] / "checkpoint.pt")} == before
    assert {p: _digest(p) for p in run.rglob("*") if p.is_file()} == before_run
    # the same commands with an output elsewhere do write (the check refuses only what it should)
    ok = run_cli_batch([["core.dcgan", "sample", "--checkpoint", ckpt, "--out", d / "grid.png", "--n", "4"],
                        ["core.dcgan", "timelapse", "--run", run, "--out", run / "timelapse.gif"]])
    assert [r.returncode for r in ok] == [0, 0], [r.stderr for r in ok]
    assert (d / "grid.png").is_file() and (run / "timelapse.json").is_file()


def test_check_output_path_directly(tmp_path):
    src = tmp_path / "in.bin"
    src.write_bytes(b"x")
    with pytest.raises(UserError, match="is the input"):
        check_output_path(tmp_path / "." / "in.bin", {"the input": src})
    with pytest.raises(UserError, match="inside the folder"):
        check_output_path(tmp_path / "media" / "a" / "b.png", {}, {"the folder": tmp_path / "media"})
    assert check_output_path(tmp_path / "out.bin", {"the input": src, "none": None},
                             {"the folder": tmp_path / "media"}) == tmp_path / "out.bin"
    assert check_output_path(tmp_path / "mediax.png", {}, {"the folder": tmp_path / "media"})


# ------------------------------------------------------------------------------------ 9. broken weights

def _poisoned(src: Path, dest: Path, value: float, part: str = "model", index: int = 0) -> Path:
    ckpt = torch.load(src, weights_only=True)
    state = ckpt[part]
    key = [k for k, v in state.items() if v.is_floating_point()][index]
    poisoned = state[key].clone().contiguous()
    poisoned.view(-1)[0] = value
    state[key] = poisoned
    torch.save(ckpt, dest)
    return dest


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("broken-weights")
    return {
        "dcgan_nan": _poisoned(CHECKPOINTS_DIR / "dcgan_demo.pt", d / "dcgan_nan.pt", float("nan")),
        "dcgan_inf": _poisoned(CHECKPOINTS_DIR / "dcgan_demo.pt", d / "dcgan_inf.pt", float("inf"), index=-1),
        "sg2_nan": _poisoned(CHECKPOINTS_DIR / "stylegan2_demo.pt", d / "sg2_nan.pt", float("nan"), index=3),
        "sg2_ninf": _poisoned(CHECKPOINTS_DIR / "stylegan2_demo.pt", d / "sg2_ninf.pt", float("-inf"),
                              index=-1),
        "dir": d,
    }


def test_non_finite_weights_are_refused_in_one_line(broken):
    d = broken["dir"]
    results = run_cli_batch([
        ["core.dcgan", "sample", "--checkpoint", broken["dcgan_nan"], "--out", d / "a.png"],
        ["core.dcgan", "sample", "--checkpoint", broken["dcgan_inf"], "--out", d / "b.png"],
        ["core.dcgan", "export", "--checkpoint", broken["dcgan_nan"], "--out", d / "slim.pt"],
        ["core.stylegan2", "info", broken["sg2_nan"]],
        ["core.stylegan2", "info", broken["sg2_ninf"]],
        ["core.stylegan2", "info", CHECKPOINTS_DIR / "stylegan2_demo.pt"],   # the healthy file still loads
    ])
    for r in results[:5]:
        assert_refused(r, "NaN or infinite", "broken")
    assert results[5].returncode == 0
    assert not any((d / name).exists() for name in ("a.png", "b.png", "slim.pt"))


def test_fomm_weights_with_nan_are_refused():
    import json

    from core.fomm.loading import load_fomm

    cfg = json.loads(shared_path("reference", "fomm", "tiny64-config.json").read_text())
    src = shared_path("reference", "fomm", "tiny64-checkpoint.pth.tar")
    ckpt = torch.load(src, weights_only=True)
    key = next(k for k, v in ckpt["kp_detector"].items() if v.is_floating_point())
    ckpt["kp_detector"][key] = torch.full_like(ckpt["kp_detector"][key], float("nan"))
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"fomm-nan-{os.getpid()}.pth.tar"
    torch.save(ckpt, path)
    try:
        with pytest.raises(CheckpointError, match=r"'kp_detector' weights are broken: \d+ NaN"):
            load_fomm(path, cfg)
    finally:
        path.unlink()
    load_fomm(src, cfg)  # the untouched file loads


def test_check_finite_weights_counts_and_names():
    state = {"a": torch.ones(3), "b": torch.tensor([1.0, float("nan"), float("inf")]), "n": torch.arange(3)}
    with pytest.raises(CheckpointError, match=r"2 NaN or infinite value\(s\) in 'model.b'"):
        check_finite_weights(state, "x.pt")
    check_finite_weights({"a": torch.ones(2), "i": torch.tensor([1, 2])}, "x.pt")
    half = {"h": torch.tensor([65504.0], dtype=torch.float16) * 2}  # overflows to inf in half precision
    with pytest.raises(CheckpointError, match="broken"):
        check_finite_weights(half, "x.pt")


# ------------------------------------------------------------- 4. a FOMM config nested beyond any bound

@pytest.mark.parametrize("text,message", [
    ("[" * 100_000, "nested more than 32"),
    ("{\"model_params\": " * 10_000, "nested more than 32"),
    ("[" * 300_000, "larger than 256 KB"),
    ("".join(" " * i + "a:\n" for i in range(600)), "nested too deeply"),
    ("a: " + "9" * 5000, "not valid|too long|must be"),
])
def test_fomm_config_bounded_before_parsing(tmp_path, text, message):
    from core.fomm.config import FommConfigError, load_config

    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(FommConfigError, match=message):
        load_config(path)


# ----------------------------------------------------------------- 3. numbers beyond any bound in flags

def test_number_flags_beyond_any_bound(files, tmp_path):
    """NaN compares False with everything (``--blur nan`` rejected no blurred crop, silently); a huge
    ``--min-face`` rejected every face with exit 0. Each is refused with the flag named."""
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.open(files["face.png"]).save(photos / "a.png")
    cases = [(["--blur", "nan"], "--blur"), (["--blur", "inf"], "--blur"), (["--blur", "-1"], "--blur"),
             (["--min-face", "1" + "0" * 25], "--min-face"), (["--min-face", "-4"], "--min-face")]
    results = run_cli_batch([["core.faces", "scan", photos, "--out", tmp_path / "out", *flags]
                             for flags, _ in cases])
    for (_, flag), result in zip(cases, results, strict=True):
        assert_refused(result, flag)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
