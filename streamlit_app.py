"""Custom Cast: entry point. It only routes; every page lives in pages/."""

import streamlit as st

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
