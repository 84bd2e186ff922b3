"""Hypothesis dashboard: explore a viewers' survey and test a claim about it (issue 2).

All analysis lives in core.survey; this page is a ``main()`` over small panels (the tabs live in
``pages/_dashboard_*.py``, the headline and verdict in ``pages/_verdict.py``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import ASSETS_DIR
from core import survey as sv
from core.show import EvidenceScene
from pages._common import page_header
from pages._dashboard_explore import explore_panel, full_text, labels
from pages._dashboard_export import export_panel
from pages._dashboard_sentiment import sentiment_panel
from pages._live_poll import SOURCE_LIVE, live_poll_source
from pages._show import add_to_show
from pages._verdict import show_headline

DEMO_PATH = ASSETS_DIR / "demo_survey.csv"
# Session key holding (file name, bytes) of the last upload; set by the uploader's callback.
UPLOAD_KEY = "dashboard_upload"
SOURCE_DEMO = "Bundled demo survey"
SOURCE_UPLOAD = "Upload a CSV export"


@st.cache_data(show_spinner=False, max_entries=8)
def load_survey(data: bytes) -> sv.Survey:
    return sv.read_survey(data)


@st.cache_data(show_spinner=False, max_entries=16)
def clean_survey(data: bytes, roles: tuple, min_count: int) -> sv.CleanSurvey:
    return sv.clean_survey(load_survey(data), roles=dict(roles), min_count=min_count)


def _remember_upload() -> None:
    uploaded = st.session_state.get("dashboard_uploader")
    if uploaded is None:
        st.session_state.pop(UPLOAD_KEY, None)
    elif uploaded.size > sv.MAX_BYTES:
        st.session_state[UPLOAD_KEY] = (uploaded.name, None)
    else:
        st.session_state[UPLOAD_KEY] = (uploaded.name, uploaded.getvalue())


def source_panel() -> tuple[str, str, bytes]:
    """The survey to analyse: (source, file name, CSV bytes); stops the page until there is one."""
    source = st.radio(
        "Survey", [SOURCE_DEMO, SOURCE_UPLOAD, SOURCE_LIVE], horizontal=True, key="dashboard_source"
    )
    if source == SOURCE_LIVE:  # issue 14: live audience vote; stops the page unless a snapshot is explored
        name, data = live_poll_source()
    elif source == SOURCE_UPLOAD:
        st.file_uploader(
            "Google Forms / CSV export (UTF-8, UTF-8 with BOM or Latin-1; comma or semicolon)",
            type=["csv", "txt"],
            key="dashboard_uploader",
            on_change=_remember_upload,
        )
        name, data = st.session_state.get(UPLOAD_KEY, (None, None))
        if name is None:
            st.info("Choose a CSV file to analyse, or switch back to the bundled demo survey.")
            st.stop()
        if data is None:
            st.error(f"{name} is larger than {sv.MAX_BYTES / 1e6:.0f} MB; export fewer rows or columns.")
            st.stop()
    else:
        if not DEMO_PATH.is_file():
            st.error(
                "The bundled demo survey is missing; regenerate it with `python assets/make_demo_survey.py`."
            )
            st.stop()
        name, data = DEMO_PATH.name, DEMO_PATH.read_bytes()
    return source, name, data


def read_panel(name: str, data: bytes) -> sv.Survey:
    try:
        with st.spinner("Reading the survey..."):
            survey = load_survey(data)
    except sv.SurveyError as exc:
        st.error(f"Could not use {name}: {exc}")
        st.stop()
    st.caption(
        f"**{name}**: {survey.n_rows} responses, {survey.frame.shape[1]} columns",
        help=f"Read as {survey.encoding}, columns separated by “{survey.delimiter}”.",
    )
    return survey


def cleaning_panel(survey: sv.Survey, name: str, data: bytes) -> sv.CleanSurvey:
    """Column roles and folding of one-off answers; returns the cleaned survey."""
    with st.expander("Column roles and cleaning", expanded=False):
        st.write(
            "Roles are detected from each column's answers; change any of them here. Blanks are dropped per "
            "question. Answers typed into a multiple-choice question by only a few respondents are folded "
            f'into "{sv.OTHER}".'
        )
        role_table = pd.DataFrame(
            {
                "column": list(survey.roles),
                "detected": list(survey.roles.values()),
                "role": list(survey.roles.values()),
            }
        )
        edited = st.data_editor(
            role_table,
            column_config={
                "role": st.column_config.SelectboxColumn("role", options=list(sv.ROLES), required=True)
            },
            disabled=["column", "detected"],
            hide_index=True,
            key=f"dashboard_roles_{name}",
        )
        min_count = st.slider(
            'Fold answers given by fewer than this many respondents into "Other" (1 = never fold)',
            1, 5, 2, key="dashboard_min_count",
        )
    roles = tuple((c, r) for c, r in zip(edited["column"], edited["role"]) if survey.roles.get(c) != r)
    clean = clean_survey(data, roles, min_count)
    folded = [(q, a, o) for q, m in clean.folded.items() for a, o in m.items()]
    if folded:
        with st.expander(f'{len(folded)} one-off answer(s) folded into "{sv.OTHER}"'):
            st.dataframe(
                pd.DataFrame(folded, columns=["question", "answer", "now counted as"]), hide_index=True
            )
    return clean


def hypothesis_panel(clean: sv.CleanSurvey, choice_questions: list[str], source: str,
                     data: bytes) -> sv.ProportionTest | None:
    """Question, positive answer(s), claim (α under Advanced) and the observed-vs-claimed chart.

    Not a fragment: the headline and verdict above the tabs follow these controls, so a change reruns the
    page (about as fast as the fragment alone, everything heavy is cached)."""
    yes_no = clean.questions(sv.ROLE_YES_NO)
    default_q = choice_questions.index(yes_no[0]) if yes_no else 0
    question = st.selectbox(
        "Question",
        choice_questions,
        index=default_q,
        key="dashboard_test_q",
        format_func=labels(choice_questions, 120),
        help=full_text(st.session_state.get("dashboard_test_q", choice_questions[default_q])),
    )
    answers = clean.order[question]
    if not answers:
        st.warning("Nobody answered this question.")
        return None
    positive = st.multiselect(
        "Counted as yes",
        answers,
        default=[sv.default_positive(clean, question)],
        key=f"dashboard_test_pos_{choice_questions.index(question)}",
        format_func=labels(answers, 40),
        help="The answer(s) that count for the claim. Answers to this question: "
        + " · ".join(f"“{a}”" for a in answers),
    )
    c1, c2 = st.columns(2)
    claim = c1.number_input(
        "Claimed proportion",
        0.01,
        0.99,
        sv.DEFAULT_CLAIM,
        0.01,
        key="dashboard_claim",
        help="The share of viewers the claim says answer yes (0.7 = 70 %, the original study's claim).",
    )
    alpha = c2.number_input(
        "Significance level α",
        0.001,
        0.5,
        sv.DEFAULT_ALPHA,
        0.01,
        key="dashboard_alpha",
        format="%.3f",
        help="How unlikely a result must be by chance alone to count as clear evidence (0.05 = 1 in 20).",
    )
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
    st.plotly_chart(sv.proportion_figure(test), key="dashboard_test_fig")
    demo = source == SOURCE_DEMO  # the bundled file is named; an upload or a poll snapshot is stored
    add_to_show(EvidenceScene(survey=str(DEMO_PATH) if demo else "", question=question,
                              positive=list(test.positive), claim=float(claim), alpha=float(alpha)),
                files=None if demo else {"survey": (data, ".csv")})
    return test


def main() -> None:
    page_header("Hypothesis dashboard", "Explore a viewers' survey and test a claim about it")
    source, name, data = source_panel()
    survey = read_panel(name, data)
    # The count and verdict come before any setting or chart; filled once the test (in its tab) has run.
    headline_box = st.container()
    clean = cleaning_panel(survey, name, data)
    choice_questions = clean.questions()
    if not choice_questions:
        st.warning(
            "No multiple-choice or yes/no question was found in this file. Set a column's role to "
            "'categorical' or 'yes/no' under *Column roles and cleaning*."
        )
        st.stop()
    explore_tab, test_tab, sentiment_tab, export_tab = st.tabs(
        ["Explore", "Hypothesis test", "Sentiment", "Export"]
    )
    with explore_tab:
        figures = explore_panel(clean, choice_questions)
    with test_tab:
        st.caption(
            "The headline and verdict above follow these settings; the statistics are under *Details* there."
        )
        test = hypothesis_panel(clean, choice_questions, source, data)
        show_headline(test, headline_box)
    with sentiment_tab:
        sentiment_panel(clean, choice_questions)
    with export_tab:
        export_panel(clean, test, name, figures)


main()
