"""AppTest for the FOMM animator page: renders with bundled defaults and animates a bundled motion."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

PAGE = "pages/4_fomm_animator.py"


def test_page_renders_and_animates_bundled_motion():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("FOMM animator" in t.value for t in at.title)
    assert [r.label for r in at.radio][:2] == ["Source", "Driving input"]
    # Switch the engine to FOMM: with no checkpoint the page says so plainly.
    engine = next(r for r in at.radio if r.label == "Engine")
    engine.set_value("fomm").run()
    assert not at.exception
    assert any("No FOMM checkpoint" in i.value for i in at.info)
    engine = next(r for r in at.radio if r.label == "Engine")
    engine.set_value("landmarks").run()
    motion = next(s for s in at.selectbox if s.label == "Motion")
    motion.set_value("blink").run()
    next(b for b in at.button if b.label == "Animate").click().run()
    assert not at.exception
    deadline = time.time() + 45
    while time.time() < deadline:
        time.sleep(1.0)
        at.run()
        if at.success or at.error:
            break
    assert not at.error, [e.value for e in at.error]
    assert any("180 frames at 25 fps" in s.value for s in at.success)
    # The job lives in its run folder: a later rerun reads the result back from the manifest.
    from core import jobs

    run = at.session_state["animator_run"]
    assert jobs.read_job(run).state == jobs.DONE
    at.run()
    assert any("180 frames at 25 fps" in s.value for s in at.success)
    # Issue 24: the engine's licence in one line; the clip is labelled, watermarked and signed.
    from core import provenance as pv

    assert any(c.value.startswith("Model licence: MIT (own work) + MediaPipe") for c in at.caption)
    v = pv.verify(jobs.read_job(run).result["path"])
    assert v.intact and v.generation["generator"] == "FOMM animator" and v.action == "c2pa.created"
    assert v.generation["parameters"]["motion"] == "blink" and v.watermark is True


def test_page_offers_generator_handoff():
    import numpy as np

    from pages._common import HANDOFF_ANIMATOR_SOURCE, HANDOFF_ANIMATOR_SOURCE_LABEL

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[HANDOFF_ANIMATOR_SOURCE] = np.full((256, 256, 3), 128, np.uint8)
    at.session_state[HANDOFF_ANIMATOR_SOURCE_LABEL] = "StyleGAN2 seed 7"
    at.run()
    assert not at.exception
    source = next(r for r in at.radio if r.label == "Source")
    assert source.value == "Sent from a generator"
    # Where the face came from in plain words; its seed number only under Details (issue 22).
    assert any("The face you sent" in c.value for c in at.main.caption)
    details = next(e for e in at.main.expander if e.label.startswith("Details: how this face was made"))
    assert [c.value for c in details.caption] == ["StyleGAN2 seed 7"]
    outside = [c.value for c in at.main.caption if c.value not in {x.value for x in details.caption}]
    assert not any("seed" in v.lower() for v in outside), outside


def test_animate_sits_at_the_top_and_says_why_it_cannot_start():
    """Issue 22: the Animate button was below the fold; a click that could not start said nothing."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    order = [(type(e).__name__, getattr(e, "label", "")) for e in at.main]
    animate = order.index(("Button", "Animate"))
    first_radio = next(i for i, (kind, _) in enumerate(order) if kind == "Radio")
    assert animate < first_radio  # above the choices, right under the title
    next(r for r in at.radio if r.label == "Source").set_value("Upload photo").run()
    next(b for b in at.button if b.label == "Animate").click().run()
    assert not at.exception
    assert any("Choose a source face first" in w.value for w in at.warning)


def test_animator_uploads_go_through_the_one_upload_store(tmp_path, monkeypatch):
    """Issue 25: photos, driving videos and voice clips are stored by core.uploads (atomic, one hash)."""
    from core.uploads import content_name
    from pages import _animator_source

    class Upload:
        def __init__(self, name: str, data: bytes):
            self.name, self._data = name, data

        def getvalue(self) -> bytes:
            return self._data

    monkeypatch.setattr(_animator_source, "WORK_DIR", tmp_path / "animator")
    first = _animator_source.save_upload(Upload("Clip.MP4", b"frames"), ".mp4")
    again = _animator_source.save_upload(Upload("other name.mp4", b"frames"), ".mp4")
    other = _animator_source.save_upload(Upload("Clip.MP4", b"other frames"), ".mp4")
    assert first == again != other
    assert first.name == content_name(b"frames", "x.mp4") and first.read_bytes() == b"frames"
    assert sorted(p.name for p in (tmp_path / "animator").iterdir()) == sorted([first.name, other.name])


def test_add_to_show_records_the_animators_setup_as_a_typed_scene(tmp_path, monkeypatch):
    from core import show as S

    monkeypatch.setenv("CUSTOM_CAST_SHOWS", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    next(s for s in at.selectbox if s.label == "Motion").set_value("nod").run()
    at.button(key="add_to_show_animation_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (show,) = S.list_shows()
    (scene,) = S.load_show(show.path).scenes
    assert isinstance(scene, S.AnimationScene)
    assert (scene.source_kind, scene.driving_kind, scene.driving, scene.engine) == (
        "bundled", "motion", "nod", "landmarks")
    assert scene.source.isdigit() and scene.align_source is False and scene.side_by_side is True
