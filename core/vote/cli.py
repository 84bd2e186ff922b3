"""Command line of the live vote: ``python -m core.vote {open,close,reopen,publish,unpublish,list,simulate,
report,export,serve}``; see ``python -m core.vote --help``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.checks import flag_type, int_flag
from core.cli import ArgumentParser, UserError
from core.vote import claims
from core.vote.claims import PLANNED_RANGE
from core.vote.serve import DEFAULT_VOTER_PORT, streamlit_serve_command
from core.vote.simulate import MAX_PER_WORKER, MAX_WORKERS

PROG = "python -m core.vote"


def _print(obj: dict, as_json: bool, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False) if as_json else text)


def _poll_line(p) -> str:
    published = ", results published" if p.results_published else ""
    return f"poll {p.id}: {p.status}{published}: {p.title} ({len(p.questions)} questions)"


def _format_report(r: dict) -> str:
    lines = [f"poll {r['poll']} ({r['status']}): {r['title']}: {r['n_responses']} responses", ""]
    for q, counts in r["questions"].items():
        total = sum(counts.values())
        lines.append(f"{q}  (n = {total})")
        lines += [f"  {c:5d}  {c / total if total else 0:6.1%}  {a}" for a, c in counts.items()]
    t = r["test"]
    if t is None:
        lines += ["", f"No test: {r['test_error']}"]
    else:
        lines += ["", f"Hypothesis test: {t['question']}",
                  f"  chi-square goodness of fit: chi2 = {t['chi2']:.4f}, p = {t['p_value']!r}",
                  f"  exact binomial p = {t['binomial_p_value']:.6g}; Wilson CI {t['ci_low']:.4f} - "
                  f"{t['ci_high']:.4f}; power {t['power']:.2f}", f"  {t['verdict']}"]
    return "\n".join(lines)


def _poll_id(text: str) -> int:
    from core.vote.polls import check_poll_id

    return check_poll_id(text, "the poll number")


def _poll_flag():
    """An argparse type for --poll: a poll number, its refusal naming the flag."""
    from core.vote.polls import PollError

    return flag_type(_poll_id, PollError)


def _share(name: str):
    """An argparse type for --claim / --alpha: a finite number inside the survey module's range (the
    survey package is imported only when the flag is given)."""
    def check(text: str) -> float:
        from core import survey as sv

        return (sv.check_claim if name == "claim" else sv.check_alpha)(text)
    check.__name__ = name
    return flag_type(check, ValueError)  # SurveyError is a ValueError


def build_parser() -> argparse.ArgumentParser:
    from core.vote.db import DB_ENV

    # core.cli's parser: a bad flag is one stderr line (run_cli's), not argparse's usage block
    parser = ArgumentParser(prog=PROG, description="Live audience vote.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=None, metavar="URL",
                        help=f"sqlite:///FILE, a file path or postgresql://... (default: ${DB_ENV} or "
                             "runs/vote/votes.sqlite3)")
    common.add_argument("--json", action="store_true", help="print one JSON object")
    sub = parser.add_subparsers(dest="command", required=True)

    op = sub.add_parser("open", parents=[common], help="open a new poll (closes any other open poll)")
    op.add_argument("--questions-from", metavar="CSV", help="take the questions from a survey export "
                    "(default: the bundled survey's, i.e. the original study's)")
    op.add_argument("--questions-json", metavar="FILE", help='JSON list of {"text", "kind", "choices"}')
    op.add_argument("--title", default=None, help="title shown to voters")
    op.add_argument("--media", metavar="FILE", help="image (PNG/JPEG/GIF) or clip (MP4/WebM) shown to voters")
    op.add_argument("--caption", default="", help="caption under the media")
    # The claim, registered with the poll before it opens (core.vote.claims): the verdict is shown only at
    # the planned number of answers or at close, and any later change of the test is recorded beside it.
    op.add_argument("--test-question", metavar="TEXT", help="question (text or id) whose answers are tested")
    op.add_argument("--yes", action="append", metavar="ANSWER",
                    help="answer counted as yes (repeat to combine); needed with --test-question")
    op.add_argument("--planned", type=int_flag(*PLANNED_RANGE), metavar="N",
                    help="planned number of answers (the verdict waits for them or for close)")
    op.add_argument("--test-claim", type=_share("claim"), default=None, metavar="P",
                    help="claimed share of yes answers, 0.001 to 0.999 (default 0.7)")
    op.add_argument("--test-alpha", type=_share("alpha"), default=None, metavar="A",
                    help="significance level, 0.000001 to 0.5 (default 0.05)")

    for name, what in (("close", "stop accepting answers"), ("reopen", "accept answers again"),
                       ("publish", "let voters see the counts"), ("unpublish", "hide the counts from voters"),
                       ("export", "print the answers as Google Forms CSV (redirect with > FILE)")):
        p = sub.add_parser(name, parents=[common], help=what)
        p.add_argument("--poll", type=_poll_flag(), required=True, metavar="ID")

    sub.add_parser("list", parents=[common], help="list polls, newest first")

    sim = sub.add_parser("simulate", parents=[common], help="simulated voters (rehearsals, load tests)")
    sim.add_argument("--poll", type=_poll_flag(), required=True, metavar="ID")
    sim.add_argument("--n", type=int_flag(1, MAX_PER_WORKER), default=500,
                     help="ballots per worker (default 500)")
    sim.add_argument("--workers", type=int_flag(1, MAX_WORKERS), default=8,
                     help="voter processes (default 8)")
    sim.add_argument("--seed", type=int_flag(0, 2**32 - 1), default=0)

    rep = sub.add_parser("report", parents=[common], help="counts and the hypothesis test")
    rep.add_argument("--poll", type=_poll_flag(), required=True, metavar="ID")
    rep.add_argument("--question", help="question text or id (default: the first yes/no question)")
    rep.add_argument("--positive", action="append", metavar="LABEL",
                     help="answer counted as positive (default Yes / most common); repeat to combine")
    rep.add_argument("--claim", type=_share("claim"), default=None,
                     help="claimed proportion, 0.001 to 0.999 (default 0.7)")
    rep.add_argument("--alpha", type=_share("alpha"), default=None,
                     help="significance level, 0.000001 to 0.5 (default 0.05)")

    srv = sub.add_parser("serve", parents=[common], help="run the voter app (an HTML form; docs/stage.md)")
    srv.add_argument("--port", type=int_flag(1, 65535), default=DEFAULT_VOTER_PORT)
    srv.add_argument("--address", default="0.0.0.0", help="address to listen on (default: all interfaces)")
    srv.add_argument("--workers", type=int_flag(1, 32), default=1,
                     help="voter processes sharing the port (default 1)")
    srv.add_argument("--streamlit", action="store_true", help="serve the older Streamlit voter app instead")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from core import vote

    if args.command == "serve":
        env = dict(os.environ)
        if args.db:
            env[vote.DB_ENV] = vote.normalize_url(args.db)
        vote.open_db(env.get(vote.DB_ENV))  # a bad URL fails here, with one line, not in every browser
        from core.vote.serve import check_port_free

        check_port_free(args.port, args.address)
        if args.streamlit:
            cmd = streamlit_serve_command(args.port, args.address)
            os.execve(cmd[0], cmd, env)
        from core.vote.web import serve

        os.environ.update(env)  # the workers open the database from $CUSTOM_CAST_DB
        serve(args.port, args.address, args.workers)
        return 0
    # Only "open" and "list" may start a new database; the others are about a poll that must exist.
    db = vote.open_db(args.db, create=args.command in ("open", "list"))
    if args.command == "open":
        if args.questions_from and args.questions_json:
            raise UserError("Use either --questions-from or --questions-json, not both.")
        if args.questions_json:
            from core.vote.polls import QUESTIONS_JSON_MAX_BYTES

            path = Path(args.questions_json)
            if path.is_file() and path.stat().st_size > QUESTIONS_JSON_MAX_BYTES:
                raise UserError(f"--questions-json {path.name} is {path.stat().st_size:,} bytes; the limit "
                                f"is {QUESTIONS_JSON_MAX_BYTES:,}")
            questions = vote.questions_from_json(path.read_bytes())
        elif args.questions_from:
            questions = vote.questions_from_csv(Path(args.questions_from))
        else:
            questions = vote.default_questions()
        media = None
        if args.media:
            from core.vote.polls import MEDIA_MAX_BYTES

            size = Path(args.media).stat().st_size  # bounded before it is read into memory
            if size > MEDIA_MAX_BYTES:
                raise UserError(f"--media {Path(args.media).name} is {size / 2**20:.1f} MiB; the limit is "
                                f"{MEDIA_MAX_BYTES / 2**20:.0f} MiB")
            media = vote.prepare_media(Path(args.media).read_bytes(), args.caption)
        kwargs = {"title": args.title} if args.title else {}
        claim_flags = (args.test_question, args.yes, args.planned)
        if any(f is not None for f in claim_flags):
            if any(f is None for f in claim_flags):
                raise UserError("A registered claim needs --test-question, --yes and --planned together.")
            from core import survey as sv


            claim = claims.Claim(args.test_question, tuple(args.yes),
                                 sv.DEFAULT_CLAIM if args.test_claim is None else args.test_claim,
                                 sv.DEFAULT_ALPHA if args.test_alpha is None else args.test_alpha,
                                 args.planned)
            poll, registered = claims.open_poll_with_claim(db, questions, claim, media=media, **kwargs)
            _print({**poll.to_dict(), "db": vote.describe_url(db.url),
                    "claim": {**registered.claim.to_dict(), "registered_at": registered.registered_at}},
                   args.json, _poll_line(poll) + f"\nclaim {registered.registered_text()}: "
                                                 f"{claims.claim_summary(registered.claim)}")
        else:
            poll = vote.open_poll(db, questions, media=media, **kwargs)
            _print({**poll.to_dict(), "db": vote.describe_url(db.url)}, args.json, _poll_line(poll))
    elif args.command in ("close", "reopen", "publish", "unpublish"):
        action = {"close": vote.close_poll, "reopen": vote.reopen_poll,
                  "publish": lambda d, i: vote.publish_results(d, i, True),
                  "unpublish": lambda d, i: vote.publish_results(d, i, False)}[args.command]
        poll = action(db, args.poll)
        _print(poll.to_dict(), args.json, _poll_line(poll))
    elif args.command == "list":
        polls = vote.list_polls(db)
        _print({"polls": [{**p.to_dict(), "n_responses": vote.response_count(db, p.id)} for p in polls]},
               args.json, "\n".join(_poll_line(p) for p in polls) or "no polls yet")
    elif args.command == "export":
        sys.stdout.write(vote.export_csv_bytes(db, args.poll).decode("utf-8"))
    elif args.command == "simulate":
        from core.vote.simulate import simulate

        result = simulate(db.url, args.poll, n=args.n, workers=args.workers, seed=args.seed)
        _print(result.to_dict(), args.json,
               f"{result.accepted} ballots accepted in {result.seconds:.2f} s "
               f"({result.votes_per_s:.0f} votes/s) "
               f"by {result.workers} processes; rejected: {result.rejected or 'none'}")
    elif args.command == "report":
        report = vote.poll_report(db, args.poll, args.question, args.positive, args.claim, args.alpha)
        _print(report, args.json, _format_report(report))
    return 0

