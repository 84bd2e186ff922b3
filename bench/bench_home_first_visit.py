"""Home on a fresh server: seconds from the first request to six painted faces, in a real browser.

Two fresh servers in one run: the faces' disk cache removed (the first visit after a checkpoint changes:
they are rendered once) and present (every later fresh server). Prints both and their ratio; the target of
issue 22 is the second within 3 s.

    python bench/bench_home_first_visit.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.showcase import HOME_FACES_DIR  # noqa: E402
from tests.browser_support import new_browser, running_studio, wait  # noqa: E402

FACES_PAINTED = ("[...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                 ".filter(i => i.complete && i.naturalWidth > 0).length >= 6")


def first_visit(cold: bool) -> float:
    if cold:
        shutil.rmtree(HOME_FACES_DIR, ignore_errors=True)
    with running_studio("bench_home.log") as url:
        driver = new_browser()
        try:
            t0 = time.perf_counter()
            driver.get(f"{url}/")
            wait(driver, FACES_PAINTED, 180, "six faces on the home page")
            return time.perf_counter() - t0
        finally:
            driver.quit()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    cold, warm = [], []
    for _ in range(args.rounds):
        cold.append(first_visit(cold=True))
        warm.append(first_visit(cold=False))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"faces prepared on this request (cache removed): {', '.join(f'{t:.2f}' for t in cold)} s")
    print(f"faces from the disk cache (fresh server):       {', '.join(f'{t:.2f}' for t in warm)} s")
    print(f"ratio (best of each): x{min(cold) / min(warm):.1f}")


if __name__ == "__main__":
    main()
