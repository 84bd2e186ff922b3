"""AppTest over the routing entry point and the home page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

PAGE_FILES = ["pages/1_dataset_explorer.py", "pages/2_dcgan_trainer.py", "pages/3_stylegan2_sampler.py",
              "pages/4_fomm_animator.py", "pages/5_hypothesis_dashboard.py"]


def test_entry_point_routes_to_home():
    at = AppTest.from_file("streamlit_app.py", default_timeout=60)
    at.run()
    assert not at.exception
    assert at.title[0].value.endswith("Custom Cast")


def test_home_tells_the_story_and_shows_status():
    # Through the entry point: the home page's page links need st.navigation's page registry.
    at = AppTest.from_file("streamlit_app.py", default_timeout=60)
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Choose who you see on screen" in text
    assert [s.value for s in at.subheader] == ["Status of this installation"]
    status = at.dataframe[0].value
    assert "Demo survey (dashboard)" in set(status["item"])
    libraries = at.dataframe[2].value
    assert {"streamlit", "torch", "mediapipe"} <= set(libraries["library"])
    assert (libraries["version"] != "not installed").all()


def test_every_page_file_exists_and_is_routed():
    source = open("streamlit_app.py").read()
    for page in PAGE_FILES + ["pages/home.py"]:
        assert f'"{page}"' in source
        assert open(page).read().strip()
