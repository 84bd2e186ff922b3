"""Where a show is now: the scene on stage, shared by every window presenting it.

The presenter's window (``/present?show=…&view=presenter``) and the audience's (the stage) are separate
browser sessions, possibly on two machines; a move in either is written here and the other follows
within a fraction of a second. One small JSON file per show, written atomically, under the studio's
``static/present/`` folder (not in the show folder, which may be read-only or under version control):
Streamlit serves that folder as plain files (``server.enableStaticServing``), so each window's browser
polls ``/app/static/present/<file>`` itself, without a script rerun per poll. ``seq`` counts moves so a
window can tell a new move from the one it already applied.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from core import PROJECT_ROOT
from core.checkpoint import atomic_write_bytes

POSITIONS_DIR = PROJECT_ROOT / "static" / "present"  # served at /app/static/present/ (git-ignored)
STATIC_URL = "app/static/present"
MAX_POSITION_BYTES = 4096


@dataclass(frozen=True)
class Position:
    scene: int = 0  # 0-based index of the scene on stage
    seq: int = 0  # number of moves so far (0: never moved)
    moved_at: float = 0.0  # epoch seconds of the last move
    started_at: float = 0.0  # when the talk's clock started (the first move, or a restart)
    scene_started_at: float = 0.0  # when the current scene came on stage

    def to_dict(self) -> dict:
        return asdict(self)


def position_file(show_dir: str | os.PathLike, root: Path | None = None) -> Path:
    key = hashlib.sha1(str(Path(show_dir).resolve()).encode("utf-8")).hexdigest()[:16]
    return (root or POSITIONS_DIR) / f"{Path(show_dir).name[:40]}-{key}.json"


def read_position(show_dir: str | os.PathLike, n_scenes: int | None = None,
                  root: Path | None = None) -> Position:
    """The shared position (scene 0 when none was written, or the file is damaged)."""
    path = position_file(show_dir, root)
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read(MAX_POSITION_BYTES + 1)[:MAX_POSITION_BYTES])
        pos = Position(int(data["scene"]), int(data["seq"]), float(data["moved_at"]),
                       float(data["started_at"]), float(data["scene_started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Position()
    if n_scenes is not None and not 0 <= pos.scene < max(n_scenes, 1):
        pos = Position(min(max(pos.scene, 0), max(n_scenes - 1, 0)), pos.seq, pos.moved_at, pos.started_at,
                       pos.scene_started_at)
    return pos


_lock = threading.Lock()  # the windows of one server are threads of one process


def move_to(show_dir: str | os.PathLike, scene: int, n_scenes: int, root: Path | None = None) -> Position:
    """Put ``scene`` (clamped to the show) on stage; unchanged when it already is."""
    scene = min(max(int(scene), 0), max(int(n_scenes) - 1, 0))
    with _lock:
        old = read_position(show_dir, n_scenes, root)
        if old.seq and old.scene == scene:
            return old
        now = time.time()
        new = Position(scene, old.seq + 1, now, old.started_at or now, now)
        _write(show_dir, new, root)
        return new


def step(show_dir: str | os.PathLike, delta: int, n_scenes: int, root: Path | None = None) -> Position:
    with _lock:
        current = read_position(show_dir, n_scenes, root).scene
    return move_to(show_dir, current + int(delta), n_scenes, root)


def restart_clock(show_dir: str | os.PathLike, n_scenes: int, root: Path | None = None) -> Position:
    """Start the talk's clock (and the scene's) now, keeping the scene."""
    with _lock:
        old = read_position(show_dir, n_scenes, root)
        now = time.time()
        new = Position(old.scene, old.seq + 1, now, now, now)
        _write(show_dir, new, root)
        return new


def _write(show_dir, pos: Position, root: Path | None) -> None:
    path = position_file(show_dir, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(pos.to_dict()).encode("utf-8"))


def clock(seconds: float) -> str:
    """``4:07`` / ``1:02:33``."""
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
