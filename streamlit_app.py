"""Custom Cast: entry point. It only routes; every page lives in pages/.

``streamlit run streamlit_app.py`` imports this file once as an ASGI app (``st.App``, below) and then runs
it as the router script of every browser session. The app exists for one line of start-up: Streamlit
treats a ``pages/`` folder beside the entry point as a v1 multipage app until the first ``st.navigation``
call, so a fresh server's first request by a direct link (``/stylegan2``, ``/present?show=demo``) was
resolved against the folder's file names, missed, and popped up "Page not found" over the page.
"""

from contextlib import asynccontextmanager

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx


@asynccontextmanager
async def _routed_by_navigation(_app):
    # pages/ holds this router's st.Page scripts and their panels, not a v1 pages folder: say so before
    # the first session's first run (st.navigation says it too, but only once a script has run).
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    yield


if get_script_run_ctx(suppress_warning=True) is None:  # imported by `streamlit run`'s server: the app
    app = st.App(__file__, lifespan=_routed_by_navigation)
else:  # run for a browser session: the router
    from core.warmup import warm_imports

    st.set_page_config(page_title="Custom Cast", page_icon="🎭", layout="wide")

    PAGES = [
        st.Page("pages/home.py", title="Home", icon="🏠", default=True),
        st.Page("pages/1_dataset_explorer.py", title="Dataset explorer", icon="🗂️", url_path="explorer"),
        st.Page("pages/2_dcgan_trainer.py", title="DCGAN trainer", icon="🏋️", url_path="dcgan"),
        st.Page("pages/3_stylegan2_sampler.py", title="StyleGAN2 sampler", icon="🧬", url_path="stylegan2"),
        st.Page("pages/4_fomm_animator.py", title="FOMM animator", icon="🎬", url_path="animator"),
        st.Page("pages/5_hypothesis_dashboard.py", title="Hypothesis dashboard", icon="📊",
                url_path="dashboard"),
        st.Page("pages/6_present.py", title="Present", icon="🎞️", url_path="present"),
    ]

    st.navigation(PAGES).run()
    warm_imports()  # after the first page is on screen: later pages find torch already imported
