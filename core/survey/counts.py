"""Exploration tables: answer counts and shares per question, and the nodes of a sunburst over a path."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from core.survey.cleaning import CleanSurvey, require_question, selected_options
from core.survey.errors import SurveyError
from core.survey.roles import CHOICE_ROLES, ROLE_MULTI, SINGLE_CHOICE_ROLES


def answer_counts(clean: CleanSurvey, question: str) -> pd.DataFrame:
    """Counts and shares of one question's answers (blanks dropped), in the stable category order.

    For a multi-select (checkbox) question each option is counted on its own: ``count`` respondents
    ticked it, and ``share`` is of the respondents who answered, so shares may add up to more than 1.
    """
    require_question(clean, question, CHOICE_ROLES)
    if clean.roles.get(question) == ROLE_MULTI:
        counts = selected_options(clean, question).sum(axis=0).astype(int)
        total = clean.answered(question)
    else:
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
    """{question: {answer: count}} for every multiple-choice and yes/no question."""
    return {
        q: dict(zip(t["answer"], (int(c) for c in t["count"])))
        for q in clean.questions()
        for t in [answer_counts(clean, q)]
    }


def sunburst_data(clean: CleanSurvey, path: Sequence[str]) -> pd.DataFrame:
    """Nodes of a sunburst over ``path``: ids, labels, parents and respondent counts (rows with a blank
    anywhere on the path are left out)."""
    if not path:
        raise SurveyError("Choose at least one column for the sunburst.")
    for q in path:
        require_question(clean, q, SINGLE_CHOICE_ROLES)
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
