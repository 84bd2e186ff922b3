"""Dataset explorer: scan photos for faces, inspect quality, analyse, and export a training set.

A ``main()`` over panels (``pages/_explorer_*.py``): the sidebar's source and pipeline, the scan (a thread
job of :mod:`core.jobs` in this session's run folder, so it survives reruns and reports progress, ETA and
cancel), its summary, and the one view that is selected. Each view is a fragment (its own widgets rerun
only it) and its heavy parts are cached per scan, so switching to this page stays fast however many faces
it holds. The work is :mod:`core.faces`'; figures are :mod:`core.faces.figures`'.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import streamlit as st

from core import ASSETS_DIR, EXPORTS_DIR, RUNS_DIR
from core import faces as F
from pages._common import page_header
from pages._explorer_export import export_view
from pages._explorer_scan import result_panel, scan_button, summary_panel
from pages._explorer_source import sidebar_panel
from pages._explorer_views import (
    eigen_panel,
    faces_view,
    image_view,
    map_view,
    occupations_view,
    pixels_view,
)

DEMO_DIR = ASSETS_DIR / "demo_photos"
SCAN_RUNS = RUNS_DIR / "explorer"  # one run folder per browser session, reused by its scans
VIEWS = ("Faces", "Image", "Pixel intensities", "Eigenfaces", "Occupations", "Map", "Export")


def session_dir(key: str, make) -> Path:
    """A folder made once per browser session (its path kept in the session state)."""
    if key not in st.session_state:
        st.session_state[key] = str(make())
    return Path(st.session_state[key])


def upload_dir() -> Path:
    return session_dir("explorer_upload_dir", lambda: F.new_upload_folder(RUNS_DIR))


def keep_view_choice() -> None:
    """The view picker is not drawn while a scan runs (the page stops at the progress bar), and Streamlit
    drops the state of a widget that a run did not draw: after a rescan the picker showed "Faces" over
    another view and ignored a click on it. Re-assigning the value keeps it through those runs."""
    if "explorer_view" in st.session_state:
        st.session_state.explorer_view = st.session_state.explorer_view


def view_panel(result: F.ScanResult, scan_id: str, summary: dict, root: Path, meta: dict) -> None:
    """The view picker and the selected view (st.tabs would run every tab's content on each page run);
    ``scan_id`` keys the views' caches."""
    view = st.segmented_control("View", VIEWS, default=VIEWS[0], required=True, key="explorer_view",
                                label_visibility="collapsed") or VIEWS[0]
    if view == "Faces":
        faces_view(result, scan_id, root)
    elif view == "Image":
        image_view(result, scan_id, root, meta)
    elif view == "Pixel intensities":
        pixels_view(result, scan_id)
    elif view == "Eigenfaces":
        eigen_panel(result, scan_id)
    elif view == "Occupations":
        occupations_view(result, scan_id, meta)
    elif view == "Map":
        map_view(result, scan_id)
    else:
        export_view(result, summary, meta, EXPORTS_DIR)


def main() -> None:
    page_header("Dataset explorer", "Find, align and vet the faces in a folder of profile photos, then "
                "export them as a GAN training set.")
    choice, cfg = sidebar_panel()
    keep_view_choice()
    run_dir = session_dir("explorer_run_dir", lambda: SCAN_RUNS / f"session-{uuid.uuid4().hex[:12]}")
    status = scan_button(run_dir, choice, cfg, DEMO_DIR, upload_dir)
    result = result_panel(run_dir, status, DEMO_DIR)
    scan_id: str = st.session_state.get("explorer_scan_id", "")
    root = Path(st.session_state.explorer_root)
    meta = st.session_state.get("explorer_meta_map", {})
    summary = summary_panel(result, root, DEMO_DIR)
    view_panel(result, scan_id, summary, root, meta)


main()
