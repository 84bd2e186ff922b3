"""The sampler's interpolation-video tab: keyframe seeds joined by interpolation (linear in W or spherical
in Z), exported as a signed MP4 (H.264) and GIF."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

import core
from core import provenance as pv
from core import stylegan2 as sg
from pages._provenance import export_settings
from pages._sampler_model import SamplerModel, seeds_or_error
from pages._show import add_to_show


def _render_video(m: SamplerModel, keys: list[int], steps: int, space: str, loop: bool, fps: int, psi: float,
                  noise_mode: str) -> None:
    ws_path = sg.keyframe_ws(m.G, keys, steps, "w" if space.startswith("W") else "z", psi, loop=loop)
    out_dir = Path(core.EXPORTS_DIR) / "stylegan2"
    stem = f"morph_{'-'.join(map(str, keys[:6]))}_{int(time.time())}"
    bar = st.progress(0.0, text="Rendering frames…")
    frames, t0 = [], time.perf_counter()
    out_size = min(m.G.img_resolution, 512)
    for i, fr in enumerate(sg.render_frames(m.G, ws_path, noise_mode, out_size=out_size)):
        frames.append(fr)
        done = (i + 1) / len(ws_path)
        eta = (time.perf_counter() - t0) / done * (1 - done)
        bar.progress(done, text=f"Frame {i + 1}/{len(ws_path)} · ETA {eta:.0f} s")
    made = pv.Origin("StyleGAN2 sampler", (m.file or "untrained",),
                     {"keyframe_seeds": keys, "psi": psi, "space": space, "noise": noise_mode})
    gif_frames = [f[::2, ::2] if f.shape[0] > 256 else f for f in frames]
    bar.empty()
    try:
        pv.export_video(frames, out_dir / f"{stem}.mp4", made, fps, export_settings())
        pv.export_video(gif_frames, out_dir / f"{stem}.gif", made, fps, export_settings())
        st.session_state["sg_video"] = (str(out_dir / f"{stem}.mp4"), str(out_dir / f"{stem}.gif"))
    except pv.ProvenanceError as e:
        st.error(f"Not exported: {e}")


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
    elif keys is not None and st.button("Render MP4 + GIF", key="sg_render_video"):
        _render_video(m, keys, steps, space, loop, fps, psi, noise_mode)
    if keys is not None and len(keys) >= 2:
        add_to_show({"kind": "morph", "model": m.file, "seeds": keys, "psi": psi, "noise": noise_mode,
                     "space": "w" if space.startswith("W") else "z", "loop": loop, "fps": float(fps)},
                    key="add_to_show_keyframes")
    if "sg_video" in st.session_state:
        _show_video()
