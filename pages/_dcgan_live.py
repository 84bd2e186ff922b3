"""The DCGAN trainer's first screen: the run's live fixed-noise grid, its progress, time left and controls,
beside the recorded time-lapse of the bundled run."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from core import dcgan, jobs
from core.image.decode import ImageRejected, read_rgb
from pages._dcgan_setup import mtime

POLL_SECONDS = 2.0
LIVE_WIDTH = 420  # px of each picture in the top row: both fit above the fold at 1600x1000
# Start sits below the fold; after it, scroll whichever element scrolls the page back to the live grid.
SCROLL_TO_TOP_JS = ("for (const el of [document.scrollingElement, ...document.querySelectorAll("
                    "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"]')]) "
                    "{ if (el) el.scrollTo({top: 0}); }")
# The recorded time-lapse must play on every visit: a browser may leave a <video autoplay> inserted into
# a live page paused (seen on a first visit, "step 0 · 0 s"), so it is started from script as well.
AUTOPLAY_JS = ("for (const v of document.querySelectorAll('video[data-cc-autoplay]')) {"
               " v.muted = true; const go = () => v.play().catch(() => {});"
               " if (v.paused) go(); v.addEventListener('canplay', go, {once: true});"
               " v.addEventListener('pause', () => setTimeout(() => {"
               " if (!v.ended && !v.dataset.ccHold) go(); }, 300)); }")  # data-cc-hold: a screenshot's frame
CONTINUABLE = ("stopped", "crashed", "nan", "paused", "failed")


@st.cache_data(max_entries=2)
def recorded_timelapse_b64(path: str, mtime: float) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode()


def progress_text(state: dict) -> str:
    """The progress bar's words: step of total, then the time left and speed (or the state)."""
    step, total, kind = state.get("step") or 0, state.get("steps") or 0, state.get("state", "empty")
    parts = [f"Step {step:,} of {total:,}" if total else f"Step {step:,}"]
    if kind == "running":
        eta = state.get("eta_s")
        parts.append(f"about {jobs.spoken_time_left(eta)} left" if eta is not None
                     else "estimating the time left")
        if state.get("images_per_s"):
            parts.append(f"{state['images_per_s']:.0f} images/s")
    else:
        parts.append(kind)
    return " · ".join(parts)


def live_grid(run_dir: Path, state: dict) -> None:
    latest = dcgan.latest_snapshot(run_dir)
    if latest is None:
        st.info("The first picture of this run arrives a few seconds after the process starts.")
        return
    snap_step, path = latest
    try:
        grid = read_rgb(path)
    except ImageRejected as e:  # a snapshot being replaced as we read it: the next poll shows it
        st.caption(f"Snapshot of step {snap_step} is not readable yet ({e.reason}).")
        return
    scale = max(1, LIVE_WIDTH // grid.shape[1])  # whole-pixel enlargement keeps the small faces sharp
    if scale > 1:
        grid = np.asarray(Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale),
                                                       Image.Resampling.NEAREST))
    live = "Live" if state.get("alive") else "Last picture"
    start = ""
    if snap_step == 0 and (dcgan.read_json(run_dir / dcgan.CONFIG_NAME) or {}).get("init_generator"):
        start = " (the bundled generator's faces: this run continues it)"
    st.image(grid, width=LIVE_WIDTH,
             caption=f"{live}: the fixed-noise samples of {run_dir.name} at step {snap_step:,}{start}")


def recorded_timelapse(recorded: Path) -> None:
    if not recorded.exists():
        st.caption("The recorded time-lapse (checkpoints/dcgan_demo_timelapse.mp4) is not in this checkout.")
        return
    info = dcgan.read_timelapse_info(recorded)
    # A plain <video> (st.video starts only elements with a key and plays once; this one must loop
    # unasked), started from script too: see AUTOPLAY_JS.
    st.html(f'<video data-cc-autoplay autoplay muted loop playsinline preload="auto" width="{LIVE_WIDTH}" '
            f'src="data:video/mp4;base64,{recorded_timelapse_b64(str(recorded), mtime(recorded))}"></video>'
            f"<script>{AUTOPLAY_JS}</script>", unsafe_allow_javascript=True)
    if info is not None and info.minutes:
        st.caption(f"Recorded earlier: {info.minutes:.0f} minutes of training from noise to faces (the "
                   f"bundled generator's own run, steps 0-{info.last_step:,}, on a shared 2-core CPU)")
    else:
        st.caption("Recorded earlier: a run of the bundled recipe")


def controls(run_dir: Path, state: dict, demo_data: Path) -> None:
    """Pause, Resume, Stop and Continue (a stopped run goes on from its checkpoint, on its own data)."""
    kind, alive = state.get("state", "empty"), state.get("alive")
    b = st.columns(4)
    if b[0].button("Pause", disabled=not alive or kind != "running", key="dcgan_pause"):
        dcgan.set_control(run_dir, "pause")
    if b[1].button("Resume", disabled=not alive or kind != "paused", key="dcgan_resume"):
        dcgan.set_control(run_dir, "run")
    if b[2].button("Stop", disabled=not alive, key="dcgan_stop", help="Checkpoint, then stop"):
        dcgan.stop_training(run_dir)
    can_continue = not alive and state.get("has_checkpoint") and kind in CONTINUABLE
    if b[3].button("Continue from checkpoint", disabled=not can_continue, key="dcgan_continue"):
        try:
            src = dcgan.training_data(run_dir) or str(demo_data)
            cfg = dcgan.TrainConfig.from_dict(dcgan.read_json(run_dir / dcgan.CONFIG_NAME) or {})
            dcgan.start_training(src, run_dir, cfg, resume=True)
            st.rerun(scope="app")
        except (ValueError, dcgan.RunBusyError) as e:
            st.error(str(e))


def show_live(run_dir: Path, demo_data: Path) -> None:
    """The top left of the page: this run's latest grid, its progress and time left, the controls."""
    state = dcgan.run_state(run_dir)
    kind = state.get("state", "empty")
    live_grid(run_dir, state)
    total = state.get("steps") or 0
    fraction = min(1.0, (state.get("step") or 0) / total) if total else 0.0
    st.progress(fraction, text=progress_text(state))
    if state.get("message") and kind != "running":
        (st.error if kind in ("nan", "failed", "crashed") else st.caption)(state["message"])
    controls(run_dir, state, demo_data)


def top_row(live_slot, monitor_dir: Path | None, recorded: Path, demo_data: Path) -> None:
    """The page's first screen: the run's live grid (or how to start one) beside the recorded one."""
    with live_slot:
        left, right = st.columns(2)
        with right:
            recorded_timelapse(recorded)  # outside any fragment: sent once, not every poll
        if monitor_dir is None or not monitor_dir.is_dir():
            left.info("Press **Start training** (section 2) and the live fixed-noise grid of your run "
                      "appears here, beside the recorded one.")
            return
        live = dcgan.run_state(monitor_dir).get("alive", False)

        @st.fragment(run_every=POLL_SECONDS if live else None)
        def live_panel() -> None:
            show_live(monitor_dir, demo_data)
            if live and not dcgan.run_state(monitor_dir).get("alive"):
                st.rerun(scope="app")  # finished: stop polling

        with left:
            live_panel()
        scroll = st.session_state.pop("dcgan_scroll_up", None)
        if scroll is not None:  # Start was pressed far down the page: show the top, where the grid is
            st.html(f'<script data-started="{scroll}">{SCROLL_TO_TOP_JS}</script>',
                    unsafe_allow_javascript=True)
