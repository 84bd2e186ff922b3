"""An animation scene: a source face (a face scene of the show, a bundled face or a photo) moved by a
driving motion or video (:func:`core.animate.animate`), kept as an MP4 with the driving video's sound, or
speaking a voice (:func:`core.animate.speak`; the voice file is an input of the scene, usually stored in
the show's media), kept as an MP4 with that voice."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from core import provenance as pv
from core.show import store
from core.show.errors import ShowError
from core.show.render.context import RenderContext
from core.show.schema import AnimationScene, EditScene, FaceScene

FACES_NPZ = store.PROJECT_ROOT / "assets" / "demo_faces" / "faces64.npz"
SOURCE_SIZE = 256
UNITS = 100  # progress units of one animation (the pipeline reports a fraction)


def estimate(scene: AnimationScene) -> int:
    return UNITS


def bundled_face(index: int) -> np.ndarray:
    """A bundled synthetic face (no real person), upscaled to 256 px as the animator page shows it."""
    from core.image.convert import display_resize

    if not FACES_NPZ.is_file():
        raise ShowError(f"the bundled faces are missing ({FACES_NPZ.relative_to(store.PROJECT_ROOT)})")
    with np.load(FACES_NPZ, allow_pickle=False) as data:
        faces = data["images"]
        if not 0 <= index < len(faces):
            raise ShowError(f"bundled face {index} does not exist (0-{len(faces) - 1})")
        face = np.asarray(faces[index], dtype=np.uint8)
    if face.ndim == 2:
        face = np.repeat(face[..., None], 3, axis=2)
    return display_resize(np.ascontiguousarray(face[..., :3]), SOURCE_SIZE)


def _scene_face(scene: AnimationScene, ctx: RenderContext) -> np.ndarray:
    from core.image.decode import read_rgb
    from core.show.render.face import face_image

    ref = ctx.show.scene(scene.source)
    media = store.scene_media(ctx.show_dir, ctx.show, ref)
    if media.status == store.READY and media.manifest.get("image"):
        return read_rgb(store.media_file(ctx.show_dir, media.manifest["image"]))
    if media.status == store.READY and media.manifest.get("frames"):  # an edit scene: its middle frame
        frames = media.manifest["frames"]
        return read_rgb(store.media_file(ctx.show_dir, frames[len(frames) // 2]))
    assert isinstance(ref, FaceScene | EditScene)  # checked when the show was validated
    return face_image(ctx.generator(ref.model), ref.seed, ref.psi, ref.noise)


class _Cancel:
    """``threading.Event``-like view of the prepare job's cancel request, for ``animate(cancel=...)``."""

    def __init__(self, ctx: RenderContext):
        self._ctx = ctx

    def is_set(self) -> bool:
        try:
            self._ctx.check_cancel()
        except Exception:  # noqa: BLE001 - JobCancelled: report it the pipeline's way
            return True
        return False


def render(scene: AnimationScene, ctx: RenderContext) -> dict:
    from core import animate as an
    from core.video import iter_frames

    crop_source = False
    if scene.source_kind == "scene":
        source: np.ndarray | Path = _scene_face(scene, ctx)
    elif scene.source_kind == "bundled":
        source = bundled_face(int(scene.source))
    else:
        source = ctx.input_path(scene.source, "source photo")
        crop_source = scene.align_source
    if scene.driving_kind == "motion":
        motions = an.bundled_motions()
        if scene.driving not in motions:
            raise ShowError(f"no bundled motion named {scene.driving!r}; "
                            f"bundled: {', '.join(motions) or 'none'}")
        driving = an.load_motion(motions[scene.driving])
    elif scene.driving_kind == "voice":
        driving = ctx.input_path(scene.driving, "voice")
    else:
        driving = ctx.input_path(scene.driving, "driving video")
    options = an.AnimateOptions(
        engine=scene.engine, checkpoint=str(ctx.input_path(scene.checkpoint, "FOMM checkpoint"))
        if scene.engine == "fomm" else None, relative=scene.relative, adapt_scale=scene.adapt_scale,
        best_frame=scene.best_frame, upscale=scene.upscale, side_by_side=scene.side_by_side,
        max_frames=scene.max_frames or None, device=ctx.device,
        # Show media carry the watermark; the stage shows a badge, and the reels are labelled and signed.
        provenance=pv.settings_from_env().with_(label=False, sign=False))

    def progress(p) -> None:
        ctx.set_done(int(p.fraction * (UNITS - 1)), f"{p.stage} {p.done}/{p.total} frames")

    with tempfile.TemporaryDirectory(dir=ctx.show_dir / "media", prefix=".animate-") as work:
        out = Path(work) / "animation.mp4"
        if scene.driving_kind == "voice":
            result = an.speak(source, driving, out, options, progress=progress, cancel=_Cancel(ctx),
                              crop_source=crop_source)
        else:
            result = an.animate(source, driving, out, options, progress=progress, cancel=_Cancel(ctx),
                                crop_source=crop_source)
        video = store.put_media_file(ctx.show_dir, out)
        first = next(iter_frames(out, max_frames=1), None)
    poster = ctx.put_image(first) if first is not None else None
    ctx.set_done(UNITS, "done")
    manifest = {"video": video, "fps": result.fps, "frames_count": result.frames,
                "has_audio": result.has_audio, "voice": scene.driving_kind == "voice",
                "width": int(first.shape[1]) if first is not None else None,
                "height": int(first.shape[0]) if first is not None else None, "notes": result.notes}
    if poster:
        manifest["poster"] = poster
    return manifest
