"""Live audience vote: the room answers on their phones and the hypothesis dashboard updates on screen.

- ``models``: the SQLAlchemy tables; ``db``: SQLite (WAL) by default, PostgreSQL by URL (``CUSTOM_CAST_DB``);
- ``polls``: questions (the bundled survey's by default), open / close / reopen / publish, media;
- ``ballots``: one validated response per voter token, rate limit, closed polls refuse;
- ``results``: stored responses, counts, the Google Forms CSV export, the report (survey module's test);
- ``live``: one refresh of the presenter's live view (counts, test, sunburst figures);
- ``simulate``: many voter processes at once, for rehearsals and load tests;
- ``serve``: the voter app's command line, starting it from the dashboard, the join URL and QR code;
- ``web``: the voter page as a small HTML form on Starlette/uvicorn (what ``serve`` runs), with
  ``receipts`` (an idempotency key per form: every voter sees a receipt, none counted twice) and
  ``phones`` (simulated phones speaking HTTP, for the load benchmark and tests).

The voter app is ``core.vote.web`` (``python -m core.vote serve [--workers N]``; the older Streamlit page
``vote_app.py`` with ``--streamlit``); the presenter's side is the dashboard's "Live poll" source.
Command line::

    python -m core.vote open --db URL [--questions-from CSV] [--title T] --json
    python -m core.vote simulate --db URL --poll ID --n 500 [--workers 8]
    python -m core.vote report --db URL --poll ID [--question Q --positive P --claim C] --json
    python -m core.vote close|reopen|publish|unpublish|export|list ...
    python -m core.vote serve [--port 8502] [--db URL] [--workers N] [--streamlit]
"""

from core.vote.ballots import (
    AlreadyVoted,
    BallotRejected,
    InvalidBallot,
    PollClosed,
    RateLimit,
    RateLimited,
    Receipt,
    check_token,
    has_voted,
    new_voter_token,
    submit_ballot,
    validate_answers,
)
from core.vote.db import DB_ENV, VoteDB, VoteDBError, default_db_url, describe_url, normalize_url, open_db
from core.vote.live import LiveResults, default_sunburst_path, live_results
from core.vote.polls import (
    DEFAULT_TITLE,
    KIND_CHOICE,
    KIND_TEXT,
    KIND_YES_NO,
    KINDS,
    Poll,
    PollError,
    Question,
    close_poll,
    current_poll,
    default_questions,
    get_poll,
    image_media,
    latest_published_poll,
    list_polls,
    open_poll,
    poll_media,
    prepare_media,
    publish_results,
    questions_from_csv,
    questions_from_json,
    reopen_poll,
    validate_questions,
)
from core.vote.results import (
    PollVersion,
    StoredResponse,
    choice_counts,
    default_test_question,
    export_csv_bytes,
    load_responses,
    poll_report,
    poll_version,
    published_counts,
    response_count,
)
from core.vote.serve import (
    DEFAULT_VOTER_PORT,
    default_join_url,
    qr_png,
    qr_svg,
    start_voter_app,
    voter_app_running,
)

__all__ = [
    "AlreadyVoted", "BallotRejected", "InvalidBallot", "PollClosed", "RateLimit", "RateLimited", "Receipt",
    "check_token", "has_voted", "new_voter_token", "submit_ballot", "validate_answers",
    "DB_ENV", "VoteDB", "VoteDBError", "default_db_url", "describe_url", "normalize_url", "open_db",
    "KIND_CHOICE", "KIND_TEXT", "KIND_YES_NO", "KINDS", "Poll", "PollError", "Question", "close_poll",
    "current_poll", "default_questions", "get_poll", "image_media", "latest_published_poll", "list_polls",
    "open_poll", "poll_media", "prepare_media", "publish_results", "questions_from_csv",
    "questions_from_json", "reopen_poll", "validate_questions",
    "DEFAULT_TITLE", "default_sunburst_path", "default_test_question",
    "LiveResults", "PollVersion", "StoredResponse", "choice_counts", "export_csv_bytes", "live_results",
    "load_responses", "poll_report",
    "DEFAULT_VOTER_PORT", "default_join_url", "qr_png", "qr_svg", "start_voter_app", "voter_app_running",
    "poll_version", "published_counts", "response_count",
]
