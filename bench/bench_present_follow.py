"""Benchmark: the audience window following the presenter's screen, in two real headless Chromium windows.

Starts the studio (streamlit_app.py) on a loopback port, opens the demo show's stage (the audience window)
in one browser and ``/present?show=demo&view=presenter`` in another, then presses keys in the presenter's
window (ArrowRight through the show, PageUp back: what a clicker sends) and measures, on one clock, how
long until the audience's player shows the new scene. Then the other way: a key pressed on the audience
window, until the presenter's screen names the new scene. Each window carries a marker set at the start,
in the page and in the stage's frame; if either reloaded, the marker would be gone.

Then a fast run: the same number of presenter presses 100-200 ms apart without waiting for anything; the
show must end exactly where the presses lead, with one move per press.

``--where`` says how the windows reach the server:
- ``loopback`` (default): both windows open http://127.0.0.1:PORT;
- ``lan``: the server listens on every interface and both windows open this machine's LAN address (the
  kernel still routes a machine's own address through its loopback device: this checks the address and
  the binding, not a network path);
- ``netns`` (root, ``ip netns``): the audience's Chromium (and its chromedriver) run in a network
  namespace of their own, joined to this one by a veth pair: another network stack reaching the server's
  address over a link, the nearest stand-in for a second machine on the LAN this box allows. The
  presenter's window stays on loopback, like a laptop presenting from the machine that serves the show.

    .venv/bin/python bench/bench_present_follow.py [--moves 20] [--show demo] [--where loopback|lan|netns]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.show import position as P  # noqa: E402
from core.vote.serve import lan_address  # noqa: E402
from tests.browser_support import CHROMEDRIVER, FLAGS, WINDOW, free_port, new_browser, running_studio, wait  # noqa: E402

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


NETNS_HOST, NETNS_GUEST = "10.213.0.1", "10.213.0.2"  # the veth pair's two ends (a /30 of RFC 1918 space)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextmanager
def browser_in_namespace():
    """A headless Chromium whose network is a namespace of its own, reaching this one over a veth pair;
    yields (driver, the server's address as that namespace sees it). Removed after."""
    from selenium import webdriver

    ns, host_if = f"ccfollow{os.getpid()}", f"ccf{os.getpid() % 100000}h"
    _ip("netns", "add", ns)
    driver_proc = driver = None
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", "ccguest", "netns", ns)
        _ip("addr", "add", f"{NETNS_HOST}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("netns", "exec", ns, "ip", "addr", "add", f"{NETNS_GUEST}/30", "dev", "ccguest")
        _ip("netns", "exec", ns, "ip", "link", "set", "ccguest", "up")
        _ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        port = free_port()
        driver_proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, CHROMEDRIVER, f"--port={port}", f"--allowed-ips={NETNS_HOST}",
             "--allowed-origins=*"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        opts = webdriver.ChromeOptions()
        for flag in [*FLAGS, f"--window-size={WINDOW[0]},{WINDOW[1]}"]:
            opts.add_argument(flag)
        deadline = time.time() + 30
        while driver is None:
            try:
                driver = webdriver.Remote(command_executor=f"http://{NETNS_GUEST}:{port}", options=opts)
            except Exception:  # noqa: BLE001 - chromedriver still starting
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        driver.set_page_load_timeout(120)
        yield driver, NETNS_HOST
    finally:
        if driver is not None:
            driver.quit()
        if driver_proc is not None:
            driver_proc.terminate()
            driver_proc.wait(10)
        subprocess.run(["ip", "netns", "del", ns], check=False)  # takes the veth pair with it


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=20)
    ap.add_argument("--show", default="demo")
    ap.add_argument("--where", choices=("loopback", "lan", "netns"), default="loopback",
                    help="how the windows reach the server (see the module's help)")
    args = ap.parse_args(argv)
    lan = lan_address() if args.where == "lan" else None
    if args.where == "lan" and not lan:
        print("error: this machine has no LAN address", file=sys.stderr)
        return 2
    if args.where == "netns" and os.geteuid() != 0:
        print("error: --where netns needs root (ip netns)", file=sys.stderr)
        return 2

    from contextlib import ExitStack

    address = "127.0.0.1" if args.where == "loopback" else "0.0.0.0"
    with running_studio("bench_present_follow.log", address=address) as url, ExitStack() as windows:
        presenter_url = audience_url = url
        if lan:
            presenter_url = audience_url = url.replace("127.0.0.1", lan)
        if args.where == "netns":
            audience, guest_sees_host = windows.enter_context(browser_in_namespace())
            audience_url = url.replace("127.0.0.1", guest_sees_host)
        else:
            audience = new_browser()
            windows.callback(audience.quit)
        presenter = new_browser()
        windows.callback(presenter.quit)
        audience.get(f"{audience_url}/present?show={args.show}")
        wait(audience, f"{AUDIENCE_SCENE} !== null", 120, "the stage's player")
        presenter.get(f"{presenter_url}/present?show={args.show}&view=presenter")
        wait(presenter, f"{PRESENTER_HEADING} !== null && !!window.__ccKeys", 120, "the presenter's screen")
        wait(audience, "!!window.__ccPolling", 60, "the audience's follower")
        load_start = os.getloadavg()[0]
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
                shown = until(audience, AUDIENCE_SCENE, scene, 5)
                (forward if step > 0 else back).append((shown - t0) * 1000)
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
        # Fast: presses 100-200 ms apart, nothing waited for; zig-zag so that every press moves the show.
        until(presenter, PRESENTER_HEADING, scene, 10)
        time.sleep(1.0)
        seq0, rng, fast_scene = json.loads(position.read_text())["seq"], random.Random(26), scene
        for _ in range(args.moves):
            step = 1 if fast_scene == 0 or (fast_scene < n - 1 and rng.random() < 0.7) else -1
            press(presenter, "RIGHT" if step > 0 else "PAGE_UP")
            fast_scene += step
            t_last = time.perf_counter()
            time.sleep(rng.uniform(0.1, 0.2))
        try:
            fast_follow = (until(audience, AUDIENCE_SCENE, fast_scene, 10) - t_last) * 1000
        except AssertionError:
            fast_follow = None
        time.sleep(1.5)
        final = json.loads(position.read_text())
        fast_moves, fast_end = final["seq"] - seq0, final["scene"]
        reloaded = [name for name, d in (("audience", audience), ("presenter", presenter))
                    if not d.execute_script(f"return {MARKED};")]

    moves = forward + back
    where = {"loopback": "both windows on 127.0.0.1",
             "lan": f"both windows on this machine's LAN address {lan} (the kernel routes it via loopback)",
             "netns": f"the audience window in its own network namespace over a veth pair ({NETNS_GUEST} -> "
                      f"{NETNS_HOST}), the presenter's on 127.0.0.1"}[args.where]
    print(
        f"show {args.show!r}: {len(moves)} presenter moves (keys ArrowRight / PageUp), {len(reverse)} "
        "audience moves; two headless Chromium windows and the server on the same machine; " + where
    )
    print(f"load average (1 min) at the start / end: {load_start:.1f} / {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores (other work on the machine included)")
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
    fast_ok = fast_moves == args.moves and fast_end == fast_scene and fast_follow is not None
    print(f"fast: {args.moves} presses 100-200 ms apart -> {fast_moves} moves, show on scene {fast_end + 1} "
          f"(expected {fast_scene + 1}); audience on it "
          f"{f'{fast_follow:.0f} ms' if fast_follow is not None else 'NEVER (10 s)'} after the last press: "
          f"{'ok' if fast_ok else 'PRESSES LOST OR DOUBLED'}")
    ok = bool(moves) and percentile(moves, 0.95) <= TARGET_MS and not reloaded and not lost and fast_ok
    print(f"target: audience follows within {TARGET_MS:.0f} ms (p95), no reload, no press lost: "
          f"{'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
