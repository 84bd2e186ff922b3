"""The presenter's live view of a poll: what one refresh of the dashboard's "Live poll" panel computes.

``live_results`` reads the new responses (incrementally), rebuilds the survey module's ``CleanSurvey``,
runs its claim test and builds its counts, sunburst and test figures. At 5,000 votes this stays well
under the 300 ms a refresh may take (bench/bench_vote.py); when nothing changed, the page skips even
that, using the cheap ``poll_version`` fingerprint.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.vote.db import VoteDB
from core.vote.polls import KIND_CHOICE, KIND_YES_NO, Poll, get_poll
from core.vote.results import (
    PollVersion,
    choice_counts,
    claim_test,
    clean_poll,
    default_test_question,
    load_responses,
)

WAITING_FOR_VOTES = "No answers yet: scan the code and vote."


def default_sunburst_path(poll: Poll) -> list[str]:
    """Like the dashboard's default: gender / ethnicity rings, then the yes/no question."""
    choice = [q.text for q in poll.questions if q.kind == KIND_CHOICE]
    path = [t for t in choice if "gender" in t.lower() or "ethnic" in t.lower()]
    path += [q.text for q in poll.questions if q.kind == KIND_YES_NO][:1]
    return (path or choice[:2])[:3]


@dataclass
class LiveResults:
    """What the live dashboard shows: n, counts, the test (or why there is none) and figures."""

    poll: Poll
    version: PollVersion
    counts: dict[str, dict[str, int]]
    question: str | None = None  # the tested question
    test: object | None = None  # survey.ProportionTest
    test_error: str | None = None
    clean: object | None = None  # survey.CleanSurvey of the tested question and the sunburst's columns
    figures: dict[str, object] = field(default_factory=dict)  # plotly figures: counts, sunburst, test
    sunburst_error: str | None = None
    seconds: float = 0.0

    @property
    def n(self) -> int:
        return self.version.n_responses

    @property
    def headline(self) -> str:
        """One line for the room, in large type."""
        if self.test is None:
            return self.test_error or WAITING_FOR_VOTES
        t = self.test
        label = " or ".join(t.positive)
        if t.reject_null:
            side = "above" if t.observed_share > t.claim else "below"
            return (f"{t.observed_share:.0%} answered {label}: significantly {side} the {t.claim:.0%} claim "
                    f"(p = {t.p_value:.3g}).")
        return (f"{t.observed_share:.0%} answered {label}: consistent with the {t.claim:.0%} claim "
                f"(p = {t.p_value:.3g}).")


def live_results(
    db: VoteDB,
    poll_id: int,
    question: str | None = None,
    positive: Sequence[str] | None = None,
    claim: float | None = None,
    alpha: float | None = None,
    sunburst_path: Sequence[str] | None = None,
    figures: bool = True,
) -> LiveResults:
    """Counts, the claim test and (with ``figures``) the plotly figures of the poll as it stands now."""
    from core import survey as sv

    started = time.perf_counter()
    poll = get_poll(db, poll_id)
    responses = load_responses(db, poll_id)
    version = PollVersion(poll.id, len(responses), responses[-1].id if responses else 0)
    result = LiveResults(poll=poll, version=version, counts=choice_counts(poll, responses))
    result.question = poll.question(question).text if question else default_test_question(poll)
    path = list(sunburst_path) if sunburst_path is not None else default_sunburst_path(poll)
    clean = clean_poll(poll, responses, only={result.question, *path})
    if clean is None:
        result.test_error = WAITING_FOR_VOTES
    else:
        result.clean = clean
        try:
            result.test = claim_test(poll, clean, result.question, positive, claim, alpha)
        except sv.SurveyError as e:
            result.test_error = str(e)
        if figures:
            result.figures["counts"] = sv.counts_figure(clean, result.question)
            try:
                result.figures["sunburst"] = sv.sunburst_figure(clean, path)
            except sv.SurveyError as e:
                result.sunburst_error = str(e)
            if result.test is not None:
                result.figures["test"] = sv.proportion_figure(result.test)
    result.seconds = time.perf_counter() - started
    return result
