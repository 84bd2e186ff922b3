"""Home, the opening slide: generated faces, an animated face, the survey's headline, a link to each step,
and (folded away) what this installation has."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from core import ASSETS_DIR, CHECKPOINTS_DIR

# Nothing heavy is imported before the faces are on screen: on a fresh server this script's first run is
# the first request's wait. pandas (about 0.5 s) and the installation's status come after the slide.

# The opening row shows the bundled DCGAN's showcase faces (trained by this project on the teacher's
# stream; bench/bench_quality.py mean detector score 0.881, SWD 25.7): chosen when the bundled StyleGAN2 was
# a blur (0.764). Since session 5 the StyleGAN2 scores as well (0.894, SWD 28.8) and has the sampler page;
# the DCGAN's faces are the crisper of the two at 64 px, and the home clip is made from them.
CHECKPOINT = CHECKPOINTS_DIR / "dcgan_demo.pt"
SURVEY = ASSETS_DIR / "demo_survey.csv"
CLIP = ASSETS_DIR / "home" / "clip.mp4"
CLIP_INFO = ASSETS_DIR / "home" / "clip.json"
FACES = 6          # faces in the opening row
FACE_PX = 256      # rendered size (the columns show them at about 200 px on a 1600 px screen)


def _stamp(path: Path) -> tuple[int, int] | None:
    """Cache key of a file: changes when the file is replaced (a retrained checkpoint, a new survey)."""
    try:
        st_ = path.stat()
    except OSError:
        return None
    return st_.st_mtime_ns, st_.st_size


@st.cache_data(show_spinner="Preparing the faces…", max_entries=4)
def showcase_faces(path: str, stamp: tuple[int, int] | None, count: int, size: int):
    """(labels, PNG bytes of the faces, note) of the bundled DCGAN's showcase, or ([], None, why) when it
    cannot load.

    Prepared once per checkpoint and kept on disk (core.showcase.prepared_dcgan_faces): a fresh server
    shows them within a second of the first request."""
    from core.image.convert import png_bytes
    from core.showcase import dcgan_face_label, prepared_dcgan_faces

    try:
        ids, faces, note = prepared_dcgan_faces(path, count, size)
    except (ValueError, OSError) as e:  # CheckpointError is a ValueError
        return [], None, f"The bundled DCGAN checkpoint could not be opened ({e})."
    # Encoded once here (st.image passes PNG bytes through, where an array is encoded again on every run),
    # quickly: on a fresh server this is the first request's wait (6 faces: 35 ms at level 1, 190 ms at 6).
    return [dcgan_face_label(i) for i in ids], [png_bytes(f, compress_level=1) for f in faces], note


@st.cache_data(show_spinner=False, max_entries=4)
def survey_headline(path: str, stamp: tuple[int, int] | None) -> dict | None:
    """The first yes/no question's Yes count, as the dashboard computes it; None when unavailable."""
    from core import survey as sv

    try:
        clean = sv.clean_survey(sv.read_survey(path))
        questions = clean.questions(sv.ROLE_YES_NO)
        if not questions:
            return None
        test = sv.proportion_test(clean, questions[0])
    except (sv.SurveyError, OSError):
        return None
    return {"question": questions[0], "sentence": sv.headline_sentence(test)}


def clip_caption() -> str:
    try:
        info = json.loads(CLIP_INFO.read_text())
        return f"A face of the DCGAN, driven by the bundled motions: {', '.join(info['motions'])}."
    except (OSError, ValueError, KeyError, TypeError):
        return "A generated face driven by the bundled motions."


def faces_panel() -> list[str]:
    """The opening row: six faces of no real person; returns their names (for the status, not the slide)."""
    labels, faces, note = showcase_faces(str(CHECKPOINT), _stamp(CHECKPOINT), FACES, FACE_PX)
    if faces is None:
        st.info(note + " The other steps still work; see *Status of this installation* below.")
        return []
    for col, face in zip(st.columns(len(faces), gap="small"), faces):
        col.image(face, width="stretch", output_format="PNG")
    st.caption("Six faces of the DCGAN this project trained: none of them is a real person."
               + (f" {note}" if note else ""))
    st.page_link("pages/2_dcgan_trainer.py",
                 label="Faces by the DCGAN this project trained: see it learn, live", icon="🏋️")
    st.page_link("pages/3_stylegan2_sampler.py", label="Generate and morph faces: StyleGAN2 sampler",
                 icon="🧬")
    return labels


def clip_survey_steps_panel() -> None:
    """The animated clip, the survey's headline and the pipeline's steps, side by side."""
    clip_col, survey_col, steps_col = st.columns([4, 5, 4], gap="large")
    with clip_col:
        if CLIP.is_file():
            st.video(str(CLIP), loop=True, autoplay=True, muted=True, width=250)
            st.caption(clip_caption())
        else:
            st.info("The home clip is missing (make it with `python assets/make_home_clip.py`).")
        st.page_link("pages/4_fomm_animator.py", label="Animate a face: FOMM animator", icon="🎬")
    with survey_col:
        headline = survey_headline(str(SURVEY), _stamp(SURVEY))
        if headline is None:
            st.info("The bundled survey is missing or has no yes/no question.")
        else:
            st.markdown(f"## {headline['sentence']}")
            st.markdown(f"*“{headline['question']}”*")
        st.page_link("pages/5_hypothesis_dashboard.py", label="See the survey: hypothesis dashboard",
                     icon="📊")
    with steps_col:
        st.markdown("#### The pipeline")
        for page, label, icon in [
            ("pages/1_dataset_explorer.py", "1 · Collect: find and align faces in photos", "🗂️"),
            ("pages/2_dcgan_trainer.py", "2 · Train: a DCGAN learns faces, live", "🏋️"),
            ("pages/3_stylegan2_sampler.py", "3 · Generate: StyleGAN2 seeds, morphs, styles", "🧬"),
            ("pages/4_fomm_animator.py", "4 · Animate: a face follows a driving video", "🎬"),
            ("pages/5_hypothesis_dashboard.py", "5 · Evidence: the viewers' survey and its test", "📊"),
        ]:
            st.page_link(page, label=label, icon=icon)


def status_panel(face_labels: list[str]) -> None:
    """The machinery, folded away."""
    import pandas as pd

    from core.status import asset_status, hardware, library_versions

    with st.expander("Status of this installation"):
        st.caption("Everything below ships with the app and works offline; downloaded official weights "
                   "appear here when present.")
        items = asset_status()
        missing = [it.name for it in items if not it.present]
        if missing:
            st.warning("Missing: " + ", ".join(missing)
                       + ". The pages that need them say so; the rest works.")
        else:
            st.success("All bundled demo assets and checkpoints are present.")
        st.dataframe(pd.DataFrame([{"item": it.name, "present": it.present, "path": it.path,
                                    "detail": it.detail} for it in items]),
                     hide_index=True, width="stretch",
                     column_config={"present": st.column_config.CheckboxColumn("present")})
        if face_labels:
            st.caption("Faces on the slide (as the DCGAN page names them): " + "; ".join(face_labels))
        left, right = st.columns(2)
        with left:
            st.markdown("**Hardware**")
            st.dataframe(pd.DataFrame(hardware(import_torch=False).items(), columns=["", "value"]),
                         hide_index=True, width="stretch")
        with right:
            st.markdown("**Libraries**")
            st.dataframe(pd.DataFrame(library_versions().items(), columns=["library", "version"]),
                         hide_index=True, width="stretch")


def main() -> None:
    st.title("🎭 Custom Cast")
    st.markdown("### **Choose who you see on screen.** Faces of no real person, generated and animated live.")
    labels = faces_panel()
    clip_survey_steps_panel()
    status_panel(labels)


main()
