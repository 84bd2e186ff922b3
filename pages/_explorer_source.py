"""The dataset explorer's sidebar: where the photos come from and how the pipeline vets them.

``sidebar_panel`` only draws widgets and returns their values; ``resolve_source`` turns them into a folder
to scan (unpacking a zip or saving uploads through :mod:`core.faces.ingest`) or one message saying why not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from core import faces as F
from core.cli import describe_os_error

SOURCES = ("Bundled demo photos", "Folder path", "Zip upload", "Upload files")
DETECTOR_LABELS = {"modern": "Modern (BlazeFace + mesh)",
                   "modern-fast": "Modern, fast (BlazeFace keypoints only)",
                   "haar": "Haar cascade (the study's)"}


@dataclass(frozen=True)
class SourceChoice:
    """What the sidebar says to scan: the source and whichever of its inputs that source uses."""

    source: str
    folder: str | None = None
    zip_file: Any = None  # Streamlit UploadedFile
    uploads: tuple = ()
    meta_file: Any = None


def os_error_message(what: str, e: OSError) -> str:
    return f"{what}: {describe_os_error(e)}. Free some disk space or pick another folder, then try again."


def _source_inputs() -> SourceChoice:
    source = st.radio("Photos", SOURCES, key="explorer_source")
    folder = zip_file = None
    uploads: tuple = ()
    if source == "Folder path":
        folder = st.text_input("Folder on this machine", key="explorer_folder")
    elif source == "Zip upload":
        zip_file = st.file_uploader("Zip of photos", type=["zip"], key="explorer_zip")
    elif source == "Upload files":
        uploads = tuple(st.file_uploader("Photos", accept_multiple_files=True, key="explorer_files",
                                         type=[e.lstrip(".") for e in F.IMAGE_EXTENSIONS]) or ())
    meta_file = st.file_uploader("Metadata CSV (filename, name, occupation)", type=["csv"],
                                 key="explorer_meta")
    return SourceChoice(source, folder, zip_file, uploads, meta_file)


def _pipeline_inputs() -> F.ScanConfig:
    det_name = st.selectbox("Detector", F.DETECTORS, key="explorer_detector", format_func=DETECTOR_LABELS.get)
    size = st.select_slider("Crop size", options=list(F.ALIGN_SIZES), value=64, key="explorer_size")
    keep = st.radio("Faces per image", ("largest", "all"), horizontal=True, key="explorer_keep")
    min_face = st.slider("Minimum face size (px)", 8, 256, 32, key="explorer_min_face")
    blur = st.slider("Reject faces less sharp than", 0.0, 200.0, 20.0, key="explorer_blur",
                     help="Sharpness is the variance of the Laplacian of the aligned crop; below this the "
                          "face is rejected as blurry.")
    dup = st.slider("Treat photos as duplicates up to this many differences", 0, 20, 6, key="explorer_dup",
                    help="Differences are bits of a 64-bit perceptual hash (pHash) of the face.")
    return F.ScanConfig(detector=det_name, size=size, keep=keep, min_face=min_face, blur_threshold=blur,
                        dup_threshold=dup)


def sidebar_panel() -> tuple[SourceChoice, F.ScanConfig]:
    """The sidebar's Source and Pipeline sections; returns (the source, the scan configuration)."""
    with st.sidebar:
        st.subheader("Source")
        choice = _source_inputs()
        st.subheader("Pipeline")
        cfg = _pipeline_inputs()
    return choice, cfg


def resolve_source(choice: SourceChoice, demo_dir: Path,
                   upload_dir: Callable[[], Path]) -> tuple[Path | None, str | None]:
    """(folder to scan, error message); uploads are stored under ``upload_dir()`` (made only when
    needed), one folder per distinct upload."""
    if choice.source == SOURCES[0]:
        return (demo_dir, None) if demo_dir.exists() else (None, "The bundled demo photos are missing.")
    if choice.source == "Folder path":
        if not choice.folder:
            return None, "Enter a folder path."
        p = Path(choice.folder).expanduser()
        return (p, None) if p.is_dir() else (None, f"Not a folder: {F.display_name(str(p))}")
    if choice.source == "Zip upload":
        if choice.zip_file is None:
            return None, "Upload a zip archive."
        data = choice.zip_file.getvalue()
        try:  # the core's default size, entry and ratio caps apply
            return F.extract_zip(data, F.batch_folder(upload_dir(), [("zip", data)]) / "zip"), None
        except F.IngestRefused as e:
            return None, str(e)
        except OSError as e:
            return None, os_error_message("The zip could not be unpacked", e)
    if not choice.uploads:
        return None, "Upload one or more photos."
    files = [(u.name, u.getvalue()) for u in choice.uploads]
    try:
        return F.save_uploads(files, F.batch_folder(upload_dir(), files) / "files"), None
    except OSError as e:
        return None, os_error_message("The uploads could not be saved", e)


def load_metadata(meta_file: Any, root: Path | None) -> dict:
    """The uploaded metadata CSV, else the folder's metadata.csv, else nothing (warns if unreadable)."""
    try:
        if meta_file is not None:
            return F.read_metadata(meta_file.getvalue())
        if root is not None and (root / "metadata.csv").exists():
            return F.read_metadata(root / "metadata.csv")
    except (ValueError, OSError) as e:
        st.warning(f"Metadata CSV ignored: {e}")
    return {}
