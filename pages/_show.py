"""Show mode, Streamlit side: the "Add to show" widget every page calls, and the present page's helpers.

A page hands its current state as a typed scene (``S.FaceScene(model=..., seed=7, ...)``, one dataclass per
kind in ``core.show.schema``) and, for inputs that exist only in memory (an uploaded photo, a generated face),
``files={"source": rgb_array_or_bytes}``: they are stored in the show's media and the field points there.
"""

from __future__ import annotations

import base64
import dataclasses
import io
from pathlib import Path

import numpy as np
import streamlit as st

from core import show as S
from core.show.store import PROJECT_ROOT

TARGET_KEY = "show_target"       # the show "Add to show" appends to (its folder name)
NEW_SHOW = "➕ New show…"
_PICKERS = "_show_pickers"        # keys of the "Add to show" widgets this session has drawn
MIME = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".gif": "image/gif",
        ".mp4": "video/mp4"}


def _to_bytes(value) -> tuple[bytes, str]:
    """(bytes, suffix) for a file handed over by a page: an RGB array (PNG), raw bytes, or a path."""
    if isinstance(value, np.ndarray):
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(value, dtype=np.uint8)).save(buf, "PNG")
        return buf.getvalue(), ".png"
    if isinstance(value, str | Path):
        return Path(value).read_bytes(), Path(value).suffix or ".bin"
    data, suffix = value if isinstance(value, tuple) else (value, ".bin")
    return bytes(data), suffix


def _default_target(shows: list[S.ShowInfo]) -> str:
    names = [s.name for s in shows if not s.error]
    chosen = st.session_state.get(TARGET_KEY)
    if chosen in names:
        return chosen
    mine = [n for n in names if n != "demo"]
    return mine[0] if mine else NEW_SHOW


def _add(key: str, scene: S.Scene, files: dict | None) -> None:
    """The Add button's callback (runs before the rerun, so every picker can follow the chosen show)."""
    pick = st.session_state.get(f"{key}_show")
    title = (st.session_state.get(f"{key}_title") or "").strip()
    try:
        if pick == NEW_SHOW:
            new_title = (st.session_state.get(f"{key}_new") or "").strip() or "My show"
            name = _free_name(S.slugify(new_title))
            S.create_show(S.show_path(name), new_title)
        else:
            name = pick
        show_dir = S.show_path(name)
        stored = {field: S.put_media(show_dir, *_to_bytes(value)) for field, value in (files or {}).items()}
        # A copy: the page's scene object is the callback's argument and must not change between clicks.
        retitled = {"title": title} if title else {}
        added = S.add_scene(show_dir, dataclasses.replace(scene, **stored, **retitled))
    except (S.ShowError, OSError, ValueError) as e:
        st.session_state[f"{key}_result"] = ("error", f"Could not add the scene: {e}")
        return
    st.session_state[TARGET_KEY] = name
    for other in st.session_state.get(_PICKERS, set()):  # every picker on the page follows the choice
        st.session_state[f"{other}_show"] = name
    count = len(S.load_show(show_dir).scenes)
    st.session_state[f"{key}_result"] = (
        "success", f"Added as scene {count} of **{name}** ({added.display_title()}). Prepare and present it "
                   "on the Present page.")


def add_to_show(scene: S.Scene, files: dict | None = None, key: str | None = None,
                label: str = "🎬 Add to show") -> None:
    """A show picker and a button that appends ``scene`` (the page's current state) to the chosen show.

    ``scene`` is a scene dataclass of ``core.show`` (checked when added: a bad field is named on screen).
    ``files`` maps scene fields to in-memory inputs (RGB array, bytes, ``(bytes, suffix)`` or a path);
    they are stored in the show's media and the field points there.
    """
    if not isinstance(scene, S.Scene):
        raise TypeError(f"add_to_show takes a core.show scene (e.g. FaceScene), not {type(scene).__name__}")
    key = key or f"add_to_show_{scene.KIND}"
    if hasattr(scene, "model") and not scene.model:
        st.caption("🎬 Add to show needs a generator file (the untrained stand-in has none).")
        return
    scene = dataclasses.replace(scene, **{f: _project_relative(getattr(scene, f))
                                          for f in _PATH_FIELDS if hasattr(scene, f)})
    st.session_state.setdefault(_PICKERS, set()).add(key)
    with st.popover(label, help="Append what is on screen as a scene of a show (then prepare and present it "
                                "on the Present page)."):
        shows = S.list_shows()
        titles = {s.name: s.title for s in shows if not s.error}
        options = [*titles, NEW_SHOW]
        if st.session_state.get(f"{key}_show") not in options:
            st.session_state[f"{key}_show"] = _default_target(shows)
        pick = st.selectbox("Show", options, key=f"{key}_show",
                            format_func=lambda n: n if n == NEW_SHOW else f"{n} · {titles[n]}")
        if pick == NEW_SHOW:
            st.text_input("New show title", "My show", key=f"{key}_new")
        st.text_input("Scene title (optional)", "", key=f"{key}_title")
        st.button("Add", key=f"{key}_go", type="primary", on_click=_add, args=(key, scene, files))
        result = st.session_state.pop(f"{key}_result", None)
        if result is not None:
            (st.success if result[0] == "success" else st.error)(result[1])


_PATH_FIELDS = ("model", "checkpoint", "survey", "folder", "run", "driving", "source")


def _project_relative(value):
    """Paths inside the project become relative (the show then works from any checkout)."""
    if not isinstance(value, str | Path) or not Path(value).is_absolute():
        return str(value) if isinstance(value, Path) else value
    try:
        return Path(value).resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(value)


def _free_name(base: str) -> str:
    name, n = base, 2
    while S.show_path(name).exists():
        name, n = f"{base}-{n}", n + 1
    return name


def data_uri(path: Path) -> str:
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def frame_urls(paths: list[Path], key: str) -> list[str]:
    """Browser URLs for pre-rendered frames: served by Streamlit's media store (each file once per
    content, the frames load in parallel and stay cached), else embedded as data URIs."""
    try:
        from streamlit import runtime

        if not runtime.exists():
            raise RuntimeError("no runtime")
        manager = runtime.get_instance().media_file_mgr
        base = (st.get_option("server.baseUrlPath") or "").strip("/")
        prefix = f"/{base}" if base else ""
        return [prefix + manager.add(p.read_bytes(), MIME.get(p.suffix.lower(), "image/jpeg"), f"{key}.{i}")
                for i, p in enumerate(paths)]
    except Exception:  # noqa: BLE001 - a media-store change must not break the show: embed instead
        return [data_uri(p) for p in paths]
