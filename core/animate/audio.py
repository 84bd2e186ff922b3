"""Sound in and out of an animation, on imageio-ffmpeg's ffmpeg.

Out: the driving video's (or a voice's) sound muxed onto the animation with ffmpeg-python.
In: :func:`decode_audio` reads a voice (or a video's sound track) into mono PCM for
:mod:`core.animate.voice`, refusing empty, non-audio, unknown-codec and over-long files.

The video stream is copied untouched, so the animation keeps every frame; the audio is padded with
silence or trimmed to the video's exact duration (``apad`` + ``atrim``) and encoded as AAC. ffmpeg's
``-shortest`` is not used: it cut the video to the audio's length (169 -> 166 frames).
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import wave
from pathlib import Path

import ffmpeg
import numpy as np

from core import video


def _run(stream, out_path: Path) -> tuple[bool, str]:
    """Run an ffmpeg-python graph; (ok, ffmpeg's messages). Failures to write raise OSError."""
    try:
        stream.global_args("-hide_banner", "-loglevel", "error").overwrite_output().run(
            cmd=video.ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
        return True, ""
    except ffmpeg.Error as e:
        log = (e.stderr or b"").decode("utf-8", "replace")
    failure = video.ffmpeg_failure(log, out_path)
    if failure.errno != errno.EIO:  # a cause on the output side (read-only, full disk...)
        raise failure
    return False, log


def _fitted_sound(audio_source: str | os.PathLike, seconds: float):
    """``audio_source``'s first audio stream padded with silence or trimmed to ``seconds``."""
    end = f"{seconds:.6f}"
    return ffmpeg.input(str(audio_source))["a:0"].filter("apad", whole_dur=end).filter("atrim", end=end)


def mux_audio(video_path: str | os.PathLike, audio_source: str | os.PathLike,
              out_path: str | os.PathLike) -> bool:
    """Copy ``video_path``'s video and ``audio_source``'s first audio stream, fitted to the video's length.

    Returns whether audio was muxed; without a (decodable) audio stream the video is copied alone.
    The output has exactly the frames of ``video_path``.
    """
    out_path = Path(out_path)
    codec = audio_codec_or_none(audio_source)
    picture = ffmpeg.input(str(video_path)).video
    if codec is not None:
        info = video.probe_video(video_path)
        sound = _fitted_sound(audio_source, info.frames_estimate / info.fps)
        ok, _ = _run(ffmpeg.output(picture, sound, str(out_path), vcodec="copy", acodec="aac",
                                   audio_bitrate="128k", movflags="+faststart"), out_path)
        if ok:
            return True
        # An audio stream ffmpeg cannot decode: keep the silent video rather than fail.
    ok, log = _run(ffmpeg.output(picture, str(out_path), vcodec="copy", movflags="+faststart"), out_path)
    if not ok:
        raise video.ffmpeg_failure(log, out_path)
    return False


def encode_sound(audio_source: str | os.PathLike, seconds: float, out_path: str | os.PathLike) -> bool:
    """``audio_source``'s first audio stream as AAC in ``out_path`` (.m4a), fitted to ``seconds``, as
    :func:`mux_audio` encodes it: done while the frames render, the final mux only copies
    (:func:`mux_encoded_sound`). False without a decodable audio stream."""
    if audio_codec_or_none(audio_source) is None:
        return False
    out_path = Path(out_path)
    ok, _ = _run(ffmpeg.output(_fitted_sound(audio_source, seconds), str(out_path), acodec="aac",
                               audio_bitrate="128k"), out_path)
    return ok


def mux_encoded_sound(video_path: str | os.PathLike, sound_path: str | os.PathLike,
                      out_path: str | os.PathLike) -> bool:
    """Copy ``video_path``'s video and an :func:`encode_sound` result into ``out_path``; False if
    ffmpeg refused (the caller falls back to :func:`mux_audio`)."""
    out_path = Path(out_path)
    ok, _ = _run(ffmpeg.output(ffmpeg.input(str(video_path)).video, ffmpeg.input(str(sound_path)).audio,
                               str(out_path), vcodec="copy", acodec="copy", movflags="+faststart"), out_path)
    return ok


def audio_codec_or_none(path: str | os.PathLike) -> str | None:
    """The first audio stream's codec, or None (GIFs have no sound)."""
    return None if Path(path).suffix.lower() == ".gif" else video.audio_codec(path)


# ------------------------------------------------------------------------------------ decoding a voice

VOICE_SAMPLE_RATE = 22050        # Hz: a voice's band (up to 11 kHz), and espeak-ng's own rate
MAX_VOICE_SECONDS = 300.0        # the longest voice a face speaks (5 minutes): longer files are refused
VOICE_SUFFIXES = (".wav", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".flac", ".webm")
_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM_RE = re.compile(r"Stream #\S+.*?: (Audio|Video): (\S+)")
NOT_AUDIO = "use a voice recording (WAV, MP3 or M4A) or a video with a sound track"


def _header(path: Path) -> str:
    """What ``ffmpeg -i FILE`` says about the file (its header; ffmpeg exits 1 as no output is named)."""
    proc = subprocess.run([video.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True, timeout=60)
    return proc.stderr.decode("utf-8", "replace")


def voice_duration_limit_text(seconds: float = MAX_VOICE_SECONDS) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"


def decode_audio(path: str | os.PathLike, sample_rate: int = VOICE_SAMPLE_RATE,
                 max_seconds: float = MAX_VOICE_SECONDS) -> np.ndarray:
    """The first sound track of ``path`` (a sound file or a video) as mono float32 PCM in [-1, 1].

    Decoded by the bundled ffmpeg. Raises ValueError (a message for users) for a missing, empty or
    non-audio file, a video without a sound track, a codec ffmpeg does not know, or a sound longer
    than ``max_seconds`` (checked from the header before decoding, and again on the samples).
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"Voice file not found: {path}")
    if not path.is_file():
        raise ValueError(f"{path} is a folder, not a voice file.")
    if path.stat().st_size == 0:
        raise ValueError(f"{path.name} is empty (0 bytes): {NOT_AUDIO}.")
    header = _header(path)
    streams = _STREAM_RE.findall(header)
    if not streams:
        raise ValueError(f"{path.name} could not be read as sound: it is not an audio or video file "
                         f"ffmpeg knows; {NOT_AUDIO}.")
    audio = [codec.rstrip(",") for kind, codec in streams if kind == "Audio"]
    if not audio:
        raise ValueError(f"{path.name} is a video without a sound track: {NOT_AUDIO}.")
    if audio[0] == "none":
        raise ValueError(f"{path.name} holds sound in an unknown codec that cannot be decoded: {NOT_AUDIO}.")
    limit = voice_duration_limit_text(max_seconds)
    found = _DURATION_RE.search(header)
    if found:
        h, m, s = found.groups()
        seconds = int(h) * 3600 + int(m) * 60 + float(s)
        if seconds > max_seconds + 0.5:
            raise ValueError(f"{path.name} is {seconds / 60:.1f} minutes long; a voice may be at most "
                             f"{limit} long: cut it shorter.")
    cmd = [video.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
           "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(int(sample_rate)), "-t", f"{max_seconds + 1:.3f}",
           "-f", "f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True, timeout=600)
    pcm = np.frombuffer(proc.stdout[: len(proc.stdout) // 4 * 4], dtype="<f4")
    if proc.returncode != 0 and pcm.size == 0:
        last = [ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        reason = f" ({last[-1][:160]})" if last else ""
        raise ValueError(f"The sound of {path.name} could not be decoded{reason}: {NOT_AUDIO}.")
    if pcm.size == 0:
        raise ValueError(f"{path.name} holds no sound samples: {NOT_AUDIO}.")
    if pcm.size > (max_seconds + 0.5) * sample_rate:
        raise ValueError(f"{path.name} is longer than {limit}; a voice may be at most {limit} long: "
                         "cut it shorter.")
    pcm = np.nan_to_num(pcm.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(pcm, -1.0, 1.0)


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int) -> Path:
    """Mono float PCM in [-1, 1] as a 16-bit WAV (what the muxer reads back)."""
    path = Path(path)
    pcm16 = np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm16.tobytes())
    return path
