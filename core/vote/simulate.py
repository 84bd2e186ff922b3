"""Rehearsal and load test: simulated voters, each worker its own process with its own voter tokens.

``simulate(url, poll_id, n=500, workers=8)`` starts ``workers`` processes that wait at a barrier, then
each submits ``n`` ballots with fresh tokens through the same ``submit_ballot`` the voter app uses. The
answers are seeded and plausible (most say Yes to the yes/no question), so a rehearsal looks like a room.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_module
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass

from core.cli import UserError
from core.vote.polls import KIND_TEXT, KIND_YES_NO, Poll

MAX_WORKERS = 64
MAX_PER_WORKER = 1_000_000
# Share of simulated voters answering the first choice ("Yes") of a yes/no question.
YES_SHARE = 0.8
COMMENTS = (
    "I would love to see more faces like mine on screen.",
    "Interesting, but I prefer real actors.",
    "It could help, as long as the writing changes too.",
    "Creepy at first, then fun.",
    "Great idea for ads, less so for films.",
)
# A worker that has not finished by then is reported as failed rather than waited on forever.
WORKER_TIMEOUT_S = 3600.0


@dataclass
class SimulationResult:
    poll: int
    workers: int
    per_worker: int
    accepted: int
    rejected: dict[str, int]
    seconds: float  # from the barrier's release to the last worker's finish
    votes_per_s: float

    def to_dict(self) -> dict:
        return asdict(self)


def simulated_answers(poll: Poll, rng: random.Random, weights: dict[str, list[float]]) -> dict[str, str]:
    """One plausible ballot: yes/no leans Yes, choices follow per-question weights, comments are optional."""
    out = {}
    for q in poll.questions:
        if q.kind == KIND_TEXT:
            if rng.random() < 0.4:
                out[q.id] = rng.choice(COMMENTS)
        elif q.kind == KIND_YES_NO and len(q.choices) == 2:
            out[q.id] = q.choices[0] if rng.random() < YES_SHARE else q.choices[1]
        else:
            out[q.id] = rng.choices(q.choices, weights=weights[q.id])[0]
    return out


def _worker(url: str, poll_id: int, n: int, seed: int, barrier, queue) -> None:
    from core.vote import ballots, polls
    from core.vote import db as vote_db

    try:
        db = vote_db.open_db(url)
        poll = polls.get_poll(db, poll_id)
        rng = random.Random(seed)
        weights = {q.id: [0.2 + rng.random() for _ in q.choices] for q in poll.questions}
        ballots_to_send = [
            (ballots.new_voter_token(), simulated_answers(poll, rng, weights)) for _ in range(n)
        ]
        barrier.wait(timeout=120)
        started = time.monotonic()
        accepted, rejected = 0, Counter()
        for token, answers in ballots_to_send:
            try:
                ballots.submit_ballot(db, poll_id, token, answers)
                accepted += 1
            except ballots.BallotRejected as e:
                rejected[type(e).__name__] += 1
        queue.put(("ok", accepted, dict(rejected), started, time.monotonic()))
    except BaseException as e:  # noqa: BLE001 - report any failure to the parent instead of hanging it
        try:
            barrier.abort()
        except Exception:  # noqa: BLE001
            pass
        queue.put(("error", f"{type(e).__name__}: {e}", {}, 0.0, 0.0))
    finally:
        vote_db.close_all()


def simulate(url: str, poll_id: int, n: int = 500, workers: int = 8, seed: int = 0) -> SimulationResult:
    """Submit ``workers x n`` simulated ballots from ``workers`` processes at once; returns the tallies."""
    from core.vote.db import normalize_url, open_db
    from core.vote.polls import get_poll

    if not 1 <= workers <= MAX_WORKERS:
        raise UserError(f"--workers must be between 1 and {MAX_WORKERS}.")
    if not 1 <= n <= MAX_PER_WORKER:
        raise UserError(f"--n must be between 1 and {MAX_PER_WORKER:,}.")
    url = normalize_url(url)
    poll = get_poll(open_db(url), poll_id)  # fails early, in this process, for a missing poll
    if not poll.is_open:
        raise UserError(f"Poll {poll_id} is closed; reopen it first (python -m core.vote reopen).")
    ctx = mp.get_context("spawn")  # each worker gets fresh database connections, never forked ones
    barrier = ctx.Barrier(workers)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, poll_id, n, seed * 1000 + i, barrier, queue), daemon=True)
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    results = []
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    try:
        while len(results) < workers:
            try:
                results.append(queue.get(timeout=1.0))
            except queue_module.Empty:
                # A worker killed outright (out of memory, signal) never reports; do not wait for it.
                if time.monotonic() > deadline or not any(p.is_alive() for p in procs):
                    try:
                        while len(results) < workers:
                            results.append(queue.get(timeout=2.0))
                    except queue_module.Empty:
                        pass
                    results += [("error", "a worker died without reporting", {}, 0.0, 0.0)] * (
                        workers - len(results)
                    )
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    errors = [r[1] for r in results if r[0] == "error"]
    if errors:
        raise UserError(f"{len(errors)} simulated voter process(es) failed: {errors[0]}")
    rejected: Counter = Counter()
    for r in results:
        rejected.update(r[2])
    accepted = sum(r[1] for r in results)
    seconds = max(r[4] for r in results) - min(r[3] for r in results)
    return SimulationResult(
        poll=poll_id,
        workers=workers,
        per_worker=n,
        accepted=accepted,
        rejected=dict(rejected),
        seconds=seconds,
        votes_per_s=accepted / seconds if seconds > 0 else float("inf"),
    )
