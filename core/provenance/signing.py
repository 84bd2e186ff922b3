"""Signing: a C2PA manifest embedded in the file (PNG, JPEG, GIF, WebP, MP4, ZIP...) or, for a format C2PA
cannot carry (the HTML reel), written beside it as ``<name>.c2pa`` with the file's hash bound inside.

The official ``c2pa-python`` library does the work, offline (no timestamp authority, no network). Thumbnails
are off: they cost time and would copy an uploaded photo of a real person into every manifest.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from core.checkpoint import publish_file
from core.provenance.certificates import SigningCredentials, signing_credentials
from core.provenance.manifest import PARENT_INGREDIENT, Origin, manifest_definition, mime_for
from core.provenance.settings import ProvenanceError, ProvenanceSettings

SIDECAR_SUFFIX = ".c2pa"
_lock = threading.Lock()
_signers: dict[tuple[bytes, bytes], object] = {}


@dataclass(frozen=True)
class SignResult:
    signed: bool
    embedded: bool              # False: the manifest is in the sidecar (or there is none)
    sidecar: Path | None
    message: str                # one line for the user

    def __str__(self) -> str:
        return self.message


def sidecar_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _context():
    import c2pa

    return c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))


def _signer(creds: SigningCredentials):
    """One native signer per certificate and key (building it parses the chain: reuse it)."""
    import c2pa

    key = (creds.chain_pem, creds.key_pem)
    with _lock:
        if key not in _signers:
            try:
                info = c2pa.C2paSignerInfo(creds.alg, creds.chain_pem, creds.key_pem, None)
                _signers[key] = c2pa.Signer.from_info(info)
            except c2pa.C2paError as e:
                raise ProvenanceError("the signing certificate cannot sign C2PA manifests "
                                      f"({_short(e)})") from None
        return _signers[key]


def _short(e: Exception) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


def _sign_stream(origin: Origin, mime: str, source, dest, label: str | None, watermarked: bool,
                 sidecar: bool) -> bytes:
    import c2pa

    creds = signing_credentials()
    signer = _signer(creds)
    try:
        with _lock, c2pa.Builder(manifest_definition(origin, label, watermarked), _context()) as builder:
            if sidecar:
                builder.set_no_embed()
            if origin.parent is not None:
                fmt = "image/png" if origin.parent[:4] == b"\x89PNG" else "image/jpeg"
                builder.add_ingredient(PARENT_INGREDIENT, fmt, io.BytesIO(origin.parent))
            return builder.sign(signer, mime, source, dest)
    except c2pa.C2paError as e:
        raise ProvenanceError(f"signing failed ({_short(e)})") from None


def sign_bytes(data: bytes, mime: str, origin: Origin, label: str | None = None,
               watermarked: bool = False) -> bytes:
    """``data`` (a whole PNG/JPEG/GIF/MP4/ZIP file) with the manifest embedded."""
    out = io.BytesIO()
    _sign_stream(origin, mime, io.BytesIO(data), out, label, watermarked, sidecar=False)
    return out.getvalue()


def _unsigned(settings: ProvenanceSettings, reason: str) -> SignResult:
    if not settings.allow_unsigned:
        raise ProvenanceError(f"{reason}; the file was not exported (allow unsigned exports to continue "
                              "without content credentials)")
    return SignResult(False, False, None, f"exported WITHOUT content credentials: {reason}")


def sign_file(path: str | os.PathLike, origin: Origin, settings: ProvenanceSettings | None = None,
              label: str | None = None, watermarked: bool = False) -> SignResult:
    """Embed the manifest in ``path`` (replaced atomically), or write ``path.c2pa`` beside it.

    When signing fails: one-line :class:`ProvenanceError`, or, if ``settings.allow_unsigned``, the file stays
    as it is and the result says it is unsigned.
    """
    settings = settings or ProvenanceSettings()
    path = Path(path)
    if not settings.sign:
        return SignResult(False, False, None, "content credentials switched off")
    mime = mime_for(path)
    try:
        if mime is None:  # the format cannot carry a manifest: a sidecar with the file's hash inside
            sidecar_path(path).unlink(missing_ok=True)  # a stale one would call the new file tampered
            fmt = "text/html" if path.suffix.lower() in (".html", ".htm") else "application/octet-stream"
            with open(path, "rb") as src, tempfile.TemporaryFile() as sink:
                manifest = _sign_stream(origin, fmt, src, sink, label, watermarked, sidecar=True)
            from core.checkpoint import atomic_write_bytes

            side = sidecar_path(path)
            atomic_write_bytes(side, manifest)
            return SignResult(True, False, side, f"signed: content credentials in {side.name} beside it")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".signing")
        os.close(fd)
        try:
            with open(path, "rb") as src, open(tmp, "w+b") as dest:
                _sign_stream(origin, mime, src, dest, label, watermarked, sidecar=False)
            publish_file(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return SignResult(True, True, None, "signed: content credentials embedded")
    except ProvenanceError as e:
        return _unsigned(settings, str(e))


def signing_problem() -> str | None:
    """None when this machine can sign (credentials load and the library accepts them), else the one line
    that says why not. Cheap after the first call (the signer is kept)."""
    try:
        _signer(signing_credentials())
    except ProvenanceError as e:
        return str(e)
    return None
