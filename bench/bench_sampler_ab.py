"""Benchmark: this checkout's StyleGAN2 sampler against a committed one, INTERLEAVED, in CPU-seconds of the
visitor's Chromium and of the server, per warm first visit and per "🎲 New face" (as
``bench_sampler_cpu.py`` measures them).

Both servers run at once (the baseline from a ``git worktree`` of REV in a temporary folder, served with
this checkout's Python), and every visit and every new face alternates between them (A B, then B A), so
both sides see the same load. ``bench_sampler_cpu.py --baseline`` measures one side after the other: on a
box shared with other work that compares the loads of two moments, not the code (session 9 of issue 22
saw a sequential run come out the other way round), and even CPU-seconds rise with load (a busier box
splits the server's messages into more bursts, and each burst re-renders the browser's whole sidebar).

Usage: python bench/bench_sampler_ab.py --baseline REV [--visits 5] [--faces 16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_sampler_browser as bsb  # noqa: E402
import bench_sampler_cpu as bsc  # noqa: E402

from tests.browser_support import chromium_installed, running_studio, wait  # noqa: E402

LINK = bsb.SIDEBAR_LINK % "stylegan2"


def visit(url: str, server: list[int]):
    """A new browser session opens the sampler from Home; (driver, its pids, browser CPU-s, server CPU-s)."""
    driver = bsb.bench_browser(bsb.FACE)
    driver.get(url + "/")
    wait(driver, f"document.querySelector({LINK!r}) !== null", 300, "the home page's sidebar")
    time.sleep(1)
    pids = bsb._browser_pids([driver])
    b0, s0 = bsc._cpu(pids, server)
    driver.execute_script(f"window.__bench.first = null; window.__bench.src = null;"
                          f"document.querySelector({LINK!r}).click();")
    bsb.wait_in_page(driver, "window.__bench.first", 300, "the first face")
    bsc.idle(driver, 300)
    b1, s1 = bsc._cpu(pids, server)
    return driver, pids, b1 - b0, s1 - s0


def new_face(driver, pids: list[int], server: list[int]) -> tuple[float, float]:
    b0, s0 = bsc._cpu(pids, server)
    driver.execute_script("""window.__bench.t1 = null; window.__bench.t0 = performance.now();
        [...document.querySelectorAll('button')].find(b => b.innerText.trim() === arguments[0]).click();""",
                          bsc.NEW_FACE[0])
    bsb.wait_in_page(driver, "window.__bench.t1", 60, "the new face")
    bsc.idle(driver, 60)
    b1, s1 = bsc._cpu(pids, server)
    return b1 - b0, s1 - s0


def measure(roots: dict[str, Path], visits: int, faces: int) -> dict[str, dict[str, list[float]]]:
    out = {name: {"visit_browser": [], "visit_server": [], "face_browser": [], "face_server": []}
           for name in roots}
    with ExitStack() as stack:
        urls = {name: stack.enter_context(running_studio(f"bench_sampler_ab_{name}.log",
                                                         {"PYTHONPATH": str(root)}, cwd=root))
                for name, root in roots.items()}
        servers = {name: bsc._server_pids(url) for name, url in urls.items()}
        order = list(roots)
        for name in order:  # the first visit loads the model: not counted
            visit(urls[name], servers[name])[0].quit()
        kept: dict[str, tuple] = {}
        for v in range(visits):
            for name in (order if v % 2 == 0 else order[::-1]):
                driver, pids, b, s = visit(urls[name], servers[name])
                out[name]["visit_browser"].append(b)
                out[name]["visit_server"].append(s)
                if name in kept:
                    kept[name][0].quit()
                kept[name] = (driver, pids)
        time.sleep(2.5)
        try:
            for i in range(faces):
                for name in (order if i % 2 == 0 else order[::-1]):
                    b, s = new_face(*kept[name], servers[name])
                    out[name]["face_browser"].append(b)
                    out[name]["face_server"].append(s)
                    time.sleep(0.5)  # shorter than the 1.5 s after which the drag frames are asked for
        finally:
            for driver, _ in kept.values():
                driver.quit()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", metavar="REV", required=True, help="the commit to compare with")
    ap.add_argument("--visits", type=int, default=5, help="warm first visits per side")
    ap.add_argument("--faces", type=int, default=16, help="new faces per side")
    args = ap.parse_args()
    if not chromium_installed():
        sys.exit("needs Debian's chromium and chromium-driver")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.baseline], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            rows = measure({"now": ROOT, "baseline": tree}, args.visits, args.faces)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    med = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in rows.items()}
    for name, m in med.items():
        print(f"{name:<9} per warm first visit: browser {m['visit_browser']:.2f} CPU-s, server "
              f"{m['visit_server']:.2f} CPU-s | per new face: browser {m['face_browser']:.3f} CPU-s, server "
              f"{m['face_server']:.3f} CPU-s (medians)")
    now, base = med["now"], med["baseline"]
    print("baseline / now: " + ", ".join(f"{k.replace('_', ' ')} x{base[k] / max(now[k], 1e-3):.2f}"
                                         for k in now))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
