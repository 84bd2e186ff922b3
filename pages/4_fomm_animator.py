"""FOMM animator: make a face follow a driving video or a bundled motion (issue 6).

Engines: the offline landmark motion transfer (default, no weights) and the neural First Order Motion
Model (Siarohin et al., NeurIPS 2019) when a vox-cpk checkpoint is available. Each animation is a
background thread job of core.jobs with its own run folder (runs/animator/<id>/): the page reads the
job's manifest for progress, ETA and the result, so reruns, other tabs and a cancel all see one state.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import numpy as np
import streamlit as st

from core import ASSETS_DIR, DOWNLOADS_DIR, RUNS_DIR, jobs
from core import animate as an
from core.image.convert import display_resize
from core.show import AnimationScene
from core.showcase import load_demo_face_indices
from pages._common import HANDOFF_ANIMATOR_SOURCE, HANDOFF_ANIMATOR_SOURCE_LABEL, page_header
from pages._provenance import export_options, export_settings, licence_caption, photo_rights_confirmed
from pages._say_something import say_something
from pages._show import add_to_show

WORK_DIR = RUNS_DIR / "animator"
FACES_NPZ = ASSETS_DIR / "demo_faces" / "faces64.npz"


@st.cache_resource
def bundled_faces() -> tuple[np.ndarray, list[int]] | None:
    """The curated demo faces (natural colours, best detector scores: assets/showcase.json) and their
    indices in faces64.npz (what a show scene records); the first 24 when the list is missing."""
    if not FACES_NPZ.exists():
        return None
    images = np.load(FACES_NPZ, allow_pickle=False)["images"]
    indices = load_demo_face_indices(FACES_NPZ) or list(range(min(24, len(images))))
    return images[indices], indices


@st.cache_data(max_entries=8, show_spinner="Finding and aligning the face...")
def aligned_photo(path: str) -> np.ndarray:
    return an.prepare_source(an.read_source_image(path))


def fomm_checkpoints() -> list[Path]:
    return sorted(DOWNLOADS_DIR.glob("vox*.pth.tar")) if DOWNLOADS_DIR.exists() else []


def save_upload(upload, suffix: str) -> Path:
    """Uploaded bytes on disk, named by content so reruns reuse the same file."""
    data = upload.getvalue()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / f"upload-{hashlib.sha1(data).hexdigest()[:16]}{suffix}"
    if not path.exists():
        path.write_bytes(data)
    return path


page_header("FOMM animator", "Make a face follow a driving video: offline landmark motion transfer, "
            "or the First Order Motion Model (Siarohin et al., NeurIPS 2019) with its official weights.")
# Animate, its progress and the result sit at the top, above the fold at 1600x1000 (they were below the
# options); filled at the end of the script, once the choices below are known.
action_slot = st.container()

with st.sidebar:
    export_options()

# ----------------------------------------------------------------------------- source face
st.subheader("1. Source face")
handoff = st.session_state.get(HANDOFF_ANIMATOR_SOURCE)
source_options = (["Sent from a generator"] if handoff is not None else []) + ["Bundled face", "Upload photo"]
source_kind = st.radio("Source", source_options, horizontal=True)
source = None
crop_source = False
if source_kind == "Sent from a generator":
    source = np.asarray(handoff, dtype=np.uint8)
    st.caption(st.session_state.get(HANDOFF_ANIMATOR_SOURCE_LABEL, "hand-off"))
elif source_kind == "Bundled face":
    bundled_set = bundled_faces()
    if bundled_set is None:
        st.warning("The bundled faces (assets/demo_faces/faces64.npz) are missing: upload a photo instead.")
    else:
        faces, face_indices = bundled_set
        pick = st.slider("Bundled face", 1, len(faces), 1) - 1
        idx = face_indices[pick]
        source = display_resize(faces[pick], 256)
        st.caption("Synthetic 64 px face (no real person), upscaled to 256 px.")
else:
    photo = st.file_uploader("Face photo", type=["png", "jpg", "jpeg", "webp"])
    if photo is not None and not photo_rights_confirmed(photo.getvalue()):
        photo = None
    if photo is not None:
        try:
            source = aligned_photo(str(save_upload(photo, Path(photo.name).suffix.lower())))
        except an.AnimationError as e:
            st.error(str(e))
        crop_source = False  # prepare_source already cropped around the face
if source is not None:
    st.image(source, width=256)  # its own size: no second resampling in the browser

# ---------------------------------------------------------------------------- driving input
st.subheader("2. Driving motion")
driving_kind = st.radio("Driving input", ["Bundled motion", "Upload video"], horizontal=True)
driving = None
motions = an.bundled_motions()
if driving_kind == "Bundled motion":
    if not motions:
        st.warning("No bundled motions found in assets/motions: upload a driving video instead.")
    else:
        default = list(motions).index("talk") if "talk" in motions else 0
        name = st.selectbox("Motion", list(motions), index=default)
        driving = an.load_motion(motions[name])
        clip = an.preview_path(name)
        if clip is not None:  # the motion on a neutral synthetic face, looping like a GIF
            st.video(str(clip), loop=True, autoplay=True, muted=True, width=192)
        st.caption(f"{len(driving.keypoints) / driving.fps:.1f} s ({len(driving.keypoints)} frames at "
                   f"{driving.fps:g} fps), made procedurally and shown on a synthetic face (no real person).")
else:
    video = st.file_uploader("Driving video", type=["mp4", "mov", "webm", "gif", "m4v"])
    if video is not None:
        driving = save_upload(video, Path(video.name).suffix.lower())
        st.video(video.getvalue(), width=320)  # a preview, not the page width (it filled 1,070 px)
        if st.button("Record motion from this video"):
            try:
                with st.spinner("Tracking the face..."):
                    motion = an.record_motion(driving, driving.with_suffix(".json"))
                st.download_button("Download motion JSON", driving.with_suffix(".json").read_bytes(),
                                   file_name=f"{Path(video.name).stem}.json", mime="application/json")
                st.success(f"Recorded {len(motion.keypoints)} frames.")
            except an.AnimationError as e:
                st.error(str(e))

# --------------------------------------------------------------------------------- options
with st.expander("3. Engine and options (the offline landmark engine by default)"):
    checkpoints = fomm_checkpoints()
    engine_labels = {"landmarks": "Offline landmark motion transfer (no weights)",
                     "fomm": "Neural FOMM (vox-256 checkpoint)"}
    engine = st.radio("Engine", list(engine_labels), format_func=engine_labels.get, horizontal=True)
    checkpoint = None
    fomm_bf16 = False
    if engine == "fomm":
        fomm_bf16 = st.toggle("Faster neural engine (bf16)", value=False,
                              help="Runs the generator's residual bottleneck under bf16: about 1.3x faster "
                                   "per frame on CPUs with bf16 units, with ~1 % error in its features.")
        if checkpoints:
            checkpoint = str(st.selectbox("Checkpoint", checkpoints, format_func=lambda p: Path(p).name))
        else:
            st.info(f"No FOMM checkpoint in {DOWNLOADS_DIR}. Download it with "
                    "`python -m core.download get vox-256 --accept-licence` (about 700 MB; non-commercial "
                    "licence), give the path of a copy you have below, or use the offline engine.")
            typed = st.text_input("Path to vox-cpk.pth.tar", "").strip()
            if typed:
                if Path(typed).is_file():
                    checkpoint = typed
                else:
                    st.warning(f"No file at {typed}.")
        if isinstance(driving, an.Motion):
            st.warning("Bundled motions drive the offline engine only; upload a video for FOMM.")
    c1, c2, c3 = st.columns(3)
    relative = c1.radio("Motion", ["relative", "absolute"], help="Relative: the source keeps its face shape "
                        "and copies the driving changes (FOMM demo default).") == "relative"
    adapt_scale = c2.checkbox("Adapt movement scale", value=True)
    best_frame = c2.checkbox("Best start frame", value=False,
                             help="Start from the driving frame whose face shape best matches the source.")
    side_by_side = c3.checkbox("Side by side (source | driving | result)", value=True)
    upscale = c3.selectbox("Output size", [1, 2], format_func=lambda k: f"{256 * k} px")
licence_caption(checkpoint if engine == "fomm" and checkpoint else engine)

# ------------------------------------------------------------------------------- animate
ANIMATE_REQUEST = "animator_animate_requested"


def _request_animation() -> None:
    """Button callback: recorded in the session, so a click that lands while the page is still rerunning
    for a new motion is not lost with that interrupted run (twice it started nothing and said nothing)."""
    st.session_state[ANIMATE_REQUEST] = True


def why_not_ready() -> str | None:
    if source is None:
        return "Choose a source face first (section 1)."
    if driving is None:
        return "Choose a driving motion or upload a video first (section 2)."
    if engine == "fomm" and not checkpoint:
        return "The neural engine needs its checkpoint (section 3), or choose the offline engine."
    return None


run_dir = st.session_state.get("animator_run")
status = jobs.read_job(run_dir) if run_dir else None
busy = status is not None and status.is_active
not_ready = why_not_ready()
ready = not_ready is None
with action_slot:
    st.button("Animate", type="primary", disabled=busy, on_click=_request_animation, key="animator_animate",
              help=not_ready)
    if st.session_state.pop(ANIMATE_REQUEST, False) and not busy:
        if not ready:
            st.warning(not_ready)
        else:
            run_dir = str(WORK_DIR / f"animation-{uuid.uuid4().hex[:12]}")
            opts = an.AnimateOptions(engine=engine, checkpoint=checkpoint, relative=relative,
                                     adapt_scale=adapt_scale, best_frame=best_frame, upscale=int(upscale),
                                     side_by_side=side_by_side, fomm_bf16=fomm_bf16,
                                     real_photo=source_kind == "Upload photo", provenance=export_settings(),
                                     source_note=st.session_state.get(HANDOFF_ANIMATOR_SOURCE_LABEL, "")
                                     if source_kind == "Sent from a generator" else source_kind)
            an.start_animation_job(run_dir, source, driving, opts, crop_source=crop_source)
            st.session_state["animator_run"] = run_dir
            status = jobs.read_job(run_dir)
if not ready:
    action_slot.caption(not_ready)
else:  # this setup as a show scene; a face or video that exists only here is stored in the show
    bundled = source_kind == "Bundled face"
    add_to_show(AnimationScene(source_kind="bundled" if bundled else "image",
                               source=str(idx) if bundled else "", align_source=False,
                               driving_kind="motion" if isinstance(driving, an.Motion) else "video",
                               driving=name if isinstance(driving, an.Motion) else "", engine=engine,
                               checkpoint=checkpoint or "", relative=relative, adapt_scale=adapt_scale,
                               best_frame=best_frame, side_by_side=side_by_side, upscale=int(upscale)),
                files={**({} if bundled else {"source": source}),
                       **({} if isinstance(driving, an.Motion) else {"driving": driving})})


def show_result(st_: jobs.JobStatus) -> None:
    if st_.state == jobs.CANCELLED:
        st.info("Cancelled.")
        return
    r = an.animation_result(st_)
    if st_.state != jobs.DONE or r is None or not Path(r.path).is_file():
        st.error(st_.error or "The animation failed (see the job log in its run folder).")
        return
    audio = "yes" if r.has_audio else "none"
    st.success(f"{r.frames} frames at {r.fps:g} fps in {r.seconds:.1f} s "
               f"({r.frames / max(r.seconds, 1e-6):.1f} fps overall); audio: {audio}; "
               f"start frame {r.best_frame}.")
    for note in r.notes:
        st.warning(note)
    data = Path(r.path).read_bytes()
    # Loops on its own, like the room expects; muted so browsers allow the autoplay (unmute to hear it).
    st.video(data, loop=True, autoplay=True, muted=True)
    st.download_button("Download MP4", data, file_name="animation.mp4", mime="video/mp4")


@st.fragment(run_every=1.0)
def job_panel(run: str) -> None:
    """Polls the job's manifest; once it has ended, one full rerun shows the result."""
    s_ = jobs.read_job(run)
    if s_ is None or s_.is_final:
        st.rerun()
        return
    frac = s_.fraction or 0.0
    text = s_.progress.message or "Starting..."
    st.progress(min(frac, 1.0), text=text)
    if st.button("Cancel"):
        jobs.request_cancel(run)


if status is not None:
    with action_slot:
        if status.is_final:
            show_result(status)
        else:
            job_panel(run_dir)

# ------------------------------------------------------------------ a face that says your line
if source is not None and source_kind == "Bundled face":
    say_something(source, crop_source, save_upload, {"source_kind": "bundled", "source": str(idx)})
else:
    say_something(source, crop_source, save_upload,
                  {"source_kind": "image", "source": "", "align_source": False},
                  {"source": source} if source is not None else None)

with st.expander("What the offline engine can and cannot do"):
    st.markdown(
        "It tracks ~150 face-mesh landmarks on the driving video and moves the same landmarks on the "
        "source, warping the image piecewise-affinely (FOMM's first-order idea with landmarks instead of "
        "learned keypoints). Blinks, nods, small turns, smiles and speech work; an opening mouth is "
        "filled with a dark interior. Unlike neural FOMM it cannot invent hidden content: large head "
        "turns stretch or fold the far cheek, teeth never appear and hair only follows smoothly.")
