"""The sampler's export jobs on screen: the run folder of a tab's latest export (in session state), its
progress bar with the time left and a Cancel button while it runs, and its result once it has ended."""

from __future__ import annotations

import uuid
from pathlib import Path

import streamlit as st

import core
from core import jobs

RUNS = "sampler"  # under core.RUNS_DIR: one folder per export


def new_run_dir(kind: str) -> str:
    return str(Path(core.RUNS_DIR) / RUNS / f"{kind}-{uuid.uuid4().hex[:12]}")


@st.fragment(run_every=1.0)
def _progress(run: str, key: str) -> None:
    """Polls the job's manifest; once it has ended, one full rerun shows the result."""
    status = jobs.read_job(run)
    if status is None or status.is_final:
        st.rerun()
        return
    text = status.progress.message or "Starting…"
    if status.eta_s is not None:
        text += f" · {jobs.spoken_time_left(status.eta_s)} left"
    st.progress(min(status.fraction or 0.0, 1.0), text=text)
    if st.button("Cancel", key=f"{key}_cancel"):
        jobs.request_cancel(run)


def finished_job(state_key: str) -> jobs.JobStatus | None:
    """The tab's export job once it has ended (None while there is none or it still runs, then its
    progress is on screen). A failure or cancellation is said once, here; the run is then forgotten."""
    run = st.session_state.get(state_key)
    status = jobs.read_job(run) if run else None
    if status is None:
        return None
    if not status.is_final:
        _progress(run, state_key)
        return None
    del st.session_state[state_key]
    jobs.forget_thread_job(run)
    if status.state == jobs.CANCELLED:
        st.info("Export cancelled.")
    elif status.state != jobs.DONE or not isinstance(status.result, dict):
        st.error(f"Not exported: {(status.error or 'the export failed').removeprefix('ProvenanceError: ')}")
    else:
        return status
    return None


def busy(state_key: str) -> bool:
    run = st.session_state.get(state_key)
    status = jobs.read_job(run) if run else None
    return status is not None and status.is_active
