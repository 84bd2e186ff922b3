"""A voice-driven animation scene in the exported HTML reel, in headless Chromium: the video plays, and its
sound is on, or (where the browser lets a page start video only muted) one click on "Sound on" turns it on.
"""

from __future__ import annotations

import numpy as np

from core import show as S
from core.animate.audio import write_wav
from core.show.export_html import export_html
from core.show.prepare import prepare_show
from tests.browser_support import wait

VIDEO = "document.querySelector('#cc-video')"


def test_reel_plays_the_speaking_face_with_sound(browser, tmp_path):
    sr = 16000
    t = np.arange(int(2.0 * sr)) / sr
    line = 0.3 * np.sin(2 * np.pi * 190 * t) * np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
    d = tmp_path / "show"
    S.create_show(d, "Voices")
    S.add_scene(d, {"kind": "title", "title": "Listen"})
    voice = S.put_media(d, write_wav(tmp_path / "line.wav", line, sr).read_bytes(), ".wav")
    S.add_scene(d, {"kind": "animation", "source_kind": "bundled", "source": "493", "driving_kind": "voice",
                    "driving": voice})
    prepare_show(d)
    reel = export_html(d, tmp_path / "reel.html")

    browser.get(f"{reel.as_uri()}#2")
    wait(browser, f"{VIDEO} && {VIDEO}.readyState >= 2", 30, "the speaking face's video")
    state = wait(browser, """(() => { const v = document.querySelector('#cc-video');
        return v.currentTime > 0.2 ? {muted: v.muted, button: !!document.querySelector('#cc-sound')} : null;
    })()""", 30, "the video to play")
    if state["muted"]:  # autoplay with sound was refused: the page offers the sound on one click
        assert state["button"], "a muted voice-driven video needs its 'Sound on' button"
        browser.find_element("css selector", "#cc-sound").click()
        wait(browser, f"!{VIDEO}.muted && !{VIDEO}.paused", 10, "the sound to come on")
    assert browser.execute_script(f"return {VIDEO}.muted") is False
    print(f"autoplay started {'muted' if state['muted'] else 'with sound'}")
