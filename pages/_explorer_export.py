"""The dataset explorer's Export view: the vetted faces as a training set, and the hand-off to the trainer."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import faces as F
from pages._common import HANDOFF_TRAINING_DIR
from pages._explorer_source import os_error_message


@st.fragment
def export_view(result: F.ScanResult, summary: dict, meta: dict, exports_dir: Path) -> None:
    """Export to a new folder under ``exports_dir``; then offer faces.npz and training on it."""
    st.write(f"{summary['faces_kept']} aligned {result.config.size}px faces ready.")
    if summary["faces_kept"] and st.button("Export training set", key="explorer_export"):
        try:
            dest = F.next_export_dir(exports_dir)
            st.session_state.explorer_export_dir = str(F.export_training_set(result, dest, meta))
        except OSError as e:
            st.session_state.pop("explorer_export_dir", None)
            st.error(os_error_message("The export failed", e))
    exported = st.session_state.get("explorer_export_dir")
    if exported:
        st.success(f"Exported: {summary['faces_kept']} faces, ready to train on.")
        with st.expander("Details: where the training set is"):  # a path: the engineer's, not the room's
            st.caption(f"{exported} (PNGs + manifest.csv; faces.npz beside it).")
        npz = Path(exported).parent / "faces.npz"
        try:
            st.download_button("Download faces.npz", npz.read_bytes(), "faces.npz", key="explorer_dl")
        except OSError:
            st.caption("faces.npz is no longer there.")
        if st.button("Train a DCGAN on these faces", key="explorer_handoff"):
            st.session_state[HANDOFF_TRAINING_DIR] = exported
            st.switch_page("pages/2_dcgan_trainer.py")
