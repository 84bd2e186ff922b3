"""Property-based tests of the live vote's ballot validator (issue 23), as exist for the CSV reader and the
zip extractor: for any poll and any ballot a browser or a script could send, validation either returns a
ballot that names only the poll's questions and choices, or refuses it with InvalidBallot, nothing
else; a refused ballot stores nothing; and invisible characters or Unicode forms never change a vote.
"""

from __future__ import annotations

import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core import vote
from core.answer_text import normalize_answer
from core.vote.polls import CHOICE_MAX_CHARS, KIND_TEXT, KINDS, PollError

PROPERTY = settings(max_examples=120, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])  # fmt: skip
STORED = settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])  # fmt: skip

# Invisible anywhere (format characters, a variation selector) ...
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u00ad", "\u202a",
             "\u202c", "\u2066", "\u2069", "\ufe0f"]  # fmt: skip
# ... and spaces of every kind, which only count as nothing at either end.
SPACES = ["\u00a0", "\u3000", " ", "\u2009", "\t"]
_word = st.text(st.characters(categories=["L", "N"], max_codepoint=0x2FFF), min_size=1, max_size=12)


@st.composite
def polls(draw) -> vote.Poll:
    n = draw(st.integers(1, 5))
    texts = draw(st.lists(_word, min_size=n, max_size=n, unique_by=lambda t: normalize_answer(t).lower()))
    specs = []
    for text in texts:
        kind = draw(st.sampled_from(KINDS))
        choices = draw(st.lists(_word, min_size=2, max_size=6,
                                unique_by=lambda t: normalize_answer(t).lower()))
        specs.append({"text": text, "kind": kind, "choices": choices if kind == "choice" else [],
                      "required": draw(st.booleans())})
    try:
        questions = vote.validate_questions(specs)
    except PollError:
        assume(False)  # e.g. a text that normalises to a repeated question: not a poll to vote on
    return vote.Poll(1, "poll", questions, "open", False, 0.0, 0.0, None)


def _decorate(draw, text: str) -> str:
    """The same text as a phone or a copy-paste might send it: invisible marks, another Unicode form."""
    chars = list(unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), text))
    for _ in range(draw(st.integers(0, 3))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(INVISIBLE)))
    before = draw(st.lists(st.sampled_from(SPACES), max_size=2))
    after = draw(st.lists(st.sampled_from(SPACES), max_size=2))
    return "".join(before + chars + after)


_junk_value = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40),
    st.text(st.characters(max_codepoint=0x1F), max_size=5), st.just("x" * 5000),
    st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


@st.composite
def ballots(draw, poll: vote.Poll) -> dict:
    ballot: dict = {}
    for q in poll.questions:
        how = draw(st.sampled_from(["choice", "decorated", "case", "junk", "skip", "by-text"]))
        key = q.text if how == "by-text" else q.id
        if how == "skip":
            continue
        if how == "junk":
            ballot[key] = draw(_junk_value)
        elif q.kind == KIND_TEXT:
            ballot[key] = draw(st.text(max_size=60))
        else:
            choice = draw(st.sampled_from(q.choices))
            ballot[key] = {"choice": choice, "by-text": choice, "case": choice.swapcase(),
                           "decorated": _decorate(draw, choice)}[how]
    if draw(st.booleans()):
        ballot[draw(st.one_of(st.text(max_size=8), st.integers(), st.none()))] = draw(_junk_value)
    return ballot


def _check_accepted(poll: vote.Poll, out: dict) -> None:
    by_id = {q.id: q for q in poll.questions}
    assert set(out) <= set(by_id)
    for qid, answer in out.items():
        q = by_id[qid]
        assert isinstance(answer, str) and answer
        if q.kind == KIND_TEXT:
            assert len(answer) <= q.max_chars and not any(ord(c) < 32 and c not in "\t\n" for c in answer)
        else:
            assert answer in q.choices and len(answer) <= CHOICE_MAX_CHARS
    assert all(q.id in out for q in poll.questions if q.required)


@PROPERTY
@given(data=st.data())
def test_any_ballot_is_either_a_valid_ballot_or_invalid(data):
    poll = data.draw(polls())
    ballot = data.draw(ballots(poll))
    try:
        out = vote.validate_answers(poll, ballot)
    except vote.InvalidBallot as e:
        assert str(e) and "\n" not in str(e) and len(str(e)) < 400
        return
    _check_accepted(poll, out)


@PROPERTY
@given(data=st.data())
def test_invisible_characters_and_unicode_forms_never_change_a_vote(data):
    poll = data.draw(polls())
    plain, decorated = {}, {}
    for q in poll.questions:
        if q.kind == KIND_TEXT:
            continue
        choice = data.draw(st.sampled_from(q.choices))
        plain[q.id] = choice
        key = data.draw(st.sampled_from([q.id, _decorate(data.draw, q.text)]))
        decorated[key] = _decorate(data.draw, choice)
    assume(all(q.id in plain for q in poll.questions if q.required))
    assert vote.validate_answers(poll, decorated) == vote.validate_answers(poll, plain) == plain


@PROPERTY
@given(junk=_junk_value)
def test_anything_but_a_mapping_is_refused(junk):
    (q,) = vote.validate_questions([{"text": "Q", "kind": "yes/no"}])
    poll = vote.Poll(1, "", (q,), "open", False, 0.0, 0.0, None)
    try:
        out = vote.validate_answers(poll, junk)
    except vote.InvalidBallot:
        return
    raise AssertionError(f"accepted {junk!r} as {out!r}")


_DB_DIR = Path(tempfile.mkdtemp(prefix="cc-ballot-property-"))


@STORED
@given(data=st.data())
def test_stored_ballots_are_the_validated_ones_and_refusals_store_nothing(data):
    poll_spec = data.draw(polls())
    db = vote.open_db(_DB_DIR / "votes.sqlite3")
    poll = vote.open_poll(db, poll_spec.questions)
    ballot = data.draw(ballots(poll))
    before = vote.response_count(db, poll.id)
    try:
        expected = vote.validate_answers(poll, ballot)
    except vote.InvalidBallot:
        expected = None
    try:
        receipt = vote.submit_ballot(db, poll.id, vote.new_voter_token(), ballot)
    except vote.InvalidBallot:
        assert expected is None
        assert vote.response_count(db, poll.id) == before
        return
    assert expected is not None
    stored = vote.load_responses(db, poll.id)
    assert len(stored) == before + 1 and stored[-1].id == receipt.response_id
    assert stored[-1].answers == expected
