"""The sampler's batch tab: any seed list rendered to a signed zip of PNGs (the seed in each name)."""

from __future__ import annotations

import time

import streamlit as st

from core import provenance as pv
from core import stylegan2 as sg
from pages._provenance import export_settings
from pages._sampler_model import SamplerModel, seeds_or_error


def _make_zip(m: SamplerModel, seeds: list[int], batch_text: str, psi: float, noise_mode: str) -> None:
    bar = st.progress(0.0, text="Generating…")
    t0 = time.perf_counter()
    model = (m.file or "untrained",)

    def faces():
        for i, (s, img) in enumerate(sg.generate_images(m.G, seeds, psi, noise_mode=noise_mode)):
            yield f"seed{s:05d}.png", img, pv.Origin("StyleGAN2 sampler", model,
                                                     {"seed": s, "psi": psi, "noise": noise_mode})
            done = (i + 1) / len(seeds)
            eta = (time.perf_counter() - t0) / done * (1 - done)
            bar.progress(done, text=f"{i + 1}/{len(seeds)} · ETA {eta:.0f} s")

    try:
        zip_origin = pv.Origin("StyleGAN2 sampler", model, {"seeds": batch_text, "psi": psi},
                               title="stylegan2_batch.zip")
        data = pv.export_zip(faces(), zip_origin, export_settings())
        st.session_state["sg_batch_zip"] = (data, len(seeds), time.perf_counter() - t0)
    except pv.ProvenanceError as e:
        st.error(f"Not exported: {e}")
    bar.empty()


def batch_tab(m: SamplerModel, psi: float, noise_mode: str) -> None:
    st.caption("The study generated 300 faces; render any seed list to a zip of PNGs (seed in each name).")
    batch_text = st.text_input("Seeds", "0-299", key="sg_batch_seeds")
    seeds = seeds_or_error(batch_text, "Seeds", limit=2000)
    if seeds:
        st.caption(f"{len(seeds)} images at {m.G.img_resolution} px, ψ {psi:.2f}, noise {noise_mode}.")
    if seeds and st.button("Generate zip", key="sg_batch_go"):
        _make_zip(m, seeds, batch_text, psi, noise_mode)
    if "sg_batch_zip" in st.session_state:
        data, n, secs = st.session_state["sg_batch_zip"]
        st.success(f"{n} images in {secs:.1f} s ({secs / max(n, 1) * 1000:.0f} ms each).")
        st.download_button("Download zip", data, "stylegan2_batch.zip", "application/zip", key="sg_zip_dl")
