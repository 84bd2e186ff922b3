"""Custom Cast voter app: the room answers the open poll on their phones (issue 14).

Run it apart from the studio, on its own port::

    python -m core.vote serve            # or: streamlit run vote_app.py --server.port 8502

It shows only the open poll. ``st.navigation`` with this single page replaces Streamlit's automatic
``pages/`` discovery, so none of the studio's pages exist here; the app imports nothing but
``core.vote``, never reads model files, never shows other voters' answers, and shows counts only after
the presenter publishes them. Each browser gets a random voter token kept in the URL (``?voter=...``),
so a reload keeps the same ballot; the database accepts one response per token.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core import vote

TOKEN_PARAM = "voter"
# How often a waiting phone (no poll open, or its answers in) checks whether a poll has opened, closed or
# been published; a phone showing the form has no timer.
WATCH_EVERY_S = 3
SUBMIT_LABEL = "Send my answers"
THANKS = "Thank you: your answers are in."
CLOSED = "This poll is closed; your answers were not recorded."
# The poll this browser was last shown, to tell a voter whose poll closed under them what happened.
SHOWN_POLL_KEY = "vote_shown_poll"
WAITING = ("No poll is open right now. Keep this page open: the questions appear here when the presenter "
           "opens one.")

st.set_page_config(page_title="Vote · Custom Cast", page_icon="🗳️", layout="centered",
                   initial_sidebar_state="collapsed")


def voter_token() -> str:
    """This browser's token from the URL, or a fresh one written into the URL so a reload keeps it."""
    token = st.query_params.get(TOKEN_PARAM, "")
    try:
        return vote.check_token(token)
    except vote.InvalidBallot:
        token = vote.new_voter_token()
        st.query_params[TOKEN_PARAM] = token
        return token


def show_published_results(db: vote.VoteDB, poll: vote.Poll) -> None:
    n, counts = vote.published_counts(db, poll.id)
    st.subheader(f"Results so far: {n} answer{'s' if n != 1 else ''}")
    for question, table in counts.items():
        st.markdown(f"**{question}**")
        st.bar_chart(pd.DataFrame({"answers": list(table.values())}, index=list(table)), horizontal=True,
                     sort=False, height=60 + 36 * len(table))


def ballot_form(db: vote.VoteDB, poll: vote.Poll, token: str) -> None:
    with st.form(f"ballot_{poll.id}", border=False):
        answers: dict[str, str | None] = {}
        for q in poll.questions:
            key = f"vote_{poll.id}_{q.id}"
            if q.kind == vote.KIND_TEXT:
                label = q.text if q.required else f"{q.text} (optional)"
                answers[q.id] = st.text_area(label, max_chars=q.max_chars, key=key)
            else:
                answers[q.id] = st.radio(q.text, q.choices, index=None, key=key,
                                         horizontal=q.kind == vote.KIND_YES_NO)
        sent = st.form_submit_button(SUBMIT_LABEL, type="primary", width="stretch")
    if sent:
        try:
            vote.submit_ballot(db, poll.id, token, {k: v for k, v in answers.items() if v is not None})
        except vote.AlreadyVoted:
            pass  # the thank-you below says it all
        except vote.BallotRejected as e:
            st.error(str(e))
            return
        except SQLAlchemyError:
            st.error("Your answers could not be saved just now; please press the button again.")
            return
        st.rerun()


@st.fragment(run_every=WATCH_EVERY_S)
def watch_poll(shown: tuple) -> None:
    """Rerun the page when the open poll, its status or its published flag changes."""
    try:
        changed = poll_state(vote.open_db()) != shown
    except (vote.VoteDBError, SQLAlchemyError):
        return  # a database hiccup: keep the page as it is and look again next time
    if changed:
        st.rerun(scope="app")


def poll_state(db: vote.VoteDB) -> tuple:
    current = vote.current_poll(db)
    published = vote.latest_published_poll(db)
    return (current.id if current else None, published.id if published else None)


def vote_page() -> None:
    try:
        db = vote.open_db()
        state = poll_state(db)
        poll = vote.get_poll(db, state[0]) if state[0] is not None else None
        published = vote.get_poll(db, state[1]) if state[1] is not None else None
    except (vote.VoteDBError, vote.PollError, SQLAlchemyError):
        st.error("Voting is not available right now. Please try again in a moment.")
        return
    token = voter_token()
    shown_before = st.session_state.get(SHOWN_POLL_KEY)
    st.session_state[SHOWN_POLL_KEY] = poll.id if poll else None
    voted = poll is not None and vote.has_voted(db, poll.id, token)
    if poll is None or voted:
        # Only a phone with nothing to fill in watches for the next poll: a timer's rerun racing a submit
        # swallowed the rerun that shows the receipt (about 3 % of voters from 20 phones on).
        watch_poll(state)
    if poll is None:
        st.title("Custom Cast: live vote")
        if shown_before is not None and not vote.has_voted(db, shown_before, token):
            st.warning(CLOSED)
        st.info(WAITING)
        if published is not None:
            show_published_results(db, published)
        return
    st.title(poll.title)
    media = vote.poll_media(db, poll.id) if poll.media_mime else None
    if media is not None:
        data, mime, caption = media
        if mime.startswith("video/"):
            st.video(data, format=mime, loop=True, autoplay=True, muted=True)
            if caption:
                st.caption(caption)
        else:
            st.image(data, caption=caption or None, width="stretch")
    if voted:
        st.success(THANKS)
    else:
        st.caption("Anonymous: your answers are stored without your name. One answer per phone.")
        ballot_form(db, poll, token)
    if poll.results_published:
        show_published_results(db, poll)


st.navigation([st.Page(vote_page, title="Vote", default=True)], position="hidden").run()
