"""Plain words for the room: the headline count, a verdict a non-statistician reads correctly, and rounded
p-values and percentages.

:func:`core.survey.verdict_sentence` stays the statistician's sentence (confidence interval, chi-square,
"not rejected"); it is kept word for word in reports and JSON. These functions word the same
:class:`~core.survey.ProportionTest` for a big screen: whole percentages, ``p = 0.28`` / ``p < 0.001``,
and, when the test finds nothing, whether that is because there are too few answers or because the share
really is close to the claim.

The claim is read as a bar to clear ("more than 70 % of viewers say yes"); the test itself stays the
study's two-sided chi-square goodness of fit, so a share clearly *below* the claim is evidence against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.survey.significance import DEFAULT_ALPHA, ProportionTest, power_at, verdict_sentence

# Below this many answers the verdict says "too few answers" whatever the test says: the chi-square
# approximation wants an expected count of 5 in each cell, which a 70 % claim reaches only past ~17.
MIN_ANSWERS = 10
# "Enough answers" means the test would usually (TARGET_POWER) notice a true share this far from the claim.
DETECTABLE_DIFFERENCE = 0.10
TARGET_POWER = 0.8
# Answer labels worded as "said yes" rather than "chose “...”".
SPOKEN_ANSWERS = frozenset({"yes", "no", "maybe"})

VERDICT_SUPPORTED = "supported"
VERDICT_AGAINST = "against"
VERDICT_TOO_FEW = "too few answers"
VERDICT_CLOSE = "not supported"


def format_p_value(p: float, alpha: float = DEFAULT_ALPHA) -> str:
    """``p = 0.28``, ``p = 0.004``, ``p < 0.001``, ``p > 0.99``: as few decimals as read correctly, never
    rounded across ``alpha`` (0.0496 reads ``p = 0.0496``, not ``p = 0.05``)."""
    p = float(p)
    if p < 0.001:
        return "p < 0.001"
    if p > 0.99:
        return "p > 0.99"
    decimals = 2 if p >= 0.01 else 3
    while decimals < 6 and (round(p, decimals) < alpha) != (p < alpha):
        decimals += 1
    return f"p = {p:.{decimals}f}"


def format_percent(share: float, versus: float | None = None) -> str:
    """``75 %``: whole percent, one decimal where a whole number would hide a difference (from 0 or 100 %,
    or from ``versus``, the claim it is read against)."""
    whole = round(share * 100)
    hides = (whole == 0 and share > 0) or (whole == 100 and share < 1)
    if versus is not None and share not in (0, 1, versus) and whole == round(versus * 100):
        hides = True
    return f"{share * 100:.1f} %" if hides else f"{whole} %"


def headline_sentence(t: ProportionTest, noun: str = "viewers") -> str:
    """``67 of 89 viewers (75 %) said Yes``: the count the room reads first."""
    return f"{t.observed_positive} of {t.n} {noun} ({format_percent(t.observed_share)}) {_said(t.positive)}"


def verdict_kind(t: ProportionTest) -> str:
    """Which of the four verdicts :func:`plain_verdict` words: VERDICT_SUPPORTED, VERDICT_AGAINST,
    VERDICT_TOO_FEW (too few answers to tell) or VERDICT_CLOSE (enough answers, close to the claim)."""
    if t.n < MIN_ANSWERS:
        return VERDICT_TOO_FEW
    if t.reject_null:
        return VERDICT_SUPPORTED if t.observed_share > t.claim else VERDICT_AGAINST
    return VERDICT_TOO_FEW if detectable_power(t) < TARGET_POWER else VERDICT_CLOSE


def detectable_power(t: ProportionTest) -> float:
    """Chance that the test, at this n, notices a true share DETECTABLE_DIFFERENCE from the claim (on the
    side of the observed share). Unlike the power at the observed share, this does not shrink just because
    the observed share happens to be close to the claim."""
    return power_at(detectable_share(t), t.claim, t.n, t.alpha)


def detectable_share(t: ProportionTest) -> float:
    """The true share :func:`detectable_power` asks about: DETECTABLE_DIFFERENCE from the claim, on the
    side of the observed share (the other side where that would leave 0..1)."""
    step = DETECTABLE_DIFFERENCE if t.observed_share >= t.claim else -DETECTABLE_DIFFERENCE
    if not 0.0 < t.claim + step < 1.0:
        step = -step
    return min(max(t.claim + step, 0.0), 1.0)


def power_sentence(t: ProportionTest) -> str:
    """Why "not enough evidence" is not "no": how often this many answers would notice a real difference."""
    chance = detectable_power(t)
    return (
        f"With {t.n} answers the test would notice a true share of {format_percent(detectable_share(t))} "
        f"(against the {format_percent(t.claim)} claimed) {'only ' if chance < TARGET_POWER else ''}"
        f"{format_percent(chance)} of the time; the verdict calls a result only from "
        f"{format_percent(TARGET_POWER)} on, and never below {MIN_ANSWERS} answers."
    )


@dataclass(frozen=True)
class Verdict:
    """Everything the room and the engineer read about one claim test, worded once.

    Every surface (dashboard, show scene, live poll, summary downloads, CLI reports) takes its words from
    :func:`verdict_words`, so one test never reads two ways."""

    kind: str        # VERDICT_SUPPORTED / VERDICT_AGAINST / VERDICT_TOO_FEW / VERDICT_CLOSE
    ready: bool      # False below MIN_ANSWERS: no verdict at all, only how many answers are still needed
    headline: str    # "67 of 89 viewers (75 %) said Yes": the count, in large type
    sentence: str    # the plain verdict, or "4 of 10 answers needed"
    p_text: str      # "p = 0.28"; "" when not ready (a p-value of 3 answers is not shown)
    statistics: str  # the statistician's sentence (interval, chi-square), for Details only


def verdict_words(t: ProportionTest, noun: str = "viewers") -> Verdict:
    """The one wording of a claim test: headline, plain verdict and statistics that never contradict."""
    ready = t.n >= MIN_ANSWERS
    return Verdict(
        kind=verdict_kind(t),
        ready=ready,
        headline=headline_sentence(t, noun),
        sentence=_plain_sentence(t, noun),
        p_text=format_p_value(t.p_value, t.alpha) if ready else "",
        statistics=verdict_sentence(t),
    )


def answers_needed(n: int) -> str:
    """``4 of 10 answers needed``: what stands in for a verdict below MIN_ANSWERS."""
    return f"{n} of {MIN_ANSWERS} answers needed"


def plain_verdict(t: ProportionTest, noun: str = "viewers") -> str:
    """One sentence a non-statistician reads correctly, e.g. "Not enough evidence yet that more than 70 % of
    viewers say yes: 75 % said yes, but with 89 answers that could be chance (p = 0.28).". Below
    MIN_ANSWERS there is no verdict: "4 of 10 answers needed"."""
    return verdict_words(t, noun).sentence


def _plain_sentence(t: ProportionTest, noun: str) -> str:
    kind = verdict_kind(t)
    share = format_percent(t.observed_share, versus=t.claim)
    p = format_p_value(t.p_value, t.alpha)
    say, said = _say(t.positive), _said(t.positive, spoken_case=False)
    again = said if _spoken(t.positive) else "did"  # a long answer label is not repeated
    half = abs(t.claim - 0.5) < 1e-9
    tenths = round(t.claim * 1000)
    claim = f"{tenths // 10} %" if tenths % 10 == 0 else f"{tenths / 10:.1f} %"
    more = f"most {noun}" if half else f"more than {claim} of {noun}"
    mark = "half" if half else f"the {claim} claimed"
    if kind == VERDICT_TOO_FEW and t.n < MIN_ANSWERS:
        return answers_needed(t.n)
    if kind == VERDICT_SUPPORTED:
        return f"{_cap(more)} {say}: {share} did, clearly more than {mark} ({p})."
    if kind == VERDICT_AGAINST:
        fewer = f"fewer than half of the {noun}" if half else f"fewer than {claim} of {noun}"
        return f"{_cap(fewer)} {say}: only {share} did, clearly less than {mark} ({p})."
    if kind == VERDICT_TOO_FEW:
        if t.observed_share > t.claim:
            return (
                f"Not enough evidence yet that {more} {say}: {share} {again}, but with {t.n} answers that "
                f"could be chance ({p})."
            )
        return (
            f"Not enough evidence yet either way: {share} {said} against {mark}, and with {t.n} answers the "
            f"gap could be chance ({p})."
        )
    return (
        f"No clear evidence that {more} {say}: {share} {again}, close enough to {mark} to be chance "
        f"({t.n} answers, {p})."
    )


def _spoken(labels: list[str]) -> bool:
    return all(label.lower() in SPOKEN_ANSWERS for label in labels)


def _said(labels: list[str], spoken_case: bool = True) -> str:
    """"said Yes" (the label as written, for the headline) / "said yes" / "chose “A” or “B”"."""
    if _spoken(labels):
        return "said " + " or ".join(label if spoken_case else label.lower() for label in labels)
    return "chose " + " or ".join(f"“{label}”" for label in labels)


def _say(labels: list[str]) -> str:
    if _spoken(labels):
        return "say " + " or ".join(label.lower() for label in labels)
    return "choose " + " or ".join(f"“{label}”" for label in labels)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def short_label(text: str, limit: int = 60) -> str:
    """``text`` cut to about ``limit`` characters in the middle, at word boundaries, so both the start and
    the end stay readable ("Which would you prefer for … online learning?"); the full text belongs in a
    tooltip."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    words = text.split(" ")
    head, tail = words[:1], words[-1:]  # whole words only, at least one each
    budget = limit - 3  # " … "
    def room() -> bool:
        return len(head) + len(tail) < len(words)

    while room() and len(" ".join([*head, words[len(head)]])) <= min(budget * 3 // 5, budget - len(tail[0])):
        head.append(words[len(head)])  # up to ~60 % for the start, leaving room for the last word
    while room() and len(" ".join([*head, words[-len(tail) - 1], *tail])) < budget:
        tail.insert(0, words[-len(tail) - 1])
    short = text if len(head) + len(tail) >= len(words) else f"{' '.join(head)} … {' '.join(tail)}"
    if len(short) > limit:  # a word longer than the limit: cut inside words
        keep = max(limit - 1, 2)
        short = f"{text[: keep - keep // 3]}…{text[-(keep // 3):]}"
    return short


def short_label_map(texts, limit: int = 60) -> dict[str, str]:
    """{text: short label} for widget and axis labels; the full texts wherever shortening would make two
    labels read the same (widgets tell options apart by their label)."""
    full = list(dict.fromkeys(str(t) for t in texts))
    short = [short_label(t, limit) for t in full]
    return dict(zip(full, short if len(set(short)) == len(full) else full))
