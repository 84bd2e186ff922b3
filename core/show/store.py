"""Show folders on disk: ``SHOW_DIR/show.json`` plus content-addressed ``SHOW_DIR/media/``.

* ``show.json`` is written atomically (:func:`core.checkpoint.atomic_write_bytes`) under an advisory lock
  (``.show.lock``), so an "Add to show" from one browser tab and an edit from another never lose a scene.
* ``media/<sha256>.<ext>`` holds every rendered picture, video and copied input, named by its content:
  a frame that two scenes share is stored once, and a file is never rewritten in place.
* ``media/renders/<render key>.json`` records what a scene's render produced (see
  :func:`core.show.schema.render_key`). Prepare writes these and never touches ``show.json``, so
  presenting, preparing and editing can happen at the same time; presenting only reads.

Every media path read from disk is checked to stay inside the show folder (no ``..``, no absolute path,
no symlink leading out).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.checkpoint import atomic_write_bytes
from core.names import safe_name
from core.show.checks import MEDIA_PREFIX, brief, check_media_path
from core.show.errors import ShowError
from core.show.schema import (
    MAX_SHOW_BYTES,
    RENDERER_VERSION,
    Scene,
    Show,
    input_paths,
    parse_show,
    render_key,
    scene_from_dict,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHOW_FILE = "show.json"
RENDERS_DIR = "media/renders"
LOCK_FILE = ".show.lock"
MEDIA_SUFFIXES = (".jpg", ".png", ".webp", ".mp4", ".gif", ".json", ".csv", ".wav", ".mov", ".webm",
                  ".mp3", ".m4a", ".ogg", ".flac")  # the last four: voices of voice-driven animations
# Manifest fields that hold media paths (one path, or a list of them).
MEDIA_FIELDS = ("image", "video", "poster", "chart", "frames")
ALLOW_INPUTS_ENV = "CUSTOM_CAST_ALLOW_INPUTS"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def shows_root() -> Path:
    """Where shows live: ``$CUSTOM_CAST_SHOWS``, else ``shows/`` in the project."""
    return Path(os.environ.get("CUSTOM_CAST_SHOWS") or PROJECT_ROOT / "shows")


def check_show_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.endswith(".") or ".." in name:
        raise ShowError(f"show name {name!r}: use 1-64 letters, digits, '_', '-' or '.' (no '..', no '/')")
    return name


def slugify(title: str) -> str:
    return safe_name(title, max_chars=48, fallback="show", keep="A-Za-z0-9", replacement="-", collapse=True,
                     lower=True)


def show_path(name: str, root: Path | None = None) -> Path:
    return (root or shows_root()) / check_show_name(name)


# ------------------------------------------------------------------------------------- show.json

@contextlib.contextmanager
def locked(show_dir: str | os.PathLike) -> Iterator[Path]:
    """Exclusive advisory lock on a show folder for a read-modify-write of show.json."""
    show_dir = Path(show_dir)
    show_dir.mkdir(parents=True, exist_ok=True)
    with open(show_dir / LOCK_FILE, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield show_dir
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def check_export_path(show_dir: str | os.PathLike, out: str | os.PathLike, what: str = "--out") -> Path:
    """An export's output path, refused when it is the show's own file or inside its media folder."""
    from core.cli import check_output_path

    base = Path(show_dir)
    own = {"the show file": base / SHOW_FILE, "the show's lock file": base / LOCK_FILE}
    return check_output_path(out, own, {"the show's media folder": base / "media"}, what=what)


def load_show(show_dir: str | os.PathLike) -> Show:
    """Read and validate ``SHOW_DIR/show.json`` (ShowError with the scene and field on a bad file)."""
    path = Path(show_dir) / SHOW_FILE
    if not path.is_file():
        raise ShowError(f"{Path(show_dir)} is not a show folder (no {SHOW_FILE})")
    if path.stat().st_size > MAX_SHOW_BYTES:
        raise ShowError(f"{path} is larger than {MAX_SHOW_BYTES // 1024 // 1024} MB; not a show file")
    with open(path, "rb") as f:
        data = f.read(MAX_SHOW_BYTES + 1)  # bounded even if the file grows after the size check
    try:
        return parse_show(data)
    except ShowError as e:
        raise ShowError(f"{path}: {e}") from None


def save_show(show_dir: str | os.PathLike, show: Show) -> None:
    show.check()
    atomic_write_bytes(Path(show_dir) / SHOW_FILE, show.to_json().encode("utf-8"))


def create_show(show_dir: str | os.PathLike, title: str, scenes: list[Scene] | None = None,
                exist_ok: bool = False) -> Show:
    """A new show folder with its show.json and media/; refuses to overwrite an existing show."""
    show_dir = Path(show_dir)
    with locked(show_dir):
        if (show_dir / SHOW_FILE).exists():
            if exist_ok:
                return load_show(show_dir)
            raise ShowError(f"{show_dir} already holds a show")
        show = Show(title=title or "Untitled show", scenes=list(scenes or []))
        (show_dir / "media").mkdir(parents=True, exist_ok=True)
        save_show(show_dir, show)
    return show


def edit_show(show_dir: str | os.PathLike, change: Callable[[Show], Any]) -> Show:
    """Load, ``change(show)`` in place, validate and save, all under the folder's lock."""
    with locked(show_dir):
        show = load_show(show_dir)
        change(show)
        save_show(show_dir, show)
    return show


def add_scene(show_dir: str | os.PathLike, scene: Scene | dict, position: int | None = None) -> Scene:
    """Append (or insert at ``position``) a scene; a dict is validated first."""
    if isinstance(scene, dict):
        scene = scene_from_dict(dict(scene))
    else:
        scene.check("scene")

    def change(show: Show) -> None:
        if any(s.id == scene.id for s in show.scenes):
            from core.show.schema import new_scene_id
            scene.id = new_scene_id()
        show.scenes.insert(len(show.scenes) if position is None else position, scene)

    edit_show(show_dir, change)
    return scene


@dataclass
class ShowInfo:
    name: str
    path: Path
    title: str
    scenes: int
    error: str | None = None


def list_shows(root: str | os.PathLike | None = None) -> list[ShowInfo]:
    """Every show folder under ``root`` (default :func:`shows_root`), invalid ones with their error."""
    root = Path(root) if root is not None else shows_root()
    if not root.is_dir():
        return []
    out = []
    for d in sorted(root.iterdir()):
        if not (d / SHOW_FILE).is_file() or not _NAME_RE.match(d.name):
            continue
        try:
            show = load_show(d)
            out.append(ShowInfo(d.name, d, show.title, len(show.scenes)))
        except (ValueError, OSError) as e:  # one broken show is listed with its error, never hides the rest
            out.append(ShowInfo(d.name, d, d.name, 0, " ".join(str(e).split()) or type(e).__name__))
    return out


# ------------------------------------------------------------------------------------------ media

def media_file(show_dir: str | os.PathLike, rel: str) -> Path:
    """The file behind a ``media/...`` path, refusing paths (or symlinks) that leave the show folder."""
    check_media_path(rel)
    try:
        base = Path(show_dir).resolve()
        path = (base / rel).resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        raise ShowError(f"media path {brief(rel)} cannot be resolved (a symlink loop?)") from None
    if base not in path.parents:
        raise ShowError(f"media path {brief(rel)} leads outside the show folder")
    return path


def put_media(show_dir: str | os.PathLike, data: bytes, suffix: str) -> str:
    """Store bytes content-addressed (``media/<sha256>.<suffix>``); returns the media path."""
    suffix = suffix if suffix.startswith(".") else f".{suffix}"
    if suffix.lower() not in MEDIA_SUFFIXES:
        raise ShowError(f"media type {suffix!r} is not accepted ({', '.join(MEDIA_SUFFIXES)})")
    rel = f"{MEDIA_PREFIX}{hashlib.sha256(data).hexdigest()[:32]}{suffix.lower()}"
    planted = Path(show_dir) / rel
    if planted.is_symlink():  # the show never stores links: one put in a media file's place is replaced
        planted.unlink()
    path = media_file(show_dir, rel)
    if not (path.is_file() and path.stat().st_size == len(data)):
        atomic_write_bytes(path, data)
    return rel


def put_media_file(show_dir: str | os.PathLike, src: str | os.PathLike) -> str:
    """Copy a file into the show's media (content-addressed)."""
    src = Path(src)
    return put_media(show_dir, src.read_bytes(), src.suffix or ".bin")


def allowed_input_roots(show_dir: str | os.PathLike) -> list[Path] | None:
    """Folders a scene may read inputs from: the show folder, the project, and the folders the user
    allowed in ``$CUSTOM_CAST_ALLOW_INPUTS`` (``os.pathsep``-separated; ``prepare --allow-inputs`` sets
    it). None when the user allowed any path (``*``)."""
    extra = [p for p in os.environ.get(ALLOW_INPUTS_ENV, "").split(os.pathsep) if p.strip()]
    if "*" in extra:
        return None
    roots = [Path(show_dir), PROJECT_ROOT, *map(Path, extra)]
    out = []
    for root in roots:
        with contextlib.suppress(OSError, RuntimeError):
            out.append(root.expanduser().resolve())
    return out


def resolve_input(show_dir: str | os.PathLike, value: str) -> Path:
    """An input path of a scene: ``media/...`` inside the show, else relative to the project root.

    A show file is data that travels (a downloaded show, one edited by hand): an input that resolves
    (symlinks and ``..`` followed) outside the show folder and the project -- a photo folder, ``/etc`` --
    is refused unless the user allowed its folder (:func:`allowed_input_roots`). The message names the
    path, never anything read from it.
    """
    if value.startswith(MEDIA_PREFIX):
        return media_file(show_dir, value)
    p = Path(value).expanduser()
    p = p if p.is_absolute() else PROJECT_ROOT / p
    roots = allowed_input_roots(show_dir)
    if roots is None:
        return p
    try:
        real = p.resolve()
    except (OSError, RuntimeError):
        raise ShowError(f"input {brief(value)} cannot be resolved (a symlink loop?)") from None
    if not any(real == root or root in real.parents for root in roots):
        raise ShowError(f"input {brief(value)} is outside the show and the project; refused. To allow it, "
                        f"prepare with --allow-inputs {real.parent} (or set {ALLOW_INPUTS_ENV})")
    return p


_FINGERPRINTS: dict[tuple, str] = {}


def fingerprint(path: Path) -> str | None:
    """Content identity of an input: sha256 of a file (memoised on size and mtime), or of a folder's
    listing (names and sizes). None when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return None
    if path.is_dir():
        h = hashlib.sha256()
        for p in sorted(path.rglob("*")):
            if p.is_file():
                h.update(f"{p.relative_to(path)}\0{p.stat().st_size}\n".encode())
        return "dir:" + h.hexdigest()[:32]
    memo = (str(path), st.st_size, st.st_mtime_ns)
    if memo not in _FINGERPRINTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _FINGERPRINTS[memo] = h.hexdigest()[:32]
    return _FINGERPRINTS[memo]


def input_fingerprints(show_dir: str | os.PathLike, show: Show, scene: Scene) -> dict[str, str | None]:
    """Fingerprint of every input a scene reads (the source face of an animation counts by its key)."""
    return {p: fingerprint(resolve_input(show_dir, p)) for p in input_paths(scene)}


# ------------------------------------------------------------------------------ render manifests

def _render_path(show_dir: str | os.PathLike, key: str, partial: bool = False) -> Path:
    if not re.match(r"^[0-9a-f]{8,64}$", key):
        raise ShowError(f"bad render key {key!r}")
    return media_file(show_dir, f"{RENDERS_DIR}/{key}{'.partial' if partial else ''}.json")


def manifest_media(manifest: dict) -> list[str]:
    """Every media path a render manifest names (validated)."""
    out: list[str] = []
    for name in MEDIA_FIELDS:
        value = manifest.get(name)
        values = value if isinstance(value, list) else [value] if value else []
        for rel in values:
            out.append(check_media_path(rel, f"render {name}"))
    return out


def read_render(show_dir: str | os.PathLike, key: str, partial: bool = False) -> dict | None:
    """A scene's render manifest, or None when it was never rendered (or the file is unreadable)."""
    path = _render_path(show_dir, key, partial)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    try:
        manifest_media(data)
    except ShowError:
        return None
    return data


def write_render(show_dir: str | os.PathLike, key: str, manifest: dict, partial: bool = False) -> None:
    manifest = {**manifest, "key": key, "renderer": RENDERER_VERSION}
    manifest.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S"))
    manifest_media(manifest)
    atomic_write_bytes(_render_path(show_dir, key, partial),
                       json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"))


def drop_partial(show_dir: str | os.PathLike, key: str) -> None:
    with contextlib.suppress(OSError):
        _render_path(show_dir, key, partial=True).unlink()


READY, MISSING, INCOMPLETE, TEXT = "ready", "missing", "incomplete", "text"


@dataclass
class SceneMedia:
    """What a scene can show right now: ``status`` ready / missing (never rendered) / incomplete (files
    gone) / text (needs no media); ``manifest`` when rendered; ``missing`` media files."""

    scene: Scene
    key: str
    status: str
    manifest: dict | None = None
    missing: list[str] | None = None
    problem: str = ""  # why a rendered scene cannot play (a media file refused), for the presenter

    @property
    def ready(self) -> bool:
        return self.status in (READY, TEXT)


def scene_media(show_dir: str | os.PathLike, show: Show, scene: Scene,
                check_files: bool = True) -> SceneMedia:
    """The rendered media of one scene, from its render manifest (reads no model, imports no torch)."""
    try:
        key = render_key(scene, show)
    except ShowError:
        return SceneMedia(scene, "", MISSING)
    if not scene.NEEDS_MEDIA:
        return SceneMedia(scene, key, TEXT)
    manifest = read_render(show_dir, key)
    if manifest is None:
        return SceneMedia(scene, key, MISSING)
    missing, problem = [], ""
    if check_files:
        for rel in manifest_media(manifest):
            try:
                present = media_file(show_dir, rel).is_file()
            except (ShowError, OSError) as e:  # e.g. replaced by a symlink out of the show: this scene only
                present, problem = False, problem or " ".join(str(e).split())
            if not present:
                missing.append(rel)
    return SceneMedia(scene, key, INCOMPLETE if missing else READY, manifest, missing, problem)


def referenced_media(show_dir: str | os.PathLike, show: Show) -> set[str]:
    """Media paths the show needs: its renders, their files, and inputs stored under media/."""
    keep: set[str] = set()
    for scene in show.scenes:
        keep.update(p for p in input_paths(scene) if p.startswith(MEDIA_PREFIX))
        sm = scene_media(show_dir, show, scene, check_files=False)
        if sm.manifest is not None:
            keep.add(f"{RENDERS_DIR}/{sm.key}.json")
            keep.update(manifest_media(sm.manifest))
        partial = read_render(show_dir, sm.key, partial=True) if sm.key else None
        if partial is not None:
            keep.add(f"{RENDERS_DIR}/{sm.key}.partial.json")
            keep.update(manifest_media(partial))
    return keep


def prune_media(show_dir: str | os.PathLike) -> tuple[int, int]:
    """Delete media no scene of the show uses any more. Returns (files removed, bytes freed)."""
    with locked(show_dir):
        show = load_show(show_dir)
        keep = referenced_media(show_dir, show)
        base = Path(show_dir)
        removed = freed = 0
        for p in sorted((base / "media").rglob("*")):
            rel = p.relative_to(base).as_posix()
            if p.is_file() and rel not in keep and not p.name.startswith("."):
                freed += p.stat().st_size
                p.unlink()
                removed += 1
    return removed, freed
