"""What each scene shows, resolved from its render manifest: files, labels, captions, the verdict line.

The present page, the HTML reel and the MP4 reel all draw from :func:`scene_view`, which reads only
``show.json`` and ``media/``: it never loads a model, never imports torch, and never fails on a missing
file (the view says plainly what is missing instead).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from core.checks import finite_number, real_number
from core.provenance.settings import GENERATED_FACE_CAPTION
from core.show import store
from core.show.errors import ShowError
from core.show.schema import (
    AnimationScene,
    DatasetScene,
    EditScene,
    EvidenceScene,
    FaceScene,
    MixingScene,
    MorphScene,
    Scene,
    Show,
    TimelapseScene,
    TitleScene,
)


@dataclass
class SceneView:
    index: int
    scene: Scene
    status: str                      # store.READY / MISSING / INCOMPLETE / TEXT
    title: str
    caption: str = ""
    message: str = ""                # why nothing can be shown (missing media), for the presenter
    text: str = ""                   # title cards: the Markdown text
    image: Path | None = None        # face, style mixing, dataset grid
    frames: list[Path] = field(default_factory=list)  # morph, edit, time-lapse
    labels: list[str] = field(default_factory=list)   # one per frame
    fps: float = 24.0
    video: Path | None = None        # animation (MP4, with its sound)
    poster: Path | None = None
    has_audio: bool = False
    chart: Path | None = None        # evidence
    headline: str = ""
    verdict: str = ""
    details: str = ""
    about: str = ""                  # the engineer's line (seeds, ψ, model file, size): presenter only
    width: int | None = None
    height: int | None = None

    @property
    def kind(self) -> str:
        return self.scene.KIND

    @property
    def ready(self) -> bool:
        return self.status in (store.READY, store.TEXT)

    @property
    def is_sequence(self) -> bool:
        return bool(self.frames)


def _number(value, default, lo: float, hi: float):
    """A number of a render record (a file, maybe edited by hand): ``default`` unless it is a finite
    int/float in [lo, hi] (text, lists, NaN, 10**400 fall back, so a reel never breaks on them)."""
    number = finite_number(value) if real_number(value, plain=True) else None
    return value if number is not None and lo <= number <= hi else default


def _model_name(model: str) -> str:
    return Path(model).name


def _morph_labels(scene: MorphScene, count: int) -> list[str]:
    keys = list(scene.seeds) + ([scene.seeds[0]] if scene.loop else [])
    per = scene.frames_per_transition - 1
    n = len(scene.seeds)

    def face(k: int) -> str:  # the room's words: "face 2", not its seed number
        return f"face {k % n + 1}"

    labels = []
    for i in range(count):
        t, j = divmod(i, per) if per else (0, 0)
        if t >= len(keys) - 1:
            labels.append(face(len(keys) - 1))
        else:
            labels.append(f"{face(t)} → {face(t + 1)} · {j / per:.0%}")
    return labels


def _edit_labels(scene: EditScene, manifest: dict) -> list[str]:
    """"smile +1.5" per frame (the amounts without the σ), from the render record's amounts."""
    amounts = manifest.get("amounts") if isinstance(manifest.get("amounts"), list) else []
    what = scene.name or "edit"
    try:
        return [f"{what} {float(a):+.1f}" for a in amounts]
    except (TypeError, ValueError):
        return []


def _plain_caption(scene: Scene, manifest: dict) -> str:
    """What the room reads under a scene's title: no seeds, ψ, file names or pixel sizes (those are in
    :func:`_caption`, the engineer's line, shown to the presenter only)."""
    if isinstance(scene, FaceScene):
        return GENERATED_FACE_CAPTION
    if isinstance(scene, MorphScene):
        return "Drag the slider: one generated face turns into the next"
    if isinstance(scene, EditScene):
        what = scene.name or "a change the model found by itself, without labels"
        return f"Drag the slider: {what}, on the same generated face"
    if isinstance(scene, MixingScene):
        return f"Each row keeps its face and takes the {scene.group} styles of a column's face"
    if isinstance(scene, AnimationScene):
        if scene.driving_kind == "voice":
            return "A generated face speaking" + ("" if manifest.get("has_audio") else " (no sound)")
        return "A generated face follows a real person's movements" + (
            ", with sound" if manifest.get("has_audio") else "")
    if isinstance(scene, DatasetScene):
        return _caption(scene, manifest).rsplit(" · ", 1)[0]  # the counts, without the detector's name
    if isinstance(scene, TimelapseScene):
        return _caption(scene, manifest)  # "40 snapshots, recorded · step 0 to …": training steps, plain
    return ""


def _caption(scene: Scene, manifest: dict) -> str:
    manifest = {**manifest, "width": _number(manifest.get("width"), None, 1, 100_000),
                "height": _number(manifest.get("height"), None, 1, 100_000),
                "fps": _number(manifest.get("fps"), 0, 0, 1000)}
    size = f"{manifest.get('width')}×{manifest.get('height')} px" if manifest.get("width") else ""
    if isinstance(scene, FaceScene):
        return f"Seed {scene.seed} · ψ {scene.psi:g} · {_model_name(scene.model)} · {size}"
    if isinstance(scene, MorphScene):
        space = "lerp in W" if scene.space == "w" else "slerp in Z"
        return (f"{len(manifest.get('frames', []))} frames at {size} · {space} · ψ {scene.psi:g} · "
                f"{_model_name(scene.model)} · drag the slider")
    if isinstance(scene, EditScene):
        what = scene.name or f"SeFa direction {scene.direction + 1} ({scene.layers} layers)"
        return (f"Seed {scene.seed}: {what}, {scene.amount_min:+g}σ to {scene.amount_max:+g}σ · {size} · "
                "drag the slider")
    if isinstance(scene, MixingScene):
        return (f"Rows {', '.join(map(str, scene.row_seeds))} take the {scene.group} styles of columns "
                f"{', '.join(map(str, scene.col_seeds))} · {_model_name(scene.model)}")
    if isinstance(scene, AnimationScene):
        sound = "with sound" if manifest.get("has_audio") else "no sound"
        if scene.driving_kind == "voice":
            sound = "speaking the voice" if manifest.get("has_audio") else "no sound"
        return (f"{manifest.get('frames_count', '?')} frames at {manifest.get('fps', 0):g} fps · "
                f"{scene.engine} engine · {sound}")
    if isinstance(scene, DatasetScene):
        s = manifest.get("summary", {})
        rejected = sum((s.get("rejected") or {}).values())
        return (f"{s.get('faces_kept', 0)} faces kept from {s.get('images', 0)} photos · "
                f"{rejected} rejected · "
                f"{s.get('duplicates', 0)} near-duplicates · {scene.detector} detector")
    if isinstance(scene, TimelapseScene):
        labels = manifest.get("labels") or []
        return f"{len(labels)} snapshots, {labels[0]} to {labels[-1]}" if labels else ""
    return ""


def _safe_caption(scene: Scene, manifest: dict, plain: bool = True) -> str:
    try:
        return _plain_caption(scene, manifest) if plain else _caption(scene, manifest)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError):  # a hand-edited render record
        return ""


def _text(value) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)[:200]


def missing_message(scene: Scene, sm: store.SceneMedia) -> str:
    if sm.problem:
        return f"This scene cannot be shown: {sm.problem}. Prepare the show to render it again."
    if sm.status == store.INCOMPLETE:
        return (f"{len(sm.missing or [])} media file(s) of this scene are missing from the show folder. "
                "Prepare the show to render them again.")
    return ("This scene has not been prepared yet: its pictures are not rendered. "
            "Prepare the show to render them.")


def scene_view(show_dir: str | os.PathLike, show: Show, index: int) -> SceneView:
    """The view of scene ``index`` (0-based)."""
    scene = show.scenes[index]
    title = scene.display_title()
    if isinstance(scene, TitleScene):
        return SceneView(index, scene, store.TEXT, title, text=scene.text)
    sm = store.scene_media(show_dir, show, scene)
    if not sm.ready:
        return SceneView(index, scene, sm.status, title, message=missing_message(scene, sm))
    m = sm.manifest or {}

    def path(rel: str | None) -> Path | None:
        return store.media_file(show_dir, rel) if rel else None

    try:
        view = SceneView(index, scene, sm.status, title, caption=_safe_caption(scene, m),
                         about=_safe_caption(scene, m, plain=False),
                         width=_number(m.get("width"), None, 1, 100_000),
                         height=_number(m.get("height"), None, 1, 100_000))
        view.image = path(m.get("image"))
        view.frames = [path(rel) for rel in m.get("frames", [])]
        view.video, view.poster = path(m.get("video")), path(m.get("poster"))
        view.chart = path(m.get("chart"))
    except ShowError as e:  # a manifest edited by hand to point outside the folder
        return SceneView(index, scene, store.INCOMPLETE, title, message=str(e))
    view.fps = float(_number(m.get("fps"), 24.0, 0.1, 1000.0))
    view.has_audio = bool(m.get("has_audio"))
    view.headline, view.verdict = _text(m.get("headline")), _text(m.get("verdict"))
    view.details = _text(m.get("details"))
    if isinstance(scene, MorphScene):
        view.labels = _morph_labels(scene, len(view.frames))
    elif isinstance(scene, EditScene) and _edit_labels(scene, m):
        view.labels = _edit_labels(scene, m)[:len(view.frames)]
    else:
        labels = m.get("labels") if isinstance(m.get("labels"), list) else []
        view.labels = [_text(x) for x in labels][:len(view.frames)]
    if isinstance(scene, EvidenceScene) and not view.caption:
        view.caption = f"{m.get('question', scene.question)}"
    return view


def not_ready_view(view: SceneView, error: BaseException) -> SceneView:
    """The view of a scene whose media failed while being read (the reels show it as not ready)."""
    reason = " ".join(str(error).split()) or type(error).__name__
    return SceneView(view.index, view.scene, store.INCOMPLETE, view.title,
                     message=f"This scene cannot be shown: {reason}. Prepare the show to render it again.")


def scene_views(show_dir: str | os.PathLike, show: Show) -> list[SceneView]:
    return [scene_view(show_dir, show, i) for i in range(len(show.scenes))]
