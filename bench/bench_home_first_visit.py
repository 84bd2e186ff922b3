"""Home on a fresh server: seconds from the first request to six painted faces, in a real browser.

Two kinds of fresh server: the faces' disk cache removed (the first visit after a checkpoint changes: they
are rendered once) and present (every later fresh server; the target of issue 22 is within 3 s). Each
visit also prints its page-clock breakdown: the browser's own work (the Streamlit front end loaded, DOM
ready), then the server's first script run (the title on screen) and the faces (in the page, then painted).

``--baseline REV`` serves the app as committed at REV (``git archive`` into a temporary folder, with this
checkout's checkpoints/ and cache/ linked in, so both read the same prepared faces) in alternating rounds
with this checkout, from the faces' disk cache, and prints both medians: a before/after under the same
machine state. The load average is printed with every visit: on the shared 2-core box it moves every figure.

    python bench/bench_home_first_visit.py [--rounds 2] [--baseline REV]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.showcase import HOME_FACES_DIR  # noqa: E402
from tests.browser_support import new_browser, running_studio, wait  # noqa: E402

# Page-clock marks (ms since navigation), installed before the page's scripts run.
MARKS = """(() => {
  const m = window.__home = {}, now = () => performance.now();
  const look = () => {
    if (!m.title && document.querySelector('h1')) m.title = now();
    const imgs = [...document.querySelectorAll('[data-testid="stImage"] img')];
    if (!m.faces && imgs.length >= 6) m.faces = now();
    const ready = imgs.length >= 6 && imgs.every(i => i.complete && i.naturalWidth > 0);
    if (!m.painted && ready) m.painted = now();
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true });
  document.addEventListener("load", look, true);  // an <img> finished loading
})();"""


def first_visit(root: Path = ROOT, cold: bool = False) -> dict[str, float]:
    """A fresh server in ``root``, one browser: the page-clock marks of its first visit (seconds)."""
    if cold:
        shutil.rmtree(HOME_FACES_DIR, ignore_errors=True)
    with running_studio("bench_home.log", cwd=root) as url:
        return _visit(url)


def _visit(url: str) -> dict[str, float]:
    driver = new_browser()
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MARKS})
    try:
        load = os.getloadavg()[0]
        driver.get(f"{url}/")
        marks = wait(driver, "window.__home && window.__home.painted && window.__home", 180,
                     "six faces on the home page")
        dom = driver.execute_script("return performance.getEntriesByType('navigation')[0]"
                                    ".domContentLoadedEventEnd")
        return {"load": load, "front end": dom / 1000, "title": marks["title"] / 1000,
                "faces": marks["faces"] / 1000, "painted": marks["painted"] / 1000}
    finally:
        driver.quit()


def _line(name: str, v: dict[str, float]) -> str:
    return (f"{name}: faces painted {v['painted']:.2f} s (front end loaded {v['front end']:.2f}, title "
            f"{v['title']:.2f}, faces in the page {v['faces']:.2f}) · load average {v['load']:.1f}")


def baseline_tree(rev: str) -> Path:
    """The app as committed at ``rev``, in a temporary folder, reading this checkout's checkpoints and
    prepared faces."""
    tmp = Path(tempfile.mkdtemp(prefix="home-baseline-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    for name in ("checkpoints", "cache"):
        shutil.rmtree(tmp / name, ignore_errors=True)
        (tmp / name).symlink_to(ROOT / name)
    return tmp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--baseline", metavar="REV", help="compare with the app at this git revision")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the start")
    if args.baseline:
        base = baseline_tree(args.baseline)
        try:
            first_visit(ROOT)  # prepares the faces' disk cache (and compiles both trees) before timing
            first_visit(base)
            runs: dict[str, list[float]] = {args.baseline: [], "this checkout": []}
            for _ in range(args.rounds):
                for name, root in ((args.baseline, base), ("this checkout", ROOT)):
                    v = first_visit(root)
                    runs[name].append(v["painted"])
                    print(_line(name, v), flush=True)
            for name, times in runs.items():
                print(f"{name}: median {statistics.median(times):.2f} s, best {min(times):.2f} s "
                      f"over {len(times)} fresh servers")
            print(f"ratio of medians (baseline / this checkout): "
                  f"x{statistics.median(runs[args.baseline]) / statistics.median(runs['this checkout']):.2f}")
        finally:
            shutil.rmtree(base, ignore_errors=True)
        return
    cold, warm = [], []
    for _ in range(args.rounds):
        v = first_visit(cold=True)
        cold.append(v["painted"])
        print(_line("faces prepared on this request (cache removed)", v), flush=True)
        v = first_visit(cold=False)
        warm.append(v["painted"])
        print(_line("faces from the disk cache (fresh server)", v), flush=True)
    print(f"cache removed: {', '.join(f'{t:.2f}' for t in cold)} s; from the disk cache: "
          f"{', '.join(f'{t:.2f}' for t in warm)} s; ratio (best of each): x{min(cold) / min(warm):.1f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
