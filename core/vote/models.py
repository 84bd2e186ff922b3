"""The live vote's tables (SQLAlchemy declarative): polls, responses and the per-token rate-limit window.

Times are UTC epoch seconds (floats) so SQLite and PostgreSQL store and compare them identically.
Questions and answers are JSON text: a poll's questions never change once it is open, and a response is
written once and read back whole for counts and the CSV export, so neither needs its own table.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

STATUS_OPEN = "open"
STATUS_CLOSED = "closed"

TITLE_MAX_CHARS = 200
TOKEN_MAX_CHARS = 64
MIME_MAX_CHARS = 40


class Base(DeclarativeBase):
    pass


class PollRow(Base):
    """One poll: its questions, whether it accepts answers, and what voters may see."""

    __tablename__ = "vote_polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_CHARS))
    # JSON list of Question dicts (see polls.Question); fixed for the poll's life.
    questions_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=STATUS_OPEN, index=True)
    # The presenter can publish the counts to voters; free-text answers are never shown to voters.
    results_published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    # The latest (re)opening; the voter app shows the open poll opened last.
    opened_at: Mapped[float] = mapped_column(Float)
    closed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Optional image (PNG) or clip (MP4/WebM/GIF) shown to voters above the questions.
    media: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    media_mime: Mapped[str | None] = mapped_column(String(MIME_MAX_CHARS), nullable=True)
    media_caption: Mapped[str | None] = mapped_column(String(TITLE_MAX_CHARS), nullable=True)


class ResponseRow(Base):
    """One voter's answers to one poll; the unique (poll, token) pair makes a second ballot impossible."""

    __tablename__ = "vote_responses"
    __table_args__ = (UniqueConstraint("poll_id", "token", name="uq_vote_responses_poll_token"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("vote_polls.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(TOKEN_MAX_CHARS))
    submitted_at: Mapped[float] = mapped_column(Float)
    # JSON object {question id: answer text}; validated against the poll's questions before insert.
    answers_json: Mapped[str] = mapped_column(Text)


class AttemptWindowRow(Base):
    """Fixed-window rate limit per (poll, token): how many submissions arrived since ``window_start``."""

    __tablename__ = "vote_attempt_windows"

    poll_id: Mapped[int] = mapped_column(ForeignKey("vote_polls.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(TOKEN_MAX_CHARS), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer)
