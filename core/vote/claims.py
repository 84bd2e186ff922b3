"""A poll that protects its result: the claim is registered before the poll opens, the result stays hidden
until the presenter reveals it, and the verdict waits for the planned number of answers.

Early results sway a room, and a test chosen after seeing the answers proves nothing. So a poll opened
with :func:`open_poll_with_claim` stores, in the same transaction that opens it, the test it will run:
the question, the answers counted as yes, the claimed share, α and the planned number of answers
("registered at 10:42"). :func:`verdict_gate` says when a verdict may be shown: never under
``MIN_ANSWERS`` answers ("3 of 10 answers needed"), and for a registered poll only at the planned number
of answers or once the poll is closed ("23 of 60 planned answers"). A change of the test after opening
is allowed, but recorded with the time and the number of answers seen, and shown beside the verdict.

The verdict itself is worded by ``core.survey`` (``plain_verdict`` / ``headline_sentence``), as on every
other page; this module only decides whether it may be shown yet.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

from sqlalchemy import Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from core import checks
from core.vote.db import VoteDB
from core.vote.models import Base
from core.vote.polls import KIND_TEXT, Poll, PollError, Question, get_poll, open_poll
from core.vote.results import response_count

MIN_ANSWERS = 10  # the survey module's floor for any verdict (core.survey.MIN_ANSWERS)
PLANNED_RANGE = (MIN_ANSWERS, 100_000)

GATE_HIDDEN = "hidden"  # not revealed yet: the stage shows only the number of answers
GATE_TOO_FEW = "too few"  # under MIN_ANSWERS
GATE_WAITING = "waiting"  # registered, fewer than planned and still open
GATE_READY = "ready"


class ClaimRow(Base):
    """The test a poll registered before it opened (as changed since, see ClaimChangeRow)."""

    __tablename__ = "vote_claims"

    poll_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(String(300))
    positive_json: Mapped[str] = mapped_column(Text)
    claim: Mapped[float] = mapped_column(Float)
    alpha: Mapped[float] = mapped_column(Float)
    planned_n: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[float] = mapped_column(Float)
    revealed_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class ClaimChangeRow(Base):
    """One change of a registered test after the poll opened: when, after how many answers, from and to."""

    __tablename__ = "vote_claim_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    poll_id: Mapped[int] = mapped_column(Integer, index=True)
    changed_at: Mapped[float] = mapped_column(Float)
    answers_seen: Mapped[int] = mapped_column(Integer)
    before_json: Mapped[str] = mapped_column(Text)
    after_json: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Claim:
    """The test to run: share of ``positive`` answers to ``question`` against ``claim`` at level ``alpha``."""

    question: str
    positive: tuple[str, ...]
    claim: float
    alpha: float
    planned_n: int

    def to_dict(self) -> dict:
        return {**asdict(self), "positive": list(self.positive)}

    @classmethod
    def from_dict(cls, d: Mapping) -> Claim:
        return cls(
            str(d["question"]),
            tuple(d["positive"]),
            float(d["claim"]),
            float(d["alpha"]),
            int(d["planned_n"]),
        )


@dataclass(frozen=True)
class ClaimChange:
    changed_at: float
    answers_seen: int
    before: Claim
    after: Claim

    def describe(self) -> str:
        """``Test changed at 10:51, after 23 answers: claimed share 70 % → 60 %``."""
        return (
            f"Test changed at {clock(self.changed_at)}, after {self.answers_seen} answer"
            f"{'' if self.answers_seen == 1 else 's'}: {difference(self.before, self.after)}"
        )


@dataclass(frozen=True)
class RegisteredClaim:
    poll_id: int
    claim: Claim  # the test in force now
    registered_at: float
    revealed_at: float | None
    changes: tuple[ClaimChange, ...] = ()

    @property
    def original(self) -> Claim:
        return self.changes[0].before if self.changes else self.claim

    @property
    def revealed(self) -> bool:
        return self.revealed_at is not None

    def registered_text(self) -> str:
        return f"registered at {clock(self.registered_at)}"


def clock(epoch: float) -> str:
    return time.strftime("%H:%M", time.localtime(epoch))


def _percent(share: float) -> str:
    from core.survey import format_percent

    return format_percent(share)


def difference(before: Claim, after: Claim) -> str:
    parts = []
    if before.question != after.question:
        parts.append(f"question “{before.question}” → “{after.question}”")
    if before.positive != after.positive:
        parts.append(f"counted as yes {' or '.join(before.positive)} → {' or '.join(after.positive)}")
    if before.claim != after.claim:
        parts.append(f"claimed share {_percent(before.claim)} → {_percent(after.claim)}")
    if before.alpha != after.alpha:
        parts.append(f"α {before.alpha:g} → {after.alpha:g}")
    if before.planned_n != after.planned_n:
        parts.append(f"planned answers {before.planned_n} → {after.planned_n}")
    return "; ".join(parts) or "no difference"


def check_claim(questions: Sequence[Question], claim: Claim) -> Claim:
    """The claim with the question and answers spelled as in the poll; PollError saying what is wrong."""
    from core import survey as sv

    wanted = str(claim.question).strip()
    q = next((q for q in questions if wanted in (q.id, q.text)), None) or next(
        (q for q in questions if q.text.lower() == wanted.lower()), None
    )
    if q is None:
        raise PollError(f"The poll has no question {claim.question!r} to test.")
    if q.kind == KIND_TEXT:
        raise PollError(f"{q.text!r} is a free-text question; test a yes/no or multiple-choice question.")
    by_lower = {c.lower(): c for c in q.choices}
    positive = tuple(dict.fromkeys(by_lower.get(str(p).strip().lower(), "") for p in claim.positive))
    if not positive or "" in positive:
        raise PollError(f"Pick the answers counted as yes among: {', '.join(q.choices)}.")
    if len(positive) == len(q.choices):
        raise PollError("Counting every answer as yes leaves nothing to test; leave at least one out.")
    try:
        share, alpha = sv.check_claim(claim.claim), sv.check_alpha(claim.alpha)
    except sv.SurveyError as e:
        raise PollError(str(e)) from None
    planned = checks.whole_number(claim.planned_n, plain=True)  # stored as JSON: a plain int
    if planned is None or not PLANNED_RANGE[0] <= planned <= PLANNED_RANGE[1]:
        raise PollError(
            f"The planned number of answers must be a whole number from {PLANNED_RANGE[0]} to "
            f"{PLANNED_RANGE[1]:,}."
        )
    return Claim(q.text, positive, share, alpha, planned)


_ready: set[str] = set()
_ready_lock = threading.Lock()


def ensure_tables(db: VoteDB) -> None:
    if db.url in _ready:
        return
    with _ready_lock:
        if db.url not in _ready:
            for table in (ClaimRow.__table__, ClaimChangeRow.__table__):
                table.create(db.writer, checkfirst=True)
            _ready.add(db.url)


def open_poll_with_claim(
    db: VoteDB, questions, claim: Claim, title: str | None = None, media: tuple[bytes, str, str] | None = None
) -> tuple[Poll, RegisteredClaim]:
    """Register ``claim`` and open the poll, in one transaction (neither happens without the other)."""
    from core.vote.polls import DEFAULT_TITLE, validate_questions

    ensure_tables(db)
    qs = validate_questions(questions)
    checked = check_claim(qs, claim)
    registered_at = time.time()

    def register(session, poll: Poll) -> None:
        session.add(
            ClaimRow(
                poll_id=poll.id,
                question=checked.question,
                positive_json=json.dumps(list(checked.positive), ensure_ascii=False),
                claim=checked.claim,
                alpha=checked.alpha,
                planned_n=checked.planned_n,
                registered_at=registered_at,
                revealed_at=None,
            )
        )

    poll = open_poll(db, qs, title=title or DEFAULT_TITLE, media=media, before_open=register)
    return poll, RegisteredClaim(poll.id, checked, registered_at, None)


def registered_claim(db: VoteDB, poll_id: int) -> RegisteredClaim | None:
    """The claim the poll registered (with its changes), or None for a poll opened without one."""
    ensure_tables(db)
    with db.read() as s:
        row = s.get(ClaimRow, int(poll_id))
        if row is None:
            return None
        changes = s.scalars(
            select(ClaimChangeRow).where(ClaimChangeRow.poll_id == int(poll_id)).order_by(ClaimChangeRow.id)
        ).all()
        claim = Claim(row.question, tuple(json.loads(row.positive_json)), row.claim, row.alpha, row.planned_n)
        return RegisteredClaim(
            row.poll_id,
            claim,
            row.registered_at,
            row.revealed_at,
            tuple(
                ClaimChange(
                    c.changed_at,
                    c.answers_seen,
                    Claim.from_dict(json.loads(c.before_json)),
                    Claim.from_dict(json.loads(c.after_json)),
                )
                for c in changes
            ),
        )


def change_claim(db: VoteDB, poll_id: int, new: Claim) -> RegisteredClaim:
    """Change the registered test of an open or closed poll; the change is recorded, never silent."""
    ensure_tables(db)
    poll = get_poll(db, poll_id)
    checked = check_claim(poll.questions, new)
    seen = response_count(db, poll_id)
    with db.write() as s:
        row = s.get(ClaimRow, int(poll_id))
        if row is None:
            raise PollError(f"Poll {poll_id} registered no claim to change.")
        before = Claim(
            row.question, tuple(json.loads(row.positive_json)), row.claim, row.alpha, row.planned_n
        )
        if before != checked:
            s.add(
                ClaimChangeRow(
                    poll_id=int(poll_id),
                    changed_at=time.time(),
                    answers_seen=seen,
                    before_json=json.dumps(before.to_dict(), ensure_ascii=False),
                    after_json=json.dumps(checked.to_dict(), ensure_ascii=False),
                )
            )
            row.question, row.claim, row.alpha, row.planned_n = (
                checked.question,
                checked.claim,
                checked.alpha,
                checked.planned_n,
            )
            row.positive_json = json.dumps(list(checked.positive), ensure_ascii=False)
    found = registered_claim(db, poll_id)
    assert found is not None
    return found


def reveal_results(db: VoteDB, poll_id: int, revealed: bool = True) -> RegisteredClaim:
    """Show the result on stage (or hide it again); hiding keeps the first reveal's time."""
    ensure_tables(db)
    with db.write() as s:
        row = s.get(ClaimRow, int(poll_id))
        if row is None:
            raise PollError(f"Poll {poll_id} registered no claim; its results are never hidden.")
        if revealed and row.revealed_at is None:
            row.revealed_at = time.time()
        elif not revealed:
            row.revealed_at = None
    found = registered_claim(db, poll_id)
    assert found is not None
    return found


def verdict_gate(n: int, registered: RegisteredClaim | None, poll_open: bool) -> str:
    """Whether the stage may show the verdict now: GATE_READY, or why not (HIDDEN / TOO_FEW / WAITING)."""
    if registered is not None and not registered.revealed:
        return GATE_HIDDEN
    if n < MIN_ANSWERS:
        return GATE_TOO_FEW
    if registered is not None and poll_open and n < registered.claim.planned_n:
        return GATE_WAITING
    return GATE_READY


def meter_text(n: int, registered: RegisteredClaim | None) -> str:
    """``23 of 60 planned answers`` (a registered poll), ``3 of 10 answers needed`` (too few for any)."""
    if registered is not None and n < registered.claim.planned_n:
        return f"{n} of {registered.claim.planned_n} planned answers"
    if n < MIN_ANSWERS:
        return f"{n} of {MIN_ANSWERS} answers needed"
    return f"{n} answer{'' if n == 1 else 's'}"


def waiting_text(gate: str, n: int, registered: RegisteredClaim | None) -> str:
    """What the stage says instead of a verdict."""
    if gate == GATE_HIDDEN:
        return "The result is hidden until the presenter reveals it."
    if gate == GATE_TOO_FEW:
        return f"{n} of {MIN_ANSWERS} answers needed before any verdict."
    if gate == GATE_WAITING and registered is not None:
        return (
            f"The verdict appears at {registered.claim.planned_n} answers, or when the poll closes "
            f"({meter_text(n, registered)})."
        )
    return ""


def claim_summary(claim: Claim) -> str:
    """``“Would you watch it?”: Yes counted as yes · claimed share 70 % · α 0.05 · 60 answers planned``."""
    return (
        f"“{claim.question}”: {' or '.join(claim.positive)} counted as yes · claimed share "
        f"{_percent(claim.claim)} · α {claim.alpha:g} · {claim.planned_n} answers planned"
    )


def with_planned(claim: Claim, planned_n: int) -> Claim:
    return replace(claim, planned_n=int(planned_n))
