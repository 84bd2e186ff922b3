"""Bad StyleGAN2 inputs (issue 10), each through a command line as a user would run it: damaged and foreign
files, malicious pickles (plain, inside a zip ``torch.save``, legacy ``torch.save``) x every StyleGAN2 loader,
out-of-bounds configs, bad flags and training data, read-only and full output folders. Every case must end
in one stderr line and a non-zero exit, never run a payload, and never claim a file it did not write.
Every corpus file is generated here; nothing is committed."""

from __future__ import annotations

import copy
import http.server
import io
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core import stylegan2 as sg
from core.stylegan2.training import TrainConfig, Trainer
from tests.bad_inputs.conftest import (
    CliResult,
    assert_refused,
    malicious_bytes,
    malicious_payload,
    run_cli,
    run_cli_batch,
)
from tests.official_pickle import network_pickle_bytes

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]  # ~110 CLI runs

SG, TRAIN = "core.stylegan2", "core.stylegan2.training"
MODULE_SRC_MARKER = Path("/tmp/custom-cast-stylegan2-module-src-ran")  # official pickles' embedded source
TINY_TRAIN = ["--res", "8", "--z-dim", "8", "--w-dim", "8", "--channel-base", "64", "--channel-max", "8",
              "--batch", "2", "--kimg", "0.002", "--snap-kimg", "0.002", "--threads", "1"]


# -- corpus builders ---------------------------------------------------------------------------------------


def _tiny_generator() -> sg.Generator:
    return sg.random_generator(8, z_dim=8, w_dim=8, channel_max=8, mapping_layers=1, seed=0)


def _project_checkpoint(**config_changes) -> dict:
    G = _tiny_generator()
    ckpt = {"model": {k: v.clone() for k, v in G.state_dict().items()},
            "config": copy.deepcopy(G.init_kwargs), "step": 1, "version": sg.CHECKPOINT_VERSION}
    for key, value in config_changes.items():
        target = ckpt["config"]
        *parents, leaf = key.split(".")
        for p in parents:
            target = target[p]
        target[leaf] = value
    return ckpt


def _network_pickle(init_kwargs: dict | None = None) -> bytes:
    """An official-format network pickle of a tiny generator; its embedded module source, if a loader ever
    ran it, would leave MODULE_SRC_MARKER behind."""
    return network_pickle_bytes(_tiny_generator(), init_kwargs,
                                module_src=f"open({str(MODULE_SRC_MARKER)!r}, 'w').close()")


def _torch_bytes(obj, legacy: bool = False) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


def _training_checkpoint(**config_changes) -> dict:
    cfg = TrainConfig(resolution=8, z_dim=8, w_dim=8, g_channel_base=64, g_channel_max=8, d_channel_base=64,
                      d_channel_max=8, batch_size=2)
    ckpt = Trainer(cfg, np.zeros((2, 8, 8, 3), np.uint8)).state_dict()
    ckpt["config"].update(config_changes)
    return ckpt


def _image_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


def _malicious_bytes(kind: str, container: str, marker: Path) -> bytes:
    # The shared builders (conftest); a bare "pickle" here is the checkpoint-like dict, as an official
    # network pickle is a dict of networks.
    return malicious_bytes(kind, "pickle-in-dict" if container == "pickle" else container, marker)


# -- running the loaders -----------------------------------------------------------------------------------


def _loader_args(loader: str, file: Path, work: Path) -> list:
    """CLI arguments that make ``loader`` open ``file``; each loader gets its own folder under ``work``."""
    where = work / loader
    where.mkdir(parents=True)
    if loader == "info":
        target = where / file.name
        shutil.copy(file, target)
        return [SG, "info", target]
    run = where / "run"
    run.mkdir()
    shutil.copy(file, run / "checkpoint.pt")
    if loader == "train-resume":
        return [TRAIN, "--resume", "--out", run, "--data", where / "unused.npz", *TINY_TRAIN]
    assert loader == "export-only"
    return [TRAIN, "--out", run, "--export-only", "--export", where / "exported.pt"]


LOADERS = ("info", "train-resume", "export-only")


def _run_all(arg_lists: list[list]) -> list[CliResult]:
    """Run several refused commands in one interpreter: most of a separate run would be importing torch
    (the batch runs each command's real ``__main__`` with its own argv and file descriptors)."""
    return run_cli_batch(arg_lists)


def _claimed_paths(result: CliResult) -> list[Path]:
    """Files a command says it wrote ("exported ... to X", "saved X")."""
    text = result.stdout + "\n" + result.stderr
    found = re.findall(r"^(?:exported .*? to|saved) (\S+)$", text, re.M)
    return [Path(p) for p in found]


def assert_claims_hold(result: CliResult) -> None:
    for path in _claimed_paths(result):
        assert path.is_file() and path.stat().st_size > 0, f"reported as written but missing: {path}"


def _refused_everywhere(file: Path, work: Path, *words: str) -> list[str]:
    results = _run_all([_loader_args(loader, file, work) for loader in LOADERS])
    lines = []
    for loader, result in zip(LOADERS, results):
        try:
            lines.append(assert_refused(result, *words))
        except AssertionError as e:
            raise AssertionError(f"{loader}: {e}") from None
        assert_claims_hold(result)
        assert not (work / loader / "exported.pt").exists()
    return lines


# -- malicious pickles x every loader ----------------------------------------------------------------------

PAYLOADS = ("os.system", "eval", "exec", "subprocess.Popen", "importlib")
CONTAINERS = ("pickle", "zip-torch-save", "legacy-torch-save")


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("kind", PAYLOADS)
def test_malicious_pickle_never_runs_in_any_loader(tmp_path, kind, container):
    marker = tmp_path / "PWNED"
    evil = tmp_path / ("evil.pkl" if container == "pickle" else "evil.pt")
    evil.write_bytes(_malicious_bytes(kind, container, marker))
    lines = _refused_everywhere(evil, tmp_path / "work")
    assert not marker.exists(), f"the {kind} payload ran"
    assert all("weights_only=false" not in line.lower() for line in lines)  # never advise unsafe loading
    for line in lines:
        assert re.search(r"refused|not a tensor|beyond plain tensors|Python object", line, re.I), line


def test_malicious_training_images_never_run(tmp_path):
    """An .npz whose 'images' is a pickled object array: np.load(allow_pickle=False) refuses it."""
    marker = tmp_path / "PWNED"
    args = []
    for kind in PAYLOADS:
        data = tmp_path / f"{kind}.npz"
        arr = np.empty(1, dtype=object)
        arr[0] = malicious_payload(kind, marker)
        np.savez(data, images=arr)
        args.append([TRAIN, "--data", data, "--out", tmp_path / f"run_{kind}", *TINY_TRAIN])
    for result in _run_all(args):
        assert_refused(result, "npz")
        assert_claims_hold(result)
    assert not marker.exists()


# -- damaged and foreign files x every loader --------------------------------------------------------------

DAMAGED = {
    "empty": (lambda: b"", "empty"),
    "truncated-pickle": (lambda: _network_pickle()[:700], ""),
    "truncated-zip": (lambda: _torch_bytes(_project_checkpoint())[:900], ""),
    "renamed-png": (lambda: _image_bytes("PNG"), "PNG"),
    "renamed-jpeg": (lambda: _image_bytes("JPEG"), "JPEG"),
    "text": (lambda: b"model: stylegan2\nz_dim: 512\n", "text"),
    "random-bytes": (lambda: bytes(range(7, 200)), ""),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_or_foreign_file_is_one_clear_line_in_every_loader(tmp_path, case):
    make, word = DAMAGED[case]
    bad = tmp_path / ("model.pkl" if "pickle" in case else "model.pt")
    bad.write_bytes(make())
    _refused_everywhere(bad, tmp_path / "work", *([word] if word else []))


def test_foreign_checkpoints_are_named(tmp_path):
    fomm = tmp_path / "fomm.pt"
    fomm.write_bytes(_torch_bytes({"generator": {}, "kp_detector": {}, "optimizer_generator": {}}))
    generator = tmp_path / "generator.pt"
    generator.write_bytes(_torch_bytes(_project_checkpoint()))
    train_ckpt = tmp_path / "train.pt"
    train_ckpt.write_bytes(_torch_bytes(_training_checkpoint()))
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(generator, run / "checkpoint.pt")
    r_fomm, r_train, r_resume = _run_all([[SG, "info", fomm], [SG, "info", train_ckpt],
                                          [TRAIN, "--resume", "--out", run, "--data", run, *TINY_TRAIN]])
    assert_refused(r_fomm, "First Order Motion Model")
    assert_refused(r_train, "training checkpoint", "--export-only")
    assert_refused(r_resume, "not a StyleGAN2 training checkpoint")


def test_info_on_a_folder_says_it_is_a_folder(tmp_path):
    line = assert_refused(run_cli(SG, "info", tmp_path), "folder")
    assert "not found" not in line.lower()


# -- configs out of bounds (checked before anything is built) ----------------------------------------------

CONFIGS = {
    "z_dim-huge": ({"z_dim": 10 ** 6}, "z_dim"),
    "z_dim-float": ({"z_dim": 1e6}, "z_dim"),
    "z_dim-zero": ({"z_dim": 0}, "z_dim"),
    "w_dim-negative": ({"w_dim": -5}, "w_dim"),
    "resolution-2^20": ({"img_resolution": 2 ** 20}, "img_resolution"),
    "resolution-not-power-of-two": ({"img_resolution": 48}, "power of two"),
    "channel_max-negative": ({"synthesis_kwargs.channel_max": -1}, "channel_max"),
    "channel_base-huge": ({"synthesis_kwargs.channel_base": 10 ** 12}, "channel_base"),
    "mapping-layers-huge": ({"mapping_kwargs.num_layers": 10 ** 6}, "num_layers"),
    "mapping-not-a-dict": ({"mapping_kwargs": "eight"}, "mapping_kwargs"),
    "unknown-option": ({"synthesis_kwargs.magic": 1}, "unknown"),
    "shapes-disagree": ({"z_dim": 16}, "do not fit"),
}


def test_out_of_bounds_project_configs_are_refused_before_building(tmp_path):
    args = []
    for name, (changes, _) in CONFIGS.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(_torch_bytes(_project_checkpoint(**changes)))
        args.append([SG, "info", path])
    for (name, (_, word)), result in zip(CONFIGS.items(), _run_all(args)):
        try:
            assert_refused(result, word)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None


def test_out_of_bounds_pickle_configs_are_refused(tmp_path):
    base = _tiny_generator().init_kwargs
    cases = {"z_dim": {**base, "z_dim": 10 ** 6}, "img_resolution": {**base, "img_resolution": 2 ** 20},
             "w_dim": {**base, "w_dim": -1}}
    args = []
    for name, kwargs in cases.items():
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(_network_pickle(kwargs))
        args.append([SG, "info", path])
    good = tmp_path / "good.pkl"
    good.write_bytes(_network_pickle())
    args.append([SG, "info", good])
    *bad, ok = _run_all(args)
    for name, result in zip(cases, bad):
        assert_refused(result, name)
    assert ok.returncode == 0 and "official-pickle, 8 px" in ok.stdout, ok.stderr  # the format itself is fine
    assert not MODULE_SRC_MARKER.exists()  # the embedded module source was never executed


def test_out_of_bounds_training_configs_are_refused(tmp_path):
    args = []
    for name, changes in (("resolution", {"resolution": 2 ** 20}), ("batch_size", {"batch_size": -1}),
                          ("g_lr", {"g_lr": float("inf")})):
        run = tmp_path / name
        run.mkdir()
        (run / "checkpoint.pt").write_bytes(_torch_bytes(_training_checkpoint(**changes)))
        args.append([TRAIN, "--resume", "--out", run, "--data", tmp_path / "unused.npz", *TINY_TRAIN])
    run = tmp_path / "export"
    run.mkdir()
    ckpt = _training_checkpoint()
    ckpt["generator_config"]["z_dim"] = 10 ** 6
    (run / "checkpoint.pt").write_bytes(_torch_bytes(ckpt))
    args.append([TRAIN, "--out", run, "--export-only", "--export", tmp_path / "exported.pt"])
    results = _run_all(args)
    for word, result in zip(("resolution", "batch_size", "g_lr", "z_dim"), results):
        assert_refused(result, word)
    assert not (tmp_path / "exported.pt").exists()  # nothing exported from a bad config


@pytest.mark.parametrize("flags,word", [
    (["--res", "48"], "power of two"), (["--res", str(2 ** 20)], "resolution"),
    (["--batch", "0"], "batch_size"),
    (["--kimg", "-1"], "kimg"), (["--z-dim", "1000000"], "z_dim"), (["--threads", "0"], "--threads"),
    (["--lr", "nan"], "g_lr"), (["--export-only"], "--export"), (["--res", "abc"], "invalid int"),
])
def test_bad_training_flags(tmp_path, flags, word):
    # flags come last so they override TINY_TRAIN's values
    result = run_cli(TRAIN, "--data", tmp_path / "unused.npz", "--out", tmp_path / "run", *TINY_TRAIN,
                     *flags)
    assert_refused(result, word)
    assert not (tmp_path / "run").exists()


# -- training data -----------------------------------------------------------------------------------------


def test_bad_training_data(tmp_path):
    cases = {}
    cases["missing"] = (tmp_path / "missing.npz", "not found")
    text = tmp_path / "faces.txt"
    text.write_text("a list of faces\n")
    cases["text-file"] = (text, "neither")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    cases["empty-npz"] = (empty, "not a readable .npz")
    np.savez(tmp_path / "noimages.npz", pics=np.zeros((2, 8, 8, 3), np.uint8))
    cases["npz-without-images"] = (tmp_path / "noimages.npz", "'images'")
    np.savez(tmp_path / "float.npz", images=np.zeros((2, 8, 8, 3), np.float32))
    cases["float-images"] = (tmp_path / "float.npz", "uint8")
    np.savez(tmp_path / "zero.npz", images=np.zeros((0, 8, 8, 3), np.uint8))
    cases["no-images-in-npz"] = (tmp_path / "zero.npz", "no images")
    (tmp_path / "nofaces").mkdir()
    (tmp_path / "nofaces" / "notes.txt").write_text("x")
    cases["folder-without-images"] = (tmp_path / "nofaces", "No images")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jpg").write_text("not really a jpeg")
    (broken / "b.png").write_bytes(b"")
    (broken / "c.png").write_bytes(_image_bytes("PNG")[:40])
    cases["only-broken-images"] = (broken, "could be read")
    args = [[TRAIN, "--data", data, "--out", tmp_path / f"run_{name}", *TINY_TRAIN]
            for name, (data, _) in cases.items()]
    for (name, (_, word)), result in zip(cases.items(), _run_all(args)):
        try:
            assert_refused(result, word)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None
        assert not (tmp_path / f"run_{name}" / "checkpoint.pt").exists()


def test_a_folder_with_some_broken_images_trains_and_says_so(tmp_path):
    data = tmp_path / "faces"
    data.mkdir()
    for i in range(3):
        Image.new("RGB", (12, 10), (40 * i, 80, 120)).save(data / f"{i}.png")
    (data / "broken.jpg").write_text("not an image")
    result = run_cli(TRAIN, "--data", data, "--out", tmp_path / "run", *TINY_TRAIN,
                     "--export", tmp_path / "g.pt")
    assert result.returncode == 0, result.stderr
    assert "skipped 1 unreadable" in result.stdout
    assert_claims_hold(result)
    assert _claimed_paths(result) == [tmp_path / "g.pt"]
    assert sg.load_generator(tmp_path / "g.pt").img_resolution == 8


# -- output folders that refuse writes ---------------------------------------------------------------------


@pytest.fixture
def npz_data(tmp_path) -> Path:
    path = tmp_path / "faces.npz"
    np.savez(path, images=np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
    return path


def test_read_only_outputs(tmp_path, readonly_dir, npz_data):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(_torch_bytes(_training_checkpoint()))
    r_train, r_export, r_resume_export = _run_all([
        [TRAIN, "--data", npz_data, "--out", readonly_dir / "run", *TINY_TRAIN],
        [TRAIN, "--out", run, "--export-only", "--export", readonly_dir / "g.pt"],
        [TRAIN, "--data", npz_data, "--out", tmp_path / "run2", *TINY_TRAIN,
         "--export", readonly_dir / "g2.pt"],
    ])
    for result in (r_train, r_export, r_resume_export):
        assert_refused(result, "read-only")
        assert_claims_hold(result)
    assert not any(readonly_dir.iterdir())


def test_full_output_folder_keeps_no_partial_files(full_dir, npz_data):
    run = full_dir / "run"
    # default channel widths: the checkpoint (several MB) cannot fit in the 256 KiB folder
    result = run_cli(TRAIN, "--data", npz_data, "--out", run, "--res", "8", "--batch", "2", "--kimg", "0.002",
                     "--snap-kimg", "0.002", "--threads", "1", "--export", full_dir / "g.pt")
    assert_refused(result, "no space")
    assert_claims_hold(result)
    assert not (run / "checkpoint.pt").exists() and not (full_dir / "g.pt").exists()
    assert not list(run.glob(".*.tmp"))  # the temporary file was removed


class _OneFile(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        body = b"\x80\x04" + b"x" * 5000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_download_into_a_read_only_folder(readonly_dir):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OneFile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/net.pkl"
        result = run_cli(SG, "download", "ffhq-1024", "--dest", readonly_dir, "--url", url,
                         "--accept-licence")
        assert_refused(result, "read-only")
        assert_claims_hold(result)
        assert_refused(run_cli(SG, "download", "vox-256", "--dest", readonly_dir),
                       "not an official StyleGAN2")
    finally:
        server.shutdown()
        server.server_close()


# -- the good paths still work (and their claims hold) -----------------------------------------------------


def test_valid_files_still_open_and_export(tmp_path):
    good = tmp_path / "g.pt"
    good.write_bytes(_torch_bytes(_project_checkpoint()))
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(_torch_bytes(_training_checkpoint()))
    r_info, r_export = _run_all([[SG, "info", good],
                                 [TRAIN, "--out", run, "--export-only", "--export", tmp_path / "out.pt"]])
    assert r_info.returncode == 0 and "project, 8 px" in r_info.stdout, r_info.stderr
    assert r_export.returncode == 0, r_export.stderr
    assert _claimed_paths(r_export) == [tmp_path / "out.pt"]
    assert_claims_hold(r_export)
    assert sg.load_generator(tmp_path / "out.pt").z_dim == 8
