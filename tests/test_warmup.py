"""core.warmup: the background import the router starts after the first page."""

from __future__ import annotations

import sys

import core.warmup as warmup


def test_warm_imports_runs_once_and_survives_a_missing_module(monkeypatch):
    monkeypatch.setattr(warmup, "_thread", None)
    sys.modules.pop("colorsys", None)
    thread = warmup.warm_imports(("no_such_module_xyz", "colorsys"))
    assert thread is not None
    thread.join(10)
    assert "colorsys" in sys.modules  # imported after the failing one
    assert warmup.warm_imports(("colorsys",)) is None  # once per process


def test_router_starts_the_warm_up_once_the_page_has_run(monkeypatch):
    from streamlit.testing.v1 import AppTest

    started = []
    monkeypatch.setattr(warmup, "warm_imports", lambda *a: started.append(a))
    at = AppTest.from_file("streamlit_app.py", default_timeout=120).run()
    assert not at.exception and at.title  # the home page rendered first
    assert started == [()]  # then the router asked for the default warm-up, once per run
