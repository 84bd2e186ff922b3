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

from core.checkpoint import atomic_write_bytes
from core.show import store
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


def reel_html(show_dir: str | os.PathLike, progress: Callable[[int, int], None] | None = None) -> str:
    """The reel of a show as one HTML document (every file embedded)."""
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
    return show_document(show.title, scenes, options_js=REEL_OPTIONS)


def export_html(show_dir: str | os.PathLike, out: str | os.PathLike,
                progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the reel atomically; returns its path. Refuses to write over the show's own files."""
    out = store.check_export_path(show_dir, out, "--html")
    atomic_write_bytes(out, reel_html(show_dir, progress).encode("utf-8"))
    return out
