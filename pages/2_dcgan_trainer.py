"""DCGAN trainer: pick face crops, train in the background, watch curves and samples, export results.

After Start the live fixed-noise grid sits at the top, beside a recorded time-lapse of the bundled run,
with the job layer's progress and a steady time-left estimate; the run is a core.jobs job, so it
survives reruns. The page is a ``main()`` over panels in ``pages/_dcgan_*.py`` (setup: sections 1-2,
live: the top row, monitor: sections 3-4, pretrained: section 5); the training and the charts live in
core.dcgan.
"""

from __future__ import annotations

import streamlit as st

from core import ASSETS_DIR, CHECKPOINTS_DIR, RUNS_DIR
from pages._common import page_header
from pages._dcgan_live import top_row
from pages._dcgan_monitor import monitor_panel, outputs_panel, pick_run_panel
from pages._dcgan_pretrained import pretrained_panel
from pages._dcgan_setup import config_panel, dataset_panel
from pages._provenance import export_options

DEMO_DATA = ASSETS_DIR / "demo_faces" / "faces64.npz"
PRETRAINED = CHECKPOINTS_DIR / "dcgan_demo.pt"
RECORDED_TIMELAPSE = CHECKPOINTS_DIR / "dcgan_demo_timelapse.mp4"
RUN_ROOT = RUNS_DIR / "dcgan"
PRETRAINED_WALK = RUNS_DIR / "dcgan_pretrained_walk.gif"


def main() -> None:
    page_header("DCGAN trainer", "Watch a generator learn faces: a recorded run from noise to faces, and "
                "a live run on the images you choose.")
    with st.sidebar:
        export_options()
    live_slot = st.container()  # filled once the run to show is known (after the Start form below)
    data_path = dataset_panel(DEMO_DATA)
    config_panel(data_path, RUN_ROOT)
    monitor_dir = pick_run_panel(RUN_ROOT)
    if monitor_dir is None:
        st.info("No run yet: start one above.")
    elif not monitor_dir.is_dir():
        st.warning(f"No run folder at {monitor_dir}.")
    else:
        monitor_panel(monitor_dir)
    top_row(live_slot, monitor_dir, RECORDED_TIMELAPSE, DEMO_DATA)
    if monitor_dir is not None and monitor_dir.is_dir():
        outputs_panel(monitor_dir)
    pretrained_panel(PRETRAINED, PRETRAINED_WALK)


main()
