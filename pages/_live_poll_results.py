"""The live poll's results: the test's settings (the registered claim, or one picked here for a poll
that registered none) and the live board (the meter, then once revealed the counts, the sunburst and, at
the planned number of answers or at close, the verdict), refreshed every ~2 s inside an
``st.fragment(run_every=...)`` so the rest of the page never reruns. The statistics are the survey
module's, exactly as on the CSV path."""

from __future__ import annotations

import time

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core import survey as sv
from core import vote
from core.vote import claims
from core.vote.live import WAITING_FOR_VOTES
from pages._common import CHART_CONFIG
from pages._live_poll_common import say
from pages._live_poll_setup import claim_fields

REFRESH_EVERY_S = 2.0


@st.cache_resource(show_spinner=False, max_entries=32)
def _live_results(url: str, poll_id: int, version: tuple, question: str, positive: tuple,
                  claim: float, alpha: float, path: tuple) -> vote.LiveResults:
    """One refresh per new fingerprint; an unchanged poll costs one count query per tick."""
    return vote.live_results(vote.open_db(url), poll_id, question, list(positive) or None, claim, alpha,
                             list(path))


def polls_fingerprint(polls) -> tuple:
    return tuple((p.id, p.status, p.results_published) for p in polls)


def _change_claim(url: str, poll_id: int, new: claims.Claim | None) -> None:
    if new is None:
        return
    try:
        changed = claims.change_claim(vote.open_db(url), poll_id, new)
    except (vote.PollError, SQLAlchemyError) as e:
        say("error", f"The test was not changed: {e}")
        return
    if changed.changes:
        say("warning", changed.changes[-1].describe() + " (shown beside the verdict).")


def _registered_settings(poll: vote.Poll, registered: claims.RegisteredClaim, url: str,
                         texts: list[str], specs: list[dict]) -> tuple:
    c = registered.claim
    with st.expander(f"The registered claim · {registered.registered_text()}", expanded=False):
        st.markdown(claims.claim_summary(c))
        for change in registered.changes:
            st.warning(change.describe())
        new = claim_fields(specs, f"live_poll_change_{poll.id}", current=c)
        st.button("Change the test (the change is recorded and shown beside the verdict)",
                  key=f"live_poll_change_button_{poll.id}", on_click=_change_claim, args=(url, poll.id, new))
        path = st.multiselect("Sunburst rings, inner first", texts,
                              default=vote.default_sunburst_path(poll), key=f"live_poll_path_{poll.id}")
    return c.question, c.positive, c.claim, c.alpha, tuple(path)


def _picked_settings(poll: vote.Poll, texts: list[str]) -> tuple:
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


def poll_test_settings(poll: vote.Poll, registered: claims.RegisteredClaim | None, url: str) -> tuple:
    """(question, positive, claim, alpha, sunburst path): the registered test, or for a poll opened without
    one, the test picked here."""
    choice_qs = [q for q in poll.questions if q.kind != vote.KIND_TEXT]
    texts = [q.text for q in choice_qs]
    if registered is None:
        return _picked_settings(poll, texts)
    specs = [{"text": q.text, "kind": q.kind, "choices": " | ".join(q.choices)} for q in choice_qs]
    return _registered_settings(poll, registered, url, texts, specs)


def _verdict(t: sv.ProportionTest, registered: claims.RegisteredClaim | None) -> None:
    """The same words as the dashboard's CSV path: a headline, a plain verdict, the statistics folded away."""
    st.markdown(f"### {sv.headline_sentence(t)}")
    kind = sv.verdict_kind(t)
    show = {sv.VERDICT_SUPPORTED: st.success, sv.VERDICT_AGAINST: st.warning}.get(kind, st.info)
    show(sv.plain_verdict(t))
    for change in registered.changes if registered is not None else ():
        st.warning(change.describe())


def _charts(live: vote.LiveResults) -> None:
    left, right = st.columns(2)
    if "counts" in live.figures:
        left.plotly_chart(live.figures["counts"], key="live_poll_counts_fig", config=CHART_CONFIG)
    if "sunburst" in live.figures:
        right.plotly_chart(live.figures["sunburst"], key="live_poll_sunburst_fig", config=CHART_CONFIG)
    elif live.sunburst_error:
        right.info(live.sunburst_error)


def _statistics(t: sv.ProportionTest, live: vote.LiveResults) -> None:
    with st.expander("Details: χ², exact binomial, Wilson interval"):
        m = st.columns(4)
        m[0].metric("Observed share", sv.format_percent(t.observed_share))
        m[1].metric("χ² goodness of fit", f"{t.chi2:.2f}")
        p_values = (sv.format_p_value(t.p_value, t.alpha), sv.format_p_value(t.binomial_p_value, t.alpha))
        m[2].metric("p (χ²) · p (exact binomial)", " · ".join(p_values))
        m[3].metric(f"Wilson {1 - t.alpha:.0%} interval", f"{t.ci_low:.0%} – {t.ci_high:.0%}")
        st.caption(f"In statistical terms: {t.verdict}")
        if "test" in live.figures:
            st.plotly_chart(live.figures["test"], key="live_poll_test_fig", config=CHART_CONFIG)


@st.fragment(run_every=REFRESH_EVERY_S)
def live_panel(url: str, poll_id: int, settings: tuple, fingerprint: tuple) -> None:
    """The meter, then (once revealed) the counts and, at the planned number or at close, the verdict;
    reruns alone every REFRESH_EVERY_S seconds, and the whole page when a poll opens, closes or publishes."""
    try:
        db = vote.open_db(url)
        if polls_fingerprint(vote.list_polls(db)) != fingerprint:
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
        _verdict(t, registered)
    elif gate != claims.GATE_READY:
        st.info(claims.waiting_text(gate, n, registered))
    elif live.test_error:
        st.info(live.test_error)
    if live.clean is None:
        return
    _charts(live)
    if gate == claims.GATE_READY and t is not None:
        _statistics(t, live)
