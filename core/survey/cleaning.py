"""Cleaning a parsed survey: role overrides, blanks per question, answers normalised (invisible characters
and Unicode forms never split one answer in two), checkbox answers split into options, one-off answers
folded into "Other", and one stable category order that every table and chart uses."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from core.answer_text import normalize_answer
from core.survey.errors import SurveyError
from core.survey.reading import Survey
from core.survey.roles import (
    CHOICE_ROLES,
    MULTI_SEPARATOR,
    ROLE_MULTI,
    ROLE_YES_NO,
    ROLES,
    YES_NO_WORDS,
    normalized,
    split_options,
)

OTHER = "Other"
_LEADING_NUMBER_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)")


@dataclass
class CleanSurvey:
    """Cleaned answers: choice columns as ordered pandas Categoricals (NaN = blank), free text as strings.

    A multi-select (checkbox) column holds each respondent's ticked options joined by ", " (NaN = blank);
    :func:`selected_options` gives one True/False column per option. ``folded[question]`` maps each
    original one-off answer (or option) to ``"Other"``; ``order[question]`` is the stable category (or
    option) order used by every table and chart.
    """

    data: pd.DataFrame
    roles: dict[str, str]
    folded: dict[str, dict[str, str]] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)

    def questions(self, *roles: str) -> list[str]:
        wanted = roles or CHOICE_ROLES
        return [c for c in self.data.columns if self.roles.get(c) in wanted]

    def answered(self, question: str) -> int:
        """How many respondents answered ``question`` (ticked at least one option of a checkbox question)."""
        return int(self.data[question].notna().sum())


def selected_options(clean: CleanSurvey, question: str) -> pd.DataFrame:
    """One bool column per option (in ``clean.order``) for the respondents who answered a multi-select
    question: True where they ticked it."""
    answers = clean.data[question].dropna().astype(str)
    ticked = {a: set(split_options(a)) for a in answers.unique()}
    return pd.DataFrame({o: answers.map({a: o in t for a, t in ticked.items()}).astype(bool)
                         for o in clean.order[question]}, index=answers.index)


def _option_counts(freq: pd.Series, options_of: dict[str, list[str]]) -> pd.Series:
    """How many respondents ticked each option, in first-seen order, from the counts of distinct answers."""
    counts: dict[str, int] = {}
    for answer, n in freq.items():
        for option in options_of[answer]:
            counts[option] = counts.get(option, 0) + int(n)
    return pd.Series(counts, dtype="int64")


def _clean_multi(raw: pd.Series, min_count: int, keep: set[str]
                 ) -> tuple[pd.Series, dict[str, str], list[str]]:
    """A checkbox column: (joined options with one-off options folded into "Other", folding, order).

    Worked on distinct answers, each split once: a column of 200,000 responses repeats a few dozen."""
    freq = raw[raw != ""].value_counts(sort=False)  # first-appearance order breaks count ties stably
    options_of = {a: split_options(a) for a in freq.index}
    mapping = _fold_counts(_option_counts(freq, options_of), min_count, keep)
    if mapping:
        options_of = {a: list(dict.fromkeys(mapping.get(o, o) for o in opts))
                      for a, opts in options_of.items()}
    joined = raw.map({a: MULTI_SEPARATOR.join(opts) for a, opts in options_of.items() if opts})
    order = category_order(_option_counts(freq, options_of), ROLE_MULTI)
    return joined.astype(object).where(joined.notna(), None), mapping, order


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
    return _fold_counts(answers[answers != ""].value_counts(), min_count, keep)


def _fold_counts(counts: pd.Series, min_count: int, keep: Iterable[str]) -> dict[str, str]:
    """:func:`fold_rare_answers` from the counts of each distinct answer (or checkbox option)."""
    if min_count <= 1 or counts.empty:
        return {}
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
        if role == ROLE_MULTI:
            out[col], folded[col], order[col] = _clean_multi(normalized(raw), min_count,
                                                            {normalize_answer(k) for k in keep.get(col, ())})
        elif role in CHOICE_ROLES:
            raw = normalized(raw)
            kept = {normalize_answer(k) for k in keep.get(col, ())}
            if role == ROLE_YES_NO:  # a lone "No" is an answer, not a typed-in "Other"
                kept |= {a for a in raw.unique() if a.lower() in YES_NO_WORDS}
            mapping = fold_rare_answers(raw, min_count=min_count, keep=kept)
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


def require_question(clean: CleanSurvey, question: str, roles: Sequence[str]) -> None:
    """Refuse a question that is not a column, or whose role is not one of ``roles``."""
    if question not in clean.data.columns:
        raise SurveyError(f"Unknown question: {question!r}")
    if clean.roles.get(question) not in roles:
        role = clean.roles.get(question)
        why = " (each respondent may tick several options)" if role == ROLE_MULTI else ""
        raise SurveyError(f"{question!r} is a {role} column{why}; this needs one of: {', '.join(roles)}.")


def find_question(columns: Sequence[str], text: str) -> str:
    """Exact column name, else the unique column containing ``text`` (case-insensitive); ``text`` is
    normalised as the column names are."""
    text = normalize_answer(text)
    if text in columns:
        return text
    hits = [c for c in columns if text.lower() in c.lower()]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise SurveyError(f"Unknown question: {text!r}")
    raise SurveyError(f"{text!r} matches {len(hits)} questions; be more specific.")
