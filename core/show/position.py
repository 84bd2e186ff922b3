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
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from core import PROJECT_ROOT
from core.checkpoint import atomic_write_bytes

POSITIONS_DIR = PROJECT_ROOT / "static" / "present"  # served at /app/static/present/ (git-ignored)
STATIC_URL = "app/static/present"
MAX_POSITION_BYTES = 4096
MAX_WINDOW_ID = 64


@dataclass(frozen=True)
class Position:
    scene: int = 0  # 0-based index of the scene on stage
    seq: int = 0  # number of moves so far (0: never moved)
    moved_at: float = 0.0  # epoch seconds of the last move
    started_at: float = 0.0  # when the talk's clock started (the first move, or a restart)
    scene_started_at: float = 0.0  # when the current scene came on stage
    by: str = ""  # the audience window that made this move ("" for the presenter's): it ignores its own echo

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
                       float(data["started_at"]), float(data["scene_started_at"]), window_id(data.get("by")))
    except (OSError, ValueError, KeyError, TypeError):
        return Position()
    if n_scenes is not None and not 0 <= pos.scene < max(n_scenes, 1):
        pos = replace(pos, scene=min(max(pos.scene, 0), max(n_scenes - 1, 0)))
    return pos


_lock = threading.Lock()  # the windows of one server are threads of one process


def window_id(value: object) -> str:
    """A browser window's id as sent (a short string), or "" for anything else."""
    return value if isinstance(value, str) and len(value) <= MAX_WINDOW_ID else ""


def _move_locked(show_dir, scene: int, n_scenes: int, root: Path | None, by: str = "") -> Position:
    scene = min(max(int(scene), 0), max(int(n_scenes) - 1, 0))
    old = read_position(show_dir, n_scenes, root)
    if old.seq and old.scene == scene:
        return old
    now = time.time()
    new = Position(scene, old.seq + 1, now, old.started_at or now, now, window_id(by))
    _write(show_dir, new, root)
    return new


def move_to(show_dir: str | os.PathLike, scene: int, n_scenes: int, root: Path | None = None,
            by: str = "") -> Position:
    """Put ``scene`` (clamped to the show) on stage, as moved by window ``by``; unchanged when it already
    is."""
    with _lock:
        return _move_locked(show_dir, scene, n_scenes, root, by)


def step(show_dir: str | os.PathLike, delta: int, n_scenes: int, root: Path | None = None) -> Position:
    """Move ``delta`` scenes from where the show is now (read and written under one lock: two windows
    stepping at once both count)."""
    with _lock:
        current = read_position(show_dir, n_scenes, root).scene
        return _move_locked(show_dir, current + int(delta), n_scenes, root)


# A key press in the presenter's window, as its browser sends it: ``{"id": int, "move": MOVE}``. Ids grow
# within a page (and across its reloads: they start at the page's clock in ms).
MOVES = {1: 1, -1: -1, "first": "first", "last": "last"}
MAX_PRESSES = 200  # more un-applied presses than anyone makes between two reruns: the rest is ignored


def apply_presses(show_dir: str | os.PathLike, presses: object, done: int | None, n_scenes: int,
                  root: Path | None = None) -> tuple[Position | None, int]:
    """Apply, in order, each press with an id above ``done`` (the last one this window applied); return the
    position after them (None when there were none) and the new ``done``.

    The browser sends every press it has not yet seen applied, each time, so a press made while the
    server is busy, or while an older press is still on its way, arrives with the next one and moves the
    show exactly once: relative moves count from where the show is *now* (the audience's clicker may
    have moved it), never from a scene the browser was last told.

    ``done=None``: a new server session (the studio restarted while the page stayed open, so the page's
    first message repeats the presses it last sent, already applied by the old session): nothing is
    applied, they are only marked done. A press made while the server was down is dropped rather than
    risk moving the show twice.
    """
    valid = _valid_presses(presses)
    if done is None:
        return None, max((press_id for press_id, _ in valid), default=0)
    pos = None
    for press_id, move in valid:
        if press_id <= done:
            continue
        if move == "first":
            pos = move_to(show_dir, 0, n_scenes, root)
        elif move == "last":
            pos = move_to(show_dir, n_scenes - 1, n_scenes, root)
        else:
            pos = step(show_dir, move, n_scenes, root)
        done = press_id
    return pos, done


def _valid_presses(presses: object) -> list[tuple[int, int | str]]:
    """(id, move) of each well-formed press among the last MAX_PRESSES a browser sent, by id."""
    if not isinstance(presses, list):
        return []
    return sorted(
        ((p["id"], MOVES[p["move"]]) for p in presses[-MAX_PRESSES:]
         if isinstance(p, dict) and type(p.get("id")) is int
         and type(p.get("move")) in (int, str) and p["move"] in MOVES),
        key=lambda press: press[0],
    )


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
