"""The StyleGAN2 sampler's tool tabs under the face, one module per tab: interpolation videos
(pages/_sampler_tools_video.py), style mixing (_sampler_tools_mixing.py), SeFa semantic sliders
(_sampler_tools_directions.py) and batch export (_sampler_tools_batch.py). The page owns the model and the
face; the tabs read them through :class:`SamplerModel` and write only their own widgets and session keys
(``sg_video``, ``sg_mix_*``, ``sg_dir_*``, ``sg_batch_*``).
"""

from __future__ import annotations

import streamlit as st

from pages._sampler_model import SamplerModel
from pages._sampler_tools_batch import batch_tab
from pages._sampler_tools_directions import directions_tab
from pages._sampler_tools_mixing import mixing_tab
from pages._sampler_tools_video import video_tab

TOOLS = ("🎞 Interpolation video", "🧩 Style mixing", "🎚 Semantic sliders (SeFa)", "📦 Batch")
TOOLS_KEY = "sg_tools"  # the open tab (its label); tests open a tab by setting it


def sampler_tools(m: SamplerModel, psi: float, noise_mode: str) -> None:
    """The four tabs, for the face of ``st.session_state["sg_seed"]`` at ``psi`` / ``noise_mode``. Only the
    open tab runs and is sent to the browser (a click on another tab reruns the page): the four together
    cost each new visitor's browser ~0.6 CPU-second, and five visitors share two cores."""
    tab_video, tab_mix, tab_sefa, tab_batch = st.tabs(list(TOOLS), key=TOOLS_KEY, on_change="rerun")
    if tab_video.open:
        with tab_video:
            video_tab(m, psi, noise_mode)
    if tab_mix.open:
        with tab_mix:
            mixing_tab(m, psi, noise_mode)
    if tab_sefa.open:
        with tab_sefa:
            directions_tab(m, int(st.session_state["sg_seed"]), psi, noise_mode)
    if tab_batch.open:
        with tab_batch:
            batch_tab(m, psi, noise_mode)
