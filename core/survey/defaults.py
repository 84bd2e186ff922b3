"""Which questions the dashboard shows first: the study's own pairings (gender and ethnicity around the
yes/no question, an age or gender question against it), found by whole words (:func:`mentions`), so
"age" picks "Age group" and never "Preferred language" or "Usage"."""

from __future__ import annotations

from core.survey.cleaning import CleanSurvey
from core.survey.errors import SurveyError
from core.survey.roles import ROLE_CATEGORICAL, ROLE_YES_NO, SINGLE_CHOICE_ROLES, mentions


def default_test_question(clean: CleanSurvey) -> str:
    """The question the claim is tested on: the first yes/no question, else the first choice question."""
    return (clean.questions(ROLE_YES_NO) or _choice_questions(clean))[0]


def default_rings(clean: CleanSurvey) -> list[str]:
    """The sunburst's rings, inner first: gender and ethnicity questions, then the first yes/no question;
    where none is found, the first two choice questions."""
    rings = [q for q in clean.questions(ROLE_CATEGORICAL) if mentions(q, "gender", "ethnicity")]
    rings += clean.questions(ROLE_YES_NO)[:1]
    return rings[:3] or _choice_questions(clean)[:2]


def default_crosstab(clean: CleanSurvey) -> tuple[str, str]:
    """(rows, columns) of the crosstab: an age or gender question against a yes/no question, as in the
    study's write-up; else the first two choice questions (the first twice if there is only one)."""
    choice = _choice_questions(clean)
    single = clean.questions(*SINGLE_CHOICE_ROLES)
    row = next((q for q in single if mentions(q, "age", "gender")), choice[0])
    col = next((q for q in clean.questions(ROLE_YES_NO) if q != row), choice[min(1, len(choice) - 1)])
    return row, col


def default_group(clean: CleanSurvey) -> str:
    """The question sentiment is broken down by: a gender question, else the first choice question."""
    choice = _choice_questions(clean)
    return next((q for q in clean.questions(*SINGLE_CHOICE_ROLES) if mentions(q, "gender")), choice[0])


def _choice_questions(clean: CleanSurvey) -> list[str]:
    choice = clean.questions()
    if not choice:
        raise SurveyError("No multiple-choice or yes/no question was found in this file.")
    return choice
