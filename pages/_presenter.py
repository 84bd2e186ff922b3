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
page's keys and the stage's player).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.show import position as P
from core.show.view import SceneView

POLL_MS = 100  # how often each window's browser reads the position file (a static file: no rerun)
PRESENTER_EVERY_S = 1.0  # the presenter's timers tick
THUMB_WIDTH = 300

# Both windows: read the show's position file every POLL_MS. The audience hands a new position to the
# stage's player (ccShow.go, no reload) and reports the player's own moves (a clicker on the projector's
# window); the presenter's window reruns its panel when the position changed elsewhere.
FOLLOW_JS = """
export default function (component) {
  const { data, setStateValue } = component;
  const w = window;
  w.__ccData = data; w.__ccSet = setStateValue;
  const player = () => {
    for (const f of document.querySelectorAll('iframe')) {
      try { if (f.contentWindow && f.contentWindow.ccShow) return f.contentWindow.ccShow; } catch (e) {}
    }
    return null;
  };
  const apply = (pos) => {
    const d = w.__ccData;
    if (d.role === 'audience') {
      const show = player();
      if (!show) return false;
      // The echo of a move made here (written back a moment ago) must not pull the stage back after
      // further local moves: only a position this window did not itself report moves the stage.
      const now = Date.now();
      w.__ccRecent = (w.__ccRecent || []).filter((r) => now - r.t < 3000);
      if (w.__ccRecent.some((r) => r.scene === pos.scene)) return true;
      w.__ccApplied = pos.scene;
      if (show.current() !== pos.scene) show.go(pos.scene);
    } else if (pos.seq !== d.seq) {
      w.__ccSet('seen', { seq: pos.seq, at: Date.now() });
    }
    return true;
  };
  const keepAddress = () => {  // a rerun rewrites the address from the server's query params: keep ?scene=
    const show = w.__ccData.role === 'audience' && player();
    if (!show) return;
    const u = new URL(location.href), want = String(show.current() + 1);
    if (u.searchParams.get('scene') !== want) {
      u.searchParams.set('scene', want);
      history.replaceState(history.state, '', u);
    }
  };
  const poll = () => {
    const d = w.__ccData;
    keepAddress();
    fetch(d.url + '?t=' + Date.now(), { cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : null))
      .then((pos) => { if (pos && pos.seq !== w.__ccSeq && apply(pos)) w.__ccSeq = pos.seq; })
      .catch(() => {});
  };
  if (!w.__ccPolling) {
    w.__ccPolling = setInterval(poll, POLL_MS);
    w.addEventListener('cc-scene', (e) => {
      if (w.__ccData.role === 'audience' && e.detail !== w.__ccApplied) {
        w.__ccApplied = e.detail;
        (w.__ccRecent = w.__ccRecent || []).push({ scene: e.detail, t: Date.now() });
        w.__ccSet('moved', { scene: e.detail, at: Date.now() });
      }
    });
  }
  poll();
}
""".replace("POLL_MS", str(POLL_MS))

# The presenter's window: arrows, PageUp/PageDown (a clicker), space, Home/End. Presses add up locally
# and are sent as the scene to show, so a press made while the page is busy is never lost.
KEYS_JS = """
export default function (component) {
  const { data, setStateValue } = component;
  const w = window;
  if (!w.__ccKeyData || w.__ccKeyData.seq !== data.seq) w.__ccTarget = null;
  w.__ccKeyData = data; w.__ccKeySet = setStateValue;
  if (w.__ccKeys) return;
  w.__ccKeys = (e) => {
    const t = e.target, tag = t && t.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || (t && t.isContentEditable)) return;
    const d = w.__ccKeyData, from = w.__ccTarget === null ? d.scene : w.__ccTarget;
    const to = { ArrowRight: from + 1, ArrowDown: from + 1, PageDown: from + 1, ' ': from + 1,
                 ArrowLeft: from - 1, ArrowUp: from - 1, PageUp: from - 1, Home: 0, End: d.n - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    w.__ccTarget = Math.max(0, Math.min(d.n - 1, to));
    w.__ccKeySet('target', { scene: w.__ccTarget, at: Date.now() });
  };
  w.addEventListener('keydown', w.__ccKeys);
}
"""


def _component(name: str, js: str):
    try:
        return st.components.v2.component(name, js=js)
    except Exception:  # noqa: BLE001 - no component runtime (an older Streamlit): buttons still work
        return None


# Registered on use: registering the same definition again is free, and each app runtime (AppTest's too)
# has its own component registry.


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
        if not P.position_file(show_dir).exists():
            P.move_to(show_dir, 0, n)
        pos = P.read_position(show_dir, n)
        keys = _component("custom_cast_keys", KEYS_JS)
        follower = _component("custom_cast_follow", FOLLOW_JS)
        if keys is not None and follower is not None:
            result = keys(key="present_keys", data={"scene": pos.scene, "seq": pos.seq, "n": n},
                          on_target_change=lambda: None, height=0)
            target = getattr(result, "target", None)
            if _fresh(target, "present_keys_seen") and isinstance(target.get("scene"), int):
                pos = P.move_to(show_dir, target["scene"], n)
            follower(key="present_watch", data={"role": "presenter", "url": _position_url(show_dir),
                                                "seq": pos.seq}, on_seen_change=lambda: None, height=0)
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
