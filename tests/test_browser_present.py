"""Real-browser test of the presenter's keys (issue 26): every key press in the presenter's window moves the
show exactly once, however fast the presses come and whether or not a rerun is under way.

One studio server for the module, serving a show of title cards only (nothing to render, nothing to load),
and one headless Chromium on its presenter's screen (``/present?show=keys&view=presenter``). Each test
reads the show's position file (the one both windows poll) before and after N forward presses: the scene
must be exactly N further on (a lost press leaves it short, a doubled one beyond). The presses come as one
burst, 100-200 ms apart, and exactly when the page has just started a rerun.
"""

from __future__ import annotations

import random
import time

import pytest

from core import show as S
from core.show import position as P
from tests.browser_support import assert_clean, wait, wait_rendered

SCENES = 60
PRESSES = 20
HEADING = (
    "(() => { const h = [...document.querySelectorAll('h2')].map(e => e.innerText)"
    ".find(t => / \\/ \\d+ · /.test(t)); return h ? parseInt(h, 10) - 1 : null; })()"
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def show_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("shows")
    talk = root / "keys"
    S.create_show(talk, "Keys")
    for i in range(SCENES):
        S.add_scene(talk, {"kind": "title", "id": f"t{i}", "title": f"Card {i + 1}", "text": "A card."})
    yield talk
    P.position_file(talk).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def show_url(studio_server, show_dir, browser):
    url = studio_server("present_keys.log", {"CUSTOM_CAST_SHOWS": str(show_dir.parent)})
    browser.get(url)  # the home page first: a deep link as a fresh server's first request pops up a dialog
    wait_rendered(browser, "Custom Cast")
    return f"{url}/present?show=keys"


@pytest.fixture(scope="module")
def presenter(show_url, browser):
    browser.get(f"{show_url}&view=presenter")
    wait(browser, f"{HEADING} !== null && !!window.__ccKeys", 120, "the presenter's screen")
    assert_clean(browser, "/present?view=presenter")
    return browser


def _settled(show_dir, scene: int, timeout: float = 20) -> P.Position:
    """The position once it named ``scene`` (or the time ran out) and nothing moved for a second more (a
    late, doubled press would show up)."""
    deadline = time.time() + timeout
    while P.read_position(show_dir).scene != scene and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(1.0)
    return P.read_position(show_dir)


def _press(browser, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(keys).perform()


def _start(show_dir, browser, scene: int) -> P.Position:
    from selenium.webdriver.common.keys import Keys

    _press(browser, Keys.HOME)
    for _ in range(scene):
        _press(browser, Keys.RIGHT)
        time.sleep(0.5)
    pos = _settled(show_dir, scene)
    assert pos.scene == scene, f"could not start the test at scene {scene + 1}"
    return pos


def _assert_moved(browser, before: P.Position, after: P.Position, presses: int) -> None:
    """Forward presses only: the show must be exactly ``presses`` scenes on (a lost press leaves it short,
    a doubled one beyond), in at most one move per press, and the presenter's screen must say so."""
    assert after.scene - before.scene == presses, (
        f"{presses} key presses moved the show {after.scene - before.scene} scenes "
        f"(scene {before.scene + 1} -> {after.scene + 1}, in {after.seq - before.seq} moves)"
    )
    assert 0 < after.seq - before.seq <= presses
    wait(browser, f"{HEADING} === {after.scene}", 15, f"the presenter's screen on scene {after.scene + 1}")


def test_a_burst_of_key_presses_moves_the_show_once_each(presenter, show_dir):
    from selenium.webdriver.common.keys import Keys

    before = _start(show_dir, presenter, 0)
    _press(presenter, Keys.RIGHT * PRESSES)  # 20 key downs and ups in one go, as fast as the driver types
    _assert_moved(presenter, before, _settled(show_dir, PRESSES), PRESSES)


def test_key_presses_100_to_200_ms_apart_move_the_show_once_each(presenter, show_dir):
    from selenium.webdriver.common.keys import Keys

    before = _start(show_dir, presenter, 1)
    rng = random.Random(26)
    for _ in range(PRESSES):  # a clicker's PageDown and the keyboard's forward keys, mixed
        _press(presenter, rng.choice([Keys.RIGHT, Keys.PAGE_DOWN, Keys.SPACE, Keys.DOWN]))
        time.sleep(rng.uniform(0.1, 0.2))
    _assert_moved(presenter, before, _settled(show_dir, 1 + PRESSES), PRESSES)


def test_key_presses_made_while_a_rerun_runs_move_the_show_once_each(presenter, show_dir):
    """Each press lands while the page's script is running (the rerun of the press before, or the
    screen's clock tick): the page itself presses the next key the moment a rerun starts."""
    before = _start(show_dir, presenter, 5)
    presenter.set_script_timeout(90)
    pressed = presenter.execute_async_script("""
        const done = arguments[arguments.length - 1], want = arguments[0];
        const app = document.querySelector('[data-testid="stApp"]');
        let pressed = 0, t0 = performance.now();
        const press = () => {
          window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
          pressed += 1;
        };
        const watch = new MutationObserver(() => {
          if (app.getAttribute('data-test-script-state') !== 'running') return;
          press();
          if (pressed >= want || performance.now() - t0 > 60000) { watch.disconnect(); done(pressed); }
        });
        watch.observe(app, { attributes: true, attributeFilter: ['data-test-script-state'] });
        press();  // the first press starts the first rerun
    """, PRESSES)
    assert pressed == PRESSES, f"only {pressed} reruns started in a minute"
    _assert_moved(presenter, before, _settled(show_dir, 5 + PRESSES), PRESSES)


AUDIENCE_SCENE = (
    "(() => { for (const f of document.querySelectorAll('iframe')) { try { "
    "if (f.contentWindow.ccShow) return f.contentWindow.ccShow.current(); } catch (e) {} } return null; })()"
)


@pytest.fixture(scope="module")
def audience(show_url, presenter):
    from tests.browser_support import new_browser

    driver = new_browser()
    driver.get(show_url)
    wait(driver, f"{AUDIENCE_SCENE} !== null && !!window.__ccPolling", 120, "the audience's stage")
    yield driver
    driver.quit()


def test_the_audience_follows_the_presenter_to_a_scene_its_own_clicker_chose(presenter, audience, show_dir):
    """The audience's clicker moves the stage to scene 5; the presenter then goes on to 6 and back to 5
    right away. The audience window must show 5: its own move's echo is skipped, the presenter's move to
    the same scene is not."""
    from selenium.webdriver.common.keys import Keys

    before = _start(show_dir, presenter, 3)
    wait(audience, f"{AUDIENCE_SCENE} === 3", 10, "the audience on scene 4")
    _press(audience, Keys.PAGE_DOWN)
    assert _settled(show_dir, 4).scene == 4, "the audience's clicker move was not written back"
    wait(presenter, f"{HEADING} === 4", 10, "the presenter's screen on the audience's scene 5")
    _press(presenter, Keys.RIGHT)
    wait(audience, f"{AUDIENCE_SCENE} === 5", 5, "the audience following the presenter to scene 6")
    _press(presenter, Keys.LEFT)  # (the old echo filter skipped any scene the clicker chose in the last 3 s)
    after = _settled(show_dir, 4)
    assert (after.scene, after.seq - before.seq) == (4, 3)  # the clicker's move, then the presenter's two
    try:
        wait(audience, f"{AUDIENCE_SCENE} === 4", 5)
    except AssertionError:
        shown = audience.execute_script(f"return {AUDIENCE_SCENE};")
        pytest.fail(f"the presenter moved to scene 5, the audience window stayed on scene {shown + 1}")


def test_an_audience_window_opened_later_takes_the_show_where_it_is(presenter, audience, show_url, show_dir):
    """A second machine opening the audience window (or the projector's window reloaded) from an old link
    with ?scene=2 shows the scene on stage now and moves nothing: the scene its stage opened on is not a
    move."""
    before = _start(show_dir, presenter, 7)
    audience.get(f"{show_url}&scene=2")
    wait(audience, f"{AUDIENCE_SCENE} === 7 && !!window.__ccPolling", 60, "the late window on scene 8")
    time.sleep(1.5)
    after = P.read_position(show_dir)
    assert (after.scene, after.seq) == (before.scene, before.seq), (
        f"opening an audience window moved the show to scene {after.scene + 1}"
    )
    assert audience.execute_script(f"return {AUDIENCE_SCENE};") == 7
