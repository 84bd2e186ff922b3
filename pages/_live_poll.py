"""The hypothesis dashboard's "Live poll" source (issue 14): the room answers on their phones and the test
updates on screen.

The presenter opens a poll (``pages/_live_poll_setup.py``: the original study's questions by default,
editable, optionally with the face sent to the animator or an uploaded image or clip for voters to see),
puts the join URL and its QR code on screen (``pages/_live_poll_join.py``), and watches n, a one-line
verdict, the counts, the sunburst and the claim test refresh every ~2 s (``pages/_live_poll_results.py``).

The poll protects its result (issue 26, ``core.vote.claims``): the claim is registered with the poll,
the stage shows only "23 of 60 planned answers" until the presenter reveals the result, and the verdict
appears at the planned number of answers or at close, with any later change of the test beside it. All work is
in ``core.vote``; the statistics are the survey module's, exactly as on the CSV path.
"""

from __future__ import annotations

import time

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core import vote
from core.vote import claims
from pages._live_poll_common import POLL_KEY, SNAPSHOT_KEY, say, show_message
from pages._live_poll_join import join_panel
from pages._live_poll_results import live_panel, poll_test_settings, polls_fingerprint
from pages._live_poll_setup import open_poll_form

SOURCE_LIVE = "Live poll"


# ------------------------------------------------------------------------------ actions (callbacks)


def _act(url: str, action, poll_id: int, done: str) -> None:
    try:
        action(vote.open_db(url), poll_id)
        say("success", done)
    except (vote.PollError, SQLAlchemyError) as e:
        say("error", f"Could not change poll {poll_id}: {e}")


def _publish(url: str, poll_id: int) -> None:
    published = bool(st.session_state.get(f"live_poll_publish_{poll_id}"))
    _act(url, lambda d, i: vote.publish_results(d, i, published), poll_id,
         "Voters now see the counts." if published else "The counts are hidden from voters again.")


def _reveal(url: str, poll_id: int) -> None:
    revealed = bool(st.session_state.get(f"live_poll_reveal_{poll_id}"))
    try:
        claims.reveal_results(vote.open_db(url), poll_id, revealed)
    except (vote.PollError, SQLAlchemyError) as e:
        say("error", f"Could not change what the stage shows: {e}")


# ------------------------------------------------------------------------------ panels


def _details(db: vote.VoteDB) -> None:
    with st.expander("Details"):
        st.caption(f"Votes are stored in {vote.describe_url(db.url)} (set CUSTOM_CAST_DB to change it).")


def _open_db() -> tuple[vote.VoteDB, list[vote.Poll]]:
    """The vote database and its polls; stops the page with the reason when it is unavailable."""
    try:
        db = vote.open_db()
        return db, vote.list_polls(db)
    except (vote.VoteDBError, SQLAlchemyError) as e:
        st.error(f"The vote database is unavailable: {e}")
        st.stop()


def _controls(db: vote.VoteDB, polls: list[vote.Poll]) -> tuple[vote.Poll, claims.RegisteredClaim | None]:
    """The poll picker and its buttons: close/reopen, reveal on stage, show voters, the answers as CSV."""
    by_id = {p.id: p for p in polls}
    current = vote.current_poll(db)
    wanted = st.session_state.get(POLL_KEY)
    default = wanted if wanted in by_id else (current.id if current else polls[0].id)
    pick, c1, c2, c3, c4 = st.columns([3, 1, 1, 1, 1], vertical_alignment="bottom")
    poll_id = pick.selectbox("Poll", list(by_id), index=list(by_id).index(default), key="live_poll_select",
                             format_func=lambda i: f"#{i} · {by_id[i].title} · {by_id[i].status}")
    st.session_state[POLL_KEY] = poll_id
    poll = by_id[poll_id]
    registered = claims.registered_claim(db, poll.id)
    if poll.is_open:
        c1.button("Close poll", key="live_poll_close", on_click=_act,
                  args=(db.url, vote.close_poll, poll.id, f"Poll #{poll.id} is closed: no more answers."))
    else:
        c1.button("Reopen poll", key="live_poll_reopen", on_click=_act,
                  args=(db.url, vote.reopen_poll, poll.id, f"Poll #{poll.id} is open again."))
    if registered is not None:
        c2.toggle("Reveal on stage", value=registered.revealed, key=f"live_poll_reveal_{poll.id}",
                  on_change=_reveal, args=(db.url, poll.id),
                  help="Until you reveal it, the stage shows only how many have answered.")
    c3.toggle("Show voters", value=poll.results_published, key=f"live_poll_publish_{poll.id}",
              on_change=_publish, args=(db.url, poll.id),
              disabled=registered is not None and not registered.revealed and not poll.results_published,
              help="Let voters see the counts on their phones (never the typed comments).")
    c4.download_button("Answers (CSV)", lambda: vote.export_csv_bytes(db, poll.id),
                       f"live_poll_{poll.id}.csv", "text/csv", key="live_poll_download")
    return poll, registered


def _snapshot(db: vote.VoteDB, poll: vote.Poll) -> tuple[str, bytes]:
    """The answers as CSV for the dashboard's tabs, as they were when the snapshot was taken; stops the
    page unless a snapshot with answers is explored."""
    explore = st.toggle("Explore a snapshot in the tabs below", key="live_poll_explore",
                        help="The tabs analyse the answers as they were when the snapshot was taken.")
    if not explore:
        st.stop()
    snapshot = st.session_state.get(SNAPSHOT_KEY)
    retake = st.button("Take a new snapshot", key="live_poll_snapshot_button")
    if retake or not snapshot or snapshot[0] != poll.id:
        data = vote.export_csv_bytes(db, poll.id, spreadsheet_safe=False)
        snapshot = (poll.id, time.strftime("%H:%M:%S"), data)
        st.session_state[SNAPSHOT_KEY] = snapshot
    if snapshot[2].count(b"\n") < 2:
        st.info("No answers to explore yet.")
        st.stop()
    return f"live poll #{poll.id} at {snapshot[1]}", snapshot[2]


def live_poll_source() -> tuple[str, bytes]:
    """Render the live poll; return (name, CSV snapshot) for the page's tabs, or stop the page there."""
    db, polls = _open_db()
    show_message()
    if not polls:
        with st.expander("Open a new poll", expanded=True):
            open_poll_form(db)
        st.info("Open a poll to put a join code on screen.")
        _details(db)
        st.stop()
    poll, registered = _controls(db, polls)
    # The QR code and the count first (above the fold at 1600 x 857); the test's settings below them.
    join, board = st.columns([1, 3])
    with st.container():
        settings = poll_test_settings(poll, registered, db.url)
    with join:
        join_panel(db)
    with board:
        live_panel(db.url, poll.id, settings, polls_fingerprint(polls))
    with st.expander("Open a new poll", expanded=False):
        open_poll_form(db)
    _details(db)
    return _snapshot(db, poll)
