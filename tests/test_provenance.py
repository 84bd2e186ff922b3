"""Provenance (issue 24): signed C2PA content credentials round-trip for every export format, tampering is
caught, a broken certificate is one line (and unsigned exports happen only when allowed), the label and the
watermark are where they should be, and every loadable model has a licence.

The signing chain lives in the scratch config folder tests/conftest.py sets for the whole suite; tests that
need a second "computer" or a user's own certificate point ``CUSTOM_CAST_CONFIG_DIR`` / ``CUSTOM_CAST_SIGN_*``
elsewhere with monkeypatch.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import provenance as pv
from core.provenance import certificates, consent, watermark
from core.provenance.label import draw_label
from core.provenance.licences import LEDGER, OFFICIAL_FILES, licence_for, non_commercial
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = pv.Origin("StyleGAN2 sampler", ("checkpoints/stylegan2_demo.pt",), {"seed": 42, "psi": 0.7},
                   title="seed00042.png")


def face(size: int = 256, seed: int = 0) -> np.ndarray:
    """A smooth, face-like test picture (gradients + blobs: like a photo for the DCT, unlike noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([0.6 + 0.3 * x, 0.45 + 0.2 * y, 0.35 + 0.25 * (1 - x)], axis=-1)
    for _ in range(6):
        cy, cx, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.2)
        blob = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))[..., None]
        base = base * (1 - 0.5 * blob) + 0.5 * blob * rng.uniform(0, 1, 3)
    return (np.clip(base, 0, 1) * 255).astype(np.uint8)


def real_face(size: int = 256) -> np.ndarray:
    import cv2

    from core.image.decode import read_rgb

    photo = sorted(shared_path("data", "faces", "celeba_hq").glob("*.jpg"))[0]
    return cv2.resize(read_rgb(photo), (size, size), interpolation=cv2.INTER_AREA)


def change_one_png_pixel(data: bytes) -> bytes:
    """The same PNG (every chunk, the C2PA one included) with the last pixel's blue value changed (the last
    byte of the filtered rows: no later byte is predicted from it, so exactly one value changes)."""
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.append((kind, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    raw = bytearray(zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT")))
    raw[-1] ^= 0x10
    out, wrote_idat = bytearray(data[:8]), False
    for kind, body in chunks:
        if kind == b"IDAT":
            if wrote_idat:
                continue
            kind, body, wrote_idat = b"IDAT", zlib.compress(bytes(raw)), True
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return bytes(out)


# ------------------------------------------------------------------------------------ round trips

def test_png_round_trip_says_what_made_it(tmp_path):
    data = pv.export_png(face(64), ORIGIN)
    path = tmp_path / "seed00042.png"
    path.write_bytes(data)
    assert Image.open(path).size == (256, 256)  # labelled small faces are enlarged so the label reads
    v = pv.verify(path)
    assert v.has_manifest and v.manifest_in == "embedded" and v.intact and not v.problems
    assert v.action == "c2pa.created" and v.digital_source_type == "trainedAlgorithmicMedia"
    assert v.trust.startswith("self-made")
    g = v.generation
    assert g["generator"] == "StyleGAN2 sampler" and g["parameters"] == {"seed": 42, "psi": 0.7}
    assert g["synthetic"] is True and g["real_photo_used"] is False and g["visible_label"] == "AI-generated"
    model = g["models"][0]
    assert model["licence"] == "MIT (own work)" and model["file"] == "stylegan2_demo.pt"
    assert len(model["sha256"]) == 64 and g["app"] == "Custom Cast" and g["created"]
    assert v.watermark is True
    text = pv.describe(v)
    assert "INTACT" in text and "seed=42" in text and "MIT" in text


def test_changed_pixel_breaks_the_png_manifest(tmp_path):
    signed = pv.export_png(face(256), ORIGIN)
    tampered = change_one_png_pixel(signed)
    a, b = np.asarray(Image.open(io.BytesIO(signed))), np.asarray(Image.open(io.BytesIO(tampered)))
    assert (a != b).sum() == 1  # exactly one value of one pixel differs
    (tmp_path / "t.png").write_bytes(tampered)
    v = pv.verify(tmp_path / "t.png", check_watermark=False)
    assert v.has_manifest and v.intact is False
    assert any("dataHash.mismatch" in p for p in v.problems)
    assert "BROKEN" in pv.describe(v)


def test_jpeg_round_trip_and_tamper(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(pv.mark(face(256))).save(buf, "JPEG", quality=90)
    path = tmp_path / "face.jpg"
    path.write_bytes(pv.sign_bytes(buf.getvalue(), "image/jpeg", ORIGIN, "AI-generated", True))
    v = pv.verify(path)
    assert v.intact and v.action == "c2pa.created" and v.watermark is True
    data = bytearray(path.read_bytes())
    data[-200] ^= 0x01  # inside the entropy-coded scan: the pixels change
    path.write_bytes(bytes(data))
    assert pv.verify(path, check_watermark=False).intact is False


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_video_round_trip_and_tamper(tmp_path, suffix):
    frames = [np.roll(face(256), 8 * i, axis=1) for i in range(8)]
    path = tmp_path / f"morph{suffix}"
    result = pv.export_video(frames, path, pv.Origin("StyleGAN2 sampler", ("stylegan2-bundled",),
                                                     {"keyframe_seeds": [1, 2]}), fps=8)
    assert result.signed and result.embedded  # C2PA embeds in GIF and MP4: no sidecar
    v = pv.verify(path)
    assert v.intact and v.generation["parameters"]["keyframe_seeds"] == "1, 2"
    assert v.watermark is True  # the first frame carries it (also through the GIF palette)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert pv.verify(path, check_watermark=False).intact is False


def test_zip_of_pngs_is_signed_and_so_is_each_png(tmp_path):
    items = [(f"seed{s}.png", face(64, s), pv.Origin("StyleGAN2 sampler", ("stylegan2-bundled",),
                                                     {"seed": s})) for s in range(3)]
    data = pv.export_zip(items, pv.Origin("StyleGAN2 sampler", ("stylegan2-bundled",), {"seeds": "0-2"}))
    (tmp_path / "batch.zip").write_bytes(data)
    assert pv.verify(tmp_path / "batch.zip").intact
    with zipfile.ZipFile(tmp_path / "batch.zip") as zf:
        zf.extract("seed1.png", tmp_path)
    v = pv.verify(tmp_path / "seed1.png")
    assert v.intact and v.generation["parameters"] == {"seed": 1}


def test_html_reel_gets_a_sidecar_and_the_badge(tmp_path):
    from core import show as S
    from core.show.export_html import export_html_signed

    show_dir = tmp_path / "show"
    S.create_show(show_dir, "Provenance")
    S.add_scene(show_dir, {"kind": "title", "title": "Hello", "text": "a title card"})
    out, signed = export_html_signed(show_dir, tmp_path / "reel.html")
    assert signed.signed and not signed.embedded and signed.sidecar == tmp_path / "reel.html.c2pa"
    assert "sidecar" in signed.message or ".c2pa" in signed.message
    assert 'id="cc-badge"' in out.read_text() and "AI-generated" in out.read_text()
    v = pv.verify(out)
    assert v.manifest_in == "sidecar reel.html.c2pa" and v.intact
    assert v.generation["generator"] == "show reel (HTML)"
    out.write_text(out.read_text().replace("Hello", "Hullo"))
    assert pv.verify(out).intact is False
    out2, _ = export_html_signed(show_dir, tmp_path / "plain.html",
                                 settings=pv.ProvenanceSettings(label=False))
    assert 'id="cc-badge"' not in out2.read_text()


def test_animated_real_photo_says_so(tmp_path):
    from core import animate as an

    photo = real_face(256)
    opts = an.AnimateOptions(max_frames=6, real_photo=True, source_note="Upload photo")
    res = an.animate(photo, an.load_motion(an.bundled_motions()["blink"]), tmp_path / "clip.mp4", opts)
    v = pv.verify(res.path)
    assert v.intact and v.action == "c2pa.edited"
    assert v.digital_source_type == "compositeWithTrainedAlgorithmicMedia"
    assert v.generation["real_photo_used"] is True and v.generation["parameters"]["motion"] == "blink"
    assert "real photo used: yes" in pv.describe(v)


# ----------------------------------------------------------------------------- trust and failures

def test_another_computers_certificate_is_untrusted_not_an_error(tmp_path, monkeypatch):
    path = tmp_path / "a.png"
    path.write_bytes(pv.export_png(face(256), ORIGIN))
    monkeypatch.setenv("CUSTOM_CAST_CONFIG_DIR", str(tmp_path / "elsewhere"))  # no local root here
    v = pv.verify(path, check_watermark=False)
    assert v.intact and v.trust.startswith("untrusted") and "another computer" in v.trust
    out = subprocess.run([sys.executable, "-m", "core.provenance", "verify", str(path), "--json",
                          "--no-watermark"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT),
                              "CUSTOM_CAST_CONFIG_DIR": str(tmp_path / "x")})
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["intact"] is True and doc["trust"].startswith("untrusted") and doc["action"] == "c2pa.created"


def test_users_own_certificate(tmp_path, monkeypatch):
    certificates.make_local_chain(tmp_path / "mine")
    monkeypatch.setenv("CUSTOM_CAST_SIGN_CERT", str(tmp_path / "mine" / certificates.CHAIN_FILE))
    monkeypatch.setenv("CUSTOM_CAST_SIGN_KEY", str(tmp_path / "mine" / certificates.KEY_FILE))
    assert certificates.signing_credentials().source == "user"
    (tmp_path / "a.png").write_bytes(pv.export_png(face(256), ORIGIN))
    v = pv.verify(tmp_path / "a.png", check_watermark=False)
    assert v.intact and v.signer == "Custom Cast studio signer"


@pytest.mark.parametrize("problem", ["missing", "not_pem", "wrong_key", "half"])
def test_broken_certificate_is_one_line_and_unsigned_only_when_allowed(tmp_path, monkeypatch, problem):
    certificates.make_local_chain(tmp_path / "a")
    certificates.make_local_chain(tmp_path / "b")
    cert, key = tmp_path / "a" / certificates.CHAIN_FILE, tmp_path / "a" / certificates.KEY_FILE
    if problem == "missing":
        cert = tmp_path / "nope.pem"
    elif problem == "not_pem":
        cert.write_bytes(b"hello, not a certificate")
    elif problem == "wrong_key":
        key = tmp_path / "b" / certificates.KEY_FILE
    monkeypatch.setenv("CUSTOM_CAST_SIGN_CERT", str(cert))
    if problem != "half":
        monkeypatch.setenv("CUSTOM_CAST_SIGN_KEY", str(key))
    with pytest.raises(pv.ProvenanceError) as err:
        pv.export_png(face(256), ORIGIN, pv.ProvenanceSettings())
    assert "\n" not in str(err.value) and len(str(err.value)) < 300
    assert pv.signing_problem() is not None
    data = pv.export_png(face(256), ORIGIN, pv.ProvenanceSettings(allow_unsigned=True))
    (tmp_path / "u.png").write_bytes(data)
    assert not pv.verify(tmp_path / "u.png", check_watermark=False).has_manifest  # unsigned, as chosen
    # A video export that may not go out unsigned leaves no file behind.
    with pytest.raises(pv.ProvenanceError):
        pv.export_video([face(256)] * 2, tmp_path / "v.mp4", ORIGIN, fps=4)
    assert not (tmp_path / "v.mp4").exists()
    kept = pv.export_video([face(256)] * 2, tmp_path / "v.mp4", ORIGIN, fps=4,
                           settings=pv.ProvenanceSettings(allow_unsigned=True))
    assert not kept.signed and "WITHOUT content credentials" in kept.message
    assert (tmp_path / "v.mp4").is_file()
    # The command line: exit 2, one line.
    out = subprocess.run([sys.executable, "-m", "core.provenance", "sign", str(tmp_path / "u.png"),
                          "--generator", "test"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_verify_cli_reports_an_unsigned_file_and_a_broken_one(tmp_path):
    Image.fromarray(face(128)).save(tmp_path / "plain.png")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "core.provenance", "verify", str(tmp_path / "plain.png")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0 and "content credentials: none" in out.stdout
    (tmp_path / "t.png").write_bytes(change_one_png_pixel(pv.export_png(face(256), ORIGIN)))
    out = subprocess.run([sys.executable, "-m", "core.provenance", "verify", str(tmp_path / "t.png"),
                          "--no-watermark"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 1 and "BROKEN" in out.stdout
    out = subprocess.run([sys.executable, "-m", "core.provenance", "verify", str(tmp_path / "none.png")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


# -------------------------------------------------------------------------------- label, watermark

def test_label_sits_low_in_the_middle_and_follows_the_panels():
    img = np.full((256, 256, 3), 200, np.uint8)
    out = draw_label(img, "AI-generated")
    changed = np.argwhere((out != img).any(axis=-1))
    top, left = changed.min(axis=0)
    bottom, right = changed.max(axis=0)
    assert 0.75 * 256 < top and bottom <= 0.9 * 256  # under the mouth, above the edge: inside a face crop
    assert abs((left + right) / 2 - 128) < 4 and right - left < 0.7 * 256
    wide = draw_label(np.full((256, 768, 3), 200, np.uint8), "AI-generated")  # source | driving | result
    columns = np.flatnonzero((wide != 200).any(axis=(0, 2)))
    assert columns.min() < 256 and 256 < np.median(columns) < 512 and columns.max() > 512
    result_only = draw_label(np.full((256, 768, 3), 200, np.uint8), "AI-generated", last_panel_only=True)
    assert np.flatnonzero((result_only != 200).any(axis=(0, 2))).min() > 512  # driving / source: not labelled
    rows = [np.flatnonzero((wide[:, i * 256:(i + 1) * 256] != 200).any(axis=(1, 2))) for i in range(3)]
    assert all((r == rows[0]).all() for r in rows) and rows[0].min() > 0.75 * 256  # every panel's pill low
    video = np.full((256, 256, 3), 90, np.uint8)
    first, again = draw_label(video, "AI-generated", top=True), draw_label(video, "AI-generated", top=True)
    assert (first == again).all() and (video == 90).all()  # a video's cached pill: same pixels, input intact
    assert (pv.mark(img, pv.ProvenanceSettings(label=False, watermark=False)) == img).all()


def test_watermark_survives_jpeg_and_half_size_and_is_absent_elsewhere():
    import cv2

    img = real_face(256)
    marked = watermark.embed(img)
    assert cv2.PSNR(img, marked) > 33
    assert watermark.detect(marked) is True and watermark.detect(img) is False
    half = cv2.resize(marked, (128, 128), interpolation=cv2.INTER_AREA)
    ok, jpg = cv2.imencode(".jpg", half[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert watermark.detect(cv2.imdecode(jpg, cv2.IMREAD_COLOR)[..., ::-1]) is True
    small = face(64)
    assert (watermark.embed(small) == small).all() and watermark.detect(small) is None  # 64 px: none


# ------------------------------------------------------------------------------ licences, consent

def test_every_official_download_and_bundled_model_has_a_licence():
    from core import download as dl

    for key, w in dl.OFFICIAL_WEIGHTS.items():
        assert key in LEDGER and OFFICIAL_FILES[w.filename] == key
        assert licence_for(w.filename).commercial is False  # NVIDIA's and FOMM's: non-commercial
        assert key in dl.licence_notice(key) or licence_for(key).name in dl.licence_notice(key)
    assert licence_for("checkpoints/stylegan2_demo.pt").commercial is True
    assert licence_for(ROOT / "checkpoints" / "dcgan_demo.pt").key == "dcgan-bundled"
    assert licence_for("someone-elses.pkl").key == "unknown" and licence_for(None).key == "unknown"
    assert "NVIDIA Source Code License-NC" in licence_for("ffhq-1024").line()
    assert [lic.key for lic in non_commercial([licence_for("ffhq-1024"), licence_for("ffhq-1024"),
                                               licence_for("landmarks")])] == ["ffhq-1024"]


def test_show_records_and_warns_about_licences():
    from core import show as S
    from core.show.licences import licence_warning, show_licences

    nvidia = "checkpoints/downloads/stylegan2-ffhq-1024x1024.pkl"
    show = S.Show("x", [S.scene_from_dict({"kind": "face", "model": nvidia, "seed": 1}, 0),
                        S.scene_from_dict({"kind": "face", "model": "checkpoints/stylegan2_demo.pt",
                                           "seed": 2}, 1)])
    assert [lic.key for lic in show_licences(show)] == ["ffhq-1024", "stylegan2-bundled"]
    assert "non-commercial" in licence_warning(show)
    only_ours = S.Show("y", [show.scenes[1]])
    assert licence_warning(only_ours) is None


def test_photo_consent_is_remembered_by_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOM_CAST_CONFIG_DIR", str(tmp_path))
    digest = consent.photo_hash(b"a photo")
    assert not consent.has_consent(digest)
    consent.record_consent(digest)
    assert consent.has_consent(digest) and not consent.has_consent(consent.photo_hash(b"another"))
    assert b"a photo" not in (tmp_path / "consent.json").read_bytes()


def test_local_chain_lives_in_the_config_folder_not_the_repository():
    folder = certificates.local_dir()
    certificates.signing_credentials()
    assert (folder / certificates.KEY_FILE).is_file() and ROOT not in folder.parents
    assert oct((folder / certificates.KEY_FILE).stat().st_mode & 0o777) == "0o600"


def test_show_export_warns_about_non_commercial_models_and_exports(tmp_path, capsys):
    from core import show as S
    from core.cli import run_cli
    from core.show.cli import main

    show_dir = tmp_path / "show"
    S.create_show(show_dir, "NC")
    S.add_scene(show_dir, {"kind": "face", "model": "checkpoints/downloads/stylegan2-ffhq-1024x1024.pkl",
                           "seed": 1})
    assert run_cli(main, ["export", str(show_dir), "--html", str(tmp_path / "r.html"), "--no-label"]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "NVIDIA Source Code License-NC" in captured.err
    assert "r.html.c2pa" in captured.out and 'id="cc-badge"' not in (tmp_path / "r.html").read_text()
    v = pv.verify(tmp_path / "r.html")
    assert v.intact and v.generation["models"][0]["commercial_use"] is False
