"""Provenance on the pages: the export switches (label on/off, wording, unsigned fallback), the model's
licence in one line, and the check that signing works before a download is offered (issue 24)."""

from __future__ import annotations

import streamlit as st

from core import provenance as pv

LABEL_ON, LABEL_TEXT, ALLOW_UNSIGNED = "pv_label", "pv_label_text", "pv_allow_unsigned"


def export_settings() -> pv.ProvenanceSettings:
    """The session's switches over the defaults (and the environment's)."""
    base = pv.settings_from_env()
    return base.with_(label=bool(st.session_state.get(LABEL_ON, base.label)),
                      label_text=(st.session_state.get(LABEL_TEXT) or base.label_text).strip()
                      or pv.DEFAULT_LABEL,
                      allow_unsigned=bool(st.session_state.get(ALLOW_UNSIGNED, base.allow_unsigned)))


def export_flags() -> list[str]:
    """The switches as ``python -m core.show export`` flags (the reels are built in a background process)."""
    settings = export_settings()
    flags = ["--label", settings.label_text] if settings.label else ["--no-label"]
    return flags + (["--allow-unsigned"] if settings.allow_unsigned else [])


def export_options() -> None:
    """A small popover with the export switches (shared by every page through the session)."""
    with st.popover("🏷 Export label & credentials"):
        st.toggle("Visible label on exports", value=True, key=LABEL_ON,
                  help="Every exported face says it is synthetic; off only for your own tests.")
        st.text_input("Label wording", pv.DEFAULT_LABEL, key=LABEL_TEXT, max_chars=40)
        st.checkbox("If signing fails, export without content credentials", value=False, key=ALLOW_UNSIGNED)
        st.caption("Exports carry signed C2PA content credentials and, from 256 px, an invisible watermark. "
                   "Check a file with `python -m core.provenance verify FILE`.")


@st.cache_data(ttl=60, show_spinner=False)
def _signing_problem() -> str | None:
    return pv.signing_problem()


def signing_blocked() -> bool:
    """True (and one error line shown) when signing cannot work and unsigned exports are not allowed."""
    problem = _signing_problem()
    if problem is None:
        return False
    if export_settings().allow_unsigned:
        st.caption(f"⚠ Exports are not signed: {problem}")
        return False
    st.error(f"Cannot sign exports: {problem}")
    return True


def licence_caption(model) -> None:
    """The model's licence, one line."""
    st.caption(pv.licence_for(model).line())


def photo_rights_confirmed(data: bytes) -> bool:
    """One checkbox per uploaded photo (remembered by its hash): the right to animate the person."""
    from core.provenance import consent

    digest = consent.photo_hash(data)
    if consent.has_consent(digest):
        st.caption("✓ You confirmed you have the right to animate the person in this photo.")
        return True
    if st.checkbox("I have the right to animate the person in this photo (they agreed, or it is me)",
                   key=f"pv_rights_{digest[:16]}"):
        consent.record_consent(digest)
        return True
    st.info("A real person's photo is animated only with their permission: confirm it above to continue. "
            "The clip's content credentials will say a real photo was used.")
    return False
