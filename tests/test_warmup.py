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


def test_router_warms_after_routing():
    source = (warmup.__file__.rsplit("/core/", 1)[0] + "/streamlit_app.py")
    lines = [line.strip() for line in open(source).read().splitlines()]
    assert lines.index("st.navigation(PAGES).run()") < next(
        i for i, line in enumerate(lines) if line.startswith("warm_imports()"))
