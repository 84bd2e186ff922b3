"""Bad inputs that cut across the families (issue 10): every malicious pickle x every loader of the project,
every command line's unknown flag and missing argument, and the one image reader on every odd image.

Every corpus file is generated here. The command lines run in batches, one interpreter per batch
(:func:`run_cli_batch`: each command still runs its module's ``__main__`` with its own argv and its
own captured stdout/stderr), a few batches at once, so ~300 commands cost a handful of torch imports.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import ASSETS_DIR
from tests.bad_inputs.conftest import (
    PAYLOAD_CONTAINERS,
    PAYLOAD_KINDS,
    assert_refused,
    malicious_corpus,
    malicious_payload,
    run_cli,
    run_cli_batch,
    run_concurrently,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_SG = ["--res", "8", "--z-dim", "8", "--w-dim", "8", "--channel-base", "64", "--channel-max", "8",
           "--batch", "2", "--kimg", "0.002", "--snap-kimg", "0.002", "--threads", "1"]
TINY_DCGAN = ["--arch", "tutorial", "--size", "32", "--latent-dim", "8", "--g-width", "4", "--d-width", "4",
              "--batch-size", "4", "--swd-every", "0", "--snapshot-every", "0", "--log-every", "1",
              "--threads", "1", "--steps", "2"]
UNSAFE_ADVICE = re.compile(r"weights_only\s*=\s*False|trust", re.I)


def _bundled_face(size: int) -> np.ndarray:
    import cv2

    faces = np.load(ASSETS_DIR / "demo_faces" / "faces64.npz")["images"]
    return cv2.resize(faces[0], (size, size), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Good inputs the loaders need beside the bad checkpoint: a face, a one-frame driving video, images."""
    from core import video

    d = tmp_path_factory.mktemp("cross-inputs")
    face = _bundled_face(256)
    Image.fromarray(face).save(d / "face.png")
    assert video.write_mp4([face], d / "one_frame.mp4", fps=25) == 1
    (d / "faces").mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(d / "faces" / f"{i}.png")
    return {"face": d / "face.png", "one_frame": d / "one_frame.mp4", "faces": d / "faces"}


# -- every malicious pickle x every loader ---------------------------------------------------------------


def _in_run_folder(file: Path, where: Path) -> Path:
    run = where / "run"
    run.mkdir(parents=True)
    shutil.copy(file, run / "checkpoint.pt")
    return run


def _loader_commands(loader: str, file: Path, where: Path, inputs: dict) -> tuple[list, list[Path]]:
    """The command line that makes ``loader`` open ``file``, and the outputs it must not write."""
    where.mkdir(parents=True)
    out = where / "out"
    if loader == "stylegan2 info":
        return ["core.stylegan2", "info", file], []
    if loader == "stylegan2.train --resume":
        run = _in_run_folder(file, where)
        return ["core.stylegan2.training", "--resume", "--out", run, "--data", where / "unused.npz",
                *TINY_SG], \
            [run / "log.txt"]
    if loader == "stylegan2.train --export-only":
        run = _in_run_folder(file, where)
        return ["core.stylegan2.training", "--out", run, "--export-only", "--export", out], [out]
    if loader == "dcgan sample":
        return ["core.dcgan", "sample", "--checkpoint", file, "--out", out], [out]
    if loader == "dcgan export":
        return ["core.dcgan", "export", "--checkpoint", file, "--out", out], [out]
    if loader == "dcgan train --resume":
        run = _in_run_folder(file, where)
        return ["core.dcgan", "train", "--data", inputs["faces"], "--out", run, "--resume", *TINY_DCGAN], \
            [run / "metrics.jsonl"]
    if loader in ("fomm animate --checkpoint", "animate animate --checkpoint"):
        module = loader.split()[0]
        return [f"core.{module}", "animate", "--engine", "fomm", "--checkpoint", file, "--source",
                inputs["face"], "--no-crop-source", "--driving", inputs["one_frame"], "--out", out], [out]
    assert loader == "showcase", loader
    return ["core.showcase", file, "--out", out, "--candidates", "1", "--count", "1", "--pool", "1",
            "--pairs", "0"], [out]


LOADER_BATCHES = (  # one interpreter per batch; the batches run concurrently
    ("stylegan2 info", "stylegan2.train --resume", "stylegan2.train --export-only"),
    ("dcgan sample", "dcgan export", "dcgan train --resume"),
    ("fomm animate --checkpoint", "animate animate --checkpoint"),
    ("showcase",),
)


def _show_with_malicious_models(show_dir: Path, files: dict[str, Path], video: Path) -> int:
    """A show whose face scenes load each file as a StyleGAN2 model and whose animation scenes load it as
    FOMM weights (``core.show prepare`` is the show's loader)."""
    from core.show import store

    store.create_show(show_dir, "hostile models")
    for name, file in files.items():
        store.add_scene(show_dir, {"kind": "face", "title": name, "model": str(file), "seed": 1})
        store.add_scene(show_dir, {"kind": "animation", "title": name, "source_kind": "bundled",
                                   "source": "0", "driving_kind": "video", "driving": str(video),
                                   "engine": "fomm", "checkpoint": str(file)})
    return 2 * len(files)


@pytest.mark.slow
def test_malicious_pickles_never_run_in_any_loader(tmp_path, inputs):
    markers = tmp_path / "markers"
    batches, expected = [], []  # expected: (loader, payload name, outputs that must not exist)
    for loaders in LOADER_BATCHES:
        commands = []
        for loader in loaders:
            slug = re.sub(r"\W+", "_", loader)
            for name, file in malicious_corpus(tmp_path / "corpus" / slug, markers).items():
                command, outputs = _loader_commands(loader, file, tmp_path / "work" / slug / name, inputs)
                commands.append(command)
                expected.append((loader, name, outputs))
        batches.append(commands)
    show_files = malicious_corpus(tmp_path / "corpus" / "show", markers)
    n_scenes = _show_with_malicious_models(tmp_path / "show", show_files, inputs["one_frame"])

    jobs = [lambda c=c: run_cli_batch(c) for c in batches]
    jobs.append(lambda: run_cli("core.show", "prepare", tmp_path / "show"))
    *batch_results, show = run_concurrently(jobs)

    results = [r for batch in batch_results for r in batch]
    assert len(results) == len(expected) == 9 * len(PAYLOAD_KINDS) * len(PAYLOAD_CONTAINERS)
    for (loader, name, outputs), result in zip(expected, results):
        try:
            line = assert_refused(result)
            assert not UNSAFE_ADVICE.search(line), f"advises unsafe loading: {line}"
            for out in outputs:
                assert not out.exists(), f"wrote {out}"
        except AssertionError as e:
            raise AssertionError(f"{loader} on {name}: {e}") from None
    ran = sorted(p.name for p in markers.iterdir())
    assert not ran, f"payloads ran: {ran}"
    assert not list((tmp_path / "show" / "media").glob("*.*")), "prepare stored media from a hostile model"
    assert show.returncode == 2 and "Traceback" not in show.stderr, show.stderr[-2000:]
    assert not UNSAFE_ADVICE.search(show.stdout + show.stderr)
    assert show.stdout.count("failed: ") == n_scenes, show.stdout[-2000:]
    own = [line for line in show.error_lines if line.startswith("python -m core.show")]
    assert len(own) == 1 and f"{n_scenes} of {n_scenes} scene(s) could not be rendered" in own[0], own
    assert len(show.error_lines) == 1, show.error_lines[:5]  # MediaPipe's native logs stay silenced


def _object_npz(path: Path, payload) -> Path:
    """An .npz whose ``images`` is a pickled object array (np.save pickles object arrays)."""
    arr = np.empty(1, dtype=object)
    arr[0] = payload
    np.savez(path, images=arr)
    return path


def test_malicious_files_given_to_non_model_loaders(tmp_path, inputs):
    """Every other reader of user files (training data, survey CSV, vote questions and media, photos)
    refuses the payloads unopened."""
    markers = tmp_path / "markers"
    markers.mkdir()
    files = malicious_corpus(tmp_path / "corpus", markers)
    commands = []
    for kind in PAYLOAD_KINDS:
        data = _object_npz(tmp_path / f"{kind}.npz", malicious_payload(kind, markers / f"npz-{kind}"))
        commands.append(["core.dcgan", "train", "--data", data, "--out", tmp_path / f"run-{kind}",
                         *TINY_DCGAN])
    db = f"sqlite:///{tmp_path / 'votes.sqlite3'}"
    for file in files.values():
        commands.append(["core.survey", "report", file])
        commands.append(["core.vote", "open", "--db", db, "--questions-json", file])
        commands.append(["core.vote", "open", "--db", db, "--questions-from", file])
        commands.append(["core.vote", "open", "--db", db, "--media", file])
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, file in enumerate(files.values()):  # renamed to photos: the scan must not unpickle them either
        shutil.copy(file, photos / f"photo_{i:02d}{'.jpg' if i % 2 else '.png'}")
    commands.append(["core.faces", "scan", photos, "--out", tmp_path / "crops", "--detector", "haar",
                     "--no-cache"])
    results = run_cli_batch(commands)
    for command, result in zip(commands, results):
        try:
            assert_refused(result)
        except AssertionError as e:
            raise AssertionError(f"{' '.join(map(str, command[:3]))} {Path(command[-1]).name}: {e}") from None
    assert "none of the 20" in results[-1].stderr
    assert not list(markers.iterdir())
    assert not (tmp_path / "crops").exists() or not list((tmp_path / "crops").iterdir())


# -- every command line: unknown flag, missing argument --------------------------------------------------

# (module, a complete command that would run, a command that lacks a required argument or subcommand)
COMMANDS = {
    "core.stylegan2": (["info", "g.pt"], ["info"]),
    "core.stylegan2.training": (["--out", "run"], ["--res", "8"]),
    "core.dcgan": (["sample", "--checkpoint", "c.pt", "--out", "g.png"], ["sample", "--out", "g.png"]),
    "core.fomm": (["animate", "--source", "f.png", "--driving", "blink", "--out", "o.mp4"],
                  ["animate", "--driving", "blink", "--out", "o.mp4"]),
    "core.animate": (["record-motion", "--video", "v.mp4", "--out", "m.json"],
                     ["record-motion", "--out", "m.json"]),
    "core.faces": (["scan", "photos", "--out", "crops"], ["scan", "photos"]),
    "core.survey": (["report", "s.csv"], ["report"]),
    "core.vote": (["list"], ["report"]),
    "core.show": (["list"], ["new", "show"]),
    "core.jobs": (["status", "run"], ["status"]),
    "core.download": (["list"], ["url", "http://127.0.0.1:9/x"]),
    "core.showcase": ([], ["--count", "0"]),  # no required argument: a bound its parser checks instead
}


def _cli_cases(tmp_path: Path) -> list[tuple[str, list, str]]:
    """(what, command, word the line must hold); paths are made absolute under ``tmp_path``."""
    cases = []
    for module, (complete, lacking) in COMMANDS.items():
        complete = [str(tmp_path / a) if "." in a or a in ("run", "photos", "crops", "show") else a
                    for a in complete]
        cases.append((f"{module} unknown flag", [module, *complete, "--no-such-flag"], "--no-such-flag"))
        if lacking:
            word = "--count" if module == "core.showcase" else "required"
            cases.append((f"{module} missing argument", [module, *lacking], word))
        if complete and not complete[0].startswith("-"):  # a command with subcommands, given none
            cases.append((f"{module} no subcommand", [module], "required"))
            cases.append((f"{module} unknown subcommand", [module, "frobnicate"], "invalid choice"))
    cases.append(("dcgan bad number", ["core.dcgan", "sample", "--checkpoint", "c.pt", "--n", "many",
                                       "--out", str(tmp_path / "g.png")], "must be a whole number"))
    cases.append(("fomm bad choice", ["core.fomm", "animate", "--source", "f", "--driving", "d", "--out", "o",
                                      "--engine", "magic"], "invalid choice"))
    cases.append(("show missing group", ["core.show", "export", "show"], "required"))
    return cases


def test_every_command_line_refuses_bad_arguments_in_one_line(tmp_path):
    cases = _cli_cases(tmp_path)
    results = run_cli_batch([command for _, command, _ in cases])
    for (what, _, word), result in zip(cases, results):
        try:
            line = assert_refused(result, word)
            assert result.returncode == 2, f"exit {result.returncode}"
            assert "usage:" not in result.stdout + result.stderr
            assert line.startswith("python -m core."), line
        except AssertionError as e:
            raise AssertionError(f"{what}: {e}") from None
    assert not any(tmp_path.iterdir()), "a refused command wrote something"


def test_batched_runs_match_real_processes(tmp_path):
    """The batch driver reports what a separate ``python -m`` run prints (checked on cheap commands)."""
    commands = [["core.show", "--no-such-flag"], ["core.jobs", "status", str(tmp_path)],
                ["core.vote", "report", "--poll", "x"]]
    batched = run_cli_batch(commands)
    real = run_concurrently([lambda c=c: run_cli(*c) for c in commands])
    for b, r in zip(batched, real):
        assert (b.returncode, b.error_lines, b.stdout) == (r.returncode, r.error_lines, r.stdout)
        assert_refused(r)


# -- the one image reader on every odd image -------------------------------------------------------------


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _odd_images() -> dict[str, tuple[bytes, tuple[int, int, int] | None, bool]]:
    """name -> (file bytes, expected RGB of the centre pixel or None, expected greyscale flag)."""
    rgb = Image.new("RGB", (40, 30), (200, 40, 90))
    grey = Image.new("L", (40, 30), 128)
    rgba = Image.new("RGBA", (40, 30), (0, 0, 255, 0))  # fully transparent: composited on white
    palette = rgb.quantize(4)  # an adaptive palette holds the exact colour
    trns = palette.copy()
    trns.info["transparency"] = 0
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    animated = _encode(rgb, "GIF", save_all=True, append_images=[grey.convert("RGB")])
    return {
        "rgb-jpeg": (_encode(rgb, "JPEG", quality=95), None, False),
        "rgb-png": (_encode(rgb, "PNG"), (200, 40, 90), False),
        "grey": (_encode(grey, "PNG"), (128, 128, 128), True),
        "grey-alpha": (_encode(Image.new("LA", (40, 30), (128, 255)), "PNG"), (128, 128, 128), True),
        "16-bit-grey": (_encode(Image.fromarray(np.full((30, 40), 32768, np.uint16)), "PNG"), (128, 128, 128),
                        True),
        "32-bit-int-tiff": (_encode(Image.fromarray(np.full((30, 40), 40000, np.int32)), "TIFF"),
                            (156, 156, 156), True),
        "1-bit": (_encode(Image.new("1", (40, 30), 1), "PNG"), (255, 255, 255), True),
        "palette": (_encode(palette, "PNG"), (200, 40, 90), False),
        "palette-transparency": (_encode(trns, "PNG"), (255, 255, 255), True),
        "rgba-transparent": (_encode(rgba, "PNG"), (255, 255, 255), True),
        "cmyk-jpeg": (_encode(rgb.convert("CMYK"), "JPEG", quality=95), None, False),
        "exif-rotated": (_encode(rgb, "JPEG", exif=exif, quality=95), None, False),
        "animated-gif": (animated, None, False),
        "webp": (_encode(rgb, "WEBP", lossless=True), (200, 40, 90), False),
        "bmp": (_encode(rgb, "BMP"), (200, 40, 90), False),
    }


@pytest.mark.parametrize("name", list(_odd_images()))
def test_one_image_reader_reads_every_mode(name):
    from core.image.decode import load_image

    data, centre, gray = _odd_images()[name]
    rgb, is_gray = load_image(data)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert rgb.shape[:2] == ((40, 30) if name == "exif-rotated" else (30, 40))
    if centre is not None:
        assert tuple(int(v) for v in rgb[15 if name != "exif-rotated" else 20, 20]) == centre
    else:  # lossy formats: close to the colour drawn
        assert np.abs(rgb.reshape(-1, 3).mean(0) - (200, 40, 90)).max() < 12
    assert is_gray == gray


def test_one_image_reader_refuses_every_damaged_file(tmp_path):
    from core.image import decode as images

    good = _encode(Image.new("RGB", (64, 64), (10, 20, 30)), "PNG")
    cases = {
        "zero-bytes": (b"", images.R_EMPTY),
        "truncated": (good[: len(good) // 2], images.R_CORRUPT),
        "text-renamed": (b"hello, this is text\n" * 10, images.R_NOT_IMAGE),
        "bomb-header": (_png_header_only(30000, 30000), images.R_TOO_LARGE),
        "zero-width": (_png_header_only(0, 10), None),
        "broken-crc": (good[:30] + bytes([good[30] ^ 0xFF]) + good[31:], images.R_CORRUPT),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / f"{name}.png").write_bytes(data)
        for source in (data, tmp_path / f"{name}.png"):
            with pytest.raises(images.ImageRejected) as e:
                images.load_image(source)
            assert reason is None or e.value.reason == reason, (name, e.value)
            assert "\n" not in str(e.value)
    with pytest.raises(images.ImageRejected) as e:  # the pixel cap is a parameter
        images.load_image(good, max_pixels=64 * 63)
    assert e.value.reason == images.R_TOO_LARGE
    with pytest.raises(images.ImageRejected) as e:  # a folder or a missing file is not a crash either
        images.load_image(tmp_path)
    assert e.value.reason == images.R_NOT_IMAGE


def test_16_bit_grey_source_is_animated_not_faceless(tmp_path):
    """Issue 10 #8: a 16-bit greyscale face was all white for the animator ("no face"): one reader now."""
    grey16 = (_bundled_face(256).mean(axis=2) * 257).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    result = run_cli("core.fomm", "animate", "--source", tmp_path / "grey16.png", "--driving", "blink",
                     "--max-frames", "2", "--out", tmp_path / "out.mp4")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrote" in result.stdout and (tmp_path / "out.mp4").is_file()


@pytest.mark.slow
def test_stylegan2_resume_removes_partial_checkpoint_writes(tmp_path):
    """A kill -9 during the atomic write leaves ``.checkpoint.pt.*.tmp``; the next start removes it."""
    import torch

    from core.stylegan2.training import TrainConfig, Trainer

    cfg = TrainConfig(resolution=8, z_dim=8, w_dim=8, g_channel_base=64, g_channel_max=8, d_channel_base=64,
                      d_channel_max=8, batch_size=2, kimg=0.002, snapshot_kimg=0.002)
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    run = tmp_path / "run"
    run.mkdir()
    torch.save(Trainer(cfg, images).state_dict(), run / "checkpoint.pt")
    partial = run / ".checkpoint.pt.k3j9x2.tmp"
    partial.write_bytes(b"PK\x03\x04half a checkpoint")
    np.savez(tmp_path / "faces.npz", images=images)
    result = run_cli("core.stylegan2.training", "--resume", "--out", run, "--data", tmp_path / "faces.npz",
                     *TINY_SG[:-6], "--kimg", "0.004", "--snap-kimg", "0.002", "--threads", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not partial.exists() and "resumed from" in result.stdout
