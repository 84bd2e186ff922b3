"""The live poll's join panel: the voter app's URL and its QR code (one value, kept in the session,
encoded exactly as shown), whether a voter app answers there, and a button that starts one."""

from __future__ import annotations

import streamlit as st

from core import vote
from core.vote.reach import join_url_problem, probe_voter_app
from core.vote.serve import join_url_port
from pages._live_poll_common import say

JOIN_URL_KEY = "live_poll_join_url"


@st.cache_data(show_spinner=False, max_entries=8)
def _qr(url: str) -> bytes:
    return vote.qr_png(url)


def _start_voter_app(url: str, port: int) -> None:
    try:
        vote.start_voter_app(url, port=port)
        say("success", f"Voter app starting on port {port} (a few seconds).")
    except (vote.VoteDBError, ValueError, OSError) as e:
        say("error", f"Could not start the voter app: {e}")


def join_panel(db: vote.VoteDB) -> None:
    if JOIN_URL_KEY not in st.session_state:
        st.session_state[JOIN_URL_KEY] = vote.default_join_url(getattr(st.context, "url", None),
                                                                vote.DEFAULT_VOTER_PORT)
    join_url = st.text_input("Join URL (the voter app, as phones in the room reach it)",
                             key=JOIN_URL_KEY).strip()
    try:
        st.image(_qr(join_url), caption=join_url, width=260)
    except ValueError as e:
        st.error(str(e))
        return
    problem = join_url_problem(join_url)
    if problem:
        st.error(f"{problem} Use this computer's address on the room's network.")
    probe = probe_voter_app(join_url, timeout=0.5)
    if probe.ok:
        st.caption("Voter app: answering at this address.")
        return
    st.warning(probe.message)
    try:
        port = join_url_port(join_url)
    except ValueError:
        return
    st.button(f"Start the voter app on port {port}", key="live_poll_start_app", on_click=_start_voter_app,
              args=(db.url, port))
    st.caption(f"Or run `python -m core.vote serve --port {port}` in a terminal.")
