"""core.survey.defaults: the dashboard's first questions are found by whole words and fit their chart."""

from __future__ import annotations

import pytest

from core import survey as sv


def _clean(header: str, *columns: list[str]) -> sv.CleanSurvey:
    lines = [header] + [",".join(cells) for cells in zip(*columns)]
    return sv.clean_survey(sv.read_survey("\n".join(lines).encode()))


N = 12
LANGUAGE = [["English", "French"][i % 2] for i in range(N)]
USAGE = [["daily", "weekly"][i % 2] for i in range(N)]
AGE = [["18-24", "25-34", "35-44"][i % 3] for i in range(N)]
GENDERS = [["Woman", "Man"][i % 2] for i in range(N)]
YES_NO = [["Yes", "No"][i % 4 == 0] for i in range(N)]
TICKED = [["\"Film, TV\"", "Film", "TV"][i % 3] for i in range(N)]


def test_age_is_a_whole_word_and_the_yes_no_question_is_tested():
    header = "Preferred language,Usage of streaming,Age group,Watch again?"
    clean = _clean(header, LANGUAGE, USAGE, AGE, YES_NO)
    assert clean.roles["Watch again?"] == sv.ROLE_YES_NO
    assert sv.default_crosstab(clean) == ("Age group", "Watch again?")
    assert sv.default_test_question(clean) == "Watch again?"
    assert sv.default_group(clean) == "Preferred language"  # no gender question: the first one
    assert sv.default_rings(clean) == ["Watch again?"]


def test_plural_gender_rings_and_group():
    clean = _clean("Your genders,Age,Watch again?", GENDERS, AGE, YES_NO)
    assert sv.default_rings(clean) == ["Your genders", "Watch again?"]
    assert sv.default_group(clean) == "Your genders"
    assert sv.default_crosstab(clean) == ("Your genders", "Watch again?")  # first age-or-gender question


def test_without_demographics_or_yes_no_the_first_questions_are_used():
    clean = _clean("Preferred language,Usage of streaming", LANGUAGE, USAGE)
    assert sv.default_rings(clean) == ["Preferred language", "Usage of streaming"]
    assert sv.default_crosstab(clean) == ("Preferred language", "Usage of streaming")
    assert sv.default_test_question(clean) == "Preferred language"
    one = _clean("Age group,Comment", AGE, [f"free words {i}" for i in range(N)])
    assert sv.default_crosstab(one) == ("Age group", "Age group")


def test_a_checkbox_question_is_not_a_crosstab_or_group_default():
    """Crosstabs and groups need one answer per respondent: an "age" checkbox question is passed over."""
    clean = _clean("Ages you watch with,Gender,Watch again?", TICKED, GENDERS, YES_NO)
    assert clean.roles["Ages you watch with"] == sv.ROLE_MULTI
    assert sv.default_crosstab(clean) == ("Gender", "Watch again?")


def test_no_choice_question_is_a_survey_error():
    clean = _clean("Comment", [f"free words {i}" for i in range(N)])
    with pytest.raises(sv.SurveyError, match="No multiple-choice"):
        sv.default_crosstab(clean)
