"""Results of a poll: stored responses, counts, the CSV export in the Google Forms layout, and the report.

Every statistic is computed by the survey module (``core.survey``): a poll's responses become the same
``Survey`` (a frame of stripped strings plus column roles) that ``survey.read_survey`` makes of the poll's
Google Forms export, then ``survey.clean_survey`` and ``survey.proportion_test`` run unchanged. So
the live dashboard, ``python -m core.vote report`` and ``python -m core.survey report`` on the export
agree to the last digit (tests/test_vote.py checks it). Column roles come from the poll's question kinds
rather than being guessed from a few early answers, and nothing is folded into "Other" (every answer is
one of the poll's choices).
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import func, select

from core.vote.db import VoteDB
from core.vote.models import ResponseRow
from core.vote.polls import KIND_CHOICE, KIND_TEXT, KIND_YES_NO, Poll, PollError, check_poll_id, get_poll

TIMESTAMP_COLUMN = "Timestamp"


@dataclass(frozen=True)
class PollVersion:
    """Cheap fingerprint of a poll's responses: unchanged fingerprint, unchanged results."""

    poll_id: int
    n_responses: int
    last_response_id: int


@dataclass(frozen=True)
class StoredResponse:
    id: int
    submitted_at: float  # UTC epoch seconds
    answers: dict[str, str]  # {question id: answer}, validated when stored


def poll_version(db: VoteDB, poll_id: int) -> PollVersion:
    poll_id = check_poll_id(poll_id)
    with db.read() as s:
        n, last = s.execute(
            select(func.count(ResponseRow.id), func.coalesce(func.max(ResponseRow.id), 0)).where(
                ResponseRow.poll_id == int(poll_id)
            )
        ).one()
    return PollVersion(int(poll_id), int(n), int(last))


def response_count(db: VoteDB, poll_id: int) -> int:
    return poll_version(db, poll_id).n_responses


# Responses never change once stored, so each process keeps what it has read and, every refresh, fetches
# only rows with a higher id. The count taken after that fetch guards the one case where this could miss
# a row (on PostgreSQL a lower id can commit after a higher one): then everything is read again.
_responses: dict[tuple[str, int], tuple[StoredResponse, ...]] = {}
_responses_lock = threading.Lock()


def _read_rows(s, poll_id: int, after_id: int) -> list[StoredResponse]:
    rows = s.execute(
        select(ResponseRow.id, ResponseRow.submitted_at, ResponseRow.answers_json)
        .where(ResponseRow.poll_id == poll_id, ResponseRow.id > after_id)
        .order_by(ResponseRow.id)
    ).all()
    return [StoredResponse(i, at, json.loads(answers)) for i, at, answers in rows]


def load_responses(db: VoteDB, poll_id: int) -> tuple[StoredResponse, ...]:
    """Every response of the poll, oldest first (incremental: only new rows are read and parsed)."""
    key = (db.url, check_poll_id(poll_id))
    with _responses_lock:
        cached = _responses.get(key, ())
    with db.read() as s:
        new = _read_rows(s, key[1], cached[-1].id if cached else 0)
        n = s.execute(select(func.count(ResponseRow.id)).where(ResponseRow.poll_id == key[1])).scalar_one()
        rows = cached + tuple(new)
        if len(rows) != n:
            rows = tuple(_read_rows(s, key[1], 0))
    with _responses_lock:
        _responses[key] = rows
    return rows


def forms_timestamp(epoch: float) -> str:
    """Google Forms' export format in local time, e.g. '2026/03/02 9:50:34 AM GMT+1' (whole seconds)."""
    return _forms_timestamp(int(epoch))


@lru_cache(maxsize=8192)  # a room's votes fall in far fewer distinct seconds than there are votes
def _forms_timestamp(epoch: int) -> str:
    t = time.localtime(epoch)
    offset_min = (t.tm_gmtoff or 0) // 60
    sign = "+" if offset_min >= 0 else "-"
    hours, minutes = divmod(abs(offset_min), 60)
    zone = "GMT" if offset_min == 0 else f"GMT{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
    hour12 = t.tm_hour % 12 or 12
    return (f"{t.tm_year}/{t.tm_mon:02d}/{t.tm_mday:02d} {hour12}:{t.tm_min:02d}:{t.tm_sec:02d} "
            f"{'AM' if t.tm_hour < 12 else 'PM'} {zone}")


def response_columns(poll: Poll, responses: Sequence[StoredResponse],
                     only: Sequence[str] | None = None) -> dict[str, list[str]]:
    """The Google Forms layout, column by column: Timestamp, then one column per question (named by the
    question text); a blank for an unanswered optional question. No voter tokens. ``only`` keeps just
    the named question columns (and no Timestamp), in poll order."""
    columns = {}
    if only is None:
        columns[TIMESTAMP_COLUMN] = [forms_timestamp(r.submitted_at) for r in responses]
    for q in poll.questions:
        if only is None or q.text in only:
            columns[q.text] = [r.answers.get(q.id, "") for r in responses]
    return columns


def export_csv_text(poll: Poll, responses: Sequence[StoredResponse], spreadsheet_safe: bool = False) -> str:
    """The export as Google Forms writes it (every field quoted).

    ``spreadsheet_safe`` passes every cell (question texts, choices, typed answers) through the one
    formula guard, :func:`core.spreadsheet.csv_bytes`: choices can come from respondents too
    (``--questions-from``), so a ``=HYPERLINK(...)`` stays text when the presenter opens the file.
    """
    columns = response_columns(poll, responses)
    if spreadsheet_safe:
        from core.spreadsheet import csv_bytes

        return csv_bytes(list(columns), zip(*columns.values()), quote_all=True).decode("utf-8")
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(list(columns))
    writer.writerows(zip(*columns.values()))
    return buf.getvalue()


def export_csv_bytes(db: VoteDB, poll_id: int, spreadsheet_safe: bool = True) -> bytes:
    """UTF-8 CSV for download: the dashboard's Upload source and ``python -m core.survey report`` read it
    as it is; every cell is spreadsheet-safe unless ``spreadsheet_safe=False``."""
    poll = get_poll(db, poll_id)
    return export_csv_text(poll, load_responses(db, poll_id), spreadsheet_safe).encode("utf-8")


def choice_counts(poll: Poll, responses: Sequence[StoredResponse]) -> dict[str, dict[str, int]]:
    """{question text: {choice: count}} for every choice and yes/no question, zero counts included."""
    seen: dict[str, Counter] = {q.id: Counter() for q in poll.questions if q.kind != KIND_TEXT}
    for r in responses:
        for qid, answer in r.answers.items():
            if qid in seen:
                seen[qid][answer] += 1
    return {q.text: {c: seen[q.id].get(c, 0) for c in q.choices} for q in poll.questions if q.id in seen}


def survey_roles(poll: Poll) -> dict[str, str]:
    """The survey roles of the export's columns, from the poll's question kinds."""
    from core import survey as sv

    kinds = {KIND_CHOICE: sv.ROLE_CATEGORICAL, KIND_YES_NO: sv.ROLE_YES_NO, KIND_TEXT: sv.ROLE_FREE_TEXT}
    return {TIMESTAMP_COLUMN: sv.ROLE_TIMESTAMP, **{q.text: kinds[q.kind] for q in poll.questions}}


def poll_survey(poll: Poll, responses: Sequence[StoredResponse], only: Sequence[str] | None = None):
    """The poll as a ``survey.Survey``: what ``read_survey`` makes of the export, without the CSV round
    trip (answers are already validated, stripped text), and with roles from the question kinds.

    ``only`` limits it to some question columns: the survey module cleans and tests each column on its
    own, so the live view builds just the columns it shows (same numbers, a fraction of the work).
    """
    import pandas as pd

    from core import survey as sv

    frame = pd.DataFrame(response_columns(poll, responses, only), dtype="str")
    roles = {c: r for c, r in survey_roles(poll).items() if c in frame.columns}
    return sv.Survey(frame=frame, roles=roles, encoding="utf-8", delimiter=",")


def clean_poll(poll: Poll, responses: Sequence[StoredResponse], only: Sequence[str] | None = None):
    """The survey module's ``CleanSurvey`` of the poll (no folding into "Other"), or None before any vote."""
    from core import survey as sv

    if not responses:
        return None
    return sv.clean_survey(poll_survey(poll, responses, only), min_count=1)


def default_test_question(poll: Poll) -> str:
    """The first yes/no question (the study's claim), else the first choice question."""
    for kind in (KIND_YES_NO, KIND_CHOICE):
        for q in poll.questions:
            if q.kind == kind:
                return q.text
    raise PollError(f"Poll {poll.id} has no multiple-choice or yes/no question to test.")


def claim_test(poll: Poll, clean, question: str | None = None, positive: Sequence[str] | None = None,
               claim: float | None = None, alpha: float | None = None):
    """``survey.proportion_test`` on the poll (claim and alpha default to the survey's defaults)."""
    from core import survey as sv

    q = poll.question(question).text if question else default_test_question(poll)
    return sv.proportion_test(
        clean,
        q,
        positive=list(positive) if positive else None,
        claim=sv.DEFAULT_CLAIM if claim is None else claim,
        alpha=sv.DEFAULT_ALPHA if alpha is None else alpha,
    )


def poll_report(
    db: VoteDB,
    poll_id: int,
    question: str | None = None,
    positive: Sequence[str] | None = None,
    claim: float | None = None,
    alpha: float | None = None,
) -> dict:
    """JSON-ready report: n_responses, counts and ``test`` with the keys of ``python -m core.survey report``
    (``test`` is None, with ``test_error`` saying why, before the first vote). A claim or alpha out of
    range is refused even before the first vote."""
    from core import survey as sv

    if claim is not None:
        claim = sv.check_claim(claim)
    if alpha is not None:
        alpha = sv.check_alpha(alpha)
    poll = get_poll(db, poll_id)
    if question:
        poll.question(question)  # an unknown question is an error even before the first vote
    responses = load_responses(db, poll_id)
    clean = clean_poll(poll, responses)
    test = claim_test(poll, clean, question, positive, claim, alpha) if clean is not None else None
    return {
        **poll.to_dict(),
        "n_responses": len(responses),
        "questions": choice_counts(poll, responses),
        "test": test.to_dict() if test is not None else None,
        "test_error": None if test is not None else "No answers yet.",
    }


def published_counts(db: VoteDB, poll_id: int) -> tuple[int, dict[str, dict[str, int]]]:
    """(n, counts) for voters, only once the presenter published them; never any free-text answer."""
    poll = get_poll(db, poll_id)
    if not poll.results_published:
        raise PollError("The results of this poll have not been published.")
    responses = load_responses(db, poll_id)
    return len(responses), choice_counts(poll, responses)
