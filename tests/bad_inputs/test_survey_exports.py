"""Bad input, round 2, class 2 (issue 23): survey exports as people have them.

A Google Forms checkbox question puts every ticked option in one cell ("TV, Movies"): it is a set of
options, split, counted and tested option by option. Answers that differ only by invisible characters
(zero-width space, NBSP, bidi marks) or Unicode normal form are one answer, in the survey reader and in
the live vote's ballots alike (one function, core.answer_text.normalize_answer). Every export is
generated here, with the expected counts computed independently of the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import random
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import survey as sv
from core.answer_text import normalize_answer
from tests.bad_inputs.conftest import assert_refused, run_cli

PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip

# How the same "Yes" arrives from phones, spreadsheets and copy-paste.
INVISIBLE_VARIANTS = [
    "Yes", "Yes\u200b", "\u200bYes", "Ye\u200bs", "\u200eYes", "Yes\u200f", "\u202aYes\u202c",
    "\u2066Yes\u2069", "\ufeffYes",
    "Yes\u00a0", "\u00a0Yes", "Yes\u2060", "Yes\u00ad", "Ｙｅｓ", "Yes\u3000", "Y\u200des",
]  # fmt: skip


def _csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
    return buf.getvalue().encode("utf-8")


def _report(path, *args) -> dict:
    result = run_cli("core.survey", "report", path, *map(str, args), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ------------------------------------------------------------------------------ invisible characters


def test_the_issue_example_counts_25_of_40(tmp_path):
    """'Yes' and 'Yes' + U+200B were counted apart: 13 of 40 instead of 25 of 40."""
    answers = ["Yes"] * 13 + ["Yes\u200b"] * 12 + ["No"] * 15
    random.Random(23).shuffle(answers)
    rows = [[f"2026/03/02 10:{i:02d}:00 AM GMT+1", a, "ok"] for i, a in enumerate(answers)]
    path = tmp_path / "forms.csv"
    path.write_bytes(_csv(["Timestamp", "Would you watch it?", "Comment"], rows))
    report = _report(path)
    assert report["questions"]["Would you watch it?"] == {"Yes": 25, "No": 15}
    assert report["test"]["observed_positive"] == 25 and report["test"]["n"] == 40


@pytest.mark.parametrize("seed", range(4))
def test_every_invisible_variant_is_the_same_answer(seed, tmp_path):
    rng = random.Random(seed)
    yes = [rng.choice(INVISIBLE_VARIANTS) for _ in range(rng.randint(20, 40))]
    no_variants = ["No", "No\u200b", "\u200eNo", "N\u00ado", "Ｎｏ", " No "]
    no = [rng.choice(no_variants) for _ in range(rng.randint(5, 30))]
    cells = yes + no
    rng.shuffle(cells)
    # The question header itself carries an invisible mark in one export, and --question finds it.
    header = ["Timestamp", "Convinced\u200b?" if seed % 2 else "Convinced?"]
    path = tmp_path / f"variants-{seed}.csv"
    rows = [[f"2026/03/0{1 + seed} 9:{i % 60:02d}:00", c] for i, c in enumerate(cells)]
    path.write_bytes(_csv(header, rows, delimiter=";" if seed == 3 else ","))
    report = _report(path, "--question", "Convinced?")
    assert report["questions"]["Convinced?"] == {"Yes": len(yes), "No": len(no)}
    assert report["roles"]["Convinced?"] == sv.ROLE_YES_NO


def test_composed_and_decomposed_forms_are_one_answer():
    cafe_nfc, cafe_nfd = unicodedata.normalize("NFC", "Café"), unicodedata.normalize("NFD", "Café")
    assert cafe_nfc != cafe_nfd
    cells = [cafe_nfc] * 6 + [cafe_nfd] * 5 + ["Tea"] * 4
    clean = sv.clean_survey(sv.read_survey(_csv(["Drink"], [[c] for c in cells])))
    counts = sv.answer_counts(clean, "Drink")
    assert dict(zip(counts["answer"], counts["count"])) == {"Café": 11, "Tea": 4}


@PROPERTY
@given(text=st.text(max_size=60))
def test_normalize_answer_is_idempotent_and_drops_every_format_character(text):
    once = normalize_answer(text)
    assert normalize_answer(once) == once
    assert not any(unicodedata.category(ch) == "Cf" for ch in once)
    assert once == once.strip() and "  " not in once and "\n" not in once


@PROPERTY
@given(base=st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=20),
       marks=st.lists(st.sampled_from(["\u200b", "\u200e", "\u200f", "\u2060", "\ufeff", "\u00ad", "\u202a",
                                       "\u2066", "\u00a0"]), max_size=4),
       where=st.lists(st.integers(0, 20), max_size=4))
def test_invisible_marks_anywhere_never_change_an_answer(base, marks, where):
    decorated = list(base)
    for mark, pos in zip(marks, where):
        decorated.insert(min(pos, len(decorated)), mark)
    text = "".join(decorated)
    expected = base if "\u00a0" not in marks else normalize_answer(text)
    assert normalize_answer(text) == expected


# ------------------------------------------------------------------------------ checkbox questions

OPTIONS = ["TV", "Movies", "Streaming series", "News", "Video games"]


def _checkbox_export(seed: int, n: int = 60, invisible: bool = False):
    """A Google Forms export with a checkbox question; returns (bytes, per-option counts, respondents)."""
    rng = random.Random(seed)
    rows, counts, answered = [], dict.fromkeys(OPTIONS, 0), 0
    for i in range(n):
        ticked = [o for o in OPTIONS if rng.random() < 0.45]  # Forms keeps the form's option order
        for o in ticked:
            counts[o] += 1
        answered += bool(ticked)
        cell = ", ".join(ticked)
        if invisible and ticked and rng.random() < 0.3:
            cell = cell.replace(", ", ",\u00a0", 1) + "\u200b"
        rows.append([f"2026/03/02 {9 + i // 60}:{i % 60:02d}:00 AM GMT+1", cell,
                     rng.choice(["Yes", "No", "Yes"]), f"comment {i}, with a comma"])
    header = ["Timestamp", "What do you watch? (tick all that apply)", "Would you use it?", "Anything else?"]
    return _csv(header, rows), counts, answered


@pytest.mark.parametrize("seed, invisible", [(0, False), (1, False), (2, True), (3, True)])
def test_checkbox_questions_are_split_and_counted_per_option(seed, invisible):
    data, counts, answered = _checkbox_export(seed, invisible=invisible)
    survey = sv.read_survey(data)
    question = "What do you watch? (tick all that apply)"
    assert survey.roles[question] == sv.ROLE_MULTI
    assert survey.roles["Anything else?"] == sv.ROLE_FREE_TEXT  # commas in free text are not options
    clean = sv.clean_survey(survey)
    table = sv.answer_counts(clean, question)
    assert dict(zip(table["answer"], table["count"])) == {o: c for o, c in counts.items() if c}
    assert list(table["count"]) == sorted(table["count"], reverse=True)  # most ticked first
    for share, count in zip(table["share"], table["count"]):
        assert share == pytest.approx(count / answered)
    assert clean.answered(question) == answered


@pytest.mark.parametrize("positive", [["Movies"], ["TV", "News"], ["video games"]])
def test_checkbox_options_are_tested_per_respondent(positive, tmp_path):
    data, counts, answered = _checkbox_export(7)
    path = tmp_path / "checkbox.csv"
    path.write_bytes(data)
    rows = list(csv.reader(io.StringIO(data.decode())))[1:]
    wanted = {p.lower() for p in positive}
    expected = sum(1 for r in rows if any(o.lower() in wanted for o in r[1].split(", ")))
    args = [a for p in positive for a in ("--positive", p)]
    report = _report(path, "--question", "What do you watch", "--claim", "0.5", *args)
    assert report["test"]["observed_positive"] == expected and report["test"]["n"] == answered
    assert report["questions"]["What do you watch? (tick all that apply)"]["TV"] == counts["TV"]


def test_a_checkbox_option_ticked_once_is_folded_and_a_cell_never_counts_an_option_twice():
    rows = [["TV, Movies"], ["TV"], ["Movies, TV"], ["TV, Movies, My cousin's vlog"], ["Movies"], ["TV, TV"]]
    clean = sv.clean_survey(sv.read_survey(_csv(["Watch"], rows)), roles={"Watch": sv.ROLE_MULTI})
    table = sv.answer_counts(clean, "Watch")
    assert dict(zip(table["answer"], table["count"])) == {"TV": 5, "Movies": 4, sv.OTHER: 1}
    assert clean.folded["Watch"] == {"My cousin's vlog": sv.OTHER}


@pytest.mark.parametrize("cells", [
    ["Yes, definitely", "No", "Yes, definitely", "No", "Maybe", "Maybe"],  # one answer with a comma
    ["No, never", "No, not now", "Yes", "Yes", "No, never", "No, not now"],
    ["18-24, student", "25-34, employed", "18-24, student", "25-34, employed"],
])  # fmt: skip
def test_answers_containing_a_comma_are_not_taken_for_checkboxes(cells):
    survey = sv.read_survey(_csv(["Q"], [[c] for c in cells]))
    assert survey.roles["Q"] != sv.ROLE_MULTI


def test_a_checkbox_question_cannot_be_a_sunburst_ring_or_crosstab_axis(tmp_path):
    data, _, _ = _checkbox_export(4)
    clean = sv.clean_survey(sv.read_survey(data))
    q = "What do you watch? (tick all that apply)"
    with pytest.raises(sv.SurveyError, match="multi-select"):
        sv.sunburst_data(clean, [q])
    with pytest.raises(sv.SurveyError, match="multi-select"):
        sv.crosstab_test(clean, q, "Would you use it?")
    # and a poll cannot ask it: refused, never a silently dropped column
    path = tmp_path / "checkbox.csv"
    path.write_bytes(data)
    result = run_cli("core.vote", "open", "--db", tmp_path / "v.sqlite3", "--questions-from", path)
    assert_refused(result, "checkbox")


def test_the_cleaned_export_keeps_the_options_of_each_respondent():
    data, _, _ = _checkbox_export(5, invisible=True)
    clean = sv.clean_survey(sv.read_survey(data))
    back = list(csv.DictReader(io.StringIO(sv.cleaned_csv_bytes(clean).decode())))
    original = list(csv.DictReader(io.StringIO(data.decode())))
    q = "What do you watch? (tick all that apply)"
    for got, raw in zip(back, original, strict=True):
        assert got[q] == normalize_answer(raw[q]).replace(",\u00a0", ", ")
        assert all("\u200b" not in v for v in got.values())


# ------------------------------------------------------------------------------ ballots, the same way


@pytest.mark.parametrize("variant", INVISIBLE_VARIANTS)
def test_ballots_normalise_like_the_survey_reader(variant, tmp_path):
    from core import vote

    db = vote.open_db(tmp_path / "v.sqlite3")
    poll = vote.open_poll(db, [{"text": "Would you watch it?", "kind": "yes/no"},
                               {"text": "Where?", "kind": "choice", "choices": ["At home", "Café"]}])
    cafe = unicodedata.normalize("NFD", "Café") + "\u200b"
    receipt = vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": variant, "q2": cafe})
    stored = vote.load_responses(db, poll.id)
    assert stored[-1].id == receipt.response_id and stored[-1].answers == {"q1": "Yes", "q2": "Café"}
    assert vote.choice_counts(poll, stored)["Would you watch it?"]["Yes"] == 1


def test_poll_choices_that_differ_only_invisibly_are_one_choice():
    from core import vote

    with pytest.raises(vote.PollError, match="same choice twice"):
        vote.validate_questions([{"text": "Q", "kind": "choice", "choices": ["Yes", "Yes\u200b", "No"]}])
    (q,) = vote.validate_questions([{"text": "Q\u00a0 ?\u200e", "kind": "choice",
                                     "choices": ["Ｙｅｓ", "No\u200b"]}])
    assert q.text == "Q ?" and q.choices == ("Yes", "No")


def test_a_ballot_of_only_invisible_characters_is_no_answer():
    from core import vote

    (q1, q2) = vote.validate_questions([{"text": "Q", "kind": "yes/no"},
                                         {"text": "R", "kind": "yes/no", "required": False}])
    poll = vote.Poll(1, "", (q1, q2), "open", False, 0.0, 0.0, None)
    assert vote.validate_answers(poll, {"q1": "Yes", "q2": "\u200b\u200e"}) == {"q1": "Yes"}
    with pytest.raises(vote.InvalidBallot, match="Please answer"):
        vote.validate_answers(poll, {"q1": "\u2060", "q2": "No"})
