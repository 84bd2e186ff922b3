"""Hypothesis dashboard: explore a viewers' survey and test a claim about it (issue 2).

All analysis lives in core.survey; this page is a ``main()`` over panels: the source, reading and
cleaning in ``pages/_dashboard_source.py``, one module per tab (``_dashboard_{explore,test,sentiment,
export}.py``), the headline and verdict in ``pages/_verdict.py``.
"""

from __future__ import annotations

import streamlit as st

from core import ASSETS_DIR
from pages._common import page_header
from pages._dashboard_explore import explore_panel
from pages._dashboard_export import export_panel
from pages._dashboard_sentiment import sentiment_panel
from pages._dashboard_source import SOURCE_DEMO, cleaning_panel, read_panel, source_panel
from pages._dashboard_test import hypothesis_panel
from pages._verdict import show_headline

DEMO_PATH = ASSETS_DIR / "demo_survey.csv"


def main() -> None:
    page_header("Hypothesis dashboard", "Explore a viewers' survey and test a claim about it")
    source, name, data = source_panel(DEMO_PATH)
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
        # The bundled file is named in a show scene; an upload or a poll snapshot is stored with it.
        bundled = DEMO_PATH if source == SOURCE_DEMO else None
        test = hypothesis_panel(clean, choice_questions, bundled, data)
        show_headline(test, headline_box)
    with sentiment_tab:
        sentiment_panel(clean, choice_questions)
    with export_tab:
        export_panel(clean, test, name, figures)


main()
