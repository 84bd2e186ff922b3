"""The animator's section 1: the face to animate (sent from a generator, a bundled face or a photo).

Also the animator's upload store (``save_upload``): photos, driving videos and voice clips are kept by
``core.uploads.store_upload`` (one atomic, content-named copy, so reruns reuse the same file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

from core import ASSETS_DIR, RUNS_DIR
from core import animate as an
from core.image.convert import display_resize
from core.showcase import load_demo_face_indices
from core.uploads import store_upload
from pages._common import HANDOFF_ANIMATOR_SOURCE, HANDOFF_ANIMATOR_SOURCE_LABEL
from pages._provenance import photo_rights_confirmed

WORK_DIR = RUNS_DIR / "animator"
FACES_NPZ = ASSETS_DIR / "demo_faces" / "faces64.npz"
SENT = "Sent from a generator"
BUNDLED = "Bundled face"
UPLOAD = "Upload photo"


@dataclass(frozen=True)
class SourceFace:
    """The chosen face: ``image`` (uint8 HxWx3, None until one is chosen) and where it came from."""

    kind: str                                 # SENT, BUNDLED or UPLOAD (the radio's choice)
    image: np.ndarray | None = field(default=None, repr=False)
    bundled_index: int | None = None          # its index in faces64.npz (what a show scene records)
    note: str = ""                            # how the clip's content credentials name the source
    crop: bool = False                        # every source here is already a framed face

    @property
    def is_bundled(self) -> bool:
        return self.kind == BUNDLED and self.image is not None

    def scene_fields(self) -> dict:
        """The source's fields of a show scene; a face that exists only here goes in ``scene_files``."""
        if self.is_bundled:
            return {"source_kind": "bundled", "source": str(self.bundled_index)}
        return {"source_kind": "image", "source": "", "align_source": False}

    def scene_files(self) -> dict | None:
        return None if self.is_bundled or self.image is None else {"source": self.image}


def save_upload(upload, suffix: str) -> Path:
    """An upload's bytes on disk in the animator's folder, named by content (``core.uploads``)."""
    return store_upload(upload.getvalue(), f"upload{suffix}", WORK_DIR, suffix)


@st.cache_resource
def bundled_faces() -> tuple[np.ndarray, list[int]] | None:
    """The curated demo faces (natural colours, best detector scores: assets/showcase.json) and their
    indices in faces64.npz (what a show scene records); the first 24 when the list is missing."""
    if not FACES_NPZ.exists():
        return None
    images = np.load(FACES_NPZ, allow_pickle=False)["images"]
    indices = load_demo_face_indices(FACES_NPZ) or list(range(min(24, len(images))))
    return images[indices], indices


@st.cache_data(max_entries=8, show_spinner="Finding and aligning the face...")
def aligned_photo(path: str) -> np.ndarray:
    return an.prepare_source(an.read_source_image(path))


def _bundled_face() -> SourceFace:
    bundled_set = bundled_faces()
    if bundled_set is None:
        st.warning("The bundled faces (assets/demo_faces/faces64.npz) are missing: upload a photo instead.")
        return SourceFace(BUNDLED, note=BUNDLED)
    faces, face_indices = bundled_set
    pick = st.slider("Bundled face", 1, len(faces), 1) - 1
    st.caption("Synthetic 64 px face (no real person), upscaled to 256 px.")
    return SourceFace(BUNDLED, display_resize(faces[pick], 256), face_indices[pick], note=BUNDLED)


def _uploaded_photo() -> SourceFace:
    photo = st.file_uploader("Face photo", type=["png", "jpg", "jpeg", "webp"])
    if photo is None or not photo_rights_confirmed(photo.getvalue()):
        return SourceFace(UPLOAD, note=UPLOAD)
    try:  # prepare_source finds the face and crops around it
        image = aligned_photo(str(save_upload(photo, Path(photo.name).suffix.lower())))
    except an.AnimationError as e:
        st.error(str(e))
        return SourceFace(UPLOAD, note=UPLOAD)
    return SourceFace(UPLOAD, image, note=UPLOAD)


def source_panel() -> SourceFace:
    """Section 1: the face to animate, shown at its own size."""
    st.subheader("1. Source face")
    handoff = st.session_state.get(HANDOFF_ANIMATOR_SOURCE)
    options = ([SENT] if handoff is not None else []) + [BUNDLED, UPLOAD]
    kind = st.radio("Source", options, horizontal=True)
    if kind == SENT:
        st.caption("The face you sent from the sampler or the trainer.")
        with st.expander("Details: how this face was made"):  # seed numbers and settings: the engineer's
            st.caption(st.session_state.get(HANDOFF_ANIMATOR_SOURCE_LABEL) or "No description was sent.")
        source = SourceFace(SENT, np.asarray(handoff, dtype=np.uint8),
                            note=st.session_state.get(HANDOFF_ANIMATOR_SOURCE_LABEL, ""))
    elif kind == BUNDLED:
        source = _bundled_face()
    else:
        source = _uploaded_photo()
    if source.image is not None:
        st.image(source.image, width=256)  # its own size: no second resampling in the browser
    return source
