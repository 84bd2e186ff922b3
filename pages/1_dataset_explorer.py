"""Dataset explorer: scan photos for faces, inspect quality, analyse, and export a training set.

The scan is a thread job of :mod:`core.jobs` in this session's run folder, so it survives reruns and
reports progress, ETA and cancel through its manifest. Once a result exists, a page run draws the
summary and only the view that is selected; each view is a fragment (its own widgets rerun only it) and
its heavy parts are cached per scan, so switching to this page stays fast however many faces it holds.
"""

from __future__ import annotations

import base64
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import ASSETS_DIR, EXPORTS_DIR, RUNS_DIR, jobs
from core import faces as F
from core.cli import describe_os_error
from core.faces import preview, stats
from core.image.convert import make_grid, png_bytes
from core.show import DatasetScene
from pages._common import HANDOFF_TRAINING_DIR, page_header
from pages._show import add_to_show

DEMO_DIR = ASSETS_DIR / "demo_photos"
SCAN_RUNS = RUNS_DIR / "explorer"  # one run folder per browser session, reused by its scans
SOURCES = ("Bundled demo photos", "Folder path", "Zip upload", "Upload files")
VIEWS = ("Faces", "Image", "Pixel intensities", "Eigenfaces", "Occupations", "Map", "Export")
GRID_COLS, GRID_MAX, THUMB = 10, 60, 96  # per-photo thumbnails (with their reasons)
MOSAIC_COLS, MOSAIC_MAX = 12, 96        # the vetted faces: one picture, light for the browser

page_header("Dataset explorer", "Find, align and vet the faces in a folder of profile photos, then export "
            "them as a GAN training set.")


@st.cache_resource(show_spinner="Loading the face detector...")
def detector(name: str):
    return F.get_detector(name)  # shared, read-only after construction


def _session_dir(key: str, make) -> Path:
    if key not in st.session_state:
        st.session_state[key] = str(make())
    return Path(st.session_state[key])


def _upload_dir() -> Path:
    def make() -> str:
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        return tempfile.mkdtemp(prefix="uploads-", dir=RUNS_DIR)
    return _session_dir("explorer_upload_dir", make)


def _os_error(what: str, e: OSError) -> str:
    return f"{what}: {describe_os_error(e)}. Free some disk space or pick another folder, then try again."


with st.sidebar:
    st.subheader("Source")
    source = st.radio("Photos", SOURCES, key="explorer_source")
    folder = zip_file = uploads = None
    if source == "Folder path":
        folder = st.text_input("Folder on this machine", key="explorer_folder")
    elif source == "Zip upload":
        zip_file = st.file_uploader("Zip of photos", type=["zip"], key="explorer_zip")
    elif source == "Upload files":
        uploads = st.file_uploader("Photos", accept_multiple_files=True, key="explorer_files",
                                   type=[e.lstrip(".") for e in F.IMAGE_EXTENSIONS])
    meta_file = st.file_uploader("Metadata CSV (filename, name, occupation)", type=["csv"],
                                 key="explorer_meta")
    st.subheader("Pipeline")
    det_name = st.selectbox("Detector", F.DETECTORS, key="explorer_detector",
                            format_func=lambda d: {"modern": "Modern (BlazeFace + mesh)",
                                                   "modern-fast": "Modern, fast (BlazeFace keypoints only)",
                                                   "haar": "Haar cascade (the study's)"}[d])
    size = st.select_slider("Crop size", options=list(F.ALIGN_SIZES), value=64, key="explorer_size")
    keep = st.radio("Faces per image", ("largest", "all"), horizontal=True, key="explorer_keep")
    min_face = st.slider("Minimum face size (px)", 8, 256, 32, key="explorer_min_face")
    blur = st.slider("Reject faces less sharp than", 0.0, 200.0, 20.0, key="explorer_blur",
                     help="Sharpness is the variance of the Laplacian of the aligned crop; below this the "
                          "face is rejected as blurry.")
    dup = st.slider("Treat photos as duplicates up to this many differences", 0, 20, 6, key="explorer_dup",
                    help="Differences are bits of a 64-bit perceptual hash (pHash) of the face.")


def resolve_source() -> tuple[Path | None, str | None]:
    """(folder to scan, error message)."""
    if source == "Bundled demo photos":
        return (DEMO_DIR, None) if DEMO_DIR.exists() else (None, "The bundled demo photos are missing.")
    if source == "Folder path":
        if not folder:
            return None, "Enter a folder path."
        p = Path(folder).expanduser()
        return (p, None) if p.is_dir() else (None, f"Not a folder: {F.display_name(str(p))}")
    if source == "Zip upload":
        if zip_file is None:
            return None, "Upload a zip archive."
        try:  # the core's default size, entry and ratio caps apply
            return F.extract_zip(zip_file.getvalue(), _upload_dir() / "zip"), None
        except F.IngestRefused as e:
            return None, str(e)
        except OSError as e:
            return None, _os_error("The zip could not be unpacked", e)
    if not uploads:
        return None, "Upload one or more photos."
    try:
        return F.save_uploads([(u.name, u.getvalue()) for u in uploads], _upload_dir() / "files"), None
    except OSError as e:
        return None, _os_error("The uploads could not be saved", e)


def load_metadata(root: Path | None) -> dict:
    try:
        if meta_file is not None:
            return F.read_metadata(meta_file.getvalue())
        if root is not None and (root / "metadata.csv").exists():
            return F.read_metadata(root / "metadata.csv")
    except (ValueError, OSError) as e:
        st.warning(f"Metadata CSV ignored: {e}")
    return {}


# ------------------------------------------------------------------------------------------ scan
# The view picker is not drawn while a scan runs (the page stops at the progress bar), and Streamlit drops
# the state of a widget that a run did not draw: after a rescan the picker showed "Faces" over another
# view and ignored a click on it. Re-assigning the value keeps it through those runs.
if "explorer_view" in st.session_state:
    st.session_state.explorer_view = st.session_state.explorer_view
run_dir = _session_dir("explorer_run_dir", lambda: SCAN_RUNS / f"session-{uuid.uuid4().hex[:12]}")
status = jobs.read_job(run_dir)
scanning = status is not None and status.is_active
if st.button("Scan", type="primary", key="explorer_scan", disabled=scanning):
    root, err = resolve_source()
    if err:
        st.error(err)
    else:
        cfg = F.ScanConfig(detector=det_name, size=size, keep=keep, min_face=min_face, blur_threshold=blur,
                           dup_threshold=dup)
        detector(det_name)
        files = F.folder_sources(root)
        if not files:
            st.warning(f"No image files found in {F.display_name(str(root))}.")
        else:
            try:
                F.start_scan_job(run_dir, files, cfg)
            except jobs.JobBusyError as e:
                st.warning(str(e))
            except OSError as e:
                st.error(_os_error("The scan could not start", e))
            else:
                st.session_state.explorer_job_source = (str(root), load_metadata(root))
                st.session_state.pop("explorer_note", None)
                status, scanning = jobs.read_job(run_dir), True


@st.fragment(run_every=1.0)
def scan_progress(run: str) -> None:
    """Polls the job's manifest; once the scan has ended, one full rerun takes its result."""
    s = jobs.read_job(run)
    if s is None or s.is_final:
        st.rerun()
    p = s.progress
    text = f"Scanning {p.done:g}/{p.total:g} images" if p.total else "Starting the scan..."
    eta = s.eta_seconds()
    st.progress(s.fraction or 0.0, text=text + (f", about {eta:.0f} s left" if eta is not None else ""))
    if st.button("Cancel scan", key="explorer_cancel"):
        jobs.request_cancel(run)


def take_result(s: jobs.JobStatus) -> None:
    """Move a finished scan's in-memory result (kept by the job handle) into this session, once."""
    st.session_state.explorer_taken = s.job_id
    handle = jobs.get_thread_job(run_dir)
    result = handle.result if handle is not None and handle.thread_name == s.thread else None
    jobs.forget_thread_job(run_dir)
    if s.state == jobs.CANCELLED:
        st.session_state.explorer_note = ("info", "Scan cancelled.")
    elif s.state != jobs.DONE:
        st.session_state.explorer_note = ("error", f"The scan stopped: {s.error}")
    elif result is None:
        st.session_state.explorer_note = (
            "error", "The scan finished, but its result is no longer in this server's memory (restarted?). "
            "Press Scan again: images already seen rescan from the cache in moments.")
    else:
        st.session_state.explorer_result, st.session_state.explorer_scan_id = result, s.job_id
        st.session_state.explorer_root, st.session_state.explorer_meta_map = \
            st.session_state.get("explorer_job_source", (str(DEMO_DIR), {}))


if status is not None and status.job_id != st.session_state.get("explorer_taken"):
    if scanning:
        scan_progress(str(run_dir))
        st.stop()
    take_result(status)
note = st.session_state.get("explorer_note")
if note:
    (st.info if note[0] == "info" else st.error)(note[1])

result: F.ScanResult | None = st.session_state.get("explorer_result")
if result is None:
    st.info("Pick a source in the sidebar (the bundled demo set of synthetic profile photos is the default) "
            "and press **Scan**.")
    st.stop()

scan_id: str = st.session_state.get("explorer_scan_id", "")
root = Path(st.session_state.explorer_root)
meta = st.session_state.get("explorer_meta_map", {})
summary = result.summary()
c = st.columns(5)
c[0].metric("Images", summary["images"])
c[1].metric("Faces kept", summary["faces_kept"])
c[2].metric("Rejected", sum(summary["rejected"].values()))
c[3].metric("Duplicates", summary["duplicates"])
c[4].metric("Scan time", f"{summary['seconds']:.1f} s")
why = ", ".join(f"{reason} {n}" for reason, n in summary["rejected"].items())
# The folder by name only (an absolute path is the engineer's; it is in the tooltip).
demo = root.resolve() == DEMO_DIR.resolve()
where = "the bundled demo photos" if demo else f"“{F.display_name(root.name)}”"
st.caption(f"Scanned {where}." + (f" Rejected: {why}." if why else ""),
           help=f"{F.display_name(str(root))}, {result.config.detector} detector, "
                f"{sum(r.cached for r in result.records)} images from the cache")
# Every file of the folder is accounted for: those that are not photos are named, never skipped unseen.
skipped = F.skipped_sources(root) if root.is_dir() else []
if skipped:
    with st.expander(f"{len(skipped)} other file(s) in the folder were not read (not photos)"):
        st.dataframe(pd.DataFrame(skipped, columns=["file", "reason"]), hide_index=True)
cfg_used = result.config
add_to_show(DatasetScene(folder=str(root), detector=cfg_used.detector, size=cfg_used.size,
                         min_face=cfg_used.min_face, blur_threshold=float(cfg_used.blur_threshold),
                         keep=cfg_used.keep, dup_threshold=cfg_used.dup_threshold))


# ------------------------------------------------------------------------------- cached per scan
# Everything below is keyed on the scan's job id; arguments starting with "_" are not hashed.

@st.cache_resource(max_entries=4)
def kept_stack(scan_id: str, _result: F.ScanResult) -> np.ndarray:
    """All kept crops as one array (shared read-only: it can be hundreds of MB)."""
    return preview.kept_array(_result)


@st.cache_data(max_entries=32, show_spinner=False)
def thumbnails(scan_id: str, show: str, _records: list[F.ImageRecord], _root: Path) -> list[bytes]:
    """JPEG thumbnails of the first GRID_MAX records: the kept face, else the photo itself."""
    return [preview.jpeg_bytes(preview.thumbnail(rec, _root, THUMB)) for rec in _records[:GRID_MAX]]


@st.cache_data(max_entries=8, show_spinner=False)
def mosaic(scan_id: str, _crops: np.ndarray) -> bytes:
    return preview.jpeg_bytes(preview.face_mosaic(_crops, THUMB, MOSAIC_COLS, MOSAIC_MAX))


@st.cache_data(max_entries=16, show_spinner="Drawing the detections...")
def annotated(scan_id: str, index: int, _rec: F.ImageRecord, _root: Path, mesh: bool
              ) -> tuple[np.ndarray | None, str]:
    """(the photo with boxes, points and mesh drawn, or None; why it cannot be shown)."""
    try:
        rgb, _ = F.load_image(_root.joinpath(_rec.file).read_bytes())
    except F.ImageRejected as e:
        return None, f"{e.reason}: {e.detail}"
    except OSError as e:
        return None, describe_os_error(OSError(e.errno, e.strerror))
    meshes = [f.landmarks for f in detector("modern")(rgb) if f.landmarks is not None] if mesh else []
    return preview.draw_detections(rgb, _rec, meshes), ""


@st.cache_data(max_entries=8, show_spinner=False)
def pixel_stats(scan_id: str, _crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (stats.channel_histograms(_crops), *stats.brightness_contrast(_crops))


@st.cache_data(max_entries=16, show_spinner="Computing eigenfaces...")
def eigen_view(scan_id: str, k: int, _crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    comps, ratio = stats.eigenfaces(_crops, k)
    return stats.mean_face(_crops), make_grid(list(comps), cols=8), ratio


@st.cache_data(max_entries=8, show_spinner="Drawing the word cloud...")
def word_cloud(scan_id: str, _words: dict) -> tuple[np.ndarray | None, str]:
    try:
        from wordcloud import WordCloud

        cloud = WordCloud(width=800, height=320, background_color="white", random_state=0)
        return cloud.generate_from_frequencies(_words).to_array(), ""
    except Exception as e:  # noqa: BLE001 - the cloud is decoration; never fail the page for it
        return None, str(e)


@st.cache_data(max_entries=8, show_spinner="Mapping the faces...")
def face_map(scan_id: str, method: str, _crops: np.ndarray, _labels: list[str]):
    import plotly.graph_objects as go

    xy = stats.pca_2d(_crops) if method == "PCA" else stats.tsne_2d(_crops)
    fig = go.Figure(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", text=_labels,
                               hovertemplate="%{text}<extra></extra>", marker={"size": 6}))
    span = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-6))
    for (x, y), crop in list(zip(xy, _crops, strict=False))[:150]:
        uri = "data:image/png;base64," + base64.b64encode(png_bytes(crop)).decode()
        fig.add_layout_image(source=uri, x=float(x), y=float(y), xref="x", yref="y", sizex=span / 12,
                             sizey=span / 12, xanchor="center", yanchor="middle")
    fig.update_layout(title=f"Aligned crops ({method}); thumbnails on the first 150", height=560)
    return fig


# ------------------------------------------------------------------------------------------ views
# Each view is a fragment: a widget inside one reruns only that view.

@st.fragment
def faces_view() -> None:
    reasons = sorted({r.reason for r in result.records if r.reason})
    pick, count = st.columns([1, 4], vertical_alignment="bottom")  # one line, so the faces stay in view
    show = pick.selectbox("Show", ["kept", "all", "rejected"] + [f"reason: {r}" for r in reasons],
                          key="explorer_filter")
    recs = [r for r in result.records if show == "all" or (show == "kept" and r.reason is None)
            or (show == "rejected" and r.reason is not None) or show == f"reason: {r.reason}"]
    count.write(f"{len(recs)} image(s)")
    if show == "kept":
        crops = kept_stack(scan_id, result)
        if len(crops):
            # At its own size (never wider): a few faces enlarged to the page width looked stretched.
            st.image(mosaic(scan_id, crops), width="content",
                     caption=f"The vetted faces, aligned at {result.config.size} px"
                     + (f" (first {MOSAIC_MAX} of {len(crops)})" if len(crops) > MOSAIC_MAX else "")
                     + "; pick 'all' or 'rejected' above to see every photo with its verdict.")
        return
    cols = st.columns(GRID_COLS)
    for i, (rec, thumb) in enumerate(zip(recs, thumbnails(scan_id, show, recs, root), strict=False)):
        name = F.display_name(Path(rec.file).name)
        caption = name if show == "kept" else f"{name}: {rec.reason or 'kept'}"
        cols[i % GRID_COLS].image(thumb, caption=caption, width="stretch")
    if len(recs) > GRID_MAX:
        st.caption(f"First {GRID_MAX} of {len(recs)} shown.")


@st.fragment
def image_view() -> None:
    names = [F.display_name(r.file) for r in result.records]
    i = st.selectbox("Image", range(len(names)), format_func=names.__getitem__, key="explorer_pick")
    rec = result.records[i]
    st.write(f"**{names[i]}** - {rec.width}x{rec.height}, "
             f"{'greyscale, ' if rec.grayscale else ''}{rec.reason or 'kept'} {rec.detail}")
    if Path(rec.file).name in meta:
        st.write(meta[Path(rec.file).name])
    if not rec.width:
        return
    drawn, why = annotated(scan_id, i, rec, root, result.config.detector.startswith("modern"))
    if drawn is None:
        st.warning(f"The photo cannot be shown any more ({why}).")
        return
    a, b = st.columns([2, 1])
    a.image(drawn, caption=preview.LEGEND, width="stretch")
    for f in rec.faces:
        if f.crop is not None:
            b.image(f.crop, caption=f"aligned {result.config.size} px, sharpness {f.blur:.0f}", width=160)
        else:
            b.write(f"face {f.box}: {f.reason}")


@st.fragment
def pixels_view() -> None:
    crops = kept_stack(scan_id, result)
    if not len(crops):
        st.info("No faces were kept.")
        return
    import plotly.graph_objects as go

    hist, br, ct = pixel_stats(scan_id, crops)
    fig = go.Figure([go.Scatter(y=hist[c], name=n, line={"color": n}) for c, n in
                     enumerate(("red", "green", "blue"))])
    fig.update_layout(title="Per-channel pixel histogram of the aligned crops", xaxis_title="value",
                      yaxis_title="pixels", height=320)
    st.plotly_chart(fig, width="stretch")
    a, b = st.columns(2)
    a.plotly_chart(go.Figure(go.Histogram(x=br, nbinsx=30)).update_layout(
        title="Brightness (mean luma)", height=280), width="stretch")
    b.plotly_chart(go.Figure(go.Histogram(x=ct, nbinsx=30)).update_layout(
        title="Contrast (luma std)", height=280), width="stretch")


@st.fragment
def eigen_view_panel() -> None:
    crops = kept_stack(scan_id, result)
    if len(crops) < 2:
        st.info("At least two kept faces are needed.")
        return
    k = st.slider("Eigenfaces", 2, 16, 8, key="explorer_k")
    mean, grid, ratio = eigen_view(scan_id, k, crops)
    a, b = st.columns([1, 3])
    a.image(mean, caption="Mean face", width=160)
    b.image(grid, caption="Eigenfaces (explained variance: " + ", ".join(f"{r:.0%}" for r in ratio) + ")",
            width="stretch")


@st.fragment
def occupations_view() -> None:
    occs = [meta.get(Path(r.file).name, {}).get("occupation", "") for r in result.records]
    whole, words = stats.occupation_counts(occs)
    if not whole:
        st.info("No metadata with occupations for these images (add a CSV with filename, name, occupation).")
        return
    import plotly.express as px

    top_n = st.slider("Top N", 3, 30, 10, key="explorer_topn")
    top = pd.DataFrame(whole.most_common(top_n), columns=["occupation", "count"])
    st.plotly_chart(px.bar(top, x="count", y="occupation", orientation="h").update_layout(
        yaxis={"autorange": "reversed"}, height=320), width="stretch")
    cloud, why = word_cloud(scan_id, dict(words))
    if cloud is not None:
        st.image(cloud, caption="Occupation words", width="stretch")
    else:
        st.caption(f"Word cloud unavailable: {why}")


@st.fragment
def map_view() -> None:
    crops = kept_stack(scan_id, result)
    if len(crops) < 3:
        st.info("At least three kept faces are needed.")
        return
    method = st.radio("Projection", ("PCA", "t-SNE"), horizontal=True, key="explorer_map")
    shown = crops[:1000]
    if len(crops) > len(shown):
        st.caption(f"First {len(shown)} of {len(crops)} faces mapped.")
    labels = [F.display_name(r.file) for r, f in result.kept_crops() if f.crop is not None][:len(shown)]
    st.plotly_chart(face_map(scan_id, method, shown, labels), width="stretch")


@st.fragment
def export_view() -> None:
    st.write(f"{summary['faces_kept']} aligned {result.config.size}px faces ready.")
    if summary["faces_kept"] and st.button("Export training set", key="explorer_export"):
        dest = EXPORTS_DIR / f"faces-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            st.session_state.explorer_export_dir = str(F.export_training_set(result, dest, meta))
        except OSError as e:
            st.session_state.pop("explorer_export_dir", None)
            st.error(_os_error("The export failed", e))
    exported = st.session_state.get("explorer_export_dir")
    if exported:
        st.success(f"Exported to {exported} (PNGs + manifest.csv; faces.npz beside it).")
        npz = Path(exported).parent / "faces.npz"
        try:
            st.download_button("Download faces.npz", npz.read_bytes(), "faces.npz", key="explorer_dl")
        except OSError:
            st.caption("faces.npz is no longer there.")
        if st.button("Train a DCGAN on these faces", key="explorer_handoff"):
            st.session_state[HANDOFF_TRAINING_DIR] = exported
            st.switch_page("pages/2_dcgan_trainer.py")


# Only the selected view runs (st.tabs would run every tab's content on each page run).
view = st.segmented_control("View", VIEWS, default=VIEWS[0], required=True, key="explorer_view",
                            label_visibility="collapsed")
{"Faces": faces_view, "Image": image_view, "Pixel intensities": pixels_view, "Eigenfaces": eigen_view_panel,
 "Occupations": occupations_view, "Map": map_view, "Export": export_view}[view or VIEWS[0]]()
