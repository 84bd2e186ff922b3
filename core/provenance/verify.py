"""Reading a file's provenance back: what made it, whether its manifest is intact, who signed it, and
whether the invisible watermark is there (``python -m core.provenance verify FILE``).

"Intact" is the C2PA validation without the trust question: the claim signature verifies and every hash
(the pixels', the assertions') matches, so one changed pixel makes it false. Trust is reported apart: a
certificate this computer made (its local root) is "self-made", one nobody vouches for is "untrusted";
neither is an error.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.provenance import watermark
from core.provenance.certificates import local_root_pem
from core.provenance.manifest import ASSERTION, mime_for
from core.provenance.settings import ProvenanceError
from core.provenance.signing import sidecar_path

TRUST_CODES = {"signingCredential.untrusted", "signingCredential.ocsp.skipped"}
MAX_SIDECAR_BYTES = 16 << 20
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v"}
VIDEO_LOOK_FRAMES = 240


@dataclass
class Verification:
    file: str
    has_manifest: bool = False
    manifest_in: str = ""               # "embedded", "sidecar NAME" or ""
    intact: bool | None = None          # None: no manifest to check
    trust: str = ""                     # "self-made: ...", "untrusted: ...", "trusted"
    signer: str = ""
    issuer: str = ""
    action: str = ""
    digital_source_type: str = ""
    generation: dict = field(default_factory=dict)   # Custom Cast's own record
    problems: list[str] = field(default_factory=list)
    watermark: bool | None = None       # None: not checked (format) or too small to tell

    def as_dict(self) -> dict:
        return asdict(self)


def _reader(path: Path, stream, context):
    """A c2pa Reader for the embedded manifest, else the sidecar's; None when there is neither."""
    import c2pa

    mime = mime_for(path)
    if mime is not None:
        try:
            reader = c2pa.Reader(mime, stream, None, context)
            return reader, "embedded"
        except c2pa.C2paError.ManifestNotFound:
            pass
        except c2pa.C2paError as e:
            if "JumbfNotFound" not in str(e) and "ManifestNotFound" not in str(e):
                raise ProvenanceError(f"{path.name}: cannot read its content credentials "
                                      f"({' '.join(str(e).split())[:160]})") from None
    side = sidecar_path(path)
    if side.is_file():
        if side.stat().st_size > MAX_SIDECAR_BYTES:
            raise ProvenanceError(f"{side.name} is too large to be a C2PA manifest")
        html = path.suffix.lower() in (".html", ".htm")
        fmt = mime or ("text/html" if html else "application/octet-stream")
        stream.seek(0)
        try:
            return c2pa.Reader(fmt, stream, side.read_bytes(), context), f"sidecar {side.name}"
        except c2pa.C2paError as e:
            raise ProvenanceError(f"{side.name}: not a readable C2PA manifest "
                                  f"({' '.join(str(e).split())[:160]})") from None
    return None, ""


def _watermark_of(path: Path) -> bool | None:
    suffix = path.suffix.lower()
    try:
        if suffix in IMAGE_SUFFIXES:
            from core.image.decode import read_rgb

            return watermark.detect(read_rgb(path))
        if suffix in VIDEO_SUFFIXES:
            from core.video import iter_frames

            # Exports mark the first frame and then about two a second; a reel opens on title cards (not
            # marked): look at one frame a second through the first ten seconds, stop at the first mark.
            seen = None
            for i, frame in enumerate(iter_frames(path, max_frames=VIDEO_LOOK_FRAMES)):
                if i % 24 == 0 or i < 3:
                    found = watermark.detect(frame)
                    if found:
                        return True
                    seen = found if found is not None else seen
            return seen
    except (ValueError, OSError):
        return None
    return None


def verify(path: str | os.PathLike, check_watermark: bool = True) -> Verification:
    import c2pa

    path = Path(path)
    if not path.is_file():
        raise ProvenanceError(f"{path}: no such file")
    anchors = local_root_pem()
    settings = {"verify": {"verify_trust": True}}
    if anchors:
        settings["trust"] = {"user_anchors": anchors}
    context = c2pa.Context(c2pa.Settings.from_dict(settings))
    v = Verification(file=str(path))
    if check_watermark:
        v.watermark = _watermark_of(path)
    with open(path, "rb") as stream:
        reader, where = _reader(path, stream, context)
        if reader is None:
            return v
        with reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
    v.has_manifest, v.manifest_in = True, where
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    failures = (results.get("activeManifest") or {}).get("failure", [])
    codes = {f.get("code") for f in failures}
    v.problems = [f"{f.get('code')}: {f.get('explanation', '')}" for f in failures
                  if f.get("code") not in TRUST_CODES]
    v.intact = not v.problems
    sig = active.get("signature_info", {})
    v.signer, v.issuer = sig.get("common_name", ""), sig.get("issuer", "")
    if state == "Trusted":
        v.trust = "self-made: signed with this computer's Custom Cast certificate" if anchors else "trusted"
    elif "signingCredential.untrusted" in codes:
        v.trust = ("untrusted: a self-made Custom Cast certificate from another computer"
                   if "Custom Cast" in v.issuer else "untrusted: the certificate is on no trust list here")
    for assertion in active.get("assertions", []):
        label = assertion.get("label", "")
        if label.startswith("c2pa.actions"):
            actions = assertion.get("data", {}).get("actions", [])
            typed = [a for a in actions if a.get("digitalSourceType")] or actions
            if typed:  # the action that says what kind of media this is (an edit follows its "opened")
                v.action = typed[-1].get("action", "")
                v.digital_source_type = typed[-1].get("digitalSourceType", "").rsplit("/", 1)[-1]
        elif label == ASSERTION:
            v.generation = assertion.get("data", {})
    return v


def describe(v: Verification) -> str:
    """The human report ``verify`` prints."""
    lines = [f"{v.file}"]
    if not v.has_manifest:
        lines.append("  content credentials: none (no C2PA manifest embedded, no .c2pa sidecar)")
    else:
        lines.append(f"  content credentials: {v.manifest_in}; "
                     + ("INTACT (signature and hashes verify)" if v.intact
                        else "BROKEN: the file or manifest was changed after signing"))
        for p in v.problems:
            lines.append(f"    - {p}")
        lines.append(f"  signed by: {v.signer or '?'} (issuer {v.issuer or '?'}); "
                     f"{v.trust or 'trust not evaluated'}")
        lines.append(f"  action: {v.action}, source type: {v.digital_source_type}")
        g = v.generation
        if g:
            lines.append(f"  made by: {g.get('app', '?')} {g.get('app_version', '')} · "
                         f"{g.get('generator', '?')} · {g.get('created', '')}")
            for m in g.get("models", []):
                digest = f" sha256 {m['sha256'][:16]}…" if m.get("sha256") else ""
                lines.append(f"  model: {m.get('name')} — {m.get('licence')} ({m.get('use')}){digest}")
            if g.get("parameters"):
                params = ", ".join(f"{k}={val}" for k, val in g["parameters"].items())
                lines.append(f"  settings: {params}")
            lines.append(f"  real photo used: {'yes' if g.get('real_photo_used') else 'no'}; visible label: "
                         f"{g.get('visible_label') or 'none'}")
    wm = {True: "present", False: "not found", None: "not checked (format or size)"}[v.watermark]
    lines.append(f"  invisible watermark: {wm}")
    return "\n".join(lines)
