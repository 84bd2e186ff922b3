"""The sampler's style-mixing tab: a grid where each cell takes the row seed's face and the column seed's
style layers of one group (coarse, middle or fine)."""

from __future__ import annotations

import streamlit as st

from core import stylegan2 as sg
from core.show import MixingScene
from pages._sampler_model import SamplerModel, seeds_or_error
from pages._show import add_to_show


def mixing_tab(m: SamplerModel, psi: float, noise_mode: str) -> None:
    st.caption("Each cell takes the row seed's face and replaces one group of style layers with the "
               "column seed's: coarse = pose and face shape, middle = features and hair, fine = colours "
               "and texture.")
    x1, x2, x3 = st.columns([2, 2, 2])
    rows_text = x1.text_input("Row seeds (destination)", "85, 100, 75", key="sg_rows")
    cols_text = x2.text_input("Column seeds (style source)", "55, 821, 1789, 293", key="sg_cols")
    group = x3.radio("Layers taken from the column", list(sg.STYLE_GROUPS), horizontal=True, key="sg_group")
    layers = sg.style_layers(m.G, group)
    st.caption(f"{group}: style layers {layers[0]}–{layers[-1]} of {m.G.num_ws}" if layers else "no layers")
    rows = seeds_or_error(rows_text, "Row seeds", limit=8)
    cols = seeds_or_error(cols_text, "Column seeds", limit=8)
    if rows and cols and st.button("Mix styles", key="sg_mix"):
        with st.spinner("Rendering the grid…"):
            st.session_state["sg_mix_grid"] = sg.style_mixing_grid(
                m.G, rows, cols, layers, psi, noise_mode, out_size=min(m.G.img_resolution, 128))
            st.session_state["sg_mix_label"] = f"{group} from columns; rows {rows}, columns {cols}"
    if "sg_mix_grid" in st.session_state:
        st.image(st.session_state["sg_mix_grid"], caption=st.session_state["sg_mix_label"])
    if rows and cols:
        add_to_show(MixingScene(model=m.file, row_seeds=rows, col_seeds=cols, group=group, psi=psi,
                                noise=noise_mode))
