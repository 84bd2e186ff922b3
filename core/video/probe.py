"""What a video file holds: frame rate, size, exact frame count, audio stream and codec.

``ffprobe`` is not part of the ``imageio-ffmpeg`` wheel (only ``ffmpeg`` is), so ``ffmpeg.probe`` cannot
run offline. The probes therefore use the bundled ``ffmpeg`` itself, once per probe (a launch costs
more CPU than the probe itself, which matters for short clips):
``ffmpeg -i FILE -map 0:v:0 -c copy -f null -``
(built with ``ffmpeg-python``) copies the video packets without decoding them; its header is parsed by
imageio-ffmpeg's own header parser (fps, size, rotation, audio codec: what its reader reports) and its
final ``frame=`` line is the exact number of frames.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
from imageio_ffmpeg._parsing import parse_ffmpeg_header

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


def _copy_pass(path: Path) -> tuple[str, int | None]:
    """(ffmpeg's header text, number of video packets) from one run that copies the video stream."""
    run = (ffmpeg.input(str(path)).output("-", format="null", map="0:v:0", c="copy")
           .global_args("-nostdin").overwrite_output())
    try:
        _, err = run.run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as e:
        return (e.stderr or b"").decode("utf-8", "replace"), None
    text = err.decode("utf-8", "replace")
    counts = re.findall(r"frame=\s*(\d+)", text)
    return text, int(counts[-1]) if counts else None


def display_rotation(header: str) -> int:
    """Rotation (0, 90, 180, 270) of the first video stream as displayed: a phone's display matrix
    (``Display Matrix: rotation of -90.00 degrees``) or an older ``rotate : 90`` tag. ffmpeg applies it
    when decoding, so frames come out in the displayed orientation and the size must follow."""
    video_part = header.split("Output #0")[0]
    match = re.search(r"rotation of (-?\d+(?:\.\d+)?) degrees", video_part) or \
        re.search(r"rotate\s*:\s*(-?\d+)", video_part)
    return int(round(float(match.group(1)))) % 360 if match else 0


def count_frames(path: str | os.PathLike) -> int:
    """Exact number of frames of the first video stream, counted from packets (no decoding)."""
    path = require_video_file(path)
    _, n = _copy_pass(path)
    if n is None:
        raise VideoError(f"Could not count the frames of {path.name}: {NOT_A_VIDEO}")
    return n


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """fps, size, frame count (from the container, without decoding) and audio presence."""
    path = require_video_file(path)
    text, n = _copy_pass(path)
    try:
        meta = parse_ffmpeg_header(text)
    except Exception as e:  # noqa: BLE001 - no video stream line: not a video ffmpeg can read
        raise VideoError(f"Could not read {path.name} as a video ({type(e).__name__}): "
                         f"{NOT_A_VIDEO}") from None
    fps = float(meta.get("fps") or 0.0)
    fps = fps if 1.0 <= fps <= 240.0 else 25.0
    if n is None:  # an estimate is enough for progress
        n = int(float(meta.get("duration") or 0.0) * fps)
    w, h = meta["size"]
    if display_rotation(text) % 180 == 90:  # portrait phone video: frames are decoded rotated
        w, h = h, w
    codec = meta.get("audio_codec") if Path(path).suffix.lower() != ".gif" else None
    return VideoInfo(fps, (int(w), int(h)), int(n), codec is not None, codec)
