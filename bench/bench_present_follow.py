"""Benchmark: the audience window following the presenter's screen, in two real headless Chromium windows.

Starts the studio (streamlit_app.py) on a loopback port, opens the demo show's stage (the audience window)
in one browser and ``/present?show=demo&view=presenter`` in another, then presses keys in the presenter's
window (ArrowRight through the show, PageUp back: what a clicker sends) and measures, on one clock, how
long until the audience's player shows the new scene. Then the other way: a key pressed on the audience
window, until the presenter's screen names the new scene. Each window carries a marker set at the start,
in the page and in the stage's frame; if either reloaded, the marker would be gone.

    .venv/bin/python bench/bench_present_follow.py [--moves 20] [--show demo]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.show import position as P  # noqa: E402
from tests.browser_support import new_browser, running_studio, wait  # noqa: E402

TARGET_MS = 300.0
AUDIENCE_SCENE = (
    "(() => { for (const f of document.querySelectorAll('iframe')) { try { "
    "if (f.contentWindow.ccShow) return f.contentWindow.ccShow.current(); } catch (e) {} } "
    "return null; })()"
)
PRESENTER_HEADING = (
    "(() => { const h = [...document.querySelectorAll('h2')].map(e => e.innerText)"
    ".find(t => / \\/ \\d+ · /.test(t)); return h ? parseInt(h, 10) - 1 : null; })()"
)
MARK = (
    "window.__ccMark = 1; for (const f of document.querySelectorAll('iframe')) { try { "
    "f.contentWindow.__ccMark = 1; } catch (e) {} }"
)
MARKED = (
    "window.__ccMark === 1 && [...document.querySelectorAll('iframe')].every(f => { try { "
    "return !f.contentWindow.ccShow || f.contentWindow.__ccMark === 1; } catch (e) { return true; } })"
)


def press(driver, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ActionChains(driver).send_keys(getattr(Keys, key)).perform()


def until(driver, expression: str, wanted: int, timeout: float = 10.0) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        value = driver.execute_script(f"return {expression};")
        if value == wanted:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise AssertionError(f"{expression[:40]}… stayed {value}, never became {wanted}")
        time.sleep(0.005)


def until_written(path: Path, scene: int, timeout: float = 5.0) -> float:
    """When the server has written ``scene`` to the show's position file (read from disk, like a poll)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            if json.loads(path.read_text())["scene"] == scene:
                return time.perf_counter()
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.002)
    raise AssertionError(f"the position file never named scene {scene + 1}")


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=20)
    ap.add_argument("--show", default="demo")
    args = ap.parse_args(argv)

    with running_studio("bench_present_follow.log") as url:
        audience = presenter = None
        try:
            base = f"{url}/present?show={args.show}"
            audience, presenter = new_browser(), new_browser()
            audience.get(base)
            wait(audience, f"{AUDIENCE_SCENE} !== null", 120, "the stage's player")
            presenter.get(base + "&view=presenter")
            wait(presenter, f"{PRESENTER_HEADING} !== null && !!window.__ccKeys", 120,
                 "the presenter's screen")
            wait(audience, "!!window.__ccPolling", 60, "the audience's follower")
            # Start both at scene 1: Home in the presenter's window.
            press(presenter, "HOME")
            until(audience, AUDIENCE_SCENE, 0, 20)
            n = audience.execute_script(
                "for (const f of document.querySelectorAll('iframe')) { try { "
                "if (f.contentWindow.ccShow) return f.contentWindow.document"
                ".querySelectorAll('#cc-pick option').length; } catch (e) {} } return 0;"
            )
            n = n or 10
            for d in (audience, presenter):
                d.execute_script(MARK)
            forward, back, reverse, lost, written = [], [], [], [], []
            position = P.position_file(ROOT / "shows" / args.show)
            scene = 0
            for i in range(args.moves):
                key, step = ("RIGHT", 1) if scene < n - 1 and (i // (n - 1)) % 2 == 0 else ("PAGE_UP", -1)
                if scene == 0:
                    key, step = "RIGHT", 1
                t0 = time.perf_counter()
                press(presenter, key)
                scene += step
                try:
                    written.append((until_written(position, scene) - t0) * 1000)
                    (forward if step > 0 else back).append(
                        (until(audience, AUDIENCE_SCENE, scene, 5) - t0) * 1000
                    )
                    until(presenter, PRESENTER_HEADING, scene, 5)
                except AssertionError as e:
                    lost.append(f"{key} to scene {scene + 1}: {e}")
                    scene = presenter.execute_script(f"return {PRESENTER_HEADING};")
                    until(audience, AUDIENCE_SCENE, scene, 10)
                time.sleep(0.15)
            for _ in range(max(3, args.moves // 4)):  # a clicker pointed at the projector's window
                step = -1 if scene > 0 else 1
                t0 = time.perf_counter()
                press(audience, "PAGE_UP" if step < 0 else "PAGE_DOWN")
                scene += step
                try:
                    until(audience, AUDIENCE_SCENE, scene, 5)
                    reverse.append((until(presenter, PRESENTER_HEADING, scene, 5) - t0) * 1000)
                except AssertionError as e:
                    lost.append(f"audience {step:+d} to scene {scene + 1}: {e}")
                    scene = audience.execute_script(f"return {AUDIENCE_SCENE};")
                time.sleep(0.15)
            reloaded = [
                name
                for name, d in (("audience", audience), ("presenter", presenter))
                if not d.execute_script(f"return {MARKED};")
            ]
        finally:
            for d in (audience, presenter):
                if d is not None:
                    d.quit()

    moves = forward + back
    print(
        f"show {args.show!r}: {len(moves)} presenter moves (keys ArrowRight / PageUp), {len(reverse)} "
        "audience moves; two headless Chromium windows and the server on the same 2 cores"
    )
    load = os.getloadavg()[0]
    print(
        f"load average at the end: {load:.1f} on {os.cpu_count()} cores (other work on the machine included)"
    )
    print()
    print("| direction | moves | p50 | p95 | max |")
    print("|---|---|---|---|---|")
    for label, values in (
        ("presenter key -> position written by the server", written),
        ("presenter key -> audience stage shows the scene", moves),
        ("audience key (clicker) -> presenter screen names it", reverse),
    ):
        if not values:
            continue
        print(
            f"| {label} | {len(values)} | {statistics.median(values):.0f} ms | "
            f"{percentile(values, 0.95):.0f} ms | {max(values):.0f} ms |"
        )
    print()
    print(f"windows reloaded: {', '.join(reloaded) if reloaded else 'none'}; moves lost: {len(lost)}")
    for line in lost:
        print(f"  lost: {line}")
    ok = bool(moves) and percentile(moves, 0.95) <= TARGET_MS and not reloaded and not lost
    print(f"target: audience follows within {TARGET_MS:.0f} ms (p95), no reload: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
