"""core.dcgan.figures: the monitor's charts carry the logged values, under the names the page shows."""

from __future__ import annotations

import pytest

from core import dcgan
from core.dcgan import figures

ROWS = [
    {"step": 0, "time": 0.0, "swd": 91.5},  # the SWD-only row logged before the first step
    {"step": 1, "d_loss": 1.4, "g_loss": 0.7, "d_x": 0.51, "d_gz": 0.49},
    {"step": 2, "d_loss": 1.2, "g_loss": 0.9, "d_x": 0.62, "d_gz": 0.40, "swd": 80.25},
    {"step": 3, "d_loss": 1.1, "g_loss": 1.3, "d_x": 0.70, "d_gz": 0.33},
]


def _traces(fig):
    return {t.name: (list(t.x), list(t.y)) for t in fig.data}


def test_curves_carry_the_logged_values_in_page_order():
    losses, verdicts, swd = figures.training_curves(ROWS)
    assert _traces(losses) == {"D loss": ([1, 2, 3], [1.4, 1.2, 1.1]), "G loss": ([1, 2, 3], [0.7, 0.9, 1.3])}
    assert _traces(verdicts) == {"D(real)": ([1, 2, 3], [0.51, 0.62, 0.70]),
                                 "D(fake)": ([1, 2, 3], [0.49, 0.40, 0.33])}
    assert _traces(swd) == {"SWD": ([0, 2], [91.5, 80.25])}  # step 0's measure kept, rows without SWD not
    assert swd.data[0].mode == "lines+markers" and losses.data[0].mode == "lines"
    charts = (losses, verdicts, swd)
    assert [f.layout.title.text for f in charts] == [
        "Losses", "Discriminator's verdicts", "Distance to the real faces (SWD ×1e3, lower is better)"]
    assert all(f.layout.height == 260 and f.layout.xaxis.title.text == "step" for f in charts)


def test_a_damaged_log_draws_gaps_not_errors():
    rows = [3, "x", {"time": 1.0}, {"step": 5, "d_loss": 0.5}, {"step": 6, "d_loss": 0.4, "g_loss": 2.0}]
    losses, _, swd = dcgan.training_curves(rows)  # also reachable as a public name of core.dcgan
    assert _traces(losses) == {"D loss": ([5, 6], [0.5, 0.4]), "G loss": ([5, 6], [None, 2.0])}
    assert _traces(swd) == {"SWD": ([], [])}


@pytest.mark.parametrize("make", [figures.losses_figure, figures.verdicts_figure, figures.swd_figure])
def test_no_rows_is_an_empty_chart(make):
    fig = make([])
    assert all(len(t.x) == 0 for t in fig.data)
