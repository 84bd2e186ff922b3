"""AppTest for show mode's pages: the Present page (navigation, scrub, missing media, bad files, two
sessions at once, no torch) and the "Add to show" widget every page calls."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import show as S
from core.show.prepare import prepare_show

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/6_present.py"
pytestmark = pytest.mark.usefixtures("one_torch_thread", "inputs_in_tmp_allowed")


@pytest.fixture
def shows(tmp_path, monkeypatch, tiny_model) -> Path:
    """A shows folder with 'talk' (prepared: title, face, morph, a scene whose media is missing)."""
    monkeypatch.setenv("CUSTOM_CAST_SHOWS", str(tmp_path))
    d = tmp_path / "talk"
    S.create_show(d, "Board talk")
    for scene in [{"kind": "title", "id": "t", "title": "Opening", "text": "Hello board"},
                  {"kind": "face", "id": "f", "model": str(tiny_model), "seed": 3, "notes": "Say: nobody."},
                  {"kind": "morph", "id": "m", "model": str(tiny_model), "seeds": [3, 4],
                   "frames_per_transition": 5},
                  {"kind": "face", "id": "late", "model": str(tiny_model), "seed": 9}]:
        S.add_scene(d, scene)
    prepare_show(d, only=["f", "m"])
    return tmp_path


def _app(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _stage(at: AppTest) -> dict:
    """The show player's data, as the page handed it to the browser."""
    frames = at.get("iframe")
    assert len(frames) == 1, "the stage is one frame"
    srcdoc = frames[0].proto.srcdoc
    raw = re.search(r'<script type="application/json" id="cc-data">(.*?)</script>', srcdoc, re.S).group(1)
    return {"doc": srcdoc, **json.loads(raw)}


def test_present_page_hands_the_whole_show_to_the_stage(shows):
    at = _app()
    assert not at.exception
    stage = _stage(at)
    assert stage["title"] == "Board talk"
    title, face, morph, late = stage["scenes"]
    assert (title["kind"], title["title"], title["text"]) == ("title", "Opening", "Hello board")
    # The room's words on stage (issue 22); the seed, ψ and model file only in the sidebar's Edit scenes.
    assert face["image"].startswith("/") and face["caption"] == "A generated face: this person does not exist"
    assert "Seed 3" not in stage["doc"] and "tiny.pt ·" not in stage["doc"]
    assert len(morph["frames"]) == 5 and morph["scrubLabel"] == "Morph scrub"
    assert morph["labels"][0] == "face 1 → face 2 · 0%" and morph["labels"][-1] == "face 2"
    assert "not been prepared" in late["missing"]
    doc = stage["doc"]
    for marker in ("id=\"cc-prev\"", "id=\"cc-next\"", "scrub.id = 'cc-scrub'", "img.id = 'cc-frame'",
                   "parentKeys: true", "searchParams.set('scene'"):
        assert marker.replace("\\", "") in doc, marker
    assert at.query_params["show"] == ["talk"]
    assert any("1 of 4 scenes are not ready" in w.value for w in at.warning)  # said plainly, with a button
    assert at.button(key="present_prepare_missing")
    assert any("Say: nobody." in m.value for m in at.sidebar.markdown)  # notes: sidebar only
    assert "Say: nobody." not in doc
    # Issue 24: the "AI-generated" badge on model-made scenes (switchable), the models' licences in a line.
    assert 'id="cc-badge" role="note">AI-generated<' in doc and face["synthetic"] and not title["synthetic"]
    assert any(c.value.startswith("Models: ") and "unknown" in c.value for c in at.caption)  # tiny.pt
    at.toggle(key="present_badge").set_value(False).run()
    assert 'id="cc-badge"' not in _stage(at)["doc"]


def test_missing_media_offers_to_prepare(shows):
    at = _app()
    at.button(key="present_prepare_missing").click().run()
    assert not at.exception
    job = S.prepare_status(shows / "talk")
    assert job is not None and job.kind == "show-prepare"
    from core.jobs import wait

    assert wait(S.job_dir(shows / "talk"), timeout=240)
    assert S.scene_view(shows / "talk", S.load_show(shows / "talk"), 3).ready
    at.run()
    assert not at.exception and not at.warning
    assert "missing" not in _stage(at)["scenes"][3] and _stage(at)["scenes"][3]["image"]


def test_missing_model_still_presents(shows, tiny_model, tmp_path):
    """Prepared, then the model file disappeared (a laptop without the GPU box's weights): it still plays."""
    moved = tmp_path / "model_copy.pt"
    moved.write_bytes(tiny_model.read_bytes())
    d = shows / "moved"
    S.create_show(d, "Moved", [S.FaceScene(id="f", model=str(moved), seed=2),
                               S.MorphScene(id="m", model=str(moved), seeds=[1, 2], frames_per_transition=3)])
    prepare_show(d)
    moved.unlink()
    at = _app(show="moved")
    assert not at.exception and not at.warning
    face, morph = _stage(at)["scenes"]
    assert face["image"] and len(morph["frames"]) == 3


def test_bad_show_file_and_empty_root(shows, monkeypatch, tmp_path):
    (shows / "broken").mkdir()
    (shows / "broken" / "show.json").write_text(json.dumps(
        {"format": "custom-cast-show", "schema_version": 1, "scenes": [{"kind": "hologram"}]}))
    at = _app(show="broken")
    assert not at.exception
    assert any("unknown scene kind 'hologram'" in e.value for e in at.error)
    monkeypatch.setenv("CUSTOM_CAST_SHOWS", str(tmp_path / "empty"))
    at = _app()
    assert not at.exception and any("No shows yet" in i.value for i in at.info)


def test_edit_scenes_from_the_sidebar(shows):
    at = _app()
    at.sidebar.selectbox(key="present_edit_pick").set_value(1).run()
    at.sidebar.text_input(key="present_title_f").set_value("Meet nobody")
    at.sidebar.button(key="present_save").click().run()
    assert not at.exception
    assert S.load_show(shows / "talk").scene("f").title == "Meet nobody"
    at.sidebar.button(key="present_up").click().run()
    assert [s.id for s in S.load_show(shows / "talk").scenes][:2] == ["f", "t"]
    assert at.sidebar.selectbox(key="present_edit_pick").value == 0  # the picker follows the scene
    assert _stage(at)["scenes"][0]["title"] == "Meet nobody"
    at.sidebar.button(key="present_delete").click().run()
    assert [s.id for s in S.load_show(shows / "talk").scenes] == ["t", "m", "late"]


def test_two_sessions_present_the_same_show(shows):
    a, b = _app(), _app(show="talk")
    a.run()
    assert not a.exception and not b.exception
    assert _stage(a)["scenes"] == _stage(b)["scenes"]


def test_demo_show_presents_every_scene(monkeypatch):
    if not (ROOT / "shows" / "demo" / "show.json").is_file():
        pytest.skip("shows/demo not built yet")
    monkeypatch.delenv("CUSTOM_CAST_SHOWS", raising=False)
    at = _app(show="demo")
    assert not at.exception and not at.warning
    scenes = _stage(at)["scenes"]
    assert len(scenes) == len(S.load_show(ROOT / "shows" / "demo").scenes)
    assert not [s["title"] for s in scenes if "missing" in s]
    assert any(len(s.get("frames", [])) >= 65 for s in scenes if s["kind"] == "morph")


def test_presenting_never_imports_torch(shows):
    code = ("import sys; from streamlit.testing.v1 import AppTest\n"
            "at = AppTest.from_file('pages/6_present.py', default_timeout=60); at.run()\n"
            "assert not at.exception, at.exception\n"
            "print('torch' in sys.modules, 'core.stylegan2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "CUSTOM_CAST_SHOWS": str(shows)})
    assert out.stdout.strip().splitlines()[-1:] == ["False False"], out.stderr[-2000:]


ADD_SCRIPT = """
import numpy as np
from core.show import AnimationScene, FaceScene
from pages._show import add_to_show
add_to_show(FaceScene(model="checkpoints/stylegan2_demo.pt", seed=11, psi=0.7))
add_to_show(AnimationScene(source_kind="image", source="", driving="nod"),
            files={"source": np.full((8, 8, 3), 200, np.uint8)}, key="anim")
add_to_show(FaceScene(model="checkpoints/stylegan2_demo.pt", seed=-4), key="bad")
add_to_show(FaceScene(model="", seed=1), key="standin")
"""


def test_add_to_show_widget(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOM_CAST_SHOWS", str(tmp_path))
    at = AppTest.from_string(ADD_SCRIPT, default_timeout=60).run()
    assert not at.exception
    assert at.selectbox(key="add_to_show_face_show").value == "➕ New show…"
    at.text_input(key="add_to_show_face_new").set_value("Pitch day")
    at.text_input(key="add_to_show_face_title").set_value("Meet nobody")
    at.button(key="add_to_show_face_go").click().run()
    assert not at.exception
    assert any("Added as scene 1 of **pitch-day**" in s.value for s in at.success)
    show = S.load_show(tmp_path / "pitch-day")
    assert [(s.KIND, s.title, s.seed) for s in show.scenes] == [("face", "Meet nobody", 11)]
    # The next add goes to the same show by default; in-memory files land in its media/.
    assert at.selectbox(key="anim_show").value == "pitch-day"
    at.button(key="anim_go").click().run()
    show = S.load_show(tmp_path / "pitch-day")
    anim = show.scenes[1]
    assert anim.KIND == "animation" and anim.source.startswith("media/") and anim.source.endswith(".png")
    assert (tmp_path / "pitch-day" / anim.source).is_file()
    at.button(key="bad_go").click().run()
    assert any("seed: must be between" in e.value for e in at.error)
    assert len(S.load_show(tmp_path / "pitch-day").scenes) == 2
    # A generator scene without a model file (the untrained stand-in) offers no button, only why.
    assert not [b for b in at.button if b.key == "standin_go"]
    assert any("needs a generator file" in c.value for c in at.caption)


def test_add_to_show_takes_typed_scenes_only():
    """Issue 25: a scene is a core.show dataclass; an untyped dict is a programmer's error, said at once."""
    at = AppTest.from_string("from pages._show import add_to_show\n"
                             "add_to_show({'kind': 'face', 'model': 'x.pt', 'seed': 1})\n").run()
    assert at.exception and "FaceScene" in at.exception[0].message


def test_add_to_show_adds_the_scene_as_built_and_never_changes_the_pages_object(tmp_path, monkeypatch):
    """The page's scene is the button callback's argument: titles and media go into a copy."""
    from pages import _show

    monkeypatch.setenv("CUSTOM_CAST_SHOWS", str(tmp_path))
    S.create_show(S.show_path("talk"), "Talk")
    scene = S.EvidenceScene(survey="assets/demo_survey.csv", question="Would you watch it?",
                            positive=["Yes"], claim=0.6)
    state = {"k_show": "talk", "k_title": "What they said"}
    monkeypatch.setattr(_show.st, "session_state", state)
    _show._add("k", scene, {"survey": (b"q\nYes\n", ".csv")})
    assert state["k_result"][0] == "success", state["k_result"]
    (added,) = S.load_show(S.show_path("talk")).scenes
    assert (added.KIND, added.title, added.question, added.positive, added.claim) == (
        "evidence", "What they said", "Would you watch it?", ["Yes"], 0.6)
    assert added.survey.startswith("media/") and added.survey.endswith(".csv")
    assert (scene.title, scene.survey) == ("", "assets/demo_survey.csv")


def test_check_the_stage_lists_red_with_fixes_first(shows, tmp_path, monkeypatch):
    """The button runs the pre-flight in its own process (models load there, not in the page's server)."""
    monkeypatch.setenv("CUSTOM_CAST_DB", str(tmp_path / "votes.sqlite3"))
    at = _app()
    at.session_state["live_poll_join_url"] = "http://127.0.0.1:9/"  # what the dashboard's field holds
    at.button(key="present_check_stage").click().run(timeout=180)
    assert not at.exception
    (panel,) = [e for e in at.expander if e.label.startswith("Stage check: ")]
    assert panel.label.endswith("fix the red lines")
    lines = [m.value for m in panel.markdown]
    assert lines[0].startswith("🔴")  # red first
    text = "\n".join(lines)
    assert "**Join URL**: http://127.0.0.1:9/" in text and "loopback" in text
    assert "**Voter app**" in text and "python -m core.vote serve --port 9" in text
    assert "**Model tiny.pt**" in text and "loads in" in text
    assert "not been prepared" in text  # the scene without media
    assert "**Browser window**" in text


def test_presenter_screen_moves_the_show_and_the_audience_window_follows(shows, tmp_path, monkeypatch):
    from core.show import position as P

    monkeypatch.setattr(P, "POSITIONS_DIR", tmp_path / "positions")
    talk = shows / "talk"
    presenter = _app(show="talk", view="presenter")
    assert not presenter.exception
    assert len(presenter.get("iframe")) == 0  # the presenter's window has no stage of its own
    assert any(m.value == "## 1 / 4 · Opening" for m in presenter.markdown)
    assert [m.label for m in presenter.metric] == ["Talk", "This scene"]
    presenter.button(key="presenter_next").click().run()
    pos = P.read_position(talk, 4)
    assert pos.scene == 1 and pos.seq == 2 and pos.started_at > 0  # placed at 1, then moved
    assert any(m.value.startswith("## 2 / 4 · ") for m in presenter.markdown)
    assert any("Say: nobody." in m.value for m in presenter.markdown)  # the current scene's notes
    assert any(m.value.startswith("**Next:** ") for m in presenter.markdown)
    assert len(presenter.get("image")) == 2  # the current scene and the next one's thumbnail

    audience = _app(show="talk")
    (follow,) = [e for e in audience.get("bidi_component") if e.proto.component_name == "custom_cast_follow"]
    # The stage's browser polls the position file itself, served as a static file (no rerun per poll).
    data = json.loads(follow.proto.json)
    assert data == {"role": "audience", "url": f"/app/static/present/{P.position_file(talk).name}"}
    assert json.loads(P.position_file(talk).read_text())["scene"] == 1
    presenter.button(key="presenter_prev").click().run()
    assert P.read_position(talk, 4).scene == 0
    assert P.step(talk, 10, 4).scene == 3  # clamped to the show
    assert P.move_to(talk, 3, 4).seq == P.read_position(talk, 4).seq  # no move, no new seq


def test_html_reel_build_offers_its_download_without_a_refresh_button(shows):
    """Issue 22: "Build HTML reel" sat on "queued ... Refresh" though it was done; the export part now
    polls itself while the build runs and shows the download when it is done."""
    from core import jobs

    at = _app(show="talk")
    assert not at.exception
    next(b for b in at.button if b.label == "Build HTML reel").click().run()
    assert not at.exception
    assert not any("Refresh" in b.label for b in at.button)
    run_dir = S.job_dir(shows / "talk", "export-html")
    assert jobs.wait(run_dir, 120) and jobs.read_job(run_dir).state == "done"
    at.run()
    assert any(str(d.proto.label).startswith("Download talk.html") for d in at.get("download_button"))
