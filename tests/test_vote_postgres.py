"""The live vote on a REAL PostgreSQL server (no mocks).

A module fixture runs Debian's ``initdb`` into a temporary folder and starts ``postgres`` on a free
loopback port (as the ``postgres`` system user when the tests run as root, since PostgreSQL refuses to
run as root), then stops it afterwards. Without PostgreSQL binaries (``apt-get install postgresql``,
which tests/run.sh does) or a way to start the server, the tests skip and say why (in CI, where
tests/run.sh installs it, they fail instead).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from core import survey as sv
from core import vote
from core.vote import db as vote_db
from tests.browser_support import free_port
from tests.conftest import skip_or_fail
from tests.vote_support import questions, race_one_token

pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -r requirements.txt)")

START_TIMEOUT_S = 60


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="module")
def pg_url():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        skip_or_fail("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            skip_or_fail("running as root and there is no 'postgres' user to run the server as")
        runuser = shutil.which("runuser")
        if not runuser:
            skip_or_fail("running as root and runuser is missing, so the server cannot drop root")
        as_user = [runuser, "-u", "postgres", "--"]
    # Not under pytest's tmp_path: that lives in a root-only folder the postgres user cannot enter.
    base = Path(tempfile.mkdtemp(prefix="custom-cast-pg-"))
    data, sockets, log = base / "data", base / "sock", base / "server.log"
    sockets.mkdir()
    if owner is not None:
        for p in (base, sockets):
            os.chown(p, owner.pw_uid, owner.pw_gid)
    port = free_port()

    def run(cmd, timeout=START_TIMEOUT_S):
        return subprocess.run(as_user + cmd, capture_output=True, text=True, timeout=timeout)

    init = run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8",
                "--locale=C"])
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        skip_or_fail(f"initdb failed: {(init.stderr or init.stdout).strip().splitlines()[-1:]}")
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {sockets} -c fsync=off -c max_connections=100"
    start = run([pg_ctl, "start", "-w", "-t", str(START_TIMEOUT_S), "-D", str(data), "-l", str(log),
                 "-o", options])
    if start.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        shutil.rmtree(base, ignore_errors=True)
        skip_or_fail(f"PostgreSQL did not start on port {port}: {start.stderr.strip()} {tail}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        vote_db.close_all()
        run([pg_ctl, "stop", "-w", "-m", "fast", "-D", str(data)])
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def db(pg_url):
    database = vote.open_db(pg_url)
    assert database.engine.dialect.name == "postgresql"
    assert database.engine.dialect.driver == "psycopg"
    return database


def test_ballots_on_postgres_once_per_token_and_closed_polls_refuse(db):
    poll = vote.open_poll(db, questions())
    token = vote.new_voter_token()
    vote.submit_ballot(db, poll.id, token, {"q1": "Man", "q2": "No", "q3": "<b>not bold</b>"})
    with pytest.raises(vote.AlreadyVoted):
        vote.submit_ballot(db, poll.id, token, {"q1": "Woman", "q2": "Yes"})
    with pytest.raises(vote.InvalidBallot, match="not one of the choices"):
        vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": "Cat", "q2": "Yes"})
    vote.close_poll(db, poll.id)
    with pytest.raises(vote.PollClosed):
        vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": "Man", "q2": "Yes"})
    assert vote.response_count(db, poll.id) == 1
    vote.publish_results(db, poll.id)
    n, counts = vote.published_counts(db, poll.id)
    assert n == 1 and counts["Would you watch it?"] == {"Yes": 0, "No": 1}


def test_rate_limit_on_postgres(db):
    poll = vote.open_poll(db, questions())
    token = vote.new_voter_token()
    limit = vote.RateLimit(attempts=2, window_s=60)
    for _ in range(2):
        with pytest.raises(vote.InvalidBallot):
            vote.submit_ballot(db, poll.id, token, {}, rate_limit=limit)
    with pytest.raises(vote.RateLimited):
        vote.submit_ballot(db, poll.id, token, {"q1": "Man", "q2": "Yes"}, rate_limit=limit)
    assert vote.response_count(db, poll.id) == 0


def test_racing_threads_with_one_token_store_one_on_postgres(db):
    poll = vote.open_poll(db, questions())
    outcomes = race_one_token(db, poll.id, {"q1": "Woman", "q2": "Yes"})
    assert sorted(outcomes) == ["dup"] * 5 + ["ok"]
    assert vote.response_count(db, poll.id) == 1


@pytest.mark.slow
def test_concurrent_writer_processes_on_postgres(db, pg_url):
    from core.vote.simulate import simulate

    poll = vote.open_poll(db)
    result = simulate(pg_url, poll.id, n=150, workers=4, seed=2)
    assert result.accepted == 600 and result.rejected == {}
    assert vote.response_count(db, poll.id) == 600
    report = vote.poll_report(db, poll.id)
    assert report["n_responses"] == 600
    reference = sv.build_report(vote.export_csv_bytes(db, poll.id))["test"]
    assert report["test"] == reference
    live = vote.live_results(db, poll.id)  # timed in bench/bench_vote.py, not here
    assert live.n == 600 and live.test is not None


def _health(url: str) -> dict:
    import json
    import urllib.request

    with urllib.request.urlopen(url + "health", timeout=5) as r:
        return json.loads(r.read())


def test_two_voter_processes_behind_one_url_on_postgres(db, pg_url):
    """``serve --workers 2``: two processes share one port (one URL); phones' ballots all land once."""
    import sys
    import time
    from concurrent.futures import ThreadPoolExecutor

    from core.vote.phones import run_phones

    poll = vote.open_poll(db, questions())
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen([sys.executable, "-m", "core.vote", "serve", "--db", pg_url, "--port",
                               str(port), "--address", "127.0.0.1", "--workers", "2"], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = _health(url)
                if health["poll"] == poll.id:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "the voter processes did not start"
            time.sleep(0.2)
        pids: set[int] = set()
        with ThreadPoolExecutor(8) as pool:  # fresh connections, spread over both processes
            while len(pids) < 2 and time.monotonic() < deadline:  # the second may still be starting
                pids |= {h["pid"] for h in pool.map(lambda _: _health(url), range(40))}
        assert len(pids) == 2 and server.pid not in pids
        results = run_phones(url, 60, 0.0, resend_every=6, seed=5, open_before_s=1.0)
        assert [r.error for r in results if r.error] == []
        assert all(r.receipt and (not r.resent or r.resend_receipt == r.receipt) for r in results)
        stored = vote.load_responses(db, poll.id)
        assert len(stored) == 60 and len({r.receipt for r in results}) == 60
    finally:
        server.terminate()
        server.wait(timeout=30)
