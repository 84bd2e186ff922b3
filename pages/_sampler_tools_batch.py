"""The sampler's batch tab: any seed list rendered to a signed zip of PNGs (the seed in each name) by a
background job (core.stylegan2.exports), with progress; the zip is offered for download when done."""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

import core
from core.stylegan2.exports import start_batch_job
from pages._provenance import export_settings
from pages._sampler_jobs import busy, finished_job, new_run_dir
from pages._sampler_model import SamplerModel, seeds_or_error

RUN_KEY = "sg_batch_run"


def batch_tab(m: SamplerModel, psi: float, noise_mode: str) -> None:
    st.caption("The study generated 300 faces; render any seed list to a zip of PNGs (seed in each name).")
    batch_text = st.text_input("Seeds", "0-299", key="sg_batch_seeds")
    seeds = seeds_or_error(batch_text, "Seeds", limit=2000)
    if seeds:
        st.caption(f"{len(seeds)} images at {m.G.img_resolution} px, ψ {psi:.2f}, noise {noise_mode}.")
    if seeds and st.button("Generate zip", key="sg_batch_go", disabled=busy(RUN_KEY)):
        run = new_run_dir("batch")
        start_batch_job(run, m.G, seeds, psi, noise_mode, Path(core.EXPORTS_DIR) / "stylegan2",
                        m.file or "untrained", seeds_text=batch_text, settings=export_settings())
        st.session_state[RUN_KEY] = run
    done = finished_job(RUN_KEY)
    if done is not None:
        r = done.result
        st.session_state["sg_batch_zip"] = (r["zip"], int(r["images"]), float(r["seconds"]))
    if "sg_batch_zip" in st.session_state:
        path, n, secs = st.session_state["sg_batch_zip"]
        if Path(path).is_file():
            st.success(f"{n} images in {secs:.1f} s ({secs / max(n, 1) * 1000:.0f} ms each).")
            # A callable: the zip is read when the button is pressed, not kept in the session.
            data = functools.partial(Path(path).read_bytes)
            st.download_button("Download zip", data, "stylegan2_batch.zip", "application/zip",
                               key="sg_zip_dl", on_click="ignore")
