"""Figures of a scan for the dataset explorer: pixel statistics, occupations and the map of the faces.

Plotly figures and a word-cloud PNG, no Streamlit: the page only caches and places what these return.
The word cloud is the survey's (:func:`core.survey.frequency_cloud_png`), drawn from the occupation words
that :func:`core.faces.stats.occupation_counts` counted.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

import numpy as np

from core.faces import stats
from core.image.convert import png_bytes

CHANNELS = ("red", "green", "blue")
MAP_THUMBNAILS = 150  # crops drawn on the map; beyond this the browser slows and they overlap anyway
MAP_METHODS = ("PCA", "t-SNE")


def channel_histogram_figure(hist: np.ndarray):
    """One line per RGB channel of :func:`core.faces.stats.channel_histograms`."""
    import plotly.graph_objects as go

    fig = go.Figure([go.Scatter(y=hist[c], name=n, line={"color": n}) for c, n in enumerate(CHANNELS)])
    fig.update_layout(title="Per-channel pixel histogram of the aligned crops", xaxis_title="value",
                      yaxis_title="pixels", height=320)
    return fig


def value_histogram_figure(values: np.ndarray, title: str, bins: int = 30):
    """A plain histogram, e.g. of each crop's brightness or contrast."""
    import plotly.graph_objects as go

    return go.Figure(go.Histogram(x=values, nbinsx=bins)).update_layout(title=title, height=280)


def occupation_bar_figure(counts: Mapping[str, int], top_n: int):
    """The ``top_n`` most common whole occupations as horizontal bars, the commonest on top."""
    import pandas as pd
    import plotly.express as px

    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top_n]
    top = pd.DataFrame(ranked, columns=["occupation", "count"])
    return px.bar(top, x="count", y="occupation", orientation="h").update_layout(
        yaxis={"autorange": "reversed"}, height=320)


def occupation_cloud_png(words: Mapping[str, int], width: int = 800, height: int = 320) -> bytes:
    """PNG word cloud of occupation word counts (raises core.survey.SurveyError when there are none)."""
    from core.survey import frequency_cloud_png  # light callers of core.faces never load the survey

    return frequency_cloud_png(words, width=width, height=height)


def face_map_figure(crops: np.ndarray, labels: Sequence[str], method: str = "PCA"):
    """The crops projected to 2-D (PCA or t-SNE) as labelled points, the first few drawn as thumbnails."""
    import plotly.graph_objects as go

    if method not in MAP_METHODS:
        raise ValueError(f"map method must be one of {MAP_METHODS}, not {method!r}")
    xy = stats.pca_2d(crops) if method == "PCA" else stats.tsne_2d(crops)
    fig = go.Figure(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", text=list(labels),
                               hovertemplate="%{text}<extra></extra>", marker={"size": 6}))
    size = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-6)) / 12
    for (x, y), crop in list(zip(xy, crops, strict=False))[:MAP_THUMBNAILS]:
        uri = "data:image/png;base64," + base64.b64encode(png_bytes(crop)).decode()
        fig.add_layout_image(source=uri, x=float(x), y=float(y), xref="x", yref="y", sizex=size,
                             sizey=size, xanchor="center", yanchor="middle")
    fig.update_layout(title=f"Aligned crops ({method}); thumbnails on the first {MAP_THUMBNAILS}", height=560)
    return fig
