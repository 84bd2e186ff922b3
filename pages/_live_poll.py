"""The hypothesis dashboard's "Live poll" source (issue 14): the room answers on their phones and the test
updates on screen.

The presenter opens a poll (the original study's questions by default, editable, optionally with the
face sent to the animator or an uploaded image or clip for voters to see), puts the join URL and its QR
code on screen, and watches n, a one-line verdict, the counts, the sunburst and the claim test refresh
every ~2 s inside an ``st.fragment(run_every=...)``, so the rest of the page never reruns.

The poll protects its result (issue 26, ``core.vote.claims``): the claim is registered with the poll,
the stage shows only "23 of 60 planned answers" until the presenter reveals the result, and the verdict
appears at the planned number of answers or at close, with any later change of the test beside it. All work is
in ``core.vote``; the statistics are the survey module's, exactly as on the CSV path.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core import survey as sv
from core import vote
from core.vote import claims
from core.vote.live import WAITING_FOR_VOTES
from core.vote.reach import join_url_problem, probe_voter_app
from core.vote.serve import join_url_port
from pages._common import HANDOFF_ANIMATOR_SOURCE, HANDOFF_ANIMATOR_SOURCE_LABEL

SOURCE_LIVE = "Live poll"
REFRESH_EVERY_S = 2.0
POLL_KEY = "live_poll_id"
SNAPSHOT_KEY = "live_poll_snapshot"
MESSAGE_KEY = "live_poll_message"
QUESTIONS_VERSION_KEY = "live_poll_questions_version"
MEDIA_NONE = "Nothing"
MEDIA_FACE = "The face sent to the animator"
MEDIA_UPLOAD = "Upload an image or clip"
JOIN_URL_KEY = "live_poll_join_url"
PLANNED_DEFAULT = 60


# ------------------------------------------------------------------------------ cached core


@st.cache_resource(show_spinner=False, max_entries=32)
def _live_results(url: str, poll_id: int, version: tuple, question: str, positive: tuple,
                  claim: float, alpha: float, path: tuple) -> vote.LiveResults:
    """One refresh per new fingerprint; an unchanged poll costs one count query per tick."""
    return vote.live_results(vote.open_db(url), poll_id, question, list(positive) or None, claim, alpha,
                             list(path))


@st.cache_data(show_spinner=False, max_entries=8)
def _qr(url: str) -> bytes:
    return vote.qr_png(url)


def _questions_table() -> pd.DataFrame:
    return pd.DataFrame([{"question": q.text, "kind": q.kind, "choices": " | ".join(q.choices)}
                         for q in vote.default_questions()])


# ------------------------------------------------------------------------------ actions (callbacks)


def _say(kind: str, text: str) -> None:
    st.session_state[MESSAGE_KEY] = (kind, text)


def _act(url: str, action, poll_id: int, done: str) -> None:
    try:
        action(vote.open_db(url), poll_id)
        _say("success", done)
    except (vote.PollError, SQLAlchemyError) as e:
        _say("error", f"Could not change poll {poll_id}: {e}")


def _publish(url: str, poll_id: int) -> None:
    published = bool(st.session_state.get(f"live_poll_publish_{poll_id}"))
    _act(url, lambda d, i: vote.publish_results(d, i, published), poll_id,
         "Voters now see the counts." if published else "The counts are hidden from voters again.")


def _start_voter_app(url: str, port: int) -> None:
    try:
        vote.start_voter_app(url, port=port)
        _say("success", f"Voter app starting on port {port} (a few seconds).")
    except (vote.VoteDBError, ValueError, OSError) as e:
        _say("error", f"Could not start the voter app: {e}")


# ------------------------------------------------------------------------------ sections


def _open_poll_form(db: vote.VoteDB) -> None:
    version = st.session_state.get(QUESTIONS_VERSION_KEY, 0)
    title = st.text_input("Title shown to voters", vote.DEFAULT_TITLE, key="live_poll_title")
    st.caption("Questions (the original study's by default). Kinds: choice, yes/no, text. Separate choices "
               "with |. Add or delete rows to change the poll.")
    edited = st.data_editor(
        _questions_table(),
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "kind": st.column_config.SelectboxColumn("kind", options=list(vote.KINDS), required=True),
            "question": st.column_config.TextColumn("question", max_chars=300, required=True),
        },
        key=f"live_poll_questions_{version}",
    )
    if st.button("Back to the study's questions", key="live_poll_reset_questions"):
        st.session_state[QUESTIONS_VERSION_KEY] = version + 1
        st.rerun()
    has_face = st.session_state.get(HANDOFF_ANIMATOR_SOURCE) is not None
    options = [MEDIA_NONE] + ([MEDIA_FACE] if has_face else [])
    media_choice = st.radio("Show voters", options + [MEDIA_UPLOAD], horizontal=True, key="live_poll_media")
    upload = None
    if media_choice == MEDIA_UPLOAD:
        upload = st.file_uploader("Image (PNG/JPEG/GIF) or clip (MP4/WebM), up to 8 MB",
                                  type=["png", "jpg", "jpeg", "gif", "webp", "mp4", "webm"],
                                  key="live_poll_media_upload")
    rows = edited.fillna("").to_dict("records")
    specs = [{"text": str(r["question"]), "kind": str(r["kind"] or vote.KIND_CHOICE),
              "choices": str(r["choices"])} for r in rows if str(r["question"]).strip()]
    claim = _claim_fields(specs, "live_poll_claim")
    if not st.button("Register the claim and open the poll", type="primary", key="live_poll_open"):
        return
    if claim is None:
        st.error("The poll was not opened: it needs a yes/no or multiple-choice question to test.")
        return
    try:
        media = None
        if media_choice == MEDIA_FACE:
            label = st.session_state.get(HANDOFF_ANIMATOR_SOURCE_LABEL) or "A generated face"
            media = vote.image_media(st.session_state[HANDOFF_ANIMATOR_SOURCE], str(label))
        elif media_choice == MEDIA_UPLOAD and upload is not None:
            media = vote.prepare_media(upload.getvalue(), upload.name.rsplit(".", 1)[0])
        poll, _registered = claims.open_poll_with_claim(db, specs, claim, title=title, media=media)
    except vote.PollError as e:
        st.error(f"The poll was not opened: {e}")
        return
    st.session_state[POLL_KEY] = poll.id
    st.session_state.pop(SNAPSHOT_KEY, None)
    _say("success", f"Poll #{poll.id} is open: voters can answer now. Its claim is registered; the result "
                    "stays hidden until you reveal it.")
    st.rerun()


def _choices_of(spec: dict) -> list[str]:
    choices = [c.strip() for c in str(spec.get("choices", "")).replace("\n", "|").split("|") if c.strip()]
    return choices or (["Yes", "No"] if spec.get("kind") == vote.KIND_YES_NO else [])


def _claim_fields(specs: list[dict], prefix: str, current: claims.Claim | None = None) -> claims.Claim | None:
    """The claim to register (question, answers counted as yes, claimed share, α, planned answers)."""
    testable = [s for s in specs
                if s["kind"] in (vote.KIND_YES_NO, vote.KIND_CHOICE) and len(_choices_of(s)) >= 2]
    if not testable:
        return None
    texts = [s["text"].strip() for s in testable]
    if current is not None and current.question in texts:
        default_q = texts.index(current.question)
    else:
        default_q = next((i for i, s in enumerate(testable) if s["kind"] == vote.KIND_YES_NO), 0)
    st.markdown("**The claim to test** (registered before the poll opens; a later change is recorded)")
    c1, c2 = st.columns([3, 2])
    index = c1.selectbox("Question", range(len(texts)), index=default_q, format_func=lambda i: texts[i],
                         key=f"{prefix}_question")
    choices = _choices_of(testable[index])
    if current is not None and current.question == texts[index]:
        default_pos = [c for c in current.positive if c in choices]
    else:
        default_pos = [c for c in choices if c.lower() in ("yes", "y", "true")][:1] or choices[:1]
    positive = c2.multiselect("Answers counted as yes", choices, default=default_pos,
                              key=f"{prefix}_positive_{index}")
    c3, c4, c5 = st.columns(3)
    share = c3.number_input("Claimed share", 0.01, 0.99, current.claim if current else sv.DEFAULT_CLAIM, 0.01,
                            key=f"{prefix}_share")
    alpha = c4.number_input("Significance level α", 0.001, 0.5,
                            current.alpha if current else sv.DEFAULT_ALPHA, 0.01, format="%.3f",
                            key=f"{prefix}_alpha")
    planned = c5.number_input("Planned answers", claims.PLANNED_RANGE[0], claims.PLANNED_RANGE[1],
                              current.planned_n if current else PLANNED_DEFAULT, 10, key=f"{prefix}_planned",
                              help="The verdict appears at this many answers, or when the poll closes.")
    return claims.Claim(texts[index], tuple(positive), float(share), float(alpha), int(planned))


def _join_panel(db: vote.VoteDB) -> None:
    """The join URL and its QR code: one value, kept in the session, encoded exactly as shown."""
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


def _test_settings(poll: vote.Poll, registered: claims.RegisteredClaim | None, url: str) -> tuple:
    """(question, positive, claim, alpha, sunburst path): the registered test, or for a poll opened without
    one, the test picked here."""
    choice_qs = [q for q in poll.questions if q.kind != vote.KIND_TEXT]
    texts = [q.text for q in choice_qs]
    if registered is not None:
        c = registered.claim
        with st.expander(f"The registered claim · {registered.registered_text()}", expanded=False):
            st.markdown(claims.claim_summary(c))
            for change in registered.changes:
                st.warning(change.describe())
            specs = [{"text": q.text, "kind": q.kind, "choices": " | ".join(q.choices)} for q in choice_qs]
            new = _claim_fields(specs, f"live_poll_change_{poll.id}", current=c)
            st.button("Change the test (the change is recorded and shown beside the verdict)",
                      key=f"live_poll_change_button_{poll.id}", on_click=_change_claim,
                      args=(url, poll.id, new))
            path = st.multiselect("Sunburst rings, inner first", texts,
                                  default=vote.default_sunburst_path(poll), key=f"live_poll_path_{poll.id}")
        return c.question, c.positive, c.claim, c.alpha, tuple(path)
    default_q = vote.default_test_question(poll)
    with st.expander("Claim to test and sunburst rings (this poll registered none)", expanded=False):
        question = st.selectbox("Question", texts, index=texts.index(default_q), key=f"live_poll_q_{poll.id}")
        choices = list(poll.question(question).choices)
        default_pos = [c for c in choices if c.lower() in ("yes", "y", "true")][:1] or choices[:1]
        positive = st.multiselect("Positive answer(s)", choices, default=default_pos,
                                  key=f"live_poll_pos_{poll.id}_{texts.index(question)}")
        c1, c2 = st.columns(2)
        claim = c1.number_input("Claimed proportion", 0.01, 0.99, sv.DEFAULT_CLAIM, 0.01,
                                key="live_poll_claim")
        alpha = c2.number_input("Significance level α", 0.001, 0.5, sv.DEFAULT_ALPHA, 0.01, format="%.3f",
                                key="live_poll_alpha")
        path = st.multiselect("Sunburst rings, inner first", texts,
                              default=vote.default_sunburst_path(poll), key=f"live_poll_path_{poll.id}")
    return question, tuple(positive), float(claim), float(alpha), tuple(path)


def _change_claim(url: str, poll_id: int, new: claims.Claim | None) -> None:
    if new is None:
        return
    try:
        changed = claims.change_claim(vote.open_db(url), poll_id, new)
    except (vote.PollError, SQLAlchemyError) as e:
        _say("error", f"The test was not changed: {e}")
        return
    if changed.changes:
        _say("warning", changed.changes[-1].describe() + " (shown beside the verdict).")


def _reveal(url: str, poll_id: int) -> None:
    revealed = bool(st.session_state.get(f"live_poll_reveal_{poll_id}"))
    try:
        claims.reveal_results(vote.open_db(url), poll_id, revealed)
    except (vote.PollError, SQLAlchemyError) as e:
        _say("error", f"Could not change what the stage shows: {e}")


def _details(db: vote.VoteDB) -> None:
    with st.expander("Details"):
        st.caption(f"Votes are stored in {vote.describe_url(db.url)} (set CUSTOM_CAST_DB to change it).")


def _polls_fingerprint(polls) -> tuple:
    return tuple((p.id, p.status, p.results_published) for p in polls)


@st.fragment(run_every=REFRESH_EVERY_S)
def live_panel(url: str, poll_id: int, settings: tuple, fingerprint: tuple) -> None:
    """The meter, then (once revealed) the counts and, at the planned number or at close, the verdict;
    reruns alone every REFRESH_EVERY_S seconds, and the whole page when a poll opens, closes or publishes."""
    try:
        db = vote.open_db(url)
        if _polls_fingerprint(vote.list_polls(db)) != fingerprint:
            st.rerun(scope="app")  # the selector, the buttons and the poll's state must show the truth
        version = vote.poll_version(db, poll_id)
        registered = claims.registered_claim(db, poll_id)
        live = _live_results(url, poll_id, (version.n_responses, version.last_response_id), *settings)
    except (vote.VoteDBError, vote.PollError, SQLAlchemyError, ValueError) as e:
        st.error(f"The live results are unavailable: {e}")
        return
    n = live.n
    gate = claims.verdict_gate(n, registered, live.poll.is_open)
    st.markdown(f"# {claims.meter_text(n, registered)}")
    state = "open" if live.poll.is_open else "closed"
    registered_note = f" · claim {registered.registered_text()}" if registered is not None else ""
    st.caption(f"Poll #{poll_id} is {state}{registered_note} · updated {time.strftime('%H:%M:%S')}")
    if n == 0:
        st.markdown(f"### {WAITING_FOR_VOTES}")
        return
    if gate == claims.GATE_HIDDEN:
        st.info(claims.waiting_text(gate, n, registered))
        return
    t = live.test
    if gate == claims.GATE_READY and t is not None:
        # The same words as the dashboard's CSV path: a headline, a plain verdict, the statistics folded away.
        st.markdown(f"### {sv.headline_sentence(t)}")
        kind = sv.verdict_kind(t)
        show = {sv.VERDICT_SUPPORTED: st.success, sv.VERDICT_AGAINST: st.warning}.get(kind, st.info)
        show(sv.plain_verdict(t))
        for change in registered.changes if registered is not None else ():
            st.warning(change.describe())
    elif gate != claims.GATE_READY:
        st.info(claims.waiting_text(gate, n, registered))
    elif live.test_error:
        st.info(live.test_error)
    if live.clean is None:
        return
    left, right = st.columns(2)
    if "counts" in live.figures:
        left.plotly_chart(live.figures["counts"], key="live_poll_counts_fig")
    if "sunburst" in live.figures:
        right.plotly_chart(live.figures["sunburst"], key="live_poll_sunburst_fig")
    elif live.sunburst_error:
        right.info(live.sunburst_error)
    if gate != claims.GATE_READY or t is None:
        return
    with st.expander("Details: χ², exact binomial, Wilson interval"):
        m = st.columns(4)
        m[0].metric("Observed share", sv.format_percent(t.observed_share))
        m[1].metric("χ² goodness of fit", f"{t.chi2:.2f}")
        p_values = (sv.format_p_value(t.p_value, t.alpha), sv.format_p_value(t.binomial_p_value, t.alpha))
        m[2].metric("p (χ²) · p (exact binomial)", " · ".join(p_values))
        m[3].metric(f"Wilson {1 - t.alpha:.0%} interval", f"{t.ci_low:.0%} – {t.ci_high:.0%}")
        st.caption(f"In statistical terms: {t.verdict}")
        if "test" in live.figures:
            st.plotly_chart(live.figures["test"], key="live_poll_test_fig")


# ------------------------------------------------------------------------------ the source


def live_poll_source() -> tuple[str, bytes]:
    """Render the live poll; return (name, CSV snapshot) for the page's tabs, or stop the page there."""
    try:
        db = vote.open_db()
        polls = vote.list_polls(db)
    except (vote.VoteDBError, SQLAlchemyError) as e:
        st.error(f"The vote database is unavailable: {e}")
        st.stop()
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        getattr(st, message[0])(message[1])
    if not polls:
        with st.expander("Open a new poll", expanded=True):
            _open_poll_form(db)
        st.info("Open a poll to put a join code on screen.")
        _details(db)
        st.stop()

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

    # The QR code and the count first (above the fold at 1600 x 857); the test's settings below them.
    join, board = st.columns([1, 3])
    below = st.container()
    with below:
        settings = _test_settings(poll, registered, db.url)
    with join:
        _join_panel(db)
    with board:
        live_panel(db.url, poll.id, settings, _polls_fingerprint(polls))
    with st.expander("Open a new poll", expanded=False):
        _open_poll_form(db)
    _details(db)

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
