"""The live poll's setup: the form that registers a claim and opens a poll (the study's questions by
default, editable, optionally with a face or an uploaded image or clip for voters), and the claim's
fields, also used to change a registered claim later."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import survey as sv
from core import vote
from core.provenance import GENERATED_FACE_CAPTION
from core.vote import claims
from pages._common import HANDOFF_ANIMATOR_SOURCE
from pages._live_poll_common import POLL_KEY, SNAPSHOT_KEY, say

QUESTIONS_VERSION_KEY = "live_poll_questions_version"
MEDIA_NONE = "Nothing"
MEDIA_FACE = "The face sent to the animator"
MEDIA_UPLOAD = "Upload an image or clip"
PLANNED_DEFAULT = 60


def _questions_table() -> pd.DataFrame:
    return pd.DataFrame([{"question": q.text, "kind": q.kind, "choices": " | ".join(q.choices)}
                         for q in vote.default_questions()])


def _questions_editor() -> list[dict]:
    """The poll's questions as specs (text, kind, choices), edited in a table."""
    version = st.session_state.get(QUESTIONS_VERSION_KEY, 0)
    st.caption("Questions (the original study's by default). Kinds: choice, yes/no, text. Separate choices "
               "with |. Add or delete rows to change the poll.")
    edited = st.data_editor(
        _questions_table(),
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "kind": st.column_config.SelectboxColumn("kind", options=list(vote.KINDS), required=True),
            "question": st.column_config.TextColumn("question", max_chars=300, required=True),
        },
        key=f"live_poll_questions_{version}",
    )
    if st.button("Back to the study's questions", key="live_poll_reset_questions"):
        st.session_state[QUESTIONS_VERSION_KEY] = version + 1
        st.rerun()
    rows = edited.fillna("").to_dict("records")
    return [{"text": str(r["question"]), "kind": str(r["kind"] or vote.KIND_CHOICE),
             "choices": str(r["choices"])} for r in rows if str(r["question"]).strip()]


def _media_picker():
    """(choice, upload): what voters see beside the questions."""
    has_face = st.session_state.get(HANDOFF_ANIMATOR_SOURCE) is not None
    options = [MEDIA_NONE] + ([MEDIA_FACE] if has_face else [])
    media_choice = st.radio("Show voters", options + [MEDIA_UPLOAD], horizontal=True, key="live_poll_media")
    upload = None
    if media_choice == MEDIA_UPLOAD:
        upload = st.file_uploader("Image (PNG/JPEG/GIF) or clip (MP4/WebM), up to 8 MB",
                                  type=["png", "jpg", "jpeg", "gif", "webp", "mp4", "webm"],
                                  key="live_poll_media_upload")
    return media_choice, upload


def _media(media_choice: str, upload):
    if media_choice == MEDIA_FACE:
        # Phones get the room's words: how the face was made (seed, ψ) stays in the studio's Details.
        return vote.image_media(st.session_state[HANDOFF_ANIMATOR_SOURCE], GENERATED_FACE_CAPTION)
    if media_choice == MEDIA_UPLOAD and upload is not None:
        return vote.prepare_media(upload.getvalue(), upload.name.rsplit(".", 1)[0])
    return None


def open_poll_form(db: vote.VoteDB) -> None:
    title = st.text_input("Title shown to voters", vote.DEFAULT_TITLE, key="live_poll_title")
    specs = _questions_editor()
    media_choice, upload = _media_picker()
    claim = claim_fields(specs, "live_poll_claim")
    if not st.button("Register the claim and open the poll", type="primary", key="live_poll_open"):
        return
    if claim is None:
        st.error("The poll was not opened: it needs a yes/no or multiple-choice question to test.")
        return
    try:
        poll, _registered = claims.open_poll_with_claim(db, specs, claim, title=title,
                                                        media=_media(media_choice, upload))
    except vote.PollError as e:
        st.error(f"The poll was not opened: {e}")
        return
    st.session_state[POLL_KEY] = poll.id
    st.session_state.pop(SNAPSHOT_KEY, None)
    say("success", f"Poll #{poll.id} is open: voters can answer now. Its claim is registered; the result "
                   "stays hidden until you reveal it.")
    st.rerun()


def _choices_of(spec: dict) -> list[str]:
    choices = [c.strip() for c in str(spec.get("choices", "")).replace("\n", "|").split("|") if c.strip()]
    return choices or (["Yes", "No"] if spec.get("kind") == vote.KIND_YES_NO else [])


def claim_fields(specs: list[dict], prefix: str, current: claims.Claim | None = None) -> claims.Claim | None:
    """The claim to register (question, answers counted as yes, claimed share, α, planned answers)."""
    testable = [s for s in specs
                if s["kind"] in (vote.KIND_YES_NO, vote.KIND_CHOICE) and len(_choices_of(s)) >= 2]
    if not testable:
        return None
    texts = [s["text"].strip() for s in testable]
    if current is not None and current.question in texts:
        default_q = texts.index(current.question)
    else:
        default_q = next((i for i, s in enumerate(testable) if s["kind"] == vote.KIND_YES_NO), 0)
    st.markdown("**The claim to test** (registered before the poll opens; a later change is recorded)")
    c1, c2 = st.columns([3, 2])
    index = c1.selectbox("Question", range(len(texts)), index=default_q, format_func=lambda i: texts[i],
                         key=f"{prefix}_question")
    choices = _choices_of(testable[index])
    if current is not None and current.question == texts[index]:
        default_pos = [c for c in current.positive if c in choices]
    else:
        default_pos = [c for c in choices if c.lower() in ("yes", "y", "true")][:1] or choices[:1]
    positive = c2.multiselect("Answers counted as yes", choices, default=default_pos,
                              key=f"{prefix}_positive_{index}")
    c3, c4, c5 = st.columns(3)
    share = c3.number_input("Claimed share", 0.01, 0.99, current.claim if current else sv.DEFAULT_CLAIM, 0.01,
                            key=f"{prefix}_share")
    alpha = c4.number_input("Significance level α", 0.001, 0.5,
                            current.alpha if current else sv.DEFAULT_ALPHA, 0.01, format="%.3f",
                            key=f"{prefix}_alpha")
    planned = c5.number_input("Planned answers", claims.PLANNED_RANGE[0], claims.PLANNED_RANGE[1],
                              current.planned_n if current else PLANNED_DEFAULT, 10, key=f"{prefix}_planned",
                              help="The verdict appears at this many answers, or when the poll closes.")
    return claims.Claim(texts[index], tuple(positive), float(share), float(alpha), int(planned))
