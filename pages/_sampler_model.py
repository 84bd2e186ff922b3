"""The sampler's model: the sidebar's model / device / sampling controls (returning their values), the
cached loaders, and opening the chosen generator (falling back to the untrained one, with one clear line,
when a file cannot be used). The tabs and the face read the result through :class:`SamplerModel`.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import core
from core import stylegan2 as sg
from core.checkpoint import CheckpointError
from core.device import DeviceError, choose_device
from core.download import downloaded_weights
from core.showcase import Showcase, fallback, load_showcase
from core.uploads import store_upload
from pages._common import DEVICE_CHOICE, DEVICE_LABELS, device_choice, studio_device

BUNDLED = core.CHECKPOINTS_DIR / "stylegan2_demo.pt"
RANDOM_LABEL = "Untrained demo generator (random weights, 64 px)"
UPLOAD_LABEL = "Upload a file…"
DRAG_BUDGET_MS = 250     # target cost of one drag frame for big models (they scrub at a lower resolution)
MIN_DRAG_PX = 256        # ... but never below this: the drag frames of a 1024 px model stay a face
SCRUB_FRAMES = 33        # frames pre-rendered for the in-browser morph scrub (t step 1/32)
PSI_DEFAULT = 0.7        # the "Variety" slider's default
NOISE_MODES = ["const", "random", "none"]


@dataclass(frozen=True)
class SamplerModel:
    G: sg.Generator            # cached (st.cache_resource), never mutated
    ws_cache: sg.WsCache       # seed, psi -> W+, shared by the face and the tabs
    key: str                   # identifies the model in cache keys ("random", a path + mtime, an upload)
    file: str | None           # what a show scene names (None: the untrained generator, no file)
    preview_res: int           # resolution that keeps a preview within the drag budget


@dataclass(frozen=True)
class SidebarChoice:
    label: str                 # the "Generator" option picked
    path: Path | None          # its file (None: untrained, or an upload)
    upload: object | None      # the uploaded file, when "Upload a file…" is picked
    device_request: str | None
    psi: float
    noise_mode: str

    def same_as(self, other: SidebarChoice) -> bool:
        """The same generator and settings (an upload compared by its file id)."""
        def upload_id(c: SidebarChoice):
            return getattr(c.upload, "file_id", None)

        return (self.label, self.path, upload_id(self), self.device_request, self.psi, self.noise_mode) == \
            (other.label, other.path, upload_id(other), other.device_request, other.psi, other.noise_mode)


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
def showcase_of(path: str | None, mtime: float) -> Showcase:
    if path is None:
        return fallback("random", 12, "The untrained generator has no showcase list.")
    return load_showcase(path)


@st.cache_resource(max_entries=8)
def freeze_gc(model_key: str) -> None:
    # Streamlit runs gc.collect(2) after every script run, fragment reruns included
    # (runner.postScriptGC); with torch loaded that walks ~230k objects, ~130 ms of CPU per seed change
    # and more than half the server's time with five sessions. What is alive now (modules, the
    # generator) lives as long as the process: take it out of the collector's sight, once per model.
    gc.collect()
    gc.freeze()


def model_options() -> dict[str, Path | None]:
    options: dict[str, Path | None] = {}
    if BUNDLED.is_file():
        options["Bundled demo model (checkpoints/stylegan2_demo.pt)"] = BUNDLED
    options[RANDOM_LABEL] = None
    for f in downloaded_weights("stylegan2"):
        options[f"Downloaded: {f.name}"] = f
    options[UPLOAD_LABEL] = None
    return options


def current_choice() -> SidebarChoice:
    """What the sidebar's controls hold now (their defaults on a first visit), read without drawing them:
    the page draws the sidebar last (see :func:`sidebar_controls`)."""
    options = model_options()
    label = st.session_state.get("sg_model")
    label = label if label in options else next(iter(options))
    return SidebarChoice(label, options.get(label),
                         st.session_state.get("sg_upload") if label == UPLOAD_LABEL else None,
                         DEVICE_LABELS.get(st.session_state.get(DEVICE_CHOICE), studio_device()),
                         float(st.session_state.get("sg_psi", PSI_DEFAULT)),
                         st.session_state.get("sg_noise", NOISE_MODES[0]))


def sidebar_controls() -> SidebarChoice:
    """The sidebar's model, device and sampling controls (drawn after the page: every burst of elements
    the browser receives re-renders Streamlit's whole sidebar, so a first visit's sidebar arrives last,
    once, instead of being re-rendered with each of the page's bursts)."""
    options = model_options()
    with st.sidebar:
        st.subheader("Model")
        choice = st.selectbox("Generator", list(options), key="sg_model")
        upload = None
        if choice == UPLOAD_LABEL:
            upload = st.file_uploader("Official .pkl network pickle or project .pt checkpoint",
                                      type=["pkl", "pt", "pth", "tar"], key="sg_upload")
        device_request = device_choice()
        st.subheader("Sampling")
        psi = st.slider("Variety", 0.0, 1.5, PSI_DEFAULT, 0.05, key="sg_psi",
                        help="Truncation ψ: pulls w towards the average face: lower = more typical, higher = "
                             "more varied.")
        noise_mode = st.radio("Noise", NOISE_MODES, horizontal=True, key="sg_noise",
                              help="Per-pixel noise: fixed per layer (const), drawn from the seed (random), "
                                   "or off.")
        st.toggle("Drag preview (frames prepared in the background)", value=True, key="sg_scrub",
                  help=f"After the face is shown, {SCRUB_FRAMES} blends of the current A → B pair are "
                       "rendered in the background; the slider then shows them while you drag. Without "
                       "them the face updates when you let go.")
    return SidebarChoice(choice, options.get(choice), upload, device_request, psi, noise_mode)


def open_model(choice: SidebarChoice) -> tuple[SamplerModel, str | None, str | None]:
    """The chosen generator (the untrained one when none is usable), the file-load error and the device
    error (one line each, or None)."""
    load_error = device_error = None
    try:
        device = choose_device(choice.device_request).device
    except DeviceError as e:  # e.g. CUSTOM_CAST_DEVICE names a GPU this machine lacks
        device, device_error = "cpu", str(e)
    bundle, key, path = None, "random", None
    try:
        if choice.label == UPLOAD_LABEL and choice.upload is not None:
            path = store_upload(choice.upload.getvalue(), choice.upload.name,
                                Path(core.CACHE_DIR) / "uploads", default_suffix=".pkl")
            bundle, key = _load(str(path), path.stat().st_mtime, device), f"upload:{path.name}"
        elif choice.label != UPLOAD_LABEL and choice.path is not None:
            path = choice.path
            bundle = _load(str(path), path.stat().st_mtime, device)
            key = f"{path}:{path.stat().st_mtime}"
    except CheckpointError as e:
        load_error = str(e)
    except Exception as e:  # a damaged file must never take the page down
        load_error = f"Could not open this file: {type(e).__name__}: {e}"
    if bundle is None:
        bundle, key = _random_model(), "random"
    G, ws_cache, preview_res = bundle
    return SamplerModel(G, ws_cache, key, None if key == "random" else str(path), preview_res), \
        load_error, device_error


def seeds_or_error(text: str, label: str, limit: int = 10_000) -> list[int] | None:
    """The seeds of ``text`` (numbers and ranges), or None after one clear error line."""
    try:
        return sg.parse_seeds(text, limit=limit)
    except ValueError as e:
        st.error(f"{label}: {e}. Use numbers and ranges, e.g. `1, 5, 10-12`.")
        return None
