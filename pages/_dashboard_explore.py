"""The dashboard's Explore tab: answers per question, the sunburst and the crosstab.

Each panel takes the cleaned survey and returns the figure it drew (the Export tab offers it as HTML).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import survey as sv
from pages._common import CHART_CONFIG

NO_RING = "(none)"


def labels(options, limit: int):
    """format_func showing short labels (full texts go in the widget's help tooltip)."""
    short = sv.short_label_map(options, limit)
    return lambda option: short.get(option, option)


def full_text(*texts: str) -> str:
    return "Full text: " + " → ".join(f"“{t}”" for t in texts)


def question_picker(where, label: str, questions: list[str], default: int, key: str, limit: int = 120) -> str:
    """A question chooser showing short labels, with the chosen question's full text in its tooltip."""
    return where.selectbox(label, questions, index=default, key=key, format_func=labels(questions, limit),
                           help=full_text(st.session_state.get(key, questions[default])))


def counts_panel(clean: sv.CleanSurvey, choice_questions: list[str]) -> str:
    """Answers per question as a bar chart and a table; returns the question shown."""
    st.subheader("Answers per question")
    question = question_picker(st, "Question", choice_questions, 0, "dashboard_counts_q")
    counts = sv.answer_counts(clean, question)
    if len(counts) == 1:
        st.info(f"Every respondent gave the same answer ({counts['answer'].iloc[0]!r}).")
    left, right = st.columns([3, 2])
    left.plotly_chart(sv.counts_figure(clean, question), key="dashboard_counts_fig", config=CHART_CONFIG)
    percent = st.column_config.NumberColumn(format="percent")
    right.dataframe(
        counts[["answer", "count", "share"]],
        hide_index=True,
        column_config={
            "answer": st.column_config.TextColumn(width="medium"),
            "share": percent,
            "count": st.column_config.NumberColumn(width="small"),
        },
    )
    with st.expander("Counts and shares of every question"):
        st.dataframe(
            pd.concat([sv.answer_counts(clean, q).assign(question=q) for q in choice_questions])[
                ["question", "answer", "count", "share"]
            ],
            hide_index=True,
            column_config={"share": percent},
        )
    return question


def sunburst_panel(clean: sv.CleanSurvey, choice_questions: list[str]):
    """Up to three rings of questions; returns the figure, or None where it cannot be drawn."""
    st.subheader("Sunburst")
    # One select per ring rather than a multiselect, whose chips cut questions to a dozen characters.
    path_default = sv.default_rings(clean)
    path = []
    for i, (ring_col, ring) in enumerate(zip(st.columns(3), ["Inner ring", "Middle ring", "Outer ring"])):
        options = choice_questions if i == 0 else [NO_RING, *choice_questions]
        default = path_default[i] if i < len(path_default) else NO_RING
        key = f"dashboard_sunburst_ring_{i}"
        chosen = st.session_state.get(key, default)
        picked = ring_col.selectbox(
            ring,
            options,
            index=options.index(default),
            key=key,
            format_func=labels(options, 60),
            help=None if chosen == NO_RING else full_text(chosen),
        )
        if picked != NO_RING:
            path.append(picked)
    try:
        sunburst = sv.sunburst_figure(clean, path)
    except sv.SurveyError as exc:
        st.warning(str(exc))
        return None
    st.plotly_chart(sunburst, key="dashboard_sunburst_fig", config=CHART_CONFIG)
    return sunburst


def crosstab_panel(clean: sv.CleanSurvey, choice_questions: list[str]):
    """Two questions against each other, with whether their answers are linked; returns the heatmap."""
    st.subheader("Are two answers linked?")
    c1, c2 = st.columns(2)
    # Default: a demographic question against the yes/no question, as in the study's write-up.
    row_default, col_default = (choice_questions.index(q) for q in sv.default_crosstab(clean))
    row_q = question_picker(c1, "Rows", choice_questions, row_default, "dashboard_ct_rows", 60)
    col_q = question_picker(c2, "Columns", choice_questions, col_default, "dashboard_ct_cols", 60)
    try:
        result = sv.crosstab_test(clean, row_q, col_q)
    except sv.SurveyError as exc:
        st.warning(str(exc))
        return None
    crosstab = sv.crosstab_figure(result, row_q, col_q)
    st.plotly_chart(crosstab, key="dashboard_crosstab_fig", config=CHART_CONFIG)
    linked = result.p_value < 0.05
    st.markdown(
        "**The answers to these two questions are linked**: a pattern this strong would rarely be chance."
        if linked else
        "**No clear link between the answers to these two questions**: the pattern could be chance."
    )
    with st.expander("Details: chi-square test of independence"):
        st.markdown(
            f"Pearson χ² = {result.chi2:.2f}, {result.dof} degrees of freedom, "
            f"{sv.format_p_value(result.p_value)}, at α = 0.05."
        )
        if result.warning:
            st.warning(result.warning)
    return crosstab


def explore_panel(clean: sv.CleanSurvey, choice_questions: list[str]) -> dict:
    """The Explore tab; returns {"question": str, "sunburst": fig | None, "crosstab": fig | None}."""
    question = counts_panel(clean, choice_questions)
    sunburst = sunburst_panel(clean, choice_questions)
    crosstab = crosstab_panel(clean, choice_questions)
    return {"question": question, "sunburst": sunburst, "crosstab": crosstab}
