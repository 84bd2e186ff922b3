"""The animator's section 2: the driving motion (a bundled motion, or an uploaded video whose motion can
be recorded as JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core import animate as an
from pages._animator_source import save_upload


@dataclass(frozen=True)
class Driving:
    """What drives the face: a bundled ``Motion`` (and its name), an uploaded video's path, or None."""

    value: an.Motion | Path | None = None
    motion_name: str = ""

    @property
    def is_motion(self) -> bool:
        return isinstance(self.value, an.Motion)

    def scene_fields(self) -> dict:
        """The driving fields of a show scene; an uploaded video goes in ``scene_files``."""
        if self.is_motion:
            return {"driving_kind": "motion", "driving": self.motion_name}
        return {"driving_kind": "video", "driving": ""}

    def scene_files(self) -> dict:
        return {} if self.is_motion else {"driving": self.value}


def _bundled_motion() -> Driving:
    motions = an.bundled_motions()
    if not motions:
        st.warning("No bundled motions found in assets/motions: upload a driving video instead.")
        return Driving()
    default = list(motions).index("talk") if "talk" in motions else 0
    name = st.selectbox("Motion", list(motions), index=default)
    motion = an.load_motion(motions[name])
    clip = an.preview_path(name)
    if clip is not None:  # the motion on a neutral synthetic face, looping like a GIF
        st.video(str(clip), loop=True, autoplay=True, muted=True, width=192)
    st.caption(f"{len(motion.keypoints) / motion.fps:.1f} s ({len(motion.keypoints)} frames at "
               f"{motion.fps:g} fps), made procedurally and shown on a synthetic face (no real person).")
    return Driving(motion, name)


def _record_motion(path: Path, original_name: str) -> None:
    """The uploaded video's face motion as JSON beside it, offered for download."""
    try:
        with st.spinner("Tracking the face..."):
            motion = an.record_motion(path, path.with_suffix(".json"))
        st.download_button("Download the recorded motion", path.with_suffix(".json").read_bytes(),
                           file_name=f"{Path(original_name).stem}.json", mime="application/json")
        st.success(f"Recorded {len(motion.keypoints)} frames.")
    except an.AnimationError as e:
        st.error(str(e))


def _uploaded_video() -> Driving:
    video = st.file_uploader("Driving video", type=["mp4", "mov", "webm", "gif", "m4v"])
    if video is None:
        return Driving()
    path = save_upload(video, Path(video.name).suffix.lower())
    st.video(video.getvalue(), width=320)  # a preview, not the page width (it filled 1,070 px)
    if st.button("Record motion from this video"):
        _record_motion(path, video.name)
    return Driving(path)


def driving_panel() -> Driving:
    """Section 2: the motion the face follows."""
    st.subheader("2. Driving motion")
    kind = st.radio("Driving input", ["Bundled motion", "Upload video"], horizontal=True)
    return _bundled_motion() if kind == "Bundled motion" else _uploaded_video()
