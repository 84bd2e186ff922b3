"""The sampler's drag frames: the blends of the A -> B pair on screen, rendered in the background after the
face (core.jobs.KeyedRenderer, keyed by the pair, shared by sessions) and handed to the browser by a
polling fragment only while they are missing (pages/_morph_view.py: deliver_frames)."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np
import streamlit as st
import torch

from core import stylegan2 as sg
from core.image.convert import display_resize
from core.jobs import KeyedRenderer
from pages._morph_view import deliver_frames
from pages._sampler_model import SCRUB_FRAMES, SamplerModel

ENCODE_PX = 256          # faces smaller than this are sent upscaled (Lanczos: sharper than the browser's)
MAX_ENCODE_PX = 512      # and larger ones downscaled: the view is ~500 px wide
SCRUB_FRAMES_LARGE = 17  # large generators: t step 1/16 (each frame is a >= 256 px face, ~1 s of one core)
SCRUB_POLL_MS = 600      # while frames are being rendered, the browser asks again after this long,
SCRUB_POLL_GROWTH = 1.5  # then each time this much later (every ask reruns the loader fragment, and every
SCRUB_POLL_MAX_MS = 3000  # rerun re-renders Streamlit's whole sidebar in the visitor's browser)
FramesResult = tuple[list[str], float] | None


def encode_px(G: sg.Generator) -> int:
    return min(max(ENCODE_PX, G.img_resolution), MAX_ENCODE_PX)


def data_url(img: np.ndarray, size: int, fmt: str = "png") -> str:
    """A data URL of ``img`` at ``size`` px (PNG for the exact face, JPEG for drag frames)."""
    img = display_resize(img, size)
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1] if fmt == "png" else [cv2.IMWRITE_JPEG_QUALITY, 88]
    ok, buf = cv2.imencode(f".{fmt}", np.ascontiguousarray(img[..., ::-1]), params)
    assert ok, fmt
    mime = "image/png" if fmt == "png" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.tobytes()).decode('ascii')}"


def pair_key(m: SamplerModel, seed_a: int, seed_b: int, psi: float, noise_mode: str) -> str:
    return f"{m.key}|{seed_a}|{seed_b}|{psi:.4f}|{noise_mode}|{m.preview_res}|{encode_px(m.G)}"


def poll_delay_ms(asks: int) -> int:
    """How long the browser waits before asking for the frames of a pair again, after ``asks`` asks."""
    return int(min(SCRUB_POLL_MS * SCRUB_POLL_GROWTH ** max(asks - 1, 0), SCRUB_POLL_MAX_MS))


def _asks(pair: str) -> int:
    """Asks for ``pair``'s frames so far in this session, this one included."""
    last_pair, asks = st.session_state.get("sg_scrub_asks", (None, 0))
    asks = asks + 1 if last_pair == pair else 1
    st.session_state["sg_scrub_asks"] = (pair, asks)
    return asks


def scrub_count(G: sg.Generator) -> int:
    return SCRUB_FRAMES if G.img_resolution <= 256 else SCRUB_FRAMES_LARGE


@st.cache_resource
def _renderer() -> KeyedRenderer:
    # One worker for every session: the frames never take both cores from the faces being rendered.
    return KeyedRenderer(keep=24, workers=1, name="sg-scrub")


def _work(m: SamplerModel, seed_a: int, seed_b: int, psi: float,
          noise_mode: str) -> Callable[[threading.Event], FramesResult]:
    def work(cancel: threading.Event) -> FramesResult:
        torch.set_num_threads(1)  # background work: never more than one core
        t0 = time.perf_counter()
        wa, wb = m.ws_cache.get(seed_a, psi), m.ws_cache.get(seed_b, psi)
        frames, size = [], encode_px(m.G)
        for img in sg.morph_frames(m.G, wa, wb, scrub_count(m.G), noise_mode, noise_seed=seed_a,
                                   max_resolution=m.preview_res):
            if cancel.is_set():
                return None
            frames.append(data_url(img, size, "jpg"))
        return frames, (time.perf_counter() - t0) * 1000

    return work


@st.fragment
def scrub_loader(m: SamplerModel, psi: float, noise_mode: str) -> None:
    """Starts the drag-frame job of the pair on screen and hands its frames over. Runs with the page and
    then when the browser asks (only while the frames of the pair on screen are missing)."""
    want = st.session_state.get("sg_scrub_want")
    if want is None or not st.session_state.get("sg_scrub", True):
        deliver_frames(key="sg_scrub_frames", pair=None)
        return
    pair, seed_a, seed_b = want
    nonce = st.session_state["sg_scrub_polls"] = st.session_state.get("sg_scrub_polls", 0) + 1
    jobs = _renderer()
    previous = st.session_state.get("sg_scrub_job")
    if previous and previous != pair:
        jobs.drop(previous)
    st.session_state["sg_scrub_job"] = pair
    future = jobs.get(pair, _work(m, seed_a, seed_b, psi, noise_mode))
    asks = _asks(pair)
    if not future.done() or future.cancelled():  # cancelled: evicted by other pairs; asked again later
        deliver_frames(key="sg_scrub_frames", pair=pair, poll_ms=poll_delay_ms(asks), nonce=nonce)
        st.caption("Preparing the drag preview in the background…")
        return
    try:
        result = future.result()
    except Exception as e:  # the face is on screen; only the preview is missing
        deliver_frames(key="sg_scrub_frames", pair=pair)
        st.caption(f"Drag preview unavailable ({type(e).__name__}); the face renders on release.")
        return
    if result is None:  # stopped for a newer pair of this session
        deliver_frames(key="sg_scrub_frames", pair=pair, poll_ms=poll_delay_ms(asks), nonce=nonce)
        return
    frames, ms = result
    deliver_frames(key="sg_scrub_frames", pair=pair, frames=frames, nonce=nonce)
    with st.expander("Details: drag preview"):  # the engineer's figures, off the main path
        st.caption(f"⏱ {scrub_count(m.G)} frames at {m.preview_res} px ready in {ms:.0f} ms (rendered in the "
                   "background after the face; dragging shows them, letting go renders the exact blend)")
