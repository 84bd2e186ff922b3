"""The presenter's screen (``/present?show=…&view=presenter``) and the audience window that follows it.

Both windows share the show's position (core.show.position, a small file per show on this server):
- the presenter's window shows the current scene, a thumbnail of the next, the scene's notes, the talk's
  elapsed time and the scene's own timer; its buttons, arrow keys and a clicker's PageUp/PageDown move
  the show;
- each window's browser reads the position file every ``POLL_MS`` (Streamlit serves it as a static file,
  so a poll costs no script rerun); the audience hands a new position to the player already on screen
  (``ccShow.go``), so neither window reloads; a move made on the audience window itself (a clicker
  pointed at the projector) is written back, and the presenter's window follows it.

The browser side is two small bidirectional components (``st.components.v2``: no iframe, so they see the
page's keys and the stage's player), in ``pages/_presenter_js.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from core.show import position as P
from core.show.view import SceneView
from pages._presenter_js import FOLLOW_JS, KEYS_JS

PRESENTER_EVERY_S = 1.0  # the presenter's timers tick
THUMB_WIDTH = 300


# Registered on use: registering the same definition again is free, and each app runtime (AppTest's too)
# has its own component registry.
def _component(name: str, js: str):
    try:
        return st.components.v2.component(name, js=js)
    except Exception:  # noqa: BLE001 - no component runtime (an older Streamlit): buttons still work
        return None


def _fresh(event: object, seen_key: str) -> bool:
    """True once per browser event: a component's trigger value can still be there on the next fragment
    run (e.g. one a button started), and a key press must move the show once."""
    if not isinstance(event, dict) or event.get("at") == st.session_state.get(seen_key):
        return False
    st.session_state[seen_key] = event.get("at")
    return True


# ------------------------------------------------------------------------------------- audience window


def _position_url(show_dir: Path) -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"{'/' + base if base else ''}/{P.STATIC_URL}/{P.position_file(show_dir).name}"


def audience_follower(show_dir: Path, n: int) -> None:
    """Keep the stage on the shared position (call once, after the stage)."""
    if not P.position_file(show_dir).exists():
        P.move_to(show_dir, 0, n)  # the file the windows poll exists from the start

    @st.fragment
    def follow() -> None:
        follower = _component("custom_cast_follow", FOLLOW_JS)
        if follower is None:
            return
        result = follower(key="present_follow", data={"role": "audience", "url": _position_url(show_dir)},
                          on_moved_change=lambda: None, height=0)
        moved = getattr(result, "moved", None)
        if _fresh(moved, "present_follow_seen") and isinstance(moved.get("scene"), int):
            P.move_to(show_dir, moved["scene"], n, by=P.window_id(moved.get("by")))

    follow()


# ------------------------------------------------------------------------------------- presenter window


def _move(show_dir: Path, n: int, delta: int | str) -> None:
    if delta == "first":
        P.move_to(show_dir, 0, n)
    elif delta == "last":
        P.move_to(show_dir, n - 1, n)
    else:
        P.step(show_dir, int(delta), n)


def _picture(view: SceneView) -> Path | None:
    return view.image or (view.frames[0] if view.frames else None) or view.poster or view.chart


def _scene_panel(view: SceneView, width: int | str = "stretch") -> None:
    picture = _picture(view)
    if view.kind == "title":
        st.markdown(f"### {view.title}\n\n{view.scene.text}")
    elif picture is not None and picture.is_file():
        st.image(str(picture), width=width)
    elif not view.ready:
        st.warning(view.message or "This scene is not ready.")
    else:
        st.info(view.title)


def _synced_position(show_dir: Path, n: int) -> P.Position:
    """The shared position, after any key the presenter pressed; the browser watches it for moves made
    elsewhere (the audience window's clicker) and reruns this screen when one comes."""
    if not P.position_file(show_dir).exists():
        P.move_to(show_dir, 0, n)
    pos = P.read_position(show_dir, n)
    keys = _component("custom_cast_keys", KEYS_JS)
    follower = _component("custom_cast_follow", FOLLOW_JS)
    if keys is None or follower is None:
        return pos
    done = st.session_state.get("present_keys_done")  # None: this session's first run (see apply_presses)
    result = keys(key="present_keys", data={"done": done or 0}, on_presses_change=lambda: None, height=0)
    moved, st.session_state["present_keys_done"] = P.apply_presses(
        show_dir, getattr(result, "presses", None), done, n)
    pos = moved or pos
    follower(key="present_watch", data={"role": "presenter", "url": _position_url(show_dir), "seq": pos.seq},
             on_seen_change=lambda: None, height=0)
    return pos


def _presenter_screen(show_dir: Path, views: list[SceneView], pos: P.Position) -> None:
    """The current scene with the buttons, the talk's and the scene's clocks, the notes and the next scene."""
    n = len(views)
    current, nxt = views[pos.scene], views[pos.scene + 1] if pos.scene + 1 < n else None
    now = time.time()
    elapsed = P.clock(now - pos.started_at) if pos.started_at else "0:00"
    in_scene = P.clock(now - pos.scene_started_at) if pos.scene_started_at else "0:00"
    head, t1, t2 = st.columns([4, 1, 1], vertical_alignment="bottom")
    head.markdown(f"## {pos.scene + 1} / {n} · {current.title}")
    t1.metric("Talk", elapsed)
    t2.metric("This scene", in_scene)
    left, right = st.columns([3, 2])
    with left:
        _scene_panel(current)
        b1, b2, b3 = st.columns([1, 1, 2])
        b1.button("◀ Previous", key="presenter_prev", on_click=_move, args=(show_dir, n, -1),
                  disabled=pos.scene == 0, width="stretch")
        b2.button("Next ▶", key="presenter_next", on_click=_move, args=(show_dir, n, 1), type="primary",
                  disabled=pos.scene >= n - 1, width="stretch")
        b3.button("Restart the clock", key="presenter_restart", on_click=P.restart_clock, args=(show_dir, n))
    with right:
        st.markdown("**Notes**")
        st.markdown(current.scene.notes or "_No notes for this scene._")
        st.markdown(f"**Next:** {nxt.title}" if nxt else "**Next:** the end of the show")
        if nxt is not None:
            _scene_panel(nxt, width=THUMB_WIDTH)


def presenter_view(show_dir: Path, title: str, views: list[SceneView]) -> None:
    @st.fragment(run_every=PRESENTER_EVERY_S)
    def screen() -> None:
        _presenter_screen(show_dir, views, _synced_position(show_dir, len(views)))

    st.caption(f"Presenter's screen · {title} · arrow keys or a clicker move the show; the audience window "
               "follows.")
    screen()
