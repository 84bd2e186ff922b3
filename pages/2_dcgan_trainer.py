"""DCGAN trainer: pick face crops, train in the background, watch curves and samples, export results.

After Start the live fixed-noise grid sits at the top, beside a recorded time-lapse of the bundled run,
with the job layer's progress and time left; the run is a core.jobs job, so it survives reruns.
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

from core import ASSETS_DIR, CHECKPOINTS_DIR, RUNS_DIR, dcgan, video
from core import provenance as pv
from core.checkpoint import CheckpointError
from core.images import ImageRejected, read_rgb
from core.imaging import display_resize, make_grid
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
ARCHS = ["tutorial", "study"]

page_header("DCGAN trainer", "Train a DCGAN on face crops (the studies' and the PyTorch tutorial's "
            "architectures) in the background; watch losses, SWD and a fixed-noise grid evolve.")
with st.sidebar:
    export_options()
live_slot = st.container()  # filled once the run to show is known (after the Start form below)


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


# -- dataset -------------------------------------------------------------------------------------

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
    st.info("The bundled demo faces (assets/demo_faces/faces64.npz) are not in this checkout; "
            "use an explorer export or a folder.")
if source == "Bundled demo faces":
    data_path = str(DEMO_DATA)
    st.caption("900 synthetic 64 px face crops (no real people); see assets/README.md.")
elif source == "Explorer export":
    data_path = str(handoff)
    st.caption(f"Exported by the dataset explorer: `{data_path}`")
else:
    data_path = st.text_input("Folder of images (any sizes) or an .npz export", key="dcgan_folder").strip()

data_ok = False
if data_path:
    try:
        n_images, skipped, preview = dataset_summary(data_path, _mtime(Path(data_path)), 64)
        data_ok = True
        note = f" ({len(skipped)} unreadable files skipped)" if skipped else ""
        st.write(f"**{n_images}** images{note}")
        st.image(preview, caption="First images, as the trainer sees them (64 px)")
    except dcgan.DatasetError as e:
        st.error(str(e))
else:
    st.info("Enter a folder path to train on your own images.")

# -- configuration -------------------------------------------------------------------------------

st.subheader("2. Configure and start")
device = dcgan.resolve_device("auto")
cpu_note = "" if device.type == "cuda" else " (no CUDA GPU found; training runs on CPU)"
st.caption(f"Device: **{device}**{cpu_note}")
preset_name = st.selectbox("Preset", list(dcgan.PRESETS), key="dcgan_preset",
                           help="live demo: small widths, visible progress within minutes on 2 CPU cores. "
                                "quality: the tutorial's full widths; worth a GPU.")
p = dcgan.preset_config(preset_name)
with st.form("dcgan_config"):
    c1, c2, c3 = st.columns(3)
    arch = c1.selectbox("Architecture", ARCHS, index=ARCHS.index(p.model.arch),
                        help="tutorial: PyTorch DCGAN (transposed convs). study: dense + upsample/conv.")
    size = c2.selectbox("Size (px)", [32, 64, 96, 128], index=[32, 64, 96, 128].index(p.model.size),
                        help="tutorial supports 32 and 64; study 32/64/96/128")
    steps = c3.number_input("Steps", 1, 1_000_000, p.steps, step=100)
    c1, c2, c3 = st.columns(3)
    batch = c1.number_input("Batch size", 1, 1024, p.batch_size)
    latent = c2.number_input("Latent size", 1, 512, p.model.latent_dim)
    widths = c3.number_input("Width (G and D)", 4, 256, p.model.g_width)
    c1, c2, c3, c4 = st.columns(4)
    lr_g = c1.number_input("G learning rate", 1e-6, 1e-1, p.lr_g, format="%.5f")
    lr_d = c2.number_input("D learning rate", 1e-6, 1e-1, p.lr_d, format="%.5f")
    beta1 = c3.number_input("Adam beta1", 0.0, 0.999, p.beta1)
    smoothing = c4.number_input("Label smoothing", 0.0, 0.49, p.label_smoothing)
    augment = st.multiselect("DiffAugment (helps small datasets)", list(dcgan.AUGMENTS),
                             default=[a for a in p.diffaugment.split(",") if a])
    bf16_default = dcgan.bf16_is_fast(device) and p.model.arch == "tutorial"
    bf16 = st.toggle("bf16 mixed precision", value=bf16_default,
                     help="G and D passes under bf16 autocast (losses and Adam in fp32). On by default where "
                          "the hardware has bf16 units: about twice the images per second on this CPU. "
                          "Tutorial architecture: the same SWD curve as fp32 (87.7 vs 89.0 after 800 "
                          "steps); study architecture: a worse one in a short check (145 vs 84), so it is "
                          "yours to try there.")
    run_name = st.text_input("Run name (one run per folder)", value=f"{preset_name.replace(' ', '_')}",
                             help=f"Saved under {RUN_ROOT}")
    submitted = st.form_submit_button("Start training", type="primary", disabled=not data_ok)

if submitted:
    cfg = dcgan.preset_config(preset_name, model=dict(arch=arch, size=int(size), latent_dim=int(latent),
                                                      g_width=int(widths), d_width=int(widths)),
                              steps=int(steps), batch_size=int(batch), lr_g=float(lr_g), lr_d=float(lr_d),
                              beta1=float(beta1), label_smoothing=float(smoothing),
                              diffaugment=",".join(augment), amp_bf16=bool(bf16))
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
        st.success(f"Training started in {run_dir}; the live grid is at the top of the page.")
    except (ValueError, dcgan.RunBusyError, CheckpointError) as e:
        st.error(str(e))

# -- monitor -------------------------------------------------------------------------------------

st.subheader("3. Monitor")
known_runs = sorted((d for d in RUN_ROOT.glob("*") if (d / dcgan.STATUS_NAME).exists()
                     or (d / "job.json").exists()), key=_mtime, reverse=True)
default_run = st.session_state.get("dcgan_run_dir") or (str(known_runs[0]) if known_runs else "")
if "dcgan_monitor_dir" not in st.session_state or st.session_state.get("_dcgan_last_started") != default_run:
    st.session_state.dcgan_monitor_dir = default_run
    st.session_state._dcgan_last_started = default_run
monitor = st.text_input("Run folder", key="dcgan_monitor_dir",
                        help="Any run folder (runs keep going when you leave the page or close the browser).")
monitor_dir = Path(monitor) if monitor.strip() else None


def _curves(rows: list[dict]) -> list[go.Figure]:
    steps = [r["step"] for r in rows]
    figs = []
    for title, keys in (("Losses", ("d_loss", "g_loss")), ("Discriminator outputs", ("d_x", "d_gz"))):
        fig = go.Figure()
        for k in keys:
            label = {"d_loss": "D loss", "g_loss": "G loss", "d_x": "D(x)", "d_gz": "D(G(z))"}[k]
            fig.add_trace(go.Scatter(x=steps, y=[r[k] for r in rows], mode="lines", name=label))
        fig.update_layout(title=title, height=260, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="step")
        figs.append(fig)
    swd = [(r["step"], r["swd"]) for r in rows if "swd" in r]
    fig = go.Figure(go.Scatter(x=[s for s, _ in swd], y=[v for _, v in swd], mode="lines+markers",
                               name="SWD"))
    fig.update_layout(title="Sliced Wasserstein distance (x1e3, lower is better)", height=260,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis_title="step")
    figs.append(fig)
    return figs


def _fmt_eta(seconds) -> str:
    if seconds is None:
        return "-"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"


def _progress_text(state: dict) -> str:
    step, total, kind = state.get("step") or 0, state.get("steps") or 0, state.get("state", "empty")
    parts = [f"Step {step:,} of {total:,}" if total else f"Step {step:,}"]
    if kind == "running":
        eta = state.get("eta_s")
        parts.append(f"about {_fmt_eta(eta)} left" if eta is not None else "estimating the time left")
        if state.get("images_per_s"):
            parts.append(f"{state['images_per_s']:.0f} images/s")
    else:
        parts.append(kind)
    return " · ".join(parts)


def _live_grid(run_dir: Path, state: dict) -> None:
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
    st.image(grid, width=LIVE_WIDTH,
             caption=f"{live}: the fixed-noise samples of {run_dir.name} at step {snap_step:,}")


def _recorded_timelapse() -> None:
    if not RECORDED_TIMELAPSE.exists():
        st.caption("The recorded time-lapse (checkpoints/dcgan_demo_timelapse.mp4) is not in this checkout.")
        return
    info = dcgan.read_timelapse_info(RECORDED_TIMELAPSE)
    # A plain <video>: st.video starts only elements with a key and plays once; this one must loop unasked.
    st.html(f'<video autoplay muted loop playsinline width="{LIVE_WIDTH}" '
            f'src="data:video/mp4;base64,{recorded_timelapse_b64(_mtime(RECORDED_TIMELAPSE))}"></video>')
    if info is not None and info.minutes:
        st.caption(f"Recorded: what {info.minutes:.0f} minutes of training gives (the bundled recipe, steps "
                   f"0-{info.last_step:,}, on a shared 2-core CPU)")
    else:
        st.caption("Recorded: a run of the bundled recipe")


def _controls(run_dir: Path, state: dict) -> None:
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
    _live_grid(run_dir, state)
    total = state.get("steps") or 0
    fraction = min(1.0, (state.get("step") or 0) / total) if total else 0.0
    st.progress(fraction, text=_progress_text(state))
    if state.get("message") and kind != "running":
        (st.error if kind in ("nan", "failed", "crashed") else st.caption)(state["message"])
    _controls(run_dir, state)


def show_monitor(run_dir: Path) -> None:
    state = dcgan.run_state(run_dir)
    kind = state.get("state", "empty")
    step, total = state.get("step") or 0, state.get("steps") or 0
    cols = st.columns(4)
    cols[0].metric("State", kind)
    cols[1].metric("Step", f"{step} / {total}" if total else str(step))
    cols[2].metric("Images/s", f"{state.get('images_per_s') or 0:.1f}")
    cols[3].metric("Time left", _fmt_eta(state.get("eta_s")) if kind == "running" else "-")
    rows = dcgan.read_metrics(run_dir)
    if rows:
        for col, fig in zip(st.columns(3), _curves(rows)):
            col.plotly_chart(fig, width="stretch")
    else:
        st.caption("Curves appear after the first logged steps.")


if monitor_dir is None:
    st.info("No run yet: start one above, or enter a run folder.")
    with live_slot:
        left, right = st.columns(2)
        left.info("Press **Start training** (section 2) and the live fixed-noise grid of your run appears "
                  "here, beside the recorded one.")
        with right:
            _recorded_timelapse()
elif not monitor_dir.is_dir():
    st.warning(f"No run folder at {monitor_dir}.")
else:
    live = dcgan.run_state(monitor_dir).get("alive", False)

    @st.fragment(run_every=POLL_SECONDS if live else None)
    def live_panel() -> None:
        show_live(monitor_dir)
        if live and not dcgan.run_state(monitor_dir).get("alive"):
            st.rerun(scope="app")  # finished: stop polling

    @st.fragment(run_every=CURVES_POLL_SECONDS if live else None)
    def monitor_panel() -> None:
        show_monitor(monitor_dir)

    monitor_panel()
    with live_slot:
        left, right = st.columns(2)
        with right:
            _recorded_timelapse()  # outside the fragment: sent once, not every poll
        with left:
            live_panel()
        scroll = st.session_state.pop("dcgan_scroll_up", None)
        if scroll is not None:  # Start was pressed far down the page: show the top, where the grid is
            st.html(f'<script data-started="{scroll}">{SCROLL_TO_TOP_JS}</script>',
                    unsafe_allow_javascript=True)

    # -- outputs of this run -----------------------------------------------------------------
    st.subheader("4. Time-lapse, latent walk, checkpoint")
    snaps = dcgan.snapshot_paths(monitor_dir)
    c1, c2 = st.columns(2)
    with c1:
        st.caption(f"{len(snaps)} fixed-noise snapshots recorded.")
        fps = st.slider("Time-lapse fps", 2, 30, 8, key="dcgan_fps")
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
            add_to_show({"kind": "timelapse", "run": str(monitor_dir), "fps": float(fps)})
    with c2:
        ckpt_path = monitor_dir / dcgan.CHECKPOINT_NAME
        if ckpt_path.exists():
            st.download_button("Download checkpoint", ckpt_path.read_bytes, f"dcgan_{monitor_dir.name}.pt",
                               key="dcgan_ckpt_dl")
            if st.button("Latent walk of the current generator", key="dcgan_walk_run"):
                try:
                    gen, _ = dcgan.load_generator(ckpt_path)
                    frames = dcgan.latent_walk(gen, [0, 1, 2, 3], frames_per_leg=12)
                    video.write_gif(list(display_resize(np.stack(frames), 128)),
                                    monitor_dir / "latent_walk.gif", fps=12)
                except CheckpointError as e:
                    st.error(str(e))
            if (monitor_dir / "latent_walk.gif").exists():
                st.image((monitor_dir / "latent_walk.gif").read_bytes(),
                         caption="Latent walk (slerp, 4 seeds)")
        else:
            st.caption("The checkpoint appears after the first save.")

# -- pretrained ----------------------------------------------------------------------------------

st.subheader("5. Pretrained generator")
if not PRETRAINED.exists():
    st.info("The bundled checkpoint (checkpoints/dcgan_demo.pt) is not in this checkout yet; "
            "train your own above.")
else:
    try:
        gen, info = cached_generator(str(PRETRAINED), _mtime(PRETRAINED))
        cfg_info = dcgan.TrainConfig.from_dict(info["config"])
        source = (f"fresh samples of the {cfg_info.teacher} teacher" if cfg_info.teacher
                  else "the demo faces")
        st.caption(f"Bundled: {cfg_info.model.arch} architecture, {cfg_info.model.size} px, trained "
                   f"{info['step']:,} steps on {source} (details in checkpoints/README.md).")
        licence_caption(PRETRAINED)
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="dcgan_seed")
        faces = dcgan.sample(gen, 16, int(seed))
        st.image(make_grid(list(display_resize(faces, 96)), cols=8), caption=f"Samples for seed {seed}")
        c1, c2 = st.columns(2)
        pick = c1.number_input("Face to send (0-15)", 0, 15, 0, key="dcgan_pick")
        if c1.button("Send to animator", key="dcgan_send"):
            face = display_resize(faces[int(pick)], 256)
            send_to_animator(face, f"DCGAN demo, seed {seed}, face {pick}")
            st.success("Sent: open the FOMM animator page.")
        # A callable: the 14 MB file is read when the button is pressed, not on every rerun of the page.
        c2.download_button("Download bundled checkpoint", PRETRAINED.read_bytes, "dcgan_demo.pt",
                           key="dcgan_pre_dl")
        grid_origin = pv.Origin("DCGAN trainer", (str(PRETRAINED),), {"seed": int(seed), "n": 16},
                                title=f"dcgan_seed{seed}.png")
        grid_png = functools.partial(pv.export_png, make_grid(list(faces), cols=8), grid_origin,
                                     export_settings())
        c2.download_button("Download this grid (PNG)", grid_png,
                           f"dcgan_seed{seed}.png", "image/png", key="dcgan_grid_dl", on_click="ignore",
                           disabled=signing_blocked())
        if c2.button("Latent walk (bundled)", key="dcgan_walk_pre"):
            frames = dcgan.latent_walk(gen, [int(seed), int(seed) + 1, int(seed) + 2], frames_per_leg=12)
            gif = RUNS_DIR / "dcgan_pretrained_walk.gif"
            video.write_gif(list(display_resize(np.stack(frames), 128)), gif, fps=12)
            st.image(gif.read_bytes(), caption="Latent walk of the bundled generator")
    except CheckpointError as e:
        st.error(str(e))

