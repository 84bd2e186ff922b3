"""FOMM animator: make a face follow a driving video or a bundled motion (issue 6).

Engines: the offline landmark motion transfer (default, no weights) and the neural First Order Motion
Model (Siarohin et al., NeurIPS 2019) when a vox-cpk checkpoint is available. The page is a ``main()``
over panels (``pages/_animator_*.py``): source face, driving motion, engine, and at the top the Animate
button with the background job's progress and result; the work lives in core.animate.
"""

from __future__ import annotations

import streamlit as st

from pages._animator_driving import driving_panel
from pages._animator_engine import engine_panel
from pages._animator_result import animate_panel, show_scene_panel
from pages._animator_source import save_upload, source_panel
from pages._common import page_header
from pages._provenance import export_options
from pages._say_something import say_something

OFFLINE_ENGINE_LIMITS = (
    "It tracks ~150 face-mesh landmarks on the driving video and moves the same landmarks on the "
    "source, warping the image piecewise-affinely (FOMM's first-order idea with landmarks instead of "
    "learned keypoints). Blinks, nods, small turns, smiles and speech work; an opening mouth is "
    "filled with a dark interior. Unlike neural FOMM it cannot invent hidden content: large head "
    "turns stretch or fold the far cheek, teeth never appear and hair only follows smoothly.")


def main() -> None:
    page_header("FOMM animator", "Make a face follow a driving video: offline landmark motion transfer, "
                "or the First Order Motion Model (Siarohin et al., NeurIPS 2019) with its official weights.")
    # Animate, its progress and the result sit at the top, above the fold at 1600x1000 (they were below
    # the options); filled once the choices below are known.
    action_slot = st.container()
    with st.sidebar:
        export_options()
    source = source_panel()
    driving = driving_panel()
    choice = engine_panel(driving)
    animate_panel(action_slot, source, driving, choice)
    show_scene_panel(source, driving, choice)
    say_something(source.image, source.crop, save_upload, source.scene_fields(), source.scene_files())
    with st.expander("What the offline engine can and cannot do"):
        st.markdown(OFFLINE_ENGINE_LIMITS)


main()
