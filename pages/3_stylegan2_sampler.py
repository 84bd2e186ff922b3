"""StyleGAN2 sampler: seeds, truncation, a live A<->B morph, interpolation videos, style mixing,
SeFa semantic sliders, batch export and the hand-off to the animator. All model work is in core.stylegan2.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import streamlit as st
import streamlit.components.v1 as components
import torch

import core
from core import stylegan2 as sg
from core.checkpoint import CheckpointError
from core.imaging import png_bytes
from pages._common import HANDOFF_ANIMATOR_SOURCE, HANDOFF_ANIMATOR_SOURCE_LABEL, page_header

BUNDLED = core.CHECKPOINTS_DIR / "stylegan2_demo.pt"
RANDOM_LABEL = "Untrained demo generator (random weights, 64 px)"
UPLOAD_LABEL = "Upload a file…"
DISPLAY = 256            # on-screen size of the main images
DRAG_BUDGET_MS = 250     # target cost of one preview render while the morph slider moves
SCRUB_FRAMES = 33        # frames pre-rendered for the in-browser morph slider (t step 1/32)

page_header("StyleGAN2 sampler",
            "Generate faces of nobody from seeds, morph between them while you drag, mix their styles and "
            "find semantic directions without labels. Official StyleGAN2-ADA pickles load unchanged.")


# --- models (cached, never mutated) -------------------------------------------------------------------

@st.cache_resource(show_spinner="Loading generator…", max_entries=4)
def _load(path: str, mtime: float) -> tuple[sg.Generator, sg.WsCache, int]:
    G = sg.load_generator(path)
    return G, sg.WsCache(G), _preview_res(G)


@st.cache_resource(show_spinner="Building the untrained demo generator…")
def _random_model() -> tuple[sg.Generator, sg.WsCache, int]:
    G = sg.random_generator(64, z_dim=128, w_dim=128, channel_max=128, seed=0)
    return G, sg.WsCache(G), _preview_res(G)


def _preview_res(G: sg.Generator) -> int:
    if G.img_resolution <= 128:
        return G.img_resolution
    return max(16, sg.preview_resolution(G, DRAG_BUDGET_MS))


@st.cache_resource(show_spinner="Factorising the modulation weights (SeFa)…", max_entries=8)
def _sefa(model_key: str, _G: sg.Generator, group: str, num: int) -> sg.SemanticDirections:
    layers = None if group == "all" else sg.style_layers(_G, group)
    return sg.sefa_directions(_G, layers=layers, num=num)


@st.cache_data(show_spinner=False, max_entries=64)
def _strips(model_key: str, _G: sg.Generator, _sem: sg.SemanticDirections, group: str, num: int, seed: int,
            psi: float, noise_mode: str, max_res: int, _ws: torch.Tensor) -> list[np.ndarray]:
    # Keyed on everything that determines the pixels; the tensors themselves are not hashed.
    return [sg.direction_strip(_G, _ws, _sem, k, noise_mode=noise_mode, max_resolution=max_res, out_size=80)
            for k in range(num)]


def _model_files() -> list[Path]:
    d = Path(core.DOWNLOADS_DIR)
    if not d.is_dir():
        return []
    suffixes = (".pkl", ".pt", ".pth", ".tar")
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def _save_upload(upload) -> Path:
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    path = Path(core.CACHE_DIR) / "uploads" / f"{digest}{Path(upload.name).suffix.lower() or '.pkl'}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


options: dict[str, Path | None] = {}
if BUNDLED.is_file():
    options["Bundled demo model (checkpoints/stylegan2_demo.pt)"] = BUNDLED
options[RANDOM_LABEL] = None
for f in _model_files():
    options[f"Downloaded: {f.name}"] = f
options[UPLOAD_LABEL] = None

with st.sidebar:
    st.subheader("Model")
    choice = st.selectbox("Generator", list(options), key="sg_model")
    upload = None
    if choice == UPLOAD_LABEL:
        upload = st.file_uploader("Official .pkl network pickle or project .pt checkpoint",
                                  type=["pkl", "pt", "pth", "tar"], key="sg_upload")
    st.caption("Get official weights with `python -m core.stylegan2 download ffhq-1024` "
               "(files land in checkpoints/downloads and appear here).")

if not BUNDLED.is_file():
    st.info("The bundled StyleGAN2 checkpoint (checkpoints/stylegan2_demo.pt) is not present in this "
            "installation, so the default is an **untrained** generator with random weights: the pictures "
            "are abstract textures, not faces, but every control works.")

model_key = "random"
bundle = None
load_error = None
try:
    if choice == UPLOAD_LABEL:
        if upload is not None:
            path = _save_upload(upload)
            bundle = _load(str(path), path.stat().st_mtime)
            model_key = f"upload:{path.name}"
    elif options[choice] is not None:
        path = options[choice]
        bundle = _load(str(path), path.stat().st_mtime)
        model_key = f"{path}:{path.stat().st_mtime}"
except CheckpointError as e:
    load_error = str(e)
except Exception as e:  # a damaged file must never take the page down
    load_error = f"Could not open this file: {type(e).__name__}: {e}"
if load_error:
    st.error(f"**This file cannot be used as a StyleGAN2 generator.** {load_error}")
    st.caption("Showing the untrained demo generator instead.")
if bundle is None:
    bundle = _random_model()
    model_key = "random"
G, ws_cache, preview_res = bundle
untrained = model_key == "random"
kind = G.source_info.get("kind", "?")
st.caption(f"{G.img_resolution}×{G.img_resolution} px · z {G.z_dim} · w {G.w_dim} · {G.num_ws} style "
           f"layers · source: {kind}" + (" · **untrained (random weights)**" if untrained else "")
           + (f" · step {G.source_info['step']}" if G.source_info.get("step") else "")
           + (f" · {float(G.source_info['kimg']):.1f} kimg" if G.source_info.get("kimg") else ""))


# --- controls ---------------------------------------------------------------------------------------

def _randomise() -> None:
    st.session_state["sg_seed"] = int(np.random.default_rng().integers(0, 100_000))


st.session_state.setdefault("sg_seed", 42)
c1, c2, c3, c4 = st.columns([2, 1, 3, 2])
seed = int(c1.number_input("Seed", min_value=0, max_value=2**32 - 1, step=1, key="sg_seed"))
c2.write("")
c2.button("🎲 Random", on_click=_randomise, help="Pick a random seed")
psi = c3.slider("Truncation ψ", 0.0, 1.5, 0.7, 0.05, key="sg_psi",
                help="Pulls w towards the average face: lower = more typical, higher = more varied.")
noise_mode = c4.radio("Noise", ["const", "random", "none"], horizontal=True, key="sg_noise",
                      help="Per-pixel noise: fixed per layer (const), drawn from the seed (random), or off.")


def _render(ws: torch.Tensor, max_res: int | None = None) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    # Native resolution: the browser scales it to the display width, which is cheaper than resizing
    # and re-encoding a bigger PNG here.
    img = sg.synthesize(G, ws, noise_mode, noise_seed=seed, max_resolution=max_res)[0]
    return img, (time.perf_counter() - t0) * 1000


def _send_to_animator(image: np.ndarray, label: str) -> None:
    # Hand the animator a full-resolution image, not the display-sized one.
    st.session_state[HANDOFF_ANIMATOR_SOURCE] = np.ascontiguousarray(image, dtype=np.uint8)
    st.session_state[HANDOFF_ANIMATOR_SOURCE_LABEL] = label


main_col, morph_col = st.columns(2)
with main_col:
    st.subheader("Sample")
    t0 = time.perf_counter()
    ws_main = ws_cache.get(seed, psi)
    full_main = sg.synthesize(G, ws_main, noise_mode, noise_seed=seed)[0]
    main_ms = (time.perf_counter() - t0) * 1000
    st.image(full_main, caption=f"seed {seed}, ψ {psi:.2f}", width=DISPLAY)
    st.caption(f"⏱ {main_ms:.0f} ms (mapping + synthesis at {G.img_resolution} px)")
    b1, b2 = st.columns(2)
    b1.download_button("Download PNG", png_bytes(full_main), file_name=f"seed{seed:05d}.png",
                       mime="image/png")
    if b2.button("Send to animator ➜", key="sg_send_main"):
        _send_to_animator(full_main, f"StyleGAN2 seed {seed}, psi {psi:.2f}")
        st.success("Sent to the FOMM animator; open **4 · Animate**.")


@st.cache_data(max_entries=8, show_spinner=False)
def _scrub_frames(model_key: str, seed_a: int, seed_b: int, psi: float, noise: str, res: int,
                  _G: sg.Generator, _cache: sg.WsCache) -> list[str]:
    """Base64 PNGs of the A->B morph at SCRUB_FRAMES evenly spaced t, at ``res`` px."""
    wa, wb = _cache.get(seed_a, psi), _cache.get(seed_b, psi)
    frames = []
    for i in range(SCRUB_FRAMES):
        img = sg.synthesize(_G, sg.lerp(wa, wb, i / (SCRUB_FRAMES - 1)), noise, noise_seed=seed_a,
                            max_resolution=res)[0]
        frames.append(base64.b64encode(png_bytes(img)).decode("ascii"))
    return frames


def _scrub_html(frames: list[str], size: int) -> str:
    # The slider's `input` event fires continuously while dragging, so swapping pre-rendered frames in
    # the browser updates the face with no server round trip (st.slider only reports on release).
    mid = len(frames) // 2
    return f"""
<div style="font-family: sans-serif">
  <img id="face" src="data:image/png;base64,{frames[mid]}"
       style="width:{size}px;height:{size}px;border-radius:0.5rem;display:block"/>
  <input id="t" type="range" min="0" max="{len(frames) - 1}" value="{mid}" step="1"
         style="width:{size}px;accent-color:#ff4b4b" aria-label="Blend A to B while dragging"/>
  <div id="label" style="font-size:13px;color:#808495">t = 0.50 (drag: updates live in the browser)</div>
</div>
<script>
  const frames = {json.dumps(frames)};
  const slider = document.getElementById("t"), face = document.getElementById("face");
  const label = document.getElementById("label");
  slider.addEventListener("input", () => {{
    face.src = "data:image/png;base64," + frames[slider.value];
    label.textContent = "t = " + (slider.value / (frames.length - 1)).toFixed(2);
  }});
</script>"""


@st.fragment
def morph_panel() -> None:
    st.subheader("A ↔ B morph")
    a_col, b_col = st.columns(2)
    seed_a = int(a_col.number_input("Seed A", 0, 2**32 - 1, value=seed, key="sg_seed_a"))
    seed_b = int(b_col.number_input("Seed B", 0, 2**32 - 1, value=seed + 1, key="sg_seed_b"))
    # Pre-rendering costs SCRUB_FRAMES renders per seed pair: instant for small models, seconds for
    # official-size ones, so it starts on only where it does not slow the page down.
    if st.toggle("Live scrub (updates while you drag)", value=G.img_resolution <= 128, key="sg_scrub",
                 help=f"Pre-renders {SCRUB_FRAMES} blends once per seed pair; the slider below then "
                      "swaps them in the browser as you drag."):
        t0 = time.perf_counter()
        frames = _scrub_frames(model_key, seed_a, seed_b, float(psi), noise_mode, preview_res, G, ws_cache)
        components.html(_scrub_html(frames, DISPLAY), height=DISPLAY + 60)
        st.caption(f"⏱ {SCRUB_FRAMES} frames at {preview_res} px ready in "
                   f"{(time.perf_counter() - t0) * 1000:.0f} ms (cached per seed pair)")
    t = st.slider("Blend A → B (linear in W)", 0.0, 1.0, 0.5, 0.01, key="sg_morph_t")
    # Mapping outputs are cached per seed, so a slider change costs one synthesis only.
    ws = sg.lerp(ws_cache.get(seed_a, psi), ws_cache.get(seed_b, psi), t)
    slot = st.empty()
    info = st.empty()
    if preview_res < G.img_resolution:
        # Show a cheap early-exit render first; the full image replaces it unless the slider moved again.
        img, ms = _render(ws, preview_res)
        slot.image(img, caption=f"preview {preview_res} px", width=DISPLAY)
        info.caption(f"⏱ preview {ms:.0f} ms at {preview_res} px, rendering full resolution…")
        full, full_ms = _render(ws)
        slot.image(full, caption=f"t = {t:.2f}", width=DISPLAY)
        info.caption(f"⏱ slider → image: preview {ms:.0f} ms ({preview_res} px) · full {full_ms:.0f} ms "
                     f"({G.img_resolution} px)")
    else:
        full, full_ms = _render(ws)
        slot.image(full, caption=f"A {seed_a} → B {seed_b}, t = {t:.2f}", width=DISPLAY)
        info.caption(f"⏱ slider → image: {full_ms:.0f} ms")
    if st.button("Send this blend to animator ➜", key="sg_send_morph"):
        _send_to_animator(sg.synthesize(G, ws, noise_mode, noise_seed=seed)[0],
                          f"StyleGAN2 morph {seed_a}→{seed_b} t={t:.2f}, psi {psi:.2f}")
        st.success("Sent to the FOMM animator; open **4 · Animate**.")


with morph_col:
    morph_panel()

if HANDOFF_ANIMATOR_SOURCE in st.session_state:
    st.caption(f"Animator hand-off ready: {st.session_state.get(HANDOFF_ANIMATOR_SOURCE_LABEL, 'a face')}.")


# --- tabs -------------------------------------------------------------------------------------------

tab_video, tab_mix, tab_sefa, tab_batch = st.tabs(
    ["🎞 Interpolation video", "🧩 Style mixing", "🎚 Semantic sliders (SeFa)", "📦 Batch"])


def _seeds_or_error(text: str, label: str, limit: int = 10_000) -> list[int] | None:
    try:
        return sg.parse_seeds(text, limit=limit)
    except ValueError as e:
        st.error(f"{label}: {e}. Use numbers and ranges, e.g. `1, 5, 10-12`.")
        return None


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
        from core.video import write_gif, write_mp4

        ws_path = sg.keyframe_ws(G, keys, steps, "w" if space.startswith("W") else "z", psi, loop=loop)
        out_dir = Path(core.EXPORTS_DIR) / "stylegan2"
        stem = f"morph_{'-'.join(map(str, keys[:6]))}_{int(time.time())}"
        bar = st.progress(0.0, text="Rendering frames…")
        frames, t0 = [], time.perf_counter()
        for i, fr in enumerate(sg.render_frames(G, ws_path, noise_mode, out_size=min(G.img_resolution, 512))):
            frames.append(fr)
            done = (i + 1) / len(ws_path)
            eta = (time.perf_counter() - t0) / done * (1 - done)
            bar.progress(done, text=f"Frame {i + 1}/{len(ws_path)} · ETA {eta:.0f} s")
        write_mp4(frames, out_dir / f"{stem}.mp4", fps=fps)
        gif_frames = [f[::2, ::2] if f.shape[0] > 256 else f for f in frames]
        write_gif(gif_frames, out_dir / f"{stem}.gif", fps=fps)
        bar.empty()
        st.session_state["sg_video"] = (str(out_dir / f"{stem}.mp4"), str(out_dir / f"{stem}.gif"))
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
    group = x3.radio("Layers taken from the column", list(sg.STYLE_GROUPS), horizontal=True, key="sg_group")
    layers = sg.style_layers(G, group)
    st.caption(f"{group}: style layers {layers[0]}–{layers[-1]} of {G.num_ws}" if layers else "no layers")
    rows = _seeds_or_error(rows_text, "Row seeds", limit=8)
    cols = _seeds_or_error(cols_text, "Column seeds", limit=8)
    if rows and cols and st.button("Mix styles", key="sg_mix"):
        with st.spinner("Rendering the grid…"):
            st.session_state["sg_mix_grid"] = sg.style_mixing_grid(
                G, rows, cols, layers, psi, noise_mode, out_size=min(G.img_resolution, 128))
            st.session_state["sg_mix_label"] = f"{group} from columns; rows {rows}, columns {cols}"
    if "sg_mix_grid" in st.session_state:
        st.image(st.session_state["sg_mix_grid"], caption=st.session_state["sg_mix_label"])


with tab_sefa:
    st.caption("Closed-form factorisation (SeFa, Shen & Zhou 2021): the eigenvectors of the style-"
               "modulation weights are the directions in W that change the image most. No labels: "
               "look at the strips and name them yourself.")
    s1, s2 = st.columns(2)
    sefa_group = s1.radio("Factorise layers", ["all", *sg.STYLE_GROUPS], horizontal=True, key="sg_sefa_group")
    num_dirs = s2.slider("Directions", 1, 8, 5, key="sg_sefa_num")
    sem = _sefa(model_key, G, sefa_group, num_dirs)
    strip_res = min(G.img_resolution, max(preview_res, 32))
    if st.checkbox("Show preview strips (−3σ … +3σ)", value=G.img_resolution <= 64, key="sg_sefa_strips"):
        strips = _strips(model_key, G, sem, sefa_group, num_dirs, seed, psi, noise_mode, strip_res, ws_main)
        for k, strip in enumerate(strips):
            st.image(strip, caption=f"{st.session_state.get(f'sg_dir_name_{k}', f'direction {k + 1}')} "
                             f"(eigenvalue {float(sem.eigenvalues[k]):.2f})")

    @st.fragment
    def sefa_panel() -> None:
        amounts = []
        left, right = st.columns([3, 2])
        with left:
            for k in range(num_dirs):
                n_col, a_col = st.columns([2, 3])
                name = n_col.text_input(f"Name of direction {k + 1}", f"direction {k + 1}",
                                        key=f"sg_dir_name_{k}")
                amounts.append(a_col.slider(name or f"direction {k + 1}", -3.0, 3.0, 0.0, 0.25,
                                            key=f"sg_dir_amt_{k}_{model_key}"))
        edited = sg.apply_directions(ws_main, sem, amounts)
        img, ms = _render(edited)
        with right:
            st.image(img, caption=f"seed {seed} edited", width=DISPLAY)
            st.caption(f"⏱ {ms:.0f} ms")
            if st.button("Send edited face to animator ➜", key="sg_send_sefa"):
                named = ", ".join(f"{st.session_state.get(f'sg_dir_name_{k}')} {a:+.2f}σ"
                                  for k, a in enumerate(amounts) if a)
                _send_to_animator(sg.synthesize(G, edited, noise_mode, noise_seed=seed)[0],
                                  f"StyleGAN2 seed {seed}, psi {psi:.2f}, {named or 'unedited'}")
                st.success("Sent to the FOMM animator.")

    sefa_panel()


with tab_batch:
    st.caption("The study generated 300 faces; render any seed list to a zip of PNGs (seed in each name).")
    batch_text = st.text_input("Seeds", "0-299", key="sg_batch_seeds")
    seeds = _seeds_or_error(batch_text, "Seeds", limit=2000)
    if seeds:
        st.caption(f"{len(seeds)} images at {G.img_resolution} px, ψ {psi:.2f}, noise {noise_mode}.")
    if seeds and st.button("Generate zip", key="sg_batch_go"):
        buf = io.BytesIO()
        bar = st.progress(0.0, text="Generating…")
        t0 = time.perf_counter()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            for i, (s, img) in enumerate(sg.generate_images(G, seeds, psi, noise_mode=noise_mode)):
                zf.writestr(f"seed{s:05d}.png", png_bytes(img))
                done = (i + 1) / len(seeds)
                eta = (time.perf_counter() - t0) / done * (1 - done)
                bar.progress(done, text=f"{i + 1}/{len(seeds)} · ETA {eta:.0f} s")
        bar.empty()
        st.session_state["sg_batch_zip"] = (buf.getvalue(), len(seeds), time.perf_counter() - t0)
    if "sg_batch_zip" in st.session_state:
        data, n, secs = st.session_state["sg_batch_zip"]
        st.success(f"{n} images in {secs:.1f} s ({secs / max(n, 1) * 1000:.0f} ms each).")
        st.download_button("Download zip", data, "stylegan2_batch.zip", "application/zip", key="sg_zip_dl")
