"""Provenance: every face that leaves the studio says it is synthetic (issue 24).

Signed C2PA content credentials (:mod:`.signing`, :mod:`.verify`, with a local certificate chain from
:mod:`.certificates`), a visible label (:mod:`.label`), an invisible watermark (:mod:`.watermark`), the
licence of every model (:mod:`.licences`) and the right to animate an uploaded photo (:mod:`.consent`).
Export points call :mod:`.export`; ``python -m core.provenance verify FILE`` reads it all back.
"""

from core.provenance.export import (
    export_png,
    export_video,
    export_zip,
    label_text,
    mark,
    mark_frames,
    seal_file,
)
from core.provenance.licences import LEDGER, ModelLicence, licence_for, non_commercial
from core.provenance.manifest import Origin
from core.provenance.settings import (
    DEFAULT_LABEL,
    GENERATED_FACE_CAPTION,
    ProvenanceError,
    ProvenanceSettings,
    config_dir,
    settings_from_env,
)
from core.provenance.signing import SignResult, sidecar_path, sign_bytes, sign_file, signing_problem
from core.provenance.verify import Verification, describe, verify

__all__ = ["DEFAULT_LABEL", "GENERATED_FACE_CAPTION", "LEDGER", "ModelLicence", "Origin", "ProvenanceError",
           "ProvenanceSettings",
           "SignResult", "Verification", "config_dir", "describe", "export_png", "export_video", "export_zip",
           "label_text", "licence_for", "mark", "mark_frames", "non_commercial", "seal_file",
           "settings_from_env",
           "sidecar_path", "sign_bytes", "sign_file", "signing_problem", "verify"]
