"""AppTest of the voter app (vote_app.py): the open poll only, one ballot per browser, clear refusals,
counts only when published, never another voter's free text."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import survey as sv
from core import vote
from core.vote import claims
from core.vote import db as vote_db
from tests.vote_support import questions

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "vote_app.py")
SECRET = "<b>SECRET comment</b> from another voter"


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = vote.normalize_url(tmp_path / "votes.sqlite3")
    monkeypatch.setenv(vote.DB_ENV, url)
    database = vote.open_db(url)
    yield database
    vote_db.close_all()


def app(token: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if token is not None:
        at.query_params["voter"] = token
    return at.run()


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "markdown", "caption", "info", "success", "error", "subheader")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def token_of(at: AppTest) -> str:
    value = at.query_params["voter"]
    return value[0] if isinstance(value, list) else value


def test_waiting_screen_without_an_open_poll(db):
    at = app()
    assert not at.exception
    assert at.title[0].value == "Custom Cast: live vote"
    assert at.info[0].value.startswith("No poll is open right now.")
    assert len(at.radio) == 0 and len(at.button) == 0
    assert vote.check_token(token_of(at))  # a fresh token was written into the URL


def test_a_voter_answers_once(db):
    poll = vote.open_poll(db, questions(), title="Would you watch it?")
    at = app()
    assert at.title[0].value == "Would you watch it?"
    assert [r.label for r in at.radio] == ["How do you define your gender?", "Would you watch it?"]
    assert at.text_area[0].label == "Any comment? (optional)" and at.text_area[0].max_chars == 500
    assert at.button[0].label == "Send my answers"
    at.radio[0].set_value("Non-binary")
    at.radio[1].set_value("Yes")
    at.text_area[0].input("Looks fun")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert at.success[0].value == "Thank you: your answers are in."
    token = token_of(at)
    assert vote.has_voted(db, poll.id, token)
    assert vote.poll_report(db, poll.id)["questions"]["Would you watch it?"] == {"Yes": 1, "No": 0}
    again = app(token)  # a reload keeps the token, so the form does not come back
    assert again.success[0].value == "Thank you: your answers are in." and len(again.button) == 0
    assert vote.response_count(db, poll.id) == 1


def test_an_incomplete_ballot_gets_a_message_and_stores_nothing(db):
    poll = vote.open_poll(db, questions())
    at = app()
    at.radio[0].set_value("Man")
    at.button[0].click().run()
    assert at.error[0].value == "Please answer 'Would you watch it?'."
    assert vote.response_count(db, poll.id) == 0
    assert len(at.button) == 1  # the form is still there, with the answer already given
    assert at.radio[0].value == "Man"


def test_a_poll_closed_while_answering_refuses_the_ballot(db):
    poll = vote.open_poll(db, questions())
    at = app()
    at.radio[0].set_value("Woman")
    at.radio[1].set_value("No")
    vote.close_poll(db, poll.id)
    at.button[0].click().run()  # the rerun finds the poll closed: the form is gone, with a plain warning
    assert at.warning[0].value == "This poll is closed; your answers were not recorded."
    assert at.info[0].value.startswith("No poll is open right now.") and len(at.button) == 0
    assert vote.response_count(db, poll.id) == 0
    with pytest.raises(vote.PollClosed, match="This poll is closed; your answers were not recorded."):
        vote.submit_ballot(db, poll.id, token_of(at), {"q1": "Woman", "q2": "No"})  # a late request, too
    assert vote.response_count(db, poll.id) == 0


def test_an_invalid_token_in_the_url_is_replaced(db):
    vote.open_poll(db, questions())
    at = app("<script>")
    assert token_of(at) != "<script>" and vote.check_token(token_of(at))


def test_counts_only_when_published_and_never_free_text(db):
    poll = vote.open_poll(db, questions())
    for gender in ("Man", "Woman", "Woman"):
        vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": gender, "q2": "Yes", "q3": SECRET})
    at = app()
    assert "Results so far" not in texts(at) and len(at.get("arrow_vega_lite_chart")) == 0
    vote.publish_results(db, poll.id)
    at = app(token_of(at))
    assert "Results so far: 3 answers" in texts(at)
    assert "SECRET" not in texts(at) and "SECRET" not in str(at.main)
    vote.close_poll(db, poll.id)  # after closing, the waiting screen still shows published counts
    at = app(token_of(at))
    assert at.info[0].value.startswith("No poll is open") and "Results so far: 3 answers" in texts(at)


def test_media_is_shown_to_voters(db):
    face = np.full((16, 16, 3), 128, np.uint8)
    vote.open_poll(db, questions(), media=vote.image_media(face, "A face of nobody"))
    at = app()
    assert len(at.get("image")) == 1


def test_the_voter_app_reaches_nothing_but_the_vote():
    """Only core.vote (and Streamlit/pandas/SQLAlchemy) is imported, and st.navigation lists one page, which
    replaces Streamlit's automatic pages/ discovery (a real server answers "Page not found" for
    /explorer, /dashboard, ...)."""
    tree = ast.parse(Path(APP).read_text(encoding="utf-8"))
    imported = {n.module if isinstance(n, ast.ImportFrom) else a.name
                for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in (n.names if isinstance(n, ast.Import) else [None])}
    assert imported == {"__future__", "pandas", "streamlit", "sqlalchemy.exc", "core"}
    from_core = [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "core"
                 for a in n.names]
    assert from_core == ["vote"]
    nav = [n for n in ast.walk(tree)
           if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "navigation"]
    assert len(nav) == 1 and len(nav[0].args[0].elts) == 1
    assert "unsafe_allow_html" not in Path(APP).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ the dashboard's live source

DASHBOARD = str(ROOT / "pages" / "5_hypothesis_dashboard.py")


def dashboard(session: dict | None = None) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    at.radio(key="dashboard_source").set_value("Live poll").run()
    assert not at.exception
    return at


def alerts(at: AppTest) -> list:
    return [*at.info, *at.success, *at.warning]


def headings(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("#")]


def test_live_source_opens_a_poll_with_the_studys_questions(db):
    at = dashboard()
    assert "Live poll" in at.radio(key="dashboard_source").options
    assert at.info[0].value == "Open a poll to put a join code on screen."
    at.button(key="live_poll_open").click().run()
    assert not at.exception
    poll = vote.current_poll(db)
    assert poll is not None and [q.text for q in poll.questions] == [q.text for q in vote.default_questions()]
    assert at.success[0].value.startswith(f"Poll #{poll.id} is open: voters can answer now.")
    # The study's claim was registered with the poll: its yes/no question, Yes, 70 %, 60 answers planned.
    registered = claims.registered_claim(db, poll.id)
    assert registered.claim == claims.Claim(vote.default_test_question(poll), ("Yes",), 0.7, 0.05, 60)
    assert headings(at)[:2] == ["# 0 of 60 planned answers", "### No answers yet: scan the code and vote."]
    assert at.text_input(key="live_poll_join_url").value.endswith(":8502/")
    assert len(at.get("image")) == 1  # the QR code
    # The database's location is for the engineer: only under Details.
    details = next(e for e in at.expander if e.label == "Details")
    assert any("sqlite" in c.value for c in details.caption)
    assert sum("sqlite" in c.value for c in at.caption) == 1


def test_live_source_shows_n_verdict_and_charts_and_controls_the_poll(db):
    poll = vote.open_poll(db, questions())
    for i in range(10):
        vote.submit_ballot(db, poll.id, vote.new_voter_token(),
                           {"q1": ["Man", "Woman"][i % 2], "q2": "Yes" if i < 9 else "No", "q3": SECRET})
    at = dashboard()
    report = vote.poll_report(db, poll.id)
    test = sv.proportion_test(vote.results.clean_poll(poll, vote.load_responses(db, poll.id)),
                              "Would you watch it?", positive=["Yes"])
    # One verdict, worded by the survey module: the headline and the plain verdict, no second p-value line.
    assert headings(at)[:2] == ["# 10 answers", f"### {sv.headline_sentence(test)}"]
    assert [a.value for a in alerts(at) if "p = " in a.value] == [sv.plain_verdict(test)]
    assert at.metric[1].value == f"{report['test']['chi2']:.2f}"  # the same test as the CSV path
    assert len(at.get("plotly_chart")) == 3  # counts, sunburst, test
    vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": "Man", "q2": "No"})
    at.run()
    assert headings(at)[0] == "# 11 answers"

    at.toggle(key=f"live_poll_publish_{poll.id}").set_value(True).run()
    assert vote.get_poll(db, poll.id).results_published
    at.button(key="live_poll_close").click().run()
    assert vote.get_poll(db, poll.id).status == "closed"
    with pytest.raises(vote.PollClosed):
        vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": "Man", "q2": "No"})
    at.button(key="live_poll_reopen").click().run()
    assert vote.get_poll(db, poll.id).is_open and not at.exception


def test_under_ten_answers_no_verdict_only_how_many_are_needed(db):
    poll = vote.open_poll(db, questions())
    vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": "Man", "q2": "Yes"})
    at = dashboard()
    assert headings(at)[0] == "# 1 of 10 answers needed"
    texts = " ".join(e.value for e in alerts(at) + list(at.markdown))
    assert "1 of 10 answers needed before any verdict." in texts and "p = " not in texts


def test_a_registered_poll_hides_its_result_until_revealed_and_waits_for_the_planned_answers(db):
    claim = claims.Claim("Would you watch it?", ("Yes",), 0.7, 0.05, 14)
    poll, _ = claims.open_poll_with_claim(db, questions(), claim)
    for i in range(11):
        vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": "Man", "q2": "Yes" if i < 9 else "No"})
    at = dashboard()
    assert headings(at)[0] == "# 11 of 14 planned answers"
    assert any(e.value == "The result is hidden until the presenter reveals it." for e in at.info)
    assert len(at.get("plotly_chart")) == 0  # no counts either: early results sway the room
    assert at.toggle(key=f"live_poll_publish_{poll.id}").disabled  # nor on the voters' phones
    at.toggle(key=f"live_poll_reveal_{poll.id}").set_value(True).run()
    assert claims.registered_claim(db, poll.id).revealed
    assert headings(at)[0] == "# 11 of 14 planned answers"
    assert any("The verdict appears at 14 answers" in e.value for e in at.info)
    assert len(at.get("plotly_chart")) == 2 and not [e for e in at.success if "p = " in e.value]
    changed = claims.change_claim(db, poll.id, claims.Claim("Would you watch it?", ("Yes",), 0.6, 0.05, 14))
    vote.close_poll(db, poll.id)  # at close: the verdict, with the change beside it
    at.run()
    assert not at.exception
    verdicts = [e.value for e in alerts(at) if "p = " in e.value]
    assert len(verdicts) == 1 and "60 %" in verdicts[0]
    assert any(e.value == changed.changes[0].describe() for e in at.warning)
    assert "closed" in at.selectbox(key="live_poll_select").options[0]


def test_the_voter_app_warning_checks_the_join_urls_own_host_and_port(db):
    vote.open_poll(db, questions())
    at = dashboard()
    at.text_input(key="live_poll_join_url").input("http://127.0.0.1:9/").run()
    assert any("No voter app answers at http://127.0.0.1:9/" in w.value for w in at.warning)
    assert any("loopback" in e.value for e in at.error)
    assert at.button(key="live_poll_start_app").label == "Start the voter app on port 9"


def test_live_source_snapshot_feeds_the_dashboards_tabs(db):
    poll = vote.open_poll(db, questions())
    for i in range(6):
        vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": "Woman", "q2": "Yes" if i else "No"})
    at = dashboard()
    assert len(at.tabs) == 0  # the page stops after the live panel unless a snapshot is explored
    at.toggle(key="live_poll_explore").set_value(True).run()
    assert not at.exception
    assert len(at.tabs) == 4
    assert any(f"live poll #{poll.id} at" in c.value and "6 responses" in c.value for c in at.caption)


def test_live_source_can_show_voters_the_face_sent_to_the_animator(db):
    from pages._common import HANDOFF_ANIMATOR_SOURCE, HANDOFF_ANIMATOR_SOURCE_LABEL

    face = np.full((32, 32, 3), 90, np.uint8)
    at = dashboard({HANDOFF_ANIMATOR_SOURCE: face, HANDOFF_ANIMATOR_SOURCE_LABEL: "StyleGAN2 seed 7"})
    at.radio(key="live_poll_media").set_value("The face sent to the animator").run()
    at.button(key="live_poll_open").click().run()
    poll = vote.current_poll(db)
    data, mime, caption = vote.poll_media(db, poll.id)
    # the phones get the room's words, never how the face was made
    assert mime == "image/png" and caption == "A generated face: this person does not exist"
    voter = app()
    assert len(voter.get("image")) == 1
