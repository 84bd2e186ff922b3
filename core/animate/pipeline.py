"""The animation pipeline: source face + driving video (or motion) -> MP4 with the driving audio.

Two engines share it: ``landmarks`` (default, offline, :mod:`core.animate.motion_transfer`) and ``fomm``
(the neural First Order Motion Model, :mod:`core.fomm`, imported only when chosen). Everything is
streamed, so a 10-minute video runs in bounded memory (only per-frame keypoints are kept, ~1 KB a
frame): frames are rendered into :class:`core.video.Mp4Writer`, the audio is muxed
(:mod:`core.animate.audio`), and the written file's frames are counted, so the result reports what
is on disk: exactly one frame per driving frame.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from core import provenance as pv
from core import video
from core.animate import motion_transfer as mt
from core.animate.audio import encode_sound, mux_audio, mux_encoded_sound
from core.animate.driving import (
    DRIVING_REFINE,
    check_driving_length,
    find_driving_crop,
    iter_cropped,
    probe,
    tracked_frames,
)
from core.animate.driving import driving_keypoints as track_keypoints
from core.animate.errors import AnimationError
from core.animate.framing import OUTPUT_SIZE
from core.animate.motions import Motion
from core.animate.progress import Clock, ProgressFn
from core.animate.source import prepare_source, static_landmarker
from core.checkpoint import publish_file
from core.cli import describe_os_error

T = TypeVar("T")
ENGINES = ("landmarks", "fomm")
FOMM_BATCH = 8              # driving frames per neural FOMM forward pass
PREFETCH_DEPTH = 6          # decoded + tracked driving frames kept ready ahead of the warp
RENDER_AHEAD = 3            # rendered frames kept ready ahead of the marking and the encoder
OUTPUT_SUFFIXES = (".mp4", ".m4v", ".mov")


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
    fomm_bf16: bool = False              # fomm engine: bottleneck under bf16 autocast (x1.3, ~1 % error)
    real_photo: bool = False             # the source is a real person's photo (the manifest says so)
    source_note: str = ""                # where the source came from, for the manifest ("StyleGAN2 seed 4")
    provenance: pv.ProvenanceSettings | None = None  # label / watermark / signing (None: the environment's)
    device: str | None = None            # fomm engine: core.device request (None: $CUSTOM_CAST_DEVICE/auto)


@dataclass
class AnimationResult:
    path: Path
    frames: int                          # frames in the written file (counted on disk)
    fps: float
    best_frame: int
    has_audio: bool
    lost_frames: int                     # driving frames where the face was lost (pose held)
    seconds: float
    crop: tuple[int, int, int] | None = None   # (x0, y0, side) of the driving crop in pixels
    notes: list[str] = field(default_factory=list)


def compose(source: np.ndarray, driving: np.ndarray | None, result: np.ndarray, upscale: int,
            side_by_side: bool) -> np.ndarray:
    """The output frame: the result, or source | driving | result, at 256 * upscale px."""
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
    """A dark panel with the driving keypoints (motions' driving view when the bundled faces are missing)."""
    img = np.full((size, size, 3), 24, np.uint8)
    for x, y in np.asarray(kp) * size:
        cv2.circle(img, (int(round(x)), int(round(y))), 1, (120, 220, 255), -1, lineType=cv2.LINE_AA)
    return img


def fomm_animator(options: AnimateOptions):
    """The neural engine's :class:`core.fomm.FommAnimator` (imported here: the model is optional)."""
    try:
        from core import fomm
    except ImportError as e:
        raise AnimationError(f"The neural FOMM engine is not available: {e}") from None
    if not options.checkpoint or not Path(options.checkpoint).is_file():
        raise AnimationError("The fomm engine needs a vox-cpk.pth.tar checkpoint (download it first, "
                             "or use the offline 'landmarks' engine).")
    from core.device import DeviceError, choose_device

    try:
        device = choose_device(options.device).device
    except DeviceError as e:
        raise AnimationError(str(e)) from None
    try:
        kp_detector, generator = fomm.load_fomm(options.checkpoint, options.fomm_config)
    except (ValueError, OSError) as e:  # CheckpointError, FommConfigError, a missing config file
        raise AnimationError(f"Could not load the FOMM model: {e}") from None
    return fomm.FommAnimator(kp_detector.to(device), generator.to(device), device,
                             amp_bf16=bool(options.fomm_bf16))


def _check_options(opts: AnimateOptions, driving) -> None:
    if opts.engine not in ENGINES:
        raise AnimationError(f"Unknown engine {opts.engine!r}: use one of {', '.join(ENGINES)}.")
    if opts.engine == "fomm" and (not opts.checkpoint or not Path(opts.checkpoint).is_file()):
        raise AnimationError("The fomm engine needs a vox-cpk.pth.tar checkpoint (download it with "
                             "`python -m core.download get vox-256 --accept-licence`, or use the offline "
                             "'landmarks' engine).")
    if opts.engine == "fomm" and isinstance(driving, Motion):
        raise AnimationError("Bundled motions drive the offline 'landmarks' engine; the fomm engine "
                             "needs a driving video.")
    if not 1 <= int(opts.upscale) <= 4:
        raise AnimationError("upscale must be 1, 2, 3 or 4.")
    if opts.max_frames is not None and opts.max_frames < 1:
        raise AnimationError(f"max_frames must be at least 1, got {opts.max_frames}.")


def _work_folder(out_path: Path) -> Path:
    """A temporary folder beside ``out_path``, so the final rename is atomic; unwritable: AnimationError."""
    if out_path.is_dir():
        raise AnimationError(f"The output {out_path} is a folder: give a file name such as "
                             f"{out_path / 'out.mp4'}.")
    if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise AnimationError(f"The output {out_path.name} must be an MP4 file (.mp4).")
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".animate-", dir=out_path.parent))
    except OSError as e:
        raise _unwritable(e, out_path.parent) from None


def _unwritable(e: OSError, where: Path) -> AnimationError:
    """An AnimationError for a failed write, naming the user's output, not the scratch file beside it."""
    return AnimationError(f"Cannot write the animation: "
                          f"{describe_os_error(OSError(e.errno, e.strerror, str(where)))}.")


def animate(source: np.ndarray | str | os.PathLike, driving: str | os.PathLike | Motion,
            out_path: str | os.PathLike, options: AnimateOptions | None = None,
            progress: ProgressFn | None = None, cancel: threading.Event | None = None,
            crop_source: bool | None = None, audio: str | os.PathLike | None = None) -> AnimationResult:
    """Animate a source face with a driving video (or a :class:`Motion`) into an MP4 at out_path.

    source: image path, or uint8 HxWx3 array; arrays are taken as framed faces unless crop_source.
    The output has exactly one frame per driving frame, at the driving fps, with its audio padded
    or trimmed to the video's length; ``audio`` (a sound file, e.g. the voice a motion was made
    from, :mod:`core.animate.voice`) replaces the driving sound. Raises AnimationError (clear message)
    for bad input, AnimationCancelled when cancel is set. ``out_path`` appears only when everything succeeded.
    """
    opts = options or AnimateOptions()
    _check_options(opts, driving)
    t0 = time.perf_counter()
    out_path = Path(out_path)
    work = _work_folder(out_path)
    sound: list[_SoundAhead] = []
    try:
        return _animate(source, driving, out_path, opts, progress, cancel, crop_source, work, t0, audio,
                        sound)
    except OSError as e:  # writing failed: the disk filled up, the folder became read-only...
        if str(e.filename or "").startswith(str(work)) or str(e.filename or "") == str(out_path):
            raise _unwritable(e, out_path) from None
        raise
    finally:
        for job in sound:  # its ffmpeg writes into the work folder
            job.wait()
        shutil.rmtree(work, ignore_errors=True)


class _SoundAhead:
    """The sound track encoded (:func:`encode_sound`) in a helper thread while the frames render, for
    ``frames`` frames at ``fps``: the final mux then only copies (~0.5 s saved on a 15 s clip)."""

    def __init__(self, source, frames: int, fps: float, path: Path):
        self.source, self.frames, self.path = source, frames, path
        self._ok = False
        self._thread = threading.Thread(target=self._encode, args=(frames / fps,), name="animate-sound")
        self._thread.start()

    def _encode(self, seconds: float) -> None:
        try:
            self._ok = encode_sound(self.source, seconds, self.path)
        except Exception:  # noqa: BLE001 - the final mux falls back to encoding it there (and reports)
            self._ok = False

    def wait(self) -> bool:
        self._thread.join()
        return self._ok

    def mux(self, silent: Path, final: Path, frames: int) -> bool:
        """Mux the encoded sound onto ``silent``; False (nothing muxed) when it was encoded for another
        length or failed: the caller muxes as before."""
        return self.wait() and frames == self.frames and mux_encoded_sound(silent, self.path, final)


def _animate(source, driving, out_path: Path, opts: AnimateOptions, progress, cancel, crop_source,
             work: Path, t0: float, audio: str | os.PathLike | None = None,
             sound: list | None = None) -> AnimationResult:
    from core.landmarks import FaceLandmarker

    is_motion = isinstance(driving, Motion)
    fused = opts.engine == "landmarks" and not is_motion and not opts.best_frame
    clock = Clock(progress, cancel, {"render": 1.0} if is_motion else
                  {"crop": 0.1, "render": 0.9} if fused else None)
    notes: list[str] = []
    if crop_source is None:
        crop_source = not isinstance(source, np.ndarray)
    src = prepare_source(source, OUTPUT_SIZE, crop_face=crop_source, notes=notes)

    animator = src_kp = engine = None
    if opts.engine == "fomm":  # a bad checkpoint is refused before any driving frame is tracked
        engine = fomm_animator(opts)
    if opts.engine == "landmarks":
        animator = mt.LandmarkAnimator(static_landmarker())
        try:
            animator.set_source(src)
        except ValueError as e:
            raise AnimationError(str(e)) from None
        src_kp = animator.source_kp
    # Without a best-frame search the offline engine tracks and renders in one decode pass (fused).
    crop, lost, expected = None, 0, 0
    drv_kp = np.zeros((0, mt.NUM_KEYPOINTS, 2), np.float32)
    if is_motion:
        drv_kp, fps, has_audio_in = driving.keypoints, driving.fps, False
        if opts.max_frames:
            drv_kp = drv_kp[:opts.max_frames]
        _start_sound(sound, audio, len(drv_kp), fps, work)
    else:
        info = probe(driving)
        check_driving_length(info, opts.max_frames)
        fps, has_audio_in = info.fps, info.has_audio
        expected = min(info.frames_estimate or 1, opts.max_frames or 10**9)
        _start_sound(sound, audio if audio is not None else driving if has_audio_in else None, expected, fps,
                     work)
        crop = find_driving_crop(driving, info, static_landmarker(), clock, opts.max_frames, opts.crop_margin)
        if not fused:
            with FaceLandmarker(max_faces=1, video=True, refine=DRIVING_REFINE) as mesher:
                drv_kp, lost = track_keypoints(driving, crop, mesher, clock, opts.max_frames, expected)

    start = 0
    if opts.best_frame:
        if src_kp is None:
            meshes = static_landmarker().mesh(src)
            src_kp = mt.subset(meshes[0]) / OUTPUT_SIZE if meshes else None
            if src_kp is None:
                notes.append("No face landmarks on the source: best frame search skipped.")
        if src_kp is not None:
            start = mt.best_frame(src_kp, drv_kp)

    clock.start("render", expected if fused else len(drv_kp))
    silent = work / "silent.mp4"
    stats: dict = {"lost": lost}
    if fused:
        rendered = _render_fused(src, driving, crop, animator, src_kp, opts, stats, fps)
    elif opts.engine == "landmarks":
        rendered = _render_keypoints(src, driving, crop, animator, src_kp, drv_kp, start, opts, is_motion,
                                     fps)
    else:
        rendered = _render_fomm(src, driving, crop, start, opts, engine)
    if opts.engine == "landmarks" and PREFETCH_DEPTH > 0 and RENDER_AHEAD > 0:
        # Three stages on the two cores: decode + tracking (a helper thread), the warp (another), and
        # here the label, watermark and encoder feed. The label and most of the warp run outside the
        # GIL, so the marking no longer waits for the warp nor the warp for it.
        rendered = prefetch(rendered, RENDER_AHEAD)
    try:
        with video.Mp4Writer(silent, fps, preset="veryfast") as writer:
            for i, frame in enumerate(pv.mark_frames(rendered, opts.provenance, fps,
                                                     last_panel_only=opts.side_by_side)):
                writer.append(frame)
                clock.tick(i + 1)
    finally:
        rendered.close()  # releases the face tracker and the decoders on cancel or error
    total = writer.frames
    if total == 0:
        raise AnimationError("The driving input gave no frames to animate.")
    if not fused and total != len(drv_kp) and opts.engine == "landmarks":
        raise AnimationError(f"Rendered {total} frames for {len(drv_kp)} driving frames.")
    if stats["lost"]:
        notes.append(f"The face was lost in {stats['lost']} of {total} frames; the last pose was held.")

    final = work / f"final{out_path.suffix.lower()}"
    if sound and sound[0].mux(silent, final, total):
        has_audio = True
    elif audio is not None:
        has_audio = mux_audio(silent, audio, final)
    elif has_audio_in:
        has_audio = mux_audio(silent, driving, final)
    else:
        has_audio = False
        publish_file(silent, final)
    signed = pv.seal_file(final, _origin(driving, opts, out_path, src), opts.provenance)
    if not signed.signed:
        notes.append(signed.message)
    written = video.count_frames(final)
    if written != total:
        raise AnimationError(f"The written video has {written} frames, but {total} were rendered.")
    publish_file(final, out_path)
    clock.finish(total)
    return AnimationResult(out_path, written, fps, start, has_audio, stats["lost"],
                           time.perf_counter() - t0, crop, notes)


def _start_sound(jobs: list | None, source, frames: int, fps: float, work: Path) -> None:
    if jobs is not None and source is not None and frames > 0:
        jobs.append(_SoundAhead(source, frames, fps, work / "sound.m4a"))


def _origin(driving, opts: AnimateOptions, out_path: Path, src: np.ndarray) -> pv.Origin:
    """What the clip's content credentials say made it (a real photo is its parent, bound by hash)."""
    motion = driving.name if isinstance(driving, Motion) else Path(driving).name
    params = {"engine": opts.engine, "motion": motion, "relative": opts.relative,
              "side_by_side": opts.side_by_side}
    if opts.source_note:
        params["source"] = opts.source_note
    model = opts.checkpoint if opts.engine == "fomm" and opts.checkpoint else opts.engine
    parent = None
    if opts.real_photo:
        from core.image.convert import png_bytes

        parent = png_bytes(src)
    return pv.Origin("FOMM animator", (model,), params, real_photo=opts.real_photo, title=out_path.name,
                     parent=parent)


def prefetch(items: Iterator[T], depth: int = PREFETCH_DEPTH) -> Iterator[T]:
    """Iterate ``items`` in a helper thread, up to ``depth`` ahead of the consumer.

    Decoding (ffmpeg pipe reads) and face tracking (MediaPipe) then overlap the warp and the encoder
    feed on a second core. Exceptions reach the consumer; closing the returned generator stops the
    helper, which closes ``items`` in its own thread (a generator may only be closed where it runs).
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((None, item)):
                    return
            put((None, end))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            put((e, None))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    helper = threading.Thread(target=produce, daemon=True, name="animate-prefetch")
    helper.start()
    try:
        while True:
            error, item = q.get()
            if error is not None:
                raise error
            if item is end:
                return
            yield item
    finally:
        stop.set()
        helper.join(timeout=10)


def _render_fused(src, driving, crop, animator, src_kp, opts: AnimateOptions,
                  stats: dict, fps: float = 25.0) -> Iterator[np.ndarray]:
    from core.landmarks import FaceLandmarker

    mesher = FaceLandmarker(max_faces=1, video=True, refine=DRIVING_REFINE)
    try:
        tracked = tracked_frames(driving, crop, mesher, opts.max_frames, opts.side_by_side, stats)
        ahead = prefetch(tracked) if PREFETCH_DEPTH > 0 else tracked  # 0: one thread (the bench's baseline)
        with contextlib.closing(ahead) as frames:
            first = next(frames, None)
            if first is None:
                return
            # Smoothing in time and eye openness start from the first frame; the look-ahead keeps a
            # few driving frames waiting (the result does not trail the driver).
            follow = animator.follower(first[1], fps, opts.relative, opts.adapt_scale, lookahead=mt.LOOKAHEAD)
            for frame, target in follow.stream(itertools.chain([first], frames)):
                result = animator.render(target)
                yield compose(src, frame, result, opts.upscale, opts.side_by_side)
    finally:
        # MediaPipe takes 0.1-0.4 s to tear its graph down: the clip's end does not wait for it (the
        # tracking thread has stopped by now; a non-daemon thread, so it finishes before exit).
        threading.Thread(target=mesher.close, name="animate-tracker-close").start()


def _render_keypoints(src, driving, crop, animator, src_kp, drv_kp, start: int, opts: AnimateOptions,
                      is_motion: bool, fps: float = 25.0) -> Iterator[np.ndarray]:
    initial_kp = drv_kp[start]
    views = None
    if opts.side_by_side and not is_motion:
        views = iter_cropped(driving, crop, OUTPUT_SIZE, opts.max_frames)
    elif opts.side_by_side:  # the motion itself on the neutral synthetic face, not a dot mesh
        from core.animate import preview

        try:
            views = preview.preview_frames(Motion("driving", 25.0, drv_kp), preview.motion_animator())
        except (FileNotFoundError, ValueError):  # the bundled faces are missing: dots after all
            views = None
    follow = animator.follower(initial_kp, fps, opts.relative, opts.adapt_scale, lookahead=mt.LOOKAHEAD,
                               mouth_rest=mt.mouth_rest(drv_kp) if len(drv_kp) else None)
    try:
        for kp, target in follow.stream((kp, kp) for kp in drv_kp):
            result = animator.render(target)
            view = None
            if opts.side_by_side:
                view = draw_keypoints(kp) if views is None else next(views, None)
            yield compose(src, view, result, opts.upscale, opts.side_by_side)
    finally:
        if views is not None:
            views.close()


def _render_fomm(src, driving, crop, start: int, opts: AnimateOptions, engine=None) -> Iterator[np.ndarray]:
    engine = engine or fomm_animator(opts)
    engine.set_source(src)
    initial = None
    for i, frame in enumerate(iter_cropped(driving, crop, OUTPUT_SIZE, opts.max_frames)):
        if i == start:
            initial = frame.copy()
            break
    batch: list[np.ndarray] = []
    for frame in iter_cropped(driving, crop, OUTPUT_SIZE, opts.max_frames):
        batch.append(frame)
        if len(batch) == FOMM_BATCH:
            yield from _fomm_batch(engine, src, batch, initial, opts)
    if batch:
        yield from _fomm_batch(engine, src, batch, initial, opts)


def _fomm_batch(engine, src, batch: list[np.ndarray], initial, opts: AnimateOptions) -> Iterator[np.ndarray]:
    out = engine.animate(np.stack(batch), relative=opts.relative, adapt_scale=opts.adapt_scale,
                         driving_initial=initial)
    frames = [compose(src, d, r, opts.upscale, opts.side_by_side) for d, r in zip(batch, out)]
    batch.clear()
    yield from frames
