"""The dashboard's Hypothesis test tab: the question, the answer(s) counted as yes, the claim (α under
Advanced) and the observed-vs-claimed chart; the test it returns feeds the headline and the Export tab.

Not a fragment: the headline and verdict above the tabs follow these controls, so a change reruns the page
(about as fast as the fragment alone, everything heavy is cached)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import survey as sv
from core.show import EvidenceScene
from pages._common import CHART_CONFIG
from pages._dashboard_explore import labels, question_picker
from pages._show import add_to_show


def pick_question(clean: sv.CleanSurvey, choice_questions: list[str]) -> str:
    default_q = choice_questions.index(sv.default_test_question(clean))
    return question_picker(st, "Question", choice_questions, default_q, "dashboard_test_q")


def pick_positive(clean: sv.CleanSurvey, question: str, answers: list[str], choice_questions: list[str]):
    """The answer(s) counted as yes; the widget is keyed per question, so each keeps its own choice."""
    return st.multiselect(
        "Counted as yes",
        answers,
        default=[sv.default_positive(clean, question)],
        key=f"dashboard_test_pos_{choice_questions.index(question)}",
        format_func=labels(answers, 40),
        help="The answer(s) that count for the claim. Answers to this question: "
        + " · ".join(f"“{a}”" for a in answers),
    )


def claim_inputs() -> tuple[float, float]:
    """(claimed proportion, significance level α)."""
    c1, c2 = st.columns(2)
    claim = c1.number_input(
        "Claimed proportion", 0.01, 0.99, sv.DEFAULT_CLAIM, 0.01, key="dashboard_claim",
        help="The share of viewers the claim says answer yes (0.7 = 70 %, the original study's claim).",
    )
    alpha = c2.number_input(
        "Significance level α", 0.001, 0.5, sv.DEFAULT_ALPHA, 0.01, key="dashboard_alpha", format="%.3f",
        help="How unlikely a result must be by chance alone to count as clear evidence (0.05 = 1 in 20).",
    )
    return claim, alpha


def hypothesis_panel(clean: sv.CleanSurvey, choice_questions: list[str], bundled: Path | None,
                     data: bytes) -> sv.ProportionTest | None:
    """The tab; ``bundled`` is the demo survey's path when it is the one shown (a show scene names it),
    None for an upload or a poll snapshot (the scene stores ``data``)."""
    question = pick_question(clean, choice_questions)
    answers = clean.order[question]
    if not answers:
        st.warning("Nobody answered this question.")
        return None
    positive = pick_positive(clean, question, answers, choice_questions)
    claim, alpha = claim_inputs()
    if not positive:
        st.info("Choose at least one answer to count as yes.")
        return None
    try:
        test = sv.proportion_test(clean, question, positive, claim=claim, alpha=alpha)
    except sv.SurveyError as exc:
        st.error(str(exc))
        return None
    if len(answers) == 1:
        st.warning("Every respondent gave the same answer, so the test has nothing to compare.")
    st.plotly_chart(sv.proportion_figure(test), key="dashboard_test_fig", config=CHART_CONFIG)
    add_to_show(EvidenceScene(survey=str(bundled) if bundled else "", question=question,
                              positive=list(test.positive), claim=float(claim), alpha=float(alpha)),
                files=None if bundled else {"survey": (data, ".csv")})
    return test
