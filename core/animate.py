"""Face animation pipeline: driving video -> animated source face MP4 (with the driving audio).

Used by the FOMM animator page and the command line (``python -m core.fomm animate ...`` or
``python -m core.animate ...``). Two engines share the pipeline:

* ``landmarks`` (default, offline): :mod:`core.motion_transfer`, landmark-driven first-order motion
  transfer in the spirit of FOMM (Siarohin et al., NeurIPS 2019), no downloaded weights;
* ``fomm``: the neural First Order Motion Model (:mod:`core.fomm`) from a ``vox-cpk`` checkpoint.

Pipeline, all streamed so a 10-minute video runs in bounded memory (only per-frame keypoints are
kept, ~1 KB a frame):

1. face crop (the official ``crop-video`` idea): BlazeFace on a few frames a second, one fixed square
   crop around the union of the face boxes with a margin, so head motion stays in the crop;
2. driving keypoints: face mesh (video tracking) on every cropped frame; a face lost mid-video holds
   the last good pose; no face at all is an :class:`AnimationError`;
3. optional best start frame: the frame whose normalised keypoints best match the source's, used as
   the initial driving pose for relative motion (as the official demo's ``--find_best_frame``);
4. render one output frame per driving frame, encode H.264, then mux the driving video's audio with
   the ffmpeg binary bundled in imageio-ffmpeg.

Bundled demo motions (``assets/motions/*.json``) are keypoint trajectories that drive the offline
engine directly; :func:`record_motion` writes such a file from any video.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core import ASSETS_DIR
from core import motion_transfer as mt
from core.video import ffmpeg_exe

logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)  # "frame size differs" after our own crop

MOTIONS_DIR = ASSETS_DIR / "motions"
MOTION_FORMAT = "custom-cast-motion"
MOTION_SCALE = 1000            # motion files store coordinates as integers in 1/1000 of the frame
OUTPUT_SIZE = 256
VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".gif", ".avi", ".mkv", ".m4v")
ENGINES = ("landmarks", "fomm")


class AnimationError(ValueError):
    """Bad input (no face, unreadable video, ...): the message is meant for the user."""


class AnimationCancelled(RuntimeError):
    """Raised when the cancel event is set during a run."""


@dataclass
class Progress:
    stage: str        # "crop", "landmarks", "render", "audio"
    done: int         # frames done in this stage
    total: int        # frames expected in this stage (an estimate before the landmark pass)
    fps: float        # frames per second in this stage
    eta_s: float      # seconds left for the whole run (estimate)
    fraction: float   # overall progress in [0, 1]


ProgressFn = Callable[[Progress], None]


@dataclass
class AnimateOptions:
    engine: str = "landmarks"            # "landmarks" (offline) or "fomm" (needs checkpoint)
    checkpoint: str | None = None        # vox-cpk.pth.tar for the fomm engine
    fomm_config: str | dict | None = None  # official YAML path or dict; None = vox-256 defaults
    relative: bool = True                # relative motion (FOMM demo default) vs absolute keypoints
    adapt_scale: bool = True             # scale motion by sqrt of hull-area ratio
    best_frame: bool = False             # start from the driving frame most like the source
    upscale: int = 1                     # output size = 256 * upscale
    side_by_side: bool = False           # source | driving | result
    max_frames: int | None = None        # truncate the driving video (previews, tests)
    crop_margin: float = 1.0             # extra crop side, in face-box sizes, around the face union


@dataclass
class AnimationResult:
    path: Path
    frames: int
    fps: float
    best_frame: int
    has_audio: bool
    lost_frames: int                     # driving frames where the face was lost (pose held)
    seconds: float
    crop: tuple[int, int, int] | None = None   # (x0, y0, side) of the driving crop in pixels
    notes: list[str] = field(default_factory=list)


@dataclass
class Motion:
    """A keypoint trajectory that drives the offline engine: (T, K, 2) normalised keypoints."""
    name: str
    fps: float
    keypoints: np.ndarray

    def __post_init__(self):
        kp = np.asarray(self.keypoints, dtype=np.float32)
        assert kp.ndim == 3 and kp.shape[1:] == (mt.NUM_KEYPOINTS, 2), \
            f"expected (T, {mt.NUM_KEYPOINTS}, 2) keypoints, got {kp.shape}"
        self.keypoints = kp


# ----------------------------------------------------------------------------------- motions

def save_motion(motion: Motion, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.round(motion.keypoints.reshape(len(motion.keypoints), -1) * MOTION_SCALE).astype(int)
    doc = {"format": MOTION_FORMAT, "version": 1, "name": motion.name, "fps": float(motion.fps),
           "scale": MOTION_SCALE, "keypoint_indices": mt.KEYPOINT_INDICES, "frames": frames.tolist()}
    path.write_text(json.dumps(doc, separators=(",", ":")))
    return path


def load_motion(path: str | os.PathLike) -> Motion:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise AnimationError(f"Could not read the motion file {Path(path).name}: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != MOTION_FORMAT:
        raise AnimationError(f"{Path(path).name} is not a Custom Cast motion file.")
    if doc.get("keypoint_indices") != mt.KEYPOINT_INDICES:
        raise AnimationError(f"{Path(path).name} was recorded with a different keypoint layout.")
    frames = np.asarray(doc["frames"], dtype=np.float32) / float(doc.get("scale", MOTION_SCALE))
    if frames.ndim != 2 or frames.shape[1] != 2 * mt.NUM_KEYPOINTS or len(frames) == 0:
        raise AnimationError(f"{Path(path).name} has malformed frames.")
    return Motion(str(doc.get("name", Path(path).stem)), float(doc.get("fps", 25.0)),
                  frames.reshape(len(frames), mt.NUM_KEYPOINTS, 2))


def bundled_motions() -> dict[str, Path]:
    """Demo motion name -> file (nod, turn, smile, talk, blink), when the assets are present."""
    return {p.stem: p for p in sorted(MOTIONS_DIR.glob("*.json"))}


# ------------------------------------------------------------------------------ video input

@dataclass
class VideoInfo:
    fps: float
    size: tuple[int, int]            # (width, height)
    frames_estimate: int
    has_audio: bool


def _read_frames(path: str | os.PathLike, vf: str | None, max_frames: int | None) -> Iterator[np.ndarray]:
    """Raw ffmpeg decode (any container ffmpeg reads, GIF included) through an optional filter."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise AnimationError(f"Driving video not found: {path}")
    gen = imageio_ffmpeg.read_frames(str(path), output_params=["-vf", vf] if vf else None)
    n = 0
    try:
        try:
            meta = next(gen)
            w, h = meta["size"]
        except Exception as e:  # noqa: BLE001 - any decoder failure is a bad file for the user
            raise AnimationError(f"Could not read {path.name} as a video ({type(e).__name__}): the file "
                                 "is corrupt or not a video. Use an MP4, MOV, WebM or GIF file.") from None
        while max_frames is None or n < max_frames:
            try:
                buf = next(gen)
            except StopIteration:
                break
            except Exception as e:  # noqa: BLE001
                if n == 0:
                    raise AnimationError(f"Could not decode {path.name}: the file looks corrupt "
                                         f"({type(e).__name__}).") from None
                break  # a truncated tail: keep what decoded
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
            n += 1
    finally:
        gen.close()
    if n == 0:
        raise AnimationError(f"{path.name} contains no decodable video frames.")


def audio_codec(path: str | os.PathLike) -> str | None:
    """Codec name of the file's first audio stream as ffmpeg reports it, or None without audio."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True, errors="replace")
    match = re.search(r"Stream #\S+.*: Audio: (\w+)", proc.stderr)
    return match.group(1) if match else None


def has_audio_stream(path: str | os.PathLike) -> bool:
    """Whether ffmpeg sees an audio stream in the file."""
    return audio_codec(path) is not None


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """fps, size, frame count (from the container, without decoding) and audio presence."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise AnimationError(f"Driving video not found: {path}")
    gen = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(gen)
    except Exception as e:  # noqa: BLE001
        raise AnimationError(f"Could not read {path.name} as a video ({type(e).__name__}): the file is "
                             "corrupt or not a video. Use an MP4, MOV, WebM or GIF file.") from None
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
    return VideoInfo(fps, (int(w), int(h)), int(n), has_audio_stream(path))


def iter_frames(path: str | os.PathLike, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Stream uint8 HxWx3 RGB frames (bounded memory). Raises AnimationError on a corrupt file."""
    yield from _read_frames(path, None, max_frames)


def iter_cropped(path: str | os.PathLike, crop: tuple[int, int, int], size: int = OUTPUT_SIZE,
                 max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Stream the square crop (x0, y0, side) of every frame resized to size x size (done by ffmpeg)."""
    x0, y0, side = crop
    vf = f"crop={side}:{side}:{x0}:{y0},scale={size}:{size}:flags=area"
    yield from _read_frames(path, vf, max_frames)


def crop_square(frame: np.ndarray, crop: tuple[float, float, float], size: int) -> np.ndarray:
    """Square crop (x0, y0, side) resized to size x size; parts outside the frame replicate the edge."""
    x0, y0, side = crop
    s = size / side
    if s < 0.75:  # pre-shrink large downscales so bilinear sampling does not alias
        k = max(1, int(1 / s) // 2 * 2)
        if k >= 2:
            frame = cv2.resize(frame, (frame.shape[1] // k, frame.shape[0] // k),
                               interpolation=cv2.INTER_AREA)
            x0, y0, side, s = x0 / k, y0 / k, side / k, size / (side / k)
    m = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], dtype=np.float32)
    return cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def face_crop_from_boxes(boxes: list[tuple[float, float, float, float]], frame_size: tuple[int, int],
                         margin: float = 1.0) -> tuple[int, int, int]:
    """One square crop (x0, y0, side) covering the union of face boxes plus ``margin`` box sizes.

    Kept inside the frame (side at most the frame's shorter edge), so ffmpeg can crop it.
    """
    assert boxes, "need at least one face box"
    b = np.asarray(boxes, dtype=np.float64)
    face = float(np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])))
    ux0, uy0, ux1, uy1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    side = max(ux1 - ux0, uy1 - uy0) + margin * face
    cx = (ux0 + ux1) / 2
    cy = (uy0 + uy1) / 2 - 0.1 * face   # BlazeFace boxes sit low on the forehead: include some hair
    w, h = frame_size
    side = int(min(max(side, 16.0), w, h)) // 2 * 2
    x0 = int(round(min(max(cx - side / 2, 0), w - side)))
    y0 = int(round(min(max(cy - side / 2, 0), h - side)))
    return x0, y0, side


# ------------------------------------------------------------------------------------ source

_static_lock = threading.Lock()
_static: list = []


def static_landmarker():
    """One shared static-image FaceLandmarker (thread-safe; building one costs ~0.5 s)."""
    from core.landmarks import FaceLandmarker

    with _static_lock:
        if not _static:
            _static.append(FaceLandmarker(max_faces=1, video=False, refine=False))
        return _static[0]


def load_image(path: str | os.PathLike) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise AnimationError(f"Could not read the source image {Path(path).name}: {e}") from None


def prepare_source(image: np.ndarray | str | os.PathLike, size: int = OUTPUT_SIZE, crop_face: bool = True,
                   landmarker=None) -> np.ndarray:
    """Square size x size uint8 source face.

    ``crop_face``: find the face and align it FFHQ-style with ``core.align`` (uploaded photos; a
    detector-box crop when the mesh fails); with
    False the image is taken as an already framed face (generated faces) and only centre-cropped.
    """
    if not isinstance(image, np.ndarray):
        image = load_image(image)
    assert image.ndim == 3 and image.shape[2] in (3, 4) and image.dtype == np.uint8, \
        f"expected uint8 HxWx3, got {image.dtype} {image.shape}"
    image = np.ascontiguousarray(image[..., :3])
    h, w = image.shape[:2]
    if crop_face:
        landmarker = landmarker or static_landmarker()
        meshes = landmarker.mesh(image)
        if meshes:  # FFHQ-style alignment (eyes level), the framing the generators' faces share
            from core.align import eye_mouth_points, ffhq_quad, warp_quad

            return warp_quad(image, ffhq_quad(eye_mouth_points(meshes[0])), size)[0]
        faces = landmarker.detect(image)
        if faces:
            x0, y0, side = face_crop_from_boxes([faces[0].box], (w, h), margin=0.9)
            return crop_square(image, (x0, y0, side), size)
        if max(h, w) > 3 * size:
            raise AnimationError("No face found in the source photo: use a clear, frontal face.")
    side = min(h, w)
    crop = ((w - side) / 2, (h - side) / 2, float(side))
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    x0, y0 = int(crop[0]), int(crop[1])
    return cv2.resize(image[y0:y0 + side, x0:x0 + side], (size, size), interpolation=interp)


# ------------------------------------------------------------------------- driving analysis

class _Clock:
    """Per-stage fps and an overall ETA from stage weights."""

    def __init__(self, progress: ProgressFn | None, cancel: threading.Event | None,
                 weights: dict[str, float] | None = None):
        self.progress, self.cancel = progress, cancel
        self.WEIGHTS = weights or {"crop": 0.1, "landmarks": 0.4, "render": 0.5}
        self.stage, self.t0, self.total = "", 0.0, 0
        self.run_t0 = time.perf_counter()
        self.done_weight = 0.0

    def start(self, stage: str, total: int) -> None:
        if self.stage:
            self.done_weight += self.WEIGHTS.get(self.stage, 0.0)
        self.stage, self.t0, self.total = stage, time.perf_counter(), max(int(total), 1)

    def tick(self, done: int, every: int = 4) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise AnimationCancelled("Animation cancelled.")
        if self.progress is None or (done % every and done != self.total):
            return
        el = time.perf_counter() - self.t0
        fps = done / el if el > 0 else 0.0
        stage_frac = min(done / self.total, 1.0)
        frac = min(self.done_weight + self.WEIGHTS.get(self.stage, 0.0) * stage_frac, 1.0)
        run_el = time.perf_counter() - self.run_t0
        eta = run_el * (1 - frac) / frac if frac > 1e-3 else float("nan")
        self.progress(Progress(self.stage, done, self.total, fps, eta, frac))


def find_driving_crop(path: str | os.PathLike, info: VideoInfo, landmarker, clock: _Clock,
                      max_frames: int | None = None, margin: float = 1.0) -> tuple[int, int, int]:
    """Fixed square face crop of a driving video from BlazeFace boxes on ~5 frames a second."""
    w, h = info.size
    scale = min(1.0, 320 / max(w, h))
    sw, sh = max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)
    rate = min(info.fps, 5.0)
    n_src = min(info.frames_estimate or 1, max_frames or 10**9)
    n_max = int(np.ceil(n_src * rate / info.fps)) + 1 if max_frames else None
    clock.start("crop", max(1, int(n_src * rate / info.fps)))
    boxes = []
    for i, frame in enumerate(_read_frames(path, f"fps={rate:g},scale={sw}:{sh}", n_max)):
        faces = landmarker.detect(frame)
        if faces:
            x0, y0, x1, y1 = faces[0].box
            boxes.append((x0 * w / sw, y0 * h / sh, x1 * w / sw, y1 * h / sh))
        clock.tick(i + 1, every=4)
    if not boxes:
        raise AnimationError("No face found in the driving video: use a video of one face looking "
                             "roughly at the camera.")
    return face_crop_from_boxes(boxes, (w, h), margin)


def driving_keypoints(path: str | os.PathLike, crop: tuple[int, int, int], mesher, clock: _Clock,
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


MAX_PENDING_FRAMES = 250   # leading face-less frames kept (side by side) before the first tracked face


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


def record_motion(video: str | os.PathLike, out_path: str | os.PathLike | None = None,
                  name: str | None = None, max_frames: int | None = None,
                  progress: ProgressFn | None = None, cancel: threading.Event | None = None) -> Motion:
    """Record a keypoint trajectory (a :class:`Motion`) from a video; saved as JSON when out_path."""
    from core.landmarks import FaceLandmarker

    info = probe_video(video)
    clock = _Clock(progress, cancel)
    crop = find_driving_crop(video, info, static_landmarker(), clock, max_frames)
    with FaceLandmarker(max_faces=1, video=True, refine=False) as mesher:
        kp, _ = driving_keypoints(video, crop, mesher, clock, max_frames, info.frames_estimate)
    motion = Motion(name or Path(video).stem, info.fps, kp)
    if out_path is not None:
        save_motion(motion, out_path)
    return motion


# ---------------------------------------------------------------------------------- output

def mux_audio(video_path: str | os.PathLike, audio_source: str | os.PathLike,
              out_path: str | os.PathLike) -> bool:
    """Copy video_path's video and audio_source's first audio stream (AAC) into out_path.

    Returns whether audio was muxed; without an audio stream the video is copied as is.
    """
    codec = audio_codec(audio_source) if Path(audio_source).suffix.lower() != ".gif" else None
    has_audio = codec is not None
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video_path)]
    if has_audio:
        cmd += ["-i", str(audio_source), "-map", "0:v:0", "-map", "1:a:0", "-shortest"]
    tail = ["-c:v", "copy", "-movflags", "+faststart", str(out_path)]
    # AAC audio (most MP4/MOV) is copied as is; anything else (Opus in WebM, ...) is re-encoded.
    copy = codec == "aac"
    proc = subprocess.run(cmd + (["-c:a", "copy"] if copy else []) + tail, capture_output=True,
                          text=True, errors="replace") if copy or not has_audio else None
    if has_audio and (proc is None or proc.returncode != 0):
        proc = subprocess.run(cmd + ["-c:a", "aac", "-b:a", "128k"] + tail, capture_output=True, text=True,
                              errors="replace")
    if proc.returncode != 0:
        if has_audio:  # an audio stream ffmpeg cannot decode: keep the silent video rather than fail
            mux_audio(video_path, video_path, out_path)
            return False
        raise AnimationError(f"Could not write the MP4: {proc.stderr.strip()[-300:]}")
    return has_audio


class _Writer:
    def __init__(self, path: Path, fps: float):
        import imageio.v2 as imageio

        self._w = imageio.get_writer(str(path), format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                     quality=8, pixelformat="yuv420p", macro_block_size=1,
                                     ffmpeg_log_level="error", output_params=["-preset", "veryfast"])
        self.frames = 0

    def append(self, frame: np.ndarray) -> None:
        self._w.append_data(frame)
        self.frames += 1

    def close(self) -> None:
        self._w.close()


def _compose(source: np.ndarray, driving: np.ndarray | None, result: np.ndarray, upscale: int,
             side_by_side: bool) -> np.ndarray:
    size = OUTPUT_SIZE * upscale
    if result.shape[0] != size:
        result = cv2.resize(result, (size, size), interpolation=cv2.INTER_CUBIC)
    if not side_by_side:
        return result
    panels = [source, driving if driving is not None else np.zeros_like(source), result]
    panels = [p if p.shape[0] == size else cv2.resize(p, (size, size), interpolation=cv2.INTER_CUBIC)
              for p in panels]
    return np.concatenate(panels, axis=1)


def draw_keypoints(kp: np.ndarray, size: int = OUTPUT_SIZE) -> np.ndarray:
    """A dark panel with the driving keypoints (the 'driving' view for bundled motions)."""
    img = np.full((size, size, 3), 24, np.uint8)
    for x, y in np.asarray(kp) * size:
        cv2.circle(img, (int(round(x)), int(round(y))), 1, (120, 220, 255), -1, lineType=cv2.LINE_AA)
    return img


# ----------------------------------------------------------------------------------- animate

def _fomm_animator(options: AnimateOptions):
    try:
        from core import fomm
    except ImportError as e:
        raise AnimationError(f"The neural FOMM engine is not available: {e}") from None
    if not options.checkpoint or not Path(options.checkpoint).is_file():
        raise AnimationError("The fomm engine needs a vox-cpk.pth.tar checkpoint (download it first, "
                             "or use the offline 'landmarks' engine).")
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kp_detector, generator = fomm.load_fomm(options.checkpoint, options.fomm_config)
    except AnimationError:
        raise
    except Exception as e:  # noqa: BLE001 - CheckpointError and friends: tell the user
        raise AnimationError(f"Could not load the FOMM checkpoint: {e}") from None
    return fomm.FommAnimator(kp_detector.to(device), generator.to(device), device)


def animate(source: np.ndarray | str | os.PathLike, driving: str | os.PathLike | Motion,
            out_path: str | os.PathLike, options: AnimateOptions | None = None,
            progress: ProgressFn | None = None, cancel: threading.Event | None = None,
            crop_source: bool | None = None) -> AnimationResult:
    """Animate a source face with a driving video (or a :class:`Motion`) into an MP4 at out_path.

    source: image path, or uint8 HxWx3 array; arrays are taken as framed faces unless crop_source.
    The output has exactly one frame per driving frame, at the driving fps, with its audio.
    Raises AnimationError (clear message) for bad input, AnimationCancelled when cancel is set.
    """
    from core.landmarks import FaceLandmarker

    opts = options or AnimateOptions()
    if opts.engine not in ENGINES:
        raise AnimationError(f"Unknown engine {opts.engine!r}: use one of {', '.join(ENGINES)}.")
    if opts.engine == "fomm" and (not opts.checkpoint or not Path(opts.checkpoint).is_file()):
        raise AnimationError("The fomm engine needs a vox-cpk.pth.tar checkpoint (download it with "
                             "`python -m core.download get vox-256`, or use the offline 'landmarks' engine).")
    if not 1 <= int(opts.upscale) <= 4:
        raise AnimationError("upscale must be 1, 2, 3 or 4.")
    t0 = time.perf_counter()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    is_motion = isinstance(driving, Motion)
    fused = opts.engine == "landmarks" and not is_motion and not opts.best_frame
    clock = _Clock(progress, cancel, {"render": 1.0} if is_motion else
                   {"crop": 0.1, "render": 0.9} if fused else None)
    notes: list[str] = []
    if crop_source is None:
        crop_source = not isinstance(source, np.ndarray)
    src = prepare_source(source, OUTPUT_SIZE, crop_face=crop_source)

    if is_motion and opts.engine == "fomm":
        raise AnimationError("Bundled motions drive the offline 'landmarks' engine; the fomm engine "
                             "needs a driving video.")
    animator = None
    src_kp = None
    if opts.engine == "landmarks":
        animator = mt.LandmarkAnimator(static_landmarker())
        try:
            animator.set_source(src)
        except ValueError as e:
            raise AnimationError(str(e)) from None
        src_kp = animator.source_kp
    # Without a best-frame search the offline engine tracks and renders in one decode pass (fused).
    crop, lost = None, 0
    drv_kp = np.zeros((0, mt.NUM_KEYPOINTS, 2), np.float32)
    if is_motion:
        drv_kp, fps, has_audio_in = driving.keypoints, driving.fps, False
        if opts.max_frames:
            drv_kp = drv_kp[:opts.max_frames]
    else:
        info = probe_video(driving)
        fps, has_audio_in = info.fps, info.has_audio
        crop = find_driving_crop(driving, info, static_landmarker(), clock, opts.max_frames,
                                 opts.crop_margin)
        expected = min(info.frames_estimate or 1, opts.max_frames or 10**9)
        if not fused:
            with FaceLandmarker(max_faces=1, video=True, refine=False) as mesher:
                drv_kp, lost = driving_keypoints(driving, crop, mesher, clock, opts.max_frames, expected)

    start = 0
    if opts.best_frame:
        if src_kp is None:
            meshes = static_landmarker().mesh(src)
            src_kp = mt.subset(meshes[0]) / OUTPUT_SIZE if meshes else None
            if src_kp is None:
                notes.append("No face landmarks on the source: best frame search skipped.")
        if src_kp is not None:
            start = mt.best_frame(src_kp, drv_kp)
    initial_kp = drv_kp[start] if len(drv_kp) else None

    total = len(drv_kp) if not fused else expected
    clock.start("render", total)
    tmp_dir = tempfile.mkdtemp(prefix="animate-", dir=out_path.parent)
    silent = Path(tmp_dir) / "silent.mp4"
    writer = _Writer(silent, fps)
    try:
        if fused:
            stats: dict = {}
            with FaceLandmarker(max_faces=1, video=True, refine=False) as mesher:
                for i, (frame, kp) in enumerate(tracked_frames(driving, crop, mesher, opts.max_frames,
                                                               opts.side_by_side, stats)):
                    if initial_kp is None:
                        initial_kp = kp
                    result = animator.render(mt.normalize_keypoints(
                        src_kp, kp, initial_kp, opts.adapt_scale, opts.relative))
                    writer.append(_compose(src, frame, result, opts.upscale, opts.side_by_side))
                    clock.tick(i + 1)
            total, lost = writer.frames, stats["lost"]
        elif opts.engine == "landmarks":
            frames_iter = (iter_cropped(driving, crop, OUTPUT_SIZE, opts.max_frames)
                           if opts.side_by_side and not is_motion else None)
            for i, kp in enumerate(drv_kp):
                result = animator.render(mt.normalize_keypoints(
                    src_kp, kp, initial_kp, opts.adapt_scale, opts.relative))
                drv_view = None
                if opts.side_by_side:
                    drv_view = (draw_keypoints(kp) if frames_iter is None
                                else next(frames_iter))
                writer.append(_compose(src, drv_view, result, opts.upscale, opts.side_by_side))
                clock.tick(i + 1)
            if frames_iter is not None:
                frames_iter.close()
        else:
            fomm_anim = _fomm_animator(opts)
            fomm_anim.set_source(src)
            initial_img = None
            for i, frame in enumerate(iter_cropped(driving, crop, OUTPUT_SIZE, opts.max_frames)):
                if i == start:
                    initial_img = frame.copy()
                    break
            batch: list[np.ndarray] = []
            done = 0

            def flush() -> int:
                out = fomm_anim.animate(np.stack(batch), relative=opts.relative,
                                        adapt_scale=opts.adapt_scale, driving_initial=initial_img)
                for d, r in zip(batch, out):
                    writer.append(_compose(src, d, r, opts.upscale, opts.side_by_side))
                n = len(batch)
                batch.clear()
                return n

            for frame in iter_cropped(driving, crop, OUTPUT_SIZE, opts.max_frames):
                batch.append(frame)
                if len(batch) == 8:
                    done += flush()
                    clock.tick(done, every=1)
            if batch:
                done += flush()
                clock.tick(done, every=1)
    except BaseException:
        writer.close()
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    writer.close()
    if lost:
        notes.append(f"The face was lost in {lost} of {total} frames; the last pose was held.")
    try:
        if writer.frames != total:
            raise AnimationError(f"Rendered {writer.frames} frames for {total} driving frames.")
        has_audio = False
        if has_audio_in:
            has_audio = mux_audio(silent, driving, out_path)
        else:
            os.replace(silent, out_path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    if progress is not None:
        el = time.perf_counter() - clock.t0
        progress(Progress("done", total, total, total / el if el > 0 else 0.0, 0.0, 1.0))
    return AnimationResult(out_path, writer.frames, fps, start, has_audio, lost,
                           time.perf_counter() - t0, crop, notes)


# ------------------------------------------------------------------------------------- CLI

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core.fomm",
                                description="Animate a face with a driving video.")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("animate", help="animate a source face with a driving video or motion file")
    a.add_argument("--source", required=True, help="source face image (png/jpg)")
    a.add_argument("--driving", required=True,
                   help="driving video (mp4/mov/webm/gif), motion .json, or a bundled motion name")
    a.add_argument("--out", required=True, help="output MP4 path")
    a.add_argument("--engine", choices=ENGINES, default="landmarks")
    a.add_argument("--checkpoint", help="vox-cpk.pth.tar for --engine fomm")
    a.add_argument("--config", help="official FOMM YAML config (default: vox-256)")
    mode = a.add_mutually_exclusive_group()
    mode.add_argument("--relative", dest="relative", action="store_true", default=True)
    mode.add_argument("--absolute", dest="relative", action="store_false")
    a.add_argument("--adapt-scale", dest="adapt_scale", action="store_true", default=True)
    a.add_argument("--no-adapt-scale", dest="adapt_scale", action="store_false")
    a.add_argument("--best-frame", action="store_true")
    a.add_argument("--side-by-side", action="store_true")
    a.add_argument("--upscale", type=int, default=1, choices=[1, 2, 3, 4])
    a.add_argument("--max-frames", type=int)
    a.add_argument("--no-crop-source", action="store_true", help="source is already a framed face")
    r = sub.add_parser("record-motion", help="record a motion .json from a video")
    r.add_argument("--video", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--name")
    r.add_argument("--max-frames", type=int)
    return p


def _print_progress(p: Progress) -> None:
    eta = f"{p.eta_s:5.1f}s" if np.isfinite(p.eta_s) else "  ?  "
    print(f"\r{p.stage:9s} {p.done:5d}/{p.total:<5d} {p.fps:6.1f} fps  ETA {eta}", end="",
          file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "record-motion":
            m = record_motion(args.video, args.out, args.name, args.max_frames, progress=_print_progress)
            print(f"\nwrote {args.out}: {len(m.keypoints)} frames at {m.fps:g} fps")
            return 0
        driving: str | Motion = args.driving
        motions = bundled_motions()
        if args.driving in motions:
            driving = load_motion(motions[args.driving])
        elif args.driving.lower().endswith(".json"):
            driving = load_motion(args.driving)
        opts = AnimateOptions(engine=args.engine, checkpoint=args.checkpoint, fomm_config=args.config,
                              relative=args.relative, adapt_scale=args.adapt_scale,
                              best_frame=args.best_frame, upscale=args.upscale,
                              side_by_side=args.side_by_side, max_frames=args.max_frames)
        res = animate(args.source, driving, args.out, opts, progress=_print_progress,
                      crop_source=not args.no_crop_source)
    except (AnimationError, AnimationCancelled) as e:
        print(f"\nerror: {e}", file=sys.stderr)
        return 2
    audio = "yes" if res.has_audio else "no"
    print(f"\nwrote {res.path}: {res.frames} frames at {res.fps:g} fps, audio={audio},"
          f" best frame {res.best_frame}, {res.frames / res.seconds:.1f} fps overall")
    for n in res.notes:
        print(f"note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
