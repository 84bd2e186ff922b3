"""Video as phones record it (issue 23, class 10): a display matrix instead of rotated pixels, a variable
frame rate, GIFs of one or two frames, and a driving video far longer than anyone meant to animate.

Every clip is generated here with the bundled ffmpeg (``-display_rotation`` writes a phone's display
matrix; ``select`` + ``-fps_mode vfr`` drops frames and keeps the gaps in the timestamps).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core import ASSETS_DIR, video
from tests.bad_inputs.conftest import assert_refused, run_cli_batch

FPS = 25


def _face(index: int, size: int) -> np.ndarray:
    faces = np.load(ASSETS_DIR / "demo_faces" / "faces64.npz")["images"]
    return cv2.resize(faces[index], (size, size), interpolation=cv2.INTER_CUBIC)


def _ffmpeg(*args: str | Path) -> None:
    subprocess.run([video.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)],
                   check=True)


def _portrait_frames(n: int) -> list[np.ndarray]:
    """A portrait (240 x 320) clip of a face nodding a little, with a red band at its top."""
    out = []
    for i in range(n):
        frame = np.full((320, 240, 3), 200, np.uint8)
        frame[:24] = (255, 0, 0)
        y = 60 + int(6 * np.sin(i / 3))
        frame[y:y + 200, 20:220] = _face(0, 200)
        out.append(frame)
    return out


def _rotated_copy(stored: Path, out: Path, rotation: int) -> Path:
    _ffmpeg("-display_rotation", rotation, "-i", stored, "-c", "copy", out)
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("phone-video")
    portrait = _portrait_frames(30)
    # As phones store it: the sensor's landscape pixels plus a display matrix that turns them upright.
    video.write_mp4([np.ascontiguousarray(np.rot90(f, k=-1)) for f in portrait], d / "cw.mp4", fps=FPS)
    video.write_mp4([np.ascontiguousarray(np.rot90(f, k=1)) for f in portrait], d / "ccw.mp4", fps=FPS)
    _rotated_copy(d / "cw.mp4", d / "portrait_plus90.mp4", 90)
    _rotated_copy(d / "ccw.mp4", d / "portrait_minus90.mp4", -90)
    video.write_mp4(portrait, d / "portrait_upright.mp4", fps=FPS)
    _rotated_copy(d / "portrait_upright.mp4", d / "portrait_180.mp4", 180)
    # Variable frame rate: 2 s at 25 fps, then every third frame for 2 s (73 frames over ~4.7 s).
    face_clip = d / "cfr_face.mp4"
    video.write_mp4(portrait * 4, face_clip, fps=FPS)  # 120 frames, 4.8 s
    _ffmpeg("-i", face_clip, "-vf", "select='lt(n\\,50)+not(mod(n\\,3))'", "-fps_mode", "vfr",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", d / "vfr_face.mp4")
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=30:duration=3", "-vf",
            "select='not(mod(n\\,2))+gt(n\\,60)'", "-fps_mode", "vfr", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", d / "vfr_testsrc.mp4")
    # GIFs of one, two and five frames (a GIF's 100 Hz time base read at a constant rate duplicates them).
    for n in (1, 2, 5):
        frames = [Image.fromarray(_face(i % 3, 192)) for i in range(n)]
        frames[0].save(d / f"gif{n}.gif", save_all=True, append_images=frames[1:], duration=70, loop=0)
    _ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=64x64:rate=1:duration=181", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", d / "long_181s.mp4")
    Image.fromarray(_face(1, 256)).save(d / "face.png")
    return {p.stem: p for p in d.iterdir()}


@pytest.mark.parametrize("name", ["portrait_plus90", "portrait_minus90", "portrait_180", "portrait_upright"])
def test_rotation_is_honoured_by_the_probe_and_the_reader(clips, name):
    info = video.probe_video(clips[name])
    frames = list(video.iter_frames(clips[name]))
    assert info.size == (240, 320), info
    assert frames[0].shape == (320, 240, 3)
    top = frames[0][:20].reshape(-1, 3).mean(axis=0)
    if name != "portrait_180":
        assert top[0] > 200 and top[2] < 60, f"{name}: the red band is not at the top ({top})"
    else:  # displayed upside down, as the file asks
        assert frames[0][-20:].reshape(-1, 3).mean(axis=0)[0] > 200
    assert len(frames) == info.frames_estimate == video.count_frames(clips[name]) == 30


@pytest.mark.parametrize("name,frames", [("vfr_face", 73), ("vfr_testsrc", 60), ("gif1", 1), ("gif2", 2),
                                         ("gif5", 5), ("cfr_face", 120)])
def test_every_frame_once_and_the_length_kept(clips, name, frames):
    """No duplicated frames whatever the rate; frames / fps is the clip's real length."""
    info = video.probe_video(clips[name])
    read = sum(1 for _ in video.iter_frames(clips[name]))
    assert read == video.count_frames(clips[name]) == info.frames_estimate == frames
    if name.startswith("vfr"):
        out = subprocess.run([video.ffmpeg_exe(), "-hide_banner", "-i", str(clips[name])],
                             capture_output=True, text=True).stderr
        h, m, s = out.split("Duration: ")[1].split(",")[0].split(":")
        duration = int(h) * 3600 + int(m) * 60 + float(s)
        assert abs(read / info.fps - duration) < 0.15, (read, info.fps, duration)


def test_animating_phone_videos_keeps_orientation_frames_and_length(clips, tmp_path):
    """Through the CLI: a portrait clip with a display matrix finds its face; a VFR clip gives one output
    frame per input frame and the same length; a one-frame GIF gives one frame."""
    outs = {name: tmp_path / f"{name}.mp4" for name in ("portrait_plus90", "vfr_face", "gif1")}
    results = run_cli_batch([["core.fomm", "animate", "--source", clips["face"], "--driving", clips[name],
                              "--out", out] for name, out in outs.items()], timeout=900)
    for (name, out), r in zip(outs.items(), results, strict=True):
        assert r.returncode == 0, f"{name}: {r.stderr[-800:]}"
        expected = {"portrait_plus90": 30, "vfr_face": 73, "gif1": 1}[name]
        assert video.count_frames(out) == expected, name
        assert f"wrote {out}: {expected} frames" in r.stdout
    vfr_in, vfr_out = video.probe_video(clips["vfr_face"]), video.probe_video(outs["vfr_face"])
    assert abs(vfr_out.frames_estimate / vfr_out.fps - vfr_in.frames_estimate / vfr_in.fps) < 0.2


def test_a_long_driving_video_is_refused_with_the_way_on(clips, tmp_path):
    out = tmp_path / "long.mp4"
    refused, bounded, bad_flag, huge_flag = run_cli_batch([
        ["core.fomm", "animate", "--source", clips["face"], "--driving", clips["long_181s"], "--out", out],
        ["core.fomm", "animate", "--source", clips["face"], "--driving", clips["long_181s"], "--out", out,
         "--max-frames", "2"],
        ["core.fomm", "animate", "--source", clips["face"], "--driving", clips["long_181s"], "--out", out,
         "--max-frames", "-3"],
        ["core.animate", "record-motion", "--video", clips["long_181s"], "--out", tmp_path / "m.json",
         "--max-frames", "1" + "0" * 30],
    ], timeout=900)
    assert_refused(refused, "3.0 min long", "--max-frames")
    assert "Traceback" not in bounded.stderr and "min long" not in bounded.stderr  # asked: no refusal
    assert_refused(bad_flag, "--max-frames", "from 1 to")
    assert_refused(huge_flag, "--max-frames", "from 1 to")
