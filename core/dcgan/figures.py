"""Figures of a DCGAN run: its losses, the discriminator's verdicts and the SWD curve, from the rows the
trainer logs (``run_dir.read_metrics``). No Streamlit here: the page only places what these return."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

TRACE_NAMES = {"d_loss": "D loss", "g_loss": "G loss", "d_x": "D(real)", "d_gz": "D(fake)", "swd": "SWD"}
LOSSES_TITLE = "Losses"
VERDICTS_TITLE = "Discriminator's verdicts"
SWD_TITLE = "Distance to the real faces (SWD ×1e3, lower is better)"


def step_figure(rows: Sequence[dict], keys: Sequence[str], title: str) -> go.Figure:
    """One line per key against the step, over the rows that carry losses (step 0's SWD-only row has
    none)."""
    step_rows = [r for r in _logged(rows) if "d_loss" in r]
    steps = [r["step"] for r in step_rows]
    fig = go.Figure()
    for key in keys:  # a value missing from a row (a hand-edited log) is a gap in the line, not an error
        fig.add_trace(go.Scatter(x=steps, y=[r.get(key) for r in step_rows], mode="lines",
                                 name=TRACE_NAMES[key]))
    return _small_chart(fig, title)


def losses_figure(rows: Sequence[dict]) -> go.Figure:
    """D and G losses against the step."""
    return step_figure(rows, ("d_loss", "g_loss"), LOSSES_TITLE)


def verdicts_figure(rows: Sequence[dict]) -> go.Figure:
    """The discriminator's mean output on real and on generated images against the step."""
    return step_figure(rows, ("d_x", "d_gz"), VERDICTS_TITLE)


def swd_figure(rows: Sequence[dict]) -> go.Figure:
    """The sliced Wasserstein distance to the real faces at each step it was measured."""
    measured = [(r["step"], r["swd"]) for r in _logged(rows) if "swd" in r]
    fig = go.Figure(go.Scatter(x=[s for s, _ in measured], y=[v for _, v in measured], mode="lines+markers",
                               name=TRACE_NAMES["swd"]))
    return _small_chart(fig, SWD_TITLE)


def training_curves(rows: Sequence[dict]) -> list[go.Figure]:
    """The three charts of a run's monitor, in page order: losses, verdicts, SWD."""
    return [losses_figure(rows), verdicts_figure(rows), swd_figure(rows)]


def _logged(rows: Sequence[dict]) -> list[dict]:
    """The rows that name their step (any other line of the log is skipped)."""
    return [r for r in rows if isinstance(r, dict) and "step" in r]


def _small_chart(fig: go.Figure, title: str) -> go.Figure:
    """A 260 px chart, its title at the left (the toolbar the page hides would sit at the right)."""
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=260,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis_title="step",
                      legend=dict(orientation="h", y=-0.3))
    return fig
