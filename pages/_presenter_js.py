"""The browser side of the presenter's screen and the audience window (``pages/_presenter.py``): two small
bidirectional components (``st.components.v2``: no iframe, so they see the page's keys and the stage's
player)."""

from core.show.position import MAX_PRESSES

POLL_MS = 100  # how often each window's browser reads the position file (a static file: no rerun)

# Both windows: read the show's position file every POLL_MS. The audience hands a new position to the
# stage's player (ccShow.go, no reload) and reports the player's own moves (a clicker on the projector's
# window); the presenter's window reruns its panel when the position changed elsewhere.
FOLLOW_JS = """
export default function (component) {
  const { data, setStateValue } = component;
  const w = window;
  w.__ccData = data; w.__ccSet = setStateValue;
  w.__ccWindow = w.__ccWindow || Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
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
      // further local moves: a position this window wrote is skipped while the stage still shows the
      // last move it reported. (Skipping every position naming a scene moved to here in the last 3 s, as
      // before, also skipped the presenter's moves back to such a scene.)
      if (pos.by === w.__ccWindow && show.current() === w.__ccReported) return true;
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
    // A move on the stage itself (a clicker pointed at the projector's window) is written back; the
    // scene the stage opened on is not a move (a window opened late would pull the show back), so
    // nothing is reported before this window has taken the shared position once.
    w.addEventListener('cc-scene', (e) => {
      if (w.__ccData.role !== 'audience' || w.__ccSeq === undefined || e.detail === w.__ccApplied) return;
      w.__ccApplied = w.__ccReported = e.detail;
      w.__ccSet('moved', { scene: e.detail, at: Date.now(), by: w.__ccWindow });
    });
  }
  poll();
}
""".replace("POLL_MS", str(POLL_MS))

# The presenter's window: arrows, PageUp/PageDown (a clicker), space, Home/End. Each press gets an id and
# waits in a list until a rerun says it was applied (data.done); the whole list is sent with every press,
# so the server applies each press exactly once, in order, even when presses come faster than reruns.
# (An earlier version sent the scene to show, counted from the scene of the last rerun: a rerun that
# carried an older press reset the count, and the next press sent the same scene again, a no-op.)
KEYS_JS = """
export default function (component) {
  const { data, setStateValue } = component;
  const w = window;
  w.__ccKeySet = setStateValue;
  w.__ccPresses = (w.__ccPresses || []).filter((p) => p.id > data.done);
  if (w.__ccKeys) return;
  w.__ccKeys = (e) => {
    const t = e.target, tag = t && t.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || (t && t.isContentEditable)) return;
    const move = { ArrowRight: 1, ArrowDown: 1, PageDown: 1, ' ': 1, ArrowLeft: -1, ArrowUp: -1, PageUp: -1,
                   Home: 'first', End: 'last' }[e.key];
    if (move === undefined) return;
    e.preventDefault();
    w.__ccPressId = Math.max(Date.now(), (w.__ccPressId || 0) + 1);  // grows across reloads too
    w.__ccPresses = [...w.__ccPresses, { id: w.__ccPressId, move }].slice(-MAX_PRESSES);
    w.__ccKeySet('presses', w.__ccPresses);
  };
  w.addEventListener('keydown', w.__ccKeys);
}
""".replace("MAX_PRESSES", str(MAX_PRESSES))
