"""AppTest over the routing entry point and the home page (the opening slide)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

import core
from core.showcase import DCGAN_CHECKPOINT, dcgan_face_label, load_showcase

PAGE_FILES = ["pages/1_dataset_explorer.py", "pages/2_dcgan_trainer.py", "pages/3_stylegan2_sampler.py",
              "pages/4_fomm_animator.py", "pages/5_hypothesis_dashboard.py"]


def _home() -> AppTest:
    # Through the entry point: the home page's page links need st.navigation's page registry.
    at = AppTest.from_file("streamlit_app.py", default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _links(at: AppTest) -> set[str]:
    return {el.proto.page for el in at.get("page_link")}


def test_entry_point_routes_to_home():
    at = _home()
    assert at.title[0].value.endswith("Custom Cast")


def test_home_opens_with_faces_clip_and_survey_headline():
    at = _home()
    text = " ".join(m.value for m in at.markdown)
    assert "Choose who you see on screen" in text
    # The bundled survey: 67 of the 89 who answered the yes/no question said Yes.
    assert "67 of 89 viewers (75 %) said Yes" in text
    # The row of faces: the first six showcase faces of the bundled DCGAN, named as its page shows them.
    images = [i for img in at.get("image") for i in img.proto.imgs]
    shown = load_showcase(DCGAN_CHECKPOINT)
    assert shown.curated
    assert len(images) == 6 and not any(i.caption for i in images)  # no seed numbers on the slide
    names = " ".join(c.value for c in at.expander[0].caption)
    assert all(dcgan_face_label(s) in names for s in shown.seeds[:6])  # ... but in the status, folded
    assert all(i.url.endswith(".png") for i in images)  # no JPEG artefacts on the big screen
    assert len(at.get("video")) == 1
    # Each element links to its page, and every step is linked.
    assert _links(at) >= {"explorer", "dcgan", "stylegan2", "animator", "dashboard"}  # url paths


def test_home_status_is_folded_into_an_expander():
    at = _home()
    assert [e.label for e in at.expander] == ["Status of this installation"]
    assert not at.subheader  # no status heading on the slide itself
    status = at.expander[0].dataframe[0].value
    assert {"Demo survey (dashboard)", "Bundled StyleGAN2 checkpoint", "Showcase seeds (home, sampler)",
            "Home clip (home)"} <= set(status["item"])
    libraries = at.expander[0].dataframe[2].value
    assert {"streamlit", "torch", "mediapipe"} <= set(libraries["library"])
    assert (libraries["version"] != "not installed").all()


def test_home_rerun_renders_no_face_again(monkeypatch):
    """A rerun (every click on the slide) takes the faces from the cache instead of synthesising them."""
    import core.showcase

    calls = []
    render = core.showcase.dcgan_showcase_faces
    monkeypatch.setattr(core.showcase, "dcgan_showcase_faces",
                        lambda *a, **k: calls.append(a) or render(*a, **k))
    at = _home()
    at.run()
    assert not at.exception
    assert len(calls) <= 1, f"faces were rendered {len(calls)} times over two runs"


def test_home_faces_are_prepared_once_per_checkpoint_on_disk(tmp_path, monkeypatch):
    """Issue 22: a fresh server shows the opening faces within 3 s: they come from a file prepared once per
    checkpoint (no generator, no torch), and a damaged file is prepared again."""
    import numpy as np

    import core.showcase as showcase

    calls = []
    render = showcase.dcgan_showcase_faces
    monkeypatch.setattr(showcase, "dcgan_showcase_faces", lambda *a, **k: calls.append(a) or render(*a, **k))
    ids, faces, _ = showcase.prepared_dcgan_faces(DCGAN_CHECKPOINT, 3, 64, cache_dir=tmp_path)
    again_ids, again, _ = showcase.prepared_dcgan_faces(DCGAN_CHECKPOINT, 3, 64, cache_dir=tmp_path)
    assert len(calls) == 1 and ids == again_ids and np.array_equal(faces, again)
    assert faces.shape == (3, 64, 64, 3) and faces.dtype == np.uint8
    (cached,) = list(tmp_path.glob("dcgan_*.npz"))
    cached.write_bytes(b"not an npz")
    redone = showcase.prepared_dcgan_faces(DCGAN_CHECKPOINT, 3, 64, cache_dir=tmp_path)[1]
    assert np.array_equal(redone, faces)
    assert len(calls) == 2


def test_home_without_checkpoint_survey_or_clip_shows_plain_notes(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "CHECKPOINTS_DIR", tmp_path / "no_checkpoints")
    monkeypatch.setattr(core, "ASSETS_DIR", tmp_path / "no_assets")
    at = _home()
    notes = " ".join(i.value for i in at.info)
    assert "could not be opened" in notes
    assert "home clip is missing" in notes
    assert "survey is missing" in notes
    assert not at.get("image") and not at.get("video")
    assert "stylegan2" in _links(at)


def test_every_page_file_exists_and_is_routed():
    source = open("streamlit_app.py").read()
    for page in PAGE_FILES + ["pages/home.py"]:
        assert f'"{page}"' in source
        assert open(page).read().strip()
