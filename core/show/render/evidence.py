"""Evidence: the hypothesis test of the dashboard (:func:`core.survey.proportion_test`) on a survey
question, as a chart (PNG, drawn once here so presenting needs no plotting library) and the headline and
verdict worded by :func:`core.survey.verdict_words`, the same words as the dashboard and the live poll."""

from __future__ import annotations

import io

from core.show.errors import ShowError
from core.show.render.context import RenderContext
from core.show.schema import EvidenceScene


def estimate(scene: EvidenceScene) -> int:
    return 1


def chart_png(t, width_px: int = 1200, height_px: int = 520) -> bytes:
    """Observed share with its confidence interval against the claimed share, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ax = fig.add_subplot()
    label = " or ".join(t.positive)
    ax.barh([0], [t.observed_share * 100], height=0.5, color="#4C78A8")
    ax.errorbar([t.observed_share * 100], [0], xerr=[[100 * (t.observed_share - t.ci_low)],
                                                     [100 * (t.ci_high - t.observed_share)]],
                fmt="none", ecolor="#222222", capsize=10, linewidth=2)
    ax.axvline(t.claim * 100, color="#F58518", linewidth=3, linestyle="--")
    ax.text(t.claim * 100, 0.42, f" claim {t.claim:.0%}", color="#B35C00", fontsize=16, va="bottom")
    ax.text(min(t.observed_share * 100, 97), -0.42, f"{t.observed_share:.0%} said {label}",
            color="#1F3B57", fontsize=18, ha="right" if t.observed_share > 0.5 else "left", va="top",
            fontweight="bold")
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.8, 0.8)
    ax.set_yticks([])
    ax.set_xlabel("share of viewers (%)", fontsize=14)
    ax.tick_params(axis="x", labelsize=13)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def render(scene: EvidenceScene, ctx: RenderContext) -> dict:
    from core import survey as sv

    path = ctx.input_path(scene.survey, "survey file")
    clean = sv.clean_survey(sv.read_survey(path))
    question = sv.find_question(list(clean.data.columns), scene.question)
    try:
        t = sv.proportion_test(clean, question, scene.positive or None, scene.claim, scene.alpha)
    except ValueError as e:
        # The survey's own text (the matched column's header) stays out of errors: a show file may point
        # at any file, and its first line would be printed. The presenter's own words name the question.
        message = str(e).replace(repr(question), "the question").replace(question, "the question")
        raise ShowError(f"survey question {scene.question!r}: {message}") from None
    chart = ctx.put_bytes(chart_png(t), ".png")
    ctx.advance(1, "chart")
    words = sv.verdict_words(t)
    return {"chart": chart, "headline": words.headline, "verdict": words.sentence,
            "details": words.statistics,
            "question": question, "n": t.n, "positive_count": t.observed_positive, "share": t.observed_share,
            "claim": t.claim, "p_value": t.p_value, "ci": [t.ci_low, t.ci_high], "reject": t.reject_null}
