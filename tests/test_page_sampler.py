"""AppTest for the StyleGAN2 sampler page: renders with the bundled (or untrained) model, reacts to the
seed, the morph slider and the animator hand-off, and explains unusable files without crashing."""

from __future__ import annotations

import os
import pickle

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


def test_sampler_renders_and_reacts(empty_downloads):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("style layers" in c.value for c in at.caption)
    assert len(at.slider) >= 2 and at.slider(key="sg_morph_t").value == 0.5
    if not core.CHECKPOINTS_DIR.joinpath("stylegan2_demo.pt").is_file():
        assert any("untrained" in i.value for i in at.info)

    at.number_input(key="sg_seed").set_value(7).run()
    assert not at.exception
    assert at.number_input(key="sg_seed").value == 7

    assert at.toggle(key="sg_scrub").value  # in-browser live scrub is on by default
    assert any(c.value.startswith("⏱ 33 frames at") for c in at.caption)
    at.toggle(key="sg_scrub").set_value(False).run()
    assert not any("33 frames" in c.value for c in at.caption)

    at.slider(key="sg_morph_t").set_value(0.25).run()
    assert not at.exception
    assert any("slider → image" in c.value and "ms" in c.value for c in at.caption)  # latency readout

    at.button(key="sg_send_main").click().run()
    img = at.session_state[HANDOFF_ANIMATOR_SOURCE]
    assert img.dtype.name == "uint8" and img.ndim == 3 and img.shape[2] == 3
    assert at.session_state[HANDOFF_ANIMATOR_SOURCE_LABEL].startswith("StyleGAN2 seed 7")
    assert any("Sent to the FOMM animator" in s.value for s in at.success)


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
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.text_input(key="sg_keys").set_value("1, 2")
    at.slider(key="sg_steps").set_value(4)
    at.button(key="sg_render_video").click().run()
    assert not at.exception
    mp4s = list((tmp_path / "exports" / "stylegan2").glob("*.mp4"))
    gifs = list((tmp_path / "exports" / "stylegan2").glob("*.gif"))
    assert len(mp4s) == 1 and mp4s[0].stat().st_size > 0 and len(gifs) == 1

    at.text_input(key="sg_rows").set_value("1, 2")
    at.text_input(key="sg_cols").set_value("3")
    at.button(key="sg_mix").click().run()
    assert not at.exception
    assert at.session_state["sg_mix_grid"].shape[2] == 3

    at.text_input(key="sg_batch_seeds").set_value("0-2")
    at.button(key="sg_batch_go").click().run()
    assert not at.exception
    data, n, _ = at.session_state["sg_batch_zip"]
    import io
    import zipfile

    assert n == 3 and zipfile.ZipFile(io.BytesIO(data)).namelist() == [
        "seed00000.png", "seed00001.png", "seed00002.png"]

    at.text_input(key="sg_batch_seeds").set_value("9-1").run()
    assert any("runs backwards" in e.value for e in at.error)
