"""The dashboard's Sentiment tab: VADER scores of a free-text question, by group, and a word cloud."""

from __future__ import annotations

import streamlit as st

from core import survey as sv
from pages._common import CHART_CONFIG
from pages._dashboard_explore import full_text, labels, question_picker


@st.cache_data(show_spinner=False, max_entries=16)
def score_sentiment(texts, pos: float, neg: float):
    """VADER scores of a pandas Series of answers (its index kept, to join with other questions)."""
    return sv.sentiment_scores(texts, pos, neg)


@st.cache_data(show_spinner=False, max_entries=16)
def word_cloud(texts: tuple, extra_stopwords: tuple) -> bytes:
    return sv.word_cloud_png(texts, extra_stopwords=extra_stopwords)


@st.fragment
def sentiment_panel(clean: sv.CleanSurvey, choice_questions: list[str]) -> None:
    """Scores, extremes, sentiment by group and the word cloud; the summary it makes is kept in the
    session for the Export tab (a fragment cannot return it)."""
    text_columns = clean.questions(sv.ROLE_FREE_TEXT)
    if not text_columns:
        st.info(
            "No free-text column found. Set a column's role to 'free text' under *Column roles and cleaning*."
        )
        return
    column = question_picker(st, "Free-text question", text_columns, 0, "dashboard_text_q")
    pos, neg = threshold_inputs()
    with st.spinner("Reading the answers' tone..."):
        scores = score_sentiment(clean.data[column], pos, neg)
    if scores.empty:
        st.info("Nobody answered this question.")
        return
    summary_metrics(scores, column, pos, neg)
    st.plotly_chart(sv.sentiment_histogram(scores, pos, neg), key="dashboard_sentiment_fig",
                    config=CHART_CONFIG)
    st.caption(
        "Method: VADER (lexicon and rule-based, Hutto & Gilbert 2014) compound score per answer. The "
        'original study\'s ">65% positive" came from a different classifier, '
        "so its figure differs from VADER's."
    )
    extremes(scores)
    by_group_panel(clean, scores, choice_questions)
    word_cloud_panel(scores, column)


def threshold_inputs() -> tuple[float, float]:
    """(positive, negative) compound thresholds, folded under Advanced."""
    with st.expander("Advanced: where positive and negative start"):
        c1, c2 = st.columns(2)
        pos = c1.slider(
            "Positive if compound ≥", 0.0, 1.0, sv.DEFAULT_POSITIVE_THRESHOLD, 0.01, key="dashboard_pos"
        )
        neg = c2.slider(
            "Negative if compound ≤", -1.0, 0.0, sv.DEFAULT_NEGATIVE_THRESHOLD, 0.01, key="dashboard_neg"
        )
    return pos, neg


def summary_metrics(scores, column: str, pos: float, neg: float) -> None:
    """Answers and each label's count; the summary is kept in the session for the Export tab."""
    summary = sv.sentiment_summary(scores)
    st.session_state["dashboard_last_sentiment"] = (
        column,
        {**summary, "positive_threshold": pos, "negative_threshold": neg},
    )
    m = st.columns(4)
    m[0].metric("Answers", summary["n"])
    for i, label in enumerate(sv.SENTIMENT_LABELS, start=1):
        share = sv.format_percent(summary[label] / summary["n"])
        # A share of the answers, not a change: no arrow.
        m[i].metric(label.capitalize(), f"{summary[label]}", f"{share} of answers", "off", delta_arrow="off")


def extremes(scores) -> None:
    best, worst = sv.sentiment_extremes(scores, k=3)
    left, right = st.columns(2)
    left.markdown("**Most positive answers**")
    left.dataframe(best, hide_index=True)
    right.markdown("**Most negative answers**")
    right.dataframe(worst, hide_index=True)


def by_group_panel(clean: sv.CleanSurvey, scores, choice_questions: list[str]) -> None:
    group_default = choice_questions.index(sv.default_group(clean))
    group = st.selectbox(
        "Sentiment by group",
        choice_questions,
        key="dashboard_sentiment_group",
        index=group_default,
        format_func=labels(choice_questions, 120),
        help=full_text(st.session_state.get("dashboard_sentiment_group", choice_questions[group_default])),
    )
    by_group = sv.sentiment_by_group(clean, scores, group)
    if by_group.empty:
        st.info("No respondent answered both questions.")
    else:
        st.plotly_chart(sv.sentiment_group_figure(by_group, group), key="dashboard_sentiment_group_fig",
                        config=CHART_CONFIG)


def word_cloud_panel(scores, column: str) -> None:
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
