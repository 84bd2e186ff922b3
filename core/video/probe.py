"""What a video file holds: frame rate, size, exact frame count, audio stream and codec.

``ffprobe`` is not part of the ``imageio-ffmpeg`` wheel (only ``ffmpeg`` is), so ``ffmpeg.probe`` cannot
run offline. The probes therefore use the bundled ``ffmpeg`` itself: the stream listing that
``ffmpeg -i`` prints (run through ``ffmpeg-python``) for the audio codec, imageio-ffmpeg's reader
metadata for fps, size and rotation, and a packet count without decoding (``-c copy -f null``) for the
exact number of frames.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import imageio_ffmpeg

from core.video.read import NOT_A_VIDEO, VideoError, require_video_file
from core.video.write import ffmpeg_exe


@dataclass
class VideoInfo:
    fps: float                       # frames per second (25 when the container gives none or nonsense)
    size: tuple[int, int]            # (width, height) as displayed (rotation applied)
    frames_estimate: int             # video packets in the container (exact for the usual files)
    has_audio: bool                  # an audio stream is present
    audio_codec: str | None = None   # ffmpeg's name of the first audio stream's codec


def stream_listing(path: str | os.PathLike) -> str:
    """The ``Stream #...`` lines ``ffmpeg -i`` prints for the file (empty if ffmpeg cannot open it)."""
    run = (ffmpeg.input(str(path)).output("-", format="null", t=0).global_args("-hide_banner")
           .overwrite_output())
    try:
        _, err = run.run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as e:
        err = e.stderr or b""
    text = err.decode("utf-8", "replace").split("Stream mapping:")[0].split("Output #0")[0]
    return "\n".join(line.strip() for line in text.splitlines() if line.strip().startswith("Stream #"))


def audio_codec(path: str | os.PathLike) -> str | None:
    """Codec name of the file's first audio stream as ffmpeg reports it, or None without audio."""
    match = re.search(r"Stream #\S+.*: Audio: (\w+)", stream_listing(path))
    return match.group(1) if match else None


def has_audio_stream(path: str | os.PathLike) -> bool:
    """Whether ffmpeg sees an audio stream in the file."""
    return audio_codec(path) is not None


def count_frames(path: str | os.PathLike) -> int:
    """Exact number of frames of the first video stream, counted from packets (no decoding)."""
    path = require_video_file(path)
    try:
        return int(imageio_ffmpeg.count_frames_and_secs(str(path))[0])
    except Exception as e:  # noqa: BLE001 - ffmpeg's failure on a bad file
        raise VideoError(f"Could not count the frames of {path.name} ({type(e).__name__}): "
                         f"{NOT_A_VIDEO}") from None


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """fps, size, frame count (from the container, without decoding) and audio presence."""
    path = require_video_file(path)
    gen = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(gen)
    except Exception as e:  # noqa: BLE001
        raise VideoError(f"Could not read {path.name} as a video ({type(e).__name__}): "
                         f"{NOT_A_VIDEO}") from None
    finally:
        gen.close()
    fps = float(meta.get("fps") or 0.0)
    fps = fps if 1.0 <= fps <= 240.0 else 25.0
    try:
        n = imageio_ffmpeg.count_frames_and_secs(str(path))[0]
    except Exception:  # noqa: BLE001 - an estimate is enough for progress
        n = int(float(meta.get("duration") or 0.0) * fps)
    w, h = meta["size"]
    if meta.get("rotate") in (90, 270):
        w, h = h, w
    codec = audio_codec(path) if Path(path).suffix.lower() != ".gif" else None
    return VideoInfo(fps, (int(w), int(h)), int(n), codec is not None, codec)
