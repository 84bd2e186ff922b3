"""The DCGAN trainer's sections 1 and 2: the training images, then the preset, hyperparameters and Start."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import streamlit as st

from core import dcgan
from core.checkpoint import CheckpointError
from core.image.convert import make_grid
from core.names import safe_name
from pages._common import HANDOFF_TRAINING_DIR

ARCHS = ["tutorial", "study"]
SIZES = [32, 64, 96, 128]
PRESET_HELP = {
    "live demo": "Continues the bundled generator (76 minutes of training already done) on these images: "
                 "faces from the first second, then they drift towards your data. Fits 2 CPU cores.",
    "from scratch (small)": "Random weights, 32 px, small networks: noise first, faces after tens of minutes "
                            "on 2 CPU cores.",
    "quality": "The PyTorch tutorial's full widths from random weights; worth a GPU.",
}
SOURCE_DEMO = "Bundled demo faces"
SOURCE_EXPLORER = "Explorer export"
SOURCE_FOLDER = "Folder or .npz on this machine"


def mtime(path: Path) -> float:
    """The file's modification time (0 when it is missing): a cache key that changes with the file."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_data(show_spinner="Reading the dataset...", max_entries=4)
def dataset_summary(path: str, mtime: float, size: int) -> tuple[int, list[str], np.ndarray]:
    data = dcgan.load_dataset(path, size)
    preview = data.images[:16].permute(0, 2, 3, 1).numpy()
    return len(data), data.skipped, make_grid(list(preview), cols=8)


def pick_source(demo_data: Path) -> str:
    """The radio of image sources; returns the chosen path ("" until a folder is typed in)."""
    choices = [SOURCE_DEMO] if demo_data.exists() else []
    handoff = st.session_state.get(HANDOFF_TRAINING_DIR)
    if handoff:
        choices.append(SOURCE_EXPLORER)
    choices.append(SOURCE_FOLDER)
    source = st.radio("Training images", choices, horizontal=True, key="dcgan_source")
    if not demo_data.exists():
        st.info("The bundled demo faces are not in this checkout; use an explorer export or a folder.")
    if source == SOURCE_DEMO:
        st.caption("900 synthetic 64 px face crops (no real people); see assets/README.md.")
        return str(demo_data)
    if source == SOURCE_EXPLORER:
        st.caption("The faces exported by the dataset explorer.", help=str(handoff))
        return str(handoff)
    return st.text_input("Folder of images (any sizes) or an .npz export", key="dcgan_folder").strip()


def dataset_panel(demo_data: Path) -> str | None:
    """The training images; returns their path when they can be read, else None."""
    st.subheader("1. Dataset")
    data_path = pick_source(demo_data)
    if not data_path:
        st.info("Enter a folder path to train on your own images.")
        return None
    try:
        n_images, skipped, preview = dataset_summary(data_path, mtime(Path(data_path)), 64)
    except dcgan.DatasetError as e:
        st.error(str(e))
        return None
    note = f" ({len(skipped)} unreadable files skipped)" if skipped else ""
    st.write(f"**{n_images}** images{note}")
    st.image(preview, caption="First images, as the trainer sees them (64 px)")
    return data_path


def config_panel(data_path: str | None, run_root: Path) -> None:
    """Preset, the hyperparameters folded under Advanced, and Start."""
    st.subheader("2. Configure and start")
    device = dcgan.resolve_device("auto")
    cpu_note = "" if device.type == "cuda" else " (no CUDA GPU found; training runs on CPU)"
    st.caption(f"Device: **{device}**{cpu_note}")
    preset_name = st.selectbox("Preset", list(dcgan.PRESETS), key="dcgan_preset",
                               help=" ".join(f"{k}: {v}" for k, v in PRESET_HELP.items()))
    p = dcgan.preset_config(preset_name)
    st.caption(PRESET_HELP.get(preset_name, ""))
    with st.form("dcgan_config"):
        steps = st.number_input("Steps", 1, 1_000_000, p.steps, step=100)
        run_name = st.text_input("Run name (one run per folder)", value=f"{preset_name.replace(' ', '_')}",
                                 help=f"Saved under {run_root}")
        with st.expander("Advanced: architecture and hyperparameters"):
            settings = advanced_settings(p, device)
        submitted = st.form_submit_button("Start training", type="primary", disabled=data_path is None)
    if submitted and data_path is not None:
        start_run(data_path, preset_name, int(steps), run_root / safe_run_name(run_name), settings)


def advanced_settings(p: dcgan.TrainConfig, device) -> dict:
    """The preset's hyperparameters, each editable; returns preset_config overrides."""
    c1, c2, c3 = st.columns(3)
    arch = c1.selectbox("Architecture", ARCHS, index=ARCHS.index(p.model.arch),
                        help="tutorial: PyTorch DCGAN (transposed convs). study: dense + upsample/conv.")
    size = c2.selectbox("Size (px)", SIZES, index=SIZES.index(p.model.size),
                        help="tutorial supports 32 and 64; study 32/64/96/128")
    batch = c3.number_input("Batch size", 1, 1024, p.batch_size)
    c1, c2, c3 = st.columns(3)
    latent = c1.number_input("Latent size", 1, 512, p.model.latent_dim)
    widths = c2.number_input("Width (G and D)", 4, 256, p.model.g_width)
    smoothing = c3.number_input("Label smoothing", 0.0, 0.49, p.label_smoothing)
    c1, c2, c3 = st.columns(3)
    lr_g = c1.number_input("G learning rate", 1e-6, 1e-1, p.lr_g, format="%.5f")
    lr_d = c2.number_input("D learning rate", 1e-6, 1e-1, p.lr_d, format="%.5f")
    beta1 = c3.number_input("Adam beta1", 0.0, 0.999, p.beta1)
    augment = st.multiselect("DiffAugment (helps small datasets)", list(dcgan.AUGMENTS),
                             default=[a for a in p.diffaugment.split(",") if a])
    bf16_default = dcgan.bf16_is_fast(device) and p.model.arch == "tutorial"
    bf16 = st.toggle("bf16 mixed precision", value=bf16_default,
                     help="G and D passes under bf16 autocast (losses and Adam in fp32). On by default where "
                          "the hardware has bf16 units: about twice the images per second there, many times "
                          "slower where it is emulated. Tutorial architecture: the same SWD curve as fp32.")
    if p.init_generator:
        st.caption("Starts from the bundled generator's weights; changing the architecture, size, latent "
                   "size or width starts from random weights instead.")
    return dict(model=dict(arch=arch, size=int(size), latent_dim=int(latent), g_width=int(widths),
                           d_width=int(widths)),
                batch_size=int(batch), lr_g=float(lr_g), lr_d=float(lr_d), beta1=float(beta1),
                label_smoothing=float(smoothing), diffaugment=",".join(augment), amp_bf16=bool(bf16))


MAX_RUN_NAME = 60  # characters: even 4-byte letters stay under the 255-byte limit of a folder name


def safe_run_name(run_name: str) -> str:
    """The run folder's name: letters, digits, - and _ kept, anything else (a slash, a dot) made _, cut to
    MAX_RUN_NAME characters (a longer name made the page's own folder check fail with a traceback)."""
    return safe_name(run_name, max_chars=MAX_RUN_NAME, fallback="run")


def start_run(data_path: str, preset_name: str, steps: int, run_dir: Path, settings: dict) -> None:
    cfg = dcgan.preset_config(preset_name, steps=steps, **settings)
    preset_model = dcgan.preset_config(preset_name).model
    if cfg.model != preset_model:  # the bundled weights fit only the preset's own architecture
        cfg.init_generator, cfg.d_warmup_steps = "", 0
    try:
        cfg.validate()
        resume = (run_dir / dcgan.CHECKPOINT_NAME).exists()
        if resume:
            st.warning(f"{run_dir.name} already has a checkpoint: continuing it (with its saved config). "
                       "Choose a new run name for a fresh run.")
        dcgan.start_training(data_path, run_dir, cfg, resume=resume)
        st.session_state.dcgan_run_dir = str(run_dir)
        st.session_state.dcgan_scroll_up = time.time()  # bring the live grid (top of the page) into view
        st.success(f"Training started ({run_dir.name}); the live grid is at the top of the page.")
    except (ValueError, dcgan.RunBusyError, CheckpointError) as e:
        st.error(str(e))
    except OSError as e:  # a read-only or full runs folder: said on the page, no traceback
        st.error(f"Could not start the run in {run_dir}: {e.strerror or e}")
