"""Dataset explorer: scan photos for faces, inspect quality, analyse, and export a training set."""

from __future__ import annotations

import base64
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import ASSETS_DIR, EXPORTS_DIR, RUNS_DIR
from core import faces as F
from core.faces import stats
from core.imaging import make_grid, png_bytes
from pages._common import HANDOFF_TRAINING_DIR, page_header

DEMO_DIR = ASSETS_DIR / "demo_photos"
SOURCES = ("Bundled demo photos", "Folder path", "Zip upload", "Upload files")

page_header("Dataset explorer", "Find, align and vet the faces in a folder of profile photos, then export "
            "them as a GAN training set.")


@st.cache_resource(show_spinner="Loading the face detector...")
def detector(name: str):
    return F.get_detector(name)  # shared, read-only after construction


def _upload_dir() -> Path:
    if "explorer_upload_dir" not in st.session_state:
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        st.session_state.explorer_upload_dir = tempfile.mkdtemp(prefix="uploads-", dir=RUNS_DIR)
    return Path(st.session_state.explorer_upload_dir)


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
    blur = st.slider("Blur threshold (Laplacian variance)", 0.0, 200.0, 20.0, key="explorer_blur")
    dup = st.slider("Duplicate threshold (pHash bits)", 0, 20, 6, key="explorer_dup")


def resolve_source() -> tuple[Path | None, str | None]:
    """(folder to scan, error message)."""
    if source == "Bundled demo photos":
        return (DEMO_DIR, None) if DEMO_DIR.exists() else (None, "The bundled demo photos are missing.")
    if source == "Folder path":
        if not folder:
            return None, "Enter a folder path."
        p = Path(folder).expanduser()
        return (p, None) if p.is_dir() else (None, f"Not a folder: {p}")
    if source == "Zip upload":
        if zip_file is None:
            return None, "Upload a zip archive."
        dest = _upload_dir() / "zip"
        try:
            return F.extract_zip(zip_file.getvalue(), dest, max_total_bytes=1 << 30), None
        except F.IngestRefused as e:
            return None, str(e)
    if not uploads:
        return None, "Upload one or more photos."
    return F.save_uploads([(u.name, u.getvalue()) for u in uploads], _upload_dir() / "files"), None


def load_metadata(root: Path | None) -> dict:
    try:
        if meta_file is not None:
            return F.read_metadata(meta_file.getvalue())
        if root is not None and (root / "metadata.csv").exists():
            return F.read_metadata(root / "metadata.csv")
    except ValueError as e:
        st.warning(f"Metadata CSV ignored: {e}")
    return {}


cfg = F.ScanConfig(detector=det_name, size=size, keep=keep, min_face=min_face, blur_threshold=blur,
                   dup_threshold=dup)
@st.cache_resource
def scan_jobs() -> dict[str, F.ScanJob]:
    """Background scans by id; process-wide so a job outlives the script run that started it."""
    return {}


if st.button("Scan", type="primary", key="explorer_scan"):
    root, err = resolve_source()
    if err:
        st.error(err)
    else:
        detector(det_name)
        files = F.folder_sources(root)
        if not files:
            st.warning(f"No image files found in {root}.")
        else:
            job_id = f"{time.time():.6f}"
            scan_jobs()[job_id] = F.ScanJob(files, cfg)
            st.session_state.explorer_job = job_id
            st.session_state.explorer_job_source = (str(root), load_metadata(root))


@st.fragment(run_every=1.0)
def scan_progress(job_id: str) -> None:
    job = scan_jobs().get(job_id)
    if job is None or job.finished:
        st.rerun()
    eta = job.eta_seconds()
    st.progress(job.done / max(job.total, 1),
                text=f"Scanning {job.done}/{job.total} images"
                + (f" - about {eta:.0f} s left" if eta is not None else ""))
    if st.button("Cancel scan", key="explorer_cancel"):
        job.cancel()


job_id = st.session_state.get("explorer_job")
if job_id is not None:
    job = scan_jobs().get(job_id)
    if job is None:
        st.session_state.pop("explorer_job")
    elif not job.finished:
        scan_progress(job_id)
        st.stop()
    else:
        scan_jobs().pop(job_id, None)
        st.session_state.pop("explorer_job")
        if job.error:
            st.error(f"The scan stopped: {job.error}")
        else:
            st.session_state.explorer_result = job.result
            st.session_state.explorer_root, st.session_state.explorer_meta_map = \
                st.session_state.explorer_job_source

result: F.ScanResult | None = st.session_state.get("explorer_result")
if result is None:
    st.info("Pick a source in the sidebar (the bundled demo set of synthetic profile photos is the default) "
            "and press **Scan**.")
    st.stop()

root = Path(st.session_state.explorer_root)
meta = st.session_state.get("explorer_meta_map", {})
summary = result.summary()
c = st.columns(4)
c[0].metric("Images", summary["images"])
c[1].metric("Faces kept", summary["faces_kept"])
c[2].metric("Rejected", sum(summary["rejected"].values()))
c[3].metric("Duplicates", summary["duplicates"])
st.caption(f"Scanned {root} with the {result.config.detector} detector in {summary['seconds']:.1f} s "
           f"({sum(r.cached for r in result.records)} from cache).")
if summary["rejected"]:
    rejects = summary["rejected"]
    st.dataframe(pd.DataFrame({"reason": list(rejects), "images": list(rejects.values())}), hide_index=True)

kept = result.kept_crops()
crops = np.stack([f.crop for _, f in kept]) if kept else np.zeros((0, size, size, 3), np.uint8)

tabs = st.tabs(["Grid", "Image", "Pixel intensities", "Eigenfaces", "Occupations", "Map", "Export"])


def _thumb(rec: F.ImageRecord, side: int = 96) -> np.ndarray:
    face = rec.kept_faces[0] if rec.kept_faces else None
    if face is not None and face.crop is not None:
        import cv2

        return cv2.resize(face.crop, (side, side), interpolation=cv2.INTER_AREA)
    try:
        rgb, _ = F.load_image(root.joinpath(rec.file).read_bytes())
    except (F.ImageRejected, OSError):
        return np.full((side, side, 3), 200, np.uint8)
    import cv2

    return cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA)


@st.cache_data(show_spinner="Computing t-SNE...", max_entries=4)
def tsne_map(shown: np.ndarray) -> np.ndarray:
    return stats.tsne_2d(shown)


with tabs[0]:
    reasons = sorted({r.reason for r in result.records if r.reason})
    show = st.selectbox("Show", ["all", "kept", "rejected"] + [f"reason: {r}" for r in reasons],
                        key="explorer_filter")
    recs = [r for r in result.records if show == "all" or (show == "kept" and r.reason is None)
            or (show == "rejected" and r.reason is not None) or show == f"reason: {r.reason}"]
    st.write(f"{len(recs)} image(s)")
    cols = st.columns(6)
    for i, rec in enumerate(recs[:60]):
        cols[i % 6].image(_thumb(rec), caption=f"{Path(rec.file).name}: {rec.reason or 'kept'}",
                          width="stretch")
    if len(recs) > 60:
        st.caption(f"First 60 of {len(recs)} shown.")

with tabs[1]:
    names = [r.file for r in result.records]
    pick = st.selectbox("Image", names, key="explorer_pick")
    rec = result.records[names.index(pick)]
    st.write(f"**{rec.file}** - {rec.width}x{rec.height}, "
             f"{'greyscale, ' if rec.grayscale else ''}{rec.reason or 'kept'} {rec.detail}")
    if Path(rec.file).name in meta:
        st.write(meta[Path(rec.file).name])
    if rec.width:
        import cv2

        rgb, _ = F.load_image(root.joinpath(rec.file).read_bytes())
        drawn = rgb.copy()
        mesh_sets = []
        if result.config.detector.startswith("modern"):
            mesh_sets = [f.landmarks for f in detector("modern")(rgb) if f.landmarks is not None]
        for pts in mesh_sets:
            for x, y in pts[::3]:
                cv2.circle(drawn, (int(x), int(y)), 1, (0, 255, 255), -1)
        for f in rec.faces:
            colour = (0, 200, 0) if f.kept else (230, 40, 40)
            x0, y0, x1, y1 = (int(v) for v in f.box)
            cv2.rectangle(drawn, (x0, y0), (x1, y1), colour, max(2, rgb.shape[1] // 200))
            for x, y in f.points or []:
                cv2.circle(drawn, (int(x), int(y)), max(3, rgb.shape[1] // 120), (255, 0, 255), -1)
        a, b = st.columns([2, 1])
        a.image(drawn, caption="green: kept, red: rejected; magenta: eyes and mouth; yellow: mesh",
                width="stretch")
        for f in rec.faces:
            if f.crop is not None:
                b.image(f.crop, caption=f"aligned {result.config.size}px, blur {f.blur:.0f}", width=160)
            else:
                b.write(f"face {f.box}: {f.reason}")

with tabs[2]:
    if not len(crops):
        st.info("No faces were kept.")
    else:
        import plotly.graph_objects as go

        hist = stats.channel_histograms(crops)
        fig = go.Figure([go.Scatter(y=hist[c], name=n, line={"color": n}) for c, n in
                         enumerate(("red", "green", "blue"))])
        fig.update_layout(title="Per-channel pixel histogram of the aligned crops", xaxis_title="value",
                          yaxis_title="pixels", height=320)
        st.plotly_chart(fig, width="stretch")
        br, ct = stats.brightness_contrast(crops)
        a, b = st.columns(2)
        a.plotly_chart(go.Figure(go.Histogram(x=br, nbinsx=30)).update_layout(
            title="Brightness (mean luma)", height=280), width="stretch")
        b.plotly_chart(go.Figure(go.Histogram(x=ct, nbinsx=30)).update_layout(
            title="Contrast (luma std)", height=280), width="stretch")

with tabs[3]:
    if len(crops) < 2:
        st.info("At least two kept faces are needed.")
    else:
        k = st.slider("Eigenfaces", 2, 16, 8, key="explorer_k")
        comps, ratio = stats.eigenfaces(crops, k)
        a, b = st.columns([1, 3])
        a.image(stats.mean_face(crops), caption="Mean face", width=160)
        b.image(make_grid(list(comps), cols=8), caption="Eigenfaces (explained variance: "
                + ", ".join(f"{r:.0%}" for r in ratio) + ")", width="stretch")

with tabs[4]:
    occs = [meta.get(Path(r.file).name, {}).get("occupation", "") for r in result.records]
    whole, words = stats.occupation_counts(occs)
    if not whole:
        st.info("No metadata with occupations for these images (add a CSV with filename, name, occupation).")
    else:
        import plotly.express as px

        top_n = st.slider("Top N", 3, 30, 10, key="explorer_topn")
        top = pd.DataFrame(whole.most_common(top_n), columns=["occupation", "count"])
        st.plotly_chart(px.bar(top, x="count", y="occupation", orientation="h").update_layout(
            yaxis={"autorange": "reversed"}, height=320), width="stretch")
        try:
            from wordcloud import WordCloud

            cloud = WordCloud(width=800, height=320, background_color="white", random_state=0)
            st.image(cloud.generate_from_frequencies(words).to_array(), caption="Occupation words",
                     width="stretch")
        except Exception as e:  # the cloud is decoration; never fail the page for it
            st.caption(f"Word cloud unavailable: {e}")

with tabs[5]:
    if len(crops) < 3:
        st.info("At least three kept faces are needed.")
    else:
        import plotly.graph_objects as go

        method = st.radio("Projection", ("PCA", "t-SNE"), horizontal=True, key="explorer_map")
        shown = crops[:1000]
        xy = stats.pca_2d(shown) if method == "PCA" else tsne_map(shown)
        if len(crops) > len(shown):
            st.caption(f"First {len(shown)} of {len(crops)} faces mapped.")
        labels = [f"{r.file}" for r, _ in kept[:len(shown)]]
        fig = go.Figure(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", text=labels,
                                   hovertemplate="%{text}<extra></extra>", marker={"size": 6}))
        span = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-6))
        for (x, y), crop in list(zip(xy, shown, strict=False))[:150]:
            uri = "data:image/png;base64," + base64.b64encode(png_bytes(crop)).decode()
            fig.add_layout_image(source=uri, x=float(x), y=float(y), xref="x", yref="y", sizex=span / 12,
                                 sizey=span / 12, xanchor="center", yanchor="middle")
        fig.update_layout(title=f"Aligned crops ({method}); thumbnails on the first 150", height=560)
        st.plotly_chart(fig, width="stretch")

with tabs[6]:
    st.write(f"{summary['faces_kept']} aligned {result.config.size}px faces ready.")
    if summary["faces_kept"] and st.button("Export training set", key="explorer_export"):
        dest = EXPORTS_DIR / f"faces-{time.strftime('%Y%m%d-%H%M%S')}"
        st.session_state.explorer_export_dir = str(F.export_training_set(result, dest, meta))
    exported = st.session_state.get("explorer_export_dir")
    if exported:
        st.success(f"Exported to {exported} (PNGs + manifest.csv; faces.npz beside it).")
        npz = Path(exported).parent / "faces.npz"
        if npz.exists():
            st.download_button("Download faces.npz", npz.read_bytes(), "faces.npz", key="explorer_dl")
        if st.button("Train a DCGAN on these faces", key="explorer_handoff"):
            st.session_state[HANDOFF_TRAINING_DIR] = exported
            st.switch_page("pages/2_dcgan_trainer.py")
