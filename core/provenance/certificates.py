"""The signing certificate chain: the user's own (``CUSTOM_CAST_SIGN_CERT`` / ``CUSTOM_CAST_SIGN_KEY``), or a
local one made on first use under the user's config folder (never in the repository).

The local chain is a root CA and an ES256 (P-256) signing certificate it issued, with the extensions C2PA
asks of a claim signer: digitalSignature key usage, an emailProtection / documentSigning extended key use,
not a CA, subject and authority key identifiers. C2PA rejects a self-signed end certificate, hence the root.
A verifier that does not know the root reports the signature as valid but untrusted, which is the truth:
the studio vouches for itself, no public authority does.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from core.checkpoint import atomic_write_bytes
from core.provenance.settings import ProvenanceError, config_dir

ROOT_FILE = "root-ca.pem"
CHAIN_FILE = "signing-chain.pem"
KEY_FILE = "signing-key.pem"
MAX_PEM_BYTES = 1 << 20  # a certificate chain or key is a few kB; refuse to read anything huge
DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36"


@dataclass(frozen=True)
class SigningCredentials:
    chain_pem: bytes     # end-entity certificate first, then the issuers (not the root)
    key_pem: bytes
    alg: str             # "es256", "es384", "ps256", "ed25519"...
    source: str          # "local" (made by Custom Cast on this machine) or "user"
    subject: str         # the signing certificate's common name


def local_dir() -> Path:
    return config_dir() / "signing"


def _read_pem(path: Path, what: str) -> bytes:
    try:
        size = path.stat().st_size
    except OSError:
        raise ProvenanceError(f"signing {what} {path} does not exist") from None
    if size > MAX_PEM_BYTES:
        raise ProvenanceError(f"signing {what} {path} is {size} bytes, not a PEM file")
    return path.read_bytes()


def _alg_for(cert) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {256: "es256", 384: "es384", 521: "es512"}.get(key.curve.key_size, "es256")
    if isinstance(key, rsa.RSAPublicKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    raise ProvenanceError(f"signing certificate key type {type(key).__name__} is not one C2PA signs with")


def _parse(chain_pem: bytes, key_pem: bytes, where: str, source: str) -> SigningCredentials:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        raise ProvenanceError(f"signing certificate {where} is not a PEM certificate chain") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ProvenanceError(f"signing key for {where} is not an unencrypted PEM private key") from None
    leaf = certs[0]
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if leaf.public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
        raise ProvenanceError(f"signing key does not belong to the certificate {where}")
    now = datetime.datetime.now(datetime.UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise ProvenanceError(f"signing certificate {where} is not valid now "
                              f"({leaf.not_valid_before_utc:%Y-%m-%d} to "
                              f"{leaf.not_valid_after_utc:%Y-%m-%d})")
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return SigningCredentials(chain_pem, key_pem, _alg_for(leaf), source,
                              str(names[0].value) if names else leaf.subject.rfc4514_string())


def make_local_chain(folder: Path) -> None:
    """A root CA (10 years) and an ES256 claim-signing certificate (2 years) it issued, written to ``folder``
    (key readable by the user only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

    now = datetime.datetime.now(datetime.UTC)
    host = os.uname().nodename if hasattr(os, "uname") else "this computer"
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Custom Cast (self-made)"),
                           x509.NameAttribute(NameOID.COMMON_NAME, f"Custom Cast local root on {host}"[:64])])
    no_usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False)
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True,
                                         **no_usage), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Custom Cast (self-made)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Custom Cast studio signer")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(root_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                         **no_usage), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                                  ObjectIdentifier(DOCUMENT_SIGNING)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / ROOT_FILE, root.public_bytes(pem))
    atomic_write_bytes(folder / CHAIN_FILE, cert.public_bytes(pem) + root.public_bytes(pem))
    key_bytes = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    atomic_write_bytes(folder / KEY_FILE, key_bytes)
    os.chmod(folder / KEY_FILE, 0o600)


def signing_credentials() -> SigningCredentials:
    """The user's certificate and key when both variables are set, else the local chain (made on first use).

    Raises :class:`ProvenanceError` with one line when a named file is missing or broken.
    """
    cert_env, key_env = os.environ.get("CUSTOM_CAST_SIGN_CERT"), os.environ.get("CUSTOM_CAST_SIGN_KEY")
    if cert_env or key_env:
        if not (cert_env and key_env):
            raise ProvenanceError("set both CUSTOM_CAST_SIGN_CERT and CUSTOM_CAST_SIGN_KEY, or neither")
        cert_path, key_path = Path(cert_env), Path(key_env)
        return _parse(_read_pem(cert_path, "certificate"), _read_pem(key_path, "key"), str(cert_path), "user")
    folder = local_dir()
    if not (folder / CHAIN_FILE).exists() or not (folder / KEY_FILE).exists():
        try:
            make_local_chain(folder)
        except OSError as e:
            raise ProvenanceError(f"cannot create the local signing certificate in {folder}: "
                                  f"{e.strerror or e}") from None
    return _parse(_read_pem(folder / CHAIN_FILE, "certificate"), _read_pem(folder / KEY_FILE, "key"),
                  str(folder / CHAIN_FILE), "local")


def local_root_pem() -> str | None:
    """This machine's local root certificate (the trust anchor ``verify`` recognises), if one was made."""
    path = local_dir() / ROOT_FILE
    if not path.is_file() or path.stat().st_size > MAX_PEM_BYTES:
        return None
    return path.read_text(encoding="ascii", errors="replace")
