"""The one video reader: stream decoded frames from any container ffmpeg reads (MP4, MOV, WebM, GIF...).

Decoding runs the ffmpeg binary bundled in ``imageio-ffmpeg`` through its raw-frame reader, with an
optional ffmpeg filter (crop, scale, frame-rate sampling) applied before the frames reach Python, so
memory stays bounded for long videos. Failures raise :class:`VideoError` with a message for users.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np

logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)  # "frame size differs" after our own crop

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".gif", ".avi", ".mkv", ".m4v")
NOT_A_VIDEO = "the file is corrupt or not a video. Use an MP4, MOV, WebM or GIF file."


class VideoError(ValueError):
    """A video file that cannot be read (missing, empty, corrupt, not a video). The message is for users."""


def require_video_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it is a non-empty file, else a :class:`VideoError` saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"Driving video not found: {path}")
    if not path.is_file():
        raise VideoError(f"{path} is a folder, not a video file.")
    if path.stat().st_size == 0:
        raise VideoError(f"{path.name} is empty (0 bytes): {NOT_A_VIDEO}")
    return path


def iter_frames(path: str | os.PathLike, max_frames: int | None = None,
                vf: str | None = None) -> Iterator[np.ndarray]:
    """Stream uint8 HxWx3 RGB frames (bounded memory), through the ffmpeg filter ``vf`` when given.

    One frame per frame of the file (no duplicates, whatever its frame rate), rotated as it is displayed
    (a phone's display matrix is applied, as ffmpeg does by default).

    A file that does not decode at all raises :class:`VideoError`; a truncated tail ends the stream
    with the frames that decoded.
    """
    path = require_video_file(path)
    # passthrough: each decoded frame exactly once. ffmpeg's default for a raw pipe is a constant rate
    # (the stream's tbr), which duplicates frames of a variable-frame-rate phone clip (67 frames read
    # as 102) and turns a one-frame GIF into four.
    params = ["-fps_mode", "passthrough", *(["-vf", vf] if vf else [])]
    gen = imageio_ffmpeg.read_frames(str(path), output_params=params)
    n = 0
    try:
        try:
            meta = next(gen)
            w, h = meta["size"]
        except Exception as e:  # noqa: BLE001 - any decoder failure is a bad file for the user
            raise VideoError(f"Could not read {path.name} as a video ({type(e).__name__}): "
                             f"{NOT_A_VIDEO}") from None
        while max_frames is None or n < max_frames:
            try:
                buf = next(gen)
            except StopIteration:
                break
            except Exception as e:  # noqa: BLE001
                if n == 0:
                    raise VideoError(f"Could not decode {path.name}: the file looks corrupt "
                                     f"({type(e).__name__}).") from None
                break  # a truncated tail: keep what decoded
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
            n += 1
    finally:
        gen.close()
    if n == 0 and max_frames != 0:
        raise VideoError(f"{path.name} has a video stream but no frame of it could be decoded: "
                         "the file looks truncated or corrupt.")
