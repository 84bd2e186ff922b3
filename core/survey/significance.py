"""Hypothesis tests: a claimed proportion (chi-square goodness of fit, exact binomial, Wilson interval,
power, a verdict sentence) and the chi-square test of independence behind the crosstab.

The seed study tested its headline claim with a chi-square goodness-of-fit test of the observed Yes/No
counts against a claimed proportion (Pearson, 1900); :func:`claim_test` reproduces it on plain counts
(so the live vote can reuse it) and adds the exact binomial test, the Wilson (1927) score interval and the
power at the observed sample size (Cohen, 1988, effect size w).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core import checks
from core.answer_text import normalize_answer
from core.survey.cleaning import CleanSurvey, require_question, selected_options
from core.survey.counts import answer_counts
from core.survey.errors import SurveyError
from core.survey.roles import CHOICE_ROLES, ROLE_MULTI, SINGLE_CHOICE_ROLES

DEFAULT_CLAIM = 0.7
DEFAULT_ALPHA = 0.05
# Claims are stated in percent; below 0.1 % the chi-square approximation would need over 5,000 responses
# and the statistics overflow towards infinity (a claim of 1e-300 gave chi2 = 5e301 and a NaN power).
CLAIM_RANGE = (0.001, 0.999)
# Past 0.5 a "significant" result means nothing; below 1e-6 the Wilson interval's z overflows.
ALPHA_RANGE = (1e-6, 0.5)


@dataclass
class ProportionTest:
    """Observed share of a positive answer against a claimed proportion."""

    question: str
    positive: list[str]
    claim: float
    alpha: float
    n: int
    observed_positive: int
    observed_negative: int
    expected_positive: float
    expected_negative: float
    observed_share: float
    chi2: float
    p_value: float  # chi-square goodness-of-fit, 1 dof (the study's test)
    binomial_p_value: float  # exact two-sided binomial test
    ci_low: float  # Wilson score interval at confidence 1 - alpha
    ci_high: float
    power: float  # power of the chi-square test at this n if the true share equals the observed one
    reject_null: bool
    verdict: str

    def to_dict(self) -> dict:
        out = asdict(self)
        out["positive"] = self.positive[0] if len(self.positive) == 1 else list(self.positive)
        return out


def check_claim(claim: float) -> float:
    """``claim`` as a float inside CLAIM_RANGE, else a one-line SurveyError."""
    return _check_range(claim, "claim", CLAIM_RANGE)


def check_alpha(alpha: float) -> float:
    """``alpha`` as a float inside ALPHA_RANGE, else a one-line SurveyError."""
    return _check_range(alpha, "alpha", ALPHA_RANGE)


def _check_range(value: float | str, name: str, bounds: tuple[float, float]) -> float:
    """``value`` (a number, or its text from a flag or a form) inside ``bounds``; NaN, ±inf and numbers
    beyond a float are out of range, a bool or other text is not a number."""
    low, high = bounds
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            value = None
    if not checks.real_number(value):
        raise SurveyError(f"{name} must be a number between {low:g} and {high:g}.")
    number = checks.finite_number(value)
    if number is None or not checks.Bound(low, high).admits(number):
        got = f"{number:g}" if number is not None else checks.shown(value)
        raise SurveyError(f"{name} must be between {low:g} and {high:g} (got {got}).")
    return number


def claim_test(
    positive_count: int,
    n: int,
    claim: float = DEFAULT_CLAIM,
    alpha: float = DEFAULT_ALPHA,
    question: str = "",
    positive: Sequence[str] = ("Yes",),
) -> ProportionTest:
    """Test H0: the share of positive answers == ``claim``, from ``positive_count`` of ``n`` answers.

    ``question`` and ``positive`` (the answer labels counted as positive) only label the result and its
    verdict. Every number in the result is finite for any accepted input.
    """
    from scipy.stats import binomtest, chisquare

    claim = check_claim(claim)
    alpha = check_alpha(alpha)
    try:
        k, n = operator.index(positive_count), operator.index(n)
    except TypeError:
        raise SurveyError("The answer counts must be whole numbers.") from None
    if n <= 0:
        raise SurveyError(f"Nobody answered {question!r}." if question else "There are no answers to test.")
    if not 0 <= k <= n:
        raise SurveyError(f"The positive count must be between 0 and {n} (got {k}).")
    observed = np.array([k, n - k], dtype=float)
    expected = np.array([n * claim, n * (1 - claim)])
    gof = chisquare(observed, f_exp=expected)
    chi2_value, p_value = float(gof.statistic), float(gof.pvalue)
    binom = binomtest(k, n, claim, alternative="two-sided")
    ci = binom.proportion_ci(confidence_level=1 - alpha, method="wilson")
    share = k / n
    power = power_at(share, claim, n, alpha)
    result = ProportionTest(
        question=question,
        positive=list(positive),
        claim=float(claim),
        alpha=float(alpha),
        n=n,
        observed_positive=k,
        observed_negative=n - k,
        expected_positive=float(expected[0]),
        expected_negative=float(expected[1]),
        observed_share=float(share),
        chi2=chi2_value,
        p_value=p_value,
        binomial_p_value=float(binom.pvalue),
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        power=power,
        reject_null=bool(p_value < alpha),
        verdict="",
    )
    result.verdict = verdict_sentence(result)
    return result


def power_at(share: float, claim: float, n: int, alpha: float = DEFAULT_ALPHA) -> float:
    """Power of the chi-square goodness-of-fit test of ``claim`` with ``n`` answers when the true share is
    ``share``: Cohen's w, and the noncentral chi-square with lambda = n w^2 (alpha when share == claim)."""
    from scipy.stats import chi2 as chi2_dist
    from scipy.stats import ncx2

    w2 = (share - claim) ** 2 / claim + ((1 - share) - (1 - claim)) ** 2 / (1 - claim)
    critical = chi2_dist.ppf(1 - alpha, df=1)
    return float(ncx2.sf(critical, df=1, nc=n * w2)) if w2 > 0 else float(alpha)


def default_positive(clean: CleanSurvey, question: str) -> str:
    """'Yes' for a yes/no question, else the most common answer."""
    table = answer_counts(clean, question)
    if table.empty or table["count"].sum() == 0:
        raise SurveyError(f"Nobody answered {question!r}.")
    for answer in table["answer"]:
        if answer.lower() in {"yes", "y", "true"}:
            return answer
    return str(table.sort_values("count", ascending=False, kind="stable")["answer"].iloc[0])


def proportion_test(
    clean: CleanSurvey,
    question: str,
    positive: str | Sequence[str] | None = None,
    claim: float = DEFAULT_CLAIM,
    alpha: float = DEFAULT_ALPHA,
) -> ProportionTest:
    """:func:`claim_test` among the respondents who answered ``question`` of a cleaned survey.

    ``positive`` may list several answers counted together (e.g. both options that include the system).
    For a multi-select (checkbox) question, a respondent counts as positive when they ticked any of the
    ``positive`` options, among everyone who ticked at least one option.
    """
    require_question(clean, question, CHOICE_ROLES)
    claim = check_claim(claim)
    alpha = check_alpha(alpha)
    if positive is None:
        positive = default_positive(clean, question)
    positives = [positive] if isinstance(positive, str) else list(positive)
    if not positives:
        raise SurveyError("Choose at least one positive answer.")
    answers = clean.data[question].dropna().astype(str)
    known = {a.lower(): a for a in clean.order[question]}
    resolved = []
    for label in positives:
        key = normalize_answer(str(label)).lower()
        if key not in known:
            raise SurveyError(
                f"{label!r} is not an answer to this question; answers: {', '.join(clean.order[question])}"
            )
        resolved.append(known[key])
    resolved = list(dict.fromkeys(resolved))
    if clean.roles.get(question) == ROLE_MULTI:
        k = int(selected_options(clean, question)[resolved].any(axis=1).sum())
    else:
        k = int(answers.isin(resolved).sum())
    return claim_test(k, len(answers), claim=claim, alpha=alpha, question=question, positive=resolved)


def verdict_sentence(t: ProportionTest) -> str:
    """One plain-language sentence a presenter can read out."""
    label = " or ".join(f"'{p}'" for p in t.positive)
    conf = 1 - t.alpha
    core = (
        f"{t.observed_positive} of {t.n} respondents ({t.observed_share:.1%}) answered {label}; "
        f"the {conf:.0%} confidence interval is {t.ci_low:.1%} to {t.ci_high:.1%}."
    )
    if t.reject_null:
        direction = "more" if t.observed_share > t.claim else "fewer"
        return (
            f"{core} At alpha = {t.alpha:g} this rejects the claim of {t.claim:.0%} "
            f"(chi-square = {t.chi2:.2f}, p = {t.p_value:.3g}): significantly {direction} respondents "
            "than claimed."
        )
    note = ""
    if t.power < 0.8:
        note = f" With {t.n} responses the test had only {t.power:.0%} power, so absence of evidence is weak."
    return (
        f"{core} At alpha = {t.alpha:g} the claim of {t.claim:.0%} is not rejected "
        f"(chi-square = {t.chi2:.2f}, p = {t.p_value:.3g}): the data neither clearly exceed nor clearly "
        f"fall short of it.{note}"
    )


@dataclass
class CrosstabResult:
    """Chi-square test of independence between two choice questions."""

    table: pd.DataFrame  # observed counts, rows x columns
    expected: pd.DataFrame
    chi2: float
    p_value: float
    dof: int
    low_expected_share: float  # fraction of cells with expected count < 5
    warning: str | None


def crosstab_test(clean: CleanSurvey, row: str, col: str) -> CrosstabResult:
    """Crosstab of two questions (respondents who answered both) with Pearson's chi-square test."""
    from scipy.stats import chi2_contingency

    require_question(clean, row, SINGLE_CHOICE_ROLES)
    require_question(clean, col, SINGLE_CHOICE_ROLES)
    if row == col:
        raise SurveyError("Pick two different questions for the crosstab.")
    both = clean.data[[row, col]].dropna()
    table = pd.crosstab(both[row], both[col], dropna=False)
    table = table.loc[(table.sum(axis=1) > 0), (table.sum(axis=0) > 0)]
    if table.shape[0] < 2 or table.shape[1] < 2:
        raise SurveyError(
            "A chi-square test needs at least two different answers to each question "
            f"({table.shape[0]} x {table.shape[1]} here)."
        )
    res = chi2_contingency(table.to_numpy(), correction=False)
    expected = pd.DataFrame(res.expected_freq, index=table.index, columns=table.columns)
    low = float((expected.to_numpy() < 5).mean())
    warning = None
    if low > 0:
        warning = (
            f"{low:.0%} of cells have an expected count below 5, so the chi-square approximation "
            "is unreliable; merge answers or collect more responses."
        )
    return CrosstabResult(
        table=table,
        expected=expected,
        chi2=float(res.statistic),
        p_value=float(res.pvalue),
        dof=int(res.dof),
        low_expected_share=low,
        warning=warning,
    )
