"""What the dataset explorer's views draw, cached per scan so switching views and pages stays fast.

Everything is keyed on the scan's job id; arguments starting with "_" are not hashed. The work itself is
:mod:`core.faces.preview`'s, :mod:`core.faces.stats`' and :mod:`core.faces.figures`'.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core import faces as F
from core.faces import figures, preview, stats
from core.image.convert import make_grid
from pages._explorer_scan import detector

THUMB = 96  # per-photo thumbnails (with their reasons)
GRID_MAX = 60
MOSAIC_COLS, MOSAIC_MAX = 12, 96  # the vetted faces: one picture, light for the browser


@st.cache_resource(max_entries=4)
def kept_stack(scan_id: str, _result: F.ScanResult) -> np.ndarray:
    """All kept crops as one array (shared read-only: it can be hundreds of MB)."""
    return preview.kept_array(_result)


@st.cache_data(max_entries=32, show_spinner=False)
def thumbnails(scan_id: str, show: str, _records: list[F.ImageRecord], _root: Path) -> list[bytes]:
    """JPEG thumbnails of the first GRID_MAX records: the kept face, else the photo itself."""
    return [preview.jpeg_bytes(preview.thumbnail(rec, _root, THUMB)) for rec in _records[:GRID_MAX]]


@st.cache_data(max_entries=8, show_spinner=False)
def mosaic(scan_id: str, _crops: np.ndarray) -> bytes:
    return preview.jpeg_bytes(preview.face_mosaic(_crops, THUMB, MOSAIC_COLS, MOSAIC_MAX))


@st.cache_data(max_entries=16, show_spinner="Drawing the detections...")
def annotated(scan_id: str, index: int, _rec: F.ImageRecord, _root: Path, mesh: bool
              ) -> tuple[np.ndarray | None, str]:
    """(the photo with boxes, points and mesh drawn, or None; why it cannot be shown)."""
    return preview.annotated_photo(_root, _rec, detector("modern") if mesh else None)


@st.cache_data(max_entries=8, show_spinner=False)
def pixel_stats(scan_id: str, _crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (stats.channel_histograms(_crops), *stats.brightness_contrast(_crops))


@st.cache_data(max_entries=16, show_spinner="Computing eigenfaces...")
def eigen_view(scan_id: str, k: int, _crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    comps, ratio = stats.eigenfaces(_crops, k)
    return stats.mean_face(_crops), make_grid(list(comps), cols=8), ratio


@st.cache_data(max_entries=8, show_spinner="Drawing the word cloud...")
def word_cloud(scan_id: str, _words: dict) -> tuple[bytes | None, str]:
    """(PNG of the occupation words, or None; why not): the cloud is decoration, never an error."""
    try:
        return figures.occupation_cloud_png(_words), ""
    except Exception as e:  # noqa: BLE001 - no words, no font, ...: never fail the page for it
        return None, str(e)


@st.cache_data(max_entries=8, show_spinner="Mapping the faces...")
def face_map(scan_id: str, method: str, _crops: np.ndarray, _labels: list[str]):
    return figures.face_map_figure(_crops, _labels, method)
