"""StyleGAN2 sampler: the face of a seed, large, with ONE A -> B morph slider under it (scrubbed in the
browser while dragging, rendered exactly on release) and the hand-off to the animator; under it the tool
tabs (interpolation videos, style mixing, SeFa, batch export: pages/_sampler_tools.py). All model work is
in core.stylegan2.

Speed where the room waits: the face is rendered first; the drag frames of the morph are prepared in
the background afterwards (a loader fragment hands them over when the browser asks, only while they are
missing); the face and its controls are one fragment, so a seed change reruns only that.
"""

from __future__ import annotations

import base64
import functools
import gc
import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import streamlit as st
import torch

import core
from core import provenance as pv
from core import stylegan2 as sg
from core.checkpoint import CheckpointError
from core.device import DeviceError, choose_device, describe
from core.imaging import display_resize
from core.showcase import Showcase, fallback, load_showcase
from pages._common import (
    HANDOFF_ANIMATOR_SOURCE,
    HANDOFF_ANIMATOR_SOURCE_LABEL,
    device_choice,
    page_header,
    send_to_animator,
)
from pages._morph_view import ScrubJobs, deliver_frames, morph_view, released_value
from pages._provenance import export_options, export_settings, licence_caption, signing_blocked
from pages._sampler_tools import SamplerModel, sampler_tools
from pages._show import add_to_show

BUNDLED = core.CHECKPOINTS_DIR / "stylegan2_demo.pt"
RANDOM_LABEL = "Untrained demo generator (random weights, 64 px)"
UPLOAD_LABEL = "Upload a file…"
ENCODE_PX = 256          # faces smaller than this are sent upscaled (Lanczos: sharper than the browser's)
MAX_ENCODE_PX = 512      # and larger ones downscaled: the view is ~500 px wide
DRAG_BUDGET_MS = 250     # target cost of one drag frame for big models (they scrub at a lower resolution)
MIN_DRAG_PX = 256        # ... but never below this: the drag frames of a 1024 px model stay a face
SCRUB_FRAMES = 33        # frames pre-rendered for the in-browser morph scrub (t step 1/32)
SCRUB_FRAMES_LARGE = 17  # large generators: t step 1/16 (each frame is a >= 256 px face, ~1 s of one core)
SCRUB_POLL_MS = 600      # while frames are being rendered, the browser asks again this often

page_header("StyleGAN2 sampler",
            "Faces of nobody from seeds: drag the slider under the face to morph it into another one. "
            "Official StyleGAN2-ADA pickles load unchanged.")


# --- models (cached, never mutated) -------------------------------------------------------------------

@st.cache_resource(show_spinner="Loading generator…", max_entries=4)
def _load(path: str, mtime: float, device: str = "cpu") -> tuple[sg.Generator, sg.WsCache, int]:
    G = sg.load_generator(path)
    if device != "cpu":
        G = G.to(device)
    return G, sg.WsCache(G), _preview_res(G)


@st.cache_resource(show_spinner="Building the untrained demo generator…")
def _random_model() -> tuple[sg.Generator, sg.WsCache, int]:
    G = sg.random_generator(64, z_dim=128, w_dim=128, channel_max=128, seed=0)
    return G, sg.WsCache(G), _preview_res(G)


def _preview_res(G: sg.Generator) -> int:
    if G.img_resolution <= 128:
        return G.img_resolution
    # Large generators: drag frames from the 256 px block at least (the skip architecture's running image
    # there is already a face, not a blur); higher where the machine draws it within the budget.
    return min(G.img_resolution, max(MIN_DRAG_PX, sg.preview_resolution(G, DRAG_BUDGET_MS)))


@st.cache_data(show_spinner=False, max_entries=8)
def _showcase(path: str | None, mtime: float) -> Showcase:
    if path is None:
        return fallback("random", 12, "The untrained generator has no showcase list.")
    return load_showcase(path)


@st.cache_resource(max_entries=8)
def _freeze_gc(model_key: str) -> None:
    # Streamlit runs gc.collect(2) after every script run, fragment reruns included
    # (runner.postScriptGC); with torch loaded that walks ~230k objects, ~130 ms of CPU per seed change
    # and more than half the server's time with five sessions. What is alive now (modules, the
    # generator) lives as long as the process: take it out of the collector's sight, once per model.
    gc.collect()
    gc.freeze()


def _render_threads(G: sg.Generator) -> int:
    # Per script thread (OpenMP): small generators gain nothing from intra-op threads, and two spinning
    # threads per session thrash when several sessions render on a 2-core box at once.
    return 1 if G.img_resolution <= 256 else 2


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
    st.caption("Get official weights with `python -m core.stylegan2 download ffhq-1024 --accept-licence` "
               "(files land in checkpoints/downloads and appear here).")
    device_request = device_choice()
    st.subheader("Sampling")
    psi = st.slider("Truncation ψ", 0.0, 1.5, 0.7, 0.05, key="sg_psi",
                    help="Pulls w towards the average face: lower = more typical, higher = more varied.")
    noise_mode = st.radio("Noise", ["const", "random", "none"], horizontal=True, key="sg_noise",
                          help="Per-pixel noise: fixed per layer (const), drawn from the seed (random), "
                               "or off.")
    st.toggle("Drag preview (frames prepared in the background)", value=True, key="sg_scrub",
              help=f"After the face is shown, {SCRUB_FRAMES} blends of the current A → B pair are rendered "
                   "in the background; the slider then shows them while you drag. Without them the face "
                   "updates when you let go.")

if not BUNDLED.is_file():
    st.info("The bundled StyleGAN2 checkpoint (checkpoints/stylegan2_demo.pt) is not present in this "
            "installation, so the default is an **untrained** generator with random weights: the pictures "
            "are abstract textures, not faces, but every control works.")

model_key = "random"
bundle = None
load_error = None
path: Path | None = None
device_error = None
try:
    device = choose_device(device_request).device
except DeviceError as e:  # e.g. CUSTOM_CAST_DEVICE names a GPU this machine lacks
    device, device_error = "cpu", str(e)
try:
    if choice == UPLOAD_LABEL:
        if upload is not None:
            path = _save_upload(upload)
            bundle = _load(str(path), path.stat().st_mtime, device)
            model_key = f"upload:{path.name}"
    elif options[choice] is not None:
        path = options[choice]
        bundle = _load(str(path), path.stat().st_mtime, device)
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
_freeze_gc(model_key)
untrained = model_key == "random"
model_file = None if untrained else str(path)  # what a show scene names (None: no file to name)
licence_caption(model_file or "untrained")
with st.sidebar:
    export_options()
showcase = _showcase(model_file, Path(model_file).stat().st_mtime if model_file else 0.0)
torch.set_num_threads(_render_threads(G))
kind = G.source_info.get("kind", "?")
st.caption(f"{G.img_resolution}×{G.img_resolution} px · z {G.z_dim} · w {G.w_dim} · {G.num_ws} style "
           f"layers · source: {kind}" + (" · **untrained (random weights)**" if untrained else "")
           + (f" · step {G.source_info['step']}" if G.source_info.get("step") else "")
           + (f" · {float(G.source_info['kimg']):.1f} kimg" if G.source_info.get("kimg") else "")
           + ("" if showcase.curated else f" · {showcase.note}"))
if device_error:
    st.warning(f"{device_error}. Drawing on the processor instead.")


def _device_line() -> None:
    """Where and how precisely the faces are drawn, in plain words (and a GPU that gave out, once)."""
    fallback_line = G.__dict__.get("device_fallback")
    if fallback_line:
        st.warning(fallback_line[:1].upper() + fallback_line[1:] + ".")
    st.caption("🖥 " + describe(sg.generator_device(G), sg.render_precision(G, noise_mode)))


# --- seeds: A is the face on screen, B the face the slider morphs it into ------------------------------

def _partner(seed: int, rng: np.random.Generator, avoid: int | None = None, use_pairs: bool = True) -> int:
    """A seed B that looks clearly different from ``seed``: its showcase pair, else one of the three
    farthest in W among the showcase seeds (or among random seeds when there is no curated list)."""
    if showcase.curated and use_pairs:
        for a, b in showcase.pairs:
            other = b if a == seed else a if b == seed else None
            if other is not None and other != avoid:
                return other
    pool = showcase.seeds if showcase.curated else [int(s) for s in rng.integers(0, 100_000, 24)]
    far = [s for s in sg.farthest_seeds(ws_cache, seed, pool, psi) if s != avoid]
    return int(rng.choice(far[:3])) if far else seed + 1


st.session_state.setdefault("sg_seed", showcase.pairs[0][0] if showcase.pairs else showcase.seeds[0])
st.session_state.setdefault("sg_seed_b", showcase.pairs[0][1] if showcase.pairs else showcase.seeds[1])
st.session_state.setdefault("sg_morph_t", 0.0)


def _randomise() -> None:
    rng = np.random.default_rng()
    current = int(st.session_state["sg_seed"])
    if showcase.curated:
        seed = int(rng.choice([s for s in showcase.seeds if s != current]))
    else:
        seed = int(rng.integers(0, 100_000))
    st.session_state["sg_seed"] = seed
    st.session_state["sg_seed_b"] = _partner(seed, rng)
    st.session_state["sg_morph_t"] = 0.0


def _new_b() -> None:
    seed = int(st.session_state["sg_seed"])
    st.session_state["sg_seed_b"] = _partner(seed, np.random.default_rng(),
                                             avoid=st.session_state["sg_seed_b"], use_pairs=False)
    st.session_state["sg_morph_t"] = 0.0


def _seed_changed() -> None:
    st.session_state["sg_morph_t"] = 0.0  # the new face A is what the room should see
    if st.session_state["sg_seed_b"] == st.session_state["sg_seed"]:
        st.session_state["sg_seed_b"] = _partner(int(st.session_state["sg_seed"]), np.random.default_rng())


def _released() -> None:
    value = released_value("sg_morph")
    if value is not None:
        st.session_state["sg_morph_t"] = value


def _encode_px() -> int:
    return min(max(ENCODE_PX, G.img_resolution), MAX_ENCODE_PX)


def _data_url(img: np.ndarray, fmt: str = "png") -> str:
    """A data URL of ``img`` at the view's encode size (PNG for the exact face, JPEG for drag frames)."""
    size = _encode_px()
    img = display_resize(img, size)
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1] if fmt == "png" else [cv2.IMWRITE_JPEG_QUALITY, 88]
    ok, buf = cv2.imencode(f".{fmt}", np.ascontiguousarray(img[..., ::-1]), params)
    assert ok, fmt
    mime = "image/png" if fmt == "png" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.tobytes()).decode('ascii')}"


def _pair_key(seed_a: int, seed_b: int) -> str:
    return f"{model_key}|{seed_a}|{seed_b}|{psi:.4f}|{noise_mode}|{preview_res}|{_encode_px()}"


@st.fragment
def hero() -> None:
    """The face and its controls: a seed change or a slider release reruns only this."""
    torch.set_num_threads(_render_threads(G))
    face_col, ctl_col = st.columns([3, 2], gap="large")
    with ctl_col:
        a_col, a_btn = st.columns([3, 2], vertical_alignment="bottom")
        a_col.number_input("Seed (face A)", min_value=0, max_value=2**32 - 1, step=1, key="sg_seed",
                           on_change=_seed_changed)
        a_btn.button("🎲 Random", key="sg_random", on_click=_randomise, width="stretch",
                     help="Another showcase face (and a clearly different face B to morph into)")
        b_col, b_btn = st.columns([3, 2], vertical_alignment="bottom")
        b_col.number_input("Morph into seed B", min_value=0, max_value=2**32 - 1, step=1, key="sg_seed_b",
                           on_change=lambda: st.session_state.update(sg_morph_t=0.0))
        b_btn.button("🎲 New B", key="sg_random_b", on_click=_new_b, width="stretch",
                     help="A face B that looks clearly different from A (far away in W)")
    seed, seed_b = int(st.session_state["sg_seed"]), int(st.session_state["sg_seed_b"])
    t = float(st.session_state["sg_morph_t"])

    # The face of this fragment's last run is kept: a click on Send to animator or Add to show reruns the
    # fragment, and a 1024 px face costs seconds to draw again (the same picture).
    face_key = (model_key, str(sg.generator_device(G)), seed, seed_b if t else None, t, psi, noise_mode)
    kept = st.session_state.get("sg_face")
    if kept is not None and kept[0] == face_key:
        image, src, ms = kept[1:]
    else:
        t0 = time.perf_counter()
        ws = ws_cache.get(seed, psi)
        if t:
            ws = sg.lerp(ws, ws_cache.get(seed_b, psi), t)
        image = sg.synthesize(G, ws, noise_mode, noise_seed=seed)[0]
        src = _data_url(image)
        ms = (time.perf_counter() - t0) * 1000
        st.session_state["sg_face"] = (face_key, image, src, ms)

    pair = _pair_key(seed, seed_b)
    st.session_state["sg_scrub_want"] = (pair, seed, seed_b)
    with face_col:
        morph_view(key="sg_morph", src=src, t=t, pair=pair, seed_a=seed, on_release=_released,
                   scrub=bool(st.session_state.get("sg_scrub", True)),
                   caption=f"A = seed {seed} · B = seed {seed_b} · t = {t:.2f} · ψ {psi:.2f}")
    with ctl_col:
        st.caption(f"⏱ {'slider' if t else 'seed'} → image {ms:.0f} ms (mapping + synthesis at "
                   f"{G.img_resolution} px + encoding)")
        _device_line()
        label = f"StyleGAN2 seed {seed}" + (f" → {seed_b} t={t:.2f}" if t else "") + f", psi {psi:.2f}"
        d_col, s_col = st.columns(2)
        name = f"seed{seed:05d}" + (f"_to{seed_b:05d}_t{t:.2f}" if t else "") + ".png"
        # A callable: the PNG is encoded when the button is pressed, not on every seed change.
        made = {"seed": seed, "psi": psi, "noise": noise_mode,
                **({"seed_b": seed_b, "t": round(t, 3)} if t else {})}
        origin = pv.Origin("StyleGAN2 sampler", (model_file or "untrained",), made, title=name)
        png = functools.partial(pv.export_png, image, origin, export_settings())
        d_col.download_button("Download PNG", png,
                              file_name=name, mime="image/png", key="sg_download", on_click="ignore",
                              width="stretch", disabled=signing_blocked())
        if s_col.button("Send to animator ➜", key="sg_send_main", width="stretch"):
            send_to_animator(image, label)
            st.success("Sent to the FOMM animator; open **4 · Animate**.")
        if HANDOFF_ANIMATOR_SOURCE in st.session_state:
            st.caption(f"Animator hand-off ready: "
                       f"{st.session_state.get(HANDOFF_ANIMATOR_SOURCE_LABEL, 'a face')}.")
        f_col, m_col = st.columns(2)
        with f_col:
            add_to_show({"kind": "face", "model": model_file, "seed": seed, "psi": psi, "noise": noise_mode},
                        label="🎬 Add face to show")
        with m_col:
            add_to_show({"kind": "morph", "model": model_file, "seeds": [seed, seed_b], "psi": psi,
                         "noise": noise_mode}, label="🎬 Add morph to show")


# --- drag frames: rendered in the background after the face is on screen --------------------------------

@st.cache_resource
def _scrub_jobs() -> ScrubJobs:
    return ScrubJobs()


def _scrub_work(seed_a: int, seed_b: int) -> Callable[[threading.Event], tuple[list[str], float] | None]:
    G_, cache_, psi_, noise_, res_ = G, ws_cache, psi, noise_mode, preview_res

    def work(cancel: threading.Event) -> tuple[list[str], float] | None:
        torch.set_num_threads(1)  # background work: never more than one core
        t0 = time.perf_counter()
        wa, wb = cache_.get(seed_a, psi_), cache_.get(seed_b, psi_)
        frames = []
        count = _scrub_count(G_)
        for img in sg.morph_frames(G_, wa, wb, count, noise_, noise_seed=seed_a, max_resolution=res_):
            if cancel.is_set():
                return None
            frames.append(_data_url(img, "jpg"))
        return frames, (time.perf_counter() - t0) * 1000

    return work


def _scrub_count(G: sg.Generator) -> int:
    return SCRUB_FRAMES if G.img_resolution <= 256 else SCRUB_FRAMES_LARGE


@st.fragment
def scrub_loader() -> None:
    """Starts the drag-frame job of the pair on screen and hands its frames over. Runs with the page and
    then when the browser asks (only while the frames of the pair on screen are missing)."""
    want = st.session_state.get("sg_scrub_want")
    if want is None or not st.session_state.get("sg_scrub", True):
        deliver_frames(key="sg_scrub_frames", pair=None)
        return
    pair, seed_a, seed_b = want
    nonce = st.session_state["sg_scrub_polls"] = st.session_state.get("sg_scrub_polls", 0) + 1
    jobs = _scrub_jobs()
    previous = st.session_state.get("sg_scrub_job")
    if previous and previous != pair:
        jobs.drop(previous)
    st.session_state["sg_scrub_job"] = pair
    future = jobs.get(pair, _scrub_work(seed_a, seed_b))
    if not future.done() or future.cancelled():  # cancelled: evicted by other pairs; asked again later
        deliver_frames(key="sg_scrub_frames", pair=pair, poll_ms=SCRUB_POLL_MS, nonce=nonce)
        st.caption("Preparing the drag preview in the background…")
        return
    try:
        result = future.result()
    except Exception as e:  # the face is on screen; only the preview is missing
        deliver_frames(key="sg_scrub_frames", pair=pair)
        st.caption(f"Drag preview unavailable ({type(e).__name__}); the face renders on release.")
        return
    if result is None:  # stopped for a newer pair of this session
        deliver_frames(key="sg_scrub_frames", pair=pair, poll_ms=SCRUB_POLL_MS, nonce=nonce)
        return
    frames, ms = result
    deliver_frames(key="sg_scrub_frames", pair=pair, frames=frames, nonce=nonce)
    st.caption(f"⏱ {_scrub_count(G)} frames at {preview_res} px ready in {ms:.0f} ms (rendered in the "
               "background after the face; dragging shows them, letting go renders the exact blend)")


hero()
scrub_loader()

sampler_tools(SamplerModel(G, ws_cache, model_key, model_file, preview_res), psi, noise_mode)
