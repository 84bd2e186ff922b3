"""Helpers shared by the pages' AppTest tests."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest


def scan_folder(at: AppTest, folder: Path, timeout: float = 50) -> None:
    """Run the dataset explorer page ``at``, scan ``folder`` as a folder path and wait for the summary."""
    at.run()
    at.sidebar.radio(key="explorer_source").set_value("Folder path").run()
    at.sidebar.text_input(key="explorer_folder").set_value(str(folder)).run()
    at.button(key="explorer_scan").click().run()
    deadline = time.time() + timeout
    while not at.metric and time.time() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.exception and at.metric
