"""Polls: their questions (by default the original study's, as in the bundled survey), opening, closing,
reopening and publishing results to voters.

At most one poll is open at a time: opening or reopening a poll closes the others, so the voter app
always knows which one to show.
"""

from __future__ import annotations

import io
import json
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import select, update

from core import ASSETS_DIR
from core.answer_text import normalize_answer
from core.cli import UserError
from core.vote.db import VoteDB
from core.vote.models import (
    MIME_MAX_CHARS,
    STATUS_CLOSED,
    STATUS_OPEN,
    TITLE_MAX_CHARS,
    PollRow,
)

KIND_CHOICE = "choice"
KIND_YES_NO = "yes/no"
KIND_TEXT = "text"
KINDS = (KIND_CHOICE, KIND_YES_NO, KIND_TEXT)

DEMO_SURVEY_PATH = ASSETS_DIR / "demo_survey.csv"
DEFAULT_TITLE = "Would you watch it?"
MAX_QUESTIONS = 30
MAX_CHOICES = 20
QUESTION_MAX_CHARS = 300
CHOICE_MAX_CHARS = 120
# Long enough for a considered comment, short enough that nobody pastes an essay into the room's poll.
TEXT_ANSWER_MAX_CHARS = 500
MEDIA_MAX_BYTES = 8 * 1024 * 1024
# A questions file: 30 questions of 20 choices fit in well under 256 KiB; a poll's spec is a list of flat
# objects (depth 3 with the choices list), so anything nested deeper than 8 is not a poll.
QUESTIONS_JSON_MAX_BYTES = 256 * 1024
QUESTIONS_JSON_MAX_DEPTH = 8
# SQLite and PostgreSQL store poll ids as signed 64-bit integers.
MAX_POLL_ID = 2**63 - 1
# C0/C1 control characters other than tab and newline (NUL, terminal escape sequences).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
VIDEO_MIMES = ("video/mp4", "video/webm")
IMAGE_MIMES = ("image/png", "image/gif")


class PollError(UserError):
    """A poll that does not exist, or questions/media that cannot be used; the message says why."""


@dataclass(frozen=True)
class Question:
    """One question as voters see it and as it appears as a CSV column."""

    id: str  # stable key of the answer in a ballot ("q1", "q2", ...)
    text: str  # the CSV column header; unique within a poll
    kind: str  # one of KINDS
    choices: tuple[str, ...] = ()  # the allowed answers of a choice question; ("Yes", "No") for yes/no
    required: bool = True  # free-text questions are optional
    max_chars: int = TEXT_ANSWER_MAX_CHARS  # free-text limit

    def to_dict(self) -> dict:
        out = asdict(self)
        out["choices"] = list(self.choices)
        return out


@dataclass(frozen=True)
class Poll:
    """A poll as read from the database (without its media bytes)."""

    id: int
    title: str
    questions: tuple[Question, ...]
    status: str
    results_published: bool
    created_at: float
    opened_at: float
    closed_at: float | None
    media_mime: str | None = None
    media_caption: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status == STATUS_OPEN

    def question(self, key: str) -> Question:
        for q in self.questions:
            if key in (q.id, q.text):
                return q
        raise PollError(f"Poll {self.id} has no question {key!r}.")

    def to_dict(self) -> dict:
        return {
            "poll": self.id,
            "title": self.title,
            "status": self.status,
            "results_published": self.results_published,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "media": self.media_mime,
            "questions": [q.to_dict() for q in self.questions],
        }


def check_poll_id(value: object, what: str = "The poll number") -> int:
    """``value`` as a poll id (a whole number from 1 to 2**63 - 1), else a one-line PollError."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PollError(f"{what} must be a whole number.")
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.lstrip("+-").isdigit() or len(text) > 40:
            raise PollError(f"{what} must be a whole number (got {value[:40]!r}).")
        value = int(text)
    if not 1 <= value <= MAX_POLL_ID:
        shown = str(value) if len(str(value)) <= 30 else f"a {len(str(value))}-digit number"
        raise PollError(f"{what} must be between 1 and {MAX_POLL_ID} (got {shown}).")
    return value


# ------------------------------------------------------------------------------------------- questions


def clean_text(value: object, limit: int, what: str) -> str:
    """NFC-normalised, stripped single-paragraph text; control characters are refused, not silently kept."""
    if not isinstance(value, str):
        raise PollError(f"{what} must be text.")
    text = unicodedata.normalize("NFC", value).strip()
    if _CONTROL_RE.search(text):
        raise PollError(f"{what} contains control characters.")
    if len(text) > limit:
        raise PollError(f"{what} is {len(text)} characters long; the limit is {limit}.")
    return text


def validate_questions(specs: Iterable[Mapping | Question]) -> tuple[Question, ...]:
    """Check and normalise question specs ({text, kind, choices?, required?}); ids are (re)numbered q1.. ."""
    out: list[Question] = []
    seen: set[str] = set()
    for i, spec in enumerate(specs, start=1):
        spec = spec.to_dict() if isinstance(spec, Question) else dict(spec)
        where = f"Question {i}"
        text = clean_text(spec.get("text", ""), QUESTION_MAX_CHARS, f"{where}'s text")
        if not text:
            raise PollError(f"{where} has no text.")
        if "\n" in text:
            raise PollError(f"{where}'s text must be one line.")
        text = normalize_answer(text)  # the export's column header, which the survey reader normalises too
        if not text:
            raise PollError(f"{where} has no text.")
        if text.lower() in seen or text.lower() == "timestamp":
            raise PollError(f"{where} repeats the question {text!r}; each question must be different.")
        seen.add(text.lower())
        kind = str(spec.get("kind", KIND_CHOICE)).strip().lower()
        if kind not in KINDS:
            raise PollError(f"{where} has kind {kind!r}; choose one of {', '.join(KINDS)}.")
        raw_choices = spec.get("choices") or ()
        if not isinstance(raw_choices, (list, tuple, str)):
            raise PollError(f"{where}'s choices must be a list of texts.")
        if isinstance(raw_choices, str):
            raw_choices = [c for c in re.split(r"[\n|]", raw_choices)]
        choices = [clean_text(c, CHOICE_MAX_CHARS, f"{where}'s choice") for c in raw_choices]
        if any("\n" in c for c in choices):
            raise PollError(f"{where}'s choices must be one line each.")
        # Choices are compared and counted as the survey module counts answers (one normalisation), so
        # a choice with a stray zero-width space or no-break space is the same choice.
        choices = [normalize_answer(c) for c in choices]
        choices = [c for c in choices if c]
        if kind == KIND_YES_NO:
            choices = choices or ["Yes", "No"]
        if kind == KIND_TEXT:
            choices = []
        elif len(choices) < 2:
            raise PollError(f"{where} ({text!r}) needs at least two choices.")
        if len(choices) > MAX_CHOICES:
            raise PollError(f"{where} has {len(choices)} choices; the limit is {MAX_CHOICES}.")
        if len({c.lower() for c in choices}) != len(choices):
            raise PollError(f"{where} lists the same choice twice.")
        required = spec.get("required", kind != KIND_TEXT)
        if not isinstance(required, bool):
            raise PollError(f"{where}'s 'required' must be true or false.")
        out.append(Question(id=f"q{i}", text=text, kind=kind, choices=tuple(choices), required=required))
    if not out:
        raise PollError("A poll needs at least one question.")
    if len(out) > MAX_QUESTIONS:
        raise PollError(f"A poll may have at most {MAX_QUESTIONS} questions (got {len(out)}).")
    return tuple(out)


def questions_from_csv(source: bytes | str | Path) -> tuple[Question, ...]:
    """The questions of a survey export: multiple-choice and yes/no columns with their answers as choices
    (one-off "Other:" answers folded into "Other", as the dashboard does), free-text columns as text."""
    from core import survey as sv

    clean = sv.clean_survey(sv.read_survey(source))
    kinds = {sv.ROLE_CATEGORICAL: KIND_CHOICE, sv.ROLE_YES_NO: KIND_YES_NO, sv.ROLE_FREE_TEXT: KIND_TEXT}
    specs = []
    for column in clean.data.columns:
        if clean.roles[column] == sv.ROLE_MULTI:  # a poll question takes one answer: never drop options
            raise PollError(
                f"The column {column[:80]!r} is a checkbox question (several options per answer), which a "
                "poll question cannot ask; set the questions with --questions-json instead."
            )
        kind = kinds.get(clean.roles[column])
        if kind is None:
            continue  # timestamps and ignored columns
        choices = clean.order.get(column, []) if kind != KIND_TEXT else []
        if len(choices) > MAX_CHOICES:  # refuse rather than silently drop the answers past the limit
            raise PollError(
                f"The column {column[:80]!r} has {len(choices)} different answers; a poll question may have "
                f"at most {MAX_CHOICES} choices. Merge answers in the file or set the questions with "
                "--questions-json."
            )
        specs.append({"text": column, "kind": kind, "choices": choices})
    if not specs:
        raise PollError("The CSV has no question columns (multiple choice, yes/no or free text).")
    return validate_questions(specs)


def default_questions() -> tuple[Question, ...]:
    """The original study's questions, as in the bundled demo survey."""
    if not DEMO_SURVEY_PATH.is_file():
        raise PollError(f"The bundled survey {DEMO_SURVEY_PATH} is missing; pass questions explicitly.")
    return questions_from_csv(DEMO_SURVEY_PATH)


def questions_from_json(text: str | bytes) -> tuple[Question, ...]:
    """Questions from a JSON list of {text, kind, choices, required}; size and nesting are bounded."""
    from core.safe_json import JSONRefused, load_json_bounded

    try:
        specs = load_json_bounded(text, QUESTIONS_JSON_MAX_BYTES, QUESTIONS_JSON_MAX_DEPTH,
                                  "The questions JSON")
    except JSONRefused as e:
        raise PollError(f"{e}.") from None
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
        raise PollError("The questions must be a JSON list of objects with text, kind and choices.")
    if len(specs) > MAX_QUESTIONS:
        raise PollError(f"A poll may have at most {MAX_QUESTIONS} questions (got {len(specs)}).")
    return validate_questions(specs)


def _questions_json(questions: Sequence[Question]) -> str:
    return json.dumps([q.to_dict() for q in questions], ensure_ascii=False)


def parse_questions(text: str) -> tuple[Question, ...]:
    """Questions as stored in the database (already validated when the poll was opened)."""
    return tuple(
        Question(
            id=d["id"],
            text=d["text"],
            kind=d["kind"],
            choices=tuple(d.get("choices", ())),
            required=bool(d.get("required", True)),
            max_chars=int(d.get("max_chars", TEXT_ANSWER_MAX_CHARS)),
        )
        for d in json.loads(text)
    )


# ------------------------------------------------------------------------------------------- media


def prepare_media(data: bytes, caption: str = "") -> tuple[bytes, str, str]:
    """Check an image or clip to show voters; returns (bytes, mime, caption).

    Still images are decoded by the one image reader and re-encoded as PNG (dropping metadata and
    anything that is not pixels); GIFs are kept as they are so animations play; MP4 and WebM clips are
    recognised by their signatures.
    """
    if not data:
        raise PollError("The media file is empty.")
    if len(data) > MEDIA_MAX_BYTES:
        raise PollError(
            f"The media file is {len(data) / 2**20:.1f} MiB; the limit is {MEDIA_MAX_BYTES / 2**20:.0f} MiB."
        )
    caption = clean_text(caption, TITLE_MAX_CHARS, "The caption").replace("\n", " ")
    from core.image.decode import ImageRejected, image_brand, load_image

    if data[4:8] == b"ftyp" and image_brand(data) is None:  # a HEIC/AVIF photo is an ftyp file too
        return data, "video/mp4", caption
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return data, "video/webm", caption

    try:
        rgb, _ = load_image(data)
    except ImageRejected as e:
        raise PollError(f"The media file is not a usable image or MP4/WebM clip: {e}") from None
    if data.startswith(b"GIF8"):
        return data, "image/gif", caption
    return _png(rgb), "image/png", caption


def _png(rgb) -> bytes:
    # PIL directly: core.image.convert's png_bytes lives beside torch code, and the vote never imports torch.
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def image_media(rgb, caption: str = "") -> tuple[bytes, str, str]:
    """A uint8 HxWx3 frame (e.g. the face handed to the animator) as PNG media."""
    return prepare_media(_png(rgb), caption)


# ------------------------------------------------------------------------------------------- lifecycle


def _to_poll(row: PollRow) -> Poll:
    return Poll(
        id=row.id,
        title=row.title,
        questions=parse_questions(row.questions_json),
        status=row.status,
        results_published=bool(row.results_published),
        created_at=row.created_at,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        media_mime=row.media_mime,
        media_caption=row.media_caption,
    )


def open_poll(
    db: VoteDB,
    questions: Sequence[Question | Mapping] | None = None,
    title: str = DEFAULT_TITLE,
    media: tuple[bytes, str, str] | None = None,
    before_open=None,
) -> Poll:
    """Create a poll and open it (closing any other open poll). ``media`` comes from prepare_media.

    ``before_open(session, poll)`` runs in the same transaction once the poll has its id, so whatever it
    writes (core.vote.claims: the registered claim) commits with the poll or not at all."""
    qs = validate_questions(questions) if questions is not None else default_questions()
    title = clean_text(title, TITLE_MAX_CHARS, "The title").replace("\n", " ") or DEFAULT_TITLE
    if media is not None:
        blob, mime, caption = media
        if mime not in VIDEO_MIMES + IMAGE_MIMES or len(mime) > MIME_MAX_CHARS or len(blob) > MEDIA_MAX_BYTES:
            raise PollError("Media must come from prepare_media (PNG/GIF image or MP4/WebM clip).")
    now = time.time()
    with db.write() as s:
        s.execute(
            update(PollRow).where(PollRow.status == STATUS_OPEN).values(status=STATUS_CLOSED, closed_at=now)
        )
        row = PollRow(
            title=title,
            questions_json=_questions_json(qs),
            status=STATUS_OPEN,
            results_published=False,
            created_at=now,
            opened_at=now,
            closed_at=None,
            media=media[0] if media else None,
            media_mime=media[1] if media else None,
            media_caption=media[2] if media else None,
        )
        s.add(row)
        s.flush()
        poll = _to_poll(row)
        if before_open is not None:
            before_open(s, poll)
        return poll


def _require_row(s, poll_id: int) -> PollRow:
    row = s.get(PollRow, check_poll_id(poll_id))
    if row is None:
        raise PollError(f"There is no poll {poll_id}.")
    return row


def close_poll(db: VoteDB, poll_id: int) -> Poll:
    """Stop accepting answers; a ballot that arrives afterwards is refused."""
    with db.write() as s:
        row = _require_row(s, poll_id)
        if row.status != STATUS_CLOSED:
            row.status, row.closed_at = STATUS_CLOSED, time.time()
        s.flush()
        return _to_poll(row)


def reopen_poll(db: VoteDB, poll_id: int) -> Poll:
    """Accept answers again (voters who already answered still count once); closes any other open poll."""
    now = time.time()
    with db.write() as s:
        row = _require_row(s, poll_id)
        s.execute(
            update(PollRow)
            .where(PollRow.status == STATUS_OPEN, PollRow.id != row.id)
            .values(status=STATUS_CLOSED, closed_at=now)
        )
        if row.status != STATUS_OPEN:
            row.status, row.opened_at, row.closed_at = STATUS_OPEN, now, None
        s.flush()
        return _to_poll(row)


def publish_results(db: VoteDB, poll_id: int, published: bool = True) -> Poll:
    """Let voters see the counts (never the free-text answers), or hide them again."""
    with db.write() as s:
        row = _require_row(s, poll_id)
        row.results_published = bool(published)
        s.flush()
        return _to_poll(row)


def get_poll(db: VoteDB, poll_id: int) -> Poll:
    with db.read() as s:
        return _to_poll(_require_row(s, poll_id))


def current_poll(db: VoteDB) -> Poll | None:
    """The open poll voters should see (the one opened last), or None."""
    with db.read() as s:
        row = s.scalars(
            select(PollRow).where(PollRow.status == STATUS_OPEN).order_by(PollRow.opened_at.desc()).limit(1)
        ).first()
        return _to_poll(row) if row else None


def latest_published_poll(db: VoteDB) -> Poll | None:
    """The most recently opened poll whose results the presenter published, or None."""
    with db.read() as s:
        row = s.scalars(
            select(PollRow).where(PollRow.results_published.is_(True)).order_by(PollRow.opened_at.desc()).limit(1)
        ).first()
        return _to_poll(row) if row else None


def list_polls(db: VoteDB, limit: int = 50) -> list[Poll]:
    """Newest first."""
    with db.read() as s:
        rows = s.scalars(select(PollRow).order_by(PollRow.id.desc()).limit(limit)).all()
        return [_to_poll(r) for r in rows]


def poll_media(db: VoteDB, poll_id: int) -> tuple[bytes, str, str] | None:
    """(bytes, mime, caption) of the poll's image or clip, or None."""
    with db.read() as s:
        row = _require_row(s, poll_id)
        if row.media is None or row.media_mime is None:
            return None
        return bytes(row.media), row.media_mime, row.media_caption or ""
