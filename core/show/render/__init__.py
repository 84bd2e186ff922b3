"""Renderers, one per scene kind: ``estimate(scene) -> units`` (for progress) and
``render(scene, ctx) -> manifest`` (media paths plus what the player needs).

Modules are imported on first use, so reading, presenting and exporting a show never import a model
family (nor torch).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from core.show.errors import ShowError

RENDERER_MODULES = {
    "face": "core.show.render.face",
    "morph": "core.show.render.morph",
    "edit": "core.show.render.edit",
    "mixing": "core.show.render.mixing",
    "animation": "core.show.render.animation",
    "dataset": "core.show.render.dataset",
    "timelapse": "core.show.render.timelapse",
    "evidence": "core.show.render.evidence",
}


def renderer(kind: str) -> ModuleType:
    if kind not in RENDERER_MODULES:
        raise ShowError(f"scene kind {kind!r} has no media to render")
    return importlib.import_module(RENDERER_MODULES[kind])


__all__ = ["RENDERER_MODULES", "renderer"]
