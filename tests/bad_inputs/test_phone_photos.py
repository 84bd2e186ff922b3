"""Bad input, round 2, class 1 (issue 23): photos as phones give them.

A folder of JPEG + HEIC + AVIF used to scan as "1 image": the phone photos were skipped without a word.
HEIC/HEIF and AVIF are now decoded by the one image reader (core.image.decode); every file a scan sees is
counted, and each one it cannot use is named with its reason. MediaPipe's native log lines (absl's
``W0000 ...``, TFLite's ``INFO: Created ...``) never reach the terminal, also outside the CLIs (a page or
a script that builds a detector). Every input is written by the test.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest
from PIL import Image

from core import ASSETS_DIR
from core.image.decode import (
    AVIF_SUPPORTED,
    HEIF_SUPPORTED,
    IMAGE_EXTENSIONS,
    R_CORRUPT,
    R_UNSUPPORTED,
    ImageRejected,
    image_brand,
    list_skipped_files,
    load_image,
)
from tests.bad_inputs.conftest import ROOT, run_cli

PHOTO = ASSETS_DIR / "demo_photos" / "profile_000.jpg"
pytestmark = pytest.mark.skipif(
    not (HEIF_SUPPORTED and AVIF_SUPPORTED),
    reason="pillow-heif and Pillow's AVIF support are required (requirements.txt)")


def _smooth(h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth colour gradient: lossy HEIC/AVIF keep it within a few levels."""
    y, x = np.mgrid[0:h, 0:w]
    channels = [x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)]
    return np.stack(channels, -1).astype(np.uint8)


def _encode(rgb: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt, brand", [("HEIF", "HEIF"), ("AVIF", "AVIF")])
@pytest.mark.parametrize("shape", [(48, 64), (64, 48), (17, 33)])
def test_heic_and_avif_decode_like_the_original(fmt, brand, shape):
    rgb = _smooth(*shape)
    data = _encode(rgb, fmt, quality=95)
    assert image_brand(data) == brand
    out, gray = load_image(data)
    assert out.shape == rgb.shape and out.dtype == np.uint8 and not gray
    assert np.abs(out.astype(int) - rgb).mean() < 6


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_phone_orientation_is_applied(fmt):
    """A portrait photo stored landscape with EXIF orientation 6 reads as portrait, for both formats."""
    rgb = _smooth(40, 80)
    exif = Image.Exif()
    exif[0x0112] = 6
    out, _ = load_image(_encode(rgb, fmt, exif=exif.tobytes()))
    assert out.shape[:2] == (80, 40)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
@pytest.mark.parametrize("damage", ["truncated-header", "truncated-data", "zeroed-body", "brand-only"])
def test_damaged_phone_photos_are_refused_with_a_reason(fmt, damage):
    data = _encode(_smooth(), fmt)
    bad = {"truncated-header": data[:40], "truncated-data": data[: len(data) // 2],
           "zeroed-body": data[:32] + bytes(len(data) - 32), "brand-only": data[:12]}[damage]
    with pytest.raises(ImageRejected) as info:
        load_image(bad)
    assert info.value.reason == R_CORRUPT and "\n" not in str(info.value)


def test_a_heic_without_its_decoder_is_unsupported_not_silently_skipped(monkeypatch):
    import core.image.decode as images

    heic = _encode(_smooth(), "HEIF")
    with monkeypatch.context() as m:  # as on a machine without pillow-heif: Pillow cannot identify it
        m.setattr(images, "HEIF_SUPPORTED", False)
        m.setattr(images.Image, "open", _unidentified)
        with pytest.raises(ImageRejected) as info:
            load_image(heic)
    assert info.value.reason == R_UNSUPPORTED and "pillow-heif" in info.value.detail


def _unidentified(*_a, **_k):
    from PIL import UnidentifiedImageError

    raise UnidentifiedImageError("cannot identify image file")


def test_a_phone_folder_scans_every_file_and_names_each_one_skipped(tmp_path):
    face = np.asarray(Image.open(PHOTO).convert("RGB"))
    folder = tmp_path / "DCIM"
    (folder / "100APPLE").mkdir(parents=True)
    (folder / "IMG_0001.JPG").write_bytes(_encode(face, "JPEG", quality=92))
    (folder / "100APPLE" / "IMG_0002.HEIC").write_bytes(_encode(face, "HEIF"))
    (folder / "IMG_0003.avif").write_bytes(_encode(face, "AVIF"))
    (folder / "IMG_0004.heif").write_bytes(_encode(face, "HEIF"))
    (folder / "IMG_0005.heic").write_bytes(_encode(face, "HEIF")[:300])  # cut off by a failed transfer
    (folder / "IMG_0006.MOV").write_bytes(b"\x00\x00\x00\x14ftypqt  " + bytes(64))  # a live photo's clip
    (folder / "IMG_0007.AAE").write_text("<?xml version='1.0'?><plist/>")  # an edit sidecar
    (folder / ".DS_Store").write_bytes(b"\x00" * 16)  # hidden: not a file of the user's
    result = run_cli("core.faces", "scan", folder, "--out", tmp_path / "crops", "--no-cache", "--json")
    assert result.returncode == 0, result.stderr
    assert not result.stderr.strip(), result.stderr  # no native log line either
    doc = json.loads(result.stdout)
    summary = doc["summary"]
    assert summary["files"] == 7 and summary["images"] == 5 and summary["skipped"] == 2
    records = {r["file"]: r for r in doc["records"]}
    for name in ("IMG_0001.JPG", "100APPLE/IMG_0002.HEIC", "IMG_0003.avif", "IMG_0004.heif"):
        assert records[name]["reason"] not in (R_CORRUPT, R_UNSUPPORTED), records[name]
        assert records[name]["width"] == face.shape[1] and records[name]["height"] == face.shape[0]
    assert records["IMG_0005.heic"]["reason"] == R_CORRUPT
    skipped = {s["file"]: s["reason"] for s in doc["skipped_files"]}
    assert set(skipped) == {"IMG_0006.MOV", "IMG_0007.AAE"}
    assert all("not a photo type" in why for why in skipped.values())
    # Four readable copies of one face: one kept, the other three found as duplicates (decoded alike).
    assert summary["faces_kept"] + summary["duplicates"] == 4

    text = run_cli("core.faces", "scan", folder, "--out", tmp_path / "crops2", "--no-cache")
    assert text.returncode == 0 and not text.stderr.strip(), text.stderr
    for name in ("IMG_0005.heic", "IMG_0006.MOV", "IMG_0007.AAE"):
        lines = [line for line in text.stdout.splitlines() if line.startswith("skipped ")]
        assert any(name in line for line in lines), text.stdout
    assert "7 files: 5 images (2 other files skipped)" in text.stdout


def test_listing_names_every_visible_non_photo(tmp_path):
    names = ["a.txt", "b.mp4", "c", "d.dng", "sub/e.pdf"]
    for name in names + ["f.jpg", "g.HEIC", ".hidden.txt", ".git/config"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    skipped = {p.relative_to(tmp_path).as_posix(): why for p, why in list_skipped_files(tmp_path)}
    assert set(skipped) == set(names)
    assert "no extension" in skipped["c"] and ".dng" in skipped["d.dng"]
    assert {".heic", ".heif", ".avif"} <= set(IMAGE_EXTENSIONS)


_NATIVE_SCRIPT = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    from core.image.decode import read_rgb
    from core.faces.detection import get_detector
    from core.landmarks import FaceLandmarker, SmallFaceScorer

    face = read_rgb(sys.argv[1])
    strips = [np.full((1, 100000, 3), 128, np.uint8), np.full((100000, 1, 3), 128, np.uint8),
              np.zeros((2, 2, 3), np.uint8)]
    for name in ("modern", "modern-fast"):
        detector = get_detector(name)
        for image in strips + [face]:
            detector(image)
    with FaceLandmarker(video=True, refine=False) as mesher:
        for _ in range(3):
            mesher.faces(face)
    with SmallFaceScorer() as scorer:
        scorer.scores(np.stack([face[:96, :96]] * 2))
    print("a line of our own", file=sys.stderr)
""")


def _run_script(script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script, str(PHOTO), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
                                            "PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir(), **env})


def test_native_logs_never_reach_stderr_outside_the_clis():
    """Detectors, the mesh (video and still) and the face scorer on a 1 x 100000 strip and a real face:
    the only stderr line is the script's own (before this fix: a dozen W0000/INFO lines)."""
    proc = _run_script(_NATIVE_SCRIPT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.splitlines() == ["a line of our own"], proc.stderr[-3000:]


_LATE_NATIVE_SCRIPT = """
import atexit, os, sys, time

def graph_thread_logs_late():  # registered first, so it runs after core.native_logs' exit handler
    os.write(2, b"W0000 00:00:1796664235.065440    9937 inference_feedback_manager.cc:114] late\\n")
    time.sleep(0.3)

atexit.register(graph_thread_logs_late)
from core import native_logs
from core.cli import quiet_native_stderr
if sys.argv[2] == "in a CLI's scratch sink":
    with quiet_native_stderr():
        native_logs.silence_native_logs()  # what each MediaPipe call does
else:
    native_logs.silence_native_logs()
sys.exit("python -m core.fomm: error: the one line")
"""


@pytest.mark.parametrize("where", ["in a CLI's scratch sink", "outside the CLIs"])
def test_a_native_log_line_after_the_error_line_stays_silent(where):
    """MediaPipe's graph threads may log while a refused command exits: the error stays the only line."""
    proc = _run_script(_LATE_NATIVE_SCRIPT, where)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["python -m core.fomm: error: the one line"], proc.stderr


def test_native_logs_stay_visible_when_debugging():
    """CUSTOM_CAST_DEBUG=1 keeps them: the silencing is real, not an absence of logs."""
    script = _NATIVE_SCRIPT.replace('print("a line of our own", file=sys.stderr)', "")
    proc = _run_script(script, CUSTOM_CAST_DEBUG="1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any(line.startswith(("W0000", "I0000", "INFO: Created TensorFlow Lite"))
               for line in proc.stderr.splitlines()), proc.stderr[-2000:]


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_a_phone_photo_as_poll_media_is_an_image_not_a_clip(fmt):
    from core import vote

    data, mime, _ = vote.prepare_media(_encode(_smooth(), fmt), "caption")
    assert mime == "image/png" and Image.open(io.BytesIO(data)).size == (64, 48)


def test_the_explorer_page_reads_phone_photos_and_names_the_other_files(tmp_path):
    from streamlit.testing.v1 import AppTest

    from tests.page_support import scan_folder

    face = np.asarray(Image.open(PHOTO).convert("RGB"))
    folder = tmp_path / "phone"
    folder.mkdir()
    (folder / "IMG_1.HEIC").write_bytes(_encode(face, "HEIF"))
    (folder / "IMG_2.avif").write_bytes(_encode(face, "AVIF"))
    (folder / "IMG_3.MOV").write_bytes(b"\x00\x00\x00\x14ftypqt  " + bytes(64))
    at = AppTest.from_file("pages/1_dataset_explorer.py", default_timeout=60)
    scan_folder(at, folder)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "2" and metrics["Rejected"] == "0"
    assert any("1 other file(s)" in e.label for e in at.expander)
