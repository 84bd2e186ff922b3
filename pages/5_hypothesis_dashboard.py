"""Hypothesis dashboard: explore a viewers' survey and test a claim about it (issue 2).

All analysis lives in core.survey; this page reads widgets, calls it through st.cache_data and shows results.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import ASSETS_DIR
from core import survey as sv
from pages._common import page_header
from pages._live_poll import SOURCE_LIVE, live_poll_source
from pages._show import add_to_show
from pages._verdict import show_headline

DEMO_PATH = ASSETS_DIR / "demo_survey.csv"
# Session key holding (file name, bytes) of the last upload; set by the uploader's callback.
UPLOAD_KEY = "dashboard_upload"
SOURCE_DEMO = "Bundled demo survey"
SOURCE_UPLOAD = "Upload a CSV export"
NO_RING = "(none)"


# ------------------------------------------------------------------------------ cached core


@st.cache_data(show_spinner=False, max_entries=8)
def load_survey(data: bytes) -> sv.Survey:
    return sv.read_survey(data)


@st.cache_data(show_spinner=False, max_entries=16)
def clean_survey(data: bytes, roles: tuple, min_count: int) -> sv.CleanSurvey:
    return sv.clean_survey(load_survey(data), roles=dict(roles), min_count=min_count)


@st.cache_data(show_spinner=False, max_entries=16)
def score_sentiment(data: bytes, roles: tuple, min_count: int, column: str, pos: float, neg: float):
    clean = clean_survey(data, roles, min_count)
    return sv.sentiment_scores(clean.data[column], pos, neg)


@st.cache_data(show_spinner=False, max_entries=16)
def word_cloud(texts: tuple, extra_stopwords: tuple) -> bytes:
    return sv.word_cloud_png(texts, extra_stopwords=extra_stopwords)


def _labels(options, limit: int):
    """format_func showing short labels (full texts go in the widget's help tooltip)."""
    short = sv.short_label_map(options, limit)
    return lambda option: short.get(option, option)


def _full_text(*texts: str) -> str:
    return "Full text: " + " → ".join(f"“{t}”" for t in texts)


def _remember_upload() -> None:
    uploaded = st.session_state.get("dashboard_uploader")
    if uploaded is None:
        st.session_state.pop(UPLOAD_KEY, None)
    elif uploaded.size > sv.MAX_BYTES:
        st.session_state[UPLOAD_KEY] = (uploaded.name, None)
    else:
        st.session_state[UPLOAD_KEY] = (uploaded.name, uploaded.getvalue())


# ------------------------------------------------------------------------------ data source

page_header("Hypothesis dashboard", "Explore a viewers' survey and test a claim about it")

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

try:
    with st.spinner("Reading the survey..."):
        survey = load_survey(data)
except sv.SurveyError as exc:
    st.error(f"Could not use {name}: {exc}")
    st.stop()

st.caption(
    f"**{name}**: {survey.n_rows} responses, {survey.frame.shape[1]} columns "
    f"(encoding {survey.encoding}, delimiter `{survey.delimiter}`)."
)
# The count and verdict come before any setting or chart; filled once the test (in its tab) has run.
headline_box = st.container()

with st.expander("Column roles and cleaning", expanded=False):
    st.write(
        "Roles are detected from each column's answers; change any of them here. Blanks are dropped per "
        "question. Answers typed into a multiple-choice question by only a few respondents are folded into "
        f'"{sv.OTHER}".'
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
        1,
        5,
        2,
        key="dashboard_min_count",
    )
roles = tuple((c, r) for c, r in zip(edited["column"], edited["role"]) if survey.roles.get(c) != r)
clean = clean_survey(data, roles, min_count)
folded = [(q, a, o) for q, m in clean.folded.items() for a, o in m.items()]
if folded:
    with st.expander(f'{len(folded)} one-off answer(s) folded into "{sv.OTHER}"'):
        st.dataframe(pd.DataFrame(folded, columns=["question", "answer", "now counted as"]), hide_index=True)

choice_questions = clean.questions()
if not choice_questions:
    st.warning(
        "No multiple-choice or yes/no question was found in this file. Set a column's role to 'categorical' "
        "or 'yes/no' under *Column roles and cleaning*."
    )
    st.stop()

explore_tab, test_tab, sentiment_tab, export_tab = st.tabs(
    ["Explore", "Hypothesis test", "Sentiment", "Export"]
)

# ------------------------------------------------------------------------------ exploration

with explore_tab:
    st.subheader("Answers per question")
    question = st.selectbox(
        "Question",
        choice_questions,
        key="dashboard_counts_q",
        format_func=_labels(choice_questions, 120),
        help=_full_text(st.session_state.get("dashboard_counts_q", choice_questions[0])),
    )
    counts = sv.answer_counts(clean, question)
    if len(counts) == 1:
        st.info(f"Every respondent gave the same answer ({counts['answer'].iloc[0]!r}).")
    left, right = st.columns([3, 2])
    left.plotly_chart(sv.counts_figure(clean, question), key="dashboard_counts_fig")
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

    st.subheader("Sunburst")
    defaults = [
        q for q in clean.questions(sv.ROLE_CATEGORICAL) if "gender" in q.lower() or "ethnic" in q.lower()
    ]
    defaults += clean.questions(sv.ROLE_YES_NO)[:1]
    # One select per ring rather than a multiselect, whose chips cut questions to a dozen characters.
    path_default = defaults[:3] or choice_questions[:2]
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
            format_func=_labels(options, 60),
            help=None if chosen == NO_RING else _full_text(chosen),
        )
        if picked != NO_RING:
            path.append(picked)
    sunburst = None
    try:
        sunburst = sv.sunburst_figure(clean, path)
        st.plotly_chart(sunburst, key="dashboard_sunburst_fig")
    except sv.SurveyError as exc:
        st.warning(str(exc))

    st.subheader("Crosstab and chi-square test of independence")
    c1, c2 = st.columns(2)
    # Default: a demographic question against the yes/no question, as in the study's write-up.
    age_like = [i for i, q in enumerate(choice_questions) if "age" in q.lower() or "gender" in q.lower()]
    yes_no_idx = [choice_questions.index(q) for q in clean.questions(sv.ROLE_YES_NO)]
    row_default = age_like[0] if age_like else 0
    col_default = next((i for i in yes_no_idx if i != row_default), min(1, len(choice_questions) - 1))
    row_q = c1.selectbox(
        "Rows",
        choice_questions,
        index=row_default,
        key="dashboard_ct_rows",
        format_func=_labels(choice_questions, 60),
        help=_full_text(st.session_state.get("dashboard_ct_rows", choice_questions[row_default])),
    )
    col_q = c2.selectbox(
        "Columns",
        choice_questions,
        index=col_default,
        key="dashboard_ct_cols",
        format_func=_labels(choice_questions, 60),
        help=_full_text(st.session_state.get("dashboard_ct_cols", choice_questions[col_default])),
    )
    crosstab = None
    try:
        result = sv.crosstab_test(clean, row_q, col_q)
        crosstab = sv.crosstab_figure(result, row_q, col_q)
        st.plotly_chart(crosstab, key="dashboard_crosstab_fig")
        st.markdown(
            ("**The answers to these two questions are linked**" if result.p_value < 0.05 else
             "**No clear link between the answers to these two questions**")
            + f" (Pearson χ² = {result.chi2:.2f}, {result.dof} degrees of freedom, "
            f"{sv.format_p_value(result.p_value)}, at α = 0.05)."
        )
        if result.warning:
            st.warning(result.warning)
    except sv.SurveyError as exc:
        st.warning(str(exc))

# ------------------------------------------------------------------------------ hypothesis test


def hypothesis_panel() -> sv.ProportionTest | None:
    """Question, positive answer(s), claim and α, and the observed-vs-claimed chart; returns the test.

    Not a fragment: the headline and verdict above the tabs follow these controls, so a change reruns the
    page (about as fast as the fragment alone, everything heavy is cached)."""
    yes_no = clean.questions(sv.ROLE_YES_NO)
    default_q = choice_questions.index(yes_no[0]) if yes_no else 0
    question = st.selectbox(
        "Question",
        choice_questions,
        index=default_q,
        key="dashboard_test_q",
        format_func=_labels(choice_questions, 120),
        help=_full_text(st.session_state.get("dashboard_test_q", choice_questions[default_q])),
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
        format_func=_labels(answers, 40),
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
    st.session_state["dashboard_last_test"] = test
    if len(answers) == 1:
        st.warning("Every respondent gave the same answer, so the test has nothing to compare.")
    st.plotly_chart(sv.proportion_figure(test), key="dashboard_test_fig")
    demo = source == SOURCE_DEMO  # the bundled file is named; an upload or a poll snapshot is stored
    add_to_show({"kind": "evidence", "survey": str(DEMO_PATH) if demo else "", "question": question,
                 "positive": list(test.positive), "claim": float(claim), "alpha": float(alpha)},
                files=None if demo else {"survey": (data, ".csv")})
    return test


with test_tab:
    st.caption(
        "The headline and verdict above follow these settings; the statistics are under *Details* there."
    )
    show_headline(hypothesis_panel(), headline_box)

# ------------------------------------------------------------------------------ sentiment


@st.fragment
def sentiment_panel() -> None:
    text_columns = clean.questions(sv.ROLE_FREE_TEXT)
    if not text_columns:
        st.info(
            "No free-text column found. Set a column's role to 'free text' under *Column roles and cleaning*."
        )
        return
    column = st.selectbox(
        "Free-text question",
        text_columns,
        key="dashboard_text_q",
        format_func=_labels(text_columns, 120),
        help=_full_text(st.session_state.get("dashboard_text_q", text_columns[0])),
    )
    c1, c2 = st.columns(2)
    pos = c1.slider(
        "Positive if compound ≥", 0.0, 1.0, sv.DEFAULT_POSITIVE_THRESHOLD, 0.01, key="dashboard_pos"
    )
    neg = c2.slider(
        "Negative if compound ≤", -1.0, 0.0, sv.DEFAULT_NEGATIVE_THRESHOLD, 0.01, key="dashboard_neg"
    )
    with st.spinner("Scoring answers with VADER..."):
        scores = score_sentiment(data, roles, min_count, column, pos, neg)
    if scores.empty:
        st.info("Nobody answered this question.")
        return
    summary = sv.sentiment_summary(scores)
    st.session_state["dashboard_last_sentiment"] = (
        column,
        {**summary, "positive_threshold": pos, "negative_threshold": neg},
    )
    st.caption(
        "Method: VADER (lexicon and rule-based, Hutto & Gilbert 2014) compound score per answer. The "
        'original study\'s ">65% positive" came from a different classifier, '
        "so its figure differs from VADER's."
    )
    m = st.columns(4)
    m[0].metric("Answers", summary["n"])
    for i, label in enumerate(sv.SENTIMENT_LABELS, start=1):
        share = sv.format_percent(summary[label] / summary["n"])
        # A share of the answers, not a change: no arrow.
        m[i].metric(label.capitalize(), f"{summary[label]}", f"{share} of answers", "off", delta_arrow="off")
    st.plotly_chart(sv.sentiment_histogram(scores, pos, neg), key="dashboard_sentiment_fig")
    best, worst = sv.sentiment_extremes(scores, k=3)
    left, right = st.columns(2)
    left.markdown("**Most positive answers**")
    left.dataframe(best, hide_index=True)
    right.markdown("**Most negative answers**")
    right.dataframe(worst, hide_index=True)
    group_default = next((i for i, q in enumerate(choice_questions) if "gender" in q.lower()), 0)
    group = st.selectbox(
        "Sentiment by group",
        choice_questions,
        key="dashboard_sentiment_group",
        index=group_default,
        format_func=_labels(choice_questions, 120),
        help=_full_text(st.session_state.get("dashboard_sentiment_group", choice_questions[group_default])),
    )
    by_group = sv.sentiment_by_group(clean, scores, group)
    if by_group.empty:
        st.info("No respondent answered both questions.")
    else:
        st.plotly_chart(sv.sentiment_group_figure(by_group, group), key="dashboard_sentiment_group_fig")

    st.markdown("**Word cloud**")
    extra = st.text_input("Extra stopwords (comma-separated)", "", key="dashboard_stopwords")
    extra_words = tuple(sorted({w.strip().lower() for w in extra.split(",") if w.strip()}))
    try:
        png = word_cloud(tuple(scores["text"]), extra_words)
    except sv.SurveyError as exc:
        st.warning(str(exc))
        return
    st.image(png, caption=f"Most frequent words in “{column}” (common English stopwords removed)")
    st.download_button(
        "Download word cloud (PNG)", png, "word_cloud.png", "image/png", key="dashboard_dl_cloud"
    )


with sentiment_tab:
    sentiment_panel()

# ------------------------------------------------------------------------------ export


def _summary_markdown() -> str:
    test = st.session_state.get("dashboard_last_test")
    column, sentiment = st.session_state.get("dashboard_last_sentiment", (None, None))
    return sv.summary_markdown(clean, test, sentiment, column, title=f"Survey summary: {name}")


with export_tab:
    st.write("Downloads reflect the current cleaning, test settings and sentiment thresholds.")
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Cleaned answers (CSV)",
        sv.cleaned_csv_bytes(clean),
        "survey_cleaned.csv",
        "text/csv",
        key="dashboard_dl_csv",
    )
    c2.download_button(
        "Summary (Markdown)", _summary_markdown, "survey_summary.md", "text/markdown", key="dashboard_dl_md"
    )
    c3.download_button(
        "Summary (HTML)",
        lambda: sv.summary_html(_summary_markdown()),
        "survey_summary.html",
        "text/html",
        key="dashboard_dl_html",
    )
    st.markdown("**Charts as interactive HTML** (open offline in any browser)")
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Answer counts",
        lambda: sv.figure_html(sv.counts_figure(clean, question)),
        "answer_counts.html",
        "text/html",
        key="dashboard_dl_counts",
    )
    if sunburst is not None:
        c2.download_button(
            "Sunburst",
            lambda: sv.figure_html(sunburst),
            "sunburst.html",
            "text/html",
            key="dashboard_dl_sunburst",
        )
    if crosstab is not None:
        c3.download_button(
            "Crosstab heatmap",
            lambda: sv.figure_html(crosstab),
            "crosstab.html",
            "text/html",
            key="dashboard_dl_crosstab",
        )
    with st.expander("Preview the summary"):
        st.markdown(_summary_markdown())
