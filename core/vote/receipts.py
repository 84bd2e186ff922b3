"""Receipts: what a voter is shown after pressing "Send", always, however often the phone sends.

The voter page puts a fresh idempotency key (``submit``) in every form it serves. A submission stores the
ballot through :func:`core.vote.ballots.submit_ballot` (one response per poll and voter token: the unique
constraint decides), then records ``(poll, token) -> (key, response)`` here. A repeated submission, e.g.
a double tap or a phone resending after a dropped connection, finds the ballot already stored and is
answered with the same receipt; nothing is counted twice. The receipt row is written after the ballot's
own transaction: should the process die between the two, the response itself (looked up by token) still
gives the voter a receipt, only without knowing whether it came from the same form.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Float, Integer, String, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from core.vote.ballots import AlreadyVoted, submit_ballot
from core.vote.db import VoteDB
from core.vote.models import TOKEN_MAX_CHARS, Base, ResponseRow

SUBMIT_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class ReceiptRow(Base):
    """The idempotency key of the form that stored a voter's ballot, and that ballot's response id."""

    __tablename__ = "vote_receipts"

    poll_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(TOKEN_MAX_CHARS), primary_key=True)
    submit_key: Mapped[str] = mapped_column(String(TOKEN_MAX_CHARS))
    response_id: Mapped[int] = mapped_column(Integer)
    stored_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class VoterReceipt:
    """What the voter sees: the poll, a short code they can read out, the time, and whether this very
    submission stored the ballot (``repeated`` means an earlier one had, so nothing new was counted)."""

    poll_id: int
    response_id: int
    submitted_at: float
    code: str
    repeated: bool = False
    same_form: bool = True  # False: the phone had answered from another form (its first answers count)


def new_submit_key() -> str:
    return secrets.token_urlsafe(12)


def receipt_code(poll_id: int, response_id: int, token: str) -> str:
    """A short code (``K7Q-2M4``) derived from the stored ballot, the same on every device and process."""
    digest = hashlib.sha256(f"{poll_id}:{response_id}:{token}".encode()).digest()
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
    chars = "".join(alphabet[b % len(alphabet)] for b in digest[:6])
    return f"{chars[:3]}-{chars[3:]}"


_tables_ready: set[str] = set()
_tables_lock = threading.Lock()


def ensure_table(db: VoteDB) -> None:
    """Create the receipts table once per database (open_db may have run before this module was imported)."""
    if db.url in _tables_ready:
        return
    with _tables_lock:
        if db.url not in _tables_ready:
            ReceiptRow.__table__.create(db.writer, checkfirst=True)
            _tables_ready.add(db.url)


def _insert(dialect: str):
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    return insert(ReceiptRow.__table__).on_conflict_do_nothing(
        index_elements=[ReceiptRow.poll_id, ReceiptRow.token]
    )


def stored_receipt(
    db: VoteDB, poll_id: int, token: str, submit_key: str | None = None
) -> VoterReceipt | None:
    """The receipt of the ballot this token stored in the poll, or None if it has not voted."""
    ensure_table(db)
    with db.engine.connect() as conn:
        row = conn.execute(
            select(ResponseRow.id, ResponseRow.submitted_at, ReceiptRow.submit_key)
            .outerjoin(
                ReceiptRow,
                (ReceiptRow.poll_id == ResponseRow.poll_id) & (ReceiptRow.token == ResponseRow.token),
            )
            .where(ResponseRow.poll_id == int(poll_id), ResponseRow.token == token)
        ).first()
    if row is None:
        return None
    response_id, submitted_at, key = row
    same = submit_key is None or key is None or key == submit_key
    return VoterReceipt(
        int(poll_id),
        int(response_id),
        float(submitted_at),
        receipt_code(int(poll_id), int(response_id), token),
        repeated=True,
        same_form=same,
    )


def submit_with_receipt(
    db: VoteDB, poll_id: int, token: str, submit_key: str, answers: object
) -> VoterReceipt:
    """Store the ballot (or find it stored) and return its receipt; raises BallotRejected subclasses other
    than AlreadyVoted exactly like :func:`submit_ballot`."""
    ensure_table(db)
    if not isinstance(submit_key, str) or not SUBMIT_KEY_RE.match(submit_key):
        submit_key = new_submit_key()  # an old or hand-made form: still one ballot per token
    found = stored_receipt(db, poll_id, token, submit_key)
    if found is not None:  # a resend: answered without touching the ballot path (or its rate limit)
        return found
    try:
        receipt = submit_ballot(db, poll_id, token, answers)
    except AlreadyVoted:
        found = stored_receipt(db, poll_id, token, submit_key)
        if found is None:  # cannot happen: AlreadyVoted means the row exists
            raise
        return found
    with db.writer.begin() as conn:
        conn.execute(
            _insert(db.engine.dialect.name),
            {
                "poll_id": receipt.poll_id,
                "token": token,
                "submit_key": submit_key,
                "response_id": receipt.response_id,
                "stored_at": time.time(),
            },
        )
    return VoterReceipt(
        receipt.poll_id,
        receipt.response_id,
        receipt.submitted_at,
        receipt_code(receipt.poll_id, receipt.response_id, token),
    )
