"""Session keys and the one-line message shared by the live poll's panels (``pages/_live_poll*.py``)."""

from __future__ import annotations

import streamlit as st

POLL_KEY = "live_poll_id"
SNAPSHOT_KEY = "live_poll_snapshot"
MESSAGE_KEY = "live_poll_message"


def say(kind: str, text: str) -> None:
    """A message (``kind``: success, warning, error) shown once, at the top of the next run."""
    st.session_state[MESSAGE_KEY] = (kind, text)


def show_message() -> None:
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        getattr(st, message[0])(message[1])
