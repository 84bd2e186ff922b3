"""Live audience vote (core/vote) on SQLite: polls, ballots, reliability, results, export, CLI.

PostgreSQL runs the same guarantees against a real server in test_vote_postgres.py.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core import survey as sv
from core import vote
from core.vote import ballots, results
from core.vote import db as vote_db
from core.vote.models import ResponseRow
from core.vote.results import export_csv_text, forms_timestamp, load_responses
from tests.vote_support import questions, race_one_token

ROOT = Path(__file__).resolve().parent.parent
YES_NO_Q = (
    "In your opinion, could this format of viewing media create more diversity in the videos people see in "
    "general?"
)


@pytest.fixture
def db(tmp_path):
    database = vote.open_db(tmp_path / "votes.sqlite3")
    yield database
    vote_db.close_all()


def ballot(gender="Woman", watch="Yes", comment=None):
    out = {"q1": gender, "q2": watch}
    if comment is not None:
        out["q3"] = comment
    return out


def n_rows(db) -> int:
    with db.read() as s:
        return s.query(ResponseRow).count()


# ------------------------------------------------------------------------------------------ database


def test_urls_are_normalised_and_bad_ones_refused(tmp_path):
    assert vote.normalize_url(tmp_path / "a.db") == f"sqlite:///{(tmp_path / 'a.db').resolve()}"
    assert vote.normalize_url("postgresql://u:pw@127.0.0.1:5433/votes").startswith("postgresql+psycopg://u:pw@")
    assert vote.normalize_url("postgres://h/db").startswith("postgresql+psycopg://")
    with pytest.raises(vote.VoteDBError, match="Unsupported database 'mysql'"):
        vote.normalize_url("mysql://h/db")
    assert "***" in vote.describe_url(vote.normalize_url("postgresql://u:secret@h/db"))


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(db):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_unreachable_database_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(vote.VoteDBError, match="Cannot open the vote database"):
        vote.open_db(f"sqlite:///{blocker}/sub/votes.sqlite3")


# ------------------------------------------------------------------------------------------ polls


def test_default_questions_are_the_bundled_surveys():
    qs = vote.default_questions()
    frame = sv.read_survey(ROOT / "assets" / "demo_survey.csv").frame
    columns = [c for c in frame.columns if c != "Timestamp"]
    assert [q.text for q in qs] == columns
    assert [q.id for q in qs] == [f"q{i}" for i in range(1, len(columns) + 1)]
    yes_no = [q for q in qs if q.kind == vote.KIND_YES_NO]
    assert [q.text for q in yes_no] == [YES_NO_Q]
    assert yes_no[0].choices == ("Yes", "No")
    gender = qs[[q.text for q in qs].index("How do you define your gender?")]
    assert gender.kind == vote.KIND_CHOICE and {"Man", "Woman"} <= set(gender.choices)
    assert qs[-1].kind == vote.KIND_TEXT and not qs[-1].required


@pytest.mark.parametrize(
    "specs, message",
    [
        ([], "at least one question"),
        ([{"text": "", "kind": "choice", "choices": ["a", "b"]}], "has no text"),
        ([{"text": "Q", "kind": "choice", "choices": ["a"]}], "at least two choices"),
        ([{"text": "Q", "kind": "slider"}], "kind 'slider'"),
        ([{"text": "Q", "kind": "yes/no"}, {"text": "q", "kind": "yes/no"}], "repeats the question"),
        ([{"text": "Timestamp", "kind": "text"}], "repeats the question"),
        ([{"text": "Q", "kind": "choice", "choices": ["a", "A"]}], "same choice twice"),
        ([{"text": "Q\x1b[2J", "kind": "text"}], "control characters"),
        ([{"text": "Q" * 301, "kind": "text"}], "the limit is 300"),
    ],
)
def test_bad_questions_are_refused(specs, message):
    with pytest.raises(vote.PollError, match=message):
        vote.validate_questions(specs)


def test_open_close_reopen_and_one_open_poll_at_a_time(db):
    first = vote.open_poll(db, questions(), title="First")
    assert vote.current_poll(db).id == first.id and first.is_open
    second = vote.open_poll(db, questions(), title="Second")
    assert vote.get_poll(db, first.id).status == "closed"
    assert vote.current_poll(db).id == second.id
    vote.close_poll(db, second.id)
    assert vote.current_poll(db) is None
    vote.reopen_poll(db, first.id)
    assert vote.current_poll(db).id == first.id
    assert [p.id for p in vote.list_polls(db)] == [second.id, first.id]
    with pytest.raises(vote.PollError, match="There is no poll 99"):
        vote.close_poll(db, 99)


def test_results_reach_voters_only_when_published(db):
    poll = vote.open_poll(db, questions())
    vote.submit_ballot(db, poll.id, vote.new_voter_token(), ballot(comment="secret words"))
    with pytest.raises(vote.PollError, match="not been published"):
        vote.published_counts(db, poll.id)
    assert vote.latest_published_poll(db) is None
    vote.publish_results(db, poll.id)
    n, counts = vote.published_counts(db, poll.id)
    assert n == 1
    assert counts == {"How do you define your gender?": {"Man": 0, "Woman": 1, "Non-binary": 0},
                      "Would you watch it?": {"Yes": 1, "No": 0}}
    assert "secret words" not in json.dumps(counts)
    assert vote.latest_published_poll(db).id == poll.id
    vote.publish_results(db, poll.id, False)
    assert vote.latest_published_poll(db) is None


def test_media_is_checked_and_images_reencoded(db):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=95)
    data, mime, caption = vote.prepare_media(buf.getvalue(), "A face of nobody")
    assert mime == "image/png" and data.startswith(b"\x89PNG") and caption == "A face of nobody"
    assert vote.prepare_media(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 32)[1] == "video/mp4"
    with pytest.raises(vote.PollError, match="not a usable image"):
        vote.prepare_media(b"<html><script>alert(1)</script></html>")
    with pytest.raises(vote.PollError, match="limit is 8 MiB"):
        vote.prepare_media(b"\x89PNG" + b"\x00" * (8 * 2**20))
    poll = vote.open_poll(db, questions(), media=vote.image_media(rgb, "face"))
    stored, stored_mime, _ = vote.poll_media(db, poll.id)
    assert stored_mime == "image/png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(stored))), rgb)


# ------------------------------------------------------------------------------------------ ballots


def test_a_valid_ballot_is_stored_once_per_token(db):
    poll = vote.open_poll(db, questions())
    token = vote.new_voter_token()
    receipt = vote.submit_ballot(db, poll.id, token, ballot(comment="Nice"))
    assert receipt.poll_id == poll.id and vote.has_voted(db, poll.id, token)
    with pytest.raises(vote.AlreadyVoted, match="already answered"):
        vote.submit_ballot(db, poll.id, token, ballot(gender="Man", watch="No"))
    assert vote.response_count(db, poll.id) == 1
    assert load_responses(db, poll.id)[0].answers == {"q1": "Woman", "q2": "Yes", "q3": "Nice"}


def test_answers_may_name_questions_by_text_and_choices_ignore_case(db):
    poll = vote.open_poll(db, questions())
    vote.submit_ballot(db, poll.id, vote.new_voter_token(),
                       {"How do you define your gender?": "non-binary", "Would you watch it?": "yes"})
    assert load_responses(db, poll.id)[0].answers == {"q1": "Non-binary", "q2": "Yes"}


@pytest.mark.parametrize(
    "answers, message",
    [
        (["Woman", "Yes"], "question/answer pairs"),
        ({"q1": "Woman"}, "Please answer 'Would you watch it\\?'"),
        ({"q1": "Woman", "q2": "Maybe"}, "'Maybe' is not one of the choices"),
        ({"q1": "Woman", "q2": "Yes", "q9": "x"}, "no question 'q9'"),
        ({"q1": "Woman", "q2": "Yes", "q3": "x" * 501}, "the limit is 500"),
        ({"q1": "Woman", "q2": "Yes", "q3": "nul\x00byte"}, "control characters"),
        ({"q1": "Woman", "q2": 1}, "must be text"),
        ({"q1": "Woman", "q2": "Yes", "Would you watch it?": "No"}, "answered twice"),
    ],
)
def test_a_malformed_ballot_gets_a_clear_message_and_changes_nothing(db, answers, message):
    poll = vote.open_poll(db, questions())
    token = vote.new_voter_token()
    with pytest.raises(vote.InvalidBallot, match=message):
        vote.submit_ballot(db, poll.id, token, answers)
    assert n_rows(db) == 0 and not vote.has_voted(db, poll.id, token)
    vote.submit_ballot(db, poll.id, token, ballot())  # the same voter can then send a proper ballot
    assert vote.response_count(db, poll.id) == 1


@pytest.mark.parametrize("token", ["short", "x" * 65, "has space in it!!!!", None, 12345678901234567890])
def test_bad_tokens_are_refused(db, token):
    poll = vote.open_poll(db, questions())
    with pytest.raises(vote.InvalidBallot, match="voting link is not valid"):
        vote.submit_ballot(db, poll.id, token, ballot())
    assert n_rows(db) == 0


def test_a_closed_poll_accepts_nothing_until_reopened(db):
    poll = vote.open_poll(db, questions())
    vote.close_poll(db, poll.id)
    token = vote.new_voter_token()
    with pytest.raises(vote.PollClosed, match="closed"):
        vote.submit_ballot(db, poll.id, token, ballot())
    assert n_rows(db) == 0
    vote.reopen_poll(db, poll.id)
    vote.submit_ballot(db, poll.id, token, ballot())
    assert vote.response_count(db, poll.id) == 1
    with pytest.raises(vote.InvalidBallot, match="does not exist"):
        vote.submit_ballot(db, 12345, vote.new_voter_token(), ballot())


def test_free_text_is_stored_as_text(db):
    poll = vote.open_poll(db, questions())
    nasty = "<script>alert('x')</script> **bold** & =HYPERLINK(\"http://x\")\nsecond line 🎭"
    vote.submit_ballot(db, poll.id, vote.new_voter_token(), ballot(comment=nasty))
    assert load_responses(db, poll.id)[0].answers["q3"] == nasty
    raw = export_csv_text(vote.get_poll(db, poll.id), load_responses(db, poll.id))
    assert sv.read_survey(raw.encode()).frame["Any comment?"].iloc[0] == nasty
    safe = vote.export_csv_bytes(db, poll.id)  # the download guards spreadsheet formulas, as the survey does
    assert sv.read_survey(safe).frame["Any comment?"].iloc[0] == sv.neutralise_formula(nasty)


def test_rate_limit_per_token(db):
    poll = vote.open_poll(db, questions())
    limit = vote.RateLimit(attempts=3, window_s=0.5)
    token, other = vote.new_voter_token(), vote.new_voter_token()
    for _ in range(3):
        with pytest.raises(vote.InvalidBallot):
            vote.submit_ballot(db, poll.id, token, {"q1": "nope"}, rate_limit=limit)
    with pytest.raises(vote.RateLimited, match="Too many tries"):
        vote.submit_ballot(db, poll.id, token, ballot(), rate_limit=limit)
    vote.submit_ballot(db, poll.id, other, ballot(), rate_limit=limit)  # other voters are not affected
    time.sleep(0.6)
    vote.submit_ballot(db, poll.id, token, ballot(), rate_limit=limit)  # a new window
    assert vote.response_count(db, poll.id) == 2


def test_racing_submissions_with_one_token_store_one(db):
    poll = vote.open_poll(db, questions())
    assert sorted(race_one_token(db, poll.id, ballot())) == ["dup"] * 5 + ["ok"]
    assert vote.response_count(db, poll.id) == 1


@pytest.mark.slow
def test_eight_writer_processes_store_exactly_4000(tmp_path):
    """8 processes x 500 ballots with their own tokens, released together at a barrier, on one SQLite file."""
    from core.vote.simulate import simulate

    url = vote.normalize_url(tmp_path / "load.sqlite3")
    poll = vote.open_poll(vote.open_db(url))
    result = simulate(url, poll.id, n=500, workers=8, seed=1)
    assert result.accepted == 4000 and result.rejected == {}
    assert vote.response_count(vote.open_db(url), poll.id) == 4000
    with vote.open_db(url).read() as s:
        assert s.query(ResponseRow.token).distinct().count() == 4000
    vote_db.close_all()


# ------------------------------------------------------------------------------------------ results


def seeded_poll(db, n_yes=30, n_no=10):
    poll = vote.open_poll(db, questions())
    genders = ["Man", "Woman", "Non-binary"]
    for i in range(n_yes + n_no):
        vote.submit_ballot(db, poll.id, vote.new_voter_token(),
                           ballot(gender=genders[i % 3], watch="Yes" if i < n_yes else "No",
                                  comment="great" if i % 4 == 0 else None))
    return poll


def test_export_is_the_google_forms_layout(db):
    poll = seeded_poll(db, 3, 1)
    text = vote.export_csv_bytes(db, poll.id).decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == '"Timestamp","How do you define your gender?","Would you watch it?","Any comment?"'
    assert len(lines) == 5
    assert lines[1].endswith('"Man","Yes","great"') and lines[2].endswith('"Woman","Yes",""')
    survey = sv.read_survey(text.encode())
    assert survey.roles["Timestamp"] == sv.ROLE_TIMESTAMP
    stamp = forms_timestamp(1772441434.0)
    assert stamp.count("/") == 2 and stamp.split()[2] in ("AM", "PM") and stamp.split()[3].startswith("GMT")


def test_report_matches_the_survey_report_of_the_export(db, tmp_path):
    poll = seeded_poll(db, 30, 10)
    report = vote.poll_report(db, poll.id)
    assert report["n_responses"] == 40 and report["poll"] == poll.id
    assert report["questions"]["Would you watch it?"] == {"Yes": 30, "No": 10}
    csv_path = tmp_path / "export.csv"
    csv_path.write_bytes(vote.export_csv_bytes(db, poll.id))
    reference = sv.build_report(csv_path)["test"]
    assert set(report["test"]) == set(reference)
    assert report["test"] == reference
    assert report["test"]["observed_positive"] == 30 and report["test"]["n"] == 40
    direct = sv.proportion_test(sv.clean_survey(sv.read_survey(csv_path)), "Would you watch it?", "Yes", 0.7)
    assert report["test"]["p_value"] == direct.p_value and report["test"]["verdict"] == direct.verdict


def test_the_poll_survey_is_what_read_survey_makes_of_the_export(db):
    poll = seeded_poll(db, 12, 5)
    poll = vote.get_poll(db, poll.id)
    responses = load_responses(db, poll.id)
    direct = results.poll_survey(poll, responses)
    via_csv = sv.read_survey(export_csv_text(poll, responses).encode("utf-8"))
    pd.testing.assert_frame_equal(direct.frame, via_csv.frame)
    assert direct.roles == results.survey_roles(poll)
    clean_direct = sv.clean_survey(direct, min_count=1)
    clean_csv = sv.clean_survey(via_csv, roles=results.survey_roles(poll), min_count=1)
    pd.testing.assert_frame_equal(clean_direct.data, clean_csv.data)
    assert clean_direct.order == clean_csv.order


def test_responses_are_read_incrementally_without_missing_a_late_commit(db):
    poll = vote.open_poll(db, questions())
    vote.submit_ballot(db, poll.id, vote.new_voter_token(), ballot())
    assert len(load_responses(db, poll.id)) == 1
    with db.write() as s:  # a row with a higher id, then one with a lower id "committing late"
        s.add(ResponseRow(id=100, poll_id=poll.id, token="t" * 20, submitted_at=1.0,
                          answers_json='{"q1": "Man", "q2": "No"}'))
    assert [r.id for r in load_responses(db, poll.id)] == [1, 100]
    with db.write() as s:
        s.add(ResponseRow(id=50, poll_id=poll.id, token="u" * 20, submitted_at=2.0,
                          answers_json='{"q1": "Man", "q2": "Yes"}'))
    assert [r.id for r in load_responses(db, poll.id)] == [1, 50, 100]
    assert vote.live_results(db, poll.id).counts["Would you watch it?"] == {"Yes": 2, "No": 1}


def test_report_of_a_choice_question_and_custom_claim(db):
    poll = seeded_poll(db, 30, 10)
    r = vote.poll_report(db, poll.id, question="q1", positive=["Woman", "Non-binary"], claim=0.5, alpha=0.1)
    t = r["test"]
    assert t["question"] == "How do you define your gender?" and t["positive"] == ["Woman", "Non-binary"]
    assert (t["observed_positive"], t["n"], t["claim"], t["alpha"]) == (26, 40, 0.5, 0.1)
    with pytest.raises(vote.PollError, match="no question 'q7'"):
        vote.poll_report(db, poll.id, question="q7")


def test_live_results_before_and_after_the_first_votes(db):
    poll = vote.open_poll(db, questions())
    empty = vote.live_results(db, poll.id)
    assert empty.n == 0 and empty.test is None and "No answers yet" in empty.headline
    seeded = seeded_poll(db, 8, 2)
    live = vote.live_results(db, seeded.id)
    assert live.n == 10 and live.test.observed_positive == 8
    assert live.headline.startswith("80% answered Yes: consistent with the 70% claim (p = ")
    assert {"counts", "sunburst", "test"} <= set(live.figures)
    assert live.figures["sunburst"].data[0].type == "sunburst"
    assert live.version == vote.poll_version(db, seeded.id)


# ------------------------------------------------------------------------------------------ CLI


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "core.vote", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, env=env)


def test_cli_open_simulate_report(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    opened = run_cli("open", "--db", url, "--json")
    assert opened.returncode == 0, opened.stderr
    poll = json.loads(opened.stdout)
    assert poll["poll"] == 1 and poll["status"] == "open" and len(poll["questions"]) == 10
    sim = run_cli("simulate", "--db", url, "--poll", "1", "--n", "20", "--workers", "2", "--json")
    assert sim.returncode == 0, sim.stderr
    assert json.loads(sim.stdout)["accepted"] == 40
    rep = run_cli("report", "--db", url, "--poll", "1", "--json")
    assert rep.returncode == 0, rep.stderr
    report = json.loads(rep.stdout)
    assert report["n_responses"] == 40 and report["test"]["question"] == YES_NO_Q
    exported = run_cli("export", "--db", url, "--poll", "1")
    (tmp_path / "poll.csv").write_text(exported.stdout, encoding="utf-8")
    survey_cli = subprocess.run(
        [sys.executable, "-m", "core.survey", "report", str(tmp_path / "poll.csv"), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert survey_cli.returncode == 0, survey_cli.stderr
    assert set(json.loads(survey_cli.stdout)["test"]) == set(report["test"])
    closed = run_cli("close", "--db", url, "--poll", "1", "--json")
    assert json.loads(closed.stdout)["status"] == "closed"
    again = run_cli("simulate", "--db", url, "--poll", "1", "--n", "5", "--workers", "1")
    assert again.returncode == 2 and again.stderr.strip().count("\n") == 0 and "closed" in again.stderr


def test_cli_errors_are_one_line(tmp_path):
    bad = run_cli("report", "--db", "mysql://h/db", "--poll", "1")
    assert bad.returncode == 2 and "Unsupported database 'mysql'" in bad.stderr
    assert "Traceback" not in bad.stderr
    gone = run_cli("report", "--db", str(tmp_path / "x.sqlite3"), "--poll", "7")  # no such file: not created
    assert gone.returncode == 2 and "does not exist" in gone.stderr and not (tmp_path / "x.sqlite3").exists()
    assert run_cli("list", "--db", str(tmp_path / "x.sqlite3")).returncode == 0
    missing = run_cli("report", "--db", str(tmp_path / "x.sqlite3"), "--poll", "7")
    assert missing.returncode == 2 and "There is no poll 7" in missing.stderr


def test_simulated_answers_are_valid_and_seeded():
    from core.vote.simulate import simulated_answers

    poll = vote.Poll(1, "t", vote.default_questions(), "open", False, 0.0, 0.0, None)
    weights = {q.id: [1.0] * len(q.choices) for q in poll.questions}
    rng = random.Random(3)
    drawn = [simulated_answers(poll, rng, weights) for _ in range(50)]
    rng = random.Random(3)
    assert drawn == [simulated_answers(poll, rng, weights) for _ in range(50)]
    for answers in drawn:
        assert ballots.validate_answers(poll, answers) == answers
    yes_no_id = poll.question(YES_NO_Q).id
    assert 30 <= sum(a[yes_no_id] == "Yes" for a in drawn) <= 48
