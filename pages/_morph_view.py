"""The sampler's morph view: the face on screen and ONE A -> B slider under it.

A bidirectional ``st.components.v2`` component (no iframe): while the slider is dragged the browser swaps
pre-rendered frames (no server round trip); on release it sends the exact value back to Python as the
``release`` trigger, which reruns only the fragment that mounted the view. The frames arrive separately,
from :func:`deliver_frames` in a polling fragment, once a background job has rendered them; until then
the slider still works, server-side, on release. The browser asks for the frames only while they are
missing (no timer-driven reruns).

Stable element ids for browser tests and benchmarks: ``img#sg-face`` (the face; its ``src`` is a data
URL and ``data-seed`` / ``data-t`` say what it shows), ``input#sg-morph`` (``type=range``, 0..1, step
0.01; ``data-scrub`` is ``ready`` once the drag frames of the current pair are in the browser, else
``pending``) and ``#sg-morph-label``.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

FACE_ID, RANGE_ID, LABEL_ID = "sg-face", "sg-morph", "sg-morph-label"
# A pair must stay on screen this long before its drag frames are asked for: someone flipping through
# seeds starts no background work (33 frames cost ~0.2 s of CPU per pair, which five sessions flipping
# seeds turned into most of a core), someone who looks at a face first finds the frames ready.
SCRUB_SETTLE_MS = 1500

_HTML = f"""
<figure class="sg-morph">
  <img id="{FACE_ID}" alt="Generated face"/>
  <div class="sg-morph-row">
    <span>A</span>
    <input id="{RANGE_ID}" type="range" min="0" max="1" step="0.01" value="0" data-scrub="pending"
           aria-label="Morph from face A to face B"/>
    <span>B</span>
  </div>
  <figcaption id="{LABEL_ID}"></figcaption>
</figure>
"""

_CSS = f"""
.sg-morph {{ margin: 0; width: 100%; max-width: max(320px, calc(100vh - 340px)); }}  /* face + slider fit */
.sg-morph #{FACE_ID} {{ display: block; width: 100%; aspect-ratio: 1 / 1; border-radius: 0.75rem;
  background: var(--st-secondary-background-color); object-fit: contain; }}
.sg-morph-row {{ display: flex; align-items: center; gap: 0.75rem; margin-top: 0.5rem;
  font-weight: 600; color: var(--st-text-color); }}
.sg-morph-row input {{ flex: 1; accent-color: var(--st-primary-color); height: 1.5rem; cursor: grab; }}
.sg-morph figcaption {{ font-size: 0.875rem; color: var(--st-text-color); opacity: 0.7;
  text-align: center; }}
/* While the exact face renders, the page stays as it is: Streamlit fades a rerun's stale elements with an
   opacity transition, which the browser repaints frame by frame on the cores the render needs (all
   transitions off saved up to ~0.5 CPU-s per 1024 px release: bench/bench_release_exact.py
   --no-transitions; this rule alone, ~0.1), and the face dimmed to a third while the room waited. */
[data-testid="stElementContainer"][data-stale="true"] {{ opacity: 1 !important;
  transition: none !important; }}
"""

# Called again with the new data on every rerun of the fragment that mounts it (same DOM, same
# listeners): `root.sg` always holds the latest data.
_VIEW_JS = f"""
export default function (component) {{
  const {{ data, parentElement: root, setTriggerValue }} = component;
  const face = root.querySelector("#{FACE_ID}");
  const range = root.querySelector("#{RANGE_ID}");
  const label = root.querySelector("#{LABEL_ID}");
  const store = (window.sgScrub = window.sgScrub || {{}});
  root.sg = data;
  root.sgRelease = setTriggerValue;
  const frames = () => store[root.sg.pair];
  const mark = () => {{ range.dataset.scrub = frames() ? "ready" : "pending"; }};
  if (!root.sgBound) {{
    root.sgBound = true;
    range.addEventListener("input", () => {{
      root.sgDragging = true;
      const f = frames(), t = Number(range.value);
      if (f) face.src = f[Math.round(t * (f.length - 1))];
      label.textContent = `Face A → face B: ${{Math.round(t * 100)}}%`
        + (f ? "" : " · drawn when you let go");
    }});
    range.addEventListener("change", () => {{
      root.sgDragging = false;
      root.sgPending = {{ t: Number(range.value), pair: root.sg.pair }};
      root.sgRelease("release", Number(range.value));
    }});
    root.sgOnFrames = () => mark();
    window.addEventListener("sg-scrub-ready", root.sgOnFrames);
  }}
  // An answer to an earlier release must not pull the thumb back while a later one is on its way.
  const p = root.sgPending;
  const stale = p && p.pair === data.pair && Math.abs(p.t - data.t) > 0.004;
  if (!stale) root.sgPending = null;
  if (!root.sgDragging && !stale) {{
    face.src = data.src;
    face.dataset.seed = String(data.a);
    face.dataset.t = String(data.t);
    range.value = String(data.t);
    label.textContent = data.caption;
  }}
  mark();
  // Tell the frame loader which pair is on screen; it asks Python for its frames (only while missing).
  window.sgScrubWanted = data.scrub ? data.pair : null;
  if (data.scrub && !frames()) window.dispatchEvent(new Event("sg-scrub-want"));
  return () => window.removeEventListener("sg-scrub-ready", root.sgOnFrames);
}}
"""

# Keeps the frames in the page (window.sgScrub, a few pairs) so the view finds them by pair key, even
# after this element is redrawn without them. Python is asked for frames by a `poll` trigger (a rerun of
# the loader's fragment only) while the pair on screen has none: SCRUB_SETTLE_MS after the view
# announces a new pair (so a burst of seed changes starts no work) and again `poll_ms` later while they
# are being rendered. Nothing runs while the frames are there: Streamlit's own cost of a fragment rerun
# is tens of milliseconds of CPU, too much to spend twice a second per open session.
_FRAMES_JS = """
export default function ({ data, parentElement: root, setTriggerValue }) {
  const settle = SETTLE_MS;
  const store = (window.sgScrub = window.sgScrub || {});
  root.sgAsk = setTriggerValue;
  const ask = (ms) => {
    clearTimeout(root.sgTimer);
    root.sgTimer = setTimeout(() => {
      const want = window.sgScrubWanted;
      if (want && !store[want]) root.sgAsk("poll", want);
    }, ms);
  };
  if (!root.sgBound) {
    root.sgBound = true;
    root.sgOnWant = () => ask(settle);
    window.addEventListener("sg-scrub-want", root.sgOnWant);
  }
  if (data && data.frames) {
    store[data.pair] = data.frames;
    const keys = Object.keys(store);
    for (const k of keys.slice(0, Math.max(0, keys.length - 6))) delete store[k];
    window.dispatchEvent(new Event("sg-scrub-ready"));
  }
  if (data && data.poll_ms) ask(data.poll_ms);
  else if (window.sgScrubWanted && !store[window.sgScrubWanted]) ask(settle);
  return () => { clearTimeout(root.sgTimer); window.removeEventListener("sg-scrub-want", root.sgOnWant); };
}
""".replace("SETTLE_MS", str(SCRUB_SETTLE_MS))


def morph_view(*, key: str, src: str, t: float, pair: str, caption: str, seed_a: int, scrub: bool,
               on_release: Callable[[], None]) -> None:
    """Mount the face + slider. ``src``: data URL of the exact image at ``t``; ``pair``: the key of the
    frames that belong to it (asked for when ``scrub``); ``on_release`` runs (before the fragment reruns)
    when the slider is let go, with the value in ``st.session_state[key]["release"]``
    (see :func:`released_value`)."""
    view = st.components.v2.component("sg_morph_view", html=_HTML, css=_CSS, js=_VIEW_JS,
                                      isolate_styles=False)
    view(key=key, data={"src": src, "t": round(float(t), 4), "pair": pair, "caption": caption,
                        "a": int(seed_a), "scrub": bool(scrub)},
         on_release_change=on_release)


def released_value(key: str) -> float | None:
    """The slider value of the release that triggered this run (in the ``on_release`` callback)."""
    state = st.session_state.get(key)
    value = state.get("release") if hasattr(state, "get") else None
    return None if value is None else min(1.0, max(0.0, float(value)))


def deliver_frames(*, key: str, pair: str | None, frames: list[str] | None = None, poll_ms: int = 0,
                   nonce: int = 0) -> None:
    """The frame loader: hands the browser the drag frames (data URLs, t = 0 .. 1 evenly) of ``pair``,
    or, with ``poll_ms``, asks it to poll again that much later (``nonce`` makes each answer new, so the
    browser hears it). Its ``poll`` trigger reruns the fragment that mounts it."""
    loader = st.components.v2.component("sg_scrub_frames", js=_FRAMES_JS, isolate_styles=False)
    data: dict = {"pair": pair, "n": int(nonce)}
    if frames:
        data["frames"] = frames
    if poll_ms:
        data["poll_ms"] = int(poll_ms)
    loader(key=key, data=data, height=0, on_poll_change=lambda: None)
