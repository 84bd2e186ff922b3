"""Face pipeline: loading, refusal reasons, alignment maths, duplicates, cache, CLI, shared targets."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core import ASSETS_DIR
from core import faces as F
from core.faces.align import align_face, box_quad, eye_mouth_points, ffhq_quad, quad_affine, transform_points
from core.image.decode import list_image_files
from tests.bad_inputs.conftest import png_header_only
from tests.conftest import shared_path

GOOD_PHOTO = ASSETS_DIR / "demo_photos" / "profile_003.jpg"


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    d = tmp_path / "photos"
    d.mkdir()
    good = GOOD_PHOTO.read_bytes()
    (d / "good.jpg").write_bytes(good)
    (d / "empty.jpg").write_bytes(b"")
    (d / "notes.jpg").write_text("this is not a picture\n")
    (d / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (d / "readme.txt").write_text("ignored: not an image extension")
    return d


def test_bad_folder_counts_and_reasons(bad_folder: Path, tmp_path: Path):
    res = F.scan_folder(bad_folder, F.ScanConfig(), cache_dir=tmp_path / "cache")
    s = res.summary()
    assert s["images"] == 4
    assert s["faces_kept"] == 1
    assert s["rejected"] == {F.R_CORRUPT: 1, F.R_EMPTY: 1, F.R_NOT_IMAGE: 1}
    by_file = {r.file: r for r in res.records}
    assert by_file["good.jpg"].reason is None and len(by_file["good.jpg"].kept_faces) == 1
    assert by_file["truncated.jpg"].reason == F.R_CORRUPT and "truncated" in by_file["truncated.jpg"].detail
    crop = by_file["good.jpg"].kept_faces[0].crop
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8


def test_decompression_bomb_refused():
    with pytest.raises(F.ImageRejected) as e:
        F.load_image(png_header_only(20000, 20000))
    assert e.value.reason == F.R_TOO_LARGE
    # Below Pillow's own limit, our cap still applies.
    with pytest.raises(F.ImageRejected) as e:
        F.load_image(png_header_only(5000, 5000), max_pixels=10_000_000)
    assert e.value.reason == F.R_TOO_LARGE and "5000x5000" in e.value.detail


def test_zip_escape_and_size_cap_refused(tmp_path: Path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok/a.jpg", GOOD_PHOTO.read_bytes())
        zf.writestr("../evil.jpg", b"x")
    with pytest.raises(F.IngestRefused, match="escape"):
        F.extract_zip(buf.getvalue(), tmp_path / "z1")
    assert not (tmp_path / "evil.jpg").exists()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.bin", b"\0" * 2_000_000)
    with pytest.raises(F.IngestRefused, match="cap"):
        F.extract_zip(buf.getvalue(), tmp_path / "z2", max_total_bytes=1_000_000)
    with pytest.raises(F.IngestRefused, match="not a readable zip"):
        F.extract_zip(b"PK-not-really", tmp_path / "z3")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("sub/a.jpg", b"abc")
    out = F.extract_zip(buf.getvalue(), tmp_path / "z4")
    assert (out / "sub" / "a.jpg").read_bytes() == b"abc"
    up = F.save_uploads([("../../x/evil.png", b"1"), ("b.jpg", b"2")], tmp_path / "up")
    assert sorted(p.name for p in up.iterdir()) == ["b.jpg", "evil.png"]


def test_crop_names_and_upload_names_are_unique(tmp_path: Path):
    assert F.safe_stem("a/b.jpg") == F.safe_stem("a__b.jpg") == "a__b_jpg"
    assert F.safe_stem("bad\udcff.jpg") == "bad__jpg" and F.safe_stem("../x/./y.png") == "____x__y_png"
    namer = F.CropNamer()
    assert namer.names("a/b.jpg", [0, 2]) == ["a__b_jpg_face0.png", "a__b_jpg_face2.png"]
    assert namer.names("a__b.jpg", [0]) == ["a__b_jpg-2_face0.png"]
    assert namer.names("A__B.jpg", [0]) == ["A__B_jpg-3_face0.png"]  # case-insensitive file systems
    long = F.safe_stem("x" * 300 + ".jpg")
    assert len(long) == F.export.MAX_STEM_CHARS and long != F.safe_stem("x" * 301 + ".jpg")
    up = F.save_uploads([("a.jpg", b"1"), ("dir/a.jpg", b"2"), (".h.png", b"3"), ("", b"4")], tmp_path / "up")
    assert {p.name: p.read_bytes() for p in up.iterdir()} == {"a.jpg": b"1", "a-2.jpg": b"2", "_.h.png": b"3",
                                                               "upload": b"4"}


def test_image_modes_exif_and_gif():
    def enc(im: Image.Image, fmt: str, **kw) -> bytes:
        b = io.BytesIO()
        im.save(b, format=fmt, **kw)
        return b.getvalue()

    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:, :10] = (255, 0, 0)
    base = Image.fromarray(rgb)
    out, gray = F.load_image(enc(base.convert("P"), "PNG"))
    assert out.shape == (20, 30, 3) and tuple(out[0, 0]) == (255, 0, 0) and not gray
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent -> white
    out, _ = F.load_image(enc(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert (out == 255).all()
    out, _ = F.load_image(enc(base.convert("CMYK"), "JPEG", quality=95))
    assert out.shape == (20, 30, 3) and out[10, 2, 0] > 200 and out[10, 20, 0] < 40
    i16 = Image.fromarray(np.full((8, 8), 65535, np.uint16))
    out, gray = F.load_image(enc(i16, "PNG"))
    assert gray and (out == 255).all()
    frames = [Image.new("RGB", (8, 8), c) for c in ((0, 0, 255), (0, 255, 0))]
    b = io.BytesIO()
    frames[0].save(b, format="GIF", save_all=True, append_images=frames[1:])
    out, _ = F.load_image(b.getvalue())
    assert out[0, 0, 2] > 200 and out[0, 0, 1] < 50
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    out, _ = F.load_image(enc(base, "JPEG", exif=exif, quality=95))
    assert out.shape == (30, 20, 3) and out[2, 10, 0] > 200 and out[25, 10, 0] < 60


def test_ffhq_quad_geometry_values():
    pts = np.array([[40, 50], [60, 50], [42, 75], [58, 75]], np.float32)
    quad = ffhq_quad(pts)
    np.testing.assert_allclose(quad, [[5, 7.5], [5, 97.5], [95, 97.5], [95, 7.5]], atol=1e-4)
    # Rotating the face rotates the crop square with it, so eyes land on the same crop pixels.
    theta = np.deg2rad(30)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]], np.float32)
    pts_r = (pts - 50) @ rot.T + 120
    m0, m1 = quad_affine(quad, 90), quad_affine(ffhq_quad(pts_r), 90)
    np.testing.assert_allclose(transform_points(pts, m0), transform_points(pts_r, m1), atol=1e-3)
    np.testing.assert_allclose(transform_points(pts, m0)[:2], [[35, 42.5], [55, 42.5]], atol=1e-3)
    np.testing.assert_allclose(box_quad((10, 10, 50, 50), scale=1.0, shift=0.0),
                               [[10, 10], [10, 50], [50, 50], [50, 10]])


def test_align_face_maps_pixels():
    img = np.zeros((200, 200, 3), np.uint8)
    pts = np.array([[80, 90], [120, 90], [84, 140], [116, 140]], np.float32)
    for x, y in pts[:2]:
        cv2.circle(img, (int(x), int(y)), 3, (255, 255, 255), -1)
    crop = align_face(img, pts, 64)
    quad = ffhq_quad(pts)
    eyes = transform_points(pts[:2], quad_affine(quad, 64))
    assert crop.shape == (64, 64, 3)
    for x, y in eyes:
        assert crop[int(round(y)), int(round(x))].mean() > 100
    assert crop[2, 2].mean() == 0
    mesh = np.zeros((478, 2), np.float32)
    assert eye_mouth_points(mesh).shape == (4, 2)


def test_phash_duplicates_and_blur():
    photo = np.asarray(Image.open(GOOD_PHOTO).convert("RGB"))
    resized = cv2.resize(photo, (300, 300), interpolation=cv2.INTER_AREA)
    resized = cv2.resize(resized, (400, 400))
    other = np.asarray(Image.open(ASSETS_DIR / "demo_photos" / "profile_010.jpg").convert("RGB"))
    assert F.hamming(F.phash(photo), F.phash(resized)) <= 4
    assert F.hamming(F.phash(photo), F.phash(other)) > 12
    assert F.hamming(F.dhash(photo), F.dhash(resized)) <= 6
    idx = F.DuplicateIndex(threshold=6)
    idx.add(F.phash(photo), "a")
    assert idx.find(F.phash(resized)) == "a"
    assert idx.find(F.phash(other)) is None
    assert F.blur_score(cv2.GaussianBlur(photo, (0, 0), 4)) < F.blur_score(photo) / 4


def test_demo_duplicates_cache_hit_metadata_and_export(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("profile_000.jpg", "profile_000_copy.jpg", "profile_003.jpg", "profile_110.jpg"):
        (src / name).write_bytes((ASSETS_DIR / "demo_photos" / name).read_bytes())
    cache = tmp_path / "cache"
    first = F.scan_folder(src, F.ScanConfig(), cache_dir=cache)
    s = first.summary()
    assert s["images"] == 4 and s["faces_kept"] == 2 and s["duplicates"] == 1
    assert s["rejected"] == {F.R_NO_FACE: 1}
    assert not any(r.cached for r in first.records)
    second = F.scan_folder(src, F.ScanConfig(), cache_dir=cache)
    assert all(r.cached for r in second.records)
    assert second.summary() | {"seconds": 0} == s | {"seconds": 0}
    a = first.kept_crops()[0][1].crop
    b = second.kept_crops()[0][1].crop
    np.testing.assert_array_equal(a, b)
    meta = F.read_metadata(ASSETS_DIR / "demo_photos" / "metadata.csv")
    assert meta["profile_000.jpg"]["occupation"]
    out = F.export_training_set(second, tmp_path / "export", meta)
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 2 and (out / "manifest.csv").exists()
    arr = np.load(tmp_path / "export" / "faces.npz")["images"]
    assert arr.shape == (2, 64, 64, 3) and arr.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(Image.open(pngs[0])), arr[0])


def test_cli_json(bad_folder: Path, tmp_path: Path, capsys):
    rc = F.main(["scan", str(bad_folder), "--out", str(tmp_path / "out"), "--json", "--size", "32",
                 "--cache-dir", str(tmp_path / "c")])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["summary"]) == {"files", "skipped", "images", "faces_kept", "rejected", "duplicates",
                                   "seconds"}
    assert doc["summary"]["images"] == 4 and doc["summary"]["faces_kept"] == 1
    assert len(doc["records"]) == 4
    crops = list((tmp_path / "out").glob("*.png"))
    assert len(crops) == 1 and Image.open(crops[0]).size == (32, 32)


def test_haar_detector_runs():
    photo = np.asarray(Image.open(GOOD_PHOTO).convert("RGB"))
    faces = F.get_detector("haar")(photo)
    assert isinstance(faces, list)
    for f in faces:
        assert 0 <= f.box[0] < f.box[2] <= 400


# ---- targets on ../shared fixtures (downscaled so the suite stays fast) ----

PORTRAIT_ANIMALS = {"s22", "s23", "s25", "s30", "s31", "s32", "s33", "s36", "s38", "s39", "s40", "s41"}


def _downscaled_sources(folder: Path, side: int = 320):
    def reader(p: Path):
        def read() -> bytes:
            im = Image.open(p).convert("RGB")
            im.thumbnail((side, side))
            b = io.BytesIO()
            im.save(b, format="JPEG", quality=92)
            return b.getvalue()
        return read
    return [(p.name, reader(p)) for p in list_image_files(folder)]


def test_shared_celeba_hq_kept(tmp_path: Path):
    folder = shared_path("data", "faces", "celeba_hq")
    res = F.scan_files(_downscaled_sources(folder), F.ScanConfig(), cache_dir=tmp_path, keep_crops=False)
    assert res.summary()["images"] == 56
    assert res.summary()["faces_kept"] >= 55


def test_shared_afhq_rejected(tmp_path: Path):
    folder = shared_path("data", "nonfaces", "afhq")
    res = F.scan_files(_downscaled_sources(folder), F.ScanConfig(), cache_dir=tmp_path, keep_crops=False)
    assert res.summary()["images"] == 43
    assert sum(len(r.faces) > 0 for r in res.records) <= 1


def test_shared_portraits_confusion(tmp_path: Path):
    folder = shared_path("data", "faces", "portraits")
    res = F.scan_files(_downscaled_sources(folder), F.ScanConfig(), cache_dir=tmp_path, keep_crops=False)
    kept = {Path(r.file).stem for r in res.records if r.kept_faces}
    humans = {Path(r.file).stem for r in res.records} - PORTRAIT_ANIMALS
    assert humans <= kept, f"human portraits missed: {sorted(humans - kept)}"
    assert len(kept & PORTRAIT_ANIMALS) <= 1, f"animals kept: {sorted(kept & PORTRAIT_ANIMALS)}"


def test_background_scan_job(bad_folder: Path, tmp_path: Path):
    from core import jobs

    run = tmp_path / "run"
    job = F.start_scan_job(run, F.folder_sources(bad_folder), F.ScanConfig(size=32), cache_dir=tmp_path / "c")
    assert job.wait(60) and job.exception is None
    status = jobs.read_job(run)  # what a page rerun or another tab sees
    assert status.state == jobs.DONE and status.kind == F.JOB_KIND and status.error is None
    assert status.progress.done == status.progress.total == 4 and status.progress.unit == "images"
    assert status.result["faces_kept"] == 1 and status.result["images"] == 4
    assert jobs.get_thread_job(run) is job  # a rerun finds the handle, and with it the in-memory result
    assert job.result.summary()["faces_kept"] == 1
    assert job.result.kept_crops()[0][1].crop.shape == (32, 32, 3)
    jobs.forget_thread_job(run)
    assert jobs.get_thread_job(run) is None


def test_background_scan_job_cancel(bad_folder: Path, tmp_path: Path):
    from core import jobs

    run = tmp_path / "run"
    files = F.folder_sources(bad_folder)
    gate = threading.Event()

    def slow_first(read=files[0][1]):
        gate.wait(30)  # holds the scan until the cancel request is in
        return read()

    job = F.start_scan_job(run, [(files[0][0], slow_first)] + files[1:], F.ScanConfig(size=32),
                           cache_dir=tmp_path / "c")
    with pytest.raises(jobs.JobBusyError):  # one job per run folder
        F.start_scan_job(run, files, F.ScanConfig(size=32), cache_dir=tmp_path / "c")
    jobs.request_cancel(run)
    gate.set()
    assert job.wait(60)
    status = jobs.read_job(run)
    assert status.state == jobs.CANCELLED and isinstance(job.exception, F.ScanCancelled)
    assert status.progress.done < 4 and job.result is None


def test_face_stats_values():
    from core.faces import stats as S

    rng = np.random.default_rng(0)
    dark = np.clip(rng.normal(60, 8, (20, 16, 16, 3)), 0, 255).astype(np.uint8)
    light = np.clip(rng.normal(190, 8, (20, 16, 16, 3)), 0, 255).astype(np.uint8)
    crops = np.concatenate([dark, light])
    hist = S.channel_histograms(crops)
    assert hist.shape == (3, 256) and (hist.sum(1) == 40 * 16 * 16).all()
    br, ct = S.brightness_contrast(crops)
    assert br[:20].max() < 80 < 170 < br[20:].min() and (ct < 20).all()
    assert abs(int(S.mean_face(crops).mean()) - 125) <= 3
    comps, ratio = S.eigenfaces(crops, 4)
    assert comps.shape == (4, 16, 16, 3) and ratio[0] > 0.5 and ratio.sum() <= 1.0 + 1e-6
    for xy in (S.pca_2d(crops), S.tsne_2d(crops, iterations=250)):
        assert xy.shape == (40, 2)
        gap = np.linalg.norm(xy[:20].mean(0) - xy[20:].mean(0))
        assert gap > 2 * max(xy[:20].std(0).max(), xy[20:].std(0).max())
    whole, words = S.occupation_counts(["Data Scientist", "data scientist", "Head of Data", ""])
    assert whole["data scientist"] == 2 and words["data"] == 3 and "of" not in words


def test_modern_fast_keypoint_alignment_close_to_mesh():
    photo = np.asarray(Image.open(GOOD_PHOTO).convert("RGB"))
    mesh_face = F.get_detector("modern")(photo)[0]
    fast_face = F.get_detector("modern-fast")(photo)[0]
    assert mesh_face.landmarks is not None and fast_face.landmarks is None
    a, b = np.asarray(mesh_face.points), np.asarray(fast_face.points)
    eye_dist = np.linalg.norm(a[1] - a[0])
    assert np.linalg.norm(a[:2] - b[:2], axis=1).max() < 0.35 * eye_dist
    assert np.linalg.norm(a[2:].mean(0) - b[2:].mean(0)) < 0.35 * eye_dist


def test_preview_pictures(tmp_path: Path):
    from core.faces import preview

    crop = np.full((32, 32, 3), 90, np.uint8)
    kept = F.ImageRecord(file="a.jpg", faces=[F.FaceRecord([4, 4, 20, 20], 1.0, [(8, 8), (16, 8), (12, 16)],
                                                           None, 99.0, "0" * 16, kept=True, crop=crop)])
    gone = F.ImageRecord(file="missing.jpg", faces=[F.FaceRecord([30, 30, 60, 60], 1.0, None, None, 1.0,
                                                                 "0" * 16, reason=F.R_BLURRY)])
    assert (preview.thumbnail(kept, tmp_path, 16) == 90).all()
    assert (preview.thumbnail(gone, tmp_path, 16) == preview.PLACEHOLDER).all()  # file vanished: grey
    result = F.ScanResult([kept, gone], 0.0, F.ScanConfig(size=32))
    assert preview.kept_array(result).shape == (1, 32, 32, 3)
    grid = preview.face_mosaic(np.repeat(crop[None], 14, 0), side=10, cols=12, limit=13)
    assert grid.shape == (2 * 10 + 3 * 3, 12 * 10 + 13 * 3, 3)
    drawn = preview.draw_detections(np.zeros((100, 100, 3), np.uint8), F.ImageRecord(
        file="b.jpg", faces=kept.faces + gone.faces))
    assert tuple(drawn[4, 12]) == preview.KEPT and tuple(drawn[30, 45]) == preview.REJECTED
    assert tuple(drawn[8, 8]) == preview.POINTS
    assert preview.jpeg_bytes(drawn)[:2] == b"\xff\xd8"


def test_explorer_figures_values():
    from core import survey
    from core.faces import figures

    hist = np.arange(3 * 256, dtype=float).reshape(3, 256)
    fig = figures.channel_histogram_figure(hist)
    assert [t.line.color for t in fig.data] == ["red", "green", "blue"]
    assert list(fig.data[2].y[:2]) == [512.0, 513.0]
    brightness = figures.value_histogram_figure(np.array([1.0, 2.0]), "Brightness")
    assert brightness.layout.title.text == "Brightness" and list(brightness.data[0].x) == [1.0, 2.0]
    bars = figures.occupation_bar_figure({"nurse": 1, "engineer": 3, "chef": 2}, top_n=2)
    assert list(bars.data[0].y) == ["engineer", "chef"] and list(bars.data[0].x) == [3, 2]
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    face_map = figures.face_map_figure(crops, list("abcde"), "PCA")
    assert len(face_map.data[0].x) == 5 and list(face_map.data[0].text) == list("abcde")
    assert len(face_map.layout.images) == 5
    with pytest.raises(ValueError, match="map method"):
        figures.face_map_figure(crops, list("abcde"), "UMAP")
    png = figures.occupation_cloud_png({"engineer": 3, "chef": 1}, width=200, height=80)
    assert png == figures.occupation_cloud_png({"engineer": 3, "chef": 1}, width=200, height=80)
    assert Image.open(io.BytesIO(png)).size == (200, 80)
    with pytest.raises(survey.SurveyError):
        figures.occupation_cloud_png({})


def test_annotated_photo(tmp_path: Path):
    from core.faces import preview

    (tmp_path / "a.jpg").write_bytes(GOOD_PHOTO.read_bytes())
    face = F.FaceRecord([4, 4, 40, 40], 1.0, None, None, 99.0, "0" * 16, kept=True)
    calls = []

    def mesh(rgb):
        calls.append(rgb.shape)
        return []

    drawn, why = preview.annotated_photo(tmp_path, F.ImageRecord(file="a.jpg", faces=[face]), mesh)
    assert why == "" and tuple(drawn[4, 20]) == preview.KEPT and len(calls) == 1
    drawn, why = preview.annotated_photo(tmp_path, F.ImageRecord(file="gone.jpg", faces=[face]))
    assert drawn is None and "no such file" in why
    (tmp_path / "b.jpg").write_bytes(b"not a photo")
    drawn, why = preview.annotated_photo(tmp_path, F.ImageRecord(file="b.jpg"))
    assert drawn is None and why


def test_uploads_and_zip_entries_are_written_atomically(tmp_path: Path, monkeypatch):
    """A failed write leaves the earlier file whole (never a truncated photo) and no temp file behind."""
    good = _zip_bytes({"a.jpg": b"first version"})
    dest = F.extract_zip(good, tmp_path / "z")
    damaged = bytearray(_zip_bytes({"a.jpg": b"second version, longer"}))
    central = damaged.index(b"PK\x01\x02")
    damaged[14:18] = damaged[central + 16:central + 20] = b"\x78\x56\x34\x12"  # found only while extracting
    with pytest.raises(F.IngestRefused, match="damaged"):
        F.extract_zip(bytes(damaged), dest)
    assert (dest / "a.jpg").read_bytes() == b"first version"
    assert sorted(p.name for p in dest.iterdir()) == ["a.jpg"]
    up = F.save_uploads([("p.jpg", b"old")], tmp_path / "up")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        F.save_uploads([("p.jpg", b"new photo bytes")], up)
    assert (up / "p.jpg").read_bytes() == b"old" and sorted(p.name for p in up.iterdir()) == ["p.jpg"]


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_upload_batches_and_export_folders_never_mix(tmp_path: Path):
    one, two = [("a.jpg", b"1")], [("a.jpg", b"2")]
    assert F.batch_folder(tmp_path, one) == F.batch_folder(tmp_path, list(one))
    assert F.batch_folder(tmp_path, one) != F.batch_folder(tmp_path, two)
    assert F.batch_folder(tmp_path, one) != F.batch_folder(tmp_path, [("b.jpg", b"1")])
    assert F.batch_folder(tmp_path, one).parent == tmp_path
    first = F.new_upload_folder(tmp_path / "runs")
    assert first.is_dir() and first != F.new_upload_folder(tmp_path / "runs")
    when = 1_700_000_000.0
    path = F.next_export_dir(tmp_path, when)
    assert path.name.startswith("faces-") and not path.exists()
    path.mkdir()
    again = F.next_export_dir(tmp_path, when)
    assert again.name == path.name + "-2"
    again.mkdir()
    assert F.next_export_dir(tmp_path, when).name == path.name + "-3"
