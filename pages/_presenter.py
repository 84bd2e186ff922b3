"""The presenter's screen (``/present?show=…&view=presenter``) and the audience window that follows it.

Both windows share the show's position (core.show.position, a small file per show on this server):
- the presenter's window shows the current scene, a thumbnail of the next, the scene's notes, the talk's
  elapsed time and the scene's own timer; its buttons, arrow keys and a clicker's PageUp/PageDown move
  the show;
- the audience window (the stage) polls the position in an ``st.fragment(run_every=FOLLOW_EVERY_S)``
  and hands a move to the player already on screen (``ccShow.go``), so neither window reloads; a move
  made on the audience window itself (a clicker pointed at the projector) is written back, and the
  presenter's window follows it.

The browser side is two small bidirectional components (``st.components.v2``: no iframe, so they see the
page's keys and the stage's player).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.show import position as P
from core.show.view import SceneView

FOLLOW_EVERY_S = 0.1  # the audience's poll: a move shows within ~0.1 s plus a round trip
PRESENTER_EVERY_S = 0.5  # the presenter's window: timers tick, audience-side moves arrive
THUMB_WIDTH = 300

# The audience window: apply the shared position to the stage's player; report the player's own moves.
FOLLOW_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  window.__ccReport = setTriggerValue;
  const player = () => {
    for (const f of document.querySelectorAll('iframe')) {
      try { if (f.contentWindow && f.contentWindow.ccShow) return f.contentWindow.ccShow; } catch (e) {}
    }
    return null;
  };
  const apply = (tries) => {
    const show = player();
    if (!show) { if (tries > 0) setTimeout(() => apply(tries - 1), 50); return; }
    window.__ccApplied = data.scene;
    if (show.current() !== data.scene) show.go(data.scene);
  };
  if (data && window.__ccSeq !== data.seq) { window.__ccSeq = data.seq; apply(100); }
  if (!window.__ccListening) {
    window.__ccListening = true;
    window.addEventListener('cc-scene', (e) => {
      if (e.detail !== window.__ccApplied && window.__ccReport) {
        window.__ccApplied = e.detail;
        window.__ccReport('moved', { scene: e.detail, at: Date.now() });
      }
    });
  }
}
"""

# The presenter's window: arrows, PageUp/PageDown (a clicker), space, Home/End move the show.
KEYS_JS = """
export default function (component) {
  const { setTriggerValue } = component;
  window.__ccMove = setTriggerValue;
  if (window.__ccKeys) return;
  window.__ccKeys = (e) => {
    const t = e.target, tag = t && t.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || (t && t.isContentEditable)) return;
    const step = { ArrowRight: 1, ArrowDown: 1, PageDown: 1, ' ': 1, ArrowLeft: -1, ArrowUp: -1, PageUp: -1,
                   Home: 'first', End: 'last' }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    window.__ccMove('key', { step: step, at: Date.now() });
  };
  window.addEventListener('keydown', window.__ccKeys);
}
"""


def _component(name: str, js: str):
    try:
        return st.components.v2.component(name, js=js)
    except Exception:  # noqa: BLE001 - no component runtime (an older Streamlit): buttons still work
        return None


# Registered on use: registering the same definition again is free, and each app runtime (AppTest's too)
# has its own component registry.


# ------------------------------------------------------------------------------------- audience window


def audience_follower(show_dir: Path, n: int) -> None:
    """Keep the stage on the shared position (call once, after the stage)."""

    @st.fragment(run_every=FOLLOW_EVERY_S)
    def follow() -> None:
        pos = P.read_position(show_dir, n)
        follower = _component("custom_cast_follow", FOLLOW_JS)
        if follower is None:
            return
        result = follower(key="present_follow", data={"scene": pos.scene, "seq": pos.seq},
                           on_moved_change=lambda: None, height=0)
        moved = getattr(result, "moved", None)
        if isinstance(moved, dict) and isinstance(moved.get("scene"), int):
            P.move_to(show_dir, moved["scene"], n)

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


def presenter_view(show_dir: Path, title: str, views: list[SceneView]) -> None:
    n = len(views)

    @st.fragment(run_every=PRESENTER_EVERY_S)
    def screen() -> None:
        keys = _component("custom_cast_keys", KEYS_JS)
        if keys is not None:
            result = keys(key="present_keys", on_key_change=lambda: None, height=0)
            key = getattr(result, "key", None)
            if isinstance(key, dict) and key.get("step") in (1, -1, "first", "last"):
                _move(show_dir, n, key["step"])
        pos = P.read_position(show_dir, n)
        current, nxt = views[pos.scene], views[pos.scene + 1] if pos.scene + 1 < n else None
        import time

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
            b3.button("Restart the clock", key="presenter_restart", on_click=P.restart_clock,
                      args=(show_dir, n))
        with right:
            st.markdown("**Notes**")
            st.markdown(current.scene.notes or "_No notes for this scene._")
            st.markdown(f"**Next:** {nxt.title}" if nxt else "**Next:** the end of the show")
            if nxt is not None:
                _scene_panel(nxt, width=THUMB_WIDTH)

    st.caption(f"Presenter's screen · {title} · arrow keys or a clicker move the show; the audience window "
               "follows.")
    screen()
