"""Helpers of the real-browser tests and benchmarks: a Streamlit server on a free loopback port, headless
Chromium with the page probe installed, and the waits, clicks, drags and screenshots they drive it with.
Plain functions; the fixtures over them (``chromium``, ``browser``, ``studio_server``) are in
tests/conftest.py, and the bench/ scripts use :func:`running_studio` and :func:`new_browser` directly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
SHOTS = ARTIFACTS / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WINDOW = (1600, 1000)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-dev-shm-usage"]

# Installed in every page before its scripts run: when the sampler's face first got a picture, when its
# drag frames arrived, and the first change of its picture after a click or an Enter (page clock).
PROBE = """
(() => {
  const p = window.__cc = { first: null, src: null, t0: null, t1: null, scrubReady: null, released: null,
                            exact: null, sent: 0 };
  // Messages the page sends its server (each widget change or rerun request is one): a page that keeps
  // sending while nobody touches it is in a rerun loop.
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) { p.sent += 1; return send.call(this, data); };
  const arm = () => { p.t0 = performance.now(); p.t1 = null; };
  document.addEventListener("keydown", e => { if (e.key === "Enter") arm(); }, true);
  document.addEventListener("click", arm, true);
  document.addEventListener("change", e => {
    if (e.target && e.target.id === "sg-morph") { p.released = performance.now(); p.exact = null; }
  }, true);
  const look = () => {
    const img = document.querySelector("img#sg-face"), src = img && img.getAttribute("src");
    if (src && src !== p.src) {
      p.src = src;
      const now = performance.now();
      if (p.first === null) p.first = now;
      else if (p.t0 !== null && p.t1 === null) p.t1 = now;
    }
    const blended = img && Number(img.dataset.t) > 0;
    if (blended && p.released !== null && p.exact === null) p.exact = performance.now();
    const range = document.querySelector("input#sg-morph");
    if (p.scrubReady === null && range && range.dataset.scrub === "ready") p.scrubReady = performance.now();
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true,
                                                 attributeFilter: ["src", "data-scrub", "data-t"] });
})();
"""


# ------------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cmd: list[str], port: int, log_name: str, env: dict | None = None,
                 cwd: Path = ROOT) -> subprocess.Popen:
    """Start a server in its own process group (its log in tests/artifacts/), wait for its port."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")  # noqa: SIM115 - closed with the server
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
                                                **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log = log
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"{cmd[:4]} exited early:\n{(ARTIFACTS / log_name).read_text()[-3000:]}")
            time.sleep(0.3)
    stop_server(proc)
    pytest.fail(f"{cmd[:4]} did not open port {port} in 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.log.close()


def streamlit_command(script: str, port: int, address: str = "127.0.0.1") -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
            "--server.address", address, "--server.port", str(port), "--server.fileWatcherType", "none",
            "--global.developmentMode", "false"]


@contextmanager
def running_studio(log_name: str, env: dict | None = None, script: str = "streamlit_app.py",
                   port: int | None = None, cwd: Path = ROOT, address: str = "127.0.0.1") -> Iterator[str]:
    """The studio (or another Streamlit ``script``) served from ``cwd`` on a port (a free one unless given)
    of ``address`` (0.0.0.0: every interface): its loopback URL while the block runs, its log in
    tests/artifacts/``log_name``; stopped after."""
    port = port or free_port()
    proc = start_server(streamlit_command(script, port, address), port, log_name, env, cwd)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


def chromium_installed() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def new_browser(probe: str | None = PROBE, window: tuple[int, int] = WINDOW, extra_flags: Sequence[str] = (),
                page_load_strategy: str | None = None):
    """Headless Chromium with ``probe`` installed in every page before its scripts run (None: none)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--window-size={window[0]},{window[1]}", *extra_flags]:
        opts.add_argument(flag)
    if page_load_strategy:
        opts.page_load_strategy = page_load_strategy
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(120)
    if probe:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": probe})
    return driver


def report_timings(pytestconfig, timings: dict, file_name: str, heading: str, digits: int = 3,
                   file_extra: dict | None = None) -> None:
    """Write a module's ``timings`` (and ``file_extra``) to tests/artifacts/``file_name`` and show them
    after the run, with -q too, pass or fail."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / file_name).write_text(json.dumps({**timings, **(file_extra or {})}, indent=1) + "\n")
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(heading)
        for what, value in timings.items():
            reporter.write_line(f"  {what}: {f'{value:.{digits}f}' if isinstance(value, float) else value}")


# ------------------------------------------------------------------------------------------- helpers


def wait(driver, condition: str, timeout: float = 60, what: str = ""):
    """Poll a JavaScript expression until it is truthy; return its value."""
    deadline = time.time() + timeout
    while True:
        value = driver.execute_script(f"return ({condition});")
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(0.05)


def wait_in_page(driver, condition: str, timeout: float, what: str):
    """Wait until the JavaScript ``condition`` is truthy and return its value, checked by the page itself
    every 25 ms (one WebDriver call): polling it from here costs ~0.07 CPU-s per second per browser
    (chromedriver and the renderer), which five sessions turned into a third of a core taken from the
    server and the pages being measured."""
    from selenium.common.exceptions import TimeoutException

    driver.set_script_timeout(timeout)
    try:
        return driver.execute_async_script(f"""
            const done = arguments[arguments.length - 1];
            const check = () => {{ const v = ({condition}); if (v) done(v); else setTimeout(check, 25); }};
            check();""")
    except TimeoutException:
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}") from None


def wait_rendered(driver, expected: str, timeout: float = 120) -> float:
    """Wait until the script run has ended with ``expected`` on the page; seconds since navigation."""
    wait(driver, f"""(() => {{
        const app = document.querySelector('[data-testid="stApp"]');
        return app && app.getAttribute("data-test-script-state") === "notRunning"
            && document.body.innerText.toLowerCase().includes({expected.lower()!r});
    }})()""", timeout, f"the page to finish rendering with {expected!r}")
    return driver.execute_script("return performance.now()") / 1000


def idle(driver, timeout: float = 120) -> None:
    wait(driver, 'document.querySelector(\'[data-testid="stApp"]\')?.getAttribute("data-test-script-state")'
                  ' === "notRunning"', timeout, "the script run to end")


def assert_clean(driver, where: str) -> None:
    from selenium.webdriver.common.by import By

    errors = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    assert not errors, f"{where} shows an exception: {errors[0].text[:500]}"
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "Traceback" not in body, f"{where} shows a traceback"
    assert "Page not found" not in body, f"{where} is not routed"
    broken = driver.execute_script("return [...document.images].filter(i => i.getAttribute('src') && "
                                   "i.complete && i.naturalWidth === 0).map(i => i.src.slice(0, 80))")
    assert not broken, f"{where} shows broken images: {broken[:3]}"


def shot(driver, name: str, settle: float = 1.0) -> Path:
    time.sleep(settle)  # let images, videos and charts paint
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000, f"{path.name} looks blank"
    return path


def drag(driver, element, start: float, end: float, release: bool = True, steps: int = 6) -> None:
    """Drag a range input's thumb with the mouse from ``start`` to ``end`` (fractions of its width)."""
    from selenium.webdriver import ActionChains

    width = element.size["width"]
    chain = ActionChains(driver).move_to_element_with_offset(element, round(width * (start - 0.5)), 0)
    chain.click_and_hold()
    dx = width * (end - start) / steps
    for k in range(steps):
        chain.move_by_offset(round(dx * (k + 1)) - round(dx * k), 0).pause(0.05)
    if release:
        chain.release()
    chain.perform()


def release(driver) -> None:
    from selenium.webdriver import ActionChains

    ActionChains(driver).release().perform()


def click_button(driver, text: str, timeout: float = 30) -> None:
    """Click the (re-rendered, possibly stale) Streamlit button whose text is ``text``."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.time() + timeout
    while True:
        try:
            for b in driver.find_elements(By.CSS_SELECTOR, "button"):
                if b.text.strip() == text and b.is_enabled():
                    b.click()
                    return
        except StaleElementReferenceException:
            pass
        assert time.time() < deadline, f"no enabled button {text!r}"
        time.sleep(0.2)


def choose_option(driver, label: str, option: str, timeout: float = 60) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label``: wait for the box (the sampler draws
    its sidebar after the page), open it, click the option."""
    from selenium.webdriver.common.by import By

    selector = f'[data-testid="stSelectbox"]:has(input[aria-label="{label}"])'
    wait(driver, f"document.querySelector({selector!r})", timeout, f"the {label!r} box")
    driver.find_element(By.CSS_SELECTOR, selector).find_element(
        By.CSS_SELECTOR, 'button[aria-haspopup="listbox"]').click()
    wait(driver, f"[...document.querySelectorAll('[role=option]')].some(o => o.textContent.includes("
                 f"{option!r}))", timeout, f"the option {option!r}")
    driver.find_element(By.XPATH, f'//*[@role="option"][contains(., "{option}")]').click()


def open_details(driver, label: str, timeout: float = 30) -> None:
    """Unfold the expander whose title starts with ``label`` (the engineer's Details), if folded."""
    wait(driver, f"""(() => {{
        // the summary's text starts with its arrow icon's name: match the title's own text
        const s = [...document.querySelectorAll('[data-testid="stExpander"] summary')]
            .find(e => (e.querySelector('[data-testid="stMarkdownContainer"]') || e).textContent.trim()
                       .startsWith({label!r}));
        if (!s) return false;
        if (!s.parentElement.open && !s.dataset.ccOpened) {{ s.dataset.ccOpened = "1"; s.click(); }}
        return s.parentElement.open;
    }})()""", timeout, f"the {label!r} expander")


def new_tab(driver) -> None:
    """Open a tab and switch to it: a new browser session of the app (Streamlit keeps a tab's session
    across reloads and navigation)."""
    driver.switch_to.new_window("tab")
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})


def sidebar_link(driver, path: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="stSidebarNav"] a[href$="/{path}"]')
