"""Benchmark: a hall of phones voting through the HTTP voter page (core.vote.web), on this machine.

Starts ``python -m core.vote serve`` on a loopback port over a fresh database, then runs simulated phones
(core.vote.phones: each GETs the form with its own cookie, POSTs its ballot, reads the receipt page, as a
phone's browser does), in three polls measured in one run:

1. baseline: one phone at a time (the unloaded receipt time);
2. the hall: ``--phones`` phones sending at random moments within ``--window`` seconds;
3. the burst: the same number of phones pressing "Send" at the same moment.

Every 20th phone sends its form twice (a double tap). Afterwards the database is checked against what
the phones sent: lost = a phone without a receipt or without its stored ballot (or a ballot that differs
from what it sent), doubled = more stored ballots than phones, or a resend that got another receipt.

    .venv/bin/python bench/bench_voter_http.py [--phones 300] [--window 60] [--workers 1] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import vote  # noqa: E402
from core.vote import receipts  # noqa: E402
from core.vote.phones import run_phones  # noqa: E402
from core.vote.results import load_responses  # noqa: E402
from tests.browser_support import free_port  # noqa: E402

P95_TARGET_S = 2.0


def process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children (uvicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        this, parent = int(stat.parent.name), int(fields[1])
        if this == pid or parent == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def rss_mb(pid: int) -> float:
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = int(text.split("PPid:")[1].split()[0])
        if int(status.parent.name) == pid or ppid == pid:
            total += int(text.split("VmRSS:")[1].split()[0]) if "VmRSS:" in text else 0
    return total / 1024


def wait_until_up(url: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "health", timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def check(db: vote.VoteDB, poll_id: int, results) -> dict:
    """Compare what the phones sent and were told with what the database holds."""
    stored = {}
    with db.engine.connect() as conn:
        from sqlalchemy import select

        from core.vote.models import ResponseRow

        for token, rid, answers in conn.execute(
            select(ResponseRow.token, ResponseRow.id, ResponseRow.answers_json).where(
                ResponseRow.poll_id == poll_id
            )
        ):
            stored[token] = (rid, json.loads(answers))
    lost = 0
    for r in results:
        row = stored.get(r.token)
        ok = (
            r.receipt is not None
            and row is not None
            and row[1] == {k: v for k, v in r.answers.items()}
            and r.receipt == receipts.receipt_code(poll_id, row[0], r.token)
        )
        lost += not ok
    resent = [r for r in results if r.resent]
    doubled = max(0, len(load_responses(db, poll_id)) - len(results)) + sum(
        r.resend_receipt != r.receipt for r in resent
    )
    return {
        "lost": lost,
        "doubled": doubled,
        "stored": len(stored),
        "resent": len(resent),
        "errors": sorted({r.error for r in results if r.error})[:3],
    }


def percentile(values, q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phones", type=int, default=300)
    ap.add_argument("--window", type=float, default=60.0, help="seconds over which the hall's phones send")
    ap.add_argument("--workers", type=int, default=1, help="voter processes behind the one port")
    ap.add_argument("--baseline", type=int, default=20, help="phones sent one at a time for the baseline")
    ap.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--skip-burst", action="store_true")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-voter-http-") as tmp:
        url = vote.normalize_url(args.db or Path(tmp) / "votes.sqlite3")
        db = vote.open_db(url)
        port = free_port()
        env = {**os.environ, vote.DB_ENV: url}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "core.vote",
                "serve",
                "--port",
                str(port),
                "--address",
                "127.0.0.1",
                "--workers",
                str(args.workers),
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}/"
        try:
            wait_until_up(base)
            rows = []

            def scenario(label: str, n: int, window: float, sequential: bool = False):
                poll = vote.open_poll(db, title=label)
                time.sleep(1.5)  # the server's poll watcher sees the new poll
                cpu0, wall0 = process_tree_cpu_s(server.pid), time.monotonic()
                if sequential:
                    results = []
                    for i in range(n):
                        results += run_phones(base, 1, 0.0, seed=1000 + i, open_before_s=0.0)
                else:
                    results = run_phones(base, n, window, resend_every=20, seed=7)
                cpu = process_tree_cpu_s(server.pid) - cpu0
                wall = time.monotonic() - wall0
                times = [r.receipt_s for r in results if r.receipt is not None]
                verdict = check(db, poll.id, results)
                row = {
                    "label": label,
                    "phones": n,
                    "window_s": window,
                    "wall_s": wall,
                    "p50_s": statistics.median(times) if times else float("nan"),
                    "p95_s": percentile(times, 0.95) if times else float("nan"),
                    "max_s": max(times) if times else float("nan"),
                    "form_p95_s": percentile([r.get_s for r in results], 0.95),
                    "server_cpu_s": cpu,
                    "server_rss_mb": rss_mb(server.pid),
                    **verdict,
                }
                rows.append(row)
                return row

            base_row = scenario("baseline: one phone at a time", args.baseline, 0.0, sequential=True)
            scenario(f"hall: {args.phones} phones within {args.window:g} s", args.phones, args.window)
            if not args.skip_burst:
                scenario(f"burst: {args.phones} phones at the same moment", args.phones, 0.0)
        finally:
            server.terminate()
            server.wait(timeout=20)
            vote.db.close_all()

    print(
        f"voter app: core.vote.web, {args.workers} process(es), database {url.split(':')[0]}, "
        f"{os.cpu_count()} CPU cores shared by server and phones"
    )
    print()
    print(
        "| scenario | receipt p50 | receipt p95 | max | form p95 | lost | doubled | resent | server CPU | "
        "server RSS | p95 vs baseline |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = r["p95_s"] / base_row["p95_s"] if base_row["p95_s"] > 0 else float("nan")
        print(
            f"| {r['label']} | {r['p50_s'] * 1000:.0f} ms | {r['p95_s'] * 1000:.0f} ms | "
            f"{r['max_s'] * 1000:.0f} ms | {r['form_p95_s'] * 1000:.0f} ms | {r['lost']} | {r['doubled']} | "
            f"{r['resent']} | {r['server_cpu_s']:.2f} s "
            f"({r['server_cpu_s'] / max(r['phones'], 1) * 1000:.1f} ms/phone) | "
            f"{r['server_rss_mb']:.0f} MB | {ratio:.1f}x |"
        )
        if r["errors"]:
            print(f"  errors: {r['errors']}")
    hall = rows[1]
    ok = hall["p95_s"] <= P95_TARGET_S and all(r["lost"] == 0 and r["doubled"] == 0 for r in rows)
    print()
    print(
        f"target (hall): receipt p95 <= {P95_TARGET_S:g} s, none lost, none doubled: "
        f"{'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
