"""Small helpers shared by the pages (Streamlit-side only; core/ never imports this).

Session-state keys used to hand work from one page to the next live here so pages agree on them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

# Explorer -> DCGAN trainer: str path of an exported training-set folder.
HANDOFF_TRAINING_DIR = "handoff_training_dir"
# StyleGAN2 sampler / DCGAN trainer -> FOMM animator: uint8 HxWx3 RGB array of the face to animate.
HANDOFF_ANIMATOR_SOURCE = "handoff_animator_source"
# Free-text note describing where the hand-off came from (e.g. "StyleGAN2 seed 42, psi 0.7").
HANDOFF_ANIMATOR_SOURCE_LABEL = "handoff_animator_source_label"

# Every chart in the studio: Plotly's toolbar appeared over the charts' titles on hover, on a projector.
CHART_CONFIG = {"displayModeBar": False}


def send_to_animator(image: np.ndarray, label: str) -> None:
    """Hand the animator this face (a full-resolution uint8 RGB copy, not a display-sized one)."""
    st.session_state[HANDOFF_ANIMATOR_SOURCE] = np.ascontiguousarray(image, dtype=np.uint8)
    st.session_state[HANDOFF_ANIMATOR_SOURCE_LABEL] = label


def page_header(title: str, caption: str) -> None:
    st.title(title)
    st.caption(caption)


# Studio-wide device choice (sidebar): None = automatic (core.device: CUDA, then MPS, then the CPU).
DEVICE_CHOICE = "cc_device"
# The choice itself, in a plain session key: Streamlit drops a widget's state on a page that does not draw
# it, and the Present page (torch-free, no picker) starts prepare jobs with it.
DEVICE_REQUEST = "cc_device_request"
# The picker's words -> core.device requests (CUDA and MPS offered only where present).
DEVICE_LABELS = {"Automatic (fastest available)": None, "Processor (CPU)": "cpu",
                 "Graphics card (CUDA)": "cuda", "Apple GPU (MPS)": "mps"}


def device_choice() -> str | None:
    """The device picker (shared by every page that runs a model, through session state); returns a
    core.device request: None for automatic, else 'cpu' / 'cuda' / 'mps'."""
    from core.device import available

    labels = {k: v for k, v in DEVICE_LABELS.items() if v in (None, "cpu")}
    kinds = available()
    labels.update({k: v for k, v in DEVICE_LABELS.items() if v in kinds})
    if st.session_state.get(DEVICE_CHOICE) not in labels:  # first visit, or back from another page
        wanted = studio_device()
        st.session_state[DEVICE_CHOICE] = next((k for k, v in labels.items() if v == wanted), list(labels)[0])
    label = st.selectbox("Run models on", list(labels), key=DEVICE_CHOICE,
                         help="Automatic picks an NVIDIA graphics card, then Apple's GPU, then the "
                              "processor. The CUSTOM_CAST_DEVICE environment variable sets the automatic "
                              "choice.")
    st.session_state[DEVICE_REQUEST] = labels.get(label)
    return labels.get(label)


def studio_device() -> str | None:
    """The device the studio's picker last chose (None: automatic), without drawing the picker or
    importing torch: what background jobs started from any page (show prepare, animations) run on."""
    return st.session_state.get(DEVICE_REQUEST)
