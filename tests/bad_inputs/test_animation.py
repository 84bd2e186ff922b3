"""Bad inputs for the animator's command line (``python -m core.fomm animate``), run as a user would.

Every input is generated here: faces from the bundled synthetic set, videos written with
``core.video``, broken files cut or faked from them. Refusals must be one stderr line with a non-zero
exit and leave nothing behind; successes must report the frames that are really in the written file,
which are exactly the driving video's frames, whatever the length of its audio.
"""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core import ASSETS_DIR, video
from tests.bad_inputs.conftest import assert_refused, run_cli
from tests.conftest import shared_path

FPS = 25


def _face(index: int, size: int) -> np.ndarray:
    faces = np.load(ASSETS_DIR / "demo_faces" / "faces64.npz")["images"]
    return cv2.resize(faces[index], (size, size), interpolation=cv2.INTER_CUBIC)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` with almost no pixel data (a bomb header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def _with_sine(silent: Path, seconds: float, out: Path) -> Path:
    """``silent``'s video with a generated AAC tone of ``seconds`` (shorter or longer than the video)."""
    subprocess.run([video.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(silent),
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("animation-corpus")
    face = _face(0, 256)
    Image.fromarray(face).save(d / "face.png")
    two = np.full((360, 560, 3), 230, np.uint8)
    two[30:330, 10:310] = _face(1, 300)      # the larger face, on the left
    two[90:270, 360:540] = _face(2, 180)
    Image.fromarray(two).save(d / "two_faces.png")
    (d / "bomb.png").write_bytes(_png_header_only(30000, 30000))
    assert video.write_mp4([face], d / "one_frame.mp4", fps=FPS) == 1
    assert video.write_mp4([np.full((128, 128, 3), 90, np.uint8)], d / "one_frame_no_face.mp4", fps=FPS) == 1
    # A still face for 40 frames (1.6 s), with a tone shorter and longer than the picture.
    assert video.write_mp4([face] * 40, d / "still.mp4", fps=FPS) == 40
    _with_sine(d / "still.mp4", 0.5, d / "short_audio.mp4")
    _with_sine(d / "still.mp4", 3.0, d / "long_audio.mp4")
    (d / "empty.mp4").write_bytes(b"")
    data = (d / "still.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (d / "text.mp4").write_text("this is a text file, renamed to .mp4\n" * 20)
    return {p.stem: p for p in d.iterdir()}


def _animate(*args) -> object:
    return run_cli("core.fomm", "animate", *args)


def assert_written(result, driving_frames: int) -> Path:
    """Exit 0, and the file the CLI reports holds exactly the frames it reports: the driving count."""
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    match = re.search(r"wrote (.+?): (\d+) frames", result.stdout)
    assert match, result.stdout
    path, reported = Path(match.group(1)), int(match.group(2))
    assert path.is_file(), f"reported {path} but it does not exist"
    assert video.count_frames(path) == reported == driving_frames
    return path


def assert_nothing_left(out: Path) -> None:
    assert not out.exists(), f"{out} was left behind by a refused run"
    if out.parent.is_dir():
        leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".animate-")]
        assert not leftovers, leftovers


@pytest.mark.parametrize("name, words", [
    ("empty", ["empty"]),
    ("truncated", ["corrupt"]),
    ("text", ["not a video"]),
    ("missing", ["not found"]),
])
def test_broken_driving_video_is_refused(corpus, tmp_path, name, words):
    driving = corpus.get(name, tmp_path / "missing.mp4")
    out = tmp_path / "out.mp4"
    assert_refused(_animate("--source", corpus["face"], "--no-crop-source", "--driving", driving,
                            "--out", out), *words)
    assert_nothing_left(out)


def test_record_motion_refuses_a_broken_video(corpus, tmp_path):
    out = tmp_path / "motion.json"
    assert_refused(run_cli("core.animate", "record-motion", "--video", corpus["text"], "--out", out),
                   "not a video")
    assert not out.exists()


def test_one_frame_video_is_animated(corpus, tmp_path):
    result = _animate("--source", corpus["face"], "--no-crop-source", "--driving", corpus["one_frame"],
                      "--out", tmp_path / "one.mp4")
    assert_written(result, 1)


def test_one_frame_video_without_a_face_says_so(corpus, tmp_path):
    out = tmp_path / "out.mp4"
    line = assert_refused(_animate("--source", corpus["face"], "--no-crop-source", "--driving",
                                   corpus["one_frame_no_face"], "--out", out), "no face")
    assert "decodable" not in line
    assert_nothing_left(out)


def test_source_with_a_bomb_header_is_refused(corpus, tmp_path):
    out = tmp_path / "out.mp4"
    assert_refused(_animate("--source", corpus["bomb"], "--driving", "blink", "--out", out),
                   "bomb.png", "too large")
    assert_nothing_left(out)


def test_missing_source_is_refused(corpus, tmp_path):
    assert_refused(_animate("--source", tmp_path / "nope.png", "--driving", "blink", "--out",
                            tmp_path / "out.mp4"), "not found")


def test_read_only_output_is_refused(corpus, readonly_dir):
    for out in (readonly_dir / "out.mp4", readonly_dir / "sub" / "out.mp4"):
        assert_refused(_animate("--source", corpus["face"], "--no-crop-source", "--driving", "blink",
                                "--max-frames", "3", "--out", out), "read-only")
        assert not out.exists()


def test_full_disk_is_refused_and_leaves_nothing(corpus, full_dir):
    out = full_dir / "out.mp4"
    assert_refused(_animate("--source", corpus["face"], "--no-crop-source", "--driving", "talk",
                            "--upscale", "4", "--side-by-side", "--out", out), "no space")
    assert_nothing_left(out)


def test_output_that_is_a_folder_is_refused(corpus, tmp_path):
    assert_refused(_animate("--source", corpus["face"], "--no-crop-source", "--driving", "blink",
                            "--out", tmp_path), "folder")


def test_two_faces_use_the_largest_and_say_so(corpus, tmp_path):
    result = _animate("--source", corpus["two_faces"], "--driving", "blink", "--max-frames", "3",
                      "--out", tmp_path / "two.mp4")
    assert_written(result, 3)
    notes = [line for line in result.stdout.splitlines() if line.startswith("note:")]
    assert any("2 faces" in n and "largest" in n for n in notes), result.stdout
    assert 10 <= int(re.search(r"x=(\d+)", notes[0]).group(1)) <= 310  # the left, larger face


@pytest.mark.parametrize("name", ["short_audio", "long_audio"])
def test_every_driving_frame_is_kept_whatever_the_audio_length(corpus, tmp_path, name):
    assert video.count_frames(corpus[name]) == 40
    result = _animate("--source", corpus["face"], "--no-crop-source", "--driving", corpus[name],
                      "--out", tmp_path / "out.mp4")
    path = assert_written(result, 40)
    assert "audio=yes" in result.stdout and video.audio_codec(path) == "aac"


def test_shared_driving_video_keeps_all_169_frames(tmp_path):
    driving = shared_path("data", "driving", "tpsmm_driving.mp4")  # audio ends before the picture
    source = sorted(shared_path("data", "faces", "celeba_hq").glob("*.jpg"))[0]
    frames = video.count_frames(driving)
    assert frames == 169
    result = _animate("--source", source, "--driving", driving, "--out", tmp_path / "out.mp4")
    assert_written(result, frames)


def test_fomm_engine_bad_checkpoint_and_hostile_config(corpus, tmp_path):
    import torch

    from core.fomm import build_fomm

    garbage = tmp_path / "vox-cpk.pth.tar"
    garbage.write_bytes(b"not a checkpoint" * 64)
    out = tmp_path / "out.mp4"
    common = ["--source", corpus["face"], "--no-crop-source", "--driving", corpus["still"], "--out", out,
              "--engine", "fomm"]
    assert_refused(_animate(*common, "--checkpoint", garbage), "FOMM", "not a PyTorch checkpoint")
    assert_nothing_left(out)
    # A real (tiny, random) checkpoint with a config asking for a million keypoints: refused before
    # anything is built.
    tiny = {"model_params": {
        "common_params": {"num_kp": 4, "num_channels": 3, "estimate_jacobian": True},
        "kp_detector_params": {"temperature": 0.1, "block_expansion": 4, "max_features": 16,
                               "scale_factor": 0.25, "num_blocks": 2},
        "generator_params": {"block_expansion": 4, "max_features": 16, "num_down_blocks": 2,
                             "num_bottleneck_blocks": 1, "estimate_occlusion_map": True,
                             "dense_motion_params": {"block_expansion": 4, "max_features": 16,
                                                     "num_blocks": 2, "scale_factor": 0.25}}}}
    kp_detector, generator = build_fomm(tiny)
    checkpoint = tmp_path / "tiny-cpk.pth.tar"
    torch.save({"kp_detector": kp_detector.state_dict(), "generator": generator.state_dict()}, checkpoint)
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text("model_params:\n  common_params: {num_kp: 1000000, num_channels: 3}\n"
                       "  kp_detector_params: {num_blocks: 2}\n  generator_params: {num_down_blocks: 2}\n")
    assert_refused(_animate(*common, "--checkpoint", checkpoint, "--config", hostile),
                   "num_kp", "out of bounds")
    broken = tmp_path / "broken.yaml"
    broken.write_text("model_params: [unclosed\n")
    assert_refused(_animate(*common, "--checkpoint", checkpoint, "--config", broken), "not valid YAML")
    assert_nothing_left(out)
