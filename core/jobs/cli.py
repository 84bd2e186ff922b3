"""``python -m core.jobs``: the process-job launcher, plus status/cancel for a run folder from a terminal.

    python -m core.jobs launch RUN_DIR -- -m core.dcgan train ...   (used by start_process_job)
    python -m core.jobs status RUN_DIR [--log N]
    python -m core.jobs cancel RUN_DIR [--kill]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict

from core.cli import ArgumentParser, UserError
from core.jobs.control import kill_job, log_tail, read_job, request_cancel


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["launch"]:  # not argparse: everything after "--" belongs to the target
        if len(argv) < 4 or argv[2] != "--":
            raise UserError("usage: python -m core.jobs launch RUN_DIR -- PYTHON_ARGS...")
        from core.jobs.process import launch

        return launch(argv[1], argv[3:])
    parser = ArgumentParser(prog="python -m core.jobs", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("status", help="print the job's manifest (as checked against reality) as JSON")
    s.add_argument("run_dir")
    s.add_argument("--log", type=int, default=0, help="also print the last N lines of job.log")
    c = sub.add_parser("cancel", help="ask the job to stop")
    c.add_argument("run_dir")
    c.add_argument("--kill", action="store_true", help="also send SIGTERM (process jobs)")
    args = parser.parse_args(argv)
    st = read_job(args.run_dir)
    if st is None:
        raise UserError(f"no job in {args.run_dir} (no job.json)")
    if args.command == "status":
        out = asdict(st) | {"run_dir": str(st.run_dir), "summary": st.describe(), "is_active": st.is_active}
        print(json.dumps(out, indent=2))
        if args.log:
            print(log_tail(args.run_dir, args.log))
        return 0
    request_cancel(args.run_dir)
    if args.kill:
        kill_job(args.run_dir)
    print(f"cancel requested for the {st.kind} job in {args.run_dir} ({st.state})")
    return 0
