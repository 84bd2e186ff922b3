"""Dataset explorer page: initial view, scan of a small folder, analysis tabs and export."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import ASSETS_DIR

PAGE = "pages/1_dataset_explorer.py"


def test_initial_view_renders():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("Scan" in i.value for i in at.info)
    assert at.sidebar.radio(key="explorer_source").value == "Bundled demo photos"


def test_scan_folder_and_export(tmp_path: Path, monkeypatch):
    src = tmp_path / "photos"
    src.mkdir()
    demo = ASSETS_DIR / "demo_photos"
    for name in ("profile_003.jpg", "profile_004.jpg", "profile_005.jpg", "profile_110.jpg", "metadata.csv"):
        shutil.copy(demo / name, src / name)
    (src / "broken.jpg").write_bytes(b"not an image")
    monkeypatch.setattr("core.EXPORTS_DIR", tmp_path / "exports")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.sidebar.radio(key="explorer_source").set_value("Folder path").run()
    at.sidebar.text_input(key="explorer_folder").set_value(str(src)).run()
    at.button(key="explorer_scan").click().run()
    assert not at.exception
    deadline = time.time() + 50  # the scan runs in a background thread; rerun until it has finished
    while not at.metric and time.time() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "5"
    assert metrics["Faces kept"] == "3"
    assert metrics["Rejected"] == "2"
    at.selectbox(key="explorer_filter").set_value("rejected").run()
    assert not at.exception
    assert any("2 image(s)" in m.value for m in at.markdown)
    at.radio(key="explorer_map").set_value("t-SNE").run()
    assert not at.exception
    at.button(key="explorer_export").click().run()
    assert not at.exception
    assert at.success and "Exported to" in at.success[0].value
    assert len(list((tmp_path / "exports").rglob("*.png"))) == 3
    at.button(key="explorer_handoff").click().run()
    assert at.session_state["handoff_training_dir"].endswith("images")
