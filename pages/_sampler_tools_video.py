"""The sampler's interpolation-video tab: keyframe seeds joined by interpolation (linear in W or spherical
in Z), exported as a signed MP4 (H.264) and GIF by a background job (core.stylegan2.exports)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import core
from core.show import MorphScene
from core.stylegan2.exports import Interpolation, start_interpolation_job
from pages._provenance import export_settings
from pages._sampler_jobs import busy, finished_job, new_run_dir
from pages._sampler_model import SamplerModel, seeds_or_error
from pages._show import add_to_show

RUN_KEY = "sg_video_run"


def _start_video(m: SamplerModel, keys: list[int], steps: int, space: str, loop: bool, fps: int, psi: float,
                 noise_mode: str) -> None:
    spec = Interpolation(tuple(keys), steps, "w" if space.startswith("W") else "z", loop, float(fps), psi,
                         noise_mode)
    run = new_run_dir("video")
    start_interpolation_job(run, m.G, spec, Path(core.EXPORTS_DIR) / "stylegan2", m.file or "untrained",
                            export_settings())
    st.session_state[RUN_KEY] = run


def _show_video() -> None:
    mp4, gif = st.session_state["sg_video"]
    if Path(mp4).is_file() and Path(gif).is_file():
        m1, m2 = st.columns(2)
        m1.video(Path(mp4).read_bytes())
        m2.image(Path(gif).read_bytes(), caption="GIF")
        d1, d2 = st.columns(2)
        d1.download_button("Download MP4", Path(mp4).read_bytes(), Path(mp4).name, "video/mp4")
        d2.download_button("Download GIF", Path(gif).read_bytes(), Path(gif).name, "image/gif")


def video_tab(m: SamplerModel, psi: float, noise_mode: str) -> None:
    st.caption("Keyframe seeds joined by interpolation: linear in W (smooth, what the study used) or "
               "spherical in Z. Exported as MP4 (H.264) and GIF.")
    v1, v2, v3, v4 = st.columns([3, 2, 2, 1])
    key_text = v1.text_input("Keyframe seeds", "1, 2, 3, 4", key="sg_keys")
    space = v2.radio("Interpolate", ["W (lerp)", "Z (slerp)"], horizontal=True, key="sg_space")
    steps = v3.slider("Frames per transition", 4, 60, 12, key="sg_steps")
    loop = v4.checkbox("Loop", True, key="sg_loop")
    fps = st.slider("Frames per second", 4, 30, 12, key="sg_fps")
    keys = seeds_or_error(key_text, "Keyframe seeds", limit=64)
    if keys is not None and len(keys) < 2:
        st.warning("Give at least two keyframe seeds.")
    elif keys is not None and st.button("Render MP4 + GIF", key="sg_render_video", disabled=busy(RUN_KEY)):
        _start_video(m, keys, steps, space, loop, fps, psi, noise_mode)
    done = finished_job(RUN_KEY)
    if done is not None:
        st.session_state["sg_video"] = (done.result["mp4"], done.result["gif"])
    if keys is not None and len(keys) >= 2:
        add_to_show(MorphScene(model=m.file, seeds=keys, psi=psi, noise=noise_mode,
                               space="w" if space.startswith("W") else "z", loop=loop, fps=float(fps)),
                    key="add_to_show_keyframes")
    if "sg_video" in st.session_state:
        _show_video()
