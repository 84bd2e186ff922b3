"""Bad inputs for the face pipeline: a corpus generated here, run through ``python -m core.faces``.

Covers the issue-10 cases of this family: unchecked crop writes (read-only and full ``--out``), crop
names that collide, a file name that is not UTF-8, zip bombs and damaged zips, ``--out`` that is a file
or under /proc, empty and non-image folders, and the photo with two faces. Every refusal is one stderr
line and a non-zero exit; every success lists only crops that exist and decode.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core import ASSETS_DIR
from core import faces as F
from tests.bad_inputs.conftest import ROOT, assert_refused, png_header_only, run_cli

DEMO = ASSETS_DIR / "demo_photos"
# Demo photos in which the Haar cascade finds exactly one face (the CLI cases use Haar: it is fast and
# prints nothing of its own on stderr).
HAAR_FACES = ("profile_003.jpg", "profile_004.jpg", "profile_005.jpg", "profile_006.jpg", "profile_010.jpg",
              "profile_011.jpg", "profile_012.jpg", "profile_016.jpg")
FAST = ("--detector", "haar", "--no-cache")


def _photo(name: str) -> Image.Image:
    return Image.open(DEMO / name).convert("RGB")


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    b = io.BytesIO()
    im.save(b, format=fmt, **kw)
    return b.getvalue()


def _scan(src: Path, out: Path, *extra: str):
    return run_cli("core.faces", "scan", src, "--out", out, *FAST, *extra)


def _scan_json(src: Path, out: Path, *extra: str) -> dict:
    r = _scan(src, out, "--json", *extra)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    doc = json.loads(r.stdout)
    _assert_written(doc, out)
    return doc


def _assert_written(doc: dict, out: Path) -> list[str]:
    """Every crop the JSON reports exists in ``out`` and decodes at the configured size; no temp files."""
    size = doc["config"]["size"]
    names = [f["crop_file"] for r in doc["records"] for f in r["faces"] if f["kept"]]
    assert all(names), "a kept face has no crop file"
    assert len(set(names)) == len(names), f"crop names collide: {names}"
    for name in names:
        with Image.open(out / name) as im:
            im.load()
            assert im.size == (size, size)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    return names


def _faces_folder(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in HAAR_FACES[:n]:
        (root / name).write_bytes((DEMO / name).read_bytes())
    return root


# ---- the image corpus: every damaged or unusual file is listed with a reason, never a crash ----


def test_corpus_of_bad_and_unusual_images(tmp_path: Path):
    src = tmp_path / "corpus"
    src.mkdir()
    face = _photo("profile_003.jpg")
    good = (DEMO / "profile_003.jpg").read_bytes()
    (src / "empty.jpg").write_bytes(b"")
    (src / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (src / "notes.jpg").write_text("a text file renamed to .jpg\n")
    (src / "png_named.jpg").write_bytes(_encode(face, "PNG"))  # renamed, but a real image: read it
    (src / "bomb.png").write_bytes(png_header_only(30000, 30000))
    (src / "cmyk.jpg").write_bytes(_encode(face.convert("CMYK"), "JPEG", quality=95))
    (src / "palette.png").write_bytes(_encode(face.convert("P"), "PNG"))
    luma = np.asarray(face.convert("L"), np.uint16) * 257
    (src / "gray16.png").write_bytes(_encode(Image.fromarray(luma), "PNG"))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated; the viewer turns it 90 degrees clockwise
    other = _photo("profile_004.jpg").rotate(90, expand=True)
    (src / "exif.jpg").write_bytes(_encode(other, "JPEG", exif=exif, quality=95))
    out = tmp_path / "out"
    doc = _scan_json(src, out)
    by = {r["file"]: r for r in doc["records"]}
    assert by["empty.jpg"]["reason"] == F.R_EMPTY
    assert by["truncated.jpg"]["reason"] == F.R_CORRUPT
    assert by["notes.jpg"]["reason"] == F.R_NOT_IMAGE
    assert by["bomb.png"]["reason"] == F.R_TOO_LARGE
    for name in ("png_named.jpg", "cmyk.jpg", "palette.png", "gray16.png", "exif.jpg"):
        assert by[name]["reason"] not in (F.R_EMPTY, F.R_CORRUPT, F.R_NOT_IMAGE, F.R_TOO_LARGE), by[name]
        assert (by[name]["width"], by[name]["height"]) == (400, 400)
    assert by["gray16.png"]["grayscale"]
    assert by["exif.jpg"]["faces"] and by["exif.jpg"]["reason"] is None  # upright after EXIF orientation
    # The four re-encodings of one photo are found as one face kept plus three duplicates.
    for name in ("cmyk.jpg", "palette.png", "gray16.png", "png_named.jpg"):
        assert len(by[name]["faces"]) == 1 and by[name]["reason"] in (None, F.R_DUPLICATE)
    assert doc["summary"]["faces_kept"] == 2 and doc["summary"]["duplicates"] == 3


# ---- issue 10 #1: every crop write is checked ----


def test_readonly_out_refused_before_scanning(readonly_dir: Path, tmp_path: Path):
    src = _faces_folder(tmp_path / "src", 2)
    for out in (readonly_dir, readonly_dir / "crops"):
        line = assert_refused(_scan(src, out, "--json"), "read-only")
        assert "--out" in line
    assert not list(readonly_dir.iterdir())


def test_full_out_fails_and_leaves_no_truncated_crop(full_dir: Path, tmp_path: Path):
    src = _faces_folder(tmp_path / "src", len(HAAR_FACES))
    r = _scan(src, full_dir, "--json", "--size", "256")
    assert_refused(r, "no space left")
    assert r.stdout == "", "a failed scan must not print a JSON listing of crops"
    left = list(full_dir.iterdir())
    assert left, "the first crops fit; the test needs the disk to fill part-way"
    for p in left:  # whatever was written is whole: no half PNG and no temp file
        assert p.suffix == ".png"
        with Image.open(p) as im:
            im.load()
            assert im.size == (256, 256)


def test_modern_detector_refusal_is_one_line(full_dir: Path, tmp_path: Path):
    """MediaPipe's native logs (absl/TFLite lines on fd 2) stay off stderr: the refusal is the only line."""
    src = _faces_folder(tmp_path / "src", len(HAAR_FACES))
    r = run_cli("core.faces", "scan", src, "--out", full_dir, "--detector", "modern", "--no-cache", "--json",
                "--size", "256")
    assert_refused(r, "no space left")
    assert r.stdout == ""


def test_export_to_full_folder_raises_oserror(full_dir: Path, tmp_path: Path):
    crops = [np.asarray(_photo(n).resize((256, 256))) for n in HAAR_FACES]
    recs = [F.ImageRecord(file=n, faces=[F.FaceRecord([0, 0, 9, 9], 1.0, None, None, 99.0, "0" * 16,
                                                      kept=True, crop=c)]) for n, c in zip(HAAR_FACES, crops)]
    result = F.ScanResult(recs, 0.0, F.ScanConfig(size=256))
    with pytest.raises(OSError) as e:
        F.export_training_set(result, full_dir / "export")
    assert e.value.errno == 28 and e.value.filename


# ---- issue 10 #2 and #3: crop names never collide; non-UTF-8 names do not crash ----


def test_crop_names_never_collide(tmp_path: Path):
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "face.jpg").write_bytes((DEMO / HAAR_FACES[0]).read_bytes())
    (src / "face.png").write_bytes(_encode(_photo(HAAR_FACES[1]), "PNG"))
    (src / "a" / "b.jpg").write_bytes((DEMO / HAAR_FACES[2]).read_bytes())
    (src / "a__b.jpg").write_bytes((DEMO / HAAR_FACES[3]).read_bytes())
    out = tmp_path / "out"
    doc = _scan_json(src, out)
    assert doc["summary"]["faces_kept"] == 4
    names = _assert_written(doc, out)
    assert len(names) == 4 and sorted(p.name for p in out.iterdir()) == sorted(names)


def test_non_utf8_file_name_does_not_crash(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    with open(os.path.join(os.fsencode(src), b"bad\xff.jpg"), "wb") as fh:
        fh.write((DEMO / HAAR_FACES[0]).read_bytes())
    out = tmp_path / "out"
    r = _scan(src, out, "--json")
    assert r.returncode == 0, f"exit {r.returncode} (-11 is the old segfault): {r.stderr[-500:]}"
    doc = json.loads(r.stdout)
    names = _assert_written(doc, out)
    assert len(names) == 1 and names[0].isascii()
    r = _scan(src, tmp_path / "out2")  # the text report prints the name too
    assert r.returncode == 0 and "1 faces kept" in r.stdout


# ---- --out that cannot be a folder; folders with nothing to scan ----


def test_out_that_is_a_file_or_under_proc(tmp_path: Path):
    src = _faces_folder(tmp_path / "src", 1)
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    assert_refused(_scan(src, a_file), "is a file")
    assert a_file.read_text() == "x"
    assert_refused(_scan(src, a_file / "sub"), "--out")
    assert_refused(_scan(src, "/proc/custom-cast-crops"), "--out")
    assert_refused(_scan(src, "/proc/self"), "--out")


def test_empty_and_non_image_folders_give_a_hint(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_refused(_scan(empty, tmp_path / "o1"), "no photos", "empty")
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "readme.txt").write_text("hello")
    (texts / ".hidden.jpg").write_bytes((DEMO / HAAR_FACES[0]).read_bytes())
    assert_refused(_scan(texts, tmp_path / "o2"), "no photos", ".jpg")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.jpg").write_bytes(b"")
    (junk / "b.png").write_text("not a png")
    r = _scan(junk, tmp_path / "o3", "--json")
    assert_refused(r, "none of the 2", "could be read")
    assert json.loads(r.stdout)["summary"]["images"] == 2  # the per-file reasons are still reported
    assert_refused(_scan(tmp_path / "missing", tmp_path / "o4"), "does not exist")
    (tmp_path / "notes.txt").write_text("x")
    assert_refused(_scan(tmp_path / "notes.txt", tmp_path / "o5"), "neither a folder")
    assert_refused(_scan(junk, tmp_path / "o6", "--min-face", "-3"), "minimum face size")


def test_two_faces_says_which_was_kept(tmp_path: Path):
    a, b = _photo("profile_003.jpg"), _photo("profile_010.jpg").resize((300, 300))
    pair = Image.new("RGB", (700, 400), (128, 128, 128))
    pair.paste(a, (0, 0))
    pair.paste(b, (400, 50))
    src = tmp_path / "src"
    src.mkdir()
    pair.save(src / "pair.jpg", quality=95)
    doc = _scan_json(src, tmp_path / "out")
    rec = doc["records"][0]
    assert len(rec["faces"]) == 2 and [f["kept"] for f in rec["faces"]] == [True, False]
    assert rec["detail"].startswith("2 faces found; kept the largest, face 0 (234 px at x=67, y=151)")
    r = _scan(src, tmp_path / "out2")
    assert r.returncode == 0 and "pair.jpg: 2 faces found; kept the largest" in r.stdout
    doc = _scan_json(src, tmp_path / "out3", "--keep", "all")
    assert doc["summary"]["faces_kept"] == 2 and "kept 2: face 0, 1" in doc["records"][0]["detail"]


# ---- zip archives: built here, refused with one line or extracted safely ----


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buf.getvalue()


def _patch(data: bytes, local_at: int, central_at: int, fmt: str, value: int) -> bytes:
    """Overwrite one field of the first entry's local header and central-directory record."""
    b = bytearray(data)
    lo, ce = b.index(b"PK\x03\x04"), b.index(b"PK\x01\x02")
    struct.pack_into(fmt, b, lo + local_at, value)
    struct.pack_into(fmt, b, ce + central_at, value)
    return bytes(b)


def _photo_zip() -> bytes:
    return _zip({f"set/{n}": (DEMO / n).read_bytes() for n in HAAR_FACES[:3]})


def _damaged_zips() -> dict[str, tuple[bytes, str]]:
    photo = (DEMO / HAAR_FACES[0]).read_bytes()
    big = _zip({"big.jpg": photo * 20})
    return {
        "bad CRC": (_patch(_zip({"a.jpg": photo}), 14, 16, "<I", 0x12345678), "damaged"),
        "encrypted": (_patch(_zip({"a.jpg": photo}), 6, 8, "<H", 0x1), "encrypted"),
        "unknown method": (_patch(_zip({"a.jpg": photo}), 8, 10, "<H", 99), "compression"),
        "bzip2": (_zip({"a.jpg": photo}, zipfile.ZIP_BZIP2), "bzip2"),
        "file beside folder": (_zip({"x": b"plain", "x/y.jpg": photo}), "both a file and a folder"),
        "understated size": (_patch(big, 22, 24, "<I", 1000), "damaged"),
        "zip slip": (_zip({"ok.jpg": photo, "../evil.jpg": photo}), "escape"),
        "absolute": (_zip({"/tmp/custom-cast-evil.jpg": photo}), "escape"),
        "duplicate": (_zip({"a.jpg": photo, "b.jpg": photo}).replace(b"b.jpg", b"a.jpg"), "more than once"),
        "not a zip": (b"PK\x03\x04 truncated right here", "not a readable zip"),
        "zero bytes": (b"", "not a readable zip"),
        "empty name": (_zip({"a.jpg": photo, "": b""}), "empty name"),  # found by the property test
    }


@pytest.mark.parametrize("case", sorted(_damaged_zips()))
def test_damaged_zip_refused_in_process(case: str, tmp_path: Path):
    data, words = _damaged_zips()[case]
    sandbox = tmp_path / "sandbox"
    with pytest.raises(F.IngestRefused, match=words) as e:
        F.extract_zip(data, sandbox / "dest")
    assert isinstance(e.value, ValueError) and "\n" not in str(e.value)
    assert not (tmp_path / "evil.jpg").exists() and not Path("/tmp/custom-cast-evil.jpg").exists()
    if sandbox.exists():
        assert {p.name for p in sandbox.iterdir()} <= {"dest"}
    if case == "understated size":  # the partial file is removed, nothing truncated is left to scan
        assert not list((sandbox / "dest").rglob("*.jpg"))


@pytest.mark.parametrize("case", ["bad CRC", "encrypted", "unknown method", "file beside folder",
                                  "understated size", "zip slip"])
def test_damaged_zip_refused_by_cli(case: str, tmp_path: Path):
    data, words = _damaged_zips()[case]
    archive = tmp_path / "upload.zip"
    archive.write_bytes(data)
    assert_refused(_scan(archive, tmp_path / "out"), words)
    assert not list((tmp_path / "out").glob("*.png"))


def test_photo_zip_scanned_by_cli(tmp_path: Path):
    archive = tmp_path / "photos.zip"
    archive.write_bytes(_photo_zip())
    out = tmp_path / "out"
    doc = _scan_json(archive, out)
    assert doc["summary"]["images"] == 3 and doc["summary"]["faces_kept"] == 3
    assert {r["file"] for r in doc["records"]} == {f"set/{n}" for n in HAAR_FACES[:3]}


@pytest.fixture(scope="module")
def zero_bomb(tmp_path_factory) -> Path:
    """1 GiB of zeros deflated to a few MB (the issue's bomb: it used to sit exactly at the 1 GiB cap)."""
    path = tmp_path_factory.mktemp("bomb") / "zeros.zip"
    block = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("zeros.jpg", "w") as f:
            for _ in range(1024):
                f.write(block)
    return path


def _extract_in_child(archive: Path, dest: Path, **kw) -> tuple[str, float, float]:
    """(outcome, seconds, peak RSS in MiB) of extract_zip run in a fresh interpreter."""
    # Peak RSS from VmHWM: ru_maxrss would carry over the forking pytest process's own peak.
    code = ("import json, re, sys, time\n"
            "from core.faces import IngestRefused, extract_zip\n"
            "t = time.perf_counter()\n"
            "try:\n"
            f"    extract_zip(sys.argv[1], sys.argv[2], **{kw!r})\n"
            "    outcome = 'extracted'\n"
            "except IngestRefused as e:\n"
            "    outcome = str(e)\n"
            "hwm = re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1)\n"
            "print(json.dumps([outcome, time.perf_counter() - t, int(hwm) / 1024]))\n")
    proc = subprocess.run([sys.executable, "-c", code, str(archive), str(dest)], cwd=ROOT, text=True,
                          capture_output=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    outcome, seconds, rss = json.loads(proc.stdout)
    return outcome, seconds, rss


def test_zero_bomb_refused_quickly_with_bounded_memory(zero_bomb: Path, tmp_path: Path):
    for kw, words in (({}, "cap"), ({"max_total_bytes": 1 << 30}, "zip bomb")):
        outcome, seconds, rss = _extract_in_child(zero_bomb, tmp_path / "dest", **kw)
        assert words in outcome, outcome
        assert seconds < 5 and rss < 200, (seconds, rss)
        assert not (tmp_path / "dest").exists() or not list((tmp_path / "dest").rglob("*"))
    assert_refused(_scan(zero_bomb, tmp_path / "out"), "zip refused")


def test_zero_bomb_with_understated_header_stops_early(zero_bomb: Path, tmp_path: Path):
    liar = tmp_path / "liar.zip"
    liar.write_bytes(_patch(zero_bomb.read_bytes(), 22, 24, "<I", 1 << 20))  # claims 1 MiB, holds 1 GiB
    outcome, seconds, rss = _extract_in_child(liar, tmp_path / "dest", max_total_bytes=1 << 30)
    assert "damaged" in outcome, outcome
    assert seconds < 5 and rss < 200, (seconds, rss)
    assert not list((tmp_path / "dest").rglob("*.jpg"))


# ---- property-based: random archive trees and damaged bytes never escape or crash ----

_PARTS = st.one_of(st.sampled_from(["a", "b", "x.jpg", "..", ".", "", "C:", "\\..", "a\\b", " ", "~", "é.png",
                                    "con", "x" * 300]),
                   st.text(min_size=1, max_size=12))
_NAMES = st.lists(_PARTS, min_size=1, max_size=5).map("/".join)
_ENTRY = st.tuples(_NAMES, st.booleans(), st.binary(max_size=64),
                   st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2]))


def _build(entries: list[tuple[str, bool, bytes, int]], outside: Path) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as zf:
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": duplicates are a case to test
        for name, absolute, data, method in entries:
            name = f"{outside.as_posix()}/{name}" if absolute else name
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            zf.writestr(info, data)
    return buf.getvalue()


def _check_contained(sandbox: Path, dest: Path, outside: Path) -> None:
    for p in sandbox.rglob("*"):
        assert p == dest or dest in p.parents, f"{p} written outside {dest}"
        assert not p.is_symlink()
    assert not any(outside.rglob("*")), "a file was written through an absolute entry name"


# No example database: the corpus is generated afresh each run and the checkout stays clean.
_PROPERTY = settings(max_examples=150, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(entries=st.lists(_ENTRY, min_size=1, max_size=6))
def test_random_archive_trees_never_escape(entries):
    with tempfile.TemporaryDirectory() as tmp:
        sandbox, outside = Path(tmp) / "sandbox", Path(tmp) / "outside"
        sandbox.mkdir()
        outside.mkdir()
        dest = sandbox / "dest"
        data = _build(entries, outside)
        try:
            F.extract_zip(data, dest)
        except F.IngestRefused as e:
            assert str(e) and "\n" not in str(e)
        else:  # nothing lost: one file per file entry, each with its bytes
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
            files = [p for p in dest.rglob("*") if p.is_file()]
            assert len(files) == len(members)
            for name, content in members.items():
                parts = [s for s in name.split("/") if s not in ("", ".")]
                assert dest.joinpath(*parts).read_bytes() == content
        _check_contained(sandbox, dest, outside)


@_PROPERTY
@given(entries=st.lists(_ENTRY, min_size=1, max_size=4), flips=st.lists(
    st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), min_size=1, max_size=8),
    cut=st.none() | st.integers(min_value=0))
def test_damaged_archive_bytes_never_crash(entries, flips, cut):
    with tempfile.TemporaryDirectory() as tmp:
        sandbox, outside = Path(tmp) / "sandbox", Path(tmp) / "outside"
        sandbox.mkdir()
        outside.mkdir()
        data = bytearray(_build(entries, outside))
        for at, value in flips:
            data[at % len(data)] = value
        if cut is not None:
            data = data[: cut % (len(data) + 1)]
        try:
            F.extract_zip(bytes(data), sandbox / "dest")
        except F.IngestRefused as e:
            assert str(e) and "\n" not in str(e)
        _check_contained(sandbox, sandbox / "dest", outside)
