"""Show mode (core.show): schema round trip and validation, atomic store, prepare (skip, resume, missing
model, changed model), the views a presenter sees, and both exports. Tiny seeded generators keep it fast."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import show as S
from core.jobs import JobCancelled
from core.show import store
from core.show.export_html import export_html, reel_html
from core.show.prepare import prepare_show

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("one_torch_thread", "inputs_in_tmp_allowed")


def every_kind(model: str) -> list[dict]:
    return [
        {"kind": "title", "id": "t", "title": "Hello", "text": "Faces of nobody"},
        {"kind": "face", "id": "f", "model": model, "seed": 7, "psi": 0.5, "noise": "const"},
        {"kind": "morph", "id": "m", "model": model, "seeds": [1, 2, 3], "frames_per_transition": 5,
         "space": "z", "loop": False, "fps": 12.0},
        {"kind": "edit", "id": "e", "model": model, "seed": 7, "direction": 1, "amount_min": -2.0,
         "amount_max": 2.0, "frames": 4, "name": "smile"},
        {"kind": "mixing", "id": "x", "model": model, "row_seeds": [1, 2], "col_seeds": [3],
         "group": "coarse"},
        {"kind": "animation", "id": "a", "source_kind": "scene", "source": "f", "driving_kind": "motion",
         "driving": "talk", "max_frames": 6},
        {"kind": "dataset", "id": "d", "folder": "assets/demo_photos", "detector": "haar", "grid": 8},
        {"kind": "timelapse", "id": "l", "run": "runs/x", "fps": 4.0, "max_frames": 10},
        {"kind": "evidence", "id": "v", "survey": "assets/demo_survey.csv", "question": "diversity",
         "positive": ["Yes"], "claim": 0.7, "alpha": 0.05},
    ]


def make_show(path: Path, scenes: list[dict], title: str = "Test show") -> Path:
    S.create_show(path, title)
    for scene in scenes:
        S.add_scene(path, scene)
    return path


# ---------------------------------------------------------------------------------------- schema

def test_schema_round_trip_every_kind():
    scenes = every_kind("checkpoints/stylegan2_demo.pt")
    show = S.Show("Round trip", [S.scene_from_dict(d, i) for i, d in enumerate(scenes)])
    show.check()
    text = show.to_json()
    data = json.loads(text)
    assert data["schema_version"] == S.SCHEMA_VERSION == 1 and data["format"] == "custom-cast-show"
    assert [s["kind"] for s in data["scenes"]] == list(S.SCENE_KINDS)
    back = S.parse_show(text)
    assert back.to_dict() == show.to_dict()
    assert back.to_json() == text
    for original, scene in zip(scenes, back.scenes):
        for k, v in original.items():
            assert scene.to_dict()[k] == v, (scene.KIND, k)
    morph = back.scene("m")
    assert isinstance(morph, S.MorphScene) and morph.frame_count() == 2 * 4 + 1
    assert S.MorphScene(model="m.pt", seeds=[1, 2], loop=True).frame_count() == 2 * 64
    assert S.MorphScene(model="m.pt").frames_per_transition == 65  # the minimum per transition


def test_render_key_ignores_titles_but_not_pictures():
    base = S.FaceScene(model="m.pt", seed=3, title="A")
    retitled = S.FaceScene(model="m.pt", seed=3, title="B", notes="x", id="zz")
    assert S.render_key(base) == S.render_key(retitled)
    assert S.render_key(base) != S.render_key(S.FaceScene(model="m.pt", seed=4))
    assert S.render_key(base) != S.render_key(S.FaceScene(model="m.pt", seed=3, psi=0.5))
    face = S.FaceScene(id="f", model="m.pt", seed=3)
    anim = S.AnimationScene(source_kind="scene", source="f")
    k1 = S.render_key(anim, S.Show(scenes=[face, anim]))
    face.seed = 4  # the animated face changed: so does the animation
    assert S.render_key(anim, S.Show(scenes=[face, anim])) != k1


@pytest.mark.parametrize("scene, message", [
    ({"kind": "hologram"}, "unknown scene kind 'hologram'; known kinds: title, face"),
    ({"kind": "face", "seed": 1}, "model: missing"),
    ({"kind": "face", "model": "m.pt", "seed": -1}, "seed: must be between 0 and 4294967295, got -1"),
    ({"kind": "face", "model": "m.pt", "seed": 2 ** 32}, "seed: must be between 0 and 4294967295"),
    ({"kind": "face", "model": "m.pt", "seed": 1.5}, "seed: must be a whole number"),
    ({"kind": "face", "model": "m.pt", "seed": "7"}, "seed: must be a whole number"),
    ({"kind": "face", "model": "m.pt", "psi": float("nan")}, "psi: must be a number"),
    ({"kind": "face", "model": "m.pt", "noise": "loud"}, "noise: must be one of const, random, none"),
    ({"kind": "face", "model": "m.pt", "sed": 3}, "unknown field(s) sed"),
    ({"kind": "morph", "model": "m.pt", "seeds": [1]}, "seeds: need at least 2 seeds, got 1"),
    ({"kind": "morph", "model": "m.pt", "frames_per_transition": 1},
     "frames_per_transition: must be between 2"),
    ({"kind": "edit", "model": "m.pt", "amount_min": 2, "amount_max": -2},
     "amount_min: must be below amount_max"),
    ({"kind": "animation", "source_kind": "image", "source": "media/../../etc/passwd"},
     "escapes the show folder"),
    ({"kind": "animation", "driving_kind": "motion", "driving": "../x"}, "bundled motion name"),
    ({"kind": "animation", "engine": "fomm"}, "checkpoint: is required"),
    ({"kind": "evidence", "question": "q", "claim": 1.5}, "claim: must be between 0.01 and 0.99"),
    ({"kind": "title"}, "a title card needs a title or a text"),
    ("face", "must be an object"),
])
def test_bad_scenes_get_clear_errors(scene, message):
    with pytest.raises(S.ShowError) as e:
        S.scene_from_dict(scene, 2)
    assert message in str(e.value)
    assert str(e.value).startswith("scene 3")


@pytest.mark.parametrize("rel", ["../x.jpg", "/etc/passwd", "media/../x.jpg", "media/a/../../x", "media//x",
                                 "C:/x.jpg", "media\\x.jpg", "x.jpg", ""])
def test_media_paths_must_stay_inside_the_show(rel, tmp_path):
    with pytest.raises(S.ShowError):
        S.check_media_path(rel)
    with pytest.raises(S.ShowError):
        store.media_file(tmp_path, rel)


def test_symlinked_media_leading_out_is_refused(tmp_path):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "evil.jpg").symlink_to("/etc/hostname")
    with pytest.raises(S.ShowError, match="outside the show folder"):
        store.media_file(tmp_path, "media/evil.jpg")


def test_show_file_validation(tmp_path):
    good = S.Show("x", [S.TitleScene(title="a")]).to_dict()
    for change, message in [
        (lambda d: d.update(schema_version=99), "schema version 99"),
        (lambda d: d.pop("schema_version"), "no schema_version"),
        (lambda d: d.update(format="other"), "not a Custom Cast show"),
        (lambda d: d["scenes"].append(dict(d["scenes"][0])), "is used twice"),
        (lambda d: d["scenes"].append({"kind": "animation", "source_kind": "scene", "source": "nope"}),
         "is not the id of a face scene"),
    ]:
        data = json.loads(json.dumps(good))
        change(data)
        with pytest.raises(S.ShowError, match=re.escape(message)):
            S.show_from_dict(data)
    with pytest.raises(S.ShowError, match="not valid JSON"):
        S.parse_show("{")
    (tmp_path / "show.json").write_text('{"format": "custom-cast-show", "schema_version": 1, '
                                        '"scenes": [{"kind": "face", "model": "m.pt", "seed": -5}]}')
    with pytest.raises(S.ShowError, match=r"show.json: scene 1 \(face\): seed: must be between"):
        S.load_show(tmp_path)
    with pytest.raises(S.ShowError, match="not a show folder"):
        S.load_show(tmp_path / "nothing")


# ----------------------------------------------------------------------------------------- store

def test_store_is_atomic_locked_and_content_addressed(tmp_path):
    d = tmp_path / "s"
    S.create_show(d, "Store")
    with pytest.raises(S.ShowError, match="already holds a show"):
        S.create_show(d, "Again")

    def add(i: int) -> None:
        S.add_scene(d, {"kind": "title", "title": f"card {i}"})

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    show = S.load_show(d)
    assert sorted(s.title for s in show.scenes) == sorted(f"card {i}" for i in range(12))  # none lost
    assert not [p for p in d.iterdir() if p.name.endswith(".tmp")]
    a = S.put_media(d, b"same bytes", ".png")
    assert a == S.put_media(d, b"same bytes", ".png") and a.startswith("media/") and a.endswith(".png")
    assert S.put_media(d, b"other", ".png") != a
    with pytest.raises(S.ShowError, match="not accepted"):
        S.put_media(d, b"x", ".exe")
    assert [s.name for s in S.list_shows(tmp_path)] == ["s"]
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "show.json").write_text("[]")
    listed = {s.name: s for s in S.list_shows(tmp_path)}
    assert listed["broken"].error and "must hold an object" in listed["broken"].error
    with pytest.raises(S.ShowError):
        S.show_path("../etc")


def test_manifest_pointing_outside_is_ignored(tmp_path, tiny_model):
    d = make_show(tmp_path / "s", [{"kind": "face", "id": "f", "model": str(tiny_model), "seed": 1}])
    show = S.load_show(d)
    key = S.render_key(show.scenes[0], show)
    path = d / "media" / "renders" / f"{key}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"key": key, "image": "media/../../secret.jpg"}))
    assert S.scene_media(d, show, show.scenes[0]).status == store.MISSING


# --------------------------------------------------------------------------------------- prepare

def test_prepare_renders_everything_then_nothing(tmp_path, tiny_model):
    kinds = ("title", "face", "morph", "edit", "mixing")
    scenes = [s for s in every_kind(str(tiny_model)) if s["kind"] in kinds]
    d = make_show(tmp_path / "s", scenes)
    lines: list[str] = []
    first = prepare_show(d, echo=lines.append)
    assert first.rendered == ["f", "m", "e", "x"] and not first.failed and not first.skipped
    views = S.scene_views(d, S.load_show(d))
    assert [v.status for v in views] == ["text", "ready", "ready", "ready", "ready"]
    face, morph, edit, mixing = views[1:]
    assert face.width == face.height == 16 and face.image.suffix == ".jpg"
    assert len(morph.frames) == 9 and len(edit.frames) == 4 and morph.fps == 12.0
    # The room's words on stage (issue 22): faces, not seed numbers; no σ, ψ or file names in the caption.
    assert morph.labels[0] == "face 1 → face 2 · 0%" and morph.labels[-1] == "face 3"
    assert edit.labels[0].endswith("-2.0") and "σ" not in " ".join(edit.labels), edit.labels
    for view in (face, morph, edit, mixing):
        assert not re.search(r"seed|ψ|σ|\.pt\b|px", view.caption, re.I), view.caption
    assert face.about.startswith("Seed ") and "ψ" in face.about  # the engineer's line, presenter only
    # a 16 px model's frames are stored enlarged (Lanczos, x16 -> 256 px) for the player's ~500 px face;
    # the engineer's line (view.about) keeps the model's resolution
    assert Image.open(morph.frames[0]).size == (256, 256) and Image.open(face.image).size == (256, 256)
    assert Image.open(edit.frames[0]).size == (256, 256)
    assert Image.open(mixing.image).size == (8 * mixing.width, 8 * mixing.height)  # 16 px cells x8 -> 128 px
    assert Image.open(mixing.image).size == (3 * 16 + 4 * 2, 2 * 16 + 3 * 2) or mixing.image.is_file()
    media = {p: p.stat().st_mtime_ns for p in (d / "media").rglob("*") if p.is_file()}

    second = prepare_show(d, echo=lines.append)
    assert second.rendered == [] and second.skipped == ["f", "m", "e", "x"]
    assert {p: p.stat().st_mtime_ns for p in (d / "media").rglob("*") if p.is_file()} == media
    assert [it.action for it in S.plan(d, S.load_show(d))] == ["text", "skip", "skip", "skip", "skip"]


def test_same_seeds_render_the_same_frames(tmp_path, tiny_model):
    d = make_show(tmp_path / "s", [{"kind": "morph", "id": "m", "model": str(tiny_model), "seeds": [4, 5],
                                    "frames_per_transition": 3}])
    prepare_show(d)
    frames = S.scene_view(d, S.load_show(d), 0).frames
    prepare_show(d, force=True)
    assert S.scene_view(d, S.load_show(d), 0).frames == frames  # deterministic, content-addressed


class CancelAfter:
    """A stand-in job context that asks to cancel after ``n`` progress reports."""

    def __init__(self, n: int):
        self.n, self.reports, self.lines, self.result = n, 0, [], None

    def progress(self, done, total=None, message="", unit=None, eta_s=None):
        self.reports += 1

    def cancelled(self) -> bool:
        return self.reports > self.n

    def log(self, line):
        self.lines.append(line)

    def set_result(self, summary):
        self.result = summary


def test_cancelled_prepare_resumes_where_it_stopped(tmp_path, tiny_model):
    d = make_show(tmp_path / "s", [{"kind": "morph", "id": "m", "model": str(tiny_model), "seeds": [1, 2],
                                    "frames_per_transition": 12}])
    ctx = CancelAfter(5)
    with pytest.raises(JobCancelled):
        prepare_show(d, ctx=ctx)
    key = S.render_key(S.load_show(d).scenes[0])
    partial = store.read_render(d, key, partial=True)
    assert partial is not None and 0 < len(partial["frames"]) < 12
    assert S.scene_view(d, S.load_show(d), 0).status == store.MISSING  # not presentable half-done
    done_before = list(partial["frames"])
    lines: list[str] = []
    summary = prepare_show(d, echo=lines.append)
    assert summary.rendered == ["m"]
    assert any(f"at frame {len(done_before) + 1}" in line for line in lines)
    frames = store.read_render(d, key)["frames"]
    assert frames[:len(done_before)] == done_before and len(frames) == 12
    assert store.read_render(d, key, partial=True) is None


def test_missing_model_still_plays_and_changed_model_rerenders(tmp_path, tiny_model):
    from core import stylegan2 as sg

    model = tmp_path / "model.pt"
    model.write_bytes(tiny_model.read_bytes())
    d = make_show(tmp_path / "s", [{"kind": "face", "id": "f", "model": str(model), "seed": 9}])
    prepare_show(d)
    before = S.scene_view(d, S.load_show(d), 0)
    model.unlink()
    show = S.load_show(d)  # the show file is still valid without its model
    view = S.scene_view(d, show, 0)
    assert view.ready and view.image == before.image and view.image.is_file()
    assert [it.action for it in S.plan(d, show)] == ["keep"]
    summary = prepare_show(d)
    assert summary.kept == ["f"] and not summary.rendered and not summary.failed
    # A new scene needing the missing model fails with a plain message; the others are untouched.
    S.add_scene(d, {"kind": "face", "id": "g", "model": str(model), "seed": 10})
    with pytest.raises(S.ShowError, match="model file not found"):
        prepare_show(d)
    assert S.scene_view(d, S.load_show(d), 0).ready
    # Retrained weights at the same path: the scene is rendered again.
    retrained = sg.random_generator(16, 16, 16, seed=4, channel_max=16, mapping_layers=2)
    sg.save_generator_checkpoint(retrained, model)
    summary = prepare_show(d)
    assert summary.rendered == ["f", "g"]
    assert S.scene_view(d, S.load_show(d), 0).image != before.image


def test_missing_media_is_reported_plainly(tmp_path, tiny_model):
    d = make_show(tmp_path / "s", [{"kind": "morph", "id": "m", "model": str(tiny_model), "seeds": [1, 2],
                                    "frames_per_transition": 3}])
    view = S.scene_view(d, S.load_show(d), 0)
    assert view.status == store.MISSING and "not been prepared" in view.message
    prepare_show(d)
    S.scene_view(d, S.load_show(d), 0).frames[1].unlink()
    view = S.scene_view(d, S.load_show(d), 0)
    assert view.status == store.INCOMPLETE and "1 media file(s)" in view.message and not view.ready
    assert [it.action for it in S.plan(d, S.load_show(d))] == ["render"]
    prepare_show(d)
    assert S.scene_view(d, S.load_show(d), 0).ready


def test_evidence_timelapse_and_bad_inputs(tmp_path):
    run = tmp_path / "run"
    (run / "snapshots").mkdir(parents=True)
    for step in (0, 100, 200, 300):
        snap = Image.fromarray(np.full((8, 8, 3), step // 2, np.uint8))
        snap.save(run / "snapshots" / f"step_{step:07d}.png")
    d = make_show(tmp_path / "s", [
        {"kind": "evidence", "id": "v", "question": "diversity", "positive": ["Yes"]},
        {"kind": "timelapse", "id": "l", "run": str(run), "max_frames": 3},
        {"kind": "evidence", "id": "bad", "question": "no such question"},
    ])
    with pytest.raises(S.ShowError, match="1 of 3 scene"):
        prepare_show(d)
    views = S.scene_views(d, S.load_show(d))
    # The dashboard's words (core.survey.verdict_words), not a sentence of the show's own.
    assert views[0].headline == "67 of 89 viewers (75 %) said Yes"
    assert views[0].verdict == (
        "Not enough evidence yet that more than 70 % of viewers say yes: 75 % said yes, but with 89 answers "
        "that could be chance (p = 0.28).")
    assert views[0].chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert views[1].labels == ["step 0", "step 200", "step 300"] or views[1].labels == ["step 0", "step 100",
                                                                                         "step 300"]
    assert len(views[1].frames) == 3
    assert views[2].status == store.MISSING


def test_timelapse_from_a_recorded_video_says_it_is_recorded(tmp_path):
    """Issue 22: the show's training scene can play a recorded run long enough to end in faces (the bundled
    checkpoints/dcgan_demo_timelapse.mp4); each frame's label says it is recorded."""
    from core import dcgan

    run = tmp_path / "run"
    (run / "snapshots").mkdir(parents=True)
    for step in (0, 50, 100, 150):
        Image.fromarray(np.full((16, 16, 3), step, np.uint8)).save(run / "snapshots" / f"step_{step:07d}.png")
    dcgan.write_timelapse(run, tmp_path / "rec.mp4", fps=4)
    d = make_show(tmp_path / "s", [{"kind": "timelapse", "id": "l", "run": str(tmp_path / "rec.mp4")}])
    assert prepare_show(d).rendered == ["l"]
    view = S.scene_views(d, S.load_show(d))[0]
    assert view.labels == ["recorded · step 0", "recorded · step 50", "recorded · step 100",
                           "recorded · step 150"]
    assert len(view.frames) == 4


def test_demo_show_plays_the_recorded_run_that_ends_in_faces():
    show = S.load_show(ROOT / "shows" / "demo")
    scene = next(s for s in show.scenes if s.KIND == "timelapse")
    assert scene.run == "checkpoints/dcgan_demo_timelapse.mp4" and "recorded" in scene.title
    view = S.scene_views(ROOT / "shows" / "demo", show)[show.scenes.index(scene)]
    assert view.labels[-1] == "recorded · step 4,850" and len(view.frames) >= 30


@pytest.mark.slow
def test_animation_of_a_face_scene(tmp_path, tiny_model):
    d = make_show(tmp_path / "s", [
        {"kind": "animation", "id": "a", "source_kind": "bundled", "source": "3", "driving": "nod",
         "max_frames": 8}])
    summary = prepare_show(d)
    assert summary.rendered == ["a"]
    view = S.scene_view(d, S.load_show(d), 0)
    assert view.video.suffix == ".mp4" and view.video.stat().st_size > 1000 and view.poster.is_file()
    assert view.width == view.height == 256


# ---------------------------------------------------------------------------------------- export

def test_exported_html_is_self_contained(tmp_path, tiny_model):
    d = make_show(tmp_path / "s", [
        {"kind": "title", "title": "Reel <script>alert(1)</script>", "text": "x"},
        {"kind": "face", "id": "f", "model": str(tiny_model), "seed": 1},
        {"kind": "morph", "id": "m", "model": str(tiny_model), "seeds": [1, 2], "frames_per_transition": 6},
        {"kind": "evidence", "id": "v", "question": "diversity"},
        {"kind": "face", "id": "later", "model": str(tiny_model), "seed": 2},
    ], title="Reel </script> test")
    prepare_show(d, only=["f", "m", "v"])
    out = export_html(d, tmp_path / "reel.html")
    text = out.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert "</script> test" not in text and "<script>alert" not in text  # titles cannot break out
    media = [p for p in (d / "media").glob("*.*") if p.suffix in (".jpg", ".png")]
    assert len(media) >= 6 + 1  # face, 6 frames, chart (the face may equal frame 0: stored once)
    for p in media:  # every frame and picture is embedded
        assert base64.b64encode(p.read_bytes()).decode() in text, p.name
    for marker in ('id="cc-prev"', 'id="cc-next"', "scrub.id = 'cc-scrub'", "img.id = 'cc-frame'",
                   "type = 'range'", "ArrowRight", "ArrowLeft"):
        assert marker in text
    data = json.loads(re.search(r'<script type="application/json" id="cc-data">(.*?)</script>', text,
                                re.S).group(1))
    kinds = [s["kind"] for s in data["scenes"]]
    assert kinds == ["title", "face", "morph", "evidence", "face"]
    assert len(data["scenes"][2]["frames"]) == 6 and data["scenes"][2]["scrubLabel"] == "Morph scrub"
    assert "not been prepared" in data["scenes"][4]["missing"]
    assert reel_html(d) == text


def test_exported_mp4_has_title_cards(tmp_path, tiny_model):
    from core.show.export_mp4 import FPS, export_mp4
    from core.video import probe_video

    d = make_show(tmp_path / "s", [{"kind": "title", "title": "Hi"},
                                   {"kind": "morph", "id": "m", "model": str(tiny_model), "seeds": [1, 2],
                                    "frames_per_transition": 4, "fps": 8.0}])
    prepare_show(d)
    out = export_mp4(d, tmp_path / "reel.mp4")
    info = probe_video(out)
    assert info.size == (1280, 720) and abs(info.fps - FPS) < 0.01
    # 3 s title + 1.5 s card + 4 frames at 8 fps (0.5 s) + 1 s hold
    assert abs(info.frames_estimate - round(FPS * (3 + 1.5 + 0.5 + 1))) <= 2
    # Signed, with the label drawn into the morph's pictures and the watermark after the title cards.
    from core import provenance as pv

    v = pv.verify(out)
    assert v.intact and v.generation["generator"] == "show reel (MP4)" and v.watermark is True


# ------------------------------------------------------------------------------------------- CLI

def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "core.show", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_prepare_json_export_and_errors(tmp_path, tiny_model):
    d = tmp_path / "s"
    assert _cli("new", str(d), "--title", "CLI").returncode == 0
    scene = json.dumps({"kind": "face", "model": str(tiny_model), "seed": 5})
    assert _cli("add", str(d), "--scene", scene).returncode == 0
    done = _cli("prepare", str(d), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert len(summary["rendered"]) == 1 and summary["failed"] == {}
    assert json.loads(_cli("prepare", str(d), "--json").stdout)["rendered"] == []
    assert _cli("export", str(d), "--html", str(tmp_path / "r.html")).returncode == 0
    assert (tmp_path / "r.html").stat().st_size > 1000
    bad = _cli("add", str(d), "--scene", '{"kind": "face", "model": "m.pt", "seed": -3}')
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "seed: must be between" in bad.stderr
    missing = _cli("prepare", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "not a show folder" in missing.stderr
    listed = _cli("list", "--root", str(tmp_path), "--json")
    assert json.loads(listed.stdout)[0]["title"] == "CLI"


def test_presenting_imports_no_torch_and_no_model_family():
    code = ("import sys; from core import show as S; from core.show import export_html, view, player; "
            "import core.show.prepare; "
            "bad = [m for m in sys.modules if m == 'torch' or m.split('.')[:2] in "
            "(['core','stylegan2'], ['core','animate'], ['core','fomm'], ['core','dcgan'], "
            "['core','faces'])]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]", out.stderr


def test_bundled_demo_show_is_prepared_and_small():
    demo = ROOT / "shows" / "demo"
    if not (demo / "show.json").is_file():
        pytest.skip("shows/demo not built yet (python -m core.show demo --out shows/demo)")
    show = S.load_show(demo)
    views = S.scene_views(demo, show)
    assert all(v.ready for v in views), [(v.title, v.message) for v in views if not v.ready]
    kinds = {v.kind for v in views}
    assert {"title", "face", "morph", "edit", "mixing", "animation", "dataset", "evidence"} <= kinds
    morph = next(v for v in views if v.kind == "morph")
    assert len(morph.frames) >= 65 and len(morph.frames) == show.scene(morph.scene.id).frame_count()
    size = sum(p.stat().st_size for p in demo.rglob("*") if p.is_file())
    assert size < 3_500_000, f"shows/demo is {size / 1e6:.1f} MB"
    assert not [p for p in (demo / "media").rglob("*.partial.json")]


def test_demo_show_takes_its_seeds_from_the_bundled_models_showcase(monkeypatch):
    """The demo's face, morph and mixing seeds are the showcase's picks, so retraining the bundled model and
    rerunning ``python -m core.showcase`` and ``python -m core.show demo`` keeps the show's faces chosen."""
    from core import showcase
    from core.show import demo

    picked = showcase.Showcase("stylegan2_demo.pt", [41, 7, 300, 12, 5, 99, 64, 3], [0.9] * 8)
    monkeypatch.setattr(showcase, "load_showcase", lambda *a, **k: picked)
    scenes = {s.id: s for s in demo.demo_scenes(None)}
    assert scenes["face"].seed == 41 and scenes["edit"].seed == 41 and "Seed 41" in scenes["face"].notes
    assert scenes["morph"].seeds == [41, 7, 300]
    assert scenes["mixing"].row_seeds == [41, 7, 300] and scenes["mixing"].col_seeds == [12, 5, 99, 64]
    too_few = showcase.Showcase("stylegan2_demo.pt", [1, 2], [None, None], curated=False)
    monkeypatch.setattr(showcase, "load_showcase", lambda *a, **k: too_few)
    assert {s.id: s for s in demo.demo_scenes(None)}["morph"].seeds == [0, 1, 2]



def test_bundled_demo_show_uses_the_current_showcase():
    """Catches a bundled model retrained (or a showcase redone) without rebuilding shows/demo."""
    from core.show import demo

    if not (ROOT / "shows" / "demo" / "show.json").is_file():
        pytest.skip("shows/demo not built yet (python -m core.show demo --out shows/demo)")
    face_seed, morph_seeds, _ = demo.demo_seeds()
    show = S.load_show(ROOT / "shows" / "demo")
    assert show.scene("face").seed == face_seed and show.scene("morph").seeds == morph_seeds, (
        "shows/demo is out of date: python -m core.show demo --out shows/demo")
