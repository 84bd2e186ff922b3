"""Survey analysis behind the hypothesis dashboard: loading, cleaning, exploration, tests, sentiment.

The seed study ("You Choose") showed viewers a video of the system and surveyed them with a Google Form.
Its headline claim was tested with a chi-square goodness-of-fit test of the observed Yes/No counts against
a claimed proportion (Pearson, 1900); this module reproduces that test and adds the exact binomial test,
the Wilson (1927) score interval and the power at the observed sample size (Cohen, 1988, effect size w).
Sentiment uses VADER (Hutto & Gilbert, 2014), a lexicon and rule-based model, with the authors' standard
+/-0.05 compound-score thresholds.

Everything here works on plain pandas objects and returns plain data or plotly figures; the Streamlit
page only wires widgets to these functions. Command line::

    python -m core.survey report CSV [--question TEXT] [--positive LABEL] [--claim P] [--alpha A] [--json]
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

# Bigger inputs are refused with a clear message rather than freezing the app.
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 500

ROLE_TIMESTAMP = "timestamp"
ROLE_CATEGORICAL = "categorical"
ROLE_YES_NO = "yes/no"
ROLE_FREE_TEXT = "free text"
ROLE_IGNORE = "ignore"
ROLES = (ROLE_CATEGORICAL, ROLE_YES_NO, ROLE_FREE_TEXT, ROLE_TIMESTAMP, ROLE_IGNORE)
CHOICE_ROLES = (ROLE_CATEGORICAL, ROLE_YES_NO)

OTHER = "Other"
DEFAULT_CLAIM = 0.7
DEFAULT_ALPHA = 0.05
# VADER authors' recommended cut-offs on the compound score.
DEFAULT_POSITIVE_THRESHOLD = 0.05
DEFAULT_NEGATIVE_THRESHOLD = -0.05
SENTIMENT_LABELS = ("positive", "neutral", "negative")

_YES_NO_WORDS = {"yes", "no", "y", "n", "true", "false"}
_TIMESTAMP_RE = re.compile(r"^\s*\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}([ T]\d{1,2}:\d{2})?")
_LEADING_NUMBER_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)")
# More distinct answers than this and a column is read as free text even if answers repeat.
MAX_CATEGORIES = 40


class SurveyError(ValueError):
    """Bad input with a one-line, user-facing message."""


# ----------------------------------------------------------------------------------------------------------
# Loading


@dataclass
class Survey:
    """A parsed survey export: every cell a stripped string ('' = blank) plus detected column roles."""

    frame: pd.DataFrame
    roles: dict[str, str]
    encoding: str  # "utf-8", "utf-8-sig" (with BOM) or "latin-1"
    delimiter: str  # "," or ";"

    @property
    def n_rows(self) -> int:
        return len(self.frame)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a CSV export, returning (text, encoding). Refuses binary data instead of guessing."""
    if not data or not data.strip():
        raise SurveyError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise SurveyError(
            f"The file is {len(data) / 1e6:.0f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB. "
            "Export fewer rows or columns."
        )
    head = data[:65536]
    if b"\x00" in head:
        raise SurveyError("This is not a CSV text file (it contains binary data).")
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        encoding = "latin-1"
        text = data.decode(encoding)
    sample = text[:65536]
    control = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n") or 0x7F <= ord(ch) < 0xA0)
    if control > max(2, 0.01 * len(sample)):
        raise SurveyError("This is not a CSV text file (it contains binary data).")
    return text, encoding


def _sniff_delimiter(text: str) -> str:
    """Comma or semicolon, whichever splits the header row (outside quotes) into more columns."""
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    counts = {}
    for delim in (",", ";"):
        try:
            counts[delim] = len(next(csv.reader([first_line], delimiter=delim)))
        except (csv.Error, StopIteration):
            counts[delim] = 0
    return ";" if counts[";"] > counts[","] else ","


def read_survey(source: bytes | str | Path) -> Survey:
    """Parse a Google Forms / CSV export (UTF-8, UTF-8 with BOM or Latin-1; comma or semicolon)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise SurveyError(f"No such file: {path}")
        if path.stat().st_size > MAX_BYTES:
            raise SurveyError(
                f"The file is {path.stat().st_size / 1e6:.0f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB."
            )
        data = path.read_bytes()
    else:
        data = bytes(source)
    text, encoding = decode_bytes(data)
    delimiter = _sniff_delimiter(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            on_bad_lines="error",
            nrows=MAX_ROWS + 1,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SurveyError(f"Could not read this file as CSV: {first}") from None
    if len(frame) > MAX_ROWS:
        raise SurveyError(f"The file has more than {MAX_ROWS:,} responses; split it or sample it first.")
    if frame.shape[1] > MAX_COLUMNS:
        raise SurveyError(f"The file has {frame.shape[1]} columns; the limit is {MAX_COLUMNS}.")
    frame.columns = [str(c).strip() or f"Column {i + 1}" for i, c in enumerate(frame.columns)]
    if frame.columns.duplicated().any():
        frame.columns = _dedupe(list(frame.columns))
    frame = frame.apply(lambda s: s.astype(str).str.strip()).reset_index(drop=True)
    if frame.empty:
        raise SurveyError("The file has a header row but no responses.")
    roles = {col: detect_role(frame[col], col) for col in frame.columns}
    return Survey(frame=frame, roles=roles, encoding=encoding, delimiter=delimiter)


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def detect_role(values: pd.Series, name: str = "") -> str:
    """Guess a column's role from its header and answers (categorical, yes/no, free text, timestamp)."""
    answers = values[values != ""]
    if answers.empty:
        return ROLE_IGNORE
    if "timestamp" in name.lower() or answers.head(200).str.match(_TIMESTAMP_RE).mean() >= 0.9:
        return ROLE_TIMESTAMP
    counts = answers.value_counts()
    lowered = counts.rename(index=lambda v: v.lower())
    yes_no_share = lowered[lowered.index.isin(_YES_NO_WORDS)].sum() / len(answers)
    if len(counts) <= 4 and yes_no_share >= 0.9:
        return ROLE_YES_NO
    repeated_share = counts[counts >= 2].sum() / len(answers)
    if len(counts) <= MAX_CATEGORIES and repeated_share >= 0.5:
        return ROLE_CATEGORICAL
    return ROLE_FREE_TEXT


# ----------------------------------------------------------------------------------------------------------
# Cleaning


@dataclass
class CleanSurvey:
    """Cleaned answers: choice columns as ordered pandas Categoricals (NaN = blank), free text as strings.

    ``folded[question]`` maps each original one-off answer to ``"Other"``; ``order[question]`` is the
    stable category order used by every table and chart.
    """

    data: pd.DataFrame
    roles: dict[str, str]
    folded: dict[str, dict[str, str]] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)

    def questions(self, *roles: str) -> list[str]:
        wanted = roles or CHOICE_ROLES
        return [c for c in self.data.columns if self.roles.get(c) in wanted]


def _shape(answer: str) -> str:
    """Answer with digits replaced, so '12-17 years old' matches the shape of '25-34 years old'."""
    return re.sub(r"\d+", "#", answer.lower())


def category_order(counts: pd.Series, role: str) -> list[str]:
    """Stable order: Yes before No; numeric prefixes ascending (age bands); else by count then first seen.

    ``counts`` must be in first-appearance order. "Other" always comes last.
    """
    names = [a for a in counts.index if a != OTHER]
    if role == ROLE_YES_NO:
        rank = {"yes": 0, "y": 0, "true": 0, "no": 1, "n": 1, "false": 1}
        ordered = sorted(names, key=lambda a: (rank.get(a.lower(), 2), names.index(a)))
    elif names and all(_LEADING_NUMBER_RE.match(a) for a in names):
        ordered = sorted(names, key=lambda a: (float(_LEADING_NUMBER_RE.match(a).group(1)), a))
    else:
        first_seen = {a: i for i, a in enumerate(names)}
        ordered = sorted(names, key=lambda a: (-int(counts[a]), first_seen[a]))
    if OTHER in counts.index:
        ordered.append(OTHER)
    return ordered


def fold_rare_answers(answers: pd.Series, min_count: int = 2, keep: Iterable[str] = ()) -> dict[str, str]:
    """Map one-off answers typed into a multiple-choice column (Google Forms "Other:") to "Other".

    An answer seen fewer than ``min_count`` times is folded unless it is listed in ``keep`` or has the
    same shape as a regular option (e.g. a lone '12-17 years old' among other age bands is kept).
    """
    if min_count <= 1:
        return {}
    counts = answers[answers != ""].value_counts()
    regular = counts[counts >= min_count]
    if regular.empty:
        return {}
    regular_shapes = {_shape(a) for a in regular.index}
    keep = set(keep)
    return {
        a: OTHER
        for a in counts[counts < min_count].index
        if a != OTHER and a not in keep and _shape(a) not in regular_shapes
    }


def clean_survey(
    survey: Survey,
    roles: dict[str, str] | None = None,
    min_count: int = 2,
    keep: dict[str, Sequence[str]] | None = None,
) -> CleanSurvey:
    """Drop blanks per question, fold one-off answers into "Other", fix a stable category order.

    ``roles`` overrides detected roles per column; ``keep[question]`` lists one-off answers not to fold.
    """
    merged = dict(survey.roles)
    for col, role in (roles or {}).items():
        if col not in merged:
            raise SurveyError(f"Unknown column: {col!r}")
        if role not in ROLES:
            raise SurveyError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}")
        merged[col] = role
    keep = keep or {}
    out: dict[str, pd.Series] = {}
    folded: dict[str, dict[str, str]] = {}
    order: dict[str, list[str]] = {}
    for col in survey.frame.columns:
        raw = survey.frame[col]
        role = merged[col]
        if role in CHOICE_ROLES:
            mapping = fold_rare_answers(raw, min_count=min_count, keep=keep.get(col, ()))
            values = raw.replace(mapping) if mapping else raw
            answered = values[values != ""]
            counts = answered.value_counts(sort=False)
            # value_counts(sort=False) keeps first-appearance order, which breaks count ties stably.
            cats = category_order(counts, role)
            out[col] = pd.Categorical(values.where(values != ""), categories=cats, ordered=True)
            folded[col] = mapping
            order[col] = cats
        else:
            out[col] = raw.where(raw != "")
    data = pd.DataFrame(out, index=survey.frame.index)
    return CleanSurvey(data=data, roles=merged, folded=folded, order=order)


def cleaned_csv_bytes(clean: CleanSurvey) -> bytes:
    """Cleaned answers as UTF-8 CSV (blanks empty, one-off answers replaced by "Other")."""
    return clean.data.to_csv(index=False).encode("utf-8")


# ----------------------------------------------------------------------------------------------------------
# Exploration


def answer_counts(clean: CleanSurvey, question: str) -> pd.DataFrame:
    """Counts and shares of one question's answers (blanks dropped), in the stable category order."""
    _require_question(clean, question, CHOICE_ROLES)
    counts = clean.data[question].value_counts(sort=False, dropna=True)
    counts = counts.reindex(clean.order[question], fill_value=0)
    total = int(counts.sum())
    return pd.DataFrame(
        {
            "answer": counts.index.astype(str),
            "count": counts.to_numpy(dtype=int),
            "share": counts.to_numpy(dtype=float) / total if total else 0.0,
        }
    )


def all_answer_counts(clean: CleanSurvey) -> dict[str, dict[str, int]]:
    return {
        q: dict(zip(t["answer"], (int(c) for c in t["count"])))
        for q in clean.questions()
        for t in [answer_counts(clean, q)]
    }


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

    _require_question(clean, row, CHOICE_ROLES)
    _require_question(clean, col, CHOICE_ROLES)
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


# ----------------------------------------------------------------------------------------------------------
# Hypothesis test


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
    """Test H0: share of ``positive`` answers == ``claim``, among respondents who answered ``question``.

    ``positive`` may list several answers counted together (e.g. both options that include the system).
    """
    from scipy.stats import binomtest, chisquare, ncx2
    from scipy.stats import chi2 as chi2_dist

    _require_question(clean, question, CHOICE_ROLES)
    claim = _check_open_unit(claim, "claim")
    alpha = _check_open_unit(alpha, "alpha")
    if positive is None:
        positive = default_positive(clean, question)
    positives = [positive] if isinstance(positive, str) else list(positive)
    if not positives:
        raise SurveyError("Choose at least one positive answer.")
    answers = clean.data[question].dropna().astype(str)
    known = {a.lower(): a for a in clean.order[question]}
    resolved = []
    for label in positives:
        if label.lower() not in known:
            raise SurveyError(
                f"{label!r} is not an answer to this question; answers: {', '.join(clean.order[question])}"
            )
        resolved.append(known[label.lower()])
    n = int(len(answers))
    if n == 0:
        raise SurveyError(f"Nobody answered {question!r}.")
    k = int(answers.isin(resolved).sum())
    observed = np.array([k, n - k], dtype=float)
    expected = np.array([n * claim, n * (1 - claim)])
    gof = chisquare(observed, f_exp=expected)
    chi2_value, p_value = float(gof.statistic), float(gof.pvalue)
    binom = binomtest(k, n, claim, alternative="two-sided")
    ci = binom.proportion_ci(confidence_level=1 - alpha, method="wilson")
    share = k / n
    # Cohen's w for the observed share; noncentral chi-square with lambda = n w^2 gives the power.
    w2 = (share - claim) ** 2 / claim + ((1 - share) - (1 - claim)) ** 2 / (1 - claim)
    critical = chi2_dist.ppf(1 - alpha, df=1)
    power = float(ncx2.sf(critical, df=1, nc=n * w2)) if w2 > 0 else alpha
    reject = bool(p_value < alpha)
    result = ProportionTest(
        question=question,
        positive=resolved,
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
        reject_null=reject,
        verdict="",
    )
    result.verdict = verdict_sentence(result)
    return result


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
        f"{core} At alpha = {t.alpha:g} the data are consistent with the claim of {t.claim:.0%} "
        f"(chi-square = {t.chi2:.2f}, p = {t.p_value:.3g}); the claim is not rejected.{note}"
    )


def _check_open_unit(value: float, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise SurveyError(f"{name} must be a number strictly between 0 and 1.") from None
    if not (0.0 < value < 1.0) or math.isnan(value):
        raise SurveyError(f"{name} must be strictly between 0 and 1 (got {value:g}).")
    return value


def _require_question(clean: CleanSurvey, question: str, roles: Sequence[str]) -> None:
    if question not in clean.data.columns:
        raise SurveyError(f"Unknown question: {question!r}")
    if clean.roles.get(question) not in roles:
        raise SurveyError(
            f"{question!r} is a {clean.roles.get(question)} column; this needs one of: {', '.join(roles)}."
        )


def find_question(columns: Sequence[str], text: str) -> str:
    """Exact column name, else the unique column containing ``text`` (case-insensitive)."""
    if text in columns:
        return text
    hits = [c for c in columns if text.lower() in c.lower()]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise SurveyError(f"Unknown question: {text!r}")
    raise SurveyError(f"{text!r} matches {len(hits)} questions; be more specific.")


# ----------------------------------------------------------------------------------------------------------
# Sentiment


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment_scores(
    texts: pd.Series,
    positive_threshold: float = DEFAULT_POSITIVE_THRESHOLD,
    negative_threshold: float = DEFAULT_NEGATIVE_THRESHOLD,
) -> pd.DataFrame:
    """VADER compound score and label per non-blank answer (index kept to join with other columns).

    Each distinct answer is scored once, so repeated answers cost nothing.
    """
    if negative_threshold > positive_threshold:
        raise SurveyError("The negative threshold must not exceed the positive threshold.")
    answers = texts.dropna().astype(str).str.strip()
    answers = answers[answers != ""]
    analyzer = _vader()
    unique = pd.unique(answers.to_numpy())
    score_of = {t: analyzer.polarity_scores(t)["compound"] for t in unique}
    compound = answers.map(score_of).astype(float)
    return pd.DataFrame(
        {
            "text": answers,
            "compound": compound,
            "label": label_sentiment(compound, positive_threshold, negative_threshold),
        }
    )


def label_sentiment(compound: pd.Series, positive_threshold: float, negative_threshold: float) -> pd.Series:
    labels = np.where(
        compound >= positive_threshold,
        "positive",
        np.where(compound <= negative_threshold, "negative", "neutral"),
    )
    return pd.Series(pd.Categorical(labels, categories=SENTIMENT_LABELS), index=compound.index)


def sentiment_summary(scores: pd.DataFrame) -> dict[str, int]:
    counts = scores["label"].value_counts().reindex(SENTIMENT_LABELS, fill_value=0)
    return {"n": int(len(scores)), **{k: int(v) for k, v in counts.items()}}


def sentiment_extremes(scores: pd.DataFrame, k: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``k`` most positive and ``k`` most negative answers (stable on ties)."""
    ordered = scores.sort_values("compound", kind="stable")
    return (
        ordered.iloc[::-1].head(k)[["text", "compound"]].reset_index(drop=True),
        ordered.head(k)[["text", "compound"]].reset_index(drop=True),
    )


def sentiment_by_group(clean: CleanSurvey, scores: pd.DataFrame, group: str) -> pd.DataFrame:
    """Per answer of ``group``: n, mean compound score and positive/neutral/negative shares."""
    _require_question(clean, group, CHOICE_ROLES)
    joined = scores.join(clean.data[group].rename("group")).dropna(subset=["group"])
    if joined.empty:
        return pd.DataFrame(columns=["group", "n", "mean_compound", *SENTIMENT_LABELS])
    shares = pd.crosstab(joined["group"], joined["label"], normalize="index", dropna=False)
    shares = shares.reindex(columns=list(SENTIMENT_LABELS), fill_value=0.0)
    stats = joined.groupby("group", observed=True)["compound"].agg(["size", "mean"])
    out = stats.join(shares, how="left").reset_index()
    out.columns = ["group", "n", "mean_compound", *SENTIMENT_LABELS]
    out["group"] = out["group"].astype(str)
    return out


# Filler words of survey answers on top of the word cloud's English stopwords.
EXTRA_STOPWORDS = frozenset(
    "think would could might people one will may also really much even thing things way lot get make "
    "see us someone something".split()
)


def word_cloud_png(
    texts: Iterable[str],
    width: int = 800,
    height: int = 400,
    extra_stopwords: Iterable[str] = (),
    seed: int = 0,
    max_words: int = 100,  # the library's default of 200 doubles the layout time for barely legible words
) -> bytes:
    """PNG bytes of a word cloud (English stopwords removed); deterministic for a given seed."""
    from wordcloud import STOPWORDS, WordCloud

    text = " ".join(t for t in texts if isinstance(t, str) and t.strip())
    stop = set(STOPWORDS) | set(EXTRA_STOPWORDS) | {w.lower() for w in extra_stopwords}
    if not any(w.lower() not in stop for w in re.findall(r"[A-Za-z']{2,}", text)):
        raise SurveyError("There are no words left for a word cloud once stopwords are removed.")
    cloud = WordCloud(
        width=width,
        height=height,
        background_color="white",
        stopwords=stop,
        collocations=False,
        random_state=seed,
        colormap="viridis",
        max_words=max_words,
    ).generate(text)
    buf = io.BytesIO()
    cloud.to_image().save(buf, format="PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------------------
# Figures (plotly; no Streamlit here)


def counts_figure(clean: CleanSurvey, question: str):
    import plotly.graph_objects as go

    table = answer_counts(clean, question)
    fig = go.Figure(
        go.Bar(
            x=table["count"],
            y=_short_labels(table["answer"], 40),
            hovertext=table["answer"],
            orientation="h",
            text=[f"{c} ({s:.0%})" for c, s in zip(table["count"], table["share"])],
            textposition="auto",
            marker_color="#4C78A8",
        )
    )
    fig.update_layout(
        title=_wrap(question),
        yaxis={"autorange": "reversed"},
        xaxis_title="responses",
        height=140 + 34 * len(table),
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
    )
    return fig


def sunburst_data(clean: CleanSurvey, path: Sequence[str]) -> pd.DataFrame:
    """Nodes of a sunburst over ``path``: ids, labels, parents and respondent counts (rows with a blank
    anywhere on the path are left out)."""
    if not path:
        raise SurveyError("Choose at least one column for the sunburst.")
    for q in path:
        _require_question(clean, q, CHOICE_ROLES)
    if len(set(path)) != len(path):
        raise SurveyError("Each column may appear only once in the sunburst path.")
    rows = clean.data[list(path)].dropna()
    if rows.empty:
        raise SurveyError("No respondent answered every question on this path.")
    nodes = []
    for depth in range(1, len(path) + 1):
        level = rows.groupby(list(path[:depth]), observed=True, sort=True).size()
        for key, count in level.items():
            key = key if isinstance(key, tuple) else (key,)
            labels = [str(k) for k in key]
            nodes.append(
                {
                    "id": json.dumps(labels),
                    "label": labels[-1],
                    "parent": json.dumps(labels[:-1]) if depth > 1 else "",
                    "count": int(count),
                }
            )
    return pd.DataFrame(nodes)


def sunburst_figure(clean: CleanSurvey, path: Sequence[str]):
    import plotly.graph_objects as go

    nodes = sunburst_data(clean, path)
    fig = go.Figure(
        go.Sunburst(
            ids=nodes["id"],
            labels=nodes["label"],
            parents=nodes["parent"],
            values=nodes["count"],
            branchvalues="total",
            hovertemplate="%{label}<br>%{value} respondents<br>%{percentRoot:.1%} of all<extra></extra>",
        )
    )
    fig.update_layout(title=" → ".join(_short(q) for q in path), height=560, margin={"t": 50, "l": 0, "r": 0})
    return fig


def crosstab_figure(result: CrosstabResult, row: str, col: str):
    import plotly.graph_objects as go

    table = result.table
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=_short_labels(table.columns, 32),
            y=_short_labels(table.index, 32),
            text=table.to_numpy(),
            texttemplate="%{text}",
            colorscale="Blues",
            hovertemplate="%{y} / %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"χ² = {result.chi2:.2f}, dof = {result.dof}, p = {result.p_value:.3g}",
        xaxis_title=_short(col),
        yaxis_title=_short(row),
        yaxis={"autorange": "reversed"},
        height=180 + 40 * table.shape[0],
    )
    return fig


def proportion_figure(t: ProportionTest):
    import plotly.graph_objects as go

    fig = go.Figure()
    names = ["positive", "other answers"]
    fig.add_bar(
        name="observed", x=names, y=[t.observed_positive, t.observed_negative], marker_color="#4C78A8"
    )
    fig.add_bar(
        name=f"expected at {t.claim:.0%}",
        x=names,
        y=[t.expected_positive, t.expected_negative],
        marker_color="#F58518",
    )
    fig.update_layout(
        barmode="group", title="Observed vs claimed counts", yaxis_title="responses", height=360
    )
    return fig


def sentiment_histogram(scores: pd.DataFrame, positive_threshold: float, negative_threshold: float):
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Histogram(
            x=scores["compound"], xbins={"start": -1, "end": 1.0001, "size": 0.1}, marker_color="#54A24B"
        )
    )
    for x in (negative_threshold, positive_threshold):
        fig.add_vline(x=x, line_dash="dash", line_color="grey")
    fig.update_layout(
        title="VADER compound scores", xaxis_title="compound score", yaxis_title="answers", height=340
    )
    return fig


def sentiment_group_figure(by_group: pd.DataFrame, group: str):
    import plotly.graph_objects as go

    colors = {"positive": "#54A24B", "neutral": "#BAB0AC", "negative": "#E45756"}
    fig = go.Figure()
    for label in SENTIMENT_LABELS:
        fig.add_bar(
            name=label, x=by_group[label], y=by_group["group"], orientation="h", marker_color=colors[label]
        )
    fig.update_layout(
        barmode="stack",
        title=f"Sentiment by {_short(group)}",
        xaxis_tickformat=".0%",
        yaxis={"autorange": "reversed"},
        height=160 + 34 * len(by_group),
    )
    return fig


def figure_html(fig) -> str:
    """Stand-alone HTML of a figure (plotly.js embedded so it opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True)


def _short(question: str, limit: int = 48) -> str:
    return question if len(question) <= limit else question[: limit - 1] + "…"


def _short_labels(labels: Iterable, limit: int) -> list[str]:
    """Shortened axis labels, or the full ones if shortening would merge two categories."""
    full = [str(x) for x in labels]
    short = [_short(x, limit) for x in full]
    return short if len(set(short)) == len(set(full)) else full


def _wrap(text: str, width: int = 70) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "<br>".join(lines)


# ----------------------------------------------------------------------------------------------------------
# Summary and command line


def summary_markdown(
    clean: CleanSurvey,
    test: ProportionTest | None = None,
    sentiment: dict | None = None,
    sentiment_column: str | None = None,
    title: str = "Survey summary",
) -> str:
    """One-page Markdown summary of the findings."""
    n_rows = len(clean.data)
    lines = [f"# {title}", "", f"{n_rows} responses, {len(clean.questions())} multiple-choice questions.", ""]
    if test is not None:
        lines += [
            "## Hypothesis test",
            "",
            f"**Question:** {test.question}  ",
            f"**Positive answer:** {', '.join(test.positive)}  ",
            f"**Claim:** {test.claim:.0%} · **alpha:** {test.alpha:g}",
            "",
            "| | positive | other | n |",
            "|---|---:|---:|---:|",
            f"| observed | {test.observed_positive} | {test.observed_negative} | {test.n} |",
            f"| expected | {test.expected_positive:.1f} | {test.expected_negative:.1f} | {test.n} |",
            "",
            f"- Chi-square goodness of fit: χ² = {test.chi2:.4f}, p = {test.p_value:.6g}",
            f"- Exact binomial test: p = {test.binomial_p_value:.6g}",
            f"- Wilson {1 - test.alpha:.0%} CI: {test.ci_low:.1%} – {test.ci_high:.1%}",
            f"- Power at n = {test.n}: {test.power:.0%}",
            "",
            f"**Verdict:** {test.verdict}",
            "",
        ]
    lines += ["## Answers per question", ""]
    for q in clean.questions():
        table = answer_counts(clean, q)
        parts = ", ".join(
            f"{a} {c} ({s:.0%})" for a, c, s in zip(table["answer"], table["count"], table["share"])
        )
        lines.append(f"- **{q}** (n = {int(table['count'].sum())}): {parts}")
        if clean.folded.get(q):
            lines.append(f'  - {len(clean.folded[q])} one-off answer(s) folded into "{OTHER}".')
    lines.append("")
    if sentiment and sentiment_column:
        n = max(sentiment["n"], 1)
        lines += [
            "## Sentiment",
            "",
            f"VADER (lexicon and rule-based; compound ≥ {sentiment.get('positive_threshold', 0.05):g} "
            f"positive, ≤ {sentiment.get('negative_threshold', -0.05):g} negative) on “{sentiment_column}”: "
            f"{sentiment['positive']}/{sentiment['n']} positive ({sentiment['positive'] / n:.0%}), "
            f"{sentiment['neutral']} neutral, {sentiment['negative']} negative.",
            "",
        ]
    return "\n".join(lines)


def summary_html(markdown_text: str, title: str = "Survey summary") -> str:
    """Minimal self-contained HTML rendering of :func:`summary_markdown` output."""
    body, in_list, in_table = [], False, False

    def inline(s: str) -> str:
        s = html.escape(s)
        return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)

    for raw in markdown_text.splitlines():
        line = raw.rstrip()
        if in_list and not line.startswith(("- ", "  - ")):
            body.append("</ul>")
            in_list = False
        if in_table and not line.startswith("|"):
            body.append("</table>")
            in_table = False
        if line.startswith("# "):
            body.append(f"<h1>{inline(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{inline(line[3:])}</h2>")
        elif line.startswith(("- ", "  - ")):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{inline(line.strip()[2:])}</li>")
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("-:") for c in cells):
                continue
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells) + "</tr>")
        elif line:
            body.append(f"<p>{inline(line)}</p>")
    if in_list:
        body.append("</ul>")
    if in_table:
        body.append("</table>")
    style = (
        "body{font-family:sans-serif;max-width:52em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse}td{border:1px solid #ccc;padding:2px 8px}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>"
    )


def build_report(
    path: str | Path,
    question: str | None = None,
    positive: Sequence[str] | None = None,
    claim: float = DEFAULT_CLAIM,
    alpha: float = DEFAULT_ALPHA,
) -> dict:
    """Everything the CLI prints, as plain JSON-ready data."""
    claim = _check_open_unit(claim, "claim")
    alpha = _check_open_unit(alpha, "alpha")
    survey = read_survey(path)
    clean = clean_survey(survey)
    if question is None:
        yes_no = clean.questions(ROLE_YES_NO)
        if not yes_no:
            raise SurveyError("No yes/no question found; pass --question.")
        question = yes_no[0]
    else:
        question = find_question(list(clean.data.columns), question)
    test = proportion_test(
        clean, question, positive=list(positive) if positive else None, claim=claim, alpha=alpha
    )
    report = {
        "n_rows": survey.n_rows,
        "encoding": survey.encoding,
        "delimiter": survey.delimiter,
        "roles": survey.roles,
        "questions": all_answer_counts(clean),
        "folded_to_other": {q: sorted(m) for q, m in clean.folded.items() if m},
        "test": {
            k: v
            for k, v in test.to_dict().items()
            if k
            in {
                "question",
                "positive",
                "claim",
                "observed_positive",
                "observed_negative",
                "expected_positive",
                "expected_negative",
                "chi2",
                "p_value",
                "binomial_p_value",
                "ci_low",
                "ci_high",
                "reject_null",
                "n",
                "alpha",
                "power",
                "observed_share",
                "verdict",
            }
        },
    }
    sentiment = {}
    for col in clean.questions(ROLE_FREE_TEXT):
        scores = sentiment_scores(clean.data[col])
        if len(scores):
            sentiment[col] = {"method": "VADER compound, +/-0.05", **sentiment_summary(scores)}
    report["sentiment"] = sentiment
    return report


def format_report(report: dict) -> str:
    t = report["test"]
    lines = [f"{report['n_rows']} responses ({report['encoding']}, delimiter {report['delimiter']!r})", ""]
    for q, counts in report["questions"].items():
        total = sum(counts.values())
        lines.append(f"{q}  (n = {total})")
        for a, c in counts.items():
            lines.append(f"  {c:5d}  {c / total if total else 0:6.1%}  {a}")
    lines += ["", f"Hypothesis test: {t['question']}"]
    positive = t["positive"] if isinstance(t["positive"], str) else " or ".join(t["positive"])
    lines += [
        f"  positive answer: {positive}; claim {t['claim']:g}; alpha {t['alpha']:g}",
        f"  observed {t['observed_positive']} / {t['observed_negative']}, "
        f"expected {t['expected_positive']:.1f} / {t['expected_negative']:.1f}",
        f"  chi-square goodness of fit: chi2 = {t['chi2']:.4f}, p = {t['p_value']!r}",
        f"  exact binomial p = {t['binomial_p_value']:.6g}; "
        f"Wilson CI {t['ci_low']:.4f} - {t['ci_high']:.4f}; power {t['power']:.2f}",
        f"  {t['verdict']}",
    ]
    for col, s in report.get("sentiment", {}).items():
        lines.append(
            f"Sentiment ({s['method']}) of '{col}': {s['positive']}/{s['n']} positive, "
            f"{s['neutral']} neutral, {s['negative']} negative"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.survey", description="Survey analysis and hypothesis test."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="answer counts, chi-square test of a claim, sentiment")
    rep.add_argument("csv", metavar="CSV")
    rep.add_argument("--question", help="column name or a unique part of it (default: first yes/no question)")
    rep.add_argument(
        "--positive",
        action="append",
        metavar="LABEL",
        help="answer counted as positive (default Yes / most common); repeat to combine answers",
    )
    rep.add_argument("--claim", type=float, default=DEFAULT_CLAIM, help="claimed proportion, 0 < P < 1")
    rep.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="significance level, 0 < A < 1")
    rep.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        report = build_report(args.csv, args.question, args.positive, args.claim, args.alpha)
    except SurveyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the CLI promises one line, never a traceback
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
