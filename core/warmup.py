"""Import the heavy libraries in the background once the first page is on screen.

A fresh server imports torch (2-3 s on the 2-core box) the first time a page needs it, so the first visit
to the sampler, trainer or animator used to wait for it. The router calls :func:`warm_imports` after the
opening page has rendered; a page that needs a module while it is still being imported waits on
Python's per-module import lock (no double import), and one that comes later finds it loaded.
"""

from __future__ import annotations

import importlib
import threading

# In the order the pages need them: torch first (the largest), then the model families built on it.
HEAVY_MODULES = ("torch", "cv2", "core.stylegan2", "core.dcgan")

_lock = threading.Lock()
_thread: threading.Thread | None = None


def warm_imports(modules: tuple[str, ...] = HEAVY_MODULES) -> threading.Thread | None:
    """Start importing ``modules`` in a daemon thread, once per process; returns the thread it started."""
    global _thread
    with _lock:
        if _thread is not None:
            return None
        _thread = threading.Thread(target=_import_all, args=(modules,), daemon=True, name="warm-imports")
        _thread.start()
        return _thread


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the page that needs the module reports its failure itself
            pass
