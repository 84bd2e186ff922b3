"""The animator's top row: the Animate button, the running job's progress and cancel, the finished clip;
and this setup as a show scene. Each animation is a core.jobs job with its own run folder
(runs/animator/<id>/), so reruns, other tabs and a cancel all see one state."""

from __future__ import annotations

import uuid
from pathlib import Path

import streamlit as st

from core import animate as an
from core import jobs
from core.show import AnimationScene
from pages._animator_driving import Driving
from pages._animator_engine import EngineChoice
from pages._animator_source import UPLOAD, WORK_DIR, SourceFace
from pages._provenance import export_settings
from pages._show import add_to_show

RUN_KEY = "animator_run"
ANIMATE_REQUEST = "animator_animate_requested"


def _request_animation() -> None:
    """Button callback: recorded in the session, so a click that lands while the page is still rerunning
    for a new motion is not lost with that interrupted run (twice it started nothing and said nothing)."""
    st.session_state[ANIMATE_REQUEST] = True


def why_not_ready(source: SourceFace, driving: Driving, choice: EngineChoice) -> str | None:
    if source.image is None:
        return "Choose a source face first (section 1)."
    if driving.value is None:
        return "Choose a driving motion or upload a video first (section 2)."
    if choice.engine == "fomm" and not choice.checkpoint:
        return "The neural engine needs its checkpoint (section 3), or choose the offline engine."
    return None


def _start(source: SourceFace, driving: Driving, choice: EngineChoice) -> str:
    run_dir = str(WORK_DIR / f"animation-{uuid.uuid4().hex[:12]}")
    opts = choice.options(real_photo=source.kind == UPLOAD, provenance=export_settings(),
                          source_note=source.note)
    an.start_animation_job(run_dir, source.image, driving.value, opts, crop_source=source.crop)
    st.session_state[RUN_KEY] = run_dir
    return run_dir


def show_result(status: jobs.JobStatus) -> None:
    if status.state == jobs.CANCELLED:
        st.info("Cancelled.")
        return
    r = an.animation_result(status)
    if status.state != jobs.DONE or r is None or not Path(r.path).is_file():
        st.error(status.error or "The animation failed (see the job log in its run folder).")
        return
    audio = "yes" if r.has_audio else "none"
    st.success(f"{r.frames} frames at {r.fps:g} fps in {r.seconds:.1f} s "
               f"({r.frames / max(r.seconds, 1e-6):.1f} fps overall); audio: {audio}; "
               f"start frame {r.best_frame}.")
    for note in r.notes:
        st.warning(note)
    data = Path(r.path).read_bytes()
    # Loops on its own, like the room expects; muted so browsers allow the autoplay (unmute to hear it).
    st.video(data, loop=True, autoplay=True, muted=True)
    st.download_button("Download MP4", data, file_name="animation.mp4", mime="video/mp4")


@st.fragment(run_every=1.0)
def job_panel(run: str) -> None:
    """Polls the job's manifest; once it has ended, one full rerun shows the result."""
    status = jobs.read_job(run)
    if status is None or status.is_final:
        st.rerun()
        return
    st.progress(min(status.fraction or 0.0, 1.0), text=status.progress.message or "Starting...")
    if st.button("Cancel"):
        jobs.request_cancel(run)


def animate_panel(slot, source: SourceFace, driving: Driving, choice: EngineChoice) -> None:
    """Into ``slot`` (the top of the page): Animate, why it cannot start yet, then progress or the clip."""
    run_dir = st.session_state.get(RUN_KEY)
    status = jobs.read_job(run_dir) if run_dir else None
    busy = status is not None and status.is_active
    not_ready = why_not_ready(source, driving, choice)
    with slot:
        st.button("Animate", type="primary", disabled=busy, on_click=_request_animation,
                  key="animator_animate", help=not_ready)
        if st.session_state.pop(ANIMATE_REQUEST, False) and not busy:
            if not_ready is not None:
                st.warning(not_ready)
            else:
                run_dir = _start(source, driving, choice)
                status = jobs.read_job(run_dir)
        if not_ready is not None:
            st.caption(not_ready)
        if status is not None:
            if status.is_final:
                show_result(status)
            else:
                job_panel(run_dir)


def show_scene_panel(source: SourceFace, driving: Driving, choice: EngineChoice) -> None:
    """This setup as a show scene; a face or video that exists only here is stored in the show."""
    if why_not_ready(source, driving, choice) is not None:
        return
    scene = AnimationScene(**{**source.scene_fields(), "align_source": False}, **driving.scene_fields(),
                           engine=choice.engine, checkpoint=choice.checkpoint or "", relative=choice.relative,
                           adapt_scale=choice.adapt_scale, best_frame=choice.best_frame,
                           side_by_side=choice.side_by_side, upscale=choice.upscale)
    add_to_show(scene, files={**(source.scene_files() or {}), **driving.scene_files()})
