"""The show file: typed scenes, their validation, and the JSON form of ``SHOW_DIR/show.json``.

A show is an ordered list of scenes. Every scene kind is a dataclass; a file is checked field by field
(type, bounds, choices, unknown fields) and every error names the scene, e.g.
``scene 3 (morph "Two strangers"): seeds: need at least 2 keyframe seeds``.

Paths inside a scene are *inputs* (a model, a photo, a driving video, a survey, a DCGAN run folder, a
folder of photos). One that starts with ``media/`` lives inside the show folder and must stay there (no
``..``, no absolute path); any other relative path is taken from the project root, so a show prepared on
a GPU box finds ``checkpoints/...`` on the laptop too; absolute paths are allowed for inputs only.
Rendered outputs are always ``media/`` paths (see :mod:`core.show.store`).

The *render key* of a scene hashes exactly the fields that change its pictures (not its title or
notes), so retitling a scene never re-renders it and two identical scenes share their media.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar

from core.safe_json import load_json_bounded
from core.show.checks import (
    MAX_SEED,
    brief,
    check_bool,
    check_choice,
    check_float,
    check_input_path,
    check_int,
    check_seeds,
    check_text,
    fail,
)
from core.show.errors import ShowError

SHOW_FORMAT = "custom-cast-show"
SCHEMA_VERSION = 1
MAX_SCENES = 500
MAX_SHOW_BYTES = 4 * 1024 * 1024
# show > scenes > scene > a list field is 4 levels; anything much deeper is not a show.
MAX_SHOW_DEPTH = 16
# Bumped when a renderer's output changes for the same scene, so old media is re-rendered.
RENDERER_VERSION = 2  # 2: faces of small models stored enlarged (Lanczos), not at 64 px; JPEG 85
NOISE_MODES = ("const", "random", "none")
STYLE_GROUPS = ("coarse", "middle", "fine")  # the sampler's groups (Karras et al. 2019)
SEFA_LAYERS = ("all", *STYLE_GROUPS)
LATENT_SPACES = ("w", "z")                   # lerp in W, slerp in Z
SOURCE_KINDS = ("scene", "bundled", "image")  # animation source: a face scene, a bundled face, a photo
DRIVING_KINDS = ("motion", "video", "voice")  # voice: a sound file the face speaks (core.animate.voice)
ENGINES = ("landmarks", "fomm")
DETECTORS = ("modern", "modern-fast", "haar")
ALIGN_SIZES = (32, 64, 96, 128, 192, 256)
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def new_scene_id() -> str:
    return uuid.uuid4().hex[:8]


# ----------------------------------------------------------------------------------------- scenes

@dataclass(kw_only=True)
class Scene:
    """Fields every scene has. ``id`` is stable across edits (the order may change)."""

    KIND: ClassVar[str] = ""
    LABEL: ClassVar[str] = ""
    INPUT_PATHS: ClassVar[tuple[str, ...]] = ()   # fields naming input files or folders
    NEEDS_MEDIA: ClassVar[bool] = True             # False: shown from its text alone

    id: str = field(default_factory=new_scene_id)  # stable handle (letters, digits, _ and -)
    title: str = ""                                # shown above the media; "" = a default per kind
    notes: str = ""                                # presenter notes (never shown to the room)

    def check(self, where: str) -> None:
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise fail(where, "id", f"must be 1-40 letters, digits, '_' or '-', got {brief(self.id)}")
        check_text(where, "title", self.title, 200)
        check_text(where, "notes", self.notes, 5000)

    def render_fields(self) -> dict:
        """The fields that change the rendered media (everything but id, title and notes). Fields at their
        default are left out, so a field added in a later version leaves existing render keys alone."""
        d = asdict(self)
        for name in ("id", "title", "notes"):
            d.pop(name)
        return {k: v for k, v in d.items() if v != default_value(type(self), k)}

    def display_title(self) -> str:
        return self.title or self.default_title()

    def default_title(self) -> str:
        return self.LABEL

    def to_dict(self) -> dict:
        return {"kind": self.KIND, **asdict(self)}


@dataclass(kw_only=True)
class TitleScene(Scene):
    KIND: ClassVar[str] = "title"
    LABEL: ClassVar[str] = "Title"
    NEEDS_MEDIA: ClassVar[bool] = False
    text: str = ""  # a subtitle or a few lines (Markdown)

    def check(self, where: str) -> None:
        super().check(where)
        check_text(where, "text", self.text, 5000)
        if not (self.title.strip() or self.text.strip()):
            raise fail(where, "title", "a title card needs a title or a text")


@dataclass(kw_only=True)
class _GeneratorScene(Scene):
    INPUT_PATHS: ClassVar[tuple[str, ...]] = ("model",)
    model: str = ""              # StyleGAN2 .pkl / .pt; relative paths from the project root
    psi: float = 0.7             # truncation psi
    noise: str = "const"         # noise mode: const / random / none

    def check(self, where: str) -> None:
        super().check(where)
        if not isinstance(self.model, str) or not self.model.strip():
            raise fail(where, "model",
                        "missing: name the generator file (e.g. checkpoints/stylegan2_demo.pt)")
        self.model = check_input_path(where, "model", self.model)
        self.psi = check_float(where, "psi", self.psi, -1.0, 2.0)
        check_choice(where, "noise", self.noise, NOISE_MODES)


@dataclass(kw_only=True)
class FaceScene(_GeneratorScene):
    KIND: ClassVar[str] = "face"
    LABEL: ClassVar[str] = "A face"
    seed: int = 0

    def check(self, where: str) -> None:
        super().check(where)
        self.seed = check_int(where, "seed", self.seed, 0, MAX_SEED)

    def default_title(self) -> str:
        return "A face that belongs to nobody"  # the room's words on stage; the seed is in the details


@dataclass(kw_only=True)
class MorphScene(_GeneratorScene):
    KIND: ClassVar[str] = "morph"
    LABEL: ClassVar[str] = "Morph"
    seeds: list[int] = field(default_factory=lambda: [1, 2])  # keyframe seeds, in order
    space: str = "w"                 # "w": lerp in W; "z": slerp in Z
    frames_per_transition: int = 65  # frames from one keyframe to the next, both ends included
    loop: bool = False               # also morph from the last keyframe back to the first
    fps: float = 24.0                # playback rate (play button, exported video)

    def check(self, where: str) -> None:
        super().check(where)
        self.seeds = check_seeds(where, "seeds", self.seeds, 2, 32)
        check_choice(where, "space", self.space, LATENT_SPACES)
        self.frames_per_transition = check_int(where, "frames_per_transition", self.frames_per_transition,
                                               2, 481)
        check_bool(where, "loop", self.loop)
        self.fps = check_float(where, "fps", self.fps, 1.0, 60.0)

    def frame_count(self) -> int:
        transitions = len(self.seeds) - 1 + (1 if self.loop else 0)
        return transitions * (self.frames_per_transition - 1) + (0 if self.loop else 1)

    def default_title(self) -> str:
        n = len(self.seeds)
        return "From one face to another" if n == 2 else f"{n} faces, one into the next"


@dataclass(kw_only=True)
class EditScene(_GeneratorScene):
    KIND: ClassVar[str] = "edit"
    LABEL: ClassVar[str] = "Semantic edit"
    seed: int = 0
    layers: str = "all"          # layers factorised by SeFa: all / coarse / middle / fine
    direction: int = 0           # index of the SeFa direction (0 = strongest)
    name: str = ""               # what the direction does, as named by the presenter ("smile")
    amount_min: float = -3.0     # sigmas
    amount_max: float = 3.0
    frames: int = 33             # frames across the amount range

    def check(self, where: str) -> None:
        super().check(where)
        self.seed = check_int(where, "seed", self.seed, 0, MAX_SEED)
        check_choice(where, "layers", self.layers, SEFA_LAYERS)
        self.direction = check_int(where, "direction", self.direction, 0, 31)
        check_text(where, "name", self.name, 100)
        self.amount_min = check_float(where, "amount_min", self.amount_min, -20.0, 20.0)
        self.amount_max = check_float(where, "amount_max", self.amount_max, -20.0, 20.0)
        if self.amount_min >= self.amount_max:
            raise fail(where, "amount_min", f"must be below amount_max ({self.amount_min:g} >= "
                        f"{self.amount_max:g})")
        self.frames = check_int(where, "frames", self.frames, 2, 481)

    def render_fields(self) -> dict:
        d = super().render_fields()
        d.pop("name", None)
        return d

    def amounts(self) -> list[float]:
        n = self.frames
        return [self.amount_min + (self.amount_max - self.amount_min) * i / (n - 1) for i in range(n)]

    def default_title(self) -> str:
        return f"Editing a face: {self.name}" if self.name else "Editing a face without labels"


@dataclass(kw_only=True)
class MixingScene(_GeneratorScene):
    KIND: ClassVar[str] = "mixing"
    LABEL: ClassVar[str] = "Style mixing"
    row_seeds: list[int] = field(default_factory=lambda: [85, 100, 75])       # destinations
    col_seeds: list[int] = field(default_factory=lambda: [55, 821, 1789, 293])  # style sources
    group: str = "coarse"        # which layers come from the column seed

    def check(self, where: str) -> None:
        super().check(where)
        self.row_seeds = check_seeds(where, "row_seeds", self.row_seeds, 1, 8)
        self.col_seeds = check_seeds(where, "col_seeds", self.col_seeds, 1, 8)
        check_choice(where, "group", self.group, STYLE_GROUPS)

    def default_title(self) -> str:
        return f"Style mixing: {self.group} styles from the top row"


@dataclass(kw_only=True)
class AnimationScene(Scene):
    KIND: ClassVar[str] = "animation"
    LABEL: ClassVar[str] = "Animation"
    INPUT_PATHS: ClassVar[tuple[str, ...]] = ("source", "driving", "checkpoint")
    source_kind: str = "bundled"  # "scene" (id of a face scene), "bundled" (face index), "image" (path)
    source: str = "0"
    align_source: bool = True     # image sources: find and align the face (False: already a framed face)
    driving_kind: str = "motion"  # "motion" (bundled motion name), "video" or "voice" (a sound file's path)
    driving: str = "talk"
    engine: str = "landmarks"     # "landmarks" (offline) or "fomm" (needs checkpoint)
    checkpoint: str = ""          # vox-cpk.pth.tar for the fomm engine
    relative: bool = True
    adapt_scale: bool = True
    best_frame: bool = False
    upscale: int = 1              # output 256 * upscale px
    side_by_side: bool = False
    max_frames: int = 0           # 0 = the whole driving video

    def check(self, where: str) -> None:
        super().check(where)
        check_choice(where, "source_kind", self.source_kind, SOURCE_KINDS)
        check_text(where, "source", self.source, 1000, required=True)
        if self.source_kind == "bundled":
            # ASCII digits only: str.isdigit() accepts '²', which int() refuses
            number = int(self.source) if re.fullmatch(r"[0-9]{1,7}", self.source) else self.source
            check_int(where, "source", number, 0, 100_000)
        elif self.source_kind == "image":
            self.source = check_input_path(where, "source", self.source)
        elif not _ID_RE.match(self.source):
            raise fail(where, "source", f"must be the id of a face scene, got {brief(self.source)}")
        check_choice(where, "driving_kind", self.driving_kind, DRIVING_KINDS)
        if self.driving_kind in ("video", "voice"):
            self.driving = check_input_path(where, "driving", self.driving)
        elif not re.match(r"^[A-Za-z0-9_-]{1,60}$", str(self.driving)):
            raise fail(where, "driving",
                       f"must be a bundled motion name (e.g. talk), got {brief(self.driving)}")
        check_choice(where, "engine", self.engine, ENGINES)
        if self.driving_kind == "voice" and self.engine != "landmarks":
            raise fail(where, "engine", "a voice drives the offline 'landmarks' engine only")
        self.checkpoint = check_input_path(where, "checkpoint", self.checkpoint,
                                           required=self.engine == "fomm")
        for name in ("relative", "adapt_scale", "best_frame", "side_by_side", "align_source"):
            check_bool(where, name, getattr(self, name))
        self.upscale = check_int(where, "upscale", self.upscale, 1, 2)
        self.max_frames = check_int(where, "max_frames", self.max_frames, 0, 100_000)

    def input_paths(self) -> list[str]:
        paths = [self.source] if self.source_kind == "image" else []
        paths += [self.driving] if self.driving_kind in ("video", "voice") else []
        return paths + ([self.checkpoint] if self.engine == "fomm" and self.checkpoint else [])

    def default_title(self) -> str:
        if self.driving_kind == "voice":
            return "A face says your line"
        return f"Animated: {self.driving if self.driving_kind == 'motion' else 'driving video'}"


@dataclass(kw_only=True)
class DatasetScene(Scene):
    KIND: ClassVar[str] = "dataset"
    LABEL: ClassVar[str] = "Dataset snapshot"
    INPUT_PATHS: ClassVar[tuple[str, ...]] = ("folder",)
    folder: str = "assets/demo_photos"  # photos to scan
    detector: str = "modern"
    size: int = 64                      # aligned crop side
    min_face: int = 32
    blur_threshold: float = 20.0
    keep: str = "largest"
    dup_threshold: int = 6
    grid: int = 32                      # kept faces shown in the grid

    def check(self, where: str) -> None:
        super().check(where)
        self.folder = check_input_path(where, "folder", self.folder)
        check_choice(where, "detector", self.detector, DETECTORS)
        self.size = check_choice(where, "size", self.size, ALIGN_SIZES)
        self.min_face = check_int(where, "min_face", self.min_face, 1, 4096)
        self.blur_threshold = check_float(where, "blur_threshold", self.blur_threshold, 0.0, 10_000.0)
        check_choice(where, "keep", self.keep, ("largest", "all"))
        self.dup_threshold = check_int(where, "dup_threshold", self.dup_threshold, 0, 64)
        self.grid = check_int(where, "grid", self.grid, 1, 256)

    def default_title(self) -> str:
        return "The dataset"


@dataclass(kw_only=True)
class TimelapseScene(Scene):
    KIND: ClassVar[str] = "timelapse"
    LABEL: ClassVar[str] = "Training time-lapse"
    INPUT_PATHS: ClassVar[tuple[str, ...]] = ("run",)
    run: str = ""                 # a DCGAN run folder (snapshots/step_*.png) or a recorded time-lapse .mp4
    fps: float = 8.0
    max_frames: int = 120         # snapshots kept, evenly spaced, first and last always

    def check(self, where: str) -> None:
        super().check(where)
        if not isinstance(self.run, str) or not self.run.strip():
            raise fail(where, "run", "missing: name the DCGAN run folder")
        self.run = check_input_path(where, "run", self.run)
        self.fps = check_float(where, "fps", self.fps, 1.0, 60.0)
        self.max_frames = check_int(where, "max_frames", self.max_frames, 2, 2000)

    def default_title(self) -> str:
        return "Training, from noise to faces"


@dataclass(kw_only=True)
class EvidenceScene(Scene):
    KIND: ClassVar[str] = "evidence"
    LABEL: ClassVar[str] = "Evidence"
    INPUT_PATHS: ClassVar[tuple[str, ...]] = ("survey",)
    survey: str = "assets/demo_survey.csv"
    question: str = ""                              # column name, or a unique part of it
    positive: list[str] = field(default_factory=list)  # answers counted as yes; [] = Yes / most common
    claim: float = 0.7
    alpha: float = 0.05

    def check(self, where: str) -> None:
        super().check(where)
        self.survey = check_input_path(where, "survey", self.survey)
        check_text(where, "question", self.question, 1000, required=True)
        if not isinstance(self.positive, list) or not all(isinstance(p, str) for p in self.positive):
            raise fail(where, "positive", f"must be a list of answers, got {brief(self.positive)}")
        if len(self.positive) > 50:
            raise fail(where, "positive", f"at most 50 answers, got {len(self.positive)}")
        for i, answer in enumerate(self.positive):
            check_text(where, f"positive[{i}]", answer, 500)
        self.claim = check_float(where, "claim", self.claim, 0.01, 0.99)
        self.alpha = check_float(where, "alpha", self.alpha, 0.001, 0.5)

    def default_title(self) -> str:
        return "What the viewers said"

    def render_fields(self) -> dict:
        # 2: headline and verdict worded by core.survey.verdict_words (was a sentence of its own); only this
        # kind's render keys change, so other prepared scenes stay rendered.
        return {**super().render_fields(), "wording": 2}


SCENE_TYPES: dict[str, type[Scene]] = {cls.KIND: cls for cls in (
    TitleScene, FaceScene, MorphScene, EditScene, MixingScene, AnimationScene, DatasetScene, TimelapseScene,
    EvidenceScene)}
SCENE_KINDS = tuple(SCENE_TYPES)


def input_paths(scene: Scene) -> list[str]:
    """The input files/folders a scene reads when it is rendered."""
    if isinstance(scene, AnimationScene):
        return scene.input_paths()
    return [getattr(scene, name) for name in scene.INPUT_PATHS if getattr(scene, name)]


def _describe(index: int | None, data: Any) -> str:
    kind = data.get("kind") if isinstance(data, dict) else None
    title = data.get("title") if isinstance(data, dict) else None
    where = f"scene {index + 1}" if index is not None else "scene"
    if kind:
        shown_kind = kind if isinstance(kind, str) and len(kind) <= 20 else brief(kind, 20)
        where += f" ({shown_kind}{f' {brief(title, 40)}' if title else ''})"
    return where


def _names(names: list[str]) -> str:
    shown = ", ".join(n if len(n) <= 40 and n.isprintable() else brief(n, 40) for n in names[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")


def scene_from_dict(data: Any, index: int | None = None) -> Scene:
    """Build and validate one scene; ShowError names the scene, the field and what is wrong."""
    where = _describe(index, data)
    if not isinstance(data, dict):
        raise ShowError(f"{where}: must be an object with a 'kind', got {type(data).__name__}")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in SCENE_TYPES:  # a list or object kind is not hashable
        raise ShowError(f"{where}: unknown scene kind {brief(kind, 40)}; "
                        f"known kinds: {', '.join(SCENE_KINDS)}")
    cls = SCENE_TYPES[kind]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known - {"kind"})
    if unknown:
        raise ShowError(f"{where}: unknown field(s) {_names(unknown)}; a {kind} scene has "
                        f"{', '.join(sorted(known))}")
    kwargs = {k: v for k, v in data.items() if k != "kind"}
    for f in fields(cls):  # lists are copied so a caller's dict never aliases the scene
        if isinstance(kwargs.get(f.name), list):
            kwargs[f.name] = list(kwargs[f.name])
    scene = cls(**kwargs)
    scene.check(where)
    return scene


def default_value(cls: type[Scene], name: str) -> Any:
    for f in fields(cls):
        if f.name == name:
            return f.default_factory() if f.default is MISSING else f.default
    raise KeyError(name)


@dataclass
class Show:
    """A show: a title and an ordered list of scenes (``SHOW_DIR/show.json``)."""

    title: str = "Untitled show"
    scenes: list[Scene] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def scene(self, scene_id: str) -> Scene:
        for s in self.scenes:
            if s.id == scene_id:
                return s
        raise ShowError(f"no scene with id {scene_id!r} in this show")

    def to_dict(self) -> dict:
        return {"format": SHOW_FORMAT, "schema_version": SCHEMA_VERSION, "title": self.title,
                "scenes": [s.to_dict() for s in self.scenes]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def check(self) -> None:
        check_text("show", "title", self.title, 200)
        if len(self.scenes) > MAX_SCENES:
            raise ShowError(f"show: more than {MAX_SCENES} scenes")
        seen: set[str] = set()
        for i, s in enumerate(self.scenes):
            if s.id in seen:
                raise ShowError(f"scene {i + 1}: id {brief(s.id)} is used twice")
            seen.add(s.id)
        for i, s in enumerate(self.scenes):
            if isinstance(s, AnimationScene) and s.source_kind == "scene":
                ref = next((r for r in self.scenes if r.id == s.source), None)
                if not isinstance(ref, FaceScene | EditScene):
                    raise ShowError(f"{_describe(i, s.to_dict())}: source: {brief(s.source)} is not the id "
                                    "of a face scene in this show")


def show_from_dict(data: Any) -> Show:
    if not isinstance(data, dict):
        raise ShowError(f"show.json must hold an object, got {type(data).__name__}")
    fmt = data.get("format", SHOW_FORMAT)
    if fmt != SHOW_FORMAT:
        raise ShowError(f"show.json is not a Custom Cast show (format {brief(fmt, 40)})")
    version = data.get("schema_version")
    if "schema_version" not in data:
        raise ShowError("show.json has no schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ShowError(f"show.json: schema_version must be a whole number from 1, got {brief(version)}")
    if version > SCHEMA_VERSION:
        raise ShowError(f"show.json uses schema version {brief(version)}; this version of Custom Cast "
                        f"reads up to {SCHEMA_VERSION}: update the app")
    unknown = sorted(set(data) - {"format", "schema_version", "title", "scenes"})
    if unknown:
        raise ShowError(f"show.json: unknown field(s) {_names(unknown)}")
    scenes = data.get("scenes", [])
    if not isinstance(scenes, list):
        raise ShowError("show.json: 'scenes' must be a list")
    if len(scenes) > MAX_SCENES:
        raise ShowError(f"show.json: {len(scenes)} scenes; a show holds at most {MAX_SCENES}")
    show = Show(title=data.get("title", "Untitled show"),
                scenes=[scene_from_dict(s, i) for i, s in enumerate(scenes)])
    show.check()
    return show


def parse_show(text: str | bytes, what: str = "show.json") -> Show:
    """A show from the text of a show.json: size and nesting bounded before parsing (a file nested
    100,000 levels deep is refused, not a RecursionError), then every scene checked field by field."""
    try:
        data = load_json_bounded(text, max_bytes=MAX_SHOW_BYTES, max_depth=MAX_SHOW_DEPTH, what=what,
                                 non_finite=True)  # the scene checks name the field
    except ValueError as e:
        raise ShowError(str(e)) from None
    return show_from_dict(data)


def render_key(scene: Scene, show: Show | None = None) -> str:
    """Hash of what a scene's media depends on; an animation of a face scene includes that face's key."""
    payload: dict[str, Any] = {"kind": scene.KIND, "renderer": RENDERER_VERSION, **scene.render_fields()}
    if isinstance(scene, AnimationScene) and scene.source_kind == "scene" and show is not None:
        payload["source_key"] = render_key(show.scene(scene.source), show)
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]
