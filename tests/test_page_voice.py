"""AppTest for the animator's "Say something" panel: it is on the page, waits for a voice, and shows a
speaking face rendered by its background job (the job's run folder is read back after a rerun)."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

PAGE = "pages/4_fomm_animator.py"


def test_say_something_panel_and_its_result(tmp_path):
    from core.animate import start_speech_job
    from core.animate.audio import write_wav
    from core.show.render.animation import bundled_face

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    assert any(h.value == "Say something" for h in at.subheader)
    voice = next(r for r in at.radio if r.label == "Voice")
    assert voice.options == ["Record", "Upload a clip"]
    speak = next(b for b in at.button if b.label == "Speak")
    assert speak.disabled  # no voice yet

    sr = 16000
    t = np.arange(int(1.2 * sr)) / sr
    line = (0.3 * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
    run = tmp_path / "voice-run"
    wav = write_wav(tmp_path / "line.wav", line, sr)
    job = start_speech_job(run, bundled_face(493), wav, crop_source=False)
    assert job.wait(120)
    at.session_state["say_run"] = str(run)
    at.run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("The face says your line: 1.2 s" in s.value for s in at.success)
    assert any(b.label == "Download MP4" for b in at.get("download_button"))
