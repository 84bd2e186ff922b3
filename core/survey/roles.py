"""Column roles of a survey export: what each column is (multiple choice, yes/no, free text, timestamp)."""

from __future__ import annotations

import re

import pandas as pd

ROLE_TIMESTAMP = "timestamp"
ROLE_CATEGORICAL = "categorical"
ROLE_YES_NO = "yes/no"
ROLE_FREE_TEXT = "free text"
ROLE_IGNORE = "ignore"
ROLES = (ROLE_CATEGORICAL, ROLE_YES_NO, ROLE_FREE_TEXT, ROLE_TIMESTAMP, ROLE_IGNORE)
CHOICE_ROLES = (ROLE_CATEGORICAL, ROLE_YES_NO)

# More distinct answers than this and a column is read as free text even if answers repeat.
MAX_CATEGORIES = 40

YES_NO_WORDS = frozenset({"yes", "no", "y", "n", "true", "false"})
_TIMESTAMP_RE = re.compile(r"^\s*\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}([ T]\d{1,2}:\d{2})?")


def detect_role(values: pd.Series, name: str = "") -> str:
    """Guess a column's role from its header and answers (categorical, yes/no, free text, timestamp)."""
    answers = values[values != ""]
    if answers.empty:
        return ROLE_IGNORE
    if "timestamp" in name.lower() or answers.head(200).str.match(_TIMESTAMP_RE).mean() >= 0.9:
        return ROLE_TIMESTAMP
    counts = answers.value_counts()
    lowered = counts.rename(index=lambda v: v.lower())
    yes_no_share = lowered[lowered.index.isin(YES_NO_WORDS)].sum() / len(answers)
    if len(counts) <= 4 and yes_no_share >= 0.9:
        return ROLE_YES_NO
    repeated_share = counts[counts >= 2].sum() / len(answers)
    if len(counts) <= MAX_CATEGORIES and repeated_share >= 0.5:
        return ROLE_CATEGORICAL
    return ROLE_FREE_TEXT


def mentions(question: str, *words: str) -> bool:
    """Whether ``question`` names any of ``words`` as a whole word ("age" matches "Age group", not
    "language"); a word also matches its plural ("genders")."""
    return any(re.search(rf"\b{re.escape(w)}s?\b", question, re.IGNORECASE) for w in words)
