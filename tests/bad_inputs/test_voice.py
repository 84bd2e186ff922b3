"""Bad voices for ``python -m core.fomm animate --audio``, generated here and run as a user would.

Empty, silent, not audio, 30 minutes long, an unknown codec, a video without a sound track: each gets
one stderr line naming the problem, exit 2, and no output file. A video with a sound track is read for
its sound.
"""

from __future__ import annotations

import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from core import ASSETS_DIR, video
from core.animate.audio import MAX_VOICE_SECONDS, voice_duration_limit_text
from tests.bad_inputs.conftest import assert_refused, run_cli_batch


def _wav(path: Path, samples: np.ndarray, rate: int = 16000, width: int = 2) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        if width == 1:
            w.writeframes(np.clip(128 + samples * 100, 0, 255).astype(np.uint8).tobytes())
        else:
            w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _unknown_codec_wav(path: Path) -> Path:
    """A RIFF/WAVE file whose format tag (0xABCD) names no codec ffmpeg has."""
    data = b"\x01\x02" * 16000
    fmt = struct.pack("<HHIIHH", 0xABCD, 1, 16000, 32000, 2, 16)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def _tone(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)  # syllable-like bursts


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    from PIL import Image

    d = tmp_path_factory.mktemp("voice-corpus")
    faces = np.load(ASSETS_DIR / "demo_faces" / "faces64.npz")["images"]
    face = np.asarray(Image.fromarray(faces[493]).resize((256, 256), Image.BICUBIC))
    Image.fromarray(face).save(d / "face.png")
    (d / "empty.wav").write_bytes(b"")
    _wav(d / "silent.wav", np.zeros(16000 * 2))
    _wav(d / "hum.wav", np.random.default_rng(0).standard_normal(16000 * 2) * 3e-4)  # -70 dBFS of noise
    (d / "text.wav").write_text("this is a text file, renamed to .wav\n" * 40)
    (d / "noise.mp3").write_bytes(np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    _unknown_codec_wav(d / "unknown_codec.wav")
    # 30 minutes of bursts at 8 kHz, 8 bits: 14 MB, written in a blink (the header says 30:00).
    _wav(d / "thirty_minutes.wav", _tone(30 * 60, 8000), rate=8000, width=1)
    assert video.write_mp4([face] * 25, d / "video_no_sound.mp4", fps=25) == 25
    _wav(d / "voice.wav", _tone(1.6))
    subprocess.run([video.ffmpeg_exe(), "-v", "error", "-y", "-i", str(d / "video_no_sound.mp4"),
                    "-i", str(d / "voice.wav"), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
                    str(d / "video_with_voice.mp4")], check=True)
    return {p.name: p for p in d.iterdir()}


CASES = {  # file -> words the one error line must contain
    "empty.wav": ("empty",),
    "silent.wav": ("silent",),
    "hum.wav": ("silent",),
    "text.wav": ("not an audio",),
    "noise.mp3": ("sound",),
    "unknown_codec.wav": ("unknown codec",),
    "thirty_minutes.wav": ("30.0 minutes", voice_duration_limit_text(MAX_VOICE_SECONDS)),
    "video_no_sound.mp4": ("without a sound track",),
    "missing.wav": ("not found",),
}


def test_bad_voices_get_one_line_and_exit_2(corpus, tmp_path):
    face = corpus["face.png"]
    commands, outs = [], []
    for name in CASES:
        out = tmp_path / f"{name}.mp4"
        outs.append(out)
        voice = corpus.get(name, tmp_path / name)
        commands.append(["core.fomm", "animate", "--source", face, "--audio", voice, "--out", out,
                         "--no-crop-source"])
    # Flags that do not go together: a voice and a driving video, a voice and the neural engine.
    commands.append(["core.fomm", "animate", "--source", face, "--audio", corpus["voice.wav"],
                     "--driving", "talk", "--out", tmp_path / "both.mp4"])
    commands.append(["core.fomm", "animate", "--source", face, "--audio", corpus["voice.wav"],
                     "--engine", "fomm", "--out", tmp_path / "fomm.mp4"])
    # A video given as the voice is read for its sound track.
    good = tmp_path / "from_video.mp4"
    commands.append(["core.fomm", "animate", "--source", face, "--audio", corpus["video_with_voice.mp4"],
                     "--out", good, "--no-crop-source"])
    results = run_cli_batch(commands)
    for (name, words), result, out in zip(CASES.items(), results, outs):
        line = assert_refused(result, *words)
        assert result.returncode == 2, (name, line)
        assert not out.exists(), f"{name}: an output was left behind"
    assert_refused(results[len(CASES)], "not allowed with argument")
    assert_refused(results[len(CASES) + 1], "landmarks")
    ok = results[-1]
    assert ok.returncode == 0, ok.stderr
    assert "audio=yes" in ok.stdout and "40 frames at 25 fps" in ok.stdout, ok.stdout
    assert video.count_frames(good) == 40 and video.has_audio_stream(good)
