"""The ``python -m core.survey`` command line: argument parsing and the ``report`` command.

``command(argv)`` raises on bad input; ``main(argv)`` runs it through :func:`core.cli.run_cli`, the one CLI
error wrapper, so every failure is one stderr line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from core.cli import ArgumentParser, run_cli
from core.survey.report import build_report, format_report, report_json
from core.survey.significance import ALPHA_RANGE, CLAIM_RANGE, DEFAULT_ALPHA, DEFAULT_CLAIM

PROG = "python -m core.survey"


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog=PROG, description="Survey analysis and hypothesis test.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="answer counts, chi-square test of a claim, sentiment")
    rep.add_argument("csv", metavar="CSV")
    rep.add_argument("--question", help="column name or a unique part of it (default: first yes/no question)")
    rep.add_argument(
        "--positive",
        action="append",
        metavar="LABEL",
        help="answer counted as positive (default Yes / most common); repeat to combine answers",
    )
    rep.add_argument(
        "--claim", type=float, default=DEFAULT_CLAIM,
        help=f"claimed proportion, {CLAIM_RANGE[0]:g} to {CLAIM_RANGE[1]:g}",
    )  # fmt: skip
    rep.add_argument(
        "--alpha", type=float, default=DEFAULT_ALPHA,
        help=f"significance level, {ALPHA_RANGE[0]:g} to {ALPHA_RANGE[1]:g}",
    )  # fmt: skip
    rep.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def command(argv: Sequence[str] | None = None) -> int:
    """Run the command; bad input raises SurveyError (a ValueError) or OSError."""
    args = build_parser().parse_args(argv)
    report = build_report(args.csv, args.question, args.positive, args.claim, args.alpha)
    print(report_json(report) if args.json else format_report(report))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command behind :func:`core.cli.run_cli`: returns the exit code, prints at most one error line."""
    return run_cli(command, argv, prog=PROG)
