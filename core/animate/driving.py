"""The driving side: one stable square face crop of the video, and keypoints of every cropped frame.

1. face crop (the official ``crop-video`` idea): BlazeFace on a few frames a second, one fixed square
   crop around the union of the face boxes with a margin, so head motion stays in the crop;
2. driving keypoints: face mesh (video tracking) on every cropped frame; a face lost mid-video holds
   the last good pose; no face at all is an :class:`AnimationError`.

Frames come from the one video reader, :func:`core.video.iter_frames`; its errors are re-raised as
AnimationErrors, the pipeline's error for users.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from core import video
from core.animate import motion_transfer as mt
from core.animate.errors import AnimationError
from core.animate.framing import OUTPUT_SIZE, face_crop_from_boxes
from core.animate.motions import Motion, save_motion
from core.animate.progress import Clock, ProgressFn
from core.animate.source import static_landmarker

MAX_DRIVING_SECONDS = 180.0  # longer driving videos need an explicit --max-frames (minutes of CPU otherwise)
MAX_PENDING_FRAMES = 250   # leading face-less frames kept (side by side) before the first tracked face
DETECT_FPS = 5.0           # frames a second the crop search runs BlazeFace on
# The driving face is tracked with the attention mesh (refined lips, eyelids and irises): on the shared
# driving clips its per-frame mouth and eye openings agree with a full-frame re-track at r = 0.99-1.0,
# against 0.84-0.97 (mouth) and 0.48-0.95 (eyes) for the plain mesh, which misreads pouted lips as
# open and misses squints. It costs ~3.5 ms a frame, on the tracking core.
DRIVING_REFINE = True


def probe(path: str | os.PathLike) -> video.VideoInfo:
    """:func:`core.video.probe_video` with its errors as AnimationErrors."""
    try:
        return video.probe_video(path)
    except video.VideoError as e:
        raise AnimationError(str(e)) from None


def check_driving_length(info: video.VideoInfo, max_frames: int | None) -> None:
    """Refuse a driving video longer than :data:`MAX_DRIVING_SECONDS` unless the caller bounded the
    frames: a 10-minute clip would animate for many minutes with no word. Says how long it is and how
    to go on."""
    seconds = info.frames_estimate / info.fps if info.fps > 0 else 0.0
    if max_frames is None and seconds > MAX_DRIVING_SECONDS:
        limit, minutes = int(MAX_DRIVING_SECONDS * info.fps), MAX_DRIVING_SECONDS / 60
        raise AnimationError(f"The driving video is {seconds / 60:.1f} min long ({info.frames_estimate} "
                             f"frames); at most {minutes:g} min is animated without asking. Trim it, or pass "
                             f"--max-frames N (e.g. {limit} for the first {minutes:g} min) to animate that "
                             "many frames.")


def frames(path: str | os.PathLike, max_frames: int | None = None, vf: str | None = None
           ) -> Iterator[np.ndarray]:
    """:func:`core.video.iter_frames` with its errors as AnimationErrors."""
    gen = video.iter_frames(path, max_frames, vf)
    try:
        yield from gen
    except video.VideoError as e:
        raise AnimationError(str(e)) from None
    finally:
        gen.close()


def iter_cropped(path: str | os.PathLike, crop: tuple[int, int, int], size: int = OUTPUT_SIZE,
                 max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Stream the square crop (x0, y0, side) of every frame resized to size x size (done by ffmpeg)."""
    x0, y0, side = crop
    yield from frames(path, max_frames, f"crop={side}:{side}:{x0}:{y0},scale={size}:{size}:flags=area")


def find_driving_crop(path: str | os.PathLike, info: video.VideoInfo, landmarker, clock: Clock,
                      max_frames: int | None = None, margin: float = 1.0) -> tuple[int, int, int]:
    """Fixed square face crop of a driving video from BlazeFace boxes on ~5 frames a second."""
    w, h = info.size
    scale = min(1.0, 320 / max(w, h))
    sw, sh = max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)
    n_src = min(info.frames_estimate or 1, max_frames or 10**9)
    # Clips under two seconds are searched frame by frame: ffmpeg's fps filter can drop every frame
    # of a very short clip (a one-frame video would otherwise look empty).
    rate = min(info.fps, DETECT_FPS) if n_src > 2 * info.fps else info.fps
    vf = f"fps={rate:g},scale={sw}:{sh}" if rate < info.fps else f"scale={sw}:{sh}"
    n_max = int(np.ceil(n_src * rate / info.fps)) + 1 if max_frames else None
    clock.start("crop", max(1, int(n_src * rate / info.fps)))
    boxes = []
    for i, frame in enumerate(frames(path, n_max, vf)):
        faces = landmarker.detect(frame)
        if faces:
            x0, y0, x1, y1 = faces[0].box
            boxes.append((x0 * w / sw, y0 * h / sh, x1 * w / sw, y1 * h / sh))
        clock.tick(i + 1, every=4)
    if not boxes:
        raise AnimationError("No face found in the driving video: use a video of one face looking "
                             "roughly at the camera.")
    return face_crop_from_boxes(boxes, (w, h), margin)


def driving_keypoints(path: str | os.PathLike, crop: tuple[int, int, int], mesher, clock: Clock,
                      max_frames: int | None = None, total: int = 0) -> tuple[np.ndarray, int]:
    """(T, K, 2) normalised keypoints of every cropped frame; lost faces hold the last good pose."""
    kps: list[np.ndarray | None] = []
    clock.start("landmarks", total)
    for i, frame in enumerate(iter_cropped(path, crop, OUTPUT_SIZE, max_frames)):
        meshes = mesher.mesh(frame)
        kps.append(mt.subset(meshes[0]) / OUTPUT_SIZE if meshes else None)
        clock.tick(i + 1)
    good = [i for i, k in enumerate(kps) if k is not None]
    if not good:
        raise AnimationError("The driving video's face could not be tracked in any frame.")
    last = kps[good[0]]
    out = np.empty((len(kps), mt.NUM_KEYPOINTS, 2), np.float32)
    for i, k in enumerate(kps):
        last = k if k is not None else last
        out[i] = last
    return out, len(kps) - len(good)


def tracked_frames(path: str | os.PathLike, crop: tuple[int, int, int], mesher,
                   max_frames: int | None = None, keep_frames: bool = True,
                   stats: dict | None = None) -> Iterator[tuple[np.ndarray | None, np.ndarray]]:
    """One pass: (cropped frame or None, (K, 2) normalised keypoints) per frame, lost faces held.

    Frames before the first tracked face get its pose (buffered, at most MAX_PENDING_FRAMES when
    ``keep_frames``). ``stats['lost']`` counts frames without a tracked face.
    """
    stats = stats if stats is not None else {}
    stats["lost"] = 0
    pending: list[np.ndarray | None] = []
    last = None
    for frame in iter_cropped(path, crop, OUTPUT_SIZE, max_frames):
        meshes = mesher.mesh(frame)
        kp = mt.subset(meshes[0]) / OUTPUT_SIZE if meshes else None
        if kp is None:
            stats["lost"] += 1
        kept = frame.copy() if keep_frames else None
        if last is None:
            if kp is None:
                if keep_frames and len(pending) >= MAX_PENDING_FRAMES:
                    raise AnimationError(f"No face could be tracked in the first {MAX_PENDING_FRAMES} "
                                         "frames of the driving video: trim the start of the video.")
                pending.append(kept)
                continue
            for f in pending:
                yield f, kp
            pending = []
        last = kp if kp is not None else last
        yield kept, last
    if last is None:
        raise AnimationError("The driving video's face could not be tracked in any frame.")


def record_motion(video_path: str | os.PathLike, out_path: str | os.PathLike | None = None,
                  name: str | None = None, max_frames: int | None = None,
                  progress: ProgressFn | None = None, cancel: threading.Event | None = None) -> Motion:
    """Record a keypoint trajectory (a :class:`Motion`) from a video; saved as JSON when out_path."""
    from core.landmarks import FaceLandmarker

    info = probe(video_path)
    check_driving_length(info, max_frames)
    clock = Clock(progress, cancel)
    crop = find_driving_crop(video_path, info, static_landmarker(), clock, max_frames)
    with FaceLandmarker(max_faces=1, video=True, refine=DRIVING_REFINE) as mesher:
        kp, _ = driving_keypoints(video_path, crop, mesher, clock, max_frames, info.frames_estimate)
    motion = Motion(name or Path(video_path).stem, info.fps, kp)
    if out_path is not None:
        save_motion(motion, out_path)
    return motion
