"""Database set-up for the live vote: SQLite in WAL mode by default, PostgreSQL by URL.

``CUSTOM_CAST_DB`` (or ``--db``) picks the database: a ``sqlite:///path`` URL or a bare file path (the
default is ``runs/vote/votes.sqlite3``: zero set-up), or ``postgresql://user:pass@host/db`` for a big
room served by several voter-app processes (psycopg 3 is used whatever driver the URL names).

SQLite notes. WAL lets the dashboard read while voters write. Every write transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can hit SQLITE_BUSY without
waiting (the busy handler cannot resolve a read-to-write upgrade), while IMMEDIATE takes the write lock
up front and so waits its turn under the busy timeout. ``synchronous=NORMAL`` is the WAL-recommended
setting: an application crash loses nothing; a power cut may lose the last few votes, never corrupt.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core import RUNS_DIR
from core.cli import UserError, describe_os_error
from core.vote.models import Base

DB_ENV = "CUSTOM_CAST_DB"
DEFAULT_SQLITE_PATH = RUNS_DIR / "vote" / "votes.sqlite3"
# How long a writer waits for SQLite's write lock before giving up (8 writers x 500 votes never come near).
SQLITE_BUSY_TIMEOUT_S = 30.0
_WRITE_OPTION = "custom_cast_vote_write"
_URL_HINT = "sqlite:///FILE, a file path or postgresql://USER@HOST:PORT/DB"


class VoteDBError(UserError):
    """The database URL is unusable or the database cannot be reached; the message says why."""


class DatabaseGone(VoteDBError):
    """The SQLite file was deleted or replaced while open: writes would land in a file nobody can read."""


def _sqlite_file(url: str, shown: str | None = None) -> str | None:
    """The file of a SQLite URL; VoteDBError for an in-memory database (a poll would vanish at exit)."""
    parsed = make_url(url)
    database = parsed.database or ""
    memory = (database in ("", ":memory:") or database.startswith("file::memory:")
              or (database.startswith("file:") and "mode=memory" in database)
              or parsed.query.get("mode") == "memory")
    if memory:
        raise VoteDBError(f"{shown or describe_url(url)} is an in-memory SQLite database, which vanishes "
                          "when the process ends (and is not shared with the voter app); a poll needs a "
                          "file: use sqlite:///FILE or a file path.")
    return database.removeprefix("file:").split("?", 1)[0]


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def default_db_url() -> str:
    """``$CUSTOM_CAST_DB`` when set, else the SQLite file under runs/vote/."""
    return os.environ.get(DB_ENV, "").strip() or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalize_url(url: str | os.PathLike | None) -> str:
    """A SQLAlchemy URL for ``url``: bare paths become SQLite URLs; PostgreSQL always uses psycopg 3."""
    raw = str(url).strip() if url is not None else default_db_url()
    if not raw:
        raw = default_db_url()
    if "://" not in raw:
        return f"sqlite:///{Path(raw).expanduser().resolve()}"
    try:
        parsed = make_url(raw)
    except exc.ArgumentError:
        raise VoteDBError(f"Not a database URL: {raw!r}; use {_URL_HINT}.") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise VoteDBError(f"Unsupported database {backend!r}; use {_URL_HINT}.")
    rendered = parsed.render_as_string(hide_password=False)
    if backend == "sqlite":
        _sqlite_file(rendered, shown=raw)
    return rendered


def describe_url(url: str) -> str:
    """The URL with any password hidden, for captions and messages."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class VoteDB:
    """An open vote database: ``engine`` for reads, ``writer`` (same pool) for write transactions."""

    url: str
    engine: Engine
    writer: Engine
    # SQLite only: the file and its (device, inode) when opened. A file deleted or replaced under an open
    # connection still accepts writes, into an inode nobody will ever read again.
    sqlite_path: str | None = None
    file_identity: tuple[int, int] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def check_file(self) -> None:
        """Raise :class:`DatabaseGone` when the SQLite file is no longer the one this process opened."""
        if self.sqlite_path is None or self.file_identity is None:
            return
        now = _identity(self.sqlite_path)
        if now != self.file_identity:
            what = "deleted" if now is None else "replaced by another file"
            raise DatabaseGone(
                f"The vote database {self.sqlite_path} was {what} while in use; nothing more can be stored "
                "in it and no vote was accepted since. Restart the app (after restoring the file from a "
                "backup, or to start a new database)."
            )

    @contextmanager
    def read(self) -> Iterator[Session]:
        self.check_file()
        with Session(self.engine) as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on exit, rolled back on error, and
        refused (rolled back) when the SQLite file vanished or was replaced meanwhile."""
        self.check_file()
        with Session(self.writer, expire_on_commit=False) as session, session.begin():
            yield session
            self.check_file()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise VoteDBError(f"Cannot open the vote database {database}: {describe_os_error(e)}") from None
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Autocommit at the driver level: the "begin" hook below emits BEGIN itself.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # Switching to WAL needs a moment of exclusive access; several processes opening a fresh file
        # at once can collide, so retry briefly. Once the file is in WAL mode this is a no-op read.
        for attempt in range(50):
            try:
                mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except Exception:  # noqa: BLE001 - sqlite3.OperationalError: database is locked
                if attempt == 49:
                    raise
                time.sleep(0.05)
        cursor.close()
        if database and database != ":memory:" and str(mode).lower() != "wal":
            raise VoteDBError(f"SQLite refused WAL mode for {database} (journal mode {mode}).")

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _postgres_engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _create_schema(engine: Engine) -> None:
    """Create missing tables; two processes racing to create them on PostgreSQL is retried, not fatal."""
    for attempt in range(3):
        try:
            Base.metadata.create_all(engine)
            return
        except (exc.IntegrityError, exc.ProgrammingError):
            if attempt == 2:
                raise
            time.sleep(0.2 * (attempt + 1))


_cache: dict[tuple[int, str], VoteDB] = {}
_cache_lock = threading.Lock()


def open_db(url: str | os.PathLike | None = None, create: bool = True) -> VoteDB:
    """Open (and on first use create) the vote database at ``url``; one engine per process and URL.

    ``create=False`` is for commands about an existing poll: a missing SQLite file is then refused as
    missing (deleted or moved?) instead of being created empty, which would only say "There is no poll 1".
    """
    normalized = normalize_url(url)
    key = (os.getpid(), normalized)
    with _cache_lock:
        if key in _cache:
            _cache[key].check_file()  # the presenter hears the file is gone, not "There is no poll 1"
            return _cache[key]
        if not create and normalized.startswith("sqlite"):
            path = _sqlite_file(normalized)
            if path and not Path(path).is_file():
                raise VoteDBError(f"The vote database {path} does not exist (deleted or moved?); its polls "
                                  "cannot be found. Point --db at the file, or open a new poll.")
        make = _sqlite_engine if normalized.startswith("sqlite") else _postgres_engine
        engine = make(normalized)
        try:
            if engine.dialect.name == "sqlite":
                with engine.connect().execution_options(**{_WRITE_OPTION: True}) as conn:
                    conn.commit()  # runs the connect hook (WAL) once before anything else
            _create_schema(engine.execution_options(**{_WRITE_OPTION: True}))
        except exc.OperationalError as e:
            engine.dispose()
            reason = str(e.orig).strip().splitlines()[0] if e.orig else type(e).__name__
            raise VoteDBError(f"Cannot open the vote database {describe_url(normalized)}: {reason}") from None
        # Absolute: a relative sqlite:///votes.db must not look deleted after a change of directory.
        path = os.path.abspath(_sqlite_file(normalized)) if engine.dialect.name == "sqlite" else None
        db = VoteDB(url=normalized, engine=engine, writer=engine.execution_options(**{_WRITE_OPTION: True}),
                    sqlite_path=path, file_identity=_identity(path) if path else None)
        _cache[key] = db
        return db


def close_all() -> None:
    """Dispose every engine this process opened (tests and simulate workers call this on exit)."""
    with _cache_lock:
        for db in _cache.values():
            db.dispose()
        _cache.clear()
