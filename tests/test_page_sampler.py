"""AppTest for the StyleGAN2 sampler page: renders with the bundled (or untrained) model, reacts to the
seed, the morph slider and the animator hand-off, and explains unusable files without crashing."""

from __future__ import annotations

import os
import pickle
import time

import pytest
from streamlit.testing.v1 import AppTest

import core
from pages._common import HANDOFF_ANIMATOR_SOURCE, HANDOFF_ANIMATOR_SOURCE_LABEL

PAGE = "pages/3_stylegan2_sampler.py"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def empty_downloads(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "DOWNLOADS_DIR", tmp_path)
    return tmp_path


def _open_tool(at: AppTest, label_start: str) -> None:
    """Open the tool tab whose label starts with ``label_start`` and keep it open on later runs, as the
    browser does (only the open tab runs; AppTest does not send the tabs' state back by itself)."""
    from pages._sampler_tools import TOOLS, TOOLS_KEY

    label = next(t for t in TOOLS if t.split(" ", 1)[1].startswith(label_start))
    run = getattr(at, "_run_without_tool", at._run)

    def run_with_tool_open(*args, **kwargs):
        at.session_state[TOOLS_KEY] = label
        return run(*args, **kwargs)

    at._run_without_tool, at._run = run, run_with_tool_open
    at.run()


def _rerun_until(at: AppTest, done, timeout: float = 60.0) -> None:
    """Rerun (as the page's polling fragment would) until ``done(at)`` or the timeout."""
    deadline = time.monotonic() + timeout
    while not done(at) and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()


def test_sampler_renders_and_reacts(empty_downloads):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["sg_model_details"] = True  # the sidebar's "Details: this generator", unfolded
    at.run()
    assert not at.exception
    assert any("style layers" in c.value for c in at.caption)
    # The model's licence in one line (issue 24), and the export switches (label on by default).
    assert any(c.value.startswith("Model licence: MIT (own work)") for c in at.caption) or \
        not core.CHECKPOINTS_DIR.joinpath("stylegan2_demo.pt").is_file()
    assert at.toggle(key="pv_label").value and at.text_input(key="pv_label_text").value == "AI-generated"
    # One morph control: A (the main seed) is on screen, so the morph starts at t = 0.
    assert len(at.slider) >= 2 and at.session_state["sg_morph_t"] == 0.0
    assert at.session_state["sg_seed_b"] != at.session_state["sg_seed"]
    if not core.CHECKPOINTS_DIR.joinpath("stylegan2_demo.pt").is_file():
        assert any("untrained" in i.value for i in at.info)

    # The room's controls on the main path; the seed numbers only under Details (issue 22).
    details = next(e for e in at.main.expander if e.label.startswith("Details: seed numbers"))
    assert {n.key for n in details.number_input} == {"sg_seed", "sg_seed_b"}
    assert {n.key for n in at.main.number_input} == {"sg_seed", "sg_seed_b"}
    assert not any("seed" in n.label.lower() for n in at.sidebar.number_input)
    assert at.button(key="sg_prev").disabled  # nothing shown before yet

    at.number_input(key="sg_seed").set_value(7).run()  # typed in Details: the same number, the same face
    assert not at.exception
    assert at.number_input(key="sg_seed").value == 7
    seed_b = at.session_state["sg_seed_b"]
    at.button(key="sg_random").click().run()
    assert not at.exception and at.session_state["sg_seed"] != 7
    assert at.session_state["sg_seed_b"] != at.session_state["sg_seed"]
    at.button(key="sg_prev").click().run()  # back to face 7 and its face B
    assert (at.session_state["sg_seed"], at.session_state["sg_seed_b"]) == (7, seed_b)
    assert at.number_input(key="sg_seed").value == 7

    assert at.toggle(key="sg_scrub").value  # the drag preview is on by default, prepared in the background
    _rerun_until(at, lambda a: any(c.value.startswith("⏱ 33 frames at") for c in a.caption))
    assert any(c.value.startswith("⏱ 33 frames at") for c in at.caption)
    at.toggle(key="sg_scrub").set_value(False).run()
    assert not any("33 frames" in c.value for c in at.caption)

    # What the slider's release trigger does (the browser side is covered by the real-browser test).
    at.session_state["sg_morph_t"] = 0.25
    at.run()
    assert not at.exception
    assert any("slider → image" in c.value and "ms" in c.value for c in at.caption)  # latency readout
    # Where and how the face is drawn, in plain words (no GPU on the test machine: the processor).
    assert any(c.value.startswith("🖥 Drawing on the processor") and "precision" in c.value
               for c in at.caption)
    assert at.selectbox(key="cc_device").value.startswith("Automatic")

    at.button(key="sg_send_main").click().run()
    img = at.session_state[HANDOFF_ANIMATOR_SOURCE]
    assert img.dtype.name == "uint8" and img.ndim == 3 and img.shape[2] == 3
    assert at.session_state[HANDOFF_ANIMATOR_SOURCE_LABEL].startswith("StyleGAN2 seed 7")
    assert any("Sent to the FOMM animator" in s.value for s in at.success)


def test_semantic_slider_edits_the_face_and_sends_it(empty_downloads):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    _open_tool(at, "Semantic")
    seed = at.session_state["sg_seed"]
    amount = next(s for s in at.slider if s.key.startswith("sg_dir_amt_0_"))
    next(t for t in at.text_input if t.key.startswith("sg_dir_name_0_")).set_value("smile")
    value = min(2.0, amount.max)  # the slider stops where the face stops being the same person
    amount.set_value(value).run()
    assert not at.exception
    at.button(key="sg_send_sefa").click().run()
    edited = at.session_state[HANDOFF_ANIMATOR_SOURCE]
    assert at.session_state[HANDOFF_ANIMATOR_SOURCE_LABEL] == (
        f"StyleGAN2 seed {seed}, psi 0.70, smile {value:+.2f}σ")
    at.button(key="sg_send_main").click().run()  # the unedited face of the same seed
    plain = at.session_state[HANDOFF_ANIMATOR_SOURCE]
    assert edited.shape == plain.shape and edited.dtype == plain.dtype
    assert abs(edited.astype(int) - plain.astype(int)).mean() > 1.0  # the direction changed it


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_unusable_files_show_a_clear_message(empty_downloads, tmp_path):
    from PIL import Image

    marker = tmp_path / "pwned"
    (empty_downloads / "code.pkl").write_bytes(pickle.dumps({"G_ema": _Evil(marker)}))
    Image.new("RGB", (8, 8)).save(empty_downloads / "photo.pkl", format="PNG")
    (empty_downloads / "cut.pkl").write_bytes(b"\x80\x04\x95\x00\x10\x00\x00\x00\x00\x00\x00}\x94(")

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["sg_model_details"] = True
    at.run()
    expected = {"code.pkl": "not a tensor or plain container", "photo.pkl": "PNG image",
                "cut.pkl": "truncated"}
    for name, words in expected.items():
        at.selectbox(key="sg_model").set_value(f"Downloaded: {name}").run()
        assert not at.exception
        assert any(words in e.value for e in at.error), (name, [e.value for e in at.error])
        assert any("style layers" in c.value for c in at.caption)  # the page keeps working
    assert not marker.exists()


def test_video_mixing_and_batch_exports(empty_downloads, tmp_path, monkeypatch):
    monkeypatch.setattr(core, "EXPORTS_DIR", tmp_path / "exports")
    monkeypatch.setattr(core, "RUNS_DIR", tmp_path / "runs")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.text_input(key="sg_keys").set_value("1, 2")
    at.slider(key="sg_steps").set_value(4)
    at.button(key="sg_render_video").click().run()
    assert not at.exception
    # The export is a background job (core.stylegan2.exports): progress while it runs, the files when done.
    _rerun_until(at, lambda a: "sg_video" in a.session_state)
    assert "sg_video_run" not in at.session_state  # taken over by the tab once done
    mp4s = list((tmp_path / "exports" / "stylegan2").glob("*.mp4"))
    gifs = list((tmp_path / "exports" / "stylegan2").glob("*.gif"))
    assert len(mp4s) == 1 and mp4s[0].stat().st_size > 0 and len(gifs) == 1

    _open_tool(at, "Style mixing")
    at.text_input(key="sg_rows").set_value("1, 2")
    at.text_input(key="sg_cols").set_value("3")
    at.button(key="sg_mix").click().run()
    assert not at.exception
    assert at.session_state["sg_mix_grid"].shape[2] == 3

    _open_tool(at, "Batch")
    at.text_input(key="sg_batch_seeds").set_value("0-2")
    at.button(key="sg_batch_go").click().run()
    assert not at.exception
    _rerun_until(at, lambda a: "sg_batch_zip" in a.session_state)
    path, n, _ = at.session_state["sg_batch_zip"]
    import zipfile

    assert path.startswith(str(tmp_path / "exports" / "stylegan2"))
    names = zipfile.ZipFile(path).namelist()
    assert n == 3 and [x for x in names if not x.startswith("META-INF/")] == [
        "seed00000.png", "seed00001.png", "seed00002.png"]
    assert "META-INF/content_credential.c2pa" in names  # the zip's own C2PA manifest (each PNG has one too)

    at.text_input(key="sg_batch_seeds").set_value("9-1").run()
    assert any("runs backwards" in e.value for e in at.error)


def test_morph_helpers_behind_the_page():
    """The drag frames are the exact renders of the lerp path; B partners are ordered farthest first; the
    cheap size bound that lets small generators skip the meta-device pass never undercounts."""
    import torch

    from core import stylegan2 as sg
    from core.stylegan2.config import validate_generator_kwargs
    from core.stylegan2.loading import values_upper_bound

    G = sg.random_generator(16, z_dim=8, w_dim=8, channel_max=8, seed=0)
    cache = sg.WsCache(G)
    wa, wb = cache.get(1, 0.7), cache.get(2, 0.7)
    frames = list(sg.morph_frames(G, wa, wb, 5, batch_size=2))
    assert len(frames) == 5 and frames[0].shape == (16, 16, 3)
    for i, frame in enumerate(frames):
        assert (frame == sg.synthesize(G, sg.lerp(wa, wb, i / 4))[0]).all()
    far = sg.farthest_seeds(cache, 1, [1, 2, 3, 4, 5], 0.7)
    dist = [float((cache.get(s, 0.7) - wa).norm()) for s in far]
    assert sorted(far) == [2, 3, 4, 5] and dist == sorted(dist, reverse=True)

    kwargs = validate_generator_kwargs(G.init_kwargs)
    with torch.device("meta"):
        exact = sum(t.numel() for t in sg.Generator(**kwargs).state_dict().values())
    assert values_upper_bound(kwargs) >= exact


def test_official_layout_1024_network_renders_fast_and_drags_at_256_px(empty_downloads):
    """A 1024 px network in NVIDIA's pickle layout (random weights, official FFHQ shape) picked from
    checkpoints/downloads: the face is drawn by the fast CPU renderer, the page says so in plain words, and
    the drag frames are prepared from the 256 px block (not 64 px)."""
    from core import stylegan2 as sg
    from tests.official_pickle import write_network_pickle

    write_network_pickle(sg.official_size_generator(1024, seed=1), empty_downloads / "ffhq-like.pkl")
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["sg_model"] = "Downloaded: ffhq-like.pkl"
    at.session_state["sg_scrub"] = False  # no background frames in CI; the pair key says their size
    at.session_state["sg_model_details"] = True
    at.run()
    assert not at.exception and not at.error
    assert any("1024×1024 px" in c.value and "official-pickle" in c.value for c in at.caption)
    assert any(c.value.startswith("🖥 Drawing on the processor") and "fast renderer" in c.value
               for c in at.caption)
    pair = at.session_state["sg_scrub_want"][0]
    assert int(pair.split("|")[-2]) >= 256, pair  # the drag frames' resolution


def test_directions_are_named_by_measurement_with_their_ranges(empty_downloads):
    """Issue 22: the bundled model's SeFa directions carry measured names (assets/direction_names.json,
    core.sefa_names) on their sliders, each within the range where the face stays the same."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    _open_tool(at, "Semantic")
    assert not at.exception
    names = [t.value for t in at.text_input if t.key.startswith("sg_dir_name_")]
    sliders = [s for s in at.slider if s.key.startswith("sg_dir_amt_")]
    assert len(names) == len(sliders) >= 1
    measured = [n for n in names if not n.startswith("direction")]
    assert measured, names  # at least one direction is named by what it does
    assert all(set(n.split()[0:2]) & {"head", "smile", "mouth", "eyes", "brightness"} for n in measured)
    for slider in sliders:
        assert -3.0 <= slider.min < 0 < slider.max <= 3.0
    labels = [s.label for s in sliders]
    assert any(m in label for m in measured for label in labels)  # the name is on the slider


def test_face_panel_is_one_fragment():
    """A new face reruns the face panel only, not the page (a merge once moved ``@st.fragment`` from
    ``hero`` onto a helper: every 🎲 New face then re-ran the sidebar, the four tabs and the SeFa render,
    ~1 CPU-second of the server's and twice the browser's work per face)."""
    from pages import _sampler_face, _sampler_scrub

    def is_fragment(f) -> bool:
        return f.__code__.co_filename.endswith(os.path.join("streamlit", "runtime", "fragment.py"))

    assert is_fragment(_sampler_face.hero)
    assert is_fragment(_sampler_scrub.scrub_loader)
    assert not is_fragment(_sampler_face._face)  # a value-returning helper inside the fragment


def test_only_the_open_tool_tab_runs(empty_downloads):
    """A new visitor's page holds the open tab's tools only (the video tab); the others run when opened."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    keys = {w.key for w in [*at.text_input, *at.slider, *at.button]}
    assert "sg_keys" in keys and "sg_batch_seeds" not in keys and "sg_rows" not in keys
    assert not any(k.startswith("sg_dir_amt_") for k in keys)
    _open_tool(at, "Batch")
    boxes = {w.key for w in at.text_input}
    assert "sg_batch_seeds" in boxes and "sg_keys" not in boxes


def test_generator_details_are_drawn_only_when_unfolded(empty_downloads):
    """The sidebar's "Details: this generator" sends nothing while folded: Streamlit re-renders the whole
    sidebar (folded content too) several times per new face in every visitor's browser."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    details = next(e for e in at.sidebar.expander if e.label == "Details: this generator")
    assert not details.children
    assert not any("style layers" in c.value or "core.stylegan2 download" in c.value for c in at.caption)
    at.session_state["sg_model_details"] = True
    at.run()
    captions = [c.value for c in at.sidebar.caption]
    assert any("style layers" in c for c in captions)
    assert any("python -m core.stylegan2 download" in c for c in captions)


def test_face_is_drawn_before_the_panel_is_sent(empty_downloads, monkeypatch):
    """The face panel's elements leave in one burst: the face is drawn before the first of them (drawn
    between them, it split them, and each burst re-renders the browser's whole sidebar)."""
    from pages import _sampler_face

    events: list[str] = []
    face, buttons, view = _sampler_face._face, _sampler_face._face_buttons, _sampler_face.morph_view
    monkeypatch.setattr(_sampler_face, "_face", lambda *a: events.append("face") or face(*a))
    monkeypatch.setattr(_sampler_face, "_face_buttons", lambda *a: events.append("buttons") or buttons(*a))
    monkeypatch.setattr(_sampler_face, "morph_view", lambda **k: events.append("view") or view(**k))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    assert events[:3] == ["face", "buttons", "view"]
    events.clear()
    at.button(key="sg_random").click().run()
    assert not at.exception
    assert events[:3] == ["face", "buttons", "view"]


def test_drag_frame_asks_back_off():
    """While a pair's frames are being rendered, the browser asks again later and later (every ask reruns
    the loader fragment, and with it the browser's whole sidebar), never more than 3 s apart."""
    from pages._sampler_scrub import SCRUB_POLL_MAX_MS, SCRUB_POLL_MS, poll_delay_ms

    delays = [poll_delay_ms(n) for n in range(1, 12)]
    assert delays[0] == SCRUB_POLL_MS
    assert all(a < b for a, b in zip(delays, delays[1:]) if b < SCRUB_POLL_MAX_MS)
    assert max(delays) == SCRUB_POLL_MAX_MS
    elapsed, asks = 0, 0
    while elapsed < 10_000:
        asks += 1
        elapsed += poll_delay_ms(asks)
    assert asks <= 7  # 16 with a fixed 600 ms


def test_sidebar_is_drawn_last_and_its_values_hold_on_the_same_run(empty_downloads, monkeypatch):
    """A visitor's sidebar arrives with the page's last burst of elements (each burst re-renders the
    browser's whole sidebar), yet a sidebar change draws the face with the new value on that same run."""
    from pages import _sampler_face, _sampler_model

    events: list[str] = []
    hero, controls = _sampler_face.hero, _sampler_model.sidebar_controls
    monkeypatch.setattr(_sampler_face, "hero", lambda *a: events.append("hero") or hero(*a))
    monkeypatch.setattr(_sampler_model, "sidebar_controls", lambda: events.append("sidebar") or controls())
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    assert events == ["hero", "sidebar"]
    assert at.session_state["sg_face"][0][5] == pytest.approx(0.7)  # the face key's psi: the default
    events.clear()
    at.slider(key="sg_psi").set_value(1.2).run()
    assert not at.exception
    assert events == ["hero", "sidebar"]  # no second run to pick the value up
    assert at.session_state["sg_face"][0][5] == pytest.approx(1.2)
    at.radio(key="sg_noise").set_value("none").run()
    assert at.session_state["sg_face"][0][6] == "none"


def test_upload_choice_without_a_file_keeps_the_page_working(empty_downloads, monkeypatch):
    """The sidebar is drawn after the page from values read first: picking "Upload a file…" (no file yet)
    shows the uploader under the untrained stand-in, with no second run and no error."""
    from pages import _sampler_model

    drawn: list[int] = []
    controls = _sampler_model.sidebar_controls
    monkeypatch.setattr(_sampler_model, "sidebar_controls", lambda: drawn.append(1) or controls())
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    drawn.clear()
    at.selectbox(key="sg_model").set_value(_sampler_model.UPLOAD_LABEL).run()
    assert not at.exception and not at.error
    assert len(drawn) == 1  # one run: the values read first were the ones drawn
    assert at.session_state["sg_face"][0][0] == "random"  # the face key's model: the untrained one
