"""The voter page for a hall full of phones: a small HTML form and one endpoint, on Starlette + uvicorn.

Why not the Streamlit voter app (``vote_app.py``, still available with ``serve --streamlit``): a Streamlit
session per phone costs a websocket, a script run per click and a watch timer per phone, so a burst of
submits waits in line (~45 ms more per phone) and, with the timer, some phones never showed their
confirmation (issue 26). Here a phone costs one GET for the form and one POST for its ballot; nothing
runs for an idle phone.

Guarantees, over the same ``core.vote`` storage (SQLite or PostgreSQL):
- every submission is answered with a receipt page or with the form again, filled in as sent, saying what
  to fix; never with nothing. A phone that lost the answer may send again, or reload: the receipt comes
  back (``core.vote.receipts``: an idempotency key per form, one ballot per poll and voter token);
- none counted twice: the database's unique (poll, token) constraint decides;
- the voter token lives in a cookie (and in the form), so a reload keeps the same ballot.

A waiting phone holds one long poll (``/wait``): each process reads the poll state once a second for all
its phones and answers every waiting request when it changes (a poll opens, closes, or its counts are
published), so the page follows the presenter without a timer per phone.

Several processes (``serve --workers N``, one listening socket) may serve one URL; with PostgreSQL
(``--db postgresql://...``) several machines can, behind any HTTP load balancer. See docs/stage.md.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import time
from contextlib import asynccontextmanager

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from core.vote.ballots import (
    BallotRejected,
    InvalidBallot,
    PollClosed,
    RateLimited,
    check_token,
    new_voter_token,
)
from core.vote.db import VoteDB, VoteDBError, open_db
from core.vote.polls import (
    KIND_TEXT,
    KIND_YES_NO,
    Poll,
    PollError,
    current_poll,
    get_poll,
    latest_published_poll,
)
from core.vote.receipts import VoterReceipt, new_submit_key, stored_receipt, submit_with_receipt
from core.vote.results import choice_counts, load_responses

APP_NAME = "custom-cast-voter"
COOKIE = "voter"
TOKEN_PARAM = "voter"  # the Streamlit app's ?voter=... links keep working
COOKIE_MAX_AGE_S = 7 * 24 * 3600
WATCH_EVERY_S = 1.0
WAIT_TIMEOUT_S = 25.0
MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 100

SUBMIT_LABEL = "Send my answers"
THANKS = "Thank you: your answers are in."
CLOSED = "This poll is closed; your answers were not recorded."
WAITING = (
    "No poll is open right now. Keep this page open: the questions appear here when the presenter opens one."
)
UNAVAILABLE = "Voting is not available right now. Please try again in a moment."
NOT_SAVED = "Your answers could not be saved just now; please press the button again."


# ------------------------------------------------------------------------------------------ poll state


class PollWatcher:
    """The open and the last published poll, read once a second for every phone this process serves."""

    def __init__(self, db: VoteDB):
        self.db = db
        self.poll: Poll | None = None
        self.published: Poll | None = None
        self.state = ""
        self.error: str | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None

    def read(self) -> bool:
        """Read the state now (blocking: call it from the thread pool); True when it changed."""
        try:
            poll, published = current_poll(self.db), latest_published_poll(self.db)
        except (VoteDBError, SQLAlchemyError) as e:
            self.error = str(e).splitlines()[0] if str(e) else type(e).__name__
            return False
        self.error = None
        state = f"{poll.id if poll else 0}.{published.id if published else 0}"
        self.poll, self.published = poll, published
        changed, self.state = state != self.state, state
        return changed

    async def _run(self) -> None:
        while True:
            if await run_in_threadpool(self.read):
                # Wake every waiting phone (in the event loop's thread: asyncio.Event is not thread-safe).
                self._changed.set()
                self._changed = asyncio.Event()
            await asyncio.sleep(WATCH_EVERY_S)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def wait_change(self, since: str, timeout: float) -> str:
        if since != self.state:
            return self.state
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass
        return self.state


# ------------------------------------------------------------------------------------------ HTML

STYLE = """
:root{color-scheme:light dark;--accent:#ff4b4b}
body{font:18px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
  background:Canvas;color:CanvasText}
main{max-width:34rem;margin:0 auto;padding:1.2rem 1rem 3rem}
h1{font-size:1.6rem;line-height:1.2;margin:.2rem 0 1rem}
fieldset{border:0;margin:0 0 1.2rem;padding:0}
legend{font-weight:600;margin-bottom:.4rem}
label.choice{display:block;padding:.55rem .8rem;margin:.3rem 0;border:1px solid #8886;border-radius:.6rem}
label.choice:has(input:checked){border-color:var(--accent);background:#ff4b4b18}
.inline label.choice{display:inline-block;min-width:6rem;margin-right:.5rem}
input[type=radio]{margin-right:.5rem;transform:scale(1.2)}
textarea{width:100%;box-sizing:border-box;min-height:5rem;font:inherit;padding:.5rem;border-radius:.5rem}
button{width:100%;font:inherit;font-weight:600;padding:.8rem;border:0;border-radius:.6rem;
  background:var(--accent);color:#fff}
button:disabled{opacity:.6}
.note{font-size:.9rem;opacity:.75}
.box{padding:.8rem 1rem;border-radius:.6rem;margin:0 0 1rem}
.ok{background:#21c35426;border:1px solid #21c354}
.err{background:#ff4b4b22;border:1px solid #ff4b4b}
.info{background:#1c83e11f;border:1px solid #1c83e1}
.receipt{font-size:1.4rem;font-weight:700;letter-spacing:.05em}
.bar{display:flex;align-items:center;gap:.5rem;margin:.2rem 0}
.bar span.fill{display:inline-block;height:1rem;background:var(--accent);border-radius:.2rem}
img,video{max-width:100%;border-radius:.6rem;margin-bottom:.8rem}
"""

# Follows the presenter without a timer: one long poll, answered when the poll state changes.
WAIT_SCRIPT = """<script>
(function(){var s=%s,form=document.getElementById('ballot');
function touched(){return form&&form.querySelector('input:checked,textarea:not(:placeholder-shown)');}
function go(){fetch('wait?state='+encodeURIComponent(s),{cache:'no-store'})
.then(function(r){return r.json();})
.then(function(j){if(j.state===s){go();return;}
 if(touched()){var n=document.getElementById('changed');if(n){n.hidden=false;}return;}
 location.replace(location.pathname.replace(/vote$/,''));})
.catch(function(){setTimeout(go,5000);});}
go();})();
</script>"""

# A double tap sends once; a reply that never comes lets the voter send again (the same form key, so a
# second send is answered with the receipt of the first, never a second ballot).
SEND_SCRIPT = """<script>
(function(){var f=document.getElementById('ballot');if(!f)return;f.addEventListener('submit',function(){
var b=f.querySelector('button');setTimeout(function(){b.disabled=true;b.textContent='Sending…';},0);
setTimeout(function(){b.disabled=false;b.textContent='Still waiting: tap to send again';},8000);});})();
</script>"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def page(title: str, body: str, script: str = "") -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)} · Custom Cast</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main>{script}</body></html>"
    )


def media_html(poll: Poll) -> str:
    if not poll.media_mime:
        return ""
    src = f"media/{poll.id}"
    caption = f'<p class="note">{_e(poll.media_caption)}</p>' if poll.media_caption else ""
    if poll.media_mime.startswith("video/"):
        return f'<video src="{src}" autoplay muted loop playsinline></video>{caption}'
    return f'<img src="{src}" alt="{_e(poll.media_caption or "")}">{caption}'


def form_html(
    poll: Poll, token: str, submit_key: str, values: dict[str, str] | None = None, error: str | None = None
) -> str:
    values = values or {}
    parts = [f"<h1>{_e(poll.title)}</h1>", media_html(poll)]
    if error:
        parts.append(f'<div class="box err" role="alert">{_e(error)}</div>')
    parts.append(
        '<div id="changed" class="box info" hidden>The presenter changed the poll: send your '
        "answers now, or reload the page.</div>"
    )
    parts.append(
        '<p class="note">Anonymous: your answers are stored without your name. One answer per phone.</p>'
    )
    parts.append(
        '<form id="ballot" method="post" action="vote">'
        f'<input type="hidden" name="poll" value="{poll.id}">'
        f'<input type="hidden" name="token" value="{_e(token)}">'
        f'<input type="hidden" name="submit" value="{_e(submit_key)}">'
    )
    for q in poll.questions:
        if q.kind == KIND_TEXT:
            label = q.text if q.required else f"{q.text} (optional)"
            parts.append(
                f'<fieldset><legend><label for="{q.id}">{_e(label)}</label></legend>'
                f'<textarea id="{q.id}" name="{q.id}" maxlength="{q.max_chars}" placeholder=" "'
                f"{' required' if q.required else ''}>{_e(values.get(q.id, ''))}</textarea></fieldset>"
            )
            continue
        inline = ' class="inline"' if q.kind == KIND_YES_NO else ""
        parts.append(f"<fieldset{inline}><legend>{_e(q.text)}</legend>")
        for choice in q.choices:
            checked = " checked" if values.get(q.id) == choice else ""
            required = " required" if q.required else ""
            parts.append(
                f'<label class="choice"><input type="radio" name="{q.id}" value="{_e(choice)}"'
                f"{checked}{required}>{_e(choice)}</label>"
            )
        parts.append("</fieldset>")
    parts.append(f'<button type="submit">{_e(SUBMIT_LABEL)}</button></form>')
    return "".join(parts)


def receipt_html(poll: Poll, receipt: VoterReceipt) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(receipt.submitted_at))
    earlier = (
        ""
        if receipt.same_form
        else "<p>You had already answered this poll from this phone; your first answers count.</p>"
    )
    return (
        f"<h1>{_e(poll.title)}</h1>"
        f'<div class="box ok" role="status" id="receipt"><p><strong>{_e(THANKS)}</strong></p>{earlier}'
        f'<p>Receipt <span class="receipt">{_e(receipt.code)}</span> · {when}</p>'
        f'<p class="note">Counted once, however often you press the button or reload.</p></div>'
    )


def results_html(poll: Poll, counts: dict[str, dict[str, int]], n: int) -> str:
    parts = [f"<h2>Results so far: {n} answer{'s' if n != 1 else ''}</h2>"]
    for question, table in counts.items():
        top = max(table.values(), default=0) or 1
        parts.append(f"<p><strong>{_e(question)}</strong></p>")
        for choice, count in table.items():
            width = round(12 * count / top, 2)
            parts.append(
                f'<div class="bar"><span class="fill" style="width:{width}rem"></span>'
                f"<span>{_e(choice)}: {count}</span></div>"
            )
    return "".join(parts)


# ------------------------------------------------------------------------------------------ endpoints


def _token(request: Request, form_token: object = None) -> tuple[str, bool]:
    """(token, is_new): the form's, else the cookie's, else the ?voter= link's, else a fresh one."""
    for candidate in (form_token, request.cookies.get(COOKIE), request.query_params.get(TOKEN_PARAM)):
        try:
            return check_token(candidate), candidate != request.cookies.get(COOKIE)
        except InvalidBallot:
            continue
    return new_voter_token(), True


def _html(body: str, token: str, set_cookie: bool, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
    if set_cookie:
        response.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="lax")
    return response


def _published_block(db: VoteDB, poll: Poll | None) -> str:
    if poll is None or not poll.results_published:
        return ""
    responses = load_responses(db, poll.id)
    return results_html(poll, choice_counts(poll, responses), len(responses))


def _script(state: str, with_send: bool = False) -> str:
    return (SEND_SCRIPT if with_send else "") + WAIT_SCRIPT % json.dumps(state)


def _render_home(db: VoteDB, watcher: PollWatcher, token: str) -> tuple[str, int]:
    poll, published, state = watcher.poll, watcher.published, watcher.state
    if watcher.error is not None:
        return page(
            "Vote", f'<h1>Custom Cast: live vote</h1><div class="box err">{_e(UNAVAILABLE)}</div>'
        ), 503
    if poll is None:
        body = f'<h1>Custom Cast: live vote</h1><div class="box info">{_e(WAITING)}</div>' + _published_block(
            db, published
        )
        return page("Vote", body, _script(state)), 200
    receipt = stored_receipt(db, poll.id, token)
    if receipt is not None:
        return page(poll.title, receipt_html(poll, receipt) + _published_block(db, poll), _script(state)), 200
    return page(poll.title, form_html(poll, token, new_submit_key()), _script(state, True)), 200


async def home(request: Request) -> Response:
    watcher: PollWatcher = request.app.state.watcher
    token, new = _token(request)
    if not watcher.state:
        await run_in_threadpool(watcher.read)
    try:
        body, status = await run_in_threadpool(_render_home, watcher.db, watcher, token)
    except (VoteDBError, SQLAlchemyError):
        body, status = page("Vote", f'<div class="box err">{_e(UNAVAILABLE)}</div>'), 503
    return _html(body, token, new, status)


def _submit(
    db: VoteDB, watcher: PollWatcher, poll_id: int, token: str, submit_key: str, fields: dict[str, str]
) -> tuple[str, int]:
    poll = watcher.poll if watcher.poll is not None and watcher.poll.id == poll_id else get_poll(db, poll_id)
    answers = {q.id: fields[q.id] for q in poll.questions if q.id in fields}
    try:
        receipt = submit_with_receipt(db, poll_id, token, submit_key, answers)
    except PollClosed:
        return page(
            poll.title,
            f'<h1>{_e(poll.title)}</h1><div class="box err" role="alert">{_e(CLOSED)}</div>',
            _script(watcher.state),
        ), 409
    except BallotRejected as e:
        status = 429 if isinstance(e, RateLimited) else 422
        return page(
            poll.title, form_html(poll, token, submit_key, answers, str(e)), _script(watcher.state, True)
        ), status
    except (VoteDBError, SQLAlchemyError):
        return page(
            poll.title, form_html(poll, token, submit_key, answers, NOT_SAVED), _script(watcher.state, True)
        ), 503
    return page(poll.title, receipt_html(poll, receipt), _script(watcher.state)), 200


async def vote(request: Request) -> Response:
    watcher: PollWatcher = request.app.state.watcher
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        return Response("A ballot is a small form.", status_code=413)
    async with request.form(max_files=0, max_fields=MAX_FORM_FIELDS) as form:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    token, new = _token(request, fields.get("token"))
    try:
        poll_id = int(fields.get("poll", ""))
    except ValueError:
        return _html(
            page(
                "Vote", f'<div class="box err">{_e("This voting form is not valid; reload the page.")}</div>'
            ),
            token,
            new,
            400,
        )
    try:
        body, status = await run_in_threadpool(
            _submit, watcher.db, watcher, poll_id, token, fields.get("submit", ""), fields
        )
    except PollError:
        body, status = (
            page("Vote", '<div class="box err">This poll does not exist; reload the page.</div>'),
            404,
        )
    except (VoteDBError, SQLAlchemyError):
        body, status = page("Vote", f'<div class="box err">{_e(NOT_SAVED)}</div>'), 503
    return _html(body, token, new, status)


async def media(request: Request) -> Response:
    from core.vote.polls import poll_media

    watcher: PollWatcher = request.app.state.watcher
    try:
        poll_id = int(request.path_params["poll_id"])
        found = await run_in_threadpool(poll_media, watcher.db, poll_id)
    except (ValueError, PollError):
        found = None
    if found is None:
        return Response(status_code=404)
    data, mime, _caption = found
    # A poll's media never changes once it is open.
    return Response(data, media_type=mime, headers={"Cache-Control": "public, max-age=3600"})


async def wait(request: Request) -> Response:
    watcher: PollWatcher = request.app.state.watcher
    since = request.query_params.get("state", "")[:40]
    state = await watcher.wait_change(since, WAIT_TIMEOUT_S)
    return JSONResponse({"state": state}, headers={"Cache-Control": "no-store"})


async def health(request: Request) -> Response:
    """What the pre-flight asks: is this the voter app, which process answered, which poll is open."""
    watcher: PollWatcher = request.app.state.watcher
    poll = watcher.poll
    return JSONResponse(
        {
            "app": APP_NAME,
            "pid": os.getpid(),
            "ok": watcher.error is None,
            "poll": poll.id if poll else None,
            "state": watcher.state,
        },
        headers={"Cache-Control": "no-store"},
    )


def create_app(db_url: str | None = None) -> Starlette:
    """The voter app over the database at ``db_url`` (default: ``$CUSTOM_CAST_DB``, else the SQLite file)."""
    db = open_db(db_url)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        watcher = PollWatcher(db)
        await run_in_threadpool(watcher.read)
        app.state.watcher = watcher
        watcher.start()
        try:
            yield
        finally:
            await watcher.stop()

    routes = [
        Route("/", home, methods=["GET"]),
        Route("/vote", vote, methods=["POST"]),
        Route("/vote", home, methods=["GET"]),  # a reload of the receipt page
        Route("/media/{poll_id}", media, methods=["GET"]),
        Route("/wait", wait, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def serve(port: int, address: str = "0.0.0.0", workers: int = 1) -> None:
    """Run the voter app with uvicorn (blocking); ``workers`` processes share one listening socket."""
    import uvicorn

    uvicorn.run(
        "core.vote.web:create_app",
        factory=True,
        host=address,
        port=int(port),
        workers=int(workers),
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        backlog=2048,
    )
