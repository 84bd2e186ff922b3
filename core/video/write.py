"""The one video writer: H.264 MP4s (trainer time-lapse, StyleGAN2 morphs, animations) and GIFs.

MP4s are encoded by the ffmpeg binary bundled in the ``imageio-ffmpeg`` wheel (works offline), with
the command built by ``ffmpeg-python``. ffmpeg's own messages go to a temporary log, never to the
terminal, so a failed write (read-only folder, full disk) becomes one ``OSError`` naming the cause.
Frames are uint8 HxWx3 RGB arrays.
"""

from __future__ import annotations

import errno
import os
import subprocess
import tempfile
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import ffmpeg
import imageio_ffmpeg
import numpy as np

# ffmpeg messages that name a cause a user can act on, as the errno the CLI wrapper describes.
_FFMPEG_ERRNOS = (("No space left", errno.ENOSPC), ("Read-only file system", errno.EROFS),
                  ("Permission denied", errno.EACCES), ("Disk quota exceeded", errno.EDQUOT),
                  ("No such file or directory", errno.ENOENT), ("Is a directory", errno.EISDIR))


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_failure(log: str, path: str | os.PathLike, action: str = "write") -> OSError:
    """An ``OSError`` for a failed ffmpeg run: the errno of a known cause, else ffmpeg's last line."""
    for phrase, code in _FFMPEG_ERRNOS:
        if phrase in log:
            return OSError(code, os.strerror(code), str(path))
    last = [line.strip() for line in log.splitlines() if line.strip()]
    reason = last[-1][:200] if last else "no message"
    return OSError(errno.EIO, f"ffmpeg could not {action} the video ({reason})", str(path))


def _even(frame: np.ndarray) -> np.ndarray:
    # yuv420p needs even width and height; pad by edge replication rather than resample.
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


class Mp4Writer:
    """Stream frames into an H.264 MP4 (yuv420p, plays in browsers); a context manager.

    ffmpeg starts at the first frame, which fixes the size. ``frames`` counts the frames sent.
    """

    def __init__(self, path: str | os.PathLike, fps: float = 24.0, quality: int = 8,
                 preset: str | None = None):
        self.path = Path(path)          # output file; its folder is created
        self.fps = fps                  # frames per second (kept exact as a fraction)
        self.quality = quality          # 1..10 (imageio's scale): crf = int((1 - quality / 10) * 51)
        self.preset = preset            # x264 preset (e.g. "veryfast"); None = x264's default
        assert 1 <= quality <= 10, f"quality must be 1..10, got {quality}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.frames = 0
        self._size: tuple[int, int] | None = None
        self._proc: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()

    def _start(self, width: int, height: int) -> None:
        rate = str(Fraction(self.fps).limit_denominator())
        out_args = dict(vcodec="libx264", pix_fmt="yuv420p", crf=int((1 - self.quality / 10) * 51), an=None)
        if self.preset:
            out_args["preset"] = self.preset
        cmd = (ffmpeg.input("pipe:", format="rawvideo", vcodec="rawvideo", pix_fmt="rgb24",
                            s=f"{width}x{height}", r=rate)
               .output(str(self.path), **out_args).global_args("-v", "error").overwrite_output()
               .compile(cmd=ffmpeg_exe()))
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log)
        self._size = (width, height)

    def _failure(self) -> OSError:
        if self._proc is not None:
            if self._proc.stdin and not self._proc.stdin.closed:
                try:
                    self._proc.stdin.close()
                except OSError:
                    pass
            self._proc.wait()
        self._log.seek(0)
        return ffmpeg_failure(self._log.read().decode("utf-8", "replace"), self.path)

    def append(self, frame: np.ndarray) -> None:
        frame = _even(np.asarray(frame, dtype=np.uint8))
        assert frame.ndim == 3 and frame.shape[2] == 3, f"expected HxWx3, got {frame.shape}"
        h, w = frame.shape[:2]
        if self._proc is None:
            self._start(w, h)
        assert self._size == (w, h), f"frame size changed from {self._size} to {(w, h)}"
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        except (BrokenPipeError, OSError):
            raise self._failure() from None
        self.frames += 1

    def close(self) -> int:
        """Finish the file; raises ``OSError`` if ffmpeg failed. Returns the frame count."""
        if self._proc is not None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
            if self._proc.wait() != 0:
                raise self._failure()
            self._proc = None
        self._log.close()
        return self.frames

    def abort(self) -> None:
        """Stop ffmpeg without finishing the file (after an error elsewhere)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        self._log.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_mp4(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float = 24.0,
              quality: int = 8, preset: str | None = None) -> int:
    """Stream frames to an H.264 MP4 (yuv420p, plays in browsers). Returns the frame count."""
    with Mp4Writer(path, fps, quality, preset) as writer:
        for frame in frames:
            writer.append(frame)
    return writer.frames


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
