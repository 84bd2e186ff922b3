"""The dashboard's source: which survey (bundled, uploaded or a live poll snapshot), reading it, and the
column roles and folding of one-off answers that give the cleaned survey."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core import survey as sv
from pages._live_poll import SOURCE_LIVE, live_poll_source

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


def source_panel(demo_path: Path) -> tuple[str, str, bytes]:
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
        if not demo_path.is_file():
            st.error(
                "The bundled demo survey is missing; regenerate it with `python assets/make_demo_survey.py`."
            )
            st.stop()
        name, data = demo_path.name, demo_path.read_bytes()
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
