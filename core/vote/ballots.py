"""Ballots: validating and storing one voter's answers.

Guarantees, on SQLite and PostgreSQL alike:
- one response per (poll, voter token): the unique constraint decides, so two racing submissions with the
  same token store one response and the other gets :class:`AlreadyVoted`;
- answers must name the poll's questions and, for choice questions, one of the poll's choices; free text
  is length-limited and stored as plain text (nothing renders it as HTML);
- a closed poll accepts nothing (:class:`PollClosed`);
- a per-token fixed-window rate limit (:class:`RateLimited`) counts every submission that reaches the
  database, malformed ones included, so a script hammering one token is slowed down;
- a rejected ballot changes no response: the only write it may leave is its rate-limit tick.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, case, select
from sqlalchemy.dialects import postgresql, sqlite

from core.answer_text import normalize_answer
from core.cli import UserError
from core.vote.db import DatabaseGone, VoteDB
from core.vote.models import STATUS_OPEN, AttemptWindowRow, PollRow, ResponseRow
from core.vote.polls import (
    CHOICE_MAX_CHARS,
    KIND_TEXT,
    QUESTION_MAX_CHARS,
    Poll,
    PollError,
    Question,
    check_poll_id,
    clean_text,
    parse_questions,
)

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# A person answers once, perhaps after fixing a missing answer or two; 10 tries a minute is generous for
# a human and useless for a script.
RATE_LIMIT_ATTEMPTS = 10
RATE_LIMIT_WINDOW_S = 60.0
MAX_BALLOT_KEYS = 64


class BallotRejected(UserError):
    """A ballot that was not stored; the message is meant for the voter."""


class InvalidBallot(BallotRejected):
    pass


class PollClosed(BallotRejected):
    pass


class AlreadyVoted(BallotRejected):
    pass


class RateLimited(BallotRejected):
    pass


class NotRecorded(BallotRejected):
    """The database cannot store the ballot (its file vanished or was replaced); nothing was acknowledged."""


def _check_stored_file(db: VoteDB) -> None:
    """NotRecorded when the SQLite file is no longer the one opened: a vote written now would land in a
    deleted inode, and its voter would hold a receipt for a vote stored nowhere."""
    try:
        db.check_file()
    except DatabaseGone:
        raise NotRecorded("Your answers could not be saved: the vote database is unavailable. "
                          "Please tell the presenter.") from None


@dataclass(frozen=True)
class RateLimit:
    attempts: int = RATE_LIMIT_ATTEMPTS  # submissions allowed per token and window
    window_s: float = RATE_LIMIT_WINDOW_S  # window length in seconds


@dataclass(frozen=True)
class Receipt:
    poll_id: int
    response_id: int
    submitted_at: float


def new_voter_token() -> str:
    """A random, URL-safe voter token (144 bits)."""
    return secrets.token_urlsafe(18)


def check_token(token: object) -> str:
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise InvalidBallot("This voting link is not valid; reload the page to get a fresh one.")
    return token


def validate_answers(poll: Poll, answers: object) -> dict[str, str]:
    """The ballot as {question id: answer} after checking it against the poll; raises InvalidBallot.

    Keys may be question ids ("q1") or question texts. A blank optional answer is dropped.
    """
    if not isinstance(answers, Mapping):
        raise InvalidBallot("The answers must be a set of question/answer pairs.")
    if len(answers) > MAX_BALLOT_KEYS:
        raise InvalidBallot("Too many answers for this poll.")
    by_key: dict[str, Question] = {}
    for q in poll.questions:
        by_key[q.id] = q
        by_key[q.text] = q
        by_key[normalize_answer(q.text)] = q
    out: dict[str, str] = {}
    for key, value in answers.items():
        q = by_key.get(key) if isinstance(key, str) else None
        if q is None and isinstance(key, str) and len(key) <= 4 * QUESTION_MAX_CHARS:
            q = by_key.get(normalize_answer(key))
        if q is None:
            raise InvalidBallot(f"This poll has no question {str(key)[:80]!r}.")
        if q.id in out:
            raise InvalidBallot(f"The question {q.text!r} is answered twice.")
        if value is None:
            continue
        try:
            limit = q.max_chars if q.kind == KIND_TEXT else CHOICE_MAX_CHARS
            text = clean_text(value, limit, f"The answer to {q.text!r}")
        except PollError as e:
            raise InvalidBallot(str(e)) from None
        if q.kind != KIND_TEXT:
            # One normalisation for ballots and survey answers: "Yes" + U+200B, "Ｙｅｓ" or "Yes" with a
            # no-break space is the choice "Yes" (and a lone zero-width space is no answer).
            text = normalize_answer(text)
        if not text:
            continue
        if q.kind == KIND_TEXT:
            out[q.id] = text
            continue
        match = next((c for c in q.choices if normalize_answer(c) == text), None) or next(
            (c for c in q.choices if normalize_answer(c).lower() == text.lower()), None
        )
        if match is None:
            raise InvalidBallot(f"{text[:80]!r} is not one of the choices for {q.text!r}.")
        out[q.id] = match
    missing = [q.text for q in poll.questions if q.required and q.id not in out]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InvalidBallot(f"Please answer {missing[0]!r}{more}.")
    return out


class _Statements:
    """The ballot path's SQL, built once per dialect: a vote is then five round trips and no ORM work."""

    def __init__(self, dialect: str):
        insert = (postgresql if dialect == "postgresql" else sqlite).insert
        polls, responses, windows = PollRow.__table__, ResponseRow.__table__, AttemptWindowRow.__table__
        self.poll_status = select(polls.c.status).where(polls.c.id == bindparam("poll_id"))
        self.poll_questions = select(polls.c.questions_json).where(polls.c.id == bindparam("poll_id"))
        expired = windows.c.window_start <= bindparam("cutoff")
        self.count_attempt = (
            insert(windows)
            .values(poll_id=bindparam("poll_id"), token=bindparam("token"), window_start=bindparam("now"),
                    attempts=1)
            .on_conflict_do_update(
                index_elements=[windows.c.poll_id, windows.c.token],
                set_={
                    "attempts": case((expired, 1), else_=windows.c.attempts + 1),
                    "window_start": case((expired, bindparam("now")), else_=windows.c.window_start),
                },
            )
            .returning(windows.c.attempts)
        )
        # ON CONFLICT DO NOTHING: a second ballot with the same token inserts nothing and returns no id,
        # without an error that would roll back the rate-limit tick (and race-free on PostgreSQL).
        self.store_response = (
            insert(responses)
            .values(poll_id=bindparam("poll_id"), token=bindparam("token"), submitted_at=bindparam("now"),
                    answers_json=bindparam("answers_json"))
            .on_conflict_do_nothing(index_elements=[responses.c.poll_id, responses.c.token])
            .returning(responses.c.id)
        )


_statements: dict[str, _Statements] = {}
# Questions never change once a poll exists, so each process parses them once per poll.
_questions_cache: dict[tuple[str, int], tuple[Question, ...]] = {}


def _poll_questions(db: VoteDB, conn, sql: _Statements, poll_id: int) -> tuple[Question, ...]:
    key = (db.url, poll_id)
    questions = _questions_cache.get(key)
    if questions is None:
        text = conn.execute(sql.poll_questions, {"poll_id": poll_id}).scalar_one()
        questions = _questions_cache[key] = parse_questions(text)
    return questions


def submit_ballot(
    db: VoteDB,
    poll_id: int,
    token: str,
    answers: object,
    rate_limit: RateLimit = RateLimit(),
) -> Receipt:
    """Store one voter's answers to an open poll, or raise a BallotRejected subclass and store nothing."""
    token = check_token(token)
    try:
        poll_id = check_poll_id(poll_id)
    except PollError:
        raise InvalidBallot("This poll does not exist.") from None
    dialect = db.engine.dialect.name
    sql = _statements.get(dialect) or _statements.setdefault(dialect, _Statements(dialect))
    now = time.time()
    params = {"poll_id": poll_id, "token": token, "now": now}
    rejection: BallotRejected | None = None
    response_id = None
    _check_stored_file(db)
    with db.writer.begin() as conn:
        status = conn.execute(sql.poll_status, params).scalar()
        if status is None:
            raise InvalidBallot("This poll does not exist.")
        if status != STATUS_OPEN:
            raise PollClosed("This poll is closed; your answers were not recorded.")
        cutoff = now - rate_limit.window_s
        attempts = conn.execute(sql.count_attempt, {**params, "cutoff": cutoff}).scalar_one()
        if attempts > rate_limit.attempts:
            rejection = RateLimited("Too many tries in a short time; wait a minute and send again.")
        else:
            questions = _poll_questions(db, conn, sql, poll_id)
            poll = Poll(poll_id, "", questions, status, False, now, now, None)
            try:
                clean = validate_answers(poll, answers)
            except InvalidBallot as e:
                rejection = e
            else:
                row = {**params, "answers_json": json.dumps(clean, ensure_ascii=False)}
                response_id = conn.execute(sql.store_response, row).scalar()
                if response_id is None:
                    rejection = AlreadyVoted("You have already answered this poll; thank you!")
        _check_stored_file(db)  # raising here rolls back: a file deleted meanwhile would swallow the vote
        # Leaving the block commits: the response, or for a rejected ballot only its rate-limit tick.
    _check_stored_file(db)  # and after the commit: a receipt only for a vote in the file everyone reads
    if rejection is not None:
        raise rejection
    return Receipt(poll_id=poll_id, response_id=int(response_id), submitted_at=now)


def has_voted(db: VoteDB, poll_id: int, token: str) -> bool:
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return False
    with db.read() as s:
        return (
            s.execute(
                select(ResponseRow.id).where(ResponseRow.poll_id == int(poll_id), ResponseRow.token == token)
            ).first()
            is not None
        )
