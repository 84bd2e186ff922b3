"""The in-browser show player shared by the present page and the exported reel: plain HTML, CSS and
JavaScript, no library, no network reference.

Scene changes happen in the browser: every scene's pictures are loaded ahead (the current scene first,
then its neighbours, then the rest), so Next / Previous only swaps pictures that are already decoded,
with no server round trip. A frame sequence (a morph, a semantic edit, a training time-lapse) becomes an
``<img id="cc-frame">`` plus an ``<input type="range" id="cc-scrub">``: dragging swaps pre-loaded frames,
so the face changes continuously while the hand moves.

Stable selectors (for tests and for people): ``#cc-prev``, ``#cc-next``, ``#cc-counter``, ``#cc-title``,
``#cc-scenes`` (scene picker), ``#cc-stage`` (``data-index``, ``data-kind``), and inside the stage
``#cc-frame`` + ``#cc-scrub`` (``aria-label`` "Morph scrub", "Edit scrub" or "Time-lapse scrub"),
``#cc-play``, ``#cc-label``, ``#cc-image``, ``#cc-video`` (with its sound; ``#cc-sound`` turns it on
where the browser only lets a video start muted), ``#cc-chart``, ``.cc-missing``.
``figure.cc-seq[data-loaded]`` counts the frames the browser has loaded.
Keys: → / PageDown / Space next, ← / PageUp previous, Home / End (arrows move the scrub while it has
the focus; it gives the focus back when released).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path

from core.show.licences import SYNTHETIC_KINDS
from core.show.view import SceneView

SCRUB_LABELS = {"morph": "Morph scrub", "edit": "Edit scrub", "timelapse": "Time-lapse scrub"}

SHOW_CSS = """
* { box-sizing: border-box; }
html, body { margin: 0; background: #0e1117; color: #f5f5f5;
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
#cc-bar { display: flex; align-items: center; gap: 12px; padding: 8px 16px; background: #161a23; }
#cc-bar button { font-size: 16px; padding: 6px 14px; border-radius: 8px; border: 1px solid #444;
  background: #262b36; color: #f5f5f5; cursor: pointer; }
#cc-bar button:disabled { opacity: 0.35; cursor: default; }
#cc-bar select { font-size: 15px; padding: 5px; border-radius: 6px; background: #262b36; color: #f5f5f5;
  max-width: 40vw; }
#cc-counter { color: #aaa; min-width: 4em; }
#cc-show { margin-left: auto; color: #aaa; font-size: 14px; }
#cc-title { text-align: center; font-size: 32px; margin: 12px 12px 4px; font-weight: 650;
  min-height: 1.2em; }
#cc-caption { text-align: center; color: #aaa; margin: 0 12px 10px; font-size: 15px; min-height: 1.2em; }
#cc-stage { display: flex; flex-direction: column; align-items: center; justify-content: center;
  padding: 0 16px 16px; }
#cc-stage img.cc-still, #cc-stage video { max-width: 100%; max-height: var(--cc-media-h);
  border-radius: 6px; }
#cc-stage img#cc-chart { max-height: calc(var(--cc-media-h) - 110px); }
.cc-seq { display: flex; flex-direction: column; align-items: center; gap: 10px; margin: 0; }
.cc-seq img { display: block; max-width: 100%; max-height: var(--cc-frame-h); height: var(--cc-frame-h);
  width: auto; object-fit: contain; border-radius: 6px; background: #111; }
.cc-controls { display: flex; align-items: center; gap: 12px; width: min(92vw, 900px); }
.cc-controls input[type=range] { flex: 1; height: 28px; accent-color: #ff4b4b; cursor: pointer; }
.cc-controls button { font-size: 18px; width: 44px; height: 36px; border-radius: 8px; border: 1px solid #555;
  background: #262b36; color: #f5f5f5; cursor: pointer; }
.cc-label { min-width: 13em; white-space: nowrap; font-variant-numeric: tabular-nums; font-size: 15px;
  color: #bbb; text-align: right; }
.cc-card { max-width: 900px; text-align: center; font-size: 26px; line-height: 1.45; color: #ccc;
  white-space: pre-wrap; margin-top: 10vh; }
.cc-card .cc-big { font-size: 56px; font-weight: 700; color: #f5f5f5; margin-bottom: 16px; }
.cc-headline { font-size: 36px; font-weight: 700; margin: 6px 0 4px; text-align: center; }
.cc-verdict { font-size: 21px; color: #ddd; margin: 4px 0 14px; text-align: center; max-width: 1000px; }
.cc-sound { font-size: 18px; margin-top: 10px; padding: 8px 18px; border-radius: 8px;
  border: 1px solid #ff4b4b; background: #262b36; color: #f5f5f5; cursor: pointer; }
#cc-badge { position: fixed; right: 14px; bottom: 12px; z-index: 5; font-size: 13px; padding: 3px 10px;
  border-radius: 999px; background: rgba(0, 0, 0, 0.55); color: #d8d8d8; pointer-events: none;
  letter-spacing: 0.02em; }
.cc-missing { font-size: 20px; color: #ffcf70; border: 1px solid #886a2a; padding: 18px 24px;
  border-radius: 8px; margin-top: 8vh; max-width: 800px; text-align: center; }
"""

SHOW_JS = r"""
(function () {
var SHOW = JSON.parse(document.getElementById('cc-data').textContent);
var OPT = SHOW.options || {};
var N = SHOW.scenes.length, current = 0, seq = null;
var stage = document.getElementById('cc-stage');
var picker = document.getElementById('cc-scenes');
var CACHE = {};
function image(src) {  // one decoded Image per URL, kept for the whole session
  if (!CACHE[src]) {  // decoded ahead too, so showing it is only a paint
    var im = new Image(); im.decoding = 'async'; im.src = src; CACHE[src] = im;
    if (im.decode) im.decode().catch(function () {});
  }
  return CACHE[src];
}
function preload(i) {
  var s = SHOW.scenes[i]; if (!s) return;
  (s.frames || []).forEach(image); [s.image, s.chart, s.poster].forEach(function (u) { if (u) image(u); });
}
function el(tag, cls, text) {
  var e = document.createElement(tag); if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text; return e;
}
function mountSequence(root, s) {
  var box = el('figure', 'cc-seq');
  var img = el('img'); img.id = 'cc-frame'; img.alt = s.scrubLabel + ' frame'; img.src = s.frames[0];
  var bar = el('div', 'cc-controls');
  var play = el('button', '', '\u25B6'); play.id = 'cc-play'; play.type = 'button';
  play.setAttribute('aria-label', 'Play');
  var scrub = el('input'); scrub.type = 'range'; scrub.id = 'cc-scrub';
  scrub.min = 0; scrub.max = s.frames.length - 1; scrub.step = 1; scrub.value = 0;
  scrub.setAttribute('aria-label', s.scrubLabel);
  var label = el('span', 'cc-label', s.labels[0] || ''); label.id = 'cc-label';
  bar.appendChild(play); bar.appendChild(scrub); bar.appendChild(label);
  box.appendChild(img); box.appendChild(bar); root.appendChild(box);
  var frames = s.frames.map(image);
  box.setAttribute('data-frames', frames.length);
  function count() {
    box.setAttribute('data-loaded', frames.filter(function (f) { return f.complete; }).length);
  }
  frames.forEach(function (f) { if (!f.complete) f.addEventListener('load', count); }); count();
  function show(i) {
    i = Math.max(0, Math.min(frames.length - 1, i | 0));
    img.src = frames[i].src; scrub.value = i; label.textContent = s.labels[i] || '';
    img.setAttribute('data-frame', i);
  }
  var timer = null;
  function stop() { if (timer) { clearInterval(timer); timer = null; play.textContent = '\u25B6'; } }
  scrub.addEventListener('input', function () { stop(); show(+scrub.value); });
  scrub.addEventListener('change', function () { scrub.blur(); });  // arrows go back to scenes
  play.addEventListener('click', function () {
    if (timer) { stop(); return; }
    play.textContent = '\u275A\u275A';
    if (+scrub.value >= frames.length - 1) show(0);
    timer = setInterval(function () { var i = +scrub.value + 1; show(i >= frames.length ? 0 : i); },
                        1000 / Math.max(1, s.fps || 24));
  });
  show(0);
  return {stop: stop};
}
function go(i) {
  if (seq) { seq.stop(); seq = null; }
  current = Math.max(0, Math.min(N - 1, i));
  var s = SHOW.scenes[current];
  preload(current);
  document.getElementById('cc-title').textContent = s.kind === 'title' ? '' : s.title;
  document.getElementById('cc-caption').textContent = s.caption || '';
  document.getElementById('cc-counter').textContent = (current + 1) + ' / ' + N;
  document.getElementById('cc-prev').disabled = current === 0;
  document.getElementById('cc-next').disabled = current === N - 1;
  picker.value = current;
  stage.innerHTML = ''; stage.setAttribute('data-kind', s.kind); stage.setAttribute('data-index', current);
  if (s.kind === 'title') {
    var t = el('div', 'cc-card'); t.appendChild(el('div', 'cc-big', s.title));
    t.appendChild(el('div', '', s.text || '')); stage.appendChild(t);
  } else if (s.missing) {
    stage.appendChild(el('div', 'cc-missing', s.missing));
  } else if (s.frames) {
    seq = mountSequence(stage, s);
  } else if (s.video) {
    var v = el('video'); v.id = 'cc-video'; v.src = s.video; if (s.poster) v.poster = s.poster;
    v.controls = true; v.loop = true; v.autoplay = true; v.playsInline = true; stage.appendChild(v);
    var p = v.play(); if (p && p.catch) p.catch(function () {
      // The browser refused to start sound without a click (its autoplay rule): play muted, and offer
      // one button that turns the sound on (a voice-driven face must be heard).
      v.muted = true; var q = v.play(); if (q && q.catch) q.catch(function () {});
      if (s.hasAudio) {
        var b = el('button', 'cc-sound', '\uD83D\uDD0A Sound on'); b.id = 'cc-sound'; b.type = 'button';
        b.addEventListener('click', function () { v.muted = false; v.play(); b.remove(); });
        stage.appendChild(b);
      }
    });
  } else if (s.chart) {
    stage.appendChild(el('div', 'cc-headline', s.headline));
    stage.appendChild(el('div', 'cc-verdict', s.verdict));
    var c = el('img', 'cc-still'); c.id = 'cc-chart'; c.alt = 'chart'; c.src = image(s.chart).src;
    stage.appendChild(c);
  } else if (s.image) {
    var im = el('img', 'cc-still'); im.id = 'cc-image'; im.alt = s.title; im.src = image(s.image).src;
    stage.appendChild(im);
  }
  var badge = document.getElementById('cc-badge');  // "AI-generated" on scenes a model made
  if (badge) badge.style.display = s.synthetic && !s.missing ? '' : 'none';
  if (OPT.onScene) { try { OPT.onScene(current); } catch (err) {} }
  setTimeout(function () {  // then the neighbours, then everything else, nearest first
    for (var d = 1; d < N; d++) { preload(current + d); preload(current - d); }
  }, 30);
}
SHOW.scenes.forEach(function (s, i) {
  var o = el('option', '', (i + 1) + '. ' + s.title + (s.missing ? '  (not prepared)' : ''));
  o.value = i; picker.appendChild(o);
});
document.getElementById('cc-prev').addEventListener('click', function () { go(current - 1); });
document.getElementById('cc-next').addEventListener('click', function () { go(current + 1); });
picker.addEventListener('change', function () { go(+picker.value); picker.blur(); });
function onKey(e) {
  var t = e.target || {}, tag = (t.tagName || '').toUpperCase();
  var typing = tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || t.isContentEditable;
  if (typing && t.id !== 'cc-scrub') return;  // typing elsewhere on the page
  var onScrub = t.id === 'cc-scrub';
  if ((e.key === 'ArrowRight' && !onScrub) || e.key === 'PageDown' ||
      (e.key === ' ' && !onScrub && tag !== 'BUTTON' && tag !== 'VIDEO')) {
    go(current + 1); e.preventDefault();
  }
  else if ((e.key === 'ArrowLeft' && !onScrub) || e.key === 'PageUp') { go(current - 1); e.preventDefault(); }
  else if (e.key === 'Home' && !onScrub) { go(0); } else if (e.key === 'End' && !onScrub) { go(N - 1); }
}
document.addEventListener('keydown', onKey);
if (OPT.parentKeys) {  // the present page: arrows work without clicking into the stage first
  try { window.parent.document.addEventListener('keydown', onKey); } catch (err) {}
}
if (OPT.fitParent) {  // the present page: the stage fills the window below it, pictures as big as fit
  var fit = function () {
    try {
      var fe = window.frameElement, top = fe.getBoundingClientRect().top + window.parent.scrollY;
      var h = Math.max(420, Math.floor(window.parent.innerHeight - top - 8));
      fe.style.height = h + 'px';
      document.documentElement.style.setProperty('--cc-frame-h', Math.max(200, h - 200) + 'px');
      document.documentElement.style.setProperty('--cc-media-h', Math.max(200, h - 150) + 'px');
    } catch (err) {}
  };
  fit(); setTimeout(fit, 300);
  try { window.parent.addEventListener('resize', fit); } catch (err) {}
}
window.ccShow = {go: go, current: function () { return current; }};
go(OPT.start ? OPT.start() : 0);
})();
"""


def scene_data(view: SceneView, url: Callable[[Path], str]) -> dict:
    """What the player needs for one scene; ``url(path)`` makes each media file a browser URL."""
    d: dict = {"kind": view.kind, "title": view.title, "caption": view.caption, "id": view.scene.id,
               "synthetic": view.kind in SYNTHETIC_KINDS}
    if view.kind == "title":
        d["text"] = view.text
        return d
    if not view.ready:
        d["missing"] = view.message
        return d
    if view.frames:
        d.update(frames=[url(p) for p in view.frames], labels=view.labels, fps=view.fps,
                 scrubLabel=SCRUB_LABELS.get(view.kind, "Scrub"))
    if view.image:
        d["image"] = url(view.image)
    if view.video:
        d["video"] = url(view.video)
        d["poster"] = url(view.poster) if view.poster else ""
        d["hasAudio"] = bool(view.has_audio)
    if view.chart:
        d.update(chart=url(view.chart), headline=view.headline, verdict=view.verdict)
    return d


def show_document(title: str, scenes: list[dict], frame_height: str = "62vh", media_height: str = "66vh",
                  options_js: str = "{}", badge: str = "") -> str:
    """The player as one HTML document. ``options_js``: a JavaScript object literal (``start``: a function
    returning the first scene index, ``parentKeys``, ``fitParent`` (size the frame to the window),
    ``onScene(i)``). ``badge``: a small label (e.g. "AI-generated") in a corner of scenes a model made."""
    data = json.dumps({"title": title, "scenes": scenes}, ensure_ascii=True, separators=(",", ":"))
    name = escape(title)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Custom Cast show player">
<title>{name}</title>
<style>:root {{ --cc-frame-h: {frame_height}; --cc-media-h: {media_height}; }}
{SHOW_CSS}</style></head>
<body>
<div id="cc-bar">
  <button id="cc-prev" type="button" aria-label="Previous scene">&#9664; Previous</button>
  <button id="cc-next" type="button" aria-label="Next scene">Next &#9654;</button>
  <span id="cc-counter"></span>
  <select id="cc-scenes" aria-label="Scenes"></select>
  <span id="cc-show">{name}</span>
</div>
<h1 id="cc-title"></h1>
<div id="cc-caption"></div>
<main id="cc-stage"></main>
{f'<div id="cc-badge" role="note">{escape(badge)}</div>' if badge else ''}
<script type="application/json" id="cc-data">{_script_json(data)}</script>
<script>var CC_OPTIONS = {options_js};</script>
<script>{SHOW_JS.replace("var OPT = SHOW.options || {};", "var OPT = CC_OPTIONS || {};")}</script>
</body></html>
"""


def _script_json(text: str) -> str:
    """JSON safe inside a <script> element: '<', '>' and '&' only occur inside JSON strings, where the
    \\u escapes mean the same, so no '</script>' or '<!--' in a title can end the element early."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def escape(text: str) -> str:
    return html.escape(str(text), quote=True)
