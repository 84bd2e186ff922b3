"""DCGAN trainer: pick face crops, train in the background, watch curves and samples, export results.

After Start the live fixed-noise grid sits at the top, beside a recorded time-lapse of the bundled run,
with the job layer's progress and a steady time-left estimate; the run is a core.jobs job, so it
survives reruns. The page is a ``main()`` over small panels; the training itself lives in core.dcgan.
"""

from __future__ import annotations

import base64
import functools
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from core import ASSETS_DIR, CHECKPOINTS_DIR, RUNS_DIR, dcgan, jobs, video
from core import provenance as pv
from core.checkpoint import CheckpointError
from core.image.convert import display_resize, make_grid
from core.image.decode import ImageRejected, read_rgb
from core.show import TimelapseScene
from pages._common import HANDOFF_TRAINING_DIR, page_header, send_to_animator
from pages._provenance import export_options, export_settings, licence_caption, signing_blocked
from pages._show import add_to_show

DEMO_DATA = ASSETS_DIR / "demo_faces" / "faces64.npz"
PRETRAINED = CHECKPOINTS_DIR / "dcgan_demo.pt"
RECORDED_TIMELAPSE = CHECKPOINTS_DIR / "dcgan_demo_timelapse.mp4"
RUN_ROOT = RUNS_DIR / "dcgan"
POLL_SECONDS = 2.0
CURVES_POLL_SECONDS = 5.0
LIVE_WIDTH = 420  # px of each picture in the top row: both fit above the fold at 1600x1000
# Start sits below the fold; after it, scroll whichever element scrolls the page back to the live grid.
SCROLL_TO_TOP_JS = ("for (const el of [document.scrollingElement, ...document.querySelectorAll("
                    "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"]')]) "
                    "{ if (el) el.scrollTo({top: 0}); }")
# The recorded time-lapse must play on every visit: a browser may leave a <video autoplay> inserted into
# a live page paused (seen on a first visit, "step 0 · 0 s"), so it is started from script as well.
AUTOPLAY_JS = ("for (const v of document.querySelectorAll('video[data-cc-autoplay]')) {"
               " v.muted = true; const go = () => v.play().catch(() => {});"
               " if (v.paused) go(); v.addEventListener('canplay', go, {once: true});"
               " v.addEventListener('pause', () => setTimeout(() => {"
               " if (!v.ended && !v.dataset.ccHold) go(); }, 300)); }")  # data-cc-hold: a screenshot's frame
ARCHS = ["tutorial", "study"]
PRESET_HELP = {
    "live demo": "Continues the bundled generator (76 minutes of training already done) on these images: "
                 "faces from the first second, then they drift towards your data. Fits 2 CPU cores.",
    "from scratch (small)": "Random weights, 32 px, small networks: noise first, faces after tens of minutes "
                            "on 2 CPU cores.",
    "quality": "The PyTorch tutorial's full widths from random weights; worth a GPU.",
}
# Plotly's toolbar floats over the top right of a chart, where short titles sit: hidden on these small
# charts (zoom and pan still work with the mouse; the data is in the run folder).
CHART_CONFIG = {"displayModeBar": False}


@st.cache_data(show_spinner="Reading the dataset...", max_entries=4)
def dataset_summary(path: str, mtime: float, size: int) -> tuple[int, list[str], np.ndarray]:
    data = dcgan.load_dataset(path, size)
    preview = data.images[:16].permute(0, 2, 3, 1).numpy()
    return len(data), data.skipped, make_grid(list(preview), cols=8)


@st.cache_data(max_entries=2)
def recorded_timelapse_b64(mtime: float) -> str:
    return base64.b64encode(RECORDED_TIMELAPSE.read_bytes()).decode()


@st.cache_resource(show_spinner="Loading the generator...", max_entries=4)
def cached_generator(path: str, mtime: float):
    return dcgan.load_generator(path)  # eval mode; sampling never changes it


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


# -- 1. dataset ----------------------------------------------------------------------------------


def dataset_panel() -> str | None:
    """The training images; returns their path when they can be read, else None."""
    st.subheader("1. Dataset")
    choices = []
    if DEMO_DATA.exists():
        choices.append("Bundled demo faces")
    handoff = st.session_state.get(HANDOFF_TRAINING_DIR)
    if handoff:
        choices.append("Explorer export")
    choices.append("Folder or .npz on this machine")
    source = st.radio("Training images", choices, horizontal=True, key="dcgan_source")
    if not DEMO_DATA.exists():
        st.info("The bundled demo faces are not in this checkout; use an explorer export or a folder.")
    if source == "Bundled demo faces":
        data_path = str(DEMO_DATA)
        st.caption("900 synthetic 64 px face crops (no real people); see assets/README.md.")
    elif source == "Explorer export":
        data_path = str(handoff)
        st.caption("The faces exported by the dataset explorer.", help=data_path)
    else:
        data_path = st.text_input("Folder of images (any sizes) or an .npz export",
                                  key="dcgan_folder").strip()
    if not data_path:
        st.info("Enter a folder path to train on your own images.")
        return None
    try:
        n_images, skipped, preview = dataset_summary(data_path, _mtime(Path(data_path)), 64)
    except dcgan.DatasetError as e:
        st.error(str(e))
        return None
    note = f" ({len(skipped)} unreadable files skipped)" if skipped else ""
    st.write(f"**{n_images}** images{note}")
    st.image(preview, caption="First images, as the trainer sees them (64 px)")
    return data_path


# -- 2. configuration ----------------------------------------------------------------------------


def config_panel(data_path: str | None) -> None:
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
                                 help=f"Saved under {RUN_ROOT}")
        with st.expander("Advanced: architecture and hyperparameters"):
            settings = advanced_settings(p, device)
        submitted = st.form_submit_button("Start training", type="primary", disabled=data_path is None)
    if submitted and data_path is not None:
        start_run(data_path, preset_name, int(steps), run_name, settings)


def advanced_settings(p: dcgan.TrainConfig, device) -> dict:
    """The preset's hyperparameters, each editable; returns preset_config overrides."""
    c1, c2, c3 = st.columns(3)
    arch = c1.selectbox("Architecture", ARCHS, index=ARCHS.index(p.model.arch),
                        help="tutorial: PyTorch DCGAN (transposed convs). study: dense + upsample/conv.")
    size = c2.selectbox("Size (px)", [32, 64, 96, 128], index=[32, 64, 96, 128].index(p.model.size),
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


def start_run(data_path: str, preset_name: str, steps: int, run_name: str, settings: dict) -> None:
    cfg = dcgan.preset_config(preset_name, steps=steps, **settings)
    preset_model = dcgan.preset_config(preset_name).model
    if cfg.model != preset_model:  # the bundled weights fit only the preset's own architecture
        cfg.init_generator, cfg.d_warmup_steps = "", 0
    safe_name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in run_name.strip() or "run")
    run_dir = RUN_ROOT / safe_name
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


# -- 3. monitor ----------------------------------------------------------------------------------


def pick_run_panel() -> Path | None:
    """The run to watch: the one just started, else the newest; any folder under Details."""
    st.subheader("3. Monitor")
    known_runs = sorted((d for d in RUN_ROOT.glob("*") if (d / dcgan.STATUS_NAME).exists()
                         or (d / "job.json").exists()), key=_mtime, reverse=True)
    default_run = st.session_state.get("dcgan_run_dir") or (str(known_runs[0]) if known_runs else "")
    started_new = st.session_state.get("_dcgan_last_started") != default_run
    if "dcgan_monitor_dir" not in st.session_state or started_new:
        st.session_state.dcgan_monitor_dir = default_run
        st.session_state._dcgan_last_started = default_run
    with st.expander("Details: which run folder to watch"):
        monitor = st.text_input("Run folder", key="dcgan_monitor_dir",
                                help="Any run folder (runs keep going when you leave the page or close the "
                                     "browser).")
    return Path(monitor) if monitor.strip() else None


def curves(rows: list[dict]) -> list[go.Figure]:
    """Losses, D outputs and SWD against the step (rows without losses, like step 0's SWD, skip the first
    two)."""
    steps_rows = [r for r in rows if "d_loss" in r]
    steps = [r["step"] for r in steps_rows]
    figs = []
    names = {"d_loss": "D loss", "g_loss": "G loss", "d_x": "D(real)", "d_gz": "D(fake)"}
    for keys in (("d_loss", "g_loss"), ("d_x", "d_gz")):
        fig = go.Figure()
        for k in keys:
            fig.add_trace(go.Scatter(x=steps, y=[r[k] for r in steps_rows], mode="lines", name=names[k]))
        figs.append(fig)
    swd = [(r["step"], r["swd"]) for r in rows if "swd" in r]
    figs.append(go.Figure(go.Scatter(x=[s for s, _ in swd], y=[v for _, v in swd], mode="lines+markers",
                                     name="SWD")))
    titles = ["Losses", "Discriminator's verdicts", "Distance to the real faces (SWD ×1e3, lower is better)"]
    for fig, title in zip(figs, titles):
        fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=260,
                          margin=dict(l=10, r=10, t=40, b=10), xaxis_title="step",
                          legend=dict(orientation="h", y=-0.3))
    return figs


def progress_text(state: dict) -> str:
    step, total, kind = state.get("step") or 0, state.get("steps") or 0, state.get("state", "empty")
    parts = [f"Step {step:,} of {total:,}" if total else f"Step {step:,}"]
    if kind == "running":
        eta = state.get("eta_s")
        parts.append(f"about {jobs.spoken_time_left(eta)} left" if eta is not None
                     else "estimating the time left")
        if state.get("images_per_s"):
            parts.append(f"{state['images_per_s']:.0f} images/s")
    else:
        parts.append(kind)
    return " · ".join(parts)


def live_grid(run_dir: Path, state: dict) -> None:
    latest = dcgan.latest_snapshot(run_dir)
    if latest is None:
        st.info("The first picture of this run arrives a few seconds after the process starts.")
        return
    snap_step, path = latest
    try:
        grid = read_rgb(path)
    except ImageRejected as e:  # a snapshot being replaced as we read it: the next poll shows it
        st.caption(f"Snapshot of step {snap_step} is not readable yet ({e.reason}).")
        return
    scale = max(1, LIVE_WIDTH // grid.shape[1])  # whole-pixel enlargement keeps the small faces sharp
    if scale > 1:
        grid = np.asarray(Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale),
                                                       Image.Resampling.NEAREST))
    live = "Live" if state.get("alive") else "Last picture"
    start = ""
    if snap_step == 0 and (dcgan.read_json(run_dir / dcgan.CONFIG_NAME) or {}).get("init_generator"):
        start = " (the bundled generator's faces: this run continues it)"
    st.image(grid, width=LIVE_WIDTH,
             caption=f"{live}: the fixed-noise samples of {run_dir.name} at step {snap_step:,}{start}")


def recorded_timelapse() -> None:
    if not RECORDED_TIMELAPSE.exists():
        st.caption("The recorded time-lapse (checkpoints/dcgan_demo_timelapse.mp4) is not in this checkout.")
        return
    info = dcgan.read_timelapse_info(RECORDED_TIMELAPSE)
    # A plain <video> (st.video starts only elements with a key and plays once; this one must loop
    # unasked), started from script too: see AUTOPLAY_JS.
    st.html(f'<video data-cc-autoplay autoplay muted loop playsinline preload="auto" width="{LIVE_WIDTH}" '
            f'src="data:video/mp4;base64,{recorded_timelapse_b64(_mtime(RECORDED_TIMELAPSE))}"></video>'
            f"<script>{AUTOPLAY_JS}</script>", unsafe_allow_javascript=True)
    if info is not None and info.minutes:
        st.caption(f"Recorded earlier: {info.minutes:.0f} minutes of training from noise to faces (the "
                   f"bundled generator's own run, steps 0-{info.last_step:,}, on a shared 2-core CPU)")
    else:
        st.caption("Recorded earlier: a run of the bundled recipe")


def controls(run_dir: Path, state: dict) -> None:
    kind, alive = state.get("state", "empty"), state.get("alive")
    b = st.columns(4)
    if b[0].button("Pause", disabled=not alive or kind != "running", key="dcgan_pause"):
        dcgan.set_control(run_dir, "pause")
    if b[1].button("Resume", disabled=not alive or kind != "paused", key="dcgan_resume"):
        dcgan.set_control(run_dir, "run")
    if b[2].button("Stop", disabled=not alive, key="dcgan_stop", help="Checkpoint, then stop"):
        dcgan.stop_training(run_dir)
    can_continue = (not alive and state.get("has_checkpoint")
                    and kind in ("stopped", "crashed", "nan", "paused", "failed"))
    if b[3].button("Continue from checkpoint", disabled=not can_continue, key="dcgan_continue"):
        try:
            src = dcgan.training_data(run_dir) or str(DEMO_DATA)
            cfg = dcgan.TrainConfig.from_dict(dcgan.read_json(run_dir / dcgan.CONFIG_NAME) or {})
            dcgan.start_training(src, run_dir, cfg, resume=True)
            st.rerun(scope="app")
        except (ValueError, dcgan.RunBusyError) as e:
            st.error(str(e))


def show_live(run_dir: Path) -> None:
    """The top left of the page: this run's latest grid, its progress and time left, the controls."""
    state = dcgan.run_state(run_dir)
    kind = state.get("state", "empty")
    live_grid(run_dir, state)
    total = state.get("steps") or 0
    fraction = min(1.0, (state.get("step") or 0) / total) if total else 0.0
    st.progress(fraction, text=progress_text(state))
    if state.get("message") and kind != "running":
        (st.error if kind in ("nan", "failed", "crashed") else st.caption)(state["message"])
    controls(run_dir, state)


def show_monitor(run_dir: Path) -> None:
    state = dcgan.run_state(run_dir)
    kind = state.get("state", "empty")
    step, total = state.get("step") or 0, state.get("steps") or 0
    cols = st.columns(4)
    cols[0].metric("State", kind)
    cols[1].metric("Step", f"{step} / {total}" if total else str(step))
    cols[2].metric("Images/s", f"{state.get('images_per_s') or 0:.1f}")
    cols[3].metric("Time left", jobs.spoken_time_left(state.get("eta_s")) if kind == "running" else "-")
    rows = dcgan.read_metrics(run_dir)
    if rows:
        for col, fig in zip(st.columns(3), curves(rows)):
            col.plotly_chart(fig, width="stretch", config=CHART_CONFIG)
        if not any("swd" in r for r in rows):
            st.caption("The distance to the real faces is measured every few hundred steps.")
    else:
        st.caption("Curves appear after the first logged steps.")


def top_row(live_slot, monitor_dir: Path | None) -> None:
    """The page's first screen: the run's live grid (or how to start one) beside the recorded one."""
    with live_slot:
        left, right = st.columns(2)
        with right:
            recorded_timelapse()  # outside any fragment: sent once, not every poll
        if monitor_dir is None or not monitor_dir.is_dir():
            left.info("Press **Start training** (section 2) and the live fixed-noise grid of your run "
                      "appears here, beside the recorded one.")
            return
        live = dcgan.run_state(monitor_dir).get("alive", False)

        @st.fragment(run_every=POLL_SECONDS if live else None)
        def live_panel() -> None:
            show_live(monitor_dir)
            if live and not dcgan.run_state(monitor_dir).get("alive"):
                st.rerun(scope="app")  # finished: stop polling

        with left:
            live_panel()
        scroll = st.session_state.pop("dcgan_scroll_up", None)
        if scroll is not None:  # Start was pressed far down the page: show the top, where the grid is
            st.html(f'<script data-started="{scroll}">{SCROLL_TO_TOP_JS}</script>',
                    unsafe_allow_javascript=True)


def monitor_panel(monitor_dir: Path) -> None:
    live = dcgan.run_state(monitor_dir).get("alive", False)

    @st.fragment(run_every=CURVES_POLL_SECONDS if live else None)
    def poll() -> None:
        show_monitor(monitor_dir)

    poll()


# -- 4. outputs of this run ----------------------------------------------------------------------


def outputs_panel(monitor_dir: Path) -> None:
    st.subheader("4. Time-lapse, latent walk, checkpoint")
    live = dcgan.run_state(monitor_dir).get("alive", False)
    c1, c2 = st.columns(2)
    with c1:
        snapshot_count(monitor_dir, live)
        fps = st.slider("Time-lapse fps", 2, 30, 8, key="dcgan_fps")
        snaps = dcgan.snapshot_paths(monitor_dir)
        if st.button("Make time-lapse (GIF + MP4)", disabled=len(snaps) < 2, key="dcgan_timelapse"):
            with st.spinner("Encoding..."):
                try:
                    dcgan.write_timelapse(monitor_dir, monitor_dir / "timelapse.gif", fps=fps,
                                          provenance=export_settings())
                    dcgan.write_timelapse(monitor_dir, monitor_dir / "timelapse.mp4", fps=fps,
                                          provenance=export_settings())
                except pv.ProvenanceError as e:
                    st.error(f"Not exported: {e}")
        if (monitor_dir / "timelapse.mp4").exists():
            st.video((monitor_dir / "timelapse.mp4").read_bytes())
            st.download_button("Download time-lapse GIF", (monitor_dir / "timelapse.gif").read_bytes(),
                               "dcgan_timelapse.gif", "image/gif", key="dcgan_gif_dl")
            st.download_button("Download time-lapse MP4", (monitor_dir / "timelapse.mp4").read_bytes(),
                               "dcgan_timelapse.mp4", "video/mp4", key="dcgan_mp4_dl")
        if len(snaps) >= 2:
            add_to_show(TimelapseScene(run=str(monitor_dir), fps=float(fps)))
    with c2:
        checkpoint_outputs(monitor_dir)


def snapshot_count(monitor_dir: Path, live: bool) -> None:
    """How many time-lapse frames the run has: polled while it runs (it was counted once, at Start)."""

    @st.fragment(run_every=POLL_SECONDS if live else None)
    def count() -> None:
        n = len(dcgan.snapshot_paths(monitor_dir))
        st.caption(f"{n} fixed-noise snapshot{'s' if n != 1 else ''} recorded.")

    count()


def checkpoint_outputs(monitor_dir: Path) -> None:
    ckpt_path = monitor_dir / dcgan.CHECKPOINT_NAME
    if not ckpt_path.exists():
        st.caption("The checkpoint appears after the first save.")
        return
    st.download_button("Download checkpoint", ckpt_path.read_bytes, f"dcgan_{monitor_dir.name}.pt",
                       key="dcgan_ckpt_dl")
    if st.button("Latent walk of the current generator", key="dcgan_walk_run"):
        try:
            gen, _ = dcgan.load_generator(ckpt_path)
            frames = dcgan.latent_walk(gen, [0, 1, 2, 3], frames_per_leg=12)
            video.write_gif(list(display_resize(np.stack(frames), 128)), monitor_dir / "latent_walk.gif",
                            fps=12)
        except CheckpointError as e:
            st.error(str(e))
    if (monitor_dir / "latent_walk.gif").exists():
        st.image((monitor_dir / "latent_walk.gif").read_bytes(), caption="Latent walk (slerp, 4 seeds)")


# -- 5. pretrained -------------------------------------------------------------------------------


def pretrained_panel() -> None:
    st.subheader("5. Pretrained generator")
    if not PRETRAINED.exists():
        st.info("The bundled checkpoint (checkpoints/dcgan_demo.pt) is not in this checkout yet; "
                "train your own above.")
        return
    try:
        gen, info = cached_generator(str(PRETRAINED), _mtime(PRETRAINED))
    except CheckpointError as e:
        st.error(str(e))
        return
    cfg_info = dcgan.TrainConfig.from_dict(info["config"])
    source = f"fresh samples of the {cfg_info.teacher} teacher" if cfg_info.teacher else "the demo faces"
    st.caption(f"Bundled: {cfg_info.model.size} px faces, trained {info['step']:,} steps on {source} "
               "(details in checkpoints/README.md).")
    licence_caption(PRETRAINED)
    if st.button("🔀 Other faces", key="dcgan_shuffle"):
        st.session_state.dcgan_seed = (int(st.session_state.get("dcgan_seed", 0)) + 1) % 2**31
    with st.expander("Details: which set of faces"):
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="dcgan_seed",
                               help="The same number always gives the same 16 faces.")
    faces = dcgan.sample(gen, 16, int(seed))
    st.image(make_grid(list(display_resize(faces, 96)), cols=8), caption="16 faces of the bundled generator")
    c1, c2 = st.columns(2)
    pick = c1.number_input("Face to send (1-16, left to right, top to bottom)", 1, 16, 1, key="dcgan_pick")
    if c1.button("Send to animator", key="dcgan_send"):
        face = display_resize(faces[int(pick) - 1], 256)
        send_to_animator(face, f"DCGAN demo, seed {seed}, face {pick}")
        st.success("Sent: open the FOMM animator page.")
    # A callable: the 14 MB file is read when the button is pressed, not on every rerun of the page.
    c2.download_button("Download bundled checkpoint", PRETRAINED.read_bytes, "dcgan_demo.pt",
                       key="dcgan_pre_dl")
    grid_origin = pv.Origin("DCGAN trainer", (str(PRETRAINED),), {"seed": int(seed), "n": 16},
                            title=f"dcgan_seed{seed}.png")
    grid_png = functools.partial(pv.export_png, make_grid(list(faces), cols=8), grid_origin,
                                 export_settings())
    c2.download_button("Download these faces (PNG)", grid_png, f"dcgan_seed{seed}.png", "image/png",
                       key="dcgan_grid_dl", on_click="ignore", disabled=signing_blocked())
    if c2.button("Latent walk (bundled)", key="dcgan_walk_pre"):
        frames = dcgan.latent_walk(gen, [int(seed), int(seed) + 1, int(seed) + 2], frames_per_leg=12)
        gif = RUNS_DIR / "dcgan_pretrained_walk.gif"
        video.write_gif(list(display_resize(np.stack(frames), 128)), gif, fps=12)
        st.image(gif.read_bytes(), caption="Latent walk of the bundled generator")


def main() -> None:
    page_header("DCGAN trainer", "Watch a generator learn faces: a recorded run from noise to faces, and "
                "a live run on the images you choose.")
    with st.sidebar:
        export_options()
    live_slot = st.container()  # filled once the run to show is known (after the Start form below)
    data_path = dataset_panel()
    config_panel(data_path)
    monitor_dir = pick_run_panel()
    if monitor_dir is None:
        st.info("No run yet: start one above.")
    elif not monitor_dir.is_dir():
        st.warning(f"No run folder at {monitor_dir}.")
    else:
        monitor_panel(monitor_dir)
    top_row(live_slot, monitor_dir)
    if monitor_dir is not None and monitor_dir.is_dir():
        outputs_panel(monitor_dir)
    pretrained_panel()


main()
