"""Reports and exports: the one-page Markdown / HTML summary, the cleaned CSV (safe to open in a
spreadsheet), and the CLI report as plain data, text or strict JSON."""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path

from core.spreadsheet import FORMULA_PREFIXES, csv_bytes, neutralise_formula  # noqa: F401 (re-exported)
from core.survey.cleaning import OTHER, CleanSurvey, clean_survey, find_question
from core.survey.counts import all_answer_counts, answer_counts
from core.survey.errors import SurveyError
from core.survey.reading import read_survey
from core.survey.roles import ROLE_FREE_TEXT, ROLE_YES_NO
from core.survey.sentiment import sentiment_scores, sentiment_summary
from core.survey.significance import (
    DEFAULT_ALPHA,
    DEFAULT_CLAIM,
    ProportionTest,
    check_alpha,
    check_claim,
    proportion_test,
)
from core.survey.wording import format_p_value, verdict_words


def cleaned_csv_bytes(clean: CleanSurvey) -> bytes:
    """Cleaned answers as UTF-8 CSV (blanks empty, one-off answers replaced by "Other").

    Header and cells go through :func:`core.spreadsheet.csv_bytes` (issue 10, #9; issue 23, #8): answers
    are typed by anyone who fills in the form, and the export is opened by the presenter in a spreadsheet.
    """
    data = clean.data.astype(object)
    rows = ([("" if v is None or v != v else v) for v in row] for row in data.itertuples(index=False))
    return csv_bytes(list(data.columns), rows)


def summary_markdown(
    clean: CleanSurvey,
    test: ProportionTest | None = None,
    sentiment: dict | None = None,
    sentiment_column: str | None = None,
    title: str = "Survey summary",
) -> str:
    """One-page Markdown summary of the findings."""
    n_rows = len(clean.data)
    lines = [f"# {title}", "", f"{n_rows} responses, {len(clean.questions())} multiple-choice questions.", ""]
    if test is not None:
        words = verdict_words(test)
        lines += [
            "## Hypothesis test",
            "",
            f"**{words.headline}.** {words.sentence}",
            "",
            f"**Question:** {test.question}  ",
            f"**Positive answer:** {', '.join(test.positive)}  ",
            f"**Claim:** {test.claim:.0%} · **alpha:** {test.alpha:g}",
            "",
            "| | positive | other | n |",
            "|---|---:|---:|---:|",
            f"| observed | {test.observed_positive} | {test.observed_negative} | {test.n} |",
            f"| expected | {test.expected_positive:.1f} | {test.expected_negative:.1f} | {test.n} |",
            "",
            f"- Chi-square goodness of fit: χ² = {test.chi2:.4f}, {format_p_value(test.p_value, test.alpha)}",
            f"- Exact binomial test: {format_p_value(test.binomial_p_value, test.alpha)}",
            f"- Wilson {1 - test.alpha:.0%} CI: {test.ci_low:.1%} – {test.ci_high:.1%}",
            f"- Power at n = {test.n}: {test.power:.0%}",
            "",
            f"**In statistical terms:** {words.statistics}",
            "",
        ]
    lines += ["## Answers per question", ""]
    for q in clean.questions():
        table = answer_counts(clean, q)
        parts = ", ".join(
            f"{a} {c} ({s:.0%})" for a, c, s in zip(table["answer"], table["count"], table["share"])
        )
        lines.append(f"- **{q}** (n = {clean.answered(q)}): {parts}")
        if clean.folded.get(q):
            lines.append(f'  - {len(clean.folded[q])} one-off answer(s) folded into "{OTHER}".')
    lines.append("")
    if sentiment and sentiment_column:
        n = max(sentiment["n"], 1)
        lines += [
            "## Sentiment",
            "",
            f"VADER (lexicon and rule-based; compound ≥ {sentiment.get('positive_threshold', 0.05):g} "
            f"positive, ≤ {sentiment.get('negative_threshold', -0.05):g} negative) on “{sentiment_column}”: "
            f"{sentiment['positive']}/{sentiment['n']} positive ({sentiment['positive'] / n:.0%}), "
            f"{sentiment['neutral']} neutral, {sentiment['negative']} negative.",
            "",
        ]
    return "\n".join(lines)


def summary_html(markdown_text: str, title: str = "Survey summary") -> str:
    """Minimal self-contained HTML rendering of :func:`summary_markdown` output."""
    body, in_list, in_table = [], False, False

    def inline(s: str) -> str:
        s = html.escape(s)
        return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)

    for raw in markdown_text.splitlines():
        line = raw.rstrip()
        if in_list and not line.startswith(("- ", "  - ")):
            body.append("</ul>")
            in_list = False
        if in_table and not line.startswith("|"):
            body.append("</table>")
            in_table = False
        if line.startswith("# "):
            body.append(f"<h1>{inline(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{inline(line[3:])}</h2>")
        elif line.startswith(("- ", "  - ")):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{inline(line.strip()[2:])}</li>")
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("-:") for c in cells):
                continue
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells) + "</tr>")
        elif line:
            body.append(f"<p>{inline(line)}</p>")
    if in_list:
        body.append("</ul>")
    if in_table:
        body.append("</table>")
    style = (
        "body{font-family:sans-serif;max-width:52em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse}td{border:1px solid #ccc;padding:2px 8px}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>"
    )


def build_report(
    path: str | Path,
    question: str | None = None,
    positive: Sequence[str] | None = None,
    claim: float = DEFAULT_CLAIM,
    alpha: float = DEFAULT_ALPHA,
) -> dict:
    """Everything the CLI prints, as plain JSON-ready data."""
    claim = check_claim(claim)
    alpha = check_alpha(alpha)
    survey = read_survey(path)
    clean = clean_survey(survey)
    if question is None:
        yes_no = clean.questions(ROLE_YES_NO)
        if not yes_no:
            raise SurveyError("No yes/no question found; pass --question.")
        question = yes_no[0]
    else:
        question = find_question(list(clean.data.columns), question)
    test = proportion_test(
        clean, question, positive=list(positive) if positive else None, claim=claim, alpha=alpha
    )
    report = {
        "n_rows": survey.n_rows,
        "encoding": survey.encoding,
        "delimiter": survey.delimiter,
        "roles": survey.roles,
        "questions": all_answer_counts(clean),
        "answered": {q: clean.answered(q) for q in clean.questions()},
        "folded_to_other": {q: sorted(m) for q, m in clean.folded.items() if m},
        "test": {
            k: v
            for k, v in test.to_dict().items()
            if k
            in {
                "question",
                "positive",
                "claim",
                "observed_positive",
                "observed_negative",
                "expected_positive",
                "expected_negative",
                "chi2",
                "p_value",
                "binomial_p_value",
                "ci_low",
                "ci_high",
                "reject_null",
                "n",
                "alpha",
                "power",
                "observed_share",
                "verdict",
            }
        },
    }
    sentiment = {}
    for col in clean.questions(ROLE_FREE_TEXT):
        scores = sentiment_scores(clean.data[col])
        if len(scores):
            sentiment[col] = {"method": "VADER compound, +/-0.05", **sentiment_summary(scores)}
    report["sentiment"] = sentiment
    return report


def format_report(report: dict) -> str:
    """The report as the plain text the CLI prints without --json."""
    t = report["test"]
    lines = [f"{report['n_rows']} responses ({report['encoding']}, delimiter {report['delimiter']!r})", ""]
    for q, counts in report["questions"].items():
        total = report.get("answered", {}).get(q, sum(counts.values()))
        lines.append(f"{q}  (n = {total})")
        for a, c in counts.items():
            lines.append(f"  {c:5d}  {c / total if total else 0:6.1%}  {a}")
    lines += ["", f"Hypothesis test: {t['question']}"]
    positive = t["positive"] if isinstance(t["positive"], str) else " or ".join(t["positive"])
    lines += [
        f"  positive answer: {positive}; claim {t['claim']:g}; alpha {t['alpha']:g}",
        f"  observed {t['observed_positive']} / {t['observed_negative']}, "
        f"expected {t['expected_positive']:.1f} / {t['expected_negative']:.1f}",
        f"  chi-square goodness of fit: chi2 = {t['chi2']:.4f}, p = {t['p_value']!r}",
        f"  exact binomial p = {t['binomial_p_value']:.6g}; "
        f"Wilson CI {t['ci_low']:.4f} - {t['ci_high']:.4f}; power {t['power']:.2f}",
        f"  {t['verdict']}",
    ]
    for col, s in report.get("sentiment", {}).items():
        lines.append(
            f"Sentiment ({s['method']}) of '{col}': {s['positive']}/{s['n']} positive, "
            f"{s['neutral']} neutral, {s['negative']} negative"
        )
    return "\n".join(lines)


def _finite(value: object) -> object:
    """``value`` with every NaN / infinite float replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def report_json(report: dict) -> str:
    """The report as one line of strict JSON: never NaN or Infinity, which JSON does not have."""
    return json.dumps(_finite(report), ensure_ascii=False, allow_nan=False)
