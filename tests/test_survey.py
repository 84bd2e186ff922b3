"""Tests for core.survey: the study's published figures, cleaning, tests, sentiment, exports and the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core import ASSETS_DIR, PROJECT_ROOT
from core import survey as sv
from tests.conftest import shared_path

DIVERSITY = "In your opinion, could this format of viewing media create more diversity in the videos people see in general?"  # noqa: E501
MOVIES = "Which would you prefer for watching movies and TV?"
LEARNING = "Which would you prefer for online learning?"
FREE_TEXT = "How do you think this system could change general perceptions of stereotypes?"
WITH_OPTION = [
    "Traditional System + AI generated & animated faces option",
    "AI generated & animated faces option only",
]
DEMO = ASSETS_DIR / "demo_survey.csv"


@pytest.fixture(scope="module")
def original():
    return sv.clean_survey(sv.read_survey(shared_path("data", "survey", "you_choose.csv")))


@pytest.fixture(scope="module")
def demo():
    return sv.clean_survey(sv.read_survey(DEMO))


def _csv_bytes(rows: list[list[str]], sep: str = ",", encoding: str = "utf-8") -> bytes:
    return "\n".join(sep.join(f'"{c}"' for c in row) for row in rows).encode(encoding)


# ------------------------------------------------------------------------------ original study


def test_published_chi_square_figure(original):
    t = sv.proportion_test(original, DIVERSITY, "Yes", claim=0.7, alpha=0.05)
    assert (t.observed_positive, t.observed_negative, t.n) == (57, 11, 68)
    assert t.expected_positive == pytest.approx(47.6, abs=1e-9)
    assert t.expected_negative == pytest.approx(20.4, abs=1e-9)
    assert round(t.chi2, 4) == 6.1877
    assert abs(t.p_value - 0.012864308543025699) < 1e-12
    assert t.reject_null
    # Exact binomial and Wilson interval (hand-checked against scipy's documented methods).
    assert t.binomial_p_value == pytest.approx(0.0116220, abs=1e-6)
    assert t.ci_low == pytest.approx(0.73310, abs=1e-4) and t.ci_high == pytest.approx(0.90720, abs=1e-4)
    assert 0.6 < t.power < 0.8
    assert "rejects the claim of 70%" in t.verdict and "57 of 68" in t.verdict


def test_claim_test_on_counts_gives_the_published_figure():
    # The live vote has counts, not a survey file: the same test on plain counts.
    t = sv.claim_test(57, 68, claim=0.7, alpha=0.05, question="diversity", positive=["Yes"])
    assert round(t.chi2, 4) == 6.1877
    assert abs(t.p_value - 0.012864308543025699) < 1e-12
    assert t.reject_null and "rejects the claim of 70%" in t.verdict and "57 of 68" in t.verdict
    assert t.verdict == sv.verdict_sentence(t)


def test_study_figures_from_same_data(original):
    movies = sv.proportion_test(original, MOVIES, WITH_OPTION)
    assert (movies.observed_positive, movies.n) == (40, 68)
    assert round(movies.observed_share, 3) == 0.588
    learning = sv.proportion_test(original, LEARNING, WITH_OPTION)
    assert (learning.observed_positive, learning.n) == (46, 69)
    assert learning.observed_share == pytest.approx(2 / 3, abs=1e-15)
    diversity = sv.proportion_test(original, DIVERSITY)
    assert (diversity.observed_positive, diversity.n) == (57, 68)
    assert round(diversity.observed_share, 3) == 0.838


def test_original_roles_and_cleaning(original):
    roles = original.roles
    assert roles["Timestamp"] == sv.ROLE_TIMESTAMP
    assert roles[DIVERSITY] == sv.ROLE_YES_NO
    assert roles[MOVIES] == sv.ROLE_CATEGORICAL
    assert roles[FREE_TEXT] == sv.ROLE_FREE_TEXT
    # The two typed answers in the movies question are folded into "Other"; the blank is dropped.
    assert set(original.folded[MOVIES].values()) == {sv.OTHER}
    assert "Traditional only" in original.folded[MOVIES]
    counts = sv.answer_counts(original, MOVIES)
    assert counts["answer"].tolist()[-1] == sv.OTHER
    assert dict(zip(counts["answer"], counts["count"]))[sv.OTHER] == 2
    assert counts["count"].sum() == 68
    assert counts["share"].sum() == pytest.approx(1.0)
    # A lone real option ("12-17 years old") keeps its place in numeric order instead of being folded.
    ages = sv.answer_counts(original, "What is your age group?")["answer"].tolist()
    assert ages[0] == "12-17 years old" and sv.OTHER not in ages


def test_vader_on_original_free_text(original):
    scores = sv.sentiment_scores(original.data[FREE_TEXT])
    summary = sv.sentiment_summary(scores)
    assert summary == {"n": 58, "positive": 28, "neutral": 11, "negative": 19}
    # Thresholds are adjustable: widening the neutral band can only move answers into "neutral".
    wide = sv.sentiment_summary(sv.sentiment_scores(original.data[FREE_TEXT], 0.5, -0.5))
    assert wide["positive"] < 28 and wide["negative"] < 19 and wide["n"] == 58


# ------------------------------------------------------------------------------ demo survey


def test_demo_has_original_schema_and_is_reproducible(tmp_path):
    from assets import make_demo_survey

    frame = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    assert list(frame.columns) == make_demo_survey.COLUMNS and len(frame.columns) == 11
    assert 69 <= len(frame) <= 120
    regenerated = make_demo_survey.write(tmp_path / "demo.csv")
    assert regenerated.read_bytes() == DEMO.read_bytes()


def test_demo_is_not_copied_from_original():
    original = pd.read_csv(shared_path("data", "survey", "you_choose.csv"), dtype=str, keep_default_na=False)
    demo = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    real = {t.strip().lower() for t in original[FREE_TEXT] if t.strip()}
    assert not real & {t.strip().lower() for t in demo[FREE_TEXT] if t.strip()}


def test_demo_analysis_values(demo):
    t = sv.proportion_test(demo, DIVERSITY)
    assert (t.observed_positive, t.observed_negative) == (67, 22)
    assert not t.reject_null and "not rejected" in t.verdict
    assert t.ci_low < 0.7 < t.ci_high
    ct = sv.crosstab_test(demo, "What is your age group?", MOVIES)
    assert ct.table.to_numpy().sum() == len(demo.data[[MOVIES]].dropna())
    assert ct.warning and "below 5" in ct.warning
    assert 0.0 <= ct.p_value <= 1.0 and ct.dof == (ct.table.shape[0] - 1) * (ct.table.shape[1] - 1)


def test_crosstab_matches_hand_computation():
    rows = [["a", "b"]] + [["x", "p"]] * 20 + [["x", "q"]] * 10 + [["y", "p"]] * 10 + [["y", "q"]] * 20
    clean = sv.clean_survey(sv.read_survey(_csv_bytes(rows)))
    res = sv.crosstab_test(clean, "a", "b")
    # Expected 15 in every cell: chi2 = 4 * 25 / 15.
    assert res.chi2 == pytest.approx(100 / 15)
    assert res.expected.to_numpy() == pytest.approx(np.full((2, 2), 15.0))
    assert res.warning is None


def test_sunburst_nodes_sum_up(demo):
    path = ["How do you define your gender?", DIVERSITY]
    nodes = sv.sunburst_data(demo, path)
    roots = nodes[nodes["parent"] == ""]
    assert roots["count"].sum() == len(demo.data[path].dropna())
    for _, root in roots.iterrows():
        assert nodes.loc[nodes["parent"] == root["id"], "count"].sum() == root["count"]
    fig = sv.sunburst_figure(demo, path)
    assert len(fig.data[0].ids) == len(nodes)


def test_sentiment_extremes_and_groups(demo):
    scores = sv.sentiment_scores(demo.data[FREE_TEXT])
    best, worst = sv.sentiment_extremes(scores, k=2)
    assert best["compound"].iloc[0] == scores["compound"].max()
    assert worst["compound"].iloc[0] == scores["compound"].min()
    by = sv.sentiment_by_group(demo, scores, "How do you define your gender?")
    assert by["n"].sum() == len(scores)
    assert np.allclose(by[list(sv.SENTIMENT_LABELS)].sum(axis=1), 1.0)


def test_word_cloud_png(demo):
    png = sv.word_cloud_png(demo.data[FREE_TEXT].dropna(), width=200, height=100)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(sv.SurveyError, match="no words"):
        sv.word_cloud_png(["the and of", "it is"])


def test_exports(demo):
    csv_bytes = sv.cleaned_csv_bytes(demo)
    back = pd.read_csv(pd.io.common.BytesIO(csv_bytes), dtype=str, keep_default_na=False)
    assert back.shape == demo.data.shape
    assert "Depends on the film" not in set(back[MOVIES])
    test = sv.proportion_test(demo, DIVERSITY)
    md = sv.summary_markdown(demo, test, {"n": 60, "positive": 31, "neutral": 10, "negative": 19}, FREE_TEXT)
    assert "## Hypothesis test" in md and "| observed | 67 | 22 | 89 |" in md and "VADER" in md
    assert "**67 of 89 viewers (75 %) said Yes.** Not enough evidence yet" in md and "p = 0.28" in md
    page = sv.summary_html(md)
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page and "<h2>Hypothesis test</h2>" in page


# ------------------------------------------------------------------------------ loading


def test_latin1_semicolon_and_bom():
    rows = [["Nom", "Réponse"], ["Zoë", "Oui"], ["José", "Non"], ["Renée", "Oui"]]
    latin = sv.read_survey(_csv_bytes(rows, sep=";", encoding="latin-1"))
    assert (latin.encoding, latin.delimiter) == ("latin-1", ";")
    assert latin.frame["Nom"].tolist() == ["Zoë", "José", "Renée"]
    bom = sv.read_survey(b"\xef\xbb\xbf" + _csv_bytes([["Q", "Name"], ["Yes", "Zoë"], ["No", "x"]]))
    assert bom.encoding == "utf-8-sig"
    assert list(bom.frame.columns) == ["Q", "Name"]  # no BOM left on the first header
    assert bom.roles["Q"] == sv.ROLE_YES_NO


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "not a CSV"),
        (b"only,a,header\n", "no responses"),
    ],
)
def test_bad_bytes(data, message):
    with pytest.raises(sv.SurveyError, match=message):
        sv.read_survey(data)


def test_huge_file_refused(monkeypatch):
    monkeypatch.setattr(sv.reading, "MAX_BYTES", 100)
    with pytest.raises(sv.SurveyError, match="limit"):
        sv.read_survey(b"a,b\n" + b"1,2\n" * 50)


def test_single_answer_question_and_overrides():
    rows = [["Q", "G"]] + [["Yes", g] for g in "aabbab"]
    clean = sv.clean_survey(sv.read_survey(_csv_bytes(rows)))
    t = sv.proportion_test(clean, "Q")
    assert (t.observed_positive, t.observed_negative) == (6, 0)
    with pytest.raises(sv.SurveyError, match="at least two different answers"):
        sv.crosstab_test(clean, "Q", "G")
    overridden = sv.clean_survey(sv.read_survey(_csv_bytes(rows)), roles={"G": sv.ROLE_FREE_TEXT})
    assert overridden.questions() == ["Q"]
    with pytest.raises(sv.SurveyError, match="role"):
        sv.clean_survey(sv.read_survey(_csv_bytes(rows)), roles={"G": "bogus"})


def test_lone_no_in_a_yes_no_question_is_not_folded():
    rows = [["Q"]] + [["Yes"]] * 5 + [["No"]]
    clean = sv.clean_survey(sv.read_survey(_csv_bytes(rows)))
    assert clean.roles["Q"] == sv.ROLE_YES_NO and not clean.folded["Q"]
    t = sv.proportion_test(clean, "Q")
    assert (t.observed_positive, t.observed_negative) == (5, 1)


def test_tab_separated_export():
    survey = sv.read_survey(_csv_bytes([["Q", "Name"], ["Yes", "a, b"], ["No", "c; d"]], sep="\t"))
    assert survey.delimiter == "\t" and survey.frame["Name"].tolist() == ["a, b", "c; d"]


def test_bad_test_arguments(demo):
    with pytest.raises(sv.SurveyError, match="Unknown question"):
        sv.proportion_test(demo, "No such question")
    for claim in (0, 1, 1.5, -0.2, float("nan")):
        with pytest.raises(sv.SurveyError, match="claim"):
            sv.proportion_test(demo, DIVERSITY, claim=claim)
    with pytest.raises(sv.SurveyError, match="not an answer"):
        sv.proportion_test(demo, DIVERSITY, positive="Maybe")
    with pytest.raises(sv.SurveyError, match="free text"):
        sv.proportion_test(demo, FREE_TEXT)


# ------------------------------------------------------------------------------ CLI


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.survey", "report", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )


TEST_KEYS = {
    "question", "positive", "claim", "observed_positive", "observed_negative", "expected_positive",
    "expected_negative", "chi2", "p_value", "binomial_p_value", "ci_low", "ci_high", "reject_null",
}  # fmt: skip


def test_cli_json_on_original():
    path = shared_path("data", "survey", "you_choose.csv")
    proc = _cli(str(path), "--question", "diversity", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert {"n_rows", "questions", "test"} <= set(report)
    assert TEST_KEYS <= set(report["test"])
    assert report["n_rows"] == 69
    assert report["questions"][DIVERSITY] == {"Yes": 57, "No": 11}
    t = report["test"]
    assert (t["question"], t["positive"], t["claim"]) == (DIVERSITY, "Yes", 0.7)
    assert abs(t["p_value"] - 0.012864308543025699) < 1e-12
    assert t["reject_null"] is True


def test_cli_text_and_errors(tmp_path, capsys):
    assert sv.main(["report", str(DEMO), "--claim", "0.75"]) == 0
    assert "chi-square goodness of fit" in capsys.readouterr().out
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 8)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for args, needle in [
        ((str(junk),), "not a CSV"),
        ((str(empty),), "empty"),
        ((str(tmp_path / "missing.csv"),), "No such file"),
        ((str(DEMO), "--question", "favourite colour"), "Unknown question"),
        ((str(DEMO), "--claim", "1.2"), "claim"),
        ((str(DEMO), "--claim", "0"), "claim"),
        ((str(DEMO), "--alpha", "2"), "alpha"),
    ]:
        assert sv.main(["report", *args]) != 0
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0]
    # The real entry point: one line on stderr, non-zero exit, no traceback.
    proc = _cli(str(junk))
    assert proc.returncode != 0 and proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


# ------------------------------------------------------------------------------ wording for the room


@pytest.mark.parametrize(
    "p, text",
    [
        (0.27696639014268964, "p = 0.28"),  # the raw float issue 12 saw on screen
        (0.012864308543025699, "p = 0.01"),
        (0.0042, "p = 0.004"),
        (0.0004, "p < 0.001"),
        (0.0496, "p = 0.0496"),  # never rounded up to alpha
        (0.05, "p = 0.05"),
        (0.995, "p > 0.99"),
    ],
)
def test_format_p_value(p, text):
    assert sv.format_p_value(p, alpha=0.05) == text


def test_format_percent():
    assert sv.format_percent(67 / 89) == "75 %"
    assert sv.format_percent(0.004) == "0.4 %" and sv.format_percent(0.998) == "99.8 %"
    assert sv.format_percent(0.0) == "0 %" and sv.format_percent(1.0) == "100 %"
    assert sv.format_percent(0.696, versus=0.7) == "69.6 %"  # not "70 % said yes, against the 70 % claimed"


def test_headline_on_demo(demo):
    t = sv.proportion_test(demo, DIVERSITY)
    assert sv.headline_sentence(t) == "67 of 89 viewers (75 %) said Yes"
    t = sv.proportion_test(demo, MOVIES, WITH_OPTION)
    assert sv.headline_sentence(t, noun="respondents") == (
        "60 of 90 respondents (67 %) chose "
        "“Traditional System + AI generated & animated faces option” or "
        "“AI generated & animated faces option only”"
    )


@pytest.mark.parametrize(
    "k, n, claim, kind, sentence",
    [
        (57, 68, 0.7, sv.VERDICT_SUPPORTED,  # the original study's figure
         "More than 70 % of viewers say yes: 84 % did, clearly more than the 70 % claimed (p = 0.01)."),
        (60, 80, 0.5, sv.VERDICT_SUPPORTED,
         "Most viewers say yes: 75 % did, clearly more than half (p < 0.001)."),
        (40, 100, 0.7, sv.VERDICT_AGAINST,
         "Fewer than 70 % of viewers say yes: only 40 % did, clearly less than the 70 % claimed "
         "(p < 0.001)."),
        (20, 80, 0.5, sv.VERDICT_AGAINST,
         "Fewer than half of the viewers say yes: only 25 % did, clearly less than half (p < 0.001)."),
        (67, 89, 0.7, sv.VERDICT_TOO_FEW,  # the bundled demo survey
         "Not enough evidence yet that more than 70 % of viewers say yes: 75 % said yes, but with 89 answers "
         "that could be chance (p = 0.28)."),
        (14, 24, 0.5, sv.VERDICT_TOO_FEW,
         "Not enough evidence yet that most viewers say yes: 58 % said yes, but with 24 answers that could "
         "be chance (p = 0.41)."),
        (10, 20, 0.7, sv.VERDICT_TOO_FEW,
         "Not enough evidence yet either way: 50 % said yes against the 70 % claimed, and with 20 answers "
         "the gap could be chance (p = 0.05)."),
        (4, 5, 0.5, sv.VERDICT_TOO_FEW,
         "5 of 10 answers needed"),
        (288, 400, 0.7, sv.VERDICT_CLOSE,
         "No clear evidence that more than 70 % of viewers say yes: 72 % said yes, close enough to the 70 % "
         "claimed to be chance (400 answers, p = 0.38)."),
    ],
)
def test_plain_verdict_branches(k, n, claim, kind, sentence):
    t = sv.claim_test(k, n, claim=claim, alpha=0.05)
    assert sv.verdict_kind(t) == kind
    assert sv.plain_verdict(t) == sentence
    assert "reject" not in sentence and "alpha" not in sentence
    assert not re.search(r"\d\.\d{5,}", sentence)  # no raw floats
    assert t.verdict == sv.verdict_sentence(t)  # the statistician's sentence is unchanged beside it


def test_one_wording_for_every_surface(demo):
    """Issue 22: the dashboard, the show, the poll and the exports word a test through verdict_words."""
    t = sv.proportion_test(demo, DIVERSITY)
    words = sv.verdict_words(t)
    assert words.ready and words.kind == sv.VERDICT_TOO_FEW and words.p_text == "p = 0.28"
    assert words.headline == sv.headline_sentence(t) and words.sentence == sv.plain_verdict(t)
    assert words.statistics == t.verdict and "consistent with" not in words.statistics
    markdown = sv.summary_markdown(demo, t)
    assert f"**{words.headline}.** {words.sentence}" in markdown and words.statistics in markdown


@pytest.mark.parametrize("k, n", [(1, 1), (0, 3), (9, 9)])
def test_no_verdict_below_ten_answers(k, n):
    words = sv.verdict_words(sv.claim_test(k, n, claim=0.7))
    assert not words.ready and words.sentence == f"{n} of 10 answers needed" and words.p_text == ""
    assert "p =" not in words.sentence and "claim" not in words.sentence


def test_power_behind_the_verdict():
    t = sv.claim_test(67, 89, claim=0.7)
    assert sv.power_at(t.observed_share, t.claim, t.n, t.alpha) == t.power
    assert sv.power_at(0.7, 0.7, 89, 0.05) == 0.05  # no difference: the test fires at rate alpha
    assert sv.detectable_share(t) == pytest.approx(0.8)
    assert sv.detectable_power(t) == pytest.approx(0.5393, abs=1e-4)
    assert sv.detectable_power(sv.claim_test(288, 400, claim=0.7)) > sv.TARGET_POWER
    assert sv.detectable_share(sv.claim_test(5, 10, claim=0.95)) == pytest.approx(0.85)  # stays inside 0..1
    assert sv.power_sentence(t) == (
        "With 89 answers the test would notice a true share of 80 % (against the 70 % claimed) only 54 % of "
        "the time; the verdict calls a result only from 80 % on, and never below 10 answers."
    )


def test_short_labels():
    assert sv.short_label(DIVERSITY, 60) == "In your opinion, could this format … see in general?"
    assert sv.short_label(MOVIES, 80) == MOVIES
    assert sv.short_label("Which would you prefer for advertisements and commercials?", 28) == (
        "Which would … commercials?"
    )
    assert len(sv.short_label("x" * 100, 20)) <= 20
    labels = sv.short_label_map(["Which would you prefer for A?", "Which would you prefer for B?"], 12)
    assert list(labels.values()) == ["Which … A?", "Which … B?"]
    clash = ["Start of one long text that ends the same", "Start of two long text that ends the same"]
    assert sv.short_label_map(clash, 20) == {c: c for c in clash}  # never two options with one label


def test_question_matching_is_whole_word():
    from core.survey import mentions

    assert mentions("Age group", "age") and mentions("What is your AGE?", "age")
    assert not mentions("Which language do you speak?", "age")
    assert not mentions("Your usage of streaming", "age")
    assert mentions("Genders of the viewers", "gender") and mentions("Ethnicity", "ethnicity", "ethnic")
    assert not mentions("Ethnicity", "ethnic")
