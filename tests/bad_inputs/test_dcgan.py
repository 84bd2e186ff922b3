"""Bad DCGAN inputs (issue 10): runs never lost, small folders train, 16-bit greys, bounded configs, and
one-line errors for every broken checkpoint, flag and output folder. Every corpus file is written here.

Every case runs the real command line, ``python -m core.dcgan ...``. Importing torch costs ~1.7 s a
process, so most cases share one long-lived Python process (:class:`CliWorker`) that runs each
invocation as the interpreter would (``runpy`` of ``core.dcgan.__main__``, with its own argv, exit code
and stdout/stderr captured at the file-descriptor level, so even C-level output counts). The corpus
run and the smallest refusal still go through a fresh ``python -m core.dcgan`` process of their own.
"""

from __future__ import annotations

import json
import os
import pickle
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core import dcgan
from core.checkpoint import safe_torch_load
from tests.bad_inputs.conftest import ROOT, CliResult, assert_refused, run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["--arch", "tutorial", "--size", "32", "--latent-dim", "8", "--g-width", "4", "--d-width", "4",
        "--batch-size", "4", "--swd-every", "0", "--snapshot-every", "0", "--log-every", "1",
        "--threads", "1"]


# Runs requests from stdin, one JSON line each: ``python -m MODULE ARGS`` as the interpreter would
# (cli_batch.run_one: fds 1 and 2 redirected to files for the call); answers one JSON line on the original
# stdout.
_WORKER = r"""
import json, os, sys
from tests.bad_inputs.cli_batch import run_one
answer = os.fdopen(os.dup(1), "w")
for line in sys.stdin:
    module, args = json.loads(line)
    result = run_one(module, args)
    answer.write(json.dumps([result["returncode"], result["stdout"], result["stderr"]]) + "\n")
    answer.flush()
"""


class CliWorker:
    """One Python process that runs ``python -m MODULE ARGS`` invocations one after another (see above).

    Same environment as ``conftest.run_cli``. If the process dies (a segfault), that call reports the
    signal as its exit code, as a fresh process would, and the next call starts a new worker.
    """

    def __init__(self, module: str):
        self.module = module
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # the worker's own stderr, outside every call

    def _start(self) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        env.pop("CUSTOM_CAST_DEBUG", None)
        return subprocess.Popen([sys.executable, "-c", _WORKER], cwd=ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)

    def __call__(self, *args: str | os.PathLike, timeout: float = 300) -> CliResult:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        self.proc.stdin.write(json.dumps([self.module, [str(a) for a in args]]) + "\n")
        self.proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                self._kill()
                command = " ".join(map(str, args))
                raise TimeoutError(f"python -m {self.module} {command} took over {timeout} s")
        line = self.proc.stdout.readline()
        if not line:  # the process died inside the call
            code = self.proc.wait()
            self.proc = None
            return CliResult(code, "", f"worker process died (exit {code})")
        code, stdout, stderr = json.loads(line)
        return CliResult(code, stdout, stderr)

    def _kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def close(self) -> None:
        self._kill()
        self.log.close()


@pytest.fixture(scope="module")
def cli():
    """``cli(ARGS...)``: ``python -m core.dcgan ARGS...`` in the shared worker process."""
    worker = CliWorker("core.dcgan")
    yield worker
    worker.close()


def _faces(folder: Path, n: int, size: int = 32) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    for i in range(n):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"face_{i:03d}.png")
    return folder


def _train(cli, data: Path, out: Path, *extra: str, steps: int = 2):
    return cli("train", "--data", data, "--out", out, *TINY, "--steps", str(steps), *extra)


def _fresh_process(*args):
    """``python -m core.dcgan ARGS`` in a process of its own (the entry point itself, end to end)."""
    return run_cli("core.dcgan", *args)


def _assert_ok(result) -> None:
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A finished 2-step tiny run (its checkpoint is the base of the damaged ones) and its images."""
    root = tmp_path_factory.mktemp("dcgan_corpus")
    data = _faces(root / "faces", 8)
    run = root / "run"
    _assert_ok(_train(_fresh_process, data, run))
    return {"root": root, "data": data, "run": run, "ckpt": run / dcgan.CHECKPOINT_NAME}


def _copy_run(corpus, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(corpus["run"], run, ignore=shutil.ignore_patterns(dcgan.LOCK_NAME))
    return run


# -- data loss and wrong results -------------------------------------------------------------------------


def test_fresh_train_refuses_to_replace_an_existing_run(cli, corpus, tmp_path):
    run = _copy_run(corpus, tmp_path)
    before = (run / dcgan.METRICS_NAME).read_bytes()
    line = assert_refused(_train(cli, corpus["data"], run, steps=1), "already holds a run", "--resume",
                          "--overwrite")
    assert str(run) in line
    assert safe_torch_load(run / dcgan.CHECKPOINT_NAME)["step"] == 2  # nothing was deleted
    assert (run / dcgan.METRICS_NAME).read_bytes() == before
    assert json.loads((run / dcgan.STATUS_NAME).read_text())["state"] == "finished"  # status kept too
    result = _train(cli, corpus["data"], run, "--overwrite", steps=1)
    _assert_ok(result)
    assert safe_torch_load(run / dcgan.CHECKPOINT_NAME)["step"] == 1
    assert [r["step"] for r in dcgan.read_metrics(run)] == [1]


def test_small_folder_trains_with_a_reduced_batch(cli, tmp_path):
    data = _faces(tmp_path / "faces", 56)
    tiny = list(TINY)
    tiny[tiny.index("--batch-size") + 1] = "64"  # the default batch: one more than the folder holds
    result = cli("train", "--data", data, "--out", tmp_path / "run", *tiny, "--steps", "1")
    _assert_ok(result)
    assert "batch size reduced from 64 to 56" in result.stdout.lower()
    config = json.loads((tmp_path / "run" / dcgan.CONFIG_NAME).read_text())
    assert config["batch_size"] == 56 and "reduced" in config["notices"][0]
    assert safe_torch_load(tmp_path / "run" / dcgan.CHECKPOINT_NAME)["config"]["batch_size"] == 56
    status = json.loads((tmp_path / "run" / dcgan.STATUS_NAME).read_text())
    assert status["state"] == "finished" and "reduced" in status["notices"][0]


def test_too_few_images_is_one_clear_line(tmp_path):
    data = _faces(tmp_path / "faces", 1)
    assert_refused(_train(_fresh_process, data, tmp_path / "run"), "only 1 usable image", "add images")


def test_16_bit_greyscale_png_is_grey_not_white(tmp_path):
    Image.fromarray(np.full((40, 48), 32768, np.uint16)).save(tmp_path / "grey16.png")
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "ramp16.png")
    grey = dcgan.load_dataset(tmp_path / "grey16.png", 32).images
    assert grey.shape == (1, 3, 32, 32) and int(grey.min()) == int(grey.max()) == 128
    ramp8 = dcgan.load_dataset(tmp_path / "ramp16.png", 32).images[0, 0]
    assert int(ramp8.min()) < 10 and 240 < int(ramp8.max()) < 256  # the full range survives, not clipped


# -- checkpoints: bounds before building -----------------------------------------------------------------


def _with_config(corpus, tmp_path, name: str, **model_over) -> Path:
    ckpt = safe_torch_load(corpus["ckpt"])
    ckpt["config"]["model"].update(model_over)
    path = tmp_path / name
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("field,value", [("latent_dim", 10**6), ("g_width", 2**20), ("d_width", -4),
                                         ("size", 2**20), ("g_width", "64")])
def test_checkpoint_config_is_bounded_before_any_network_is_built(cli, corpus, tmp_path, field, value):
    path = _with_config(corpus, tmp_path, "evil.pt", **{field: value})
    started = time.monotonic()
    line = assert_refused(cli("sample", "--checkpoint", path, "--out", tmp_path / "g.png"))
    assert field in line, line
    assert time.monotonic() - started < 120  # no multi-gigabyte allocation on the way
    assert not (tmp_path / "g.png").exists()


def test_checkpoint_weights_must_fit_the_config(cli, corpus, tmp_path):
    path = _with_config(corpus, tmp_path, "wider.pt", g_width=8)  # config and weights disagree
    line = assert_refused(cli("export", "--checkpoint", path, "--out", tmp_path / "g.pt"),
                          "do not fit")
    assert "with another shape" in line and not (tmp_path / "g.pt").exists()


def test_resume_validates_the_checkpoint_config(cli, corpus, tmp_path):
    run = _copy_run(corpus, tmp_path)
    ckpt = safe_torch_load(run / dcgan.CHECKPOINT_NAME)
    ckpt["config"]["model"]["latent_dim"] = 10**6
    torch.save(ckpt, run / dcgan.CHECKPOINT_NAME)
    assert_refused(_train(cli, corpus["data"], run, "--resume", steps=4), "latent_dim")


# -- tracebacks that must become one line ----------------------------------------------------------------


def _bad_checkpoints(corpus, tmp_path) -> dict[str, Path]:
    good = corpus["ckpt"].read_bytes()
    files = {"missing": tmp_path / "missing.pt", "empty": tmp_path / "empty.pt",
             "text": tmp_path / "notes.pt", "truncated": tmp_path / "truncated.pt",
             "png": tmp_path / "face.pt", "folder": corpus["run"]}
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is not a checkpoint\n")
    files["truncated"].write_bytes(good[: len(good) // 3])
    Image.new("RGB", (8, 8)).save(files["png"], format="PNG")
    files["state_dict_only"] = tmp_path / "state.pt"
    torch.save(safe_torch_load(corpus["ckpt"])["model"], files["state_dict_only"])
    files["fomm"] = tmp_path / "fomm.pt"
    torch.save({"generator": {"w": torch.zeros(2)}, "kp_detector": {"w": torch.zeros(2)}}, files["fomm"])
    files["list"] = tmp_path / "list.pt"
    torch.save([1, 2, 3], files["list"])
    return files


def test_bad_or_missing_checkpoint_is_one_line(cli, corpus, tmp_path):
    for kind, path in _bad_checkpoints(corpus, tmp_path).items():
        # export went through no check at all; sample shares the same reader (three kinds suffice).
        for command in ("export", "sample") if kind in ("missing", "truncated", "fomm") else ("export",):
            out = tmp_path / f"{kind}.{command}.out"
            line = assert_refused(cli(command, "--checkpoint", path, "--out", out))
            assert not out.exists(), kind
            if kind == "fomm":
                assert "first order motion" in line.lower()


@pytest.mark.parametrize("n", ["0", "-3"])
def test_sample_count_out_of_range(cli, corpus, tmp_path, n):
    assert_refused(cli("sample", "--checkpoint", corpus["ckpt"], "--n", n,
                           "--out", tmp_path / "g.png"), "--n")
    assert not (tmp_path / "g.png").exists()


def test_sample_and_export_to_read_only_folder(cli, corpus, readonly_dir):
    assert_refused(cli("sample", "--checkpoint", corpus["ckpt"], "--out",
                           readonly_dir / "g.png"), "read-only")
    assert_refused(cli("export", "--checkpoint", corpus["ckpt"], "--out",
                           readonly_dir / "sub" / "g.pt"), "read-only")


def test_sample_and_export_report_only_what_they_wrote(cli, corpus, tmp_path):
    result = cli("sample", "--checkpoint", corpus["ckpt"], "--n", "4", "--out",
                     tmp_path / "g.png")
    _assert_ok(result)
    assert str(tmp_path / "g.png") in result.stdout
    assert Image.open(tmp_path / "g.png").size == (256, 256)  # labelled, so enlarged to 256 px
    result = cli("export", "--checkpoint", corpus["ckpt"], "--out", tmp_path / "g.pt")
    _assert_ok(result)
    assert set(safe_torch_load(tmp_path / "g.pt")) == {"model", "config", "step", "fixed_noise", "version"}


def test_resume_on_a_fomm_checkpoint(cli, corpus, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"generator": {"w": torch.zeros(2)}, "kp_detector": {"w": torch.zeros(2)},
                "optimizer_generator": {}}, run / dcgan.CHECKPOINT_NAME)
    assert_refused(_train(cli, corpus["data"], run, "--resume"), "first order motion model",
                   "not a resumable")


@pytest.mark.parametrize("flag", ["--checkpoint-every", "--log-every", "--swd-images", "--n-fixed"])
def test_zero_flags_are_refused(cli, corpus, tmp_path, flag):
    line = assert_refused(_train(cli, corpus["data"], tmp_path / "run", flag, "0"))
    assert flag[2:].replace("-", "_") in line, line
    assert not (tmp_path / "run" / dcgan.CHECKPOINT_NAME).exists()


def test_missing_and_broken_config_file(cli, corpus, tmp_path):
    assert_refused(_train(cli, corpus["data"], tmp_path / "run", "--config", tmp_path / "nope.json"),
                   "--config", "no such file")
    (tmp_path / "bad.json").write_text("{not json")
    assert_refused(_train(cli, corpus["data"], tmp_path / "run", "--config", tmp_path / "bad.json"),
                   "not valid JSON")


def test_train_into_read_only_folder(cli, corpus, readonly_dir):
    assert_refused(_train(cli, corpus["data"], readonly_dir / "run"), "read-only")


def test_disk_filling_mid_run_keeps_the_last_checkpoint_whole(cli, corpus, full_dir):
    # A tiny checkpoint is ~145 KB: the first fits in 256 KiB, the second cannot be written beside it.
    run = full_dir / "run"
    result = _train(cli, corpus["data"], run, "--checkpoint-every", "1", steps=50)
    line = assert_refused(result, "no space left")
    assert "checkpoint" in line
    ckpt = safe_torch_load(run / dcgan.CHECKPOINT_NAME)  # loads: whole, not truncated
    assert 1 <= ckpt["step"] < 50
    assert not list(run.glob(".*.tmp"))
    g, _ = dcgan.load_generator(run / dcgan.CHECKPOINT_NAME)
    assert dcgan.sample(g, 1, 0).shape == (1, 32, 32, 3)


# -- unclear messages ------------------------------------------------------------------------------------


def test_sample_on_a_stylegan2_checkpoint_names_it(cli, tmp_path):
    path = tmp_path / "stylegan2_demo.pt"
    torch.save({"kind": "stylegan2", "model": {"mapping.fc0.weight": torch.zeros(4, 4)},
                "config": {"z_dim": 4}, "step": 10, "version": 1}, path)
    line = assert_refused(cli("sample", "--checkpoint", path, "--out", tmp_path / "g.png"),
                          "StyleGAN2")
    assert "state_dict" not in line


def test_sample_on_a_pickle_never_advises_unsafe_loading(cli, tmp_path):
    import datetime

    path = tmp_path / "network.pkl"
    path.write_bytes(pickle.dumps({"G_ema": datetime.date(2020, 1, 1)}, protocol=2))
    line = assert_refused(cli("sample", "--checkpoint", path, "--out", tmp_path / "x"),
                          "pickle")
    assert "weights_only" not in line and "trusted" not in line


def test_resume_keeps_the_runs_config_and_says_so(cli, corpus, tmp_path):
    run = _copy_run(corpus, tmp_path)
    result = _train(cli, corpus["data"], run, "--resume", "--beta1", "0.9", "--g-width", "8",
                    "--lr-g", "0.01", steps=3)
    _assert_ok(result)
    notice = next(line for line in result.stdout.splitlines() if "ignoring" in line)
    assert "beta1=0.9" in notice and "g_width=8" in notice and "lr_g" not in notice  # lr may change
    ckpt = safe_torch_load(run / dcgan.CHECKPOINT_NAME)
    cfg = ckpt["config"]
    assert ckpt["step"] == 3 and cfg["beta1"] == 0.5 and cfg["model"]["g_width"] == 4 and cfg["lr_g"] == 0.01


def test_resume_refuses_a_checkpoint_with_a_partial_config(cli, corpus, tmp_path):
    run = _copy_run(corpus, tmp_path)
    ckpt = safe_torch_load(run / dcgan.CHECKPOINT_NAME)
    ckpt["config"] = {"model": ckpt["config"]["model"], "steps": 2}  # defaults would silently fill the rest
    torch.save(ckpt, run / dcgan.CHECKPOINT_NAME)
    assert_refused(_train(cli, corpus["data"], run, "--resume", steps=3), "lacks")


def test_empty_and_non_image_folders(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "readme.txt").write_text("no faces here")
    (notes / "broken.jpg").write_bytes(b"not a jpeg")
    assert_refused(_train(cli, tmp_path / "empty", tmp_path / "run_empty"), "no images found", "face crops")
    line = assert_refused(_train(cli, notes, tmp_path / "run_notes"), "no images found", "face crops")
    assert "1 image file(s) could not be decoded" in line


def test_partial_checkpoint_writes_are_cleaned_up_on_the_next_start(cli, corpus, tmp_path):
    run = _copy_run(corpus, tmp_path)
    partial = run / ".checkpoint.pt.k3j9x2.tmp"  # what a kill -9 during the atomic write leaves
    partial.write_bytes(b"PK\x03\x04half a checkpoint")
    (run / dcgan.SNAPSHOT_DIR).mkdir(exist_ok=True)
    (run / dcgan.SNAPSHOT_DIR / ".step_0000003.png.x1.tmp").write_bytes(b"\x89PNG")
    _assert_ok(_train(cli, corpus["data"], run, "--resume", steps=3))
    assert not partial.exists() and not list((run / dcgan.SNAPSHOT_DIR).glob(".*.tmp"))
    assert safe_torch_load(run / dcgan.CHECKPOINT_NAME)["step"] == 3


def test_timelapse_refuses_bad_runs_and_flags_in_one_line(cli, corpus, tmp_path):
    out = tmp_path / "t.mp4"
    assert_refused(cli("timelapse", "--run", tmp_path / "missing", "--out", out), "0 snapshot(s)")
    assert_refused(cli("timelapse", "--run", corpus["run"], "--out", out, "--fps", "0"), "--fps")
    assert_refused(cli("timelapse", "--run", corpus["run"], "--out", tmp_path / "t.txt"), ".mp4 or .gif")
    assert not out.exists() and not (tmp_path / "t.txt").exists()
