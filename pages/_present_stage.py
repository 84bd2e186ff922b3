"""The Present page's stage: which show, what is not ready, and the in-browser show player.

The player (core.show.player) gets every scene's pre-rendered media; scene changes and the morph scrub
happen in the browser (no model, no torch, no server round trip).
"""

from __future__ import annotations

import html

import streamlit as st

from core import show as S
from core.jobs import JobBusyError
from core.show.licences import show_licences
from core.show.player import scene_data, show_document
from core.show.view import SceneView
from pages._common import studio_device
from pages._provenance import export_settings
from pages._show import frame_urls

SHOW_KEY = "present_show"
FRAME_HEIGHT = 540   # px of a scrubbed picture: big, with the controls still on a laptop screen
MEDIA_HEIGHT = 580   # px of a still picture, a chart or a video
STAGE_HEIGHT = 760   # px of the whole player (bar, title, picture, controls)
# The page keeps ?show=…&scene=… in the address (a reload or a shared link opens the same scene), takes
# the arrow keys without a click into the stage first, and sizes the stage to the window (the heights
# above are the starting sizes).
PAGE_OPTIONS = """{
  parentKeys: true,
  fitParent: true,
  start: function () {
    try { var n = parseInt(new URLSearchParams(window.parent.location.search).get('scene') || '1', 10);
          return isNaN(n) ? 0 : n - 1; } catch (e) { return 0; }
  },
  onScene: function (i) {
    var u = new URL(window.parent.location.href); u.searchParams.set('scene', i + 1);
    window.parent.history.replaceState(window.parent.history.state, '', u);
    window.parent.dispatchEvent(new CustomEvent('cc-scene', {detail: i}));  // the presenter's screen follows
  }
}"""


def start_prepare(show_dir, only: list[str] | None = None) -> None:
    """The prepare job, on the device the studio's picker chose (the job refuses one this machine lacks)."""
    try:
        S.start_prepare_job(show_dir, only=only, device=studio_device())
        st.toast("Preparing in the background; progress is in the sidebar (») .")
    except JobBusyError:
        st.toast("A prepare of this show is already running.")


def _show_changed() -> None:
    st.query_params["scene"] = "1"


def show_picker() -> tuple[S.ShowInfo, S.Show]:
    """The show to play (sidebar; kept in ?show=); stops the page while there is none to play."""
    shows = S.list_shows()
    if not shows:
        st.title("Present")
        st.info(f"No shows yet in `{S.shows_root()}`. Build the demo with `python -m core.show demo --out "
                "shows/demo`, or use **🎬 Add to show** on any page.")
        st.stop()
    names = [s.name for s in shows]
    if st.session_state.get(SHOW_KEY) not in names:
        wanted = st.query_params.get("show")
        st.session_state[SHOW_KEY] = wanted if wanted in names else ("demo" if "demo" in names else names[0])
    with st.sidebar:
        name = st.selectbox("Show", names, key=SHOW_KEY, on_change=_show_changed,
                            format_func=lambda n: f"{n} · {next(s.title for s in shows if s.name == n)}")
    if st.query_params.get("show") != name:
        # Written only when it changes: each write sends the whole query string to the browser again.
        st.query_params["show"] = name
    info = next(s for s in shows if s.name == name)
    if info.error:
        st.error(f"This show cannot be played: {info.error}")
        st.stop()
    show = S.load_show(info.path)
    if not show.scenes:
        st.title(show.title)
        st.info("This show has no scenes yet: use **🎬 Add to show** on the other pages.")
        st.stop()
    return info, show


def missing_panel(show_dir, views: list[SceneView]) -> list[SceneView]:
    """The scenes without their media, named above the stage with a Prepare button; returns them."""
    missing = [v for v in views if not v.ready]
    if missing:
        listed = ", ".join(f"{v.index + 1} ({html.escape(v.title)})" for v in missing[:6])
        warn, button = st.columns([5, 1], vertical_alignment="center")
        warn.warning(f"**{len(missing)} of {len(views)} scenes are not ready to show:** scene {listed}"
                     f"{' …' if len(missing) > 6 else ''}. They say so on stage; prepare them to render "
                     "their media.")
        if button.button("Prepare now", key="present_prepare_missing", type="primary"):
            start_prepare(show_dir)
    return missing


def stage_panel(name: str, show: S.Show, views: list[SceneView]) -> None:
    """The player with every scene, and the models' licences under it."""

    def url(path) -> str:
        return frame_urls([path], f"show.{name}.{path.name}")[0]  # media names are content hashes: unique

    scenes = [scene_data(v, url) for v in views]
    badge = export_settings().label_text if st.session_state.get("present_badge", True) else ""
    st.iframe(show_document(show.title, scenes, f"{FRAME_HEIGHT}px", f"{MEDIA_HEIGHT}px", PAGE_OPTIONS,
                            badge=badge), height=STAGE_HEIGHT)
    licences = show_licences(show)
    st.caption("Models: " + "; ".join(f"{lic.name} — {lic.licence}" for lic in licences)
               if licences else "No model in this show.")
