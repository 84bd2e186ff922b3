"""The Present page's "Check the stage": the pre-flight (core.show.preflight) as a red / amber / green
list, with the browser window measured where only the page can: in the browser."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import streamlit as st

from core import PROJECT_ROOT
from core.show.preflight import AMBER, GREEN, RED, Preflight, check_window

RESULT_KEY = "present_preflight"
PREFLIGHT_TIMEOUT_S = 180
ICONS = {GREEN: "🟢", AMBER: "🟠", RED: "🔴"}

# Reports the browser window's inner size to the page (a bidirectional component: no iframe, so the
# numbers are the presenting window's own).
_WINDOW_JS = """
export default function (component) {
  const w = window;
  w.__ccSizeSet = component.setStateValue;
  // Sent only when it changed: every value sent reruns the page, and this runs again on each run (a new
  // value each time made the page rerun about ten times a second).
  const send = () => {
    const size = `${w.innerWidth}x${w.innerHeight}`;
    if (size === w.__ccSizeSent) return;
    w.__ccSizeSent = size;
    w.__ccSizeSet('size', { width: w.innerWidth, height: w.innerHeight });
  };
  if (!w.__ccSizeWatch) {
    w.__ccSizeWatch = true;
    let timer = null;
    w.addEventListener('resize', () => { clearTimeout(timer); timer = setTimeout(send, 300); });
  }
  send();
}
"""


def _window_probe():
    try:
        component = st.components.v2.component("custom_cast_window_size", js=_WINDOW_JS)
        result = component(key="present_window_size", on_size_change=lambda: None, height=0)
        size = getattr(result, "size", None) or {}
        return int(size.get("width") or 0) or None, int(size.get("height") or 0) or None
    except Exception:  # noqa: BLE001 - no component runtime (tests, an older Streamlit): not measured
        return None, None


def _join_url() -> str | None:
    return st.session_state.get("live_poll_join_url") or None  # the dashboard's join URL, when set


def run_checks(show_dir: Path, join_url: str | None, window: tuple[int | None, int | None]) -> Preflight:
    """``python -m core.show preflight --json`` in its own process, plus the window the page measured."""
    cmd = [sys.executable, "-m", "core.show", "preflight", str(Path(show_dir).resolve()), "--json"]
    if join_url:
        cmd += ["--join-url", join_url]
    try:
        out = subprocess.run(
            cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=PREFLIGHT_TIMEOUT_S
        )
        report = Preflight.from_dict(json.loads(out.stdout))
    except (subprocess.TimeoutExpired, OSError, ValueError, KeyError, TypeError) as e:
        report = Preflight(str(show_dir))
        why = (out.stderr.strip().splitlines() or [""])[-1] if "out" in locals() else str(e)
        report.add(
            "Pre-flight",
            RED,
            f"the check itself failed: {why or type(e).__name__}",
            f"run python -m core.show preflight {show_dir} in a terminal to see why",
        )
        return report
    measured = Preflight(report.show)
    check_window(measured, *window)
    report.replace("Browser window", measured.checks[0])
    return report


def stage_check_button(show_dir: Path) -> None:
    """The button (in the sidebar); the list appears at the top of the page."""
    window = _window_probe()
    if st.button(
        "Check the stage",
        key="present_check_stage",
        type="primary",
        width="stretch",
        help="Media, models, voter app and QR code, vote database, disk and this window",
    ):
        with st.spinner("Checking the stage (models load, the voter app is asked on the join URL)…"):
            st.session_state[RESULT_KEY] = (str(show_dir), run_checks(show_dir, _join_url(), window))


def stage_check_results(show_dir: Path) -> None:
    found = st.session_state.get(RESULT_KEY)
    if not found or found[0] != str(show_dir):
        return
    report = found[1]
    n = report.counts()
    title = f"Stage check: {n[GREEN]} green, {n[AMBER]} amber, {n[RED]} red" + (
        " · ready" if report.ok else " · fix the red lines"
    )
    with st.expander(title, expanded=not report.ok):
        for check in sorted(report.checks, key=lambda c: {RED: 0, AMBER: 1, GREEN: 2}[c.status]):
            line = f"{ICONS[check.status]} **{check.name}**: {check.message}"
            if check.fix and check.status != GREEN:
                line += f"  \n  ↳ {check.fix}"
            st.markdown(line)
        if st.button("Hide the stage check", key="present_check_hide"):
            st.session_state.pop(RESULT_KEY, None)
            st.rerun()
