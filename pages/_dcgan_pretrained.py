"""The DCGAN trainer's section 5: faces of the bundled generator, sent to the animator or downloaded."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import streamlit as st

from core import dcgan, video
from core import provenance as pv
from core.checkpoint import CheckpointError
from core.image.convert import display_resize, make_grid
from pages._common import send_to_animator
from pages._dcgan_setup import mtime
from pages._provenance import export_settings, licence_caption, signing_blocked


@st.cache_resource(show_spinner="Loading the generator...", max_entries=4)
def cached_generator(path: str, mtime: float):
    return dcgan.load_generator(path)  # eval mode; sampling never changes it


def pretrained_panel(checkpoint: Path, walk_gif: Path) -> None:
    """Sixteen faces of the bundled generator, a shuffle, Send to animator, downloads and a latent walk
    (written to ``walk_gif``)."""
    st.subheader("5. Pretrained generator")
    if not checkpoint.exists():
        st.info("The bundled checkpoint (checkpoints/dcgan_demo.pt) is not in this checkout yet; "
                "train your own above.")
        return
    try:
        gen, info = cached_generator(str(checkpoint), mtime(checkpoint))
    except CheckpointError as e:
        st.error(str(e))
        return
    cfg_info = dcgan.TrainConfig.from_dict(info["config"])
    source = f"fresh samples of the {cfg_info.teacher} teacher" if cfg_info.teacher else "the demo faces"
    st.caption(f"Bundled: {cfg_info.model.size} px faces, trained {info['step']:,} steps on {source} "
               "(details in checkpoints/README.md).")
    licence_caption(checkpoint)
    seed = pick_seed()
    faces = dcgan.sample(gen, 16, seed)
    st.image(make_grid(list(display_resize(faces, 96)), cols=8), caption="16 faces of the bundled generator")
    c1, c2 = st.columns(2)
    with c1:
        send_panel(faces, seed)
    with c2:
        pretrained_downloads(checkpoint, faces, seed)
        if st.button("Latent walk (bundled)", key="dcgan_walk_pre"):
            frames = dcgan.latent_walk(gen, [seed, seed + 1, seed + 2], frames_per_leg=12)
            video.write_gif(list(display_resize(np.stack(frames), 128)), walk_gif, fps=12)
            st.image(walk_gif.read_bytes(), caption="Latent walk of the bundled generator")


def pick_seed() -> int:
    """Other faces on a button; the seed itself under Details (the engineer's words, not the room's)."""
    if st.button("🔀 Other faces", key="dcgan_shuffle"):
        st.session_state.dcgan_seed = (int(st.session_state.get("dcgan_seed", 0)) + 1) % 2**31
    with st.expander("Details: which set of faces"):
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="dcgan_seed",
                               help="The same number always gives the same 16 faces.")
    return int(seed)


def send_panel(faces: np.ndarray, seed: int) -> None:
    pick = st.number_input("Face to send (1-16, left to right, top to bottom)", 1, 16, 1, key="dcgan_pick")
    if st.button("Send to animator", key="dcgan_send"):
        face = display_resize(faces[int(pick) - 1], 256)
        send_to_animator(face, f"DCGAN demo, seed {seed}, face {pick}")
        st.success("Sent: open the FOMM animator page.")


def pretrained_downloads(checkpoint: Path, faces: np.ndarray, seed: int) -> None:
    # A callable: the 14 MB file is read when the button is pressed, not on every rerun of the page.
    st.download_button("Download bundled checkpoint", checkpoint.read_bytes, "dcgan_demo.pt",
                       key="dcgan_pre_dl")
    grid_origin = pv.Origin("DCGAN trainer", (str(checkpoint),), {"seed": seed, "n": 16},
                            title=f"dcgan_seed{seed}.png")
    grid_png = functools.partial(pv.export_png, make_grid(list(faces), cols=8), grid_origin,
                                 export_settings())
    st.download_button("Download these faces (PNG)", grid_png, f"dcgan_seed{seed}.png", "image/png",
                       key="dcgan_grid_dl", on_click="ignore", disabled=signing_blocked())
