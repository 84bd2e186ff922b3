"""The animator's section 3: the engine (offline landmarks, or neural FOMM with its checkpoint) and the
motion options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core import DOWNLOADS_DIR
from core import animate as an
from core.device import has_bf16_units
from core.download import downloaded_weights
from pages._animator_driving import Driving
from pages._common import device_choice, studio_device
from pages._provenance import licence_caption

ENGINE_LABELS = {"landmarks": "Offline landmark motion transfer (no weights)",
                 "fomm": "Neural FOMM (vox-256 checkpoint)"}
BF16_HELP = ("Runs the generator's residual bottleneck under bf16: about 1.3x faster per frame on CPUs with "
             "bf16 units, with ~1 % error in its features.")
BEST_FRAME_HELP = "Start from the driving frame whose face shape best matches the source."


@dataclass(frozen=True)
class EngineChoice:
    engine: str = "landmarks"
    checkpoint: str | None = None   # the vox-cpk file of the neural engine
    fomm_bf16: bool = False
    relative: bool = True
    adapt_scale: bool = True
    best_frame: bool = False
    side_by_side: bool = True
    upscale: int = 1
    device: str | None = None       # the studio's device choice (None: automatic); the neural engine's

    def options(self, **extra) -> an.AnimateOptions:
        return an.AnimateOptions(engine=self.engine, checkpoint=self.checkpoint, relative=self.relative,
                                 adapt_scale=self.adapt_scale, best_frame=self.best_frame,
                                 upscale=self.upscale, side_by_side=self.side_by_side,
                                 fomm_bf16=self.fomm_bf16, device=self.device, **extra)


def fomm_checkpoints() -> list[Path]:
    return downloaded_weights("fomm")


def _checkpoint_picker() -> str | None:
    checkpoints = fomm_checkpoints()
    if checkpoints:
        return str(st.selectbox("Checkpoint", checkpoints, format_func=lambda p: Path(p).name))
    st.info(f"No FOMM checkpoint in {DOWNLOADS_DIR}. Download it with "
            "`python -m core.download get vox-256 --accept-licence` (about 700 MB; non-commercial "
            "licence), give the path of a copy you have below, or use the offline engine.")
    typed = st.text_input("Path to vox-cpk.pth.tar", "").strip()
    if typed and Path(typed).is_file():
        return typed
    if typed:
        st.warning(f"No file at {typed}.")
    return None


def engine_panel(driving: Driving) -> EngineChoice:
    """Section 3 (folded away: the offline engine's defaults suit the room), then the licence line."""
    with st.expander("3. Engine and options (the offline landmark engine by default)"):
        engine = st.radio("Engine", list(ENGINE_LABELS), format_func=ENGINE_LABELS.get, horizontal=True)
        checkpoint, fomm_bf16 = None, False
        if engine == "fomm":
            native = has_bf16_units("cpu")
            fomm_bf16 = st.toggle("Faster neural engine (bf16)", value=False, disabled=not native,
                                  help=BF16_HELP if native else "This processor has no bf16 units.")
            checkpoint = _checkpoint_picker()
            device_choice()  # the studio-wide picker (the sampler's sidebar shows the same choice)
            if driving.is_motion:
                st.warning("Bundled motions drive the offline engine only; upload a video for FOMM.")
        c1, c2, c3 = st.columns(3)
        relative = c1.radio("Motion", ["relative", "absolute"], help="Relative: the source keeps its face "
                            "shape and copies the driving changes (FOMM demo default).") == "relative"
        adapt_scale = c2.checkbox("Adapt movement scale", value=True)
        best_frame = c2.checkbox("Best start frame", value=False, help=BEST_FRAME_HELP)
        side_by_side = c3.checkbox("Side by side (source | driving | result)", value=True)
        upscale = c3.selectbox("Output size", [1, 2], format_func=lambda k: f"{256 * k} px")
    licence_caption(checkpoint if engine == "fomm" and checkpoint else engine)
    return EngineChoice(engine, checkpoint, fomm_bf16, relative, adapt_scale, best_frame, side_by_side,
                        int(upscale), studio_device())
