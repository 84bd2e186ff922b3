"""Video and animation writing shared by the trainer time-lapse, the StyleGAN2 morphs and FOMM.

MP4s are written with imageio's ffmpeg plugin (the ``imageio-ffmpeg`` wheel bundles an ffmpeg
binary, so this works offline). Frames are uint8 HxWx3 arrays.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import imageio.v2 as imageio
import imageio_ffmpeg
import numpy as np


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def _even(frame: np.ndarray) -> np.ndarray:
    # yuv420p needs even width and height; pad by edge replication rather than resample.
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def write_mp4(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float = 24.0,
              quality: int = 8) -> int:
    """Stream frames to an H.264 MP4 (yuv420p, plays in browsers). Returns the frame count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    writer = imageio.get_writer(str(path), format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                quality=quality, pixelformat="yuv420p", macro_block_size=1,
                                ffmpeg_log_level="error")
    try:
        for frame in frames:
            frame = np.asarray(frame, dtype=np.uint8)
            assert frame.ndim == 3 and frame.shape[2] == 3, f"expected HxWx3, got {frame.shape}"
            writer.append_data(_even(frame))
            n += 1
    finally:
        writer.close()
    return n


def write_gif(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float = 10.0,
              loop: int = 0) -> int:
    """Write an animated GIF (Pillow backend). Returns the frame count."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pil = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    assert pil, "write_gif needs at least one frame"
    pil[0].save(path, save_all=True, append_images=pil[1:], duration=int(round(1000 / fps)),
                loop=loop, optimize=False)
    return len(pil)


def video_bytes(path: str | os.PathLike) -> bytes:
    return Path(path).read_bytes()
