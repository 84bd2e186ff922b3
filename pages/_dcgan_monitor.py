"""The DCGAN trainer's sections 3 and 4: which run to watch, its numbers and curves, then its time-lapse,
latent walk and checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core import dcgan, jobs, video
from core import provenance as pv
from core.checkpoint import CheckpointError
from core.dcgan.figures import training_curves
from core.image.convert import display_resize
from core.show import TimelapseScene
from pages._common import CHART_CONFIG
from pages._dcgan_live import POLL_SECONDS
from pages._dcgan_setup import mtime
from pages._provenance import export_settings
from pages._show import add_to_show

CURVES_POLL_SECONDS = 5.0
# Plotly's toolbar floats over the top right of a chart, where short titles sit: hidden on these small
# charts (zoom and pan still work with the mouse; the data is in the run folder).


def pick_run_panel(run_root: Path) -> Path | None:
    """The run to watch: the one just started, else the newest; any folder under Details."""
    st.subheader("3. Monitor")
    known_runs = sorted((d for d in run_root.glob("*") if (d / dcgan.STATUS_NAME).exists()
                         or (d / "job.json").exists()), key=mtime, reverse=True)
    default_run = st.session_state.get("dcgan_run_dir") or (str(known_runs[0]) if known_runs else "")
    started_new = st.session_state.get("_dcgan_last_started") != default_run
    if "dcgan_monitor_dir" not in st.session_state or started_new:
        st.session_state.dcgan_monitor_dir = default_run
        st.session_state._dcgan_last_started = default_run
    with st.expander("Details: which run folder to watch"):
        monitor = st.text_input("Run folder", key="dcgan_monitor_dir",
                                help="Any run folder (runs keep going when you leave the page or close the "
                                     "browser).")
    return Path(monitor) if monitor.strip() else None


def show_monitor(run_dir: Path) -> None:
    """State, step, speed and time left, then the losses, verdicts and SWD charts."""
    state = dcgan.run_state(run_dir)
    kind = state.get("state", "empty")
    step, total = state.get("step") or 0, state.get("steps") or 0
    cols = st.columns(4)
    cols[0].metric("State", kind)
    cols[1].metric("Step", f"{step} / {total}" if total else str(step))
    cols[2].metric("Images/s", f"{state.get('images_per_s') or 0:.1f}")
    cols[3].metric("Time left", jobs.spoken_time_left(state.get("eta_s")) if kind == "running" else "-")
    rows = dcgan.read_metrics(run_dir)
    if not rows:
        st.caption("Curves appear after the first logged steps.")
        return
    for col, fig in zip(st.columns(3), training_curves(rows)):
        col.plotly_chart(fig, width="stretch", config=CHART_CONFIG)
    if not any(isinstance(r, dict) and "swd" in r for r in rows):
        st.caption("The distance to the real faces is measured every few hundred steps.")


def monitor_panel(monitor_dir: Path) -> None:
    live = dcgan.run_state(monitor_dir).get("alive", False)

    @st.fragment(run_every=CURVES_POLL_SECONDS if live else None)
    def poll() -> None:
        show_monitor(monitor_dir)

    poll()


def outputs_panel(monitor_dir: Path) -> None:
    st.subheader("4. Time-lapse, latent walk, checkpoint")
    live = dcgan.run_state(monitor_dir).get("alive", False)
    c1, c2 = st.columns(2)
    with c1:
        timelapse_outputs(monitor_dir, live)
    with c2:
        checkpoint_outputs(monitor_dir)


def timelapse_outputs(monitor_dir: Path, live: bool) -> None:
    """The snapshot count, fps, Make time-lapse and its downloads; offers the time-lapse to the show."""
    snapshot_count(monitor_dir, live)
    fps = st.slider("Time-lapse fps", 2, 30, 8, key="dcgan_fps")
    snaps = dcgan.snapshot_paths(monitor_dir)
    if st.button("Make time-lapse (GIF + MP4)", disabled=len(snaps) < 2, key="dcgan_timelapse"):
        with st.spinner("Encoding..."):
            try:
                for name in ("timelapse.gif", "timelapse.mp4"):
                    dcgan.write_timelapse(monitor_dir, monitor_dir / name, fps=fps,
                                          provenance=export_settings())
            except pv.ProvenanceError as e:
                st.error(f"Not exported: {e}")
    if (monitor_dir / "timelapse.mp4").exists():
        st.video((monitor_dir / "timelapse.mp4").read_bytes())
        st.download_button("Download time-lapse GIF", (monitor_dir / "timelapse.gif").read_bytes(),
                           "dcgan_timelapse.gif", "image/gif", key="dcgan_gif_dl")
        st.download_button("Download time-lapse MP4", (monitor_dir / "timelapse.mp4").read_bytes(),
                           "dcgan_timelapse.mp4", "video/mp4", key="dcgan_mp4_dl")
    if len(snaps) >= 2:
        add_to_show(TimelapseScene(run=str(monitor_dir), fps=float(fps)))


def snapshot_count(monitor_dir: Path, live: bool) -> None:
    """How many time-lapse frames the run has: polled while it runs (it was counted once, at Start)."""

    @st.fragment(run_every=POLL_SECONDS if live else None)
    def count() -> None:
        n = len(dcgan.snapshot_paths(monitor_dir))
        st.caption(f"{n} fixed-noise snapshot{'s' if n != 1 else ''} recorded.")

    count()


def checkpoint_outputs(monitor_dir: Path) -> None:
    ckpt_path = monitor_dir / dcgan.CHECKPOINT_NAME
    if not ckpt_path.exists():
        st.caption("The checkpoint appears after the first save.")
        return
    st.download_button("Download checkpoint", ckpt_path.read_bytes, f"dcgan_{monitor_dir.name}.pt",
                       key="dcgan_ckpt_dl")
    if st.button("Latent walk of the current generator", key="dcgan_walk_run"):
        try:
            gen, _ = dcgan.load_generator(ckpt_path)
            frames = dcgan.latent_walk(gen, [0, 1, 2, 3], frames_per_leg=12)
            video.write_gif(list(display_resize(np.stack(frames), 128)), monitor_dir / "latent_walk.gif",
                            fps=12)
        except CheckpointError as e:
            st.error(str(e))
    if (monitor_dir / "latent_walk.gif").exists():
        st.image((monitor_dir / "latent_walk.gif").read_bytes(), caption="A smooth walk between four faces")
