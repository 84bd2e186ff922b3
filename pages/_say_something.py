"""The animator's "Say something" panel: record a line (or upload a voice clip) and the face speaks it.

The speaking face is rendered by :func:`core.animate.start_speech_job` (a background job in its own run
folder, like the page's animations), so progress, ETA, cancel and the result survive reruns.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from core import RUNS_DIR, jobs
from core import animate as an
from core.animate.audio import MAX_VOICE_SECONDS, VOICE_SUFFIXES, voice_duration_limit_text
from core.animate.voice import VOICE_SAMPLE_RATE, analyse_voice, read_voice
from core.show import AnimationScene
from pages._show import add_to_show

WORK_DIR = RUNS_DIR / "animator"
RUN_KEY = "say_run"


@st.cache_data(max_entries=16, show_spinner=False)
def voice_seconds(path: str) -> float:
    """The voice's length; raises AnimationError for a voice that cannot be spoken (empty, silent...)."""
    pcm = read_voice(path)
    analyse_voice(pcm, VOICE_SAMPLE_RATE, name=Path(path).name)
    return len(pcm) / VOICE_SAMPLE_RATE


def _voice_input(save_upload: Callable) -> Path | None:
    how = st.radio("Voice", ["Record", "Upload a clip"], horizontal=True, key="say_how")
    if how == "Record":
        clip = st.audio_input("Record your line", key="say_record")
        suffix = ".wav"
    else:
        clip = st.file_uploader("Voice clip", type=[s.lstrip(".") for s in VOICE_SUFFIXES], key="say_upload")
        suffix = Path(clip.name).suffix.lower() if clip is not None else ""
    if clip is None:
        return None
    path = save_upload(clip, suffix)
    try:
        seconds = voice_seconds(str(path))
    except an.AnimationError as e:
        st.error(str(e))
        return None
    st.caption(f"{seconds:.1f} s of voice (up to {voice_duration_limit_text(MAX_VOICE_SECONDS)}).")
    return path


def _result(status: jobs.JobStatus) -> None:
    if status.state == jobs.CANCELLED:
        st.info("Cancelled.")
        return
    r = an.animation_result(status)
    if status.state != jobs.DONE or r is None or not Path(r.path).is_file():
        st.error(status.error or "The face could not speak this voice (see the job log in its run folder).")
        return
    seconds = r.frames / max(r.fps, 1e-6)
    st.success(f"The face says your line: {seconds:.1f} s, rendered in {r.seconds:.1f} s.")
    for note in r.notes:
        st.warning(note)
    data = Path(r.path).read_bytes()
    st.video(data)  # with its sound: press play (browsers do not start sound on their own)
    st.download_button("Download MP4", data, file_name="says-your-line.mp4", mime="video/mp4",
                       key="say_download")


@st.fragment(run_every=1.0)
def _progress(run: str) -> None:
    s = jobs.read_job(run)
    if s is None or s.is_final:
        st.rerun()
        return
    st.progress(min(s.fraction or 0.0, 1.0), text=s.progress.message or "Listening to the voice...")
    if st.button("Cancel", key="say_cancel"):
        jobs.request_cancel(run)


def say_something(source: np.ndarray | None, crop_source: bool, save_upload: Callable,
                  show_source: dict | None = None, show_files: dict | None = None) -> None:
    """The panel. ``source``: the chosen face (None: none yet); ``show_source``: its fields as a show
    scene (``source_kind``, ``source``...) and ``show_files`` the in-memory ones, for "Add to show"."""
    st.subheader("Say something")
    st.caption("Record a line or upload a voice clip: the face says it, in your voice, blinking and moving "
               "its head a little. The mouth follows the loudness and the vowels of the voice.")
    voice = _voice_input(save_upload)
    run = st.session_state.get(RUN_KEY)
    status = jobs.read_job(run) if run else None
    busy = status is not None and status.is_active
    if st.button("Speak", type="primary", key="say_go", disabled=source is None or voice is None or busy):
        run = str(WORK_DIR / f"voice-{uuid.uuid4().hex[:12]}")
        an.start_speech_job(run, source, voice, an.AnimateOptions(), crop_source=crop_source)
        st.session_state[RUN_KEY] = run
        status = jobs.read_job(run)
    if source is None:
        st.caption("Choose a source face above first.")
    elif voice is not None and show_source is not None:
        add_to_show(AnimationScene(**show_source, driving_kind="voice", driving="", engine="landmarks"),
                    files={**(show_files or {}), "driving": voice}, key="add_to_show_voice")
    if status is not None:
        if status.is_final:
            _result(status)
        else:
            _progress(run)
