"""The sampler's semantic-sliders tab: SeFa directions of the generator (closed-form, no labels), named and
bounded by measuring faces moved along them (core.sefa_names), one
slider each, and the edited face."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st
import torch

from core import sefa_names
from core import stylegan2 as sg
from core.show import EditScene
from pages._common import send_to_animator
from pages._sampler_model import SamplerModel
from pages._show import add_to_show

DISPLAY = 256  # on-screen size of the edited face


@st.cache_resource(show_spinner="Factorising the modulation weights (SeFa)…", max_entries=8)
def _sefa(model_key: str, _G: sg.Generator, group: str, num: int) -> sg.SemanticDirections:
    layers = None if group == "all" else sg.style_layers(_G, group)
    return sg.sefa_directions(_G, layers=layers, num=num)


@st.cache_data(show_spinner=False, max_entries=16)
def _direction_names(model_key: str, file: str | None, layers: tuple[int, ...]) -> list | None:
    """Measured names and ranges of the directions (core.sefa_names), if stored for this model."""
    return sefa_names.load_names(file, layers) if file else None


@st.cache_data(show_spinner=False, max_entries=64)
def _strips(model_key: str, _G: sg.Generator, _sem: sg.SemanticDirections, group: str, num: int, seed: int,
            psi: float, noise_mode: str, max_res: int, _ws: torch.Tensor) -> list[np.ndarray]:
    # Keyed on everything that determines the pixels; the tensors themselves are not hashed.
    return [sg.direction_strip(_G, _ws, _sem, k, noise_mode=noise_mode, max_resolution=max_res, out_size=80)
            for k in range(num)]


def _name_directions_button(m: SamplerModel, group: str) -> None:
    """Measure and store the names of this model's directions (minutes: faces moved and measured)."""
    if m.file is None:
        return
    if st.button("Name these directions by measuring faces (a few minutes)", key="sg_sefa_measure"):
        layers = None if group == "all" else sg.style_layers(m.G, group)
        with st.spinner("Moving faces along each direction and measuring them with the face mesh…"):
            from core.showcase import load_showcase

            seeds = load_showcase(m.file).seeds[:6] or list(range(6))
            sefa_names.measure_and_store(m.file, m.G, layers, [m.ws_cache.get(s, 0.7) for s in seeds])
        _direction_names.clear()
        st.rerun()


def directions_tab(m: SamplerModel, seed: int, psi: float, noise_mode: str) -> None:
    st.caption("Closed-form factorisation (SeFa, Shen & Zhou 2021): the eigenvectors of the style-"
               "modulation weights are the directions in W that change the image most. No labels: each "
               "is named by measuring faces moved along it with the face mesh (head turn, tilt, smile, "
               "mouth, eyes, brightness), and its slider stops where the face stops being the same "
               "person.")
    s1, s2 = st.columns(2)
    group = s1.radio("Factorise layers", ["all", *sg.STYLE_GROUPS], horizontal=True, key="sg_sefa_group")
    num_dirs = s2.slider("Directions", 1, 8, 5, key="sg_sefa_num")
    sem = _sefa(m.key, m.G, group, num_dirs)
    measured = _direction_names(m.key, m.file, tuple(sem.layers))
    if measured is None:
        _name_directions_button(m, group)
    names = [measured[k] if measured and k < len(measured) else None for k in range(num_dirs)]
    strip_res = min(m.G.img_resolution, max(m.preview_res, 32))
    if st.checkbox("Show preview strips (−3σ … +3σ)", value=m.G.img_resolution <= 64, key="sg_sefa_strips"):
        ws = m.ws_cache.get(seed, psi)
        for k, strip in enumerate(_strips(m.key, m.G, sem, group, num_dirs, seed, psi, noise_mode, strip_res,
                                          ws)):
            st.image(strip, caption=st.session_state.get(f"sg_dir_name_{k}", f"direction {k + 1}"))
    sefa_panel(m, sem, group, names, psi, noise_mode)


def _direction_sliders(m: SamplerModel, group: str, names: list) -> list[float]:
    """A name field and an amount slider per direction; the amounts, in σ."""
    amounts = []
    for k, found in enumerate(names):
        n_col, a_col = st.columns([2, 3])
        name = n_col.text_input(f"Name of direction {k + 1}", found.name if found else f"direction {k + 1}",
                                key=f"sg_dir_name_{k}_{m.key}_{group}")
        st.session_state[f"sg_dir_name_{k}"] = name
        # Within the measured range the face stays the same person (±3σ without a measurement).
        low, high = (found.low, found.high) if found else (-3.0, 3.0)
        label = found.label() if found and name == found.name else (name or f"direction {k + 1}")
        amounts.append(a_col.slider(label, float(low), float(high), 0.0, 0.25,
                                    key=f"sg_dir_amt_{k}_{m.key}_{group}",
                                    help=None if found is None else
                                    f"Measured: {found.name}, kept within {found.low:+.1f} … "
                                    f"{found.high:+.1f} σ where the face stays the same person."))
    return amounts


@st.fragment
def sefa_panel(m: SamplerModel, sem: sg.SemanticDirections, group: str, names: list, psi: float,
               noise_mode: str) -> None:
    # The face on screen now (the seed may have changed in the face's fragment since this tab ran).
    seed_now = int(st.session_state["sg_seed"])
    left, right = st.columns([3, 2])
    with left:
        amounts = _direction_sliders(m, group, names)
    edited = sg.apply_directions(m.ws_cache.get(seed_now, psi), sem, amounts)
    t0 = time.perf_counter()
    img = sg.synthesize(m.G, edited, noise_mode, noise_seed=seed_now)[0]
    ms = (time.perf_counter() - t0) * 1000
    with right:
        st.image(img, caption="Face A, edited", width=DISPLAY)
        st.caption(f"⏱ {ms:.0f} ms")
        if st.button("Send edited face to animator ➜", key="sg_send_sefa"):
            named = ", ".join(f"{st.session_state.get(f'sg_dir_name_{k}')} {a:+.2f}σ"
                              for k, a in enumerate(amounts) if a)
            send_to_animator(img, f"StyleGAN2 seed {seed_now}, psi {psi:.2f}, {named or 'unedited'}")
            st.success("Sent to the FOMM animator.")
        k = max(range(len(amounts)), key=lambda i: abs(amounts[i]))  # the direction moved most (or the first)
        low, high = (names[k].low, names[k].high) if names[k] else (-3.0, 3.0)
        add_to_show(EditScene(model=m.file, seed=seed_now, psi=psi, noise=noise_mode, layers=group,
                              direction=k, amount_min=low, amount_max=high,
                              name=st.session_state.get(f"sg_dir_name_{k}", "")))
