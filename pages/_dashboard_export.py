"""The dashboard's Export tab: cleaned answers, the summary (Markdown / HTML) and the charts as HTML.

The summary is built here, in the script run, and handed to the buttons as bytes: a callable would run
after the script, outside its ScriptRunContext, where it could not see the test in the session (the
downloaded files lacked it, the server logged "missing ScriptRunContext").
"""

from __future__ import annotations

import streamlit as st

from core import survey as sv


def summary_markdown(clean: sv.CleanSurvey, test: sv.ProportionTest | None, name: str) -> str:
    """The one-page summary: the hypothesis test as on screen, answers per question, the sentiment."""
    column, sentiment = st.session_state.get("dashboard_last_sentiment", (None, None))
    return sv.summary_markdown(clean, test, sentiment, column, title=f"Survey summary: {name}")


def export_panel(clean: sv.CleanSurvey, test: sv.ProportionTest | None, name: str, figures: dict) -> None:
    """Download buttons; ``figures`` holds the Explore tab's question, sunburst and crosstab."""
    st.write("Downloads reflect the current cleaning, test settings and sentiment thresholds.")
    markdown = summary_markdown(clean, test, name)
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Cleaned answers (CSV)",
        sv.cleaned_csv_bytes(clean),
        "survey_cleaned.csv",
        "text/csv",
        key="dashboard_dl_csv",
    )
    c2.download_button(
        "Summary (Markdown)", markdown.encode("utf-8"), "survey_summary.md", "text/markdown",
        key="dashboard_dl_md",
    )
    c3.download_button(
        "Summary (HTML)",
        sv.summary_html(markdown).encode("utf-8"),
        "survey_summary.html",
        "text/html",
        key="dashboard_dl_html",
    )
    st.markdown("**Charts as interactive HTML** (open offline in any browser)")
    # Each chart's HTML embeds plotly.js (~3.5 MB), so it is built only when asked for; these callables
    # read no session state, so they are safe outside the script run.
    question, sunburst, crosstab = figures["question"], figures["sunburst"], figures["crosstab"]
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
            "Sunburst", lambda: sv.figure_html(sunburst), "sunburst.html", "text/html",
            key="dashboard_dl_sunburst",
        )
    if crosstab is not None:
        c3.download_button(
            "Crosstab heatmap", lambda: sv.figure_html(crosstab), "crosstab.html", "text/html",
            key="dashboard_dl_crosstab",
        )
    with st.expander("Preview the summary"):
        st.markdown(markdown)
