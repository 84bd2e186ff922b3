"""Figures of the dashboard: plotly charts (counts, sunburst, crosstab heatmap, observed vs claimed,
sentiment) and the word-cloud PNG. No Streamlit here: the page only places what these return."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from core.survey.cleaning import CleanSurvey
from core.survey.counts import answer_counts, sunburst_data
from core.survey.errors import SurveyError
from core.survey.sentiment import SENTIMENT_LABELS
from core.survey.significance import CrosstabResult, ProportionTest
from core.survey.wording import format_p_value, format_percent, short_label, short_label_map


def counts_figure(clean: CleanSurvey, question: str):
    import plotly.graph_objects as go

    table = answer_counts(clean, question)
    fig = go.Figure(
        go.Bar(
            x=table["count"],
            y=_short_labels(table["answer"], 40),
            hovertext=table["answer"],
            hovertemplate="%{hovertext}<br>%{x} responses<extra></extra>",
            orientation="h",
            text=[f"{c} ({s:.0%})" for c, s in zip(table["count"], table["share"])],
            textposition="auto",
            marker_color="#4C78A8",
        )
    )
    fig.update_layout(
        title=_wrap(question),
        yaxis={"autorange": "reversed"},
        xaxis_title="responses",
        height=140 + 34 * len(table),
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
    )
    return fig



def sunburst_figure(clean: CleanSurvey, path: Sequence[str]):
    import plotly.graph_objects as go

    nodes = sunburst_data(clean, path)
    # Hover names every ring's question and answer in full (the sectors only fit short answer labels).
    hover = [
        "<br>".join(f"{_wrap(q, 80)}: <b>{a}</b>" for q, a in zip(path, json.loads(node_id)))
        for node_id in nodes["id"]
    ]
    fig = go.Figure(
        go.Sunburst(
            ids=nodes["id"],
            labels=nodes["label"],
            parents=nodes["parent"],
            values=nodes["count"],
            customdata=hover,
            branchvalues="total",
            hovertemplate="%{customdata}<br>%{value} respondents, %{percentRoot:.0%} of all<extra></extra>",
        )
    )
    # Title: one wrapped line per ring, inner first, so no question is cut off.
    title = "<br>".join(f"{i}. {_wrap(q, 90)}" for i, q in enumerate(path, start=1))
    lines = title.count("<br>") + 1
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=520 + 20 * lines,
        margin={"t": 30 + 20 * lines, "l": 0, "r": 0, "b": 10},
    )
    return fig


def crosstab_figure(result: CrosstabResult, row: str, col: str):
    import plotly.graph_objects as go

    table = result.table
    full = [[f"{_wrap(row, 80)}: <b>{r}</b><br>{_wrap(col, 80)}: <b>{c}</b>" for c in table.columns]
            for r in table.index]
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=_short_labels(table.columns, 32),
            y=_short_labels(table.index, 32),
            text=table.to_numpy(),
            customdata=full,
            texttemplate="%{text}",
            colorscale="Blues",
            hovertemplate="%{customdata}<br>%{z} respondents<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"χ² = {result.chi2:.2f}, dof = {result.dof}, {format_p_value(result.p_value)}",
        xaxis_title=_short(col),
        yaxis_title=_short(row),
        yaxis={"autorange": "reversed"},
        height=180 + 40 * table.shape[0],
    )
    return fig


def proportion_figure(t: ProportionTest):
    import plotly.graph_objects as go

    fig = go.Figure()
    names = ["counted as yes", "other answers"]
    fig.add_bar(
        name="observed", x=names, y=[t.observed_positive, t.observed_negative], marker_color="#4C78A8"
    )
    fig.add_bar(
        name=f"expected if the claim ({format_percent(t.claim)}) holds",
        x=names,
        y=[t.expected_positive, t.expected_negative],
        marker_color="#F58518",
    )
    fig.update_layout(
        barmode="group", title="Observed vs claimed counts", yaxis_title="responses", height=360
    )
    return fig


def sentiment_histogram(scores: pd.DataFrame, positive_threshold: float, negative_threshold: float):
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Histogram(
            x=scores["compound"], xbins={"start": -1, "end": 1.0001, "size": 0.1}, marker_color="#54A24B"
        )
    )
    for x in (negative_threshold, positive_threshold):
        fig.add_vline(x=x, line_dash="dash", line_color="grey")
    fig.update_layout(
        title="VADER compound scores", xaxis_title="compound score", yaxis_title="answers", height=340
    )
    return fig


def sentiment_group_figure(by_group: pd.DataFrame, group: str):
    import plotly.graph_objects as go

    colors = {"positive": "#54A24B", "neutral": "#BAB0AC", "negative": "#E45756"}
    fig = go.Figure()
    for label in SENTIMENT_LABELS:
        fig.add_bar(
            name=label, x=by_group[label], y=by_group["group"], orientation="h", marker_color=colors[label]
        )
    fig.update_layout(
        barmode="stack",
        title=f"Sentiment by {_short(group)}",
        xaxis_tickformat=".0%",
        yaxis={"autorange": "reversed"},
        height=160 + 34 * len(by_group),
    )
    return fig


def figure_html(fig) -> str:
    """Stand-alone HTML of a figure (plotly.js embedded so it opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True)


def _short(question: str, limit: int = 48) -> str:
    return short_label(question, limit)


def _short_labels(labels: Iterable, limit: int) -> list[str]:
    """Shortened axis labels, or the full ones if shortening would merge two categories."""
    full = [str(x) for x in labels]
    short = short_label_map(full, limit)
    return [short[x] for x in full]


def _wrap(text: str, width: int = 70) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "<br>".join(lines)


# Filler words of survey answers on top of the word cloud's English stopwords.
EXTRA_STOPWORDS = frozenset(
    "think would could might people one will may also really much even thing things way lot get make "
    "see us someone something".split()
)


def _word_cloud(width: int, height: int, seed: int, max_words: int, stopwords: set[str] | None = None):
    from wordcloud import WordCloud

    return WordCloud(
        width=width,
        height=height,
        background_color="white",
        stopwords=stopwords,
        collocations=False,
        random_state=seed,
        colormap="viridis",
        max_words=max_words,
    )


def _png(cloud) -> bytes:
    buf = io.BytesIO()
    cloud.to_image().save(buf, format="PNG")
    return buf.getvalue()


def word_cloud_png(
    texts: Iterable[str],
    width: int = 800,
    height: int = 400,
    extra_stopwords: Iterable[str] = (),
    seed: int = 0,
    max_words: int = 100,  # the library's default of 200 doubles the layout time for barely legible words
) -> bytes:
    """PNG bytes of a word cloud (English stopwords removed); deterministic for a given seed."""
    from wordcloud import STOPWORDS

    text = " ".join(t for t in texts if isinstance(t, str) and t.strip())
    stop = set(STOPWORDS) | set(EXTRA_STOPWORDS) | {w.lower() for w in extra_stopwords}
    if not any(w.lower() not in stop for w in re.findall(r"[A-Za-z']{2,}", text)):
        raise SurveyError("There are no words left for a word cloud once stopwords are removed.")
    return _png(_word_cloud(width, height, seed, max_words, stop).generate(text))


def frequency_cloud_png(
    counts: Mapping[str, float], width: int = 800, height: int = 400, seed: int = 0, max_words: int = 100
) -> bytes:
    """The same word cloud drawn from words a caller has already counted (its own tokens and stopwords),
    e.g. the dataset explorer's occupation words."""
    counts = {w: float(n) for w, n in counts.items() if n > 0}
    if not counts:
        raise SurveyError("There are no words for a word cloud.")
    return _png(_word_cloud(width, height, seed, max_words).generate_from_frequencies(counts))


