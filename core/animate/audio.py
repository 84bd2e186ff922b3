"""The driving video's sound on the animation: mux with ffmpeg-python on imageio-ffmpeg's ffmpeg.

The video stream is copied untouched, so the animation keeps every frame; the audio is padded with
silence or trimmed to the video's exact duration (``apad`` + ``atrim``) and encoded as AAC. ffmpeg's
``-shortest`` is not used: it cut the video to the audio's length (169 -> 166 frames).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import ffmpeg

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
        seconds = f"{info.frames_estimate / info.fps:.6f}"
        sound = (ffmpeg.input(str(audio_source))["a:0"]
                 .filter("apad", whole_dur=seconds).filter("atrim", end=seconds))
        ok, _ = _run(ffmpeg.output(picture, sound, str(out_path), vcodec="copy", acodec="aac",
                                   audio_bitrate="128k", movflags="+faststart"), out_path)
        if ok:
            return True
        # An audio stream ffmpeg cannot decode: keep the silent video rather than fail.
    ok, log = _run(ffmpeg.output(picture, str(out_path), vcodec="copy", movflags="+faststart"), out_path)
    if not ok:
        raise video.ffmpeg_failure(log, out_path)
    return False


def audio_codec_or_none(path: str | os.PathLike) -> str | None:
    """The first audio stream's codec, or None (GIFs have no sound)."""
    return None if Path(path).suffix.lower() == ".gif" else video.audio_codec(path)
