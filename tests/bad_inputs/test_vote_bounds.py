"""Bad input, round 2 (issue 23), the live vote's share of classes 3, 4 and 7.

3. Numbers beyond any bound: ``--poll 100000000000000000000000`` crashed the CLI, ``report --claim nan
   --alpha inf`` was accepted on an empty poll. Every number from a flag or file is checked for type,
   finiteness and range, with the field named.
4. Structure beyond any bound: questions JSON nested 100,000 levels gave a RecursionError; size and
   depth are bounded before parsing (core.safe_json).
7. A database that disappears: votes acknowledged after the SQLite file was deleted, "There is no poll
   1" for the presenter, in-memory URLs that "opened" a poll, 25 answers silently cut to 20.

Every hostile input is generated here; CLI cases run in one interpreter (run_cli_batch).
"""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from core import vote
from core.safe_json import JSONRefused, json_depth_exceeds, load_json_bounded
from core.vote.ballots import NotRecorded
from core.vote.db import DatabaseGone
from core.vote.polls import MAX_CHOICES, MAX_POLL_ID, QUESTIONS_JSON_MAX_DEPTH, check_poll_id
from tests.bad_inputs.conftest import assert_refused, run_cli_batch

PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
QUESTIONS = [{"text": "Would you watch it?", "kind": "yes/no"},
             {"text": "Where?", "kind": "choice", "choices": ["Home", "Cinema"]}]


@pytest.fixture
def poll_db(tmp_path):
    path = tmp_path / "votes.sqlite3"
    db = vote.open_db(path)
    poll = vote.open_poll(db, QUESTIONS)
    return path, db, poll


def _ballot(db, poll, answer="Yes"):
    return vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": answer, "q2": "Home"})


# ------------------------------------------------------------------------------ 3: numbers from flags

HUGE = "100000000000000000000000"
BAD_FLAGS = [
    (["report", "--poll", HUGE], ["--poll", "between 1 and"]),
    (["report", "--poll", "-1"], ["--poll"]),
    (["report", "--poll", "0"], ["--poll"]),
    (["report", "--poll", "1e3"], ["--poll", "whole number"]),
    (["report", "--poll", "9" * 5000], ["--poll"]),
    (["close", "--poll", str(MAX_POLL_ID + 1)], ["--poll"]),
    (["export", "--poll", "nan"], ["--poll"]),
    (["report", "--poll", "1", "--claim", "nan"], ["--claim"]),
    (["report", "--poll", "1", "--claim", "nan", "--alpha", "inf"], ["--claim"]),
    (["report", "--poll", "1", "--alpha", "inf"], ["--alpha"]),
    (["report", "--poll", "1", "--alpha", "-0"], ["--alpha"]),
    (["report", "--poll", "1", "--claim", "1e400"], ["--claim"]),
    (["report", "--poll", "1", "--claim", "1"], ["--claim"]),
    (["simulate", "--poll", "1", "--workers", "100000"], ["--workers", "64"]),
    (["simulate", "--poll", "1", "--n", HUGE], ["--n"]),
    (["simulate", "--poll", "1", "--seed", "-5"], ["--seed"]),
    (["serve", "--port", "70000"], ["--port"]),
]


def test_numbers_beyond_any_bound_are_refused_with_the_flag_named(tmp_path):
    """On an EMPTY poll too: the report accepted --claim nan --alpha inf when there was nothing to test."""
    db_path = tmp_path / "votes.sqlite3"
    commands = [["core.vote", "open", "--db", db_path, "--questions-json", _questions_file(tmp_path)]]
    commands += [["core.vote", *args, "--db", db_path] for args, _ in BAD_FLAGS]
    results = run_cli_batch(commands)
    assert results[0].returncode == 0, results[0].stderr
    for (args, words), result in zip(BAD_FLAGS, results[1:], strict=True):
        line = assert_refused(result, *words)
        assert result.returncode == 2, (args, line)
        assert "internal error" not in line and len(line) < 400, (args, line)


def _questions_file(tmp_path, specs=None):
    path = tmp_path / "questions.json"
    path.write_text(json.dumps(specs or QUESTIONS))
    return path


@pytest.mark.parametrize("poll_id", [10**23, -1, 0, 2**63, True, 1.5, "1; DROP TABLE polls", None, [1]])
def test_poll_ids_are_checked_in_core_too(poll_db, poll_id):
    _, db, _ = poll_db
    with pytest.raises(vote.PollError):
        vote.get_poll(db, poll_id)
    with pytest.raises(vote.InvalidBallot, match="does not exist"):
        vote.submit_ballot(db, poll_id, vote.new_voter_token(), {"q1": "Yes"})
    assert check_poll_id("7") == 7


@pytest.mark.parametrize("claim, alpha", [(float("nan"), 0.05), (0.7, float("inf")), (float("-inf"), 0.05),
                                          (0.7, 0.0), (2.0, 0.05), ("abc", 0.05)])
def test_the_report_refuses_bad_settings_before_the_first_vote(poll_db, claim, alpha):
    _, db, poll = poll_db
    from core import survey as sv

    with pytest.raises(sv.SurveyError):
        vote.poll_report(db, poll.id, claim=claim, alpha=alpha)


# ------------------------------------------------------------------------------ 4: structure

def _deep(depth: int, kind: str) -> str:
    if kind == "lists":
        return "[" * depth + "]" * depth
    if kind == "objects":
        return '{"a":' * depth + "1" + "}" * depth
    if kind == "in-a-spec":
        return '[{"text": "Q", "kind": "yes/no", "choices": ' + "[" * depth + "]" * depth + "}]"
    return '[{"text": ' + "[" * depth + '"x"' + "]" * depth + "}]"  # nested inside the text field


@pytest.mark.parametrize("kind, depth", [("lists", 100_000), ("objects", 40_000), ("in-a-spec", 100_000),
                                         ("in-text", 100_000), ("lists", 9)])
def test_questions_nested_100000_deep_are_refused_before_parsing(kind, depth):
    with pytest.raises(vote.PollError, match=f"nested more than {QUESTIONS_JSON_MAX_DEPTH} levels"):
        vote.questions_from_json(_deep(depth, kind))


@pytest.mark.parametrize("text, words", [
    ("[" + ",".join(['{"text": "Q", "kind": "yes/no"}'] * 40_000) + "]", ["limit"]),  # 1.3 MB
    ("[" + ",".join(["{}"] * 5_000) + "]", ["at most 30"]),
    ('[{"text": "Q", "kind": "choice", "choices": NaN}]', ["NaN"]),
    ('[{"text": "Q", "kind": "yes/no", "required": 1e999}]', ["range"]),
    ('[{"text": "Q", "kind": "choice", "choices": 12}]', ["list of texts"]),
    ('[{"text": "Q", "kind": "yes/no", "required": "yes"}]', ["true or false"]),
    ('[{"text": 5, "kind": "yes/no"}]', ["must be text"]),
    ('[{"text": "Q", "kind": "yes/no"}', ["not valid JSON"]),
    ("\udcff".encode("utf-8", "surrogatepass"), ["not UTF-8"]),
])  # fmt: skip
def test_questions_json_is_bounded_and_typed(text, words):
    with pytest.raises(vote.PollError) as info:
        vote.questions_from_json(text)
    for word in words:
        assert word.lower() in str(info.value).lower(), str(info.value)


def test_the_cli_refuses_deep_and_huge_question_files(tmp_path):
    deep, huge, nan = tmp_path / "deep.json", tmp_path / "huge.json", tmp_path / "nan.json"
    deep.write_text(_deep(100_000, "lists"))
    huge.write_bytes(b"[" + b" " * (2 * 2**20) + b"]")
    nan.write_text('[{"text": "Q", "kind": "yes/no", "max_chars": NaN}]')
    results = run_cli_batch([["core.vote", "open", "--db", tmp_path / "v.sqlite3", "--questions-json", f]
                             for f in (deep, huge, nan)])
    assert_refused(results[0], "nested more than")
    assert_refused(results[1], "limit")
    assert_refused(results[2], "NaN")


@PROPERTY
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                max_size=3),
                    max_leaves=30),
       st.integers(0, 12))
def test_depth_scan_agrees_with_the_parsed_structure(value, limit):
    def depth(v):
        if isinstance(v, list):
            return 1 + max(map(depth, v), default=0)
        if isinstance(v, dict):
            return 1 + max(map(depth, v.values()), default=0)
        return 0

    text = json.dumps(value)
    assert json_depth_exceeds(text, limit) == (depth(value) > limit)
    if depth(value) <= limit:
        assert load_json_bounded(text, 10**6, limit) == value
    else:
        with pytest.raises(JSONRefused):
            load_json_bounded(text, 10**6, limit)


# ------------------------------------------------------------------------------ 7: a database that disappears

MEMORY_URLS = ["sqlite://", "sqlite:///:memory:", "sqlite:///file::memory:?cache=shared",
               "sqlite:///file:votes?mode=memory&uri=true"]


def test_in_memory_databases_are_refused_for_polls():
    for url in MEMORY_URLS:
        with pytest.raises(vote.VoteDBError, match="in-memory"):
            vote.open_db(url)
    results = run_cli_batch([["core.vote", "open", "--db", u] for u in MEMORY_URLS])
    for url, result in zip(MEMORY_URLS, results, strict=True):
        line = assert_refused(result, "in-memory", "file")
        assert url in line


def test_no_receipt_once_the_file_is_deleted(poll_db):
    path, db, poll = poll_db
    _ballot(db, poll)
    os.remove(path)
    for _ in range(3):  # three more voters: none may get a receipt for a vote stored nowhere
        with pytest.raises(NotRecorded, match="could not be saved"):
            _ballot(db, poll)
    # The presenter hears what happened, not "There is no poll 1".
    for look in (lambda: vote.open_db(path), lambda: vote.get_poll(db, poll.id),
                 lambda: vote.live_results(db, poll.id)):
        with pytest.raises(DatabaseGone, match="deleted"):
            look()


def test_no_receipt_once_the_file_is_replaced(poll_db, tmp_path):
    path, db, poll = poll_db
    _ballot(db, poll)
    backup = tmp_path / "backup.sqlite3"
    with sqlite3.connect(path) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    os.replace(backup, path)  # same content, another file: writes to the old one would be lost
    with pytest.raises(NotRecorded):
        _ballot(db, poll)
    with pytest.raises(DatabaseGone, match="replaced"):
        vote.response_count(db, poll.id)
    with sqlite3.connect(path) as conn:  # the stored votes are exactly those acknowledged
        assert conn.execute("select count(*) from vote_responses").fetchone()[0] == 1


def test_a_file_deleted_while_the_vote_commits_gets_no_receipt(poll_db):
    path, db, poll = poll_db

    def delete_on_commit(_conn):
        if path.exists():
            os.remove(path)

    event.listen(db.engine, "commit", delete_on_commit)
    try:
        with pytest.raises(NotRecorded):
            _ballot(db, poll)
    finally:
        event.remove(db.engine, "commit", delete_on_commit)


def test_the_presenter_cli_names_a_missing_database(tmp_path):
    path = tmp_path / "votes.sqlite3"
    questions = _questions_file(tmp_path)
    results = run_cli_batch([["core.vote", "open", "--db", path, "--questions-json", questions]])
    assert results[0].returncode == 0
    path.unlink()
    commands = [["core.vote", cmd, "--db", path, "--poll", "1"] for cmd in ("report", "close", "export")]
    for result in run_cli_batch(commands):
        line = assert_refused(result, "does not exist")
        assert "There is no poll" not in line
    assert not path.exists()  # and no empty database was left in its place


def test_questions_from_csv_refuses_rather_than_truncates(tmp_path):
    files = {}
    for n_answers in (MAX_CHOICES + 1, 25, 40):
        rows = ["Timestamp,Favourite snack"]
        rows += [f"2026/03/02 9:{i % 60:02d}:00,Snack {i % n_answers}" for i in range(3 * n_answers)]
        files[n_answers] = tmp_path / f"snacks-{n_answers}.csv"
        files[n_answers].write_text("\n".join(rows))
        with pytest.raises(vote.PollError, match=f"at most {MAX_CHOICES} choices"):
            vote.questions_from_csv(files[n_answers])
    results = run_cli_batch([["core.vote", "open", "--db", tmp_path / "v.sqlite3", "--questions-from", f]
                             for f in files.values()])
    for n_answers, result in zip(files, results, strict=True):
        line = assert_refused(result, f"{n_answers} different answers", str(MAX_CHOICES))
        assert "Favourite snack" in line
    assert not vote.list_polls(vote.open_db(tmp_path / "v.sqlite3"))  # nothing was opened


def test_twenty_answers_still_open(tmp_path):
    rows = ["Timestamp,Favourite snack"] + [f"2026/03/02 9:{i:02d}:00,Snack {i % 20}" for i in range(60)]
    csv_path = tmp_path / "snacks.csv"
    csv_path.write_text("\n".join(rows))
    (q,) = [q for q in vote.questions_from_csv(csv_path)]
    assert len(q.choices) == 20


def test_a_copied_database_is_still_found(tmp_path):
    """The identity check is about the open file, not the path's name: a copy opened anew just works."""
    src = tmp_path / "a.sqlite3"
    db = vote.open_db(src)
    poll = vote.open_poll(db, QUESTIONS)
    _ballot(db, poll)
    copy = tmp_path / "b.sqlite3"
    with sqlite3.connect(src) as a, sqlite3.connect(copy) as b:
        a.backup(b)
    copied = vote.open_db(copy)
    assert vote.response_count(copied, poll.id) == 1
    _ballot(copied, poll)
    assert vote.response_count(copied, poll.id) == 2


def test_oversized_media_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.mp4"
    with open(big, "wb") as f:  # sparse: 2 GiB on the file system, nothing on disk
        f.truncate(2 * 2**30)
    (result,) = run_cli_batch([["core.vote", "open", "--db", tmp_path / "v.sqlite3", "--media", big]])
    assert_refused(result, "--media", "limit")
