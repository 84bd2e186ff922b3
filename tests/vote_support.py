"""Helpers shared by the live-vote tests (SQLite and Postgres alike): the small three-question poll and
a race of threads submitting with one voter token."""

from __future__ import annotations

import threading

from core import vote


def questions() -> list[dict]:
    """A choice, a yes/no and a text question: every kind a poll asks, in the fewest questions."""
    return [
        {"text": "How do you define your gender?", "kind": "choice",
         "choices": ["Man", "Woman", "Non-binary"]},
        {"text": "Would you watch it?", "kind": "yes/no"},
        {"text": "Any comment?", "kind": "text"},
    ]


def race_one_token(db, poll_id: int, ballot: dict, senders: int = 6) -> list[str]:
    """``senders`` threads, released together, submit ``ballot`` with one token: each one's outcome, "ok"
    (stored) or "dup" (refused as already voted), in no particular order."""
    token = vote.new_voter_token()
    outcomes: list[str] = []
    barrier = threading.Barrier(senders)

    def send() -> None:
        barrier.wait()
        try:
            vote.submit_ballot(db, poll_id, token, ballot)
            outcomes.append("ok")
        except vote.AlreadyVoted:
            outcomes.append("dup")

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes
