"""The reel: one self-contained HTML file that plays a show in any browser, offline.

Every picture, frame, chart and video is embedded as a ``data:`` URI and the player is plain JavaScript
(:mod:`core.show.player`), so the file makes no network request and carries no ``http://`` or
``https://`` reference. It is the present page's player (:mod:`core.show.player`: same keys, same
selectors, the morph scrub works the same), fed with embedded files instead of server URLs.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

from core import provenance as pv
from core.checkpoint import atomic_write_bytes
from core.show import store
from core.show.licences import show_licences, uses_real_photo
from core.show.player import scene_data, show_document
from core.show.view import not_ready_view, scene_views

MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
        ".gif": "image/gif", ".mp4": "video/mp4"}
# The reel opens at the scene named in its address (reel.html#3) and keeps the address in step.
REEL_OPTIONS = """{
  start: function () { var n = parseInt((location.hash || '#1').slice(1), 10); return isNaN(n) ? 0 : n - 1; },
  onScene: function (i) { history.replaceState(null, '', '#' + (i + 1)); }
}"""


def data_uri(path: Path) -> str:
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def reel_html(show_dir: str | os.PathLike, progress: Callable[[int, int], None] | None = None,
              badge: str | None = None) -> str:
    """The reel of a show as one HTML document (every file embedded); ``badge``: the stage's label (None:
    the environment's label setting, "AI-generated" by default)."""
    if badge is None:
        badge = pv.label_text(pv.settings_from_env()) or ""
    show = store.load_show(show_dir)
    views = scene_views(show_dir, show)
    scenes = []
    for i, view in enumerate(views):
        try:
            scenes.append(scene_data(view, data_uri))
        except (OSError, ValueError) as e:  # a media file unreadable now: this scene says so, the rest play
            scenes.append(scene_data(not_ready_view(view, e), data_uri))
        if progress:
            progress(i + 1, len(views))
    return show_document(show.title, scenes, options_js=REEL_OPTIONS, badge=badge)


def export_html(show_dir: str | os.PathLike, out: str | os.PathLike,
                progress: Callable[[int, int], None] | None = None,
                settings: pv.ProvenanceSettings | None = None) -> Path:
    """Write the reel atomically, with the "AI-generated" badge on model-made scenes (unless the label is
    switched off), then its content credentials: C2PA cannot embed a manifest in HTML, so it goes beside
    the reel as ``<name>.html.c2pa``, binding the reel's bytes (every embedded picture and video). Returns
    the reel's path (:func:`export_html_signed` also returns how it was signed)."""
    return export_html_signed(show_dir, out, progress, settings)[0]


def export_html_signed(show_dir: str | os.PathLike, out: str | os.PathLike,
                       progress: Callable[[int, int], None] | None = None,
                       settings: pv.ProvenanceSettings | None = None) -> tuple[Path, pv.SignResult]:
    settings = settings if settings is not None else pv.settings_from_env()
    out = store.check_export_path(show_dir, out, "--html")
    show = store.load_show(show_dir)
    document = reel_html(show_dir, progress, badge=pv.label_text(settings) or "")
    atomic_write_bytes(out, document.encode("utf-8"))
    origin = pv.Origin("show reel (HTML)", tuple(lic.key for lic in show_licences(show)),
                       {"show": show.title, "scenes": len(show.scenes)}, real_photo=uses_real_photo(show),
                       title=out.name)
    try:
        return out, pv.seal_file(out, origin, settings, watermarked=False)
    except pv.ProvenanceError:
        out.unlink(missing_ok=True)  # unsigned only when the user allowed it
        raise
