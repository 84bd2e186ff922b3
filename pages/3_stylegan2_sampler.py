"""StyleGAN2 sampler: the face of a seed, large, with ONE A -> B morph slider under it (scrubbed in the
browser while dragging, rendered exactly on release) and the hand-off to the animator; under it the tool
tabs (interpolation videos, style mixing, SeFa, batch export). All model work is in core.stylegan2.

Panels: the sidebar's model / device / sampling controls and the model loaders (pages/_sampler_model.py),
the face and its controls, seed numbers in Details (pages/_sampler_face.py), the drag frames
(pages/_sampler_scrub.py, rendered by core.jobs.KeyedRenderer) and the tabs (pages/_sampler_tools.py, one
pages/_sampler_tools_*.py per tab).

Speed where the room waits: the face is rendered first; the drag frames of the morph are prepared in
the background afterwards (a loader fragment hands them over when the browser asks, only while they are
missing); the face and its controls are one fragment, so a seed change reruns only that.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import torch

from core.showcase import Showcase
from pages._common import page_header
from pages._provenance import export_options, licence_caption
from pages._sampler_face import hero, init_seeds, render_threads
from pages._sampler_model import (
    BUNDLED,
    SamplerModel,
    current_choice,
    freeze_gc,
    open_model,
    showcase_of,
    sidebar_controls,
)
from pages._sampler_scrub import scrub_loader
from pages._sampler_tools import sampler_tools

RERAN = "sg_sidebar_reran"
MODEL_DETAILS = "sg_model_details"  # the sidebar's "Details: this generator" is unfolded (tests unfold it)


def model_notes(m: SamplerModel, load_error: str | None, device_error: str | None) -> Showcase:
    """What the room needs to know about the generator on screen (and, in Details, what the engineer
    does); returns its showcase seeds."""
    if not BUNDLED.is_file():
        st.info("The bundled StyleGAN2 checkpoint (checkpoints/stylegan2_demo.pt) is not present in this "
                "installation, so the default is an **untrained** generator with random weights: the "
                "pictures are abstract textures, not faces, but every control works.")
    if load_error:
        st.error(f"**This file cannot be used as a StyleGAN2 generator.** {load_error}")
        st.caption("Showing the untrained demo generator instead.")
    untrained = m.file is None
    licence_caption(m.file or "untrained")
    showcase = showcase_of(m.file, Path(m.file).stat().st_mtime if m.file else 0.0)
    G = m.G
    st.caption(f"{G.img_resolution} px faces" + (" · **untrained (random weights)**" if untrained else ""))
    if device_error:
        st.warning(f"{device_error}. Drawing on the processor instead.")
    return showcase


def sidebar_notes(m: SamplerModel, showcase: Showcase) -> None:
    """Under the sidebar's controls: the export switches and, folded, the engineer's words on the
    generator."""
    with st.sidebar:
        export_options()
    G, info = m.G, m.G.source_info
    # The engineer's words, off the main path, and only drawn while unfolded: Streamlit re-renders the whole
    # sidebar on every app render (several per new face, per visitor), folded content included.
    details = st.sidebar.expander("Details: this generator", key=MODEL_DETAILS, on_change="rerun")
    if details.open:
        with details:
            st.caption("Get official weights with `python -m core.stylegan2 download ffhq-1024 "
                       "--accept-licence` (files land in checkpoints/downloads and appear under Generator).")
            st.caption(f"{G.img_resolution}×{G.img_resolution} px · z {G.z_dim} · w {G.w_dim} · {G.num_ws} "
                       f"style layers · source: {info.get('kind', '?')}"
                       + (f" · step {info['step']}" if info.get("step") else "")
                       + (f" · {float(info['kimg']):.1f} kimg" if info.get("kimg") else ""))
            if not showcase.curated:  # names the file and the command that makes the list
                st.caption(f"Showcase: {showcase.note}")


def main() -> None:
    page_header("StyleGAN2 sampler",
                "Faces of nobody, drawn on demand: drag the slider under the face to morph it into another "
                "one. NVIDIA's official StyleGAN2 weights load unchanged.")
    choice = current_choice()  # the sidebar is drawn last (below), its values read now
    model, load_error, device_error = open_model(choice)
    freeze_gc(model.key)
    showcase = model_notes(model, load_error, device_error)
    torch.set_num_threads(render_threads(model.G))
    init_seeds(showcase)
    hero(model, showcase, choice.psi, choice.noise_mode)
    scrub_loader(model, choice.psi, choice.noise_mode)
    sampler_tools(model, choice.psi, choice.noise_mode)
    # Every burst of elements a browser receives re-renders Streamlit's whole sidebar there (its theme is
    # rebuilt on each app render): drawn last, a visitor's sidebar is rendered with the page's last
    # burst, not with each of them.
    drawn = sidebar_controls()
    if not drawn.same_as(choice) and not st.session_state.pop(RERAN, False):
        st.session_state[RERAN] = True  # a value the controls changed as they were drawn (rare): once
        st.rerun()
    st.session_state.pop(RERAN, None)
    sidebar_notes(model, showcase)


main()
