"""The dataset explorer's views of a scan: the faces, one photo, pixel statistics, eigenfaces, occupations
and the map. Each view is a fragment (a widget inside one reruns only that view) taking what it shows."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import faces as F
from core.faces import figures, preview, stats
from pages._common import CHART_CONFIG
from pages._explorer_cache import (
    GRID_MAX,
    MOSAIC_MAX,
    annotated,
    eigen_view,
    face_map,
    kept_stack,
    mosaic,
    pixel_stats,
    thumbnails,
    word_cloud,
)

GRID_COLS = 10
MAP_MAX = 1000  # faces on the map (t-SNE is quadratic in their number)


def _filtered(result: F.ScanResult, show: str) -> list[F.ImageRecord]:
    return [r for r in result.records if show == "all" or (show == "kept" and r.reason is None)
            or (show == "rejected" and r.reason is not None) or show == f"reason: {r.reason}"]


@st.fragment
def faces_view(result: F.ScanResult, scan_id: str, root: Path) -> None:
    reasons = sorted({r.reason for r in result.records if r.reason})
    pick, count = st.columns([1, 4], vertical_alignment="bottom")  # one line, so the faces stay in view
    show = pick.selectbox("Show", ["kept", "all", "rejected"] + [f"reason: {r}" for r in reasons],
                          key="explorer_filter")
    recs = _filtered(result, show)
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
        cols[i % GRID_COLS].image(thumb, caption=f"{name}: {rec.reason or 'kept'}", width="stretch")
    if len(recs) > GRID_MAX:
        st.caption(f"First {GRID_MAX} of {len(recs)} shown.")


@st.fragment
def image_view(result: F.ScanResult, scan_id: str, root: Path, meta: dict) -> None:
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
def pixels_view(result: F.ScanResult, scan_id: str) -> None:
    crops = kept_stack(scan_id, result)
    if not len(crops):
        st.info("No faces were kept.")
        return
    hist, brightness, contrast = pixel_stats(scan_id, crops)
    st.plotly_chart(figures.channel_histogram_figure(hist), width="stretch", config=CHART_CONFIG)
    a, b = st.columns(2)
    a.plotly_chart(figures.value_histogram_figure(brightness, "Brightness (mean luma)"), width="stretch",
                   config=CHART_CONFIG)
    b.plotly_chart(figures.value_histogram_figure(contrast, "Contrast (luma std)"), width="stretch",
                   config=CHART_CONFIG)


@st.fragment
def eigen_panel(result: F.ScanResult, scan_id: str) -> None:
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
def occupations_view(result: F.ScanResult, scan_id: str, meta: dict) -> None:
    occs = [meta.get(Path(r.file).name, {}).get("occupation", "") for r in result.records]
    whole, words = stats.occupation_counts(occs)
    if not whole:
        st.info("No metadata with occupations for these images (add a CSV with filename, name, occupation).")
        return
    top_n = st.slider("Top N", 3, 30, 10, key="explorer_topn")
    st.plotly_chart(figures.occupation_bar_figure(whole, top_n), width="stretch", config=CHART_CONFIG)
    cloud, why = word_cloud(scan_id, dict(words))
    if cloud is not None:
        st.image(cloud, caption="Occupation words", width="stretch")
    else:
        st.caption(f"Word cloud unavailable: {why}")


@st.fragment
def map_view(result: F.ScanResult, scan_id: str) -> None:
    crops = kept_stack(scan_id, result)
    if len(crops) < 3:
        st.info("At least three kept faces are needed.")
        return
    method = st.radio("Projection", figures.MAP_METHODS, horizontal=True, key="explorer_map")
    shown = crops[:MAP_MAX]
    if len(crops) > len(shown):
        st.caption(f"First {len(shown)} of {len(crops)} faces mapped.")
    labels = [F.display_name(r.file) for r, f in result.kept_crops() if f.crop is not None][:len(shown)]
    st.plotly_chart(face_map(scan_id, method, shown, labels), width="stretch", config=CHART_CONFIG)
