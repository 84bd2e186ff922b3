"""Simulated phones that speak HTTP to the voter page the way a phone's browser does.

Each phone opens the join URL (GET: the form, a voter cookie, the form's hidden fields), picks its answers,
posts the form with its cookie (POST ``vote``) and reads the page that comes back, which must be a
receipt. Unlike ``core.vote.simulate`` (which calls ``submit_ballot`` directly), this goes through the
server: parsing, the thread pool, the event loop, the socket. ``bench/bench_voter_http.py`` runs
hundreds of them; the tests run a few.
"""

from __future__ import annotations

import http.client
import random
import re
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

RECEIPT_RE = re.compile(r'class="receipt">([A-Z2-9]{3}-[A-Z2-9]{3})<')
COOKIE_RE = re.compile(r"voter=([A-Za-z0-9_-]+)")


class FormParser(HTMLParser):
    """The ballot form of a voter page: hidden fields, radio groups (name -> values) and text areas."""

    def __init__(self):
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.required: set[str] = set()
        self.textareas: list[str] = []
        self.has_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "ballot":
            self.has_form = True
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a.get("name", "")] = a.get("value", "")
        elif tag == "input" and a.get("type") == "radio":
            self.radios.setdefault(a["name"], []).append(a.get("value", ""))
            if "required" in a:
                self.required.add(a["name"])
        elif tag == "textarea":
            self.textareas.append(a.get("name", ""))


def parse_form(page: str) -> FormParser:
    parser = FormParser()
    parser.feed(page)
    return parser


def receipt_code(page: str) -> str | None:
    m = RECEIPT_RE.search(page)
    return m.group(1) if m else None


@dataclass
class PhoneResult:
    index: int
    token: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    receipt: str | None = None
    status: int = 0
    get_s: float = 0.0  # the form: request sent -> page read
    receipt_s: float = 0.0  # "Send" pressed -> receipt page read (the voter's wait)
    resent: bool = False
    resend_receipt: str | None = None
    error: str | None = None


class Phone:
    """One phone: its own connection and cookie."""

    def __init__(self, url: str, timeout: float = 60.0):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.path = parts.path or "/"
        self.timeout = timeout
        self.cookie = ""
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"User-Agent": "Mozilla/5.0 (iPhone; custom-cast-loadgen)", "Accept": "text/html"}
        if self.cookie:
            headers["Cookie"] = f"voter={self.cookie}"
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):  # a kept-alive connection the server closed: reconnect once, as browsers do
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8")
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                if attempt == 1:
                    raise
        m = COOKIE_RE.search(response.getheader("Set-Cookie") or "")
        if m:
            self.cookie = m.group(1)
        return response.status, text

    def close(self) -> None:
        self.conn.close()


def choose_answers(form: FormParser, rng: random.Random, yes_share: float = 0.8) -> dict[str, str]:
    answers = {}
    for name, values in form.radios.items():
        if len(values) == 2 and values[0].lower() == "yes":
            answers[name] = values[0] if rng.random() < yes_share else values[1]
        else:
            answers[name] = rng.choice(values)
    for name in form.textareas:
        if rng.random() < 0.3:
            answers[name] = "Looks fun, as long as the story is good."
    return answers


def run_phone(
    url: str, index: int, send_at: float, open_before_s: float = 3.0, resend: bool = False, seed: int = 0
) -> PhoneResult:
    """Open the page ``open_before_s`` before ``send_at`` (a time.monotonic() value), send then, read the
    receipt; with ``resend`` send the very same form again (a double tap / a retry) on a new connection."""
    result = PhoneResult(index)
    rng = random.Random(seed * 100_003 + index)
    phone = Phone(url)
    try:
        time.sleep(max(0.0, send_at - open_before_s - time.monotonic()))
        started = time.monotonic()
        status, page = phone.request("GET", phone.path)
        result.get_s = time.monotonic() - started
        form = parse_form(page)
        if status != 200 or not form.has_form:
            result.status, result.error = status, "no ballot form on the page"
            return result
        result.token = phone.cookie or form.hidden.get("token", "")
        result.answers = choose_answers(form, rng)
        body = urlencode({**form.hidden, **result.answers})
        time.sleep(max(0.0, send_at - time.monotonic()))
        started = time.monotonic()
        result.status, page = phone.request("POST", phone.path.rstrip("/") + "/vote", body)
        result.receipt_s = time.monotonic() - started
        result.receipt = receipt_code(page) if result.status == 200 else None
        if result.receipt is None:
            result.error = f"HTTP {result.status} without a receipt"
        if resend:
            again = Phone(url)
            again.cookie = phone.cookie
            result.resent = True
            _status, page2 = again.request("POST", phone.path.rstrip("/") + "/vote", body)
            result.resend_receipt = receipt_code(page2)
            again.close()
    except (OSError, http.client.HTTPException) as e:
        result.error = f"{type(e).__name__}: {e}"
    finally:
        phone.close()
    return result


def run_phones(
    url: str, n: int, window_s: float, resend_every: int = 0, seed: int = 0, open_before_s: float = 3.0
) -> list[PhoneResult]:
    """``n`` phones, each in its own thread, sending at random moments spread over ``window_s`` seconds
    (0: all at once); every ``resend_every``-th phone sends its form twice."""
    rng = random.Random(seed)
    t0 = time.monotonic() + open_before_s + 0.5
    moments = sorted(t0 + rng.uniform(0, window_s) for _ in range(n))
    results: list[PhoneResult | None] = [None] * n

    def go(i: int) -> None:
        results[i] = run_phone(
            url, i, moments[i], open_before_s, bool(resend_every) and i % resend_every == 0, seed
        )

    threads = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]
