"""The StyleGAN2 sampler's tool tabs under the face: interpolation videos, style mixing, SeFa semantic
sliders and batch export. The page owns the model and the face; these read them through
:class:`SamplerModel` and write only their own widgets and session keys (``sg_video``, ``sg_mix_*``,
``sg_dir_*``, ``sg_batch_*``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

import core
from core import provenance as pv
from core import sefa_names
from core import stylegan2 as sg
from core.show import EditScene, MixingScene, MorphScene
from pages._common import send_to_animator
from pages._provenance import export_settings
from pages._show import add_to_show

DISPLAY = 256  # on-screen size of the tab images


@dataclass(frozen=True)
class SamplerModel:
    G: sg.Generator            # cached by the page (st.cache_resource), never mutated here
    ws_cache: sg.WsCache       # seed, psi -> W+, shared with the face above
    key: str                   # identifies the model in cache keys ("random", a path + mtime, an upload)
    file: str | None           # what a show scene names (None: the untrained generator, no file)
    preview_res: int           # resolution that keeps a preview within the drag budget


@st.cache_resource(show_spinner="Factorising the modulation weights (SeFa)…", max_entries=8)
def _sefa(model_key: str, _G: sg.Generator, group: str, num: int) -> sg.SemanticDirections:
    layers = None if group == "all" else sg.style_layers(_G, group)
    return sg.sefa_directions(_G, layers=layers, num=num)


@st.cache_data(show_spinner=False, max_entries=16)
def _direction_names(model_key: str, file: str | None, layers: tuple[int, ...]) -> list | None:
    """Measured names and ranges of the directions (core.sefa_names), when stored for this checkpoint."""
    return sefa_names.load_names(file, layers) if file else None


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


@st.cache_data(show_spinner=False, max_entries=64)
def _strips(model_key: str, _G: sg.Generator, _sem: sg.SemanticDirections, group: str, num: int, seed: int,
            psi: float, noise_mode: str, max_res: int, _ws: torch.Tensor) -> list[np.ndarray]:
    # Keyed on everything that determines the pixels; the tensors themselves are not hashed.
    return [sg.direction_strip(_G, _ws, _sem, k, noise_mode=noise_mode, max_resolution=max_res, out_size=80)
            for k in range(num)]



def _render(m: SamplerModel, ws: torch.Tensor, noise_seed: int, noise_mode: str) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    img = sg.synthesize(m.G, ws, noise_mode, noise_seed=noise_seed)[0]
    return img, (time.perf_counter() - t0) * 1000


def _seeds_or_error(text: str, label: str, limit: int = 10_000) -> list[int] | None:
    try:
        return sg.parse_seeds(text, limit=limit)
    except ValueError as e:
        st.error(f"{label}: {e}. Use numbers and ranges, e.g. `1, 5, 10-12`.")
        return None



def sampler_tools(m: SamplerModel, psi: float, noise_mode: str) -> None:
    """The four tabs, for the face of ``st.session_state["sg_seed"]`` at ``psi`` / ``noise_mode``."""
    seed = int(st.session_state["sg_seed"])
    ws_main = m.ws_cache.get(seed, psi)
    tab_video, tab_mix, tab_sefa, tab_batch = st.tabs(
    ["🎞 Interpolation video", "🧩 Style mixing", "🎚 Semantic sliders (SeFa)", "📦 Batch"])

    with tab_video:
        st.caption("Keyframe seeds joined by interpolation: linear in W (smooth, what the study used) or "
                   "spherical in Z. Exported as MP4 (H.264) and GIF.")
        v1, v2, v3, v4 = st.columns([3, 2, 2, 1])
        key_text = v1.text_input("Keyframe seeds", "1, 2, 3, 4", key="sg_keys")
        space = v2.radio("Interpolate", ["W (lerp)", "Z (slerp)"], horizontal=True, key="sg_space")
        steps = v3.slider("Frames per transition", 4, 60, 12, key="sg_steps")
        loop = v4.checkbox("Loop", True, key="sg_loop")
        fps = st.slider("Frames per second", 4, 30, 12, key="sg_fps")
        keys = _seeds_or_error(key_text, "Keyframe seeds", limit=64)
        if keys is not None and len(keys) < 2:
            st.warning("Give at least two keyframe seeds.")
        elif keys is not None and st.button("Render MP4 + GIF", key="sg_render_video"):
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
        if keys is not None and len(keys) >= 2:
            add_to_show(MorphScene(model=m.file, seeds=keys, psi=psi, noise=noise_mode,
                                   space="w" if space.startswith("W") else "z", loop=loop, fps=float(fps)),
                        key="add_to_show_keyframes")
        if "sg_video" in st.session_state:
            mp4, gif = st.session_state["sg_video"]
            if Path(mp4).is_file() and Path(gif).is_file():
                m1, m2 = st.columns(2)
                m1.video(Path(mp4).read_bytes())
                m2.image(Path(gif).read_bytes(), caption="GIF")
                d1, d2 = st.columns(2)
                d1.download_button("Download MP4", Path(mp4).read_bytes(), Path(mp4).name, "video/mp4")
                d2.download_button("Download GIF", Path(gif).read_bytes(), Path(gif).name, "image/gif")


    with tab_mix:
        st.caption("Each cell takes the row seed's face and replaces one group of style layers with the "
                   "column seed's: coarse = pose and face shape, middle = features and hair, fine = colours "
                   "and texture.")
        x1, x2, x3 = st.columns([2, 2, 2])
        rows_text = x1.text_input("Row seeds (destination)", "85, 100, 75", key="sg_rows")
        cols_text = x2.text_input("Column seeds (style source)", "55, 821, 1789, 293", key="sg_cols")
        group = x3.radio("Layers taken from the column", list(sg.STYLE_GROUPS), horizontal=True,
                         key="sg_group")
        layers = sg.style_layers(m.G, group)
        st.caption(f"{group}: style layers {layers[0]}–{layers[-1]} of {m.G.num_ws}" if layers
                   else "no layers")
        rows = _seeds_or_error(rows_text, "Row seeds", limit=8)
        cols = _seeds_or_error(cols_text, "Column seeds", limit=8)
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


    with tab_sefa:
        st.caption("Closed-form factorisation (SeFa, Shen & Zhou 2021): the eigenvectors of the style-"
                   "modulation weights are the directions in W that change the image most. No labels: each "
                   "is named by measuring faces moved along it with the face mesh (head turn, tilt, smile, "
                   "mouth, eyes, brightness), and its slider stops where the face stops being the same "
                   "person.")
        s1, s2 = st.columns(2)
        sefa_group = s1.radio("Factorise layers", ["all", *sg.STYLE_GROUPS], horizontal=True,
                              key="sg_sefa_group")
        num_dirs = s2.slider("Directions", 1, 8, 5, key="sg_sefa_num")
        sem = _sefa(m.key, m.G, sefa_group, num_dirs)
        measured = _direction_names(m.key, m.file, tuple(sem.layers))
        if measured is None:
            _name_directions_button(m, sefa_group)
        names = [measured[k] if measured and k < len(measured) else None for k in range(num_dirs)]
        strip_res = min(m.G.img_resolution, max(m.preview_res, 32))
        if st.checkbox("Show preview strips (−3σ … +3σ)", value=m.G.img_resolution <= 64,
                       key="sg_sefa_strips"):
            strips = _strips(m.key, m.G, sem, sefa_group, num_dirs, seed, psi, noise_mode, strip_res, ws_main)
            for k, strip in enumerate(strips):
                st.image(strip, caption=st.session_state.get(f"sg_dir_name_{k}", f"direction {k + 1}"))

        @st.fragment
        def sefa_panel() -> None:
            # The face on screen now (the seed may have changed in the fragment above since this tab ran).
            seed_now = int(st.session_state["sg_seed"])
            amounts = []
            left, right = st.columns([3, 2])
            with left:
                for k in range(num_dirs):
                    found = names[k]
                    n_col, a_col = st.columns([2, 3])
                    name = n_col.text_input(f"Name of direction {k + 1}",
                                            found.name if found else f"direction {k + 1}",
                                            key=f"sg_dir_name_{k}_{m.key}_{sefa_group}")
                    st.session_state[f"sg_dir_name_{k}"] = name
                    # Within the measured range the face stays the same person (±3σ without a measurement).
                    low, high = (found.low, found.high) if found else (-3.0, 3.0)
                    label = found.label() if found and name == found.name else (name or f"direction {k + 1}")
                    amounts.append(a_col.slider(label, float(low), float(high), 0.0, 0.25,
                                                key=f"sg_dir_amt_{k}_{m.key}_{sefa_group}",
                                                help=None if found is None else
                                                f"Measured: {found.name}, kept within {found.low:+.1f} … "
                                                f"{found.high:+.1f} σ where the face stays the same person."))
            edited = sg.apply_directions(m.ws_cache.get(seed_now, psi), sem, amounts)
            img, ms = _render(m, edited, seed_now, noise_mode)
            with right:
                st.image(img, caption=f"seed {seed_now} edited", width=DISPLAY)
                st.caption(f"⏱ {ms:.0f} ms")
                if st.button("Send edited face to animator ➜", key="sg_send_sefa"):
                    named = ", ".join(f"{st.session_state.get(f'sg_dir_name_{k}')} {a:+.2f}σ"
                                      for k, a in enumerate(amounts) if a)
                    send_to_animator(sg.synthesize(m.G, edited, noise_mode, noise_seed=seed_now)[0],
                                      f"StyleGAN2 seed {seed_now}, psi {psi:.2f}, {named or 'unedited'}")
                    st.success("Sent to the FOMM animator.")
                # the direction moved most (or the first)
                k = max(range(num_dirs), key=lambda i: abs(amounts[i]))
                low, high = (names[k].low, names[k].high) if names[k] else (-3.0, 3.0)
                add_to_show(EditScene(model=m.file, seed=seed_now, psi=psi, noise=noise_mode,
                                      layers=sefa_group, direction=k, amount_min=low, amount_max=high,
                                      name=st.session_state.get(f"sg_dir_name_{k}", "")))

        sefa_panel()


    with tab_batch:
        st.caption("The study generated 300 faces; render any seed list to a zip of PNGs (seed in each "
                   "name).")
        batch_text = st.text_input("Seeds", "0-299", key="sg_batch_seeds")
        seeds = _seeds_or_error(batch_text, "Seeds", limit=2000)
        if seeds:
            st.caption(f"{len(seeds)} images at {m.G.img_resolution} px, ψ {psi:.2f}, noise {noise_mode}.")
        if seeds and st.button("Generate zip", key="sg_batch_go"):
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
        if "sg_batch_zip" in st.session_state:
            data, n, secs = st.session_state["sg_batch_zip"]
            st.success(f"{n} images in {secs:.1f} s ({secs / max(n, 1) * 1000:.0f} ms each).")
            st.download_button("Download zip", data, "stylegan2_batch.zip", "application/zip",
                               key="sg_zip_dl")
