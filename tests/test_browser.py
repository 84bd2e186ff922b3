"""Real-browser test: `streamlit run` on a free loopback port, every page in headless Chromium.

One studio server for the module and one 1600x1000 browser (a second one only for the voter's phone).
Every page must render without an exception box, a traceback, "Page not found" or a broken image; the
interactions of issues 12-14 are driven as a presenter would: the sampler's first face, seed change and
morph drag; the present page's scene buttons and morph scrub; the exported HTML reel opened from disk
with no network; a vote cast in one browser moving the count in another; a scan, a page switch and a
training start. Screenshots go to tests/artifacts/screenshots/ (the README's copies in
assets/screenshots/ come from here); the timings are printed at the end of the module and written to
tests/artifacts/browser_timings.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tests.browser_support import (
    ROOT,
    assert_clean,
    click_button,
    drag,
    free_port,
    idle,
    new_browser,
    new_tab,
    open_details,
    release,
    report_timings,
    shot,
    sidebar_link,
    start_server,
    stop_server,
    wait,
    wait_rendered,
)

# url path -> (screenshot name, a text the page must show once it has rendered)
PAGES = {
    "": ("home", "Custom Cast"),
    "explorer": ("explorer", "Dataset explorer"),
    "dcgan": ("dcgan", "DCGAN trainer"),
    "stylegan2": ("stylegan2", "StyleGAN2 sampler"),
    "animator": ("animator", "FOMM animator"),
    "dashboard": ("dashboard", "Hypothesis dashboard"),
    "present": ("present", ""),  # the stage is an iframe: checked below
}
SEED_LABEL = "Seed of face A"  # under the sampler's "Details: seed numbers" (issue 22)
RUN_NAME = f"browser_test_{os.getpid()}"  # the DCGAN run this module starts (and removes)
STAGE = 'iframe[srcdoc*="cc-stage"]'
MORPH_SCENE = 4  # shows/demo: "Step 3: from one person to another"
# The live poll's meter: "0 of 10 answers needed", "23 of 60 planned answers", "61 answers".
VOTES_H1 = r"^\s*([\d,]+) (?:of [\d,]+ (?:planned answers|answers needed)|answers?)\s*$"

pytestmark = pytest.mark.browser
TIMINGS: dict[str, float | str] = {}


@pytest.fixture(scope="module")
def vote_db(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('vote') / 'vote.sqlite3'}"


@pytest.fixture(scope="module")
def app_url(studio_server, vote_db):
    return studio_server("studio.log", {"CUSTOM_CAST_DB": vote_db})


@pytest.fixture(scope="module")
def warm_app(app_url, browser):
    # The home page first, as a presenter opens it (a direct link as a fresh server's first request is
    # tested on a server of its own: test_direct_link_as_a_fresh_servers_first_request).
    browser.get(app_url)
    TIMINGS["home, first visit of a fresh server (s)"] = wait_rendered(browser, "Custom Cast")
    return app_url


@pytest.fixture(scope="module", autouse=True)
def timings_report(pytestconfig):
    yield
    if TIMINGS:
        load = os.getloadavg()
        report_timings(pytestconfig, TIMINGS, "browser_timings.json",
                       f"\nreal-browser timings (load average {load[0]:.1f} on {os.cpu_count()} CPUs):",
                       file_extra={"load average": load})


# ------------------------------------------------------------------------------------------- tests
# The sampler comes first: its first visit is the first on this server, model load included.


def test_sampler_first_image_seed_change_and_morph_drag(warm_app, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    visits = []
    for visit in range(2):  # the first visit loads the model; the second is a new session (a new tab)
        if visit:
            browser.close()
            browser.switch_to.window(browser.window_handles[0])
        new_tab(browser)
        browser.get(f"{warm_app}/stylegan2")
        visits.append(wait(browser, "window.__cc.first", 120, "the first face") / 1000)
        wait_rendered(browser, "StyleGAN2 sampler")
        assert_clean(browser, "/stylegan2")
    TIMINGS["sampler: first image, first visit of the server (s)"] = visits[0]
    TIMINGS["sampler: first image, next visit (s)"] = visits[1]
    assert max(visits) < 60, visits

    face = browser.find_element(By.CSS_SELECTOR, "img#sg-face")
    first_src, first_seed = face.get_attribute("src"), face.get_attribute("data-seed")
    assert first_src.startswith("data:image/"), first_src[:40]
    ready = wait(browser, "window.__cc.scrubReady", 120, "the drag frames")
    TIMINGS["sampler: drag frames ready after the first image (s)"] = (ready - visits[1] * 1000) / 1000

    # The main path has the room's controls; a seed number is typed in Details.
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Face A" in body and "Seed of face A" not in body, body[:1500]
    open_details(browser, "Details: seed numbers")
    box = browser.find_element(By.CSS_SELECTOR, f'input[aria-label="{SEED_LABEL}"]')
    seed = 1234 if first_seed != "1234" else 4321
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(seed))
    box.send_keys(Keys.ENTER)
    t0, t1 = wait(browser, "window.__cc.t1 !== null && [window.__cc.t0, window.__cc.t1]", 60, "seed's face")
    TIMINGS["sampler: seed change -> new image (s)"] = (t1 - t0) / 1000
    wait(browser, f"document.querySelector('img#sg-face').dataset.seed === '{seed}'", 60, "data-seed")
    seed_src = browser.find_element(By.CSS_SELECTOR, "img#sg-face").get_attribute("src")
    assert seed_src != first_src, "a new seed must show a new picture"

    click_button(browser, "🎲 New face")
    t0, t1 = wait(browser, "window.__cc.t1 !== null && [window.__cc.t0, window.__cc.t1]", 60, "🎲's face")
    TIMINGS["sampler: 🎲 New face -> new image (s)"] = (t1 - t0) / 1000
    idle(browser)
    dice_src = browser.find_element(By.CSS_SELECTOR, "img#sg-face").get_attribute("src")
    assert dice_src != seed_src, "🎲 must show another face"
    click_button(browser, "↩ Previous face")  # back to the typed seed's face, the same picture
    wait(browser, f"document.querySelector('img#sg-face').dataset.seed === '{seed}'", 60, "the previous face")
    idle(browser)
    assert browser.find_element(By.CSS_SELECTOR, "img#sg-face").get_attribute("src") == seed_src
    click_button(browser, "🎲 New face")
    wait(browser, f"document.querySelector('img#sg-face').dataset.seed !== '{seed}'", 60, "another face")
    idle(browser)
    dice_src = browser.find_element(By.CSS_SELECTOR, "img#sg-face").get_attribute("src")

    # The morph: the picture changes while the thumb is held (frames swapped in the browser, no server
    # round trip); the exact blend on release is checked by the last test of the module.
    wait(browser, "(document.querySelector('input#sg-morph') || {dataset: {}}).dataset.scrub === 'ready'",
          120, "drag frames")
    scrub = browser.find_element(By.CSS_SELECTOR, "input#sg-morph")
    drag(browser, scrub, 0.0, 0.6, release=False)
    dragging_src = browser.find_element(By.CSS_SELECTOR, "img#sg-face").get_attribute("src")
    release(browser)
    assert dragging_src != dice_src, "dragging the morph slider must change the picture"
    assert_clean(browser, "/stylegan2 after the morph")
    shot(browser, "stylegan2_morph")


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_without_exception(warm_app, browser, path):
    name, expected = PAGES[path]
    browser.get(f"{warm_app}/{path}")
    try:
        TIMINGS[f"page /{path}: navigation -> rendered (s)"] = wait_rendered(browser, expected)
    finally:
        shot(browser, name, settle=1.5)
    assert_clean(browser, f"/{path}")
    if path == "":  # the opening slide: six faces, a looping clip, the survey's headline
        faces = browser.execute_script("return document.querySelectorAll('[data-testid=stImage] img').length")
        assert faces >= 6, faces
        assert browser.execute_script("return document.querySelectorAll('video').length") >= 1
        assert re.search(r"\d+ of \d+ viewers \(\d+ %\) said", browser.find_element("tag name", "body").text)
    elif path == "animator":  # the bundled motion's preview: a video on a synthetic face, >= 6 s
        duration = wait(browser, "(() => { const v = document.querySelector('video');"
                                  " return v && v.readyState >= 1 && v.duration; })()", 60, "the preview")
        assert duration >= 6, duration
        browser.execute_script("document.querySelector('video').scrollIntoView({block: 'center'})")
        shot(browser, "animator_motion")
    elif path == "dashboard":  # the headline above the fold
        bottom = wait(browser, """(() => {
            const p = [...document.querySelectorAll('p')].find(e => /\\d+ of \\d+ viewers \\(\\d+ %\\) said/
                                                                       .test(e.textContent));
            return p && p.getBoundingClientRect().bottom; })()""", 30, "the survey headline")
        assert bottom <= browser.execute_script("return window.innerHeight"), "headline below the fold"
    elif path == "dcgan":  # the recorded time-lapse beside the live grid, at the top
        assert browser.execute_script("return [...document.querySelectorAll('video')]"
                                      ".some(v => (v.getAttribute('src') || '').startsWith('data:video/'))")
    elif path == "present":
        assert browser.execute_script(f"return document.querySelectorAll('{STAGE}').length") == 1


def test_present_scene_buttons_and_morph_scrub(warm_app, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{warm_app}/present?show=demo")
    wait_rendered(browser, "")
    TIMINGS["present: opening the page -> stage shown (s)"] = wait(browser, f"""(() => {{
        const f = document.querySelector('{STAGE}'), d = f && f.contentDocument;
        return d && d.getElementById('cc-stage') && performance.now(); }})()""", 60, "the stage") / 1000
    assert_clean(browser, "/present")
    idle(browser, 60)
    sent = browser.execute_script("return window.__cc.sent;")
    time.sleep(2)
    assert browser.execute_script("return window.__cc.sent;") - sent <= 1, \
        "the present page keeps rerunning while nobody touches it"
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, STAGE))
    try:
        wait(browser, "document.getElementById('cc-stage')", 30, "the stage")
        browser.execute_script("window.ccShow.go(0)")
        # Next until the morph scene, timing each change: click -> the scene's picture is on screen.
        steps = []
        for i in range(1, MORPH_SCENE + 1):
            steps.append(browser.execute_async_script("""
                const done = arguments[arguments.length - 1], want = arguments[0], t0 = performance.now();
                document.getElementById('cc-next').click();
                (function check() {
                  const stage = document.getElementById('cc-stage');
                  const media = stage.querySelector('img, video, .cc-card, .cc-missing');
                  const ready = media && (media.tagName !== 'IMG' || (media.complete && media.naturalWidth))
                                && (media.tagName !== 'VIDEO' || media.readyState >= 2);
                  const here = stage.getAttribute('data-index') === String(want);
                  if (here && ready) done(performance.now() - t0);
                  else if (performance.now() - t0 > 30000) done(-1);
                  else requestAnimationFrame(check);
                })();""", i))
            assert steps[-1] >= 0, f"scene {i + 1} did not come on screen"
        TIMINGS["present: next -> scene on screen, worst of 4 (ms)"] = max(steps)
        assert browser.find_element(By.ID, "cc-stage").get_attribute("data-kind") == "morph"
        assert browser.find_element(By.ID, "cc-scenes").get_attribute("value") == str(MORPH_SCENE)
        assert browser.find_elements(By.CSS_SELECTOR, ".cc-missing") == []
        wait(browser, "(() => { const f = document.querySelector('figure.cc-seq');"
                       " return f && f.dataset.loaded === f.dataset.frames; })()", 60, "all morph frames")
        scrub = browser.find_element(By.CSS_SELECTOR, 'input#cc-scrub[type="range"]')
        assert scrub.get_attribute("aria-label") == "Morph scrub"
        frame = browser.find_element(By.ID, "cc-frame")
        before = (frame.get_attribute("data-frame"), frame.get_attribute("src"))
        drag(browser, scrub, 0.0, 0.5, release=False)
        during = (frame.get_attribute("data-frame"), frame.get_attribute("src"))
        release(browser)
        assert during[0] != before[0] and during[1] != before[1], "dragging the scrub must change the picture"
        assert int(during[0]) > 0
        # Scrub latency: a value change -> the new frame decoded on screen.
        TIMINGS["present: scrub -> new frame on screen (ms)"] = float(browser.execute_async_script("""
            const done = arguments[arguments.length - 1], s = document.getElementById('cc-scrub');
            const img = document.getElementById('cc-frame'), t0 = performance.now();
            s.value = String(Math.round(Number(s.max) * 0.8)); s.dispatchEvent(new Event('input'));
            img.decode().then(() => done(performance.now() - t0), () => done(-1));"""))
        browser.execute_script("const s = document.getElementById('cc-scrub'); s.value = '0';"
                               "s.dispatchEvent(new Event('input'))")
        drag(browser, scrub, 0.0, 0.5)
    finally:
        browser.switch_to.default_content()
    # The address follows the stage: the audience window's follower writes ?scene= back within its 0.1 s
    # poll after a rerun (each move reported to the server reruns the page, which resets the address).
    wait(browser, "location.search.includes('scene=5')", 20,
         f"?scene=5 in the address ({browser.current_url})")
    shot(browser, "present_morph")


def test_exported_reel_plays_offline(warm_app, browser, tmp_path):
    from selenium.webdriver.common.by import By

    reel = tmp_path / "reel.html"
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "core.show", "export", "shows/demo", "--html", str(reel)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    TIMINGS["reel: export shows/demo to HTML (s)"] = time.perf_counter() - t0
    text = reel.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    browser.get(f"{reel.as_uri()}#{MORPH_SCENE + 1}")
    wait(browser, f"document.getElementById('cc-stage')?.getAttribute('data-index') === '{MORPH_SCENE}'",
          30, "the morph scene of the reel")
    wait(browser, "(() => { const f = document.querySelector('figure.cc-seq');"
                   " return f && f.dataset.loaded === f.dataset.frames; })()", 60, "all morph frames")
    frame = browser.find_element(By.ID, "cc-frame")
    before = (frame.get_attribute("data-frame"), frame.get_attribute("src"))
    assert before[1].startswith("data:image/")
    drag(browser, browser.find_element(By.CSS_SELECTOR, 'input#cc-scrub[type="range"]'), 0.0, 0.5)
    after = (frame.get_attribute("data-frame"), frame.get_attribute("src"))
    assert after[0] != before[0] and after[1] != before[1], "the reel's scrub must change the picture"
    requested = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"
                                       ".filter(n => /^https?:/.test(n))")
    assert requested == [], requested
    assert browser.execute_script("return [...document.querySelectorAll('[src],[href]')].map(e => "
                                  "e.getAttribute('src') || e.getAttribute('href'))"
                                  ".filter(u => /^https?:/i.test(u))") == []
    shot(browser, "reel_morph")


def test_explorer_scan_then_page_switch(warm_app, browser):
    browser.get(f"{warm_app}/explorer")
    wait_rendered(browser, "Dataset explorer")
    t0 = time.perf_counter()
    click_button(browser, "Scan")
    wait_rendered(browser, "Faces kept", timeout=300)
    TIMINGS["explorer: Scan of the bundled photos -> results (s)"] = time.perf_counter() - t0
    assert_clean(browser, "/explorer after a scan")
    body = browser.find_element("tag name", "body").text
    cached = re.search(r"\(\d+ images from cache\)", body)  # in the caption's tooltip since issue 22
    TIMINGS["explorer: scan detail"] = cached.group(0) if cached else "(cache count in the tooltip)"
    shot(browser, "explorer_scanned", settle=2.0)
    sidebar_link(browser, "dcgan").click()
    wait(browser, "location.pathname.endsWith('/dcgan')", 30, "/dcgan")
    wait_rendered(browser, "DCGAN trainer")
    t0 = time.perf_counter()
    sidebar_link(browser, "explorer").click()
    wait_rendered(browser, "Faces kept", timeout=60)
    TIMINGS["explorer: page switch back -> results (s)"] = time.perf_counter() - t0
    assert_clean(browser, "/explorer after a page switch")


@pytest.fixture
def dcgan_run():
    run_dir = ROOT / "runs" / "dcgan" / RUN_NAME
    yield run_dir
    from core import jobs

    subprocess.run([sys.executable, "-m", "core.jobs", "cancel", str(run_dir), "--kill"], cwd=ROOT,
                   capture_output=True, timeout=120)
    deadline = time.time() + 60
    while time.time() < deadline:  # the launcher records the end and exits: remove the folder after that
        job = jobs.read_job(run_dir)
        if job is None or not job.is_active:
            break
        time.sleep(0.5)
    time.sleep(1)
    shutil.rmtree(run_dir, ignore_errors=True)


def test_dcgan_start_shows_live_grid_at_top(warm_app, browser, dcgan_run):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{warm_app}/dcgan")
    wait_rendered(browser, "DCGAN trainer")
    wait(browser, "document.querySelector('input[aria-label=\"Run name (one run per folder)\"]')", 60,
          "the run name input")
    name = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Run name (one run per folder)"]')
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys(RUN_NAME)
    t0 = time.perf_counter()
    click_button(browser, "Start training")
    caption = wait(browser, f"document.body.innerText.match(/samples of {RUN_NAME} at step [\\d,]+/)?.[0]",
                    300, "the live grid of the new run")
    TIMINGS["dcgan: Start -> first live grid (s)"] = time.perf_counter() - t0
    TIMINGS["dcgan: step of the first live grid"] = caption.rsplit(" ", 1)[-1]
    top = browser.execute_script(f"""return [...document.querySelectorAll('[data-testid="stImage"]')]
        .find(e => e.parentElement.textContent.includes('samples of {RUN_NAME}'))
        ?.getBoundingClientRect().top""")
    assert top is not None and top < browser.execute_script("return window.innerHeight"), \
        "the live grid must be on screen after Start"
    assert_clean(browser, "/dcgan after Start")
    time.sleep(3)  # past the first poll of the live panel; the recorded time-lapse shown at its end
    browser.execute_script("document.querySelectorAll('video').forEach(v => { v.dataset.ccHold = 1;"
                           " v.pause(); if (v.duration) v.currentTime = v.duration - 0.05; })")
    shot(browser, "dcgan_training")
    click_button(browser, "Stop")


def _votes(driver) -> int | None:
    text = driver.execute_script(f"return [...document.querySelectorAll('h1')].map(h => h.textContent)"
                                 f".find(t => /{VOTES_H1}/.test(t))")
    return None if text is None else int(re.match(VOTES_H1, text).group(1).replace(",", ""))


def test_live_vote_moves_the_dashboard_count(warm_app, browser, vote_db):
    from selenium.webdriver.common.by import By

    opened = subprocess.run([sys.executable, "-m", "core.vote", "open", "--db", vote_db, "--json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert opened.returncode == 0, opened.stderr
    poll = json.loads(opened.stdout)
    port = free_port()
    voter_app = start_server([sys.executable, "-m", "core.vote", "serve", "--port", str(port), "--address",
                        "127.0.0.1", "--db", vote_db], port, "voter_app.log")
    phone = new_browser()
    try:
        # The presenter: the dashboard on the live poll.
        browser.get(f"{warm_app}/dashboard")
        wait_rendered(browser, "Hypothesis dashboard")
        wait(browser, "[...document.querySelectorAll('[data-testid=\"stRadio\"] label')]"
                       ".some(l => l.textContent.includes('Live poll'))", 60, "the survey source radio")
        browser.find_element(By.XPATH, '//*[@data-testid="stRadio"]//label[contains(., "Live poll")]').click()
        wait(browser, f"[...document.querySelectorAll('h1')].some(h => /{VOTES_H1}/.test(h.textContent))",
              120, "the live count")
        assert _votes(browser) == 0
        assert_clean(browser, "/dashboard live poll")
        browser.execute_script("window.__noReload = true")

        # The voter: the open poll's questions as a plain HTML form (core.vote.web), one answer each.
        phone.get(f"http://127.0.0.1:{port}/")
        wait(phone, "!!document.querySelector('form#ballot')", 60, "the ballot form")
        wanted = [q["text"] for q in poll["questions"] if q["kind"] != "text"]
        groups = phone.find_elements(By.CSS_SELECTOR, "form#ballot fieldset")
        labels = [g.find_element(By.TAG_NAME, "legend").text for g in groups
                  if g.find_elements(By.CSS_SELECTOR, "input[type=radio]")]
        assert labels == wanted, labels
        for g in groups:
            options = g.find_elements(By.CSS_SELECTOR, "label.choice")
            if options:
                options[0].click()
        phone.execute_script("document.querySelector('h1').scrollIntoView()")
        shot(phone, "voter_app")
        t0 = time.perf_counter()
        phone.find_element(By.CSS_SELECTOR, "form#ballot button[type=submit]").click()
        wait(phone, "document.body.innerText.includes('Thank you: your answers are in.')", 60, "the receipt")
        assert re.search(r"Receipt [A-Z2-9]{3}-[A-Z2-9]{3}", phone.find_element(By.TAG_NAME, "body").text)
        wait(browser, "[...document.querySelectorAll('h1')].some(h => /^\\s*1 of 10 answers needed\\s*$/"
                       ".test(h.textContent))", 60, "the dashboard's count to reach 1")
        TIMINGS["vote: Send my answers -> presenter's count updated (s)"] = time.perf_counter() - t0
        assert browser.execute_script("return window.__noReload === true"), "the dashboard reloaded"
        assert_clean(browser, "/dashboard live poll after a vote")
        shot(browser, "dashboard_live_poll", settle=2.0)

        # The voter app routes none of the studio's pages.
        for path in ("explorer", "dashboard"):
            phone.get(f"http://127.0.0.1:{port}/{path}")
            body = phone.find_element(By.TAG_NAME, "body").text
            assert "Dataset explorer" not in body and "Hypothesis dashboard" not in body, body[:300]
            assert "Not Found" in body, body[:300]
    finally:
        phone.quit()
        stop_server(voter_app)


def test_sampler_release_renders_the_exact_blend(warm_app, browser):
    """Letting go of the morph slider renders the exact blend at that t (issue 12: "renders exactly on
    release"). Last in the module: the sampler's release must survive its 0.5 s frame-polling fragment."""
    from selenium.webdriver.common.by import By

    new_tab(browser)
    browser.get(f"{warm_app}/stylegan2")
    wait_rendered(browser, "StyleGAN2 sampler")
    wait(browser, "(document.querySelector('input#sg-morph') || {dataset: {}}).dataset.scrub === 'ready'",
          120, "drag frames")
    face = browser.find_element(By.CSS_SELECTOR, "img#sg-face")
    assert face.get_attribute("data-t") == "0", face.get_attribute("data-t")
    drag(browser, browser.find_element(By.CSS_SELECTOR, "input#sg-morph"), 0.0, 0.6)
    t = float(wait(browser, "(f => f && Number(f.dataset.t) > 0 && f.dataset.t)"
                             "(document.querySelector('img#sg-face'))", 60,
                    "the exact blend after the slider was let go (data-t of img#sg-face)"))
    # page clock, from the slider's change event (the mouse let go) to the exact blend's data-t
    TIMINGS["sampler: morph release -> exact blend (s)"] = wait(
        browser, "window.__cc.exact !== null && window.__cc.released !== null "
                 "&& window.__cc.exact - window.__cc.released", 10, "the release timing") / 1000
    assert 0.3 < t < 0.9, t
    idle(browser)
    assert_clean(browser, "/stylegan2 after a morph release")


def test_sampler_download_png_is_the_face_on_screen(warm_app, browser, tmp_path):
    """Download PNG is deferred (encoded when pressed, not on every seed change): the file still comes."""
    from PIL import Image

    new_tab(browser)
    browser.execute_cdp_cmd("Browser.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.get(f"{warm_app}/stylegan2")
    wait(browser, "window.__cc.first", 120, "the first face")
    wait_rendered(browser, "StyleGAN2 sampler")
    seed = browser.execute_script("return document.querySelector('img#sg-face').dataset.seed")
    click_button(browser, "Download PNG")
    deadline = time.time() + 30
    while time.time() < deadline and not [p for p in tmp_path.glob("*.png")]:
        time.sleep(0.2)
    files = sorted(tmp_path.glob("*.png"))
    assert [f.name for f in files] == [f"seed{int(seed):05d}.png"], [f.name for f in tmp_path.iterdir()]
    with Image.open(files[0]) as img:
        assert img.format == "PNG" and img.mode == "RGB" and img.size[0] == img.size[1] >= 64
    assert_clean(browser, "/stylegan2 after a download")


def test_dashboard_summary_downloads_carry_the_test(warm_app, browser, tmp_path):
    """Issue 22: both summary files download (HTML after Markdown too) and include the hypothesis test."""
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Browser.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.get(f"{warm_app}/dashboard")
    wait_rendered(browser, "Hypothesis dashboard")
    wait(browser, "[...document.querySelectorAll('[role=tab]')].some(e => e.innerText.includes('Export'))",
         120, "the tabs")
    next(e for e in browser.find_elements(By.CSS_SELECTOR, '[role="tab"]') if "Export" in e.text).click()
    files = (("Summary (Markdown)", "survey_summary.md"), ("Summary (HTML)", "survey_summary.html"))
    for label, name in files:
        buttons = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stDownloadButton"] button')
        button = next(b for b in buttons if label in b.text)
        assert button.is_enabled(), label
        button.click()
        deadline = time.time() + 30
        while not (tmp_path / name).is_file() and time.time() < deadline:
            time.sleep(0.2)
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "Hypothesis test" in text and "Not enough evidence yet" in text, name


def test_direct_link_as_a_fresh_servers_first_request(studio_server, browser):
    """Issue 22: a direct link that is a fresh server's very first request opens its page with no "Page not
    found" dialog over it (Streamlit took the pages/ folder beside the router for a v1 multipage app until
    the first st.navigation call; streamlit_app.py tells it otherwise at start-up)."""
    from selenium.webdriver.common.by import By

    url = studio_server("studio_direct_link.log")
    new_tab(browser)
    try:
        browser.get(f"{url}/dashboard")
        wait_rendered(browser, "Hypothesis dashboard")
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "Page not found" not in body, body[:300]
        assert browser.current_url.split("?")[0].endswith("/dashboard"), browser.current_url
        assert_clean(browser, "/dashboard as the first request")
    finally:
        browser.close()
        browser.switch_to.window(browser.window_handles[0])
