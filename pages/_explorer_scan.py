"""The dataset explorer's scan: the Scan button, the job's progress, taking its result, and the summary.

The scan is a thread job of :mod:`core.jobs` in this session's run folder, so it survives reruns and
reports progress, ETA and cancel through its manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from core import faces as F
from core import jobs
from core.show import DatasetScene
from pages._explorer_source import SourceChoice, load_metadata, os_error_message, resolve_source
from pages._show import add_to_show


@st.cache_resource(show_spinner="Loading the face detector...")
def detector(name: str):
    return F.get_detector(name)  # shared, read-only after construction


def _start(run_dir: Path, root: Path, cfg: F.ScanConfig, meta_file) -> bool:
    """Start a scan of ``root``; True when it runs (otherwise a message says why not)."""
    detector(cfg.detector)
    files = F.folder_sources(root)
    if not files:
        st.warning(f"No image files found in {F.display_name(str(root))}.")
        return False
    try:
        F.start_scan_job(run_dir, files, cfg)
    except jobs.JobBusyError as e:
        st.warning(str(e))
    except OSError as e:
        st.error(os_error_message("The scan could not start", e))
    else:
        st.session_state.explorer_job_source = (str(root), load_metadata(meta_file, root))
        st.session_state.pop("explorer_note", None)
        return True
    return False


def scan_button(run_dir: Path, choice: SourceChoice, cfg: F.ScanConfig, demo_dir: Path,
                upload_dir: Callable[[], Path]) -> jobs.JobStatus | None:
    """The Scan button (off while a scan runs); returns the job's status after any start."""
    status = jobs.read_job(run_dir)
    scanning = status is not None and status.is_active
    if st.button("Scan", type="primary", key="explorer_scan", disabled=scanning):
        root, err = resolve_source(choice, demo_dir, upload_dir)
        if err:
            st.error(err)
        elif _start(run_dir, root, cfg, choice.meta_file):
            status = jobs.read_job(run_dir)
    return status


@st.fragment(run_every=1.0)
def scan_progress(run: str) -> None:
    """Polls the job's manifest; once the scan has ended, one full rerun takes its result."""
    s = jobs.read_job(run)
    if s is None or s.is_final:
        st.rerun()
    p = s.progress
    text = f"Scanning {p.done:g}/{p.total:g} images" if p.total else "Starting the scan..."
    eta = s.eta_seconds()
    st.progress(s.fraction or 0.0, text=text + (f", about {eta:.0f} s left" if eta is not None else ""))
    if st.button("Cancel scan", key="explorer_cancel"):
        jobs.request_cancel(run)


def take_result(run_dir: Path, s: jobs.JobStatus, demo_dir: Path) -> None:
    """Move a finished scan's in-memory result (kept by the job handle) into this session, once."""
    st.session_state.explorer_taken = s.job_id
    handle = jobs.get_thread_job(run_dir)
    result = handle.result if handle is not None and handle.thread_name == s.thread else None
    jobs.forget_thread_job(run_dir)
    if s.state == jobs.CANCELLED:
        st.session_state.explorer_note = ("info", "Scan cancelled.")
    elif s.state != jobs.DONE:
        st.session_state.explorer_note = ("error", f"The scan stopped: {s.error}")
    elif result is None:
        st.session_state.explorer_note = (
            "error", "The scan finished, but its result is no longer in this server's memory (restarted?). "
            "Press Scan again: images already seen rescan from the cache in moments.")
    else:
        st.session_state.explorer_result, st.session_state.explorer_scan_id = result, s.job_id
        st.session_state.explorer_root, st.session_state.explorer_meta_map = \
            st.session_state.get("explorer_job_source", (str(demo_dir), {}))


def result_panel(run_dir: Path, status: jobs.JobStatus | None, demo_dir: Path) -> F.ScanResult:
    """The scan's progress while it runs, its note once it ended; returns the result or stops the page."""
    if status is not None and status.job_id != st.session_state.get("explorer_taken"):
        if status.is_active:
            scan_progress(str(run_dir))
            st.stop()
        take_result(run_dir, status, demo_dir)
    note = st.session_state.get("explorer_note")
    if note:
        (st.info if note[0] == "info" else st.error)(note[1])
    result: F.ScanResult | None = st.session_state.get("explorer_result")
    if result is None:
        st.info("Pick a source in the sidebar (the bundled demo set of synthetic profile photos is the "
                "default) and press **Scan**.")
        st.stop()
    return result


def summary_panel(result: F.ScanResult, root: Path, demo_dir: Path) -> dict:
    """The scan's headline figures, what was rejected and why, files that are not photos; returns the
    summary (and puts the dataset in the show)."""
    summary = result.summary()
    c = st.columns(5)
    c[0].metric("Images", summary["images"])
    c[1].metric("Faces kept", summary["faces_kept"])
    c[2].metric("Rejected", sum(summary["rejected"].values()))
    c[3].metric("Duplicates", summary["duplicates"])
    c[4].metric("Scan time", f"{summary['seconds']:.1f} s")
    why = ", ".join(f"{reason} {n}" for reason, n in summary["rejected"].items())
    # The folder by name only (an absolute path is the engineer's; it is in the tooltip).
    demo = root.resolve() == demo_dir.resolve()
    where = "the bundled demo photos" if demo else f"“{F.display_name(root.name)}”"
    st.caption(f"Scanned {where}." + (f" Rejected: {why}." if why else ""),
               help=f"{F.display_name(str(root))}, {result.config.detector} detector, "
                    f"{sum(r.cached for r in result.records)} images from the cache")
    # Every file of the folder is accounted for: those that are not photos are named, never skipped unseen.
    skipped = F.skipped_sources(root) if root.is_dir() else []
    if skipped:
        with st.expander(f"{len(skipped)} other file(s) in the folder were not read (not photos)"):
            st.dataframe(pd.DataFrame(skipped, columns=["file", "reason"]), hide_index=True)
    cfg = result.config
    add_to_show(DatasetScene(folder=str(root), detector=cfg.detector, size=cfg.size, min_face=cfg.min_face,
                             blur_threshold=float(cfg.blur_threshold), keep=cfg.keep,
                             dup_threshold=cfg.dup_threshold))
    return summary
