"""The sampler's face: face A (or the A -> B blend the slider let go at) in the morph view, the room's
controls (new face, previous face, new face B), what can be done with the face (download, send to the
animator, add to the show) and, folded in Details, the seed numbers that draw A and B. One fragment: a
new face or a slider release reruns only this."""

from __future__ import annotations

import functools
import time

import numpy as np
import streamlit as st
import torch
from streamlit.delta_generator import DeltaGenerator

from core import provenance as pv
from core import stage_timing
from core import stylegan2 as sg
from core.device import describe
from core.show import FaceScene, MorphScene
from core.showcase import Showcase
from pages._common import HANDOFF_ANIMATOR_SOURCE, send_to_animator
from pages._morph_view import morph_view, released_value
from pages._provenance import export_settings, signing_blocked
from pages._sampler_model import SamplerModel
from pages._sampler_scrub import data_url, encode_px, pair_key
from pages._show import add_to_show

SEED_A_LABEL, SEED_B_LABEL = "Seed of face A", "Seed of face B"  # in Details; tests and benches type here
HISTORY = 20  # faces "Previous face" can go back through


def render_threads(G: sg.Generator) -> int:
    # Per script thread (OpenMP): small generators gain nothing from intra-op threads, and two spinning
    # threads per session thrash when several sessions render on a 2-core box at once.
    return 1 if G.img_resolution <= 256 else 2


def partner(m: SamplerModel, showcase: Showcase, psi: float, seed: int, rng: np.random.Generator,
            avoid: int | None = None, use_pairs: bool = True) -> int:
    """A seed B that looks clearly different from ``seed``: its showcase pair, else one of the three
    farthest in W among the showcase seeds (or among random seeds when there is no curated list)."""
    if showcase.curated and use_pairs:
        for a, b in showcase.pairs:
            other = b if a == seed else a if b == seed else None
            if other is not None and other != avoid:
                return other
    pool = showcase.seeds if showcase.curated else [int(s) for s in rng.integers(0, 100_000, 24)]
    far = [s for s in sg.farthest_seeds(m.ws_cache, seed, pool, psi) if s != avoid]
    return int(rng.choice(far[:3])) if far else seed + 1


def init_seeds(showcase: Showcase) -> None:
    st.session_state.setdefault("sg_seed", showcase.pairs[0][0] if showcase.pairs else showcase.seeds[0])
    st.session_state.setdefault("sg_seed_b", showcase.pairs[0][1] if showcase.pairs else showcase.seeds[1])
    st.session_state.setdefault("sg_morph_t", 0.0)


def _randomise(m: SamplerModel, showcase: Showcase, psi: float) -> None:
    rng = np.random.default_rng()
    current = int(st.session_state["sg_seed"])
    if showcase.curated:
        seed = int(rng.choice([s for s in showcase.seeds if s != current]))
    else:
        seed = int(rng.integers(0, 100_000))
    st.session_state.update(sg_seed=seed, sg_seed_b=partner(m, showcase, psi, seed, rng), sg_morph_t=0.0)


def _new_b(m: SamplerModel, showcase: Showcase, psi: float) -> None:
    seed = int(st.session_state["sg_seed"])
    st.session_state["sg_seed_b"] = partner(m, showcase, psi, seed, np.random.default_rng(),
                                            avoid=st.session_state["sg_seed_b"], use_pairs=False)
    st.session_state["sg_morph_t"] = 0.0


def _seed_changed(m: SamplerModel, showcase: Showcase, psi: float) -> None:
    st.session_state["sg_morph_t"] = 0.0  # the new face A is what the room should see
    if st.session_state["sg_seed_b"] == st.session_state["sg_seed"]:
        seed = int(st.session_state["sg_seed"])
        st.session_state["sg_seed_b"] = partner(m, showcase, psi, seed, np.random.default_rng())


def _released() -> None:
    stage_timing.mark("release.callback")
    value = released_value("sg_morph")
    if value is not None:
        st.session_state["sg_morph_t"] = value


def _remember(seed: int, seed_b: int) -> None:
    """Keep the faces shown before (for "Previous face"): a new face A pushes the one it replaces."""
    shown = st.session_state.get("sg_on_screen")
    going_back = st.session_state.pop("sg_going_back", False)
    if shown is not None and shown[0] != seed and not going_back:
        history = st.session_state.setdefault("sg_history", [])
        history.append(shown)
        del history[:-HISTORY]
    st.session_state["sg_on_screen"] = (seed, seed_b)


def _previous() -> None:
    history = st.session_state.get("sg_history") or []
    if history:
        seed, seed_b = history.pop()
        st.session_state.update(sg_seed=seed, sg_seed_b=seed_b, sg_morph_t=0.0, sg_going_back=True)


def _face_buttons(m: SamplerModel, showcase: Showcase, psi: float) -> None:
    """The room's controls: a new face A, back to the one before, a new face B for the slider's end."""
    args = (m, showcase, psi)
    st.markdown("**Face A**: the face on screen")
    new_col, back_col = st.columns(2)
    new_col.button("🎲 New face", key="sg_random", on_click=_randomise, args=args, width="stretch",
                   help="Another face (and a clearly different face B to morph into)")
    back_col.button("↩ Previous face", key="sg_prev", on_click=_previous, width="stretch",
                    disabled=not st.session_state.get("sg_history"), help="Back to the face shown before")
    st.markdown("**Face B**: where the slider ends")
    st.button("🎲 New face B", key="sg_random_b", on_click=_new_b, args=args, width="stretch",
              help="Another face to morph into, clearly different from face A")


def _seed_details(m: SamplerModel, showcase: Showcase, psi: float) -> DeltaGenerator:
    """The engineer's words, folded away: the seed numbers (typed here, the same number is the same face
    on every page and in the show) and the render time. Returns the expander, for the timing line."""
    details = st.expander("Details: seed numbers and timing")
    with details:
        a_col, b_col = st.columns(2)
        a_col.number_input(SEED_A_LABEL, min_value=0, max_value=2**32 - 1, step=1, key="sg_seed",
                           on_change=_seed_changed, args=(m, showcase, psi),
                           help="The number that draws face A: the same number always draws the same face.")
        b_col.number_input(SEED_B_LABEL, min_value=0, max_value=2**32 - 1, step=1, key="sg_seed_b",
                           on_change=lambda: st.session_state.update(sg_morph_t=0.0),
                           help="The number that draws face B, at the slider's right end.")
    return details


def _device_line(G: sg.Generator, noise_mode: str) -> None:
    """Where and how precisely the faces are drawn, in plain words (and a GPU that gave out, once)."""
    fallback_line = G.__dict__.get("device_fallback")
    if fallback_line:
        st.warning(fallback_line[:1].upper() + fallback_line[1:] + ".")
    st.caption("🖥 " + describe(sg.generator_device(G), sg.render_precision(G, noise_mode)))


def _face_actions(m: SamplerModel, image: np.ndarray, seed: int, seed_b: int, t: float, psi: float,
                  noise_mode: str) -> None:
    """Download the face, send it to the animator, add it (or the morph) to the show."""
    label = f"StyleGAN2 seed {seed}" + (f" → {seed_b} t={t:.2f}" if t else "") + f", psi {psi:.2f}"
    d_col, s_col = st.columns(2)
    name = f"seed{seed:05d}" + (f"_to{seed_b:05d}_t{t:.2f}" if t else "") + ".png"
    # A callable: the PNG is encoded when the button is pressed, not on every seed change.
    made = {"seed": seed, "psi": psi, "noise": noise_mode,
            **({"seed_b": seed_b, "t": round(t, 3)} if t else {})}
    origin = pv.Origin("StyleGAN2 sampler", (m.file or "untrained",), made, title=name)
    png = functools.partial(pv.export_png, image, origin, export_settings())
    d_col.download_button("Download PNG", png, file_name=name, mime="image/png", key="sg_download",
                          on_click="ignore", width="stretch", disabled=signing_blocked())
    if s_col.button("Send to animator ➜", key="sg_send_main", width="stretch"):
        send_to_animator(image, label)
        st.success("Sent to the FOMM animator; open **4 · Animate**.")
    if HANDOFF_ANIMATOR_SOURCE in st.session_state:
        st.caption("A face is waiting in the animator (**4 · Animate**).")
    f_col, m_col = st.columns(2)
    with f_col:
        add_to_show(FaceScene(model=m.file, seed=seed, psi=psi, noise=noise_mode),
                    label="🎬 Add face to show")
    with m_col:
        add_to_show(MorphScene(model=m.file, seeds=[seed, seed_b], psi=psi,
                               noise=noise_mode), label="🎬 Add morph to show")


def _face(m: SamplerModel, seed: int, seed_b: int, t: float, psi: float, noise_mode: str):
    """(image, data URL, ms) of the face on screen. The last one is kept: a click on Send to animator or Add
    to show reruns the fragment, and a 1024 px face costs seconds to draw again (the same picture)."""
    face_key = (m.key, str(sg.generator_device(m.G)), seed, seed_b if t else None, t, psi, noise_mode)
    kept = st.session_state.get("sg_face")
    if kept is not None and kept[0] == face_key:
        return kept[1:]
    t0 = time.perf_counter()
    with stage_timing.stage("face.mapping"):
        ws = m.ws_cache.get(seed, psi)
        if t:
            ws = sg.lerp(ws, m.ws_cache.get(seed_b, psi), t)
    with stage_timing.stage("face.synthesis"):
        image = sg.synthesize(m.G, ws, noise_mode, noise_seed=seed)[0]
    with stage_timing.stage("face.encode"):
        src = data_url(image, encode_px(m.G))
    ms = (time.perf_counter() - t0) * 1000
    st.session_state["sg_face"] = (face_key, image, src, ms)
    return image, src, ms


@st.fragment
def hero(m: SamplerModel, showcase: Showcase, psi: float, noise_mode: str) -> None:
    """The face and its controls: a seed change or a slider release reruns only this."""
    with stage_timing.stage("hero"):
        _hero(m, showcase, psi, noise_mode)


def _hero(m: SamplerModel, showcase: Showcase, psi: float, noise_mode: str) -> None:
    torch.set_num_threads(render_threads(m.G))
    seed, seed_b = int(st.session_state["sg_seed"]), int(st.session_state["sg_seed_b"])
    _remember(seed, seed_b)
    t = float(st.session_state["sg_morph_t"])
    # The face first, then every element: drawn between them, the face's render time split the panel's
    # deltas into two bursts, and each burst the browser receives re-renders Streamlit's whole sidebar there
    # (its theme is rebuilt on every app render). Under load the deltas still trickle (docs/sampler.md).
    image, src, ms = _face(m, seed, seed_b, t, psi, noise_mode)
    face_col, ctl_col = st.columns([3, 2], gap="large")
    with ctl_col:
        _face_buttons(m, showcase, psi)

    pair = pair_key(m, seed, seed_b, psi, noise_mode)
    st.session_state["sg_scrub_want"] = (pair, seed, seed_b)
    with face_col, stage_timing.stage("face.send"):
        morph_view(key="sg_morph", src=src, t=t, pair=pair, seed_a=seed, on_release=_released,
                   scrub=bool(st.session_state.get("sg_scrub", True)),
                   caption=f"Face A → face B: {t:.0%}" if t else "Face A: drag the slider towards face B")
    with ctl_col:
        _device_line(m.G, noise_mode)
        _face_actions(m, image, seed, seed_b, t, psi, noise_mode)
        with _seed_details(m, showcase, psi):
            st.caption(f"⏱ {'slider' if t else 'seed'} → image {ms:.0f} ms (mapping + synthesis at "
                       f"{m.G.img_resolution} px + encoding)")
