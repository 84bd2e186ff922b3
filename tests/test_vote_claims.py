"""A poll that protects its result (core.vote.claims): the claim registered with the poll, hidden until
revealed, the verdict only at the planned number of answers or at close, changes recorded."""

from __future__ import annotations

import pytest

from core import survey as sv
from core import vote
from core.vote import claims
from core.vote import db as vote_db
from tests.vote_support import questions


@pytest.fixture
def db(tmp_path):
    database = vote.open_db(tmp_path / "votes.sqlite3")
    yield database
    vote_db.close_all()


def claim(**kw) -> claims.Claim:
    spec = {
        "question": "would you watch it?",
        "positive": ("yes",),
        "claim": 0.7,
        "alpha": 0.05,
        "planned_n": 20,
        **kw,
    }
    return claims.Claim(**spec)


def vote_n(db, poll_id: int, yes: int, no: int) -> None:
    for answer in ["Yes"] * yes + ["No"] * no:
        vote.submit_ballot(db, poll_id, vote.new_voter_token(), {"q1": "Man", "q2": answer})


def test_min_answers_is_the_survey_modules():
    assert claims.MIN_ANSWERS == sv.MIN_ANSWERS


def test_the_claim_is_registered_with_the_poll_spelled_as_in_the_poll(db):
    poll, registered = claims.open_poll_with_claim(db, questions(), claim())
    assert poll.is_open
    found = claims.registered_claim(db, poll.id)
    assert found == registered
    assert found.claim == claims.Claim("Would you watch it?", ("Yes",), 0.7, 0.05, 20)
    assert found.registered_at <= poll.opened_at and not found.revealed and found.changes == ()
    assert found.registered_text().startswith("registered at ") and len(found.registered_text()) == 19
    assert claims.registered_claim(db, vote.open_poll(db, questions()).id) is None


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"question": "Any comment?"}, "free-text"),
        ({"question": "Nope?"}, "no question"),
        ({"positive": ("Maybe",)}, "counted as yes"),
        ({"positive": ("Yes", "No")}, "nothing to test"),
        ({"claim": 1.5}, "claim must be between"),
        ({"alpha": 0.9}, "alpha must be between"),
        ({"planned_n": 5}, "planned number"),
        ({"planned_n": 20.5}, "planned number"),
    ],
)
def test_a_bad_claim_opens_no_poll(db, kw, message):
    with pytest.raises(vote.PollError, match=message):
        claims.open_poll_with_claim(db, questions(), claim(**kw))
    assert vote.list_polls(db) == []


def test_hidden_until_revealed_then_no_verdict_before_the_planned_number_unless_closed(db):
    poll, registered = claims.open_poll_with_claim(db, questions(), claim(planned_n=15))
    vote_n(db, poll.id, 3, 0)
    assert claims.verdict_gate(3, registered, True) == claims.GATE_HIDDEN
    assert claims.meter_text(3, registered) == "3 of 15 planned answers"
    registered = claims.reveal_results(db, poll.id)
    assert registered.revealed
    assert claims.verdict_gate(3, registered, True) == claims.GATE_TOO_FEW
    assert (
        claims.waiting_text(claims.GATE_TOO_FEW, 3, registered)
        == "3 of 10 answers needed before any verdict."
    )
    assert claims.verdict_gate(12, registered, True) == claims.GATE_WAITING
    assert "at 15 answers" in claims.waiting_text(claims.GATE_WAITING, 12, registered)
    assert claims.verdict_gate(12, registered, False) == claims.GATE_READY  # closed: the verdict at close
    assert claims.verdict_gate(15, registered, True) == claims.GATE_READY
    assert claims.verdict_gate(9, None, False) == claims.GATE_TOO_FEW  # no claim: still never under 10
    assert claims.meter_text(3, None) == "3 of 10 answers needed"
    assert not claims.reveal_results(db, poll.id, False).revealed


def test_a_change_after_opening_is_recorded_with_the_answers_seen(db):
    poll, _ = claims.open_poll_with_claim(db, questions(), claim())
    vote_n(db, poll.id, 5, 2)
    changed = claims.change_claim(db, poll.id, claim(claim=0.6, planned_n=30))
    assert changed.claim.claim == 0.6 and changed.original.claim == 0.7
    (change,) = changed.changes
    assert change.answers_seen == 7
    text = change.describe()
    assert text.startswith("Test changed at ") and "after 7 answers" in text
    assert "claimed share 70 % → 60 %" in text and "planned answers 20 → 30" in text
    assert claims.change_claim(db, poll.id, claim(claim=0.6, planned_n=30)).changes == changed.changes
    with pytest.raises(vote.PollError):
        claims.change_claim(db, poll.id, claim(positive=("Nope",)))
    plain = vote.open_poll(db, questions())
    with pytest.raises(vote.PollError, match="no claim"):
        claims.change_claim(db, plain.id, claim())


def test_the_command_line_registers_the_claim_with_the_poll(tmp_path, capsys):
    """``vote open --test-question --yes --planned`` registers the claim in the poll's opening transaction;
    half a claim, or an unknown question, opens no poll."""
    import json

    from core.vote.cli import main

    url = f"sqlite:///{tmp_path / 'votes.sqlite3'}"
    assert main(["open", "--db", url, "--test-question", "q1", "--planned", "40", "--test-claim", "0.6",
                 "--yes", "traditional system + ai generated & animated faces option", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["claim"]["question"] == "Which would you prefer for watching movies and TV?"
    assert out["claim"]["positive"] == ["Traditional System + AI generated & animated faces option"]
    assert (out["claim"]["claim"], out["claim"]["alpha"], out["claim"]["planned_n"]) == (0.6, 0.05, 40)
    db = vote_db.open_db(url)
    registered = claims.registered_claim(db, out["poll"])
    assert registered.claim.planned_n == 40 and not registered.revealed
    with pytest.raises(Exception, match="together"):
        main(["open", "--db", url, "--yes", "Yes"])
    with pytest.raises(vote.PollError, match="no question 'nope'"):
        main(["open", "--db", url, "--test-question", "nope", "--yes", "Yes", "--planned", "20"])
    assert len(vote.list_polls(db)) == 1  # neither refusal opened a poll
