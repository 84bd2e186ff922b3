"""Home: the story of the demo, a link to each step, and what this installation has."""

import pandas as pd
import streamlit as st

from core.status import asset_status, hardware, library_versions

st.title("🎭 Custom Cast")
st.markdown(
    "**Choose who you see on screen.** Custom Cast generates faces that belong to no real person and "
    "animates them, so a film, a lesson or an ad can be watched with the cast a viewer picks. "
    "This studio walks through the whole pipeline, from scraped profile photos to the survey that "
    "tested whether viewers want it.")

STEPS = [
    ("pages/1_dataset_explorer.py", "1 · Collect", "🗂️",
     "Detect, align and clean profile photos; inspect pixel statistics, the mean face and occupations; "
     "export a training set."),
    ("pages/2_dcgan_trainer.py", "2 · Train", "🏋️",
     "Train a DCGAN on the crops and watch the fixed-noise grid improve, live, with stop and resume."),
    ("pages/3_stylegan2_sampler.py", "3 · Generate", "🧬",
     "Seeds, truncation, a morph slider that blends two faces while you drag, style mixing and "
     "semantic directions."),
    ("pages/4_fomm_animator.py", "4 · Animate", "🎬",
     "Make a generated face follow a driving video (First Order Motion Model), audio kept."),
    ("pages/5_hypothesis_dashboard.py", "5 · Evidence", "📊",
     "The viewers' survey: who answered what, sentiment of the comments, and the hypothesis test."),
]

cols = st.columns(len(STEPS))
for col, (page, title, icon, text) in zip(cols, STEPS):
    with col:
        with st.container(border=True):
            st.page_link(page, label=title, icon=icon)
            st.caption(text)

st.subheader("Status of this installation")
st.caption("Everything below ships with the app and works offline; downloaded official weights appear "
           "here when present.")
items = asset_status()
missing = [it.name for it in items if not it.present]
if missing:
    st.warning("Missing: " + ", ".join(missing) + ". The pages that need them say so; the rest works.")
else:
    st.success("All bundled demo assets and checkpoints are present.")
st.dataframe(pd.DataFrame([{"item": it.name, "present": it.present, "path": it.path, "detail": it.detail}
                          for it in items]),
             hide_index=True, width="stretch",
             column_config={"present": st.column_config.CheckboxColumn("present")})

left, right = st.columns(2)
with left:
    st.markdown("**Hardware**")
    st.dataframe(pd.DataFrame(hardware().items(), columns=["", "value"]), hide_index=True, width="stretch")
with right:
    st.markdown("**Libraries**")
    st.dataframe(pd.DataFrame(library_versions().items(), columns=["library", "version"]),
                 hide_index=True, width="stretch")
