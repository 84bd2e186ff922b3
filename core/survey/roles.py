"""Column roles of a survey export: what each column is (multiple choice, checkboxes, yes/no, free text,
timestamp). Roles are guessed from answers as :func:`core.answer_text.normalize_answer` folds them, so an
invisible character never makes one answer look like two."""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from core.answer_text import normalize_answer

ROLE_TIMESTAMP = "timestamp"
ROLE_CATEGORICAL = "categorical"
ROLE_YES_NO = "yes/no"
ROLE_FREE_TEXT = "free text"
ROLE_IGNORE = "ignore"
# A Google Forms checkbox question: each cell lists the options a respondent ticked, joined by ", ".
ROLE_MULTI = "multi-select"
ROLES = (ROLE_CATEGORICAL, ROLE_YES_NO, ROLE_MULTI, ROLE_FREE_TEXT, ROLE_TIMESTAMP, ROLE_IGNORE)
# Questions whose answers are counted and tested (a multi-select question option by option).
CHOICE_ROLES = (ROLE_CATEGORICAL, ROLE_YES_NO, ROLE_MULTI)
# One answer per respondent: what a sunburst ring, a crosstab axis or a sentiment group needs.
SINGLE_CHOICE_ROLES = (ROLE_CATEGORICAL, ROLE_YES_NO)
MULTI_SEPARATOR = ", "

# More distinct answers than this and a column is read as free text even if answers repeat.
MAX_CATEGORIES = 40

YES_NO_WORDS = frozenset({"yes", "no", "y", "n", "true", "false"})
_TIMESTAMP_RE = re.compile(r"^\s*\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}([ T]\d{1,2}:\d{2})?")


def normalized(values: pd.Series) -> pd.Series:
    """``values`` through :func:`normalize_answer`, once per distinct answer (choice columns repeat a few
    answers thousands of times)."""
    return values.map({v: normalize_answer(v) for v in values.unique()})


def split_options(answer: str) -> list[str]:
    """The options ticked in one checkbox answer, in order, each once ("TV, Movies" -> ["TV", "Movies"])."""
    return list(dict.fromkeys(o for o in (p.strip() for p in answer.split(MULTI_SEPARATOR)) if o))


def looks_multi_select(answers: pd.Series) -> bool:
    """True for a checkbox column: several answers combine options, and the options are fewer than the
    distinct answers (combinations reuse them), few, and nearly all ticked more than once.

    "Yes, definitely" among "Yes" and "No" is one answer: splitting it yields as many options as there
    are answers, so it stays a categorical column.
    """
    freq = answers.value_counts()  # worked on distinct answers: a column repeats a few thousands of times
    combined = int(freq[freq.index.str.contains(MULTI_SEPARATOR, regex=False)].sum())
    if combined < 2 or combined < 0.1 * len(answers):
        return False
    options: Counter = Counter()
    for answer, n in freq.items():
        for option in split_options(answer):
            options[option] += int(n)
    if not 2 <= len(options) <= MAX_CATEGORIES or len(options) >= len(freq):
        return False
    ticked = sum(options.values())
    return sum(n for n in options.values() if n >= 2) >= 0.9 * ticked


def detect_role(values: pd.Series, name: str = "") -> str:
    """Guess a column's role from its header and answers (categorical, multi-select, yes/no, free text,
    timestamp)."""
    answers = normalized(values[values != ""])
    answers = answers[answers != ""]
    if answers.empty:
        return ROLE_IGNORE
    if "timestamp" in name.lower() or answers.head(200).str.match(_TIMESTAMP_RE).mean() >= 0.9:
        return ROLE_TIMESTAMP
    counts = answers.value_counts()
    lowered = counts.rename(index=lambda v: v.lower())
    yes_no_share = lowered[lowered.index.isin(YES_NO_WORDS)].sum() / len(answers)
    if len(counts) <= 4 and yes_no_share >= 0.9:
        return ROLE_YES_NO
    if looks_multi_select(answers):
        return ROLE_MULTI
    repeated_share = counts[counts >= 2].sum() / len(answers)
    if len(counts) <= MAX_CATEGORIES and repeated_share >= 0.5:
        return ROLE_CATEGORICAL
    return ROLE_FREE_TEXT


def mentions(question: str, *words: str) -> bool:
    """Whether ``question`` names any of ``words`` as a whole word ("age" matches "Age group", not
    "language"); a word also matches its plural ("genders")."""
    return any(re.search(rf"\b{re.escape(w)}s?\b", question, re.IGNORECASE) for w in words)
