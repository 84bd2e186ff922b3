"""Benchmark: what ONE browser session of the StyleGAN2 sampler costs, in CPU-seconds (robust while other
work shares the cores, unlike latencies): the visitor's Chromium (every process under its chromedriver) and
the Streamlit server, per warm first visit (a click on the sampler's sidebar link, until the page's run has
ended) and per "🎲 New face" click (until the new face is on screen and the run has ended).

``--baseline REV`` measures a committed tree the same way in the same run (a ``git worktree`` of REV in a
temporary folder, served with this checkout's Python) and prints the ratios. Issue 22 found the regression
this way: the face panel had stopped being a fragment, and every new face re-ran the whole page.

Usage: python bench/bench_sampler_cpu.py [--visits 3] [--faces 10] [--baseline REV]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_sampler_browser as bsb  # noqa: E402

from tests.browser_support import chromium_installed, running_studio, wait  # noqa: E402

NEW_FACE = ("🎲 New face", "🎲 Random")  # the button's label now, and before issue 22
RUN_ENDED = ('document.querySelector(\'[data-testid="stApp"]\')?.getAttribute("data-test-script-state")'
             ' === "notRunning"')


def idle(driver, timeout: float) -> None:
    """Until the page's script run has ended, checked in the page (no WebDriver polling in the measure)."""
    bsb.wait_in_page(driver, RUN_ENDED, timeout, "the script run to end")


def _server_pids(url: str) -> list[int]:
    port = url.rsplit(":", 1)[1]
    out = subprocess.run(["pgrep", "-af", "streamlit run"], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if f"--server.port {port}" in line]


def _cpu(browser_pids: list[int], server_pids: list[int]) -> tuple[float, float]:
    return bsb.tree_cpu_seconds(browser_pids), bsb.tree_cpu_seconds(server_pids)


def measure(root: Path, visits: int, faces: int) -> dict[str, list[float]]:
    """Browser and server CPU-seconds per warm first visit and per new face, served from ``root``."""
    out: dict[str, list[float]] = {"visit_browser": [], "visit_server": [], "face_browser": [],
                                   "face_server": [], "face_ms": []}
    with running_studio(f"bench_sampler_cpu_{root.name}.log", {"PYTHONPATH": str(root)}, cwd=root) as url:
        server = _server_pids(url)
        for visit in range(visits + 1):  # the first one loads the model: not counted
            driver = bsb.bench_browser(bsb.FACE)
            try:
                driver.get(url + "/")
                wait(driver, f"document.querySelector({bsb.SIDEBAR_LINK % 'stylegan2'!r}) !== null", 300,
                     "the home page's sidebar")
                time.sleep(1)
                pids = bsb._browser_pids([driver])
                b0, s0 = _cpu(pids, server)
                driver.execute_script(f"window.__bench.first = null; window.__bench.src = null;"
                                      f"document.querySelector({bsb.SIDEBAR_LINK % 'stylegan2'!r}).click();")
                bsb.wait_in_page(driver, "window.__bench.first", 300, "the first face")
                idle(driver, 300)
                b1, s1 = _cpu(pids, server)
                if visit:
                    out["visit_browser"].append(b1 - b0)
                    out["visit_server"].append(s1 - s0)
                if visit == visits:  # the last session also flips faces
                    _new_faces(driver, pids, server, faces, out)
            finally:
                driver.quit()
    return out


def _new_faces(driver, pids: list[int], server: list[int], faces: int, out: dict) -> None:
    label = wait(driver, f"""[...document.querySelectorAll('button')].map(b => b.innerText.trim())
                               .find(t => {list(NEW_FACE)!r}.includes(t))""", 120, "the new-face button")
    time.sleep(2)
    for _ in range(faces):
        b0, s0 = _cpu(pids, server)
        t0 = driver.execute_script("""
            window.__bench.t1 = null; window.__bench.t0 = performance.now();
            [...document.querySelectorAll('button')].find(b => b.innerText.trim() === arguments[0]).click();
            return window.__bench.t0;""", label)
        t1 = bsb.wait_in_page(driver, "window.__bench.t1", 60, "the new face")
        idle(driver, 60)
        b1, s1 = _cpu(pids, server)
        out["face_browser"].append(b1 - b0)
        out["face_server"].append(s1 - s0)
        out["face_ms"].append(t1 - t0)
        time.sleep(0.5)  # a look at the face; shorter than the 1.5 s after which the drag frames are asked


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("nan")


def _line(name: str, r: dict) -> str:
    m = {k: _median(v) for k, v in r.items()}
    return (f"{name:<10} per warm first visit: browser {m['visit_browser']:.2f} CPU-s, server "
            f"{m['visit_server']:.2f} CPU-s | per new face: browser {m['face_browser']:.2f} CPU-s, server "
            f"{m['face_server']:.3f} CPU-s, click -> face {m['face_ms']:.0f} ms (medians)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--visits", type=int, default=3, help="warm first visits (new sessions) measured")
    ap.add_argument("--faces", type=int, default=10, help="new faces measured in the last session")
    ap.add_argument("--baseline", metavar="REV", help="also measure this commit (git worktree)")
    args = ap.parse_args()
    if not chromium_installed():
        sys.exit("needs Debian's chromium and chromium-driver")
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} on {os.cpu_count()} CPUs "
          "(CPU-seconds hold under load, latencies do not)")
    rows = {"now": measure(ROOT, args.visits, args.faces)}
    print(_line("now", rows["now"]), flush=True)
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.baseline], cwd=ROOT,
                           check=True, capture_output=True)
            try:
                rows["baseline"] = measure(tree, args.visits, args.faces)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
        print(_line("baseline", rows["baseline"]))
        now, base = rows["now"], rows["baseline"]
        def ratio(key: str) -> float:
            return _median(base[key]) / max(_median(now[key]), 1e-3)

        print(f"baseline / now: browser per visit x{ratio('visit_browser'):.1f}, per new face "
              f"x{ratio('face_browser'):.1f}; server per visit x{ratio('visit_server'):.1f}, per new face "
              f"x{ratio('face_server'):.1f}")


if __name__ == "__main__":
    main()
