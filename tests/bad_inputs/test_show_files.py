"""Bad show files (issue 23, classes 3-6): numbers beyond any bound, structure beyond any bound, one bad
scene in a good show, inputs outside the show, and exports over the show's own files.

Every show is generated here. Most cases call the show store directly (fast); the CLI contract (exit 2,
one stderr line, no traceback) is checked once per class in one batched interpreter. A property test
(hypothesis) throws arbitrary JSON at the loader: a Show that round-trips, or a ShowError, nothing else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import show as S
from core.safe_json import json_depth, load_json_bounded
from core.show import store
from core.show.export_html import export_html, reel_html
from core.show.prepare import plan, prepare_show
from core.show.schema import input_paths
from tests.bad_inputs.conftest import assert_refused, run_cli_batch

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SECRET = "root:x:0:0:secret-first-line"  # the first line of a file no message may ever quote


def show_doc(*scenes: dict, title: str = "Bad numbers") -> dict:
    return {"format": "custom-cast-show", "schema_version": 1, "title": title, "scenes": list(scenes)}


def write_show(folder: Path, doc: dict | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "media").mkdir(exist_ok=True)
    text = doc if isinstance(doc, str) else json.dumps(doc, allow_nan=True)
    (folder / "show.json").write_text(text)
    return folder


def face(**fields) -> dict:
    return {"kind": "face", "id": "f", "model": "checkpoints/stylegan2_demo.pt", "seed": 1, **fields}


# ------------------------------------------------------------------------ 3. numbers beyond any bound

# (scene, field named in the error). Raw JSON text for what json.dumps cannot write (10**400 as a literal).
BAD_NUMBERS = [
    (face(psi="PSI_HUGE"), "psi"),                # 10**400: float() overflows
    (face(psi="PSI_NEG_HUGE"), "psi"),            # -10**400
    (face(psi=float("nan")), "psi"),
    (face(psi=float("inf")), "psi"),
    (face(psi="1e400"), "psi"),                   # a JSON float that parses as inf
    (face(psi="0.7"), "psi"),                     # text, not a number
    (face(psi=True), "psi"),
    (face(psi=[0.7]), "psi"),
    (face(seed="SEED_HUGE"), "seed"),             # 10**30
    (face(seed=-1), "seed"),
    (face(seed=1.5), "seed"),
    (face(seed=float("-inf")), "seed"),
    ({"kind": "morph", "id": "m", "model": "m.pt", "fps": 0}, "fps"),
    ({"kind": "morph", "id": "m", "model": "m.pt", "frames_per_transition": 10**9}, "frames_per_transition"),
    ({"kind": "morph", "id": "m", "model": "m.pt", "seeds": [1, "SEED_HUGE"]}, "seeds[1]"),
    ({"kind": "dataset", "id": "d", "size": 64.0}, "size"),    # a float equal to a choice
    ({"kind": "dataset", "id": "d", "blur_threshold": float("nan")}, "blur_threshold"),
    ({"kind": "evidence", "id": "v", "question": "q", "claim": float("inf")}, "claim"),
    ({"kind": "evidence", "id": "v", "question": "q", "alpha": "PSI_HUGE"}, "alpha"),
    ({"kind": "animation", "id": "a", "source_kind": "bundled", "source": "²"}, "source"),
    ({"kind": "animation", "id": "a", "max_frames": float("nan")}, "max_frames"),
    ({"kind": "edit", "id": "e", "model": "m.pt", "amount_min": float("-inf")}, "amount_min"),
]


def bad_number_text(scene: dict) -> str:
    text = json.dumps(show_doc(scene), allow_nan=True)
    return (text.replace('"PSI_HUGE"', "1" + "0" * 400).replace('"PSI_NEG_HUGE"', "-1" + "0" * 400)
            .replace('"SEED_HUGE"', "1" + "0" * 30).replace('"1e400"', "1e400"))


@pytest.mark.parametrize("scene,field", BAD_NUMBERS, ids=[f"{s['kind']}-{f}-{i}" for i, (s, f) in
                                                           enumerate(BAD_NUMBERS)])
def test_bad_numbers_name_the_field(tmp_path, scene, field):
    d = write_show(tmp_path / "show", bad_number_text(scene))
    with pytest.raises(S.ShowError) as e:
        S.load_show(d)
    message = str(e.value)
    assert f": {field}:" in message and "scene 1" in message, message
    assert len(message) < 400 and "0" * 40 not in message  # a 401-digit number is described, not printed


def test_one_bad_show_never_hides_the_others(tmp_path):
    """``list`` (and the Present page's show picker) lists every show; the broken one with its error."""
    write_show(tmp_path / "a-good", show_doc(face()))
    write_show(tmp_path / "b-huge", bad_number_text(face(psi="PSI_HUGE")))
    write_show(tmp_path / "c-deep", "[" * 100_000 + "]" * 100_000)
    write_show(tmp_path / "d-kind", show_doc({"kind": ["face"]}))   # an unhashable kind
    shows = {s.name: s for s in S.list_shows(tmp_path)}
    assert shows["a-good"].error is None and shows["a-good"].scenes == 1
    assert "psi" in shows["b-huge"].error
    assert "nested more than" in shows["c-deep"].error
    assert "unknown scene kind" in shows["d-kind"].error


def test_show_cli_refuses_bad_numbers_and_deep_json_in_one_line(tmp_path):
    huge = write_show(tmp_path / "shows" / "huge", bad_number_text(face(psi="PSI_HUGE")))
    deep = write_show(tmp_path / "shows" / "deep", "{\"a\":" * 100_000 + "1" + "}" * 100_000)
    empty = tmp_path / "shows" / "empty"
    S.create_show(empty, "Empty")
    results = run_cli_batch([
        ["core.show", "status", huge],
        ["core.show", "prepare", huge],
        ["core.show", "export", huge, "--html", tmp_path / "reel.html"],
        ["core.show", "status", deep],
        ["core.show", "add", empty, "--scene", json.dumps(face()).replace("1}", "1" + "0" * 400 + "}")],
        ["core.show", "add", empty, "--scene", "[" * 100_000],
        ["core.show", "add", empty, "--scene", json.dumps(face(psi=float("nan")), allow_nan=True)],
        ["core.show", "list", "--root", tmp_path / "shows"],
    ])
    for r in results[:3]:
        assert_refused(r, "psi")
    assert_refused(results[3], "nested more than")
    assert_refused(results[4], "seed")
    assert_refused(results[5], "--scene", "nested")
    assert_refused(results[6], "psi")
    assert results[7].returncode == 0 and "INVALID" in results[7].stdout and "empty" in results[7].stdout
    assert S.load_show(empty).scenes == []  # nothing was added by the refused adds
    assert not (tmp_path / "reel.html").exists()


# --------------------------------------------------------------------- 4. structure beyond any bound

@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    "{\"scenes\":" + "[" * 50_000,                                   # deep and unterminated
    json.dumps(show_doc()).replace('"scenes": []', '"scenes": ' + "[" * 40 + "]" * 40),
    "{\"title\": " + "{\"x\": " * 20 + "1" + "}" * 21,
], ids=["arrays-100k", "unterminated-50k", "scenes-40", "objects-20"])
def test_deep_json_is_refused_before_parsing(tmp_path, text):
    with pytest.raises(S.ShowError, match="nested more than 16 levels"):
        S.load_show(write_show(tmp_path / "s", text))


def test_brackets_inside_strings_do_not_count_and_size_is_bounded(tmp_path):
    deep_text = "[" * 5000 + '\\"' + "{" * 5000
    show = S.load_show(write_show(tmp_path / "s", show_doc(
        {"kind": "title", "id": "t", "title": "[[[[", "text": deep_text[:4900]})))
    assert show.scenes[0].title == "[[[["
    assert json_depth(json.dumps({"a": ["[\"{" * 100]}).encode(), 10) == 2
    big = json.dumps(show_doc({"kind": "title", "id": "t", "title": "x", "text": "y" * 4000}))
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "show.json").write_text(big + " " * (4 * 1024 * 1024))
    with pytest.raises(S.ShowError, match="larger than 4 MB"):
        S.load_show(tmp_path / "big")


@pytest.mark.parametrize("data,message", [
    ("[" * 100, "nested more than 64"),
    ("x" * 2000, "is 2,000 bytes"),
    ("9" * 5000, "a number is too long"),
    (b"\xff\xfe{}", "not UTF-8"),
    ('{"a": "root:x:0:0"', "not valid JSON"),
])
def test_bounded_loader_refuses_with_what_and_without_the_text(data, message):
    with pytest.raises(ValueError, match=message) as e:
        load_json_bounded(data, max_bytes=1500 if data == "x" * 2000 else 10_000, max_depth=64,
                          what="the thing")
    assert str(e.value).startswith("the thing") and "root:x" not in str(e.value)
    assert load_json_bounded('{"a": [1, "]]]"]}', max_bytes=100, max_depth=2, what="x") == {"a": [1, "]]]"]}


# ------------------------------------------------------------- 5. one bad scene must not stop a show

@pytest.fixture
def prepared(tmp_path, tiny_model, monkeypatch) -> Path:
    """A prepared show of a title, two faces and a morph (the tiny model is allowed explicitly)."""
    monkeypatch.setenv(store.ALLOW_INPUTS_ENV, str(tiny_model.parent))
    d = tmp_path / "show"
    S.create_show(d, "Three scenes")
    for scene in ({"kind": "title", "id": "t", "title": "Hello"},
                  {"kind": "face", "id": "f", "model": str(tiny_model), "seed": 1},
                  {"kind": "face", "id": "g", "model": str(tiny_model), "seed": 2},
                  {"kind": "morph", "id": "m", "model": str(tiny_model), "seeds": [3, 4],
                   "frames_per_transition": 3}):
        S.add_scene(d, scene)
    prepare_show(d)
    return d


def _plant(show_dir: Path, scene_index: int, target: Path, how: str) -> Path:
    """Replace the first media file of a scene by a link leading out of the show."""
    show = S.load_show(show_dir)
    rel = store.scene_media(show_dir, show, show.scenes[scene_index]).manifest["image"]
    planted = show_dir / rel
    planted.unlink()
    if how == "symlink":
        planted.symlink_to(target)
    elif how == "loop":
        planted.symlink_to(planted)
    else:  # a symlinked media folder entry pointing at a folder
        planted.symlink_to(target.parent)
    return planted


@pytest.mark.parametrize("how", ["symlink", "loop", "dir"])
def test_media_symlinked_out_spoils_only_its_scene(prepared, tmp_path, how):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n")
    planted = _plant(prepared, 1, secret, how)
    show = S.load_show(prepared)
    views = S.scene_views(prepared, show)
    assert [v.ready for v in views] == [True, False, True, True]
    assert "cannot be shown" in views[1].message or "missing" in views[1].message
    items = plan(prepared, show)
    assert [it.action for it in items] == ["text", "render", "skip", "skip"]
    reel = reel_html(prepared)
    assert SECRET not in reel and reel.count("data:image/jpeg") >= 2
    out = export_html(prepared, tmp_path / "reel.html")
    assert out.is_file()
    summary = prepare_show(prepared)  # the planted link is replaced by the real picture
    assert summary.rendered == ["f"] and planted.is_file() and not planted.is_symlink()
    assert all(v.ready for v in S.scene_views(prepared, S.load_show(prepared)))


def test_manifest_number_fields_do_not_break_the_reels(prepared, tmp_path):
    """A render record edited by hand (fps as text, sizes as lists) must not stop the export."""
    show = S.load_show(prepared)
    sm = store.scene_media(prepared, show, show.scenes[3])
    path = prepared / "media" / "renders" / f"{sm.key}.json"
    record = json.loads(path.read_text())
    record.update(fps="fast", width=[1], height={"a": 1})
    path.write_text(json.dumps(record))
    views = S.scene_views(prepared, S.load_show(prepared))
    assert views[3].fps == 24.0 and views[3].height is None
    assert export_html(prepared, tmp_path / "r.html").is_file()


@pytest.fixture
def outside(tmp_path) -> dict[str, Path]:
    """Inputs outside the show and the project: a secret text file, a photo folder, a link out."""
    secret = tmp_path / "elsewhere" / "passwd"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\nmore:x:1:1\n")
    photos = tmp_path / "elsewhere" / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(b"\xff\xd8\xff")
    return {"secret": secret, "photos": photos}


def _outside_scenes(outside: dict[str, Path], show_dir: Path) -> list[dict]:
    (show_dir / "link").symlink_to(outside["secret"].parent)  # inside the show, leading out
    rel_up = os.path.relpath(outside["secret"], store.PROJECT_ROOT)
    return [
        {"kind": "evidence", "id": "e1", "survey": str(outside["secret"]), "question": "root"},
        {"kind": "evidence", "id": "e2", "survey": rel_up, "question": "root"},          # ../../..
        {"kind": "evidence", "id": "e3", "survey": str(show_dir / "link" / "passwd"), "question": "root"},
        {"kind": "dataset", "id": "d1", "folder": str(outside["photos"])},
        {"kind": "face", "id": "f1", "model": str(outside["secret"])},
        {"kind": "animation", "id": "a1", "source_kind": "image", "source": str(outside["secret"])},
        {"kind": "animation", "id": "a2", "driving_kind": "video", "driving": str(outside["secret"])},
        {"kind": "timelapse", "id": "l1", "run": "/"},
    ]


def test_inputs_outside_show_and_project_are_refused(tmp_path, outside, monkeypatch):
    monkeypatch.delenv(store.ALLOW_INPUTS_ENV, raising=False)
    d = tmp_path / "show"
    S.create_show(d, "Outside")
    scenes = [{"kind": "title", "id": "t", "title": "Still plays"}, *_outside_scenes(outside, d)]
    for scene in scenes:
        S.add_scene(d, scene)
    lines: list[str] = []
    with pytest.raises(S.ShowError, match="8 of 8 scene.s. could not be rendered") as e:
        prepare_show(d, echo=lines.append)
    assert SECRET not in str(e.value) and "root:x" not in str(e.value)
    assert sum("outside the show and the project" in line for line in lines) == 8, lines
    assert not any("root:x" in line for line in lines)
    show = S.load_show(d)
    for scene in show.scenes[1:]:
        for value in input_paths(scene):
            with pytest.raises(S.ShowError, match="outside the show and the project") as e:
                store.resolve_input(d, value)
            assert "--allow-inputs" in str(e.value) and SECRET not in str(e.value)
    assert S.scene_views(d, show)[0].ready  # the title card still plays


def test_prepare_logs_never_quote_an_outside_file(tmp_path, outside):
    """Run as a user would: the refused scenes are named, the title scene is fine, exit 2, one line."""
    d = tmp_path / "show"
    S.create_show(d, "Outside")
    for scene in [{"kind": "title", "id": "t", "title": "Still plays"}, *_outside_scenes(outside, d)]:
        S.add_scene(d, scene)
    env_free = [["core.show", "prepare", d], ["core.show", "status", d]]
    prep, status = run_cli_batch(env_free)
    assert_refused(prep, "outside the show and the project")
    assert SECRET not in prep.stdout + prep.stderr and "root:x" not in prep.stdout + prep.stderr
    assert prep.stdout.count("outside the show and the project") == 8
    assert status.returncode == 0 and SECRET not in status.stdout


def test_allowed_folder_is_read(tmp_path, tiny_model, monkeypatch):
    monkeypatch.delenv(store.ALLOW_INPUTS_ENV, raising=False)
    d = tmp_path / "show"
    S.create_show(d, "Allowed", [S.FaceScene(id="f", model=str(tiny_model), seed=4)])
    with pytest.raises(S.ShowError, match="outside the show"):
        prepare_show(d)
    monkeypatch.setenv(store.ALLOW_INPUTS_ENV, str(tiny_model.parent))
    assert prepare_show(d).rendered == ["f"]
    monkeypatch.setenv(store.ALLOW_INPUTS_ENV, "*")
    assert store.resolve_input(d, "/etc/hostname") == Path("/etc/hostname")


# ------------------------------------------------------------ 6. an export over the show's own files

@pytest.mark.parametrize("target", ["show.json", "hardlink", "symlink", "media", ".show.lock", "dotdot"])
def test_export_never_writes_over_the_show(tmp_path, target):
    d = tmp_path / "show"
    S.create_show(d, "Keep me", [S.TitleScene(id="t", title="Keep me")])
    before = (d / "show.json").read_bytes()
    outs = {"show.json": d / "show.json", "media": d / "media" / "reel.html", ".show.lock": d / ".show.lock",
            "dotdot": d / "media" / ".." / "show.json", "hardlink": tmp_path / "hard.html",
            "symlink": tmp_path / "soft.html"}
    (d / ".show.lock").touch()
    if target == "hardlink":
        os.link(d / "show.json", outs[target])
    if target == "symlink":
        outs[target].symlink_to(d / "show.json")
    for flag, export in (("--html", export_html), ("--mp4", None)):
        if export is None:
            from core.show.export_mp4 import export_mp4 as export
        with pytest.raises(ValueError, match=f"{flag} .*(the show|inside the show's media)"):
            export(d, outs[target])
    assert (d / "show.json").read_bytes() == before
    assert export_html(d, tmp_path / "reel.html").is_file()  # elsewhere is fine


def test_export_cli_refuses_the_show_file(tmp_path):
    d = tmp_path / "show"
    S.create_show(d, "Keep me", [S.TitleScene(id="t", title="Keep me")])
    before = (d / "show.json").read_bytes()
    r1, r2 = run_cli_batch([["core.show", "export", d, "--html", d / "show.json"],
                            ["core.show", "export", d, "--mp4", d / "media" / "x.mp4"]])
    assert_refused(r1, "--html", "show file")
    assert_refused(r2, "--mp4", "media folder")
    assert (d / "show.json").read_bytes() == before and not (d / "media" / "x.mp4").exists()


# ---------------------------------------------------------------- property test: the show.json loader

_json_scalars = (st.none() | st.booleans() | st.text(max_size=12) | st.floats(allow_nan=True)
                 | st.integers(min_value=-(10**600), max_value=10**600) | st.sampled_from(
                     ["media/../x", "/etc/passwd", "media/a.jpg", "face", "²", "64", ""]))
_json_values = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=4)
                            | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
_GOOD = {kind: next(s for s in [
    {"kind": "title", "id": "t", "title": "T"}, face(),
    {"kind": "morph", "id": "m", "model": "m.pt"}, {"kind": "edit", "id": "e", "model": "m.pt"},
    {"kind": "mixing", "id": "x", "model": "m.pt"}, {"kind": "animation", "id": "a"},
    {"kind": "dataset", "id": "d"}, {"kind": "timelapse", "id": "l", "run": "runs/r"},
    {"kind": "evidence", "id": "v", "question": "q"}] if s["kind"] == kind) for kind in S.SCENE_KINDS}


@st.composite
def _mutated_shows(draw) -> str:
    """A valid show with some fields of some scenes (or of the show) replaced by arbitrary JSON."""
    scenes = [dict(_GOOD[k]) for k in draw(st.lists(st.sampled_from(S.SCENE_KINDS), max_size=4))]
    for i, scene in enumerate(scenes):
        scene["id"] = f"s{i}"
        for name in draw(st.lists(st.sampled_from(sorted(
                {f.name for f in S.SCENE_TYPES[scene["kind"]].__dataclass_fields__.values()} | {"kind"})),
                max_size=3)):
            scene[name] = draw(_json_values)
    doc = show_doc(*scenes)
    if draw(st.booleans()):
        key = draw(st.sampled_from(["title", "schema_version", "format", "scenes", "extra"]))
        doc[key] = draw(_json_values)
    text = json.dumps(doc, allow_nan=True) if _digits_ok(doc) else "{}"
    return text


def _digits_ok(value) -> bool:
    try:
        json.dumps(value, allow_nan=True)
        return True
    except ValueError:  # an integer longer than Python prints: not writable as text, so not a file
        return False


def _check_loader(text: str | bytes) -> None:
    try:
        show = S.parse_show(text)
    except S.ShowError as e:
        assert "\n" not in str(e).strip() or len(str(e)) < 20_000
        return
    show.check()
    again = S.parse_show(show.to_json())
    assert again.to_dict() == show.to_dict()
    for scene in show.scenes:
        S.render_key(scene, show)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_shows())
def test_property_mutated_show_files_load_or_are_refused(text):
    _check_loader(text)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_json_values.map(lambda v: json.dumps(v, allow_nan=True) if _digits_ok(v) else "[]"),
                 st.binary(max_size=64), st.text(alphabet="[]{}\":,0123456789.eE-tnrufalse ", max_size=200),
                 st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n)))
def test_property_arbitrary_bytes_load_or_are_refused(data):
    _check_loader(data)


def test_present_page_plays_the_other_scenes(prepared, tmp_path, monkeypatch):
    """The Present page with one scene's picture replaced by a link out of the show, next to a show whose
    psi is 10**400: no exception; the broken show says why; the good scenes are on stage."""
    import re

    from streamlit.testing.v1 import AppTest

    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n")
    _plant(prepared, 1, secret, "symlink")
    write_show(prepared.parent / "zz-huge", bad_number_text(face(psi="PSI_HUGE")))
    monkeypatch.setenv("CUSTOM_CAST_SHOWS", str(prepared.parent))
    at = AppTest.from_file("pages/6_present.py", default_timeout=60)
    at.query_params["show"] = "show"
    at.run()
    assert not at.exception
    doc = at.get("iframe")[0].proto.srcdoc
    data = json.loads(re.search(r'<script type="application/json" id="cc-data">(.*?)</script>', doc, re.S)
                      .group(1))
    assert len(data["scenes"]) == 4 and SECRET not in doc
    assert "leads outside the show folder" in json.dumps(data["scenes"][1])
    assert data["scenes"][2].get("image") and len(data["scenes"][3].get("frames", [])) == 3
    broken = AppTest.from_file("pages/6_present.py", default_timeout=60)
    broken.query_params["show"] = "zz-huge"
    broken.run()
    assert not broken.exception and any("psi" in e.value for e in broken.error)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


_nested = st.recursive(st.none() | st.integers() | st.text(alphabet='[]{}"\\,: ab', max_size=8),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(alphabet='[]{}"\\ ab', max_size=4), inner, max_size=3),
                       max_leaves=30)


@settings(max_examples=150, deadline=None)
@given(_nested)
def test_property_bracket_scan_measures_the_real_depth(value):
    """The linear scan counts exactly the nesting json.loads will meet; brackets and escaped quotes inside
    strings never count."""
    text = json.dumps(value)
    assert json_depth(text.encode(), 10_000) == _depth(value)
    assert load_json_bounded(text, max_bytes=10**6, max_depth=max(_depth(value), 1), what="x") == value
