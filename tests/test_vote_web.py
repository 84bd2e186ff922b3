"""The HTTP voter page (core.vote.web) over real HTTP on loopback: uvicorn serves the Starlette app in a
thread; the phones are core.vote.phones clients (cookies, the form's hidden fields, form posts)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
import uvicorn

from core import vote
from core.vote import db as vote_db
from core.vote import receipts, web
from core.vote.phones import Phone, parse_form, receipt_code, run_phones
from tests.browser_support import free_port
from tests.vote_support import questions

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(tmp_path, monkeypatch):
    url = vote.normalize_url(tmp_path / "votes.sqlite3")
    monkeypatch.setattr(web, "WATCH_EVERY_S", 0.2)
    db = vote.open_db(url)
    port = free_port()
    config = uvicorn.Config(
        web.create_app(url), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the voter app did not start"
        time.sleep(0.05)
    yield db, f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(timeout=10)
    vote_db.close_all()


def settle() -> None:
    time.sleep(0.6)  # the server's poll watcher (every 0.2 s here) sees a poll opened or closed


def fill(page: str, **answers) -> dict:
    form = parse_form(page)
    assert form.has_form, page[-400:]
    return {**form.hidden, **answers}


def test_waiting_page_then_the_form_a_receipt_and_the_same_receipt_on_reload_and_resend(server):
    db, url = server
    phone = Phone(url)
    status, page = phone.request("GET", "/")
    assert status == 200 and web.WAITING in page and phone.cookie
    assert vote.check_token(phone.cookie)
    poll = vote.open_poll(db, questions(), title="Would you <b>watch</b> it?")
    settle()
    status, page = phone.request("GET", "/")
    assert status == 200 and "Would you &lt;b&gt;watch&lt;/b&gt; it?" in page  # escaped, never markup
    fields = fill(page, q1="Woman", q2="Yes", q3="<script>alert(1)</script>")
    assert fields["token"] == phone.cookie and fields["poll"] == str(poll.id)
    status, page = phone.request("POST", "/vote", urlencode(fields))
    code = receipt_code(page)
    assert status == 200 and web.THANKS in page and code
    stored = vote.load_responses(db, poll.id)
    assert len(stored) == 1 and stored[0].answers == {
        "q1": "Woman",
        "q2": "Yes",
        "q3": "<script>alert(1)</script>",
    }
    assert code == receipts.receipt_code(poll.id, stored[0].id, phone.cookie)
    # A reload shows the receipt, not the form; the same form sent again (double tap, retry) too.
    status, page = phone.request("GET", "/")
    assert receipt_code(page) == code and 'id="ballot"' not in page
    status, page = phone.request("POST", "/vote", urlencode(fields))
    assert status == 200 and receipt_code(page) == code and "first answers count" not in page
    # A different form (another key) from the same phone: told its first answers count, same receipt.
    other = {**fields, "submit": receipts.new_submit_key(), "q2": "No"}
    status, page = phone.request("POST", "/vote", urlencode(other))
    assert receipt_code(page) == code and "your first answers count" in page
    assert vote.response_count(db, poll.id) == 1
    assert vote.load_responses(db, poll.id)[0].answers["q2"] == "Yes"


def test_a_refused_ballot_comes_back_filled_in_with_the_reason_and_nothing_is_stored(server):
    db, url = server
    poll = vote.open_poll(db, questions())
    settle()
    phone = Phone(url)
    _, page = phone.request("GET", "/")
    fields = fill(page, q1="Non-binary")  # the yes/no question left out
    status, page = phone.request("POST", "/vote", urlencode(fields))
    assert status == 422 and "Please answer" in page and "Would you watch it?" in page
    assert 'value="Non-binary" checked' in page  # the form stays as the voter filled it
    assert parse_form(page).hidden["submit"] == fields["submit"]
    status, page = phone.request("POST", "/vote", urlencode({**fields, "q2": "Maybe"}))
    assert status == 422 and "not one of the choices" in page
    assert vote.response_count(db, poll.id) == 0
    status, page = phone.request("POST", "/vote", urlencode({**fields, "q2": "No"}))
    assert status == 200 and receipt_code(page)


def test_a_closed_poll_says_so_and_stores_nothing(server):
    db, url = server
    poll = vote.open_poll(db, questions())
    settle()
    phone = Phone(url)
    _, page = phone.request("GET", "/")
    fields = fill(page, q1="Man", q2="Yes")
    vote.close_poll(db, poll.id)
    status, page = phone.request("POST", "/vote", urlencode(fields))
    assert status == 409 and web.CLOSED in page
    assert vote.response_count(db, poll.id) == 0


def test_hostile_requests_get_a_clear_answer(server):
    db, url = server
    vote.open_poll(db, questions())
    settle()
    phone = Phone(url)
    phone.request("GET", "/")
    assert phone.request("POST", "/vote", urlencode({"poll": "x"}))[0] == 400
    assert phone.request("POST", "/vote", urlencode({"poll": "999", "q1": "Man"}))[0] == 404
    assert phone.request("POST", "/vote", "a=" + "x" * (web.MAX_BODY_BYTES + 10))[0] == 413
    req = urllib.request.Request(url + "media/abc")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 404


def test_published_counts_show_on_the_waiting_page_never_free_text(server):
    db, url = server
    poll = vote.open_poll(db, questions())
    vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": "Man", "q2": "Yes", "q3": "SECRET text"})
    vote.publish_results(db, poll.id)
    vote.close_poll(db, poll.id)
    settle()
    _, page = Phone(url).request("GET", "/")
    assert web.WAITING in page and "Results so far: 1 answer" in page and "Yes: 1" in page
    assert "SECRET" not in page


def test_the_long_poll_answers_when_the_presenter_opens_a_poll(server):
    db, url = server
    with urllib.request.urlopen(url + "health", timeout=5) as r:
        health = json.loads(r.read())
    assert health["app"] == web.APP_NAME and health["poll"] is None
    answer: dict = {}

    def wait():
        started = time.monotonic()
        with urllib.request.urlopen(url + f"wait?state={health['state']}", timeout=30) as r:
            answer.update(json.loads(r.read()), seconds=time.monotonic() - started)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    assert not answer  # still waiting: nothing changed
    poll = vote.open_poll(db, questions())
    waiter.join(timeout=10)
    assert answer["state"].startswith(f"{poll.id}.") and answer["seconds"] < 5


def test_forty_phones_at_once_all_get_receipts_and_count_once(server):
    db, url = server
    poll = vote.open_poll(db, questions())
    settle()
    results = run_phones(url, 40, 0.0, resend_every=5, seed=3, open_before_s=0.5)
    assert [r.error for r in results if r.error] == []
    assert all(r.receipt for r in results)
    assert all(r.resend_receipt == r.receipt for r in results if r.resent)
    stored = {s.id: s for s in vote.load_responses(db, poll.id)}
    assert len(stored) == 40
    assert len({r.receipt for r in results}) == 40


def test_serve_refuses_bad_options_in_one_line(tmp_path):
    env_db = str(tmp_path / "v.sqlite3")
    for args, message in ((["--workers", "0"], "--workers"), (["--port", "70000"], "--port")):
        out = subprocess.run(
            [sys.executable, "-m", "core.vote", "serve", "--db", env_db, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
