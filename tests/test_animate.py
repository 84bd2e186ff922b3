"""Offline animation engine and pipeline (issue 6): warp values, frames, audio, bad input."""

from __future__ import annotations

import subprocess
import threading

import numpy as np
import pytest

from core import animate as an
from core import video
from core.animate import cli
from core.animate import motion_transfer as mt
from core.cli import run_cli
from core.video import ffmpeg_exe
from tests.conftest import shared_path


def _texture(size: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    import cv2

    noise = rng.uniform(0, 255, (size // 8, size // 8, 3)).astype(np.uint8)
    return cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)


def _motion_kp() -> np.ndarray:
    return an.load_motion(an.bundled_motions()["talk"]).keypoints


def _source_kp() -> np.ndarray:
    # Rest pose of a bundled (procedural) motion: a plausible face layout, no detector needed.
    return _motion_kp()[0]


def test_identity_motion_returns_source():
    img = _texture()
    anim = mt.LandmarkAnimator()
    anim.set_source(img, _source_kp())
    out = anim.render(anim.source_kp)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).max() <= 1


def test_translation_shifts_face_region():
    size = 128
    img = _texture(size)
    anim = mt.LandmarkAnimator()
    anim.set_source(img, _source_kp())
    dx, dy = 3, 2
    out = anim.render(anim.source_kp + np.array([dx, dy], np.float32) / size)
    # Inside the face oval every keypoint moved by (dx, dy): out(x, y) == src(x - dx, y - dy).
    c = (anim.source_kp.mean(0) * size).astype(int)
    r = 10
    got = out[c[1] - r:c[1] + r, c[0] - r:c[0] + r].astype(int)
    want = img[c[1] - r - dy:c[1] + r - dy, c[0] - r - dx:c[0] + r - dx].astype(int)
    assert np.abs(got - want).max() <= 2
    # The image border is anchored.
    for y, x in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        assert np.abs(out[y, x].astype(int) - img[y, x]).max() <= 1


def test_normalize_keypoints_relative_adaptive():
    src = np.array([[0, 0], [2, 0], [0, 2]], np.float32)
    init = np.array([[0, 0], [1, 0], [0, 1]], np.float32)
    drv = init + np.array([0.1, 0.0], np.float32)
    out = mt.normalize_keypoints(src, drv, init, adapt_movement_scale=True)
    np.testing.assert_allclose(out, src + np.array([0.2, 0.0]), atol=1e-6)  # sqrt(2/0.5) = 2
    np.testing.assert_allclose(mt.normalize_keypoints(src, drv, init, use_relative_movement=False), drv)


def test_best_frame_picks_matching_shape():
    kp = _motion_kp()
    assert mt.best_frame(kp[17] * 1.3 + 0.05, kp) == 17


def test_blink_and_mouth_plausible():
    size = 128
    img = np.full((size, size, 3), 200, np.uint8)
    kp = _source_kp()
    anim = mt.LandmarkAnimator()
    anim.set_source(img, kp)
    target = kp.copy()
    lower = [mt.KEYPOINT_INDICES.index(i) for i in (95, 88, 178, 87, 14, 317, 402, 318, 324)]
    target[lower, 1] += 0.06
    # The lower lip's outer edge comes along (an inner lip pushed through it would fold the warp).
    target[[mt.KEYPOINT_INDICES.index(i) for i in (146, 91, 181, 84, 17, 314, 405, 321, 375)], 1] += 0.06
    out = anim.render(target)
    # Under the mouth's centre, between the lips (the warp may hold a lip back where it would fold).
    upper = [mt.KEYPOINT_INDICES.index(i) for i in (13, 82, 312)]
    column = out[int(target[upper, 1].mean() * size):int(target[lower, 1].mean() * size),
                 int(target[lower, 0].mean() * size)]
    assert column.max(1).min() < 120, "an opening mouth is painted dark, not stretched skin"


def _make_video(path, seconds=1.0, audio=True, size=(96, 80)):
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
           f"testsrc=size={size[0]}x{size[1]}:rate=10:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", "-shortest"]
    cmd += ["-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True)
    return path


def test_mux_audio_and_no_audio(tmp_path):
    video.write_mp4([np.full((64, 64, 3), i * 20, np.uint8) for i in range(10)], tmp_path / "silent.mp4", 10)
    with_audio = _make_video(tmp_path / "a.mp4", audio=True)
    without = _make_video(tmp_path / "b.mp4", audio=False)
    assert video.has_audio_stream(with_audio) and not video.has_audio_stream(without)
    assert an.mux_audio(tmp_path / "silent.mp4", with_audio, tmp_path / "out_a.mp4")
    assert video.has_audio_stream(tmp_path / "out_a.mp4")
    assert not an.mux_audio(tmp_path / "silent.mp4", without, tmp_path / "out_b.mp4")
    assert not video.has_audio_stream(tmp_path / "out_b.mp4")
    assert len(list(video.iter_frames(tmp_path / "out_a.mp4"))) == 10
    # Non-AAC audio (PCM in Matroska) is re-encoded to AAC rather than copied.
    pcm = tmp_path / "pcm.mkv"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(with_audio),
                    "-c:v", "copy", "-c:a", "pcm_s16le", str(pcm)], check=True)
    assert video.audio_codec(pcm) == "pcm_s16le"
    assert an.mux_audio(tmp_path / "silent.mp4", pcm, tmp_path / "out_c.mp4")
    assert video.audio_codec(tmp_path / "out_c.mp4") == "aac"


def test_corrupt_and_faceless_video_clear_errors(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x01 not a video" * 100)
    with pytest.raises(video.VideoError, match="corrupt|not a video"):
        video.probe_video(bad)
    with pytest.raises(video.VideoError, match="not found"):
        video.probe_video(tmp_path / "missing.mp4")
    faceless = _make_video(tmp_path / "noface.mp4", seconds=0.5)
    src = _texture(256)
    with pytest.raises(an.AnimationError, match="No face"):
        an.animate(src, faceless, tmp_path / "o.mp4", an.AnimateOptions())
    assert run_cli(cli.main, ["animate", "--source", str(tmp_path / "nope.png"), "--driving", str(bad),
                              "--out", str(tmp_path / "o.mp4")]) == 2


def test_motion_round_trip_and_bundled(tmp_path):
    motions = an.bundled_motions()
    assert {"nod", "turn", "smile", "talk", "blink"} <= set(motions)
    m = an.load_motion(motions["blink"])
    assert m.keypoints.shape[1:] == (mt.NUM_KEYPOINTS, 2)
    p = an.save_motion(m, tmp_path / "m.json")
    np.testing.assert_allclose(an.load_motion(p).keypoints, m.keypoints, atol=1e-3)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(an.AnimationError):
        an.load_motion(tmp_path / "x.json")


def test_bundled_motion_one_frame_per_keypoint_set(tmp_path):
    m = an.load_motion(an.bundled_motions()["nod"])
    src = _texture(256)
    # Drive the engine directly with known source keypoints (no detector on a texture).
    anim = mt.LandmarkAnimator()
    anim.set_source(src, m.keypoints[0])
    frames = list(anim.animate(m.keypoints[:12], m.keypoints[0]))
    assert len(frames) == 12 and frames[0].shape == (256, 256, 3)
    assert np.abs(frames[0].astype(int) - src).max() <= 1
    assert np.abs(frames[11].astype(int) - src).mean() > 1


def test_end_to_end_shared_driving(tmp_path):
    driving_dir = shared_path("data", "driving")
    face_dir = shared_path("data", "faces", "celeba_hq")
    clip = sorted(driving_dir.glob("*.mp4"))[1]
    source = sorted(face_dir.glob("*.jpg"))[0]
    progress = []
    res = an.animate(source, clip, tmp_path / "out.mp4",
                     an.AnimateOptions(max_frames=12, best_frame=True, side_by_side=True),
                     progress=progress.append)
    assert res.frames == 12
    frames = list(video.iter_frames(res.path))
    assert len(frames) == 12 and frames[0].shape == (256, 768, 3)
    assert res.has_audio == video.has_audio_stream(res.path) == video.has_audio_stream(clip)
    assert progress[-1].stage == "done" and progress[-1].fraction == 1.0
    assert 0 <= res.best_frame < 12
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(an.AnimationCancelled):
        an.animate(source, clip, tmp_path / "c.mp4", an.AnimateOptions(max_frames=12), cancel=cancel)


class _ScriptedMesher:
    """Stands in for the face mesh: a face on some frames, none on others."""

    def __init__(self, present):
        self.present, self.i = present, 0

    def mesh(self, frame):
        ok = self.present[self.i]
        self.i += 1
        return [np.full((478, 2), 10.0 * self.i, np.float32)] if ok else []


def test_face_lost_holds_last_pose_and_leading_frames_get_first(tmp_path):
    clip = _make_video(tmp_path / "v.mp4", seconds=0.6, audio=False)   # 6 frames
    stats = {}
    out = list(an.tracked_frames(clip, (0, 0, 80), _ScriptedMesher([0, 1, 1, 0, 0, 1]), stats=stats))
    assert len(out) == 6 and stats["lost"] == 3
    xs = [kp[0, 0] * an.OUTPUT_SIZE for _, kp in out]
    np.testing.assert_allclose(xs, [20, 20, 30, 30, 30, 60], atol=1e-4)
    assert out[0][0].shape == (256, 256, 3)
    with pytest.raises(an.AnimationError, match="could not be tracked"):
        list(an.tracked_frames(clip, (0, 0, 80), _ScriptedMesher([0] * 6)))


def test_vertical_odd_sized_video_without_audio(tmp_path):
    clip = sorted(shared_path("data", "driving").glob("*.mp4"))[4]
    source = sorted(shared_path("data", "faces", "celeba_hq").glob("*.jpg"))[1]
    vertical = tmp_path / "vertical.mov"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip), "-t", "0.5",
                    "-vf", "scale=301:-1,pad=301:451:0:75", "-an", "-c:v", "png", str(vertical)], check=True)
    info = video.probe_video(vertical)
    assert info.size == (301, 451) and not info.has_audio
    res = an.animate(source, vertical, tmp_path / "out.mp4", an.AnimateOptions(upscale=2))
    assert res.frames == info.frames_estimate and not res.has_audio
    frames = list(video.iter_frames(res.path))
    assert len(frames) == res.frames and frames[0].shape == (512, 512, 3)
    x0, y0, side = res.crop
    assert 0 <= x0 and 0 <= y0 and x0 + side <= 301 and y0 + side <= 451


def test_cli_bundled_motion_via_core_fomm(tmp_path):
    from tests.bad_inputs.conftest import run_cli as run_command

    source = sorted(shared_path("data", "faces", "celeba_hq").glob("*.jpg"))[2]
    out = tmp_path / "cli.mp4"
    done = run_command("core.fomm", "animate", "--source", source, "--driving", "smile", "--out", out,
                       "--max-frames", "5", "--absolute", "--no-adapt-scale")
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}: 5 frames" in done.stdout
    assert len(list(video.iter_frames(out))) == 5
    assert run_cli(cli.main, ["record-motion", "--video", str(out), "--out", str(tmp_path / "m.json")]) == 0
    assert an.load_motion(tmp_path / "m.json").keypoints.shape == (5, mt.NUM_KEYPOINTS, 2)


def test_fomm_engine_with_tiny_official_layout_checkpoint(tmp_path):
    ref = shared_path("reference", "fomm")
    clip = sorted(shared_path("data", "driving").glob("*.mp4"))[2]
    source = sorted(shared_path("data", "faces", "celeba_hq").glob("*.jpg"))[0]
    opts = an.AnimateOptions(engine="fomm", checkpoint=str(ref / "tiny64-checkpoint.pth.tar"),
                             fomm_config=str(ref / "tiny64-config.json"), max_frames=2)
    res = an.animate(source, clip, tmp_path / "fomm.mp4", opts)
    assert res.frames == 2 and len(list(video.iter_frames(res.path))) == 2
    from core.animate.pipeline import fomm_animator

    assert fomm_animator(opts).amp_bf16 is False
    from core.device import has_bf16_units

    # asked for, bf16 runs where the CPU has bf16 units; elsewhere the exact fp32 path stays
    asked = fomm_animator(an.AnimateOptions(**{**opts.__dict__, "fomm_bf16": True}))
    assert asked.amp_bf16 is has_bf16_units("cpu")
    with pytest.raises(an.AnimationError, match="checkpoint"):
        an.animate(source, clip, tmp_path / "x.mp4", an.AnimateOptions(engine="fomm", max_frames=2))


def test_turn_motion_never_folds():
    """The warp never folds over: every frame of the turn motion has a positive Jacobian everywhere."""
    kp = an.load_motion(an.bundled_motions()["turn"]).keypoints
    anim = mt.LandmarkAnimator()
    anim.set_source(_texture(256), kp[0])
    warper = anim._warper
    worst = np.inf
    for k in kp[::6]:
        _, nodes = warper.fold_free(*anim.control_points(mt.normalize_keypoints(anim.source_kp, k, kp[0])))
        worst = min(worst, float(warper.jacobian_dets(nodes).min()))
    assert worst > 0


def test_bundled_motions_are_long_and_talk_moves_the_mouth():
    from core.animate import preview

    animator = preview.motion_animator()
    change = {}
    for name, path in an.bundled_motions().items():
        m = an.load_motion(path)
        assert len(m.keypoints) / m.fps >= 6.0, name
        assert np.allclose(m.keypoints[0], m.keypoints[-1], atol=0.01), f"{name} does not loop"
        if name in ("talk", "blink"):
            change[name] = preview.motion_change(m, animator)
    # Mean |frame - rest| on the neutral synthetic face, 0-255: 17.8 (14.8 for the 2.4 s talk motion of
    # issue 12; the mouth interior is painted in the lips' own colour, darkened, not a near-black block).
    assert change["talk"]["mouth"] > 16 and change["talk"]["mouth_step"] > 4
    assert change["blink"]["eyes"] > 4
    assert preview.preview_path("talk") is not None


def test_prefetch_passes_items_errors_and_stops():
    from core.animate.pipeline import prefetch

    assert list(prefetch(iter(range(20)), depth=3)) == list(range(20))

    def failing():
        yield 1
        raise an.AnimationError("boom")

    with pytest.raises(an.AnimationError, match="boom"):
        list(prefetch(failing()))
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    gen = prefetch(endless(), depth=2)
    assert next(gen) == 0
    gen.close()
    assert closed.wait(5)


def test_animation_job_progress_result_and_cancel(tmp_path):
    from core import jobs

    motion = an.load_motion(an.bundled_motions()["blink"])
    assert issubclass(an.AnimationCancelled, jobs.JobCancelled)
    run = tmp_path / "run"
    face = an.preview_face()
    job = an.start_animation_job(run, face, motion, an.AnimateOptions(max_frames=12))
    assert job.wait(120)
    status = jobs.read_job(run)
    assert status.state == jobs.DONE, status.error
    result = an.animation_result(status)
    assert result.frames == 12 and result.path == run / "animation.mp4" and result.path.is_file()
    assert status.progress.done == status.progress.total
    cancel_run = tmp_path / "cancelled"
    job = an.start_animation_job(cancel_run, face, motion)
    jobs.request_cancel(cancel_run)
    assert job.wait(120)
    status = jobs.read_job(cancel_run)
    assert status.state == jobs.CANCELLED and an.animation_result(status) is None
    assert not (cancel_run / "animation.mp4").exists()


def test_preview_face_is_enlarged_as_the_animator_page_enlarges_it():
    """One enlargement of a bundled 64 px face (``display_resize``, Lanczos): the previews and the fidelity
    test animate the picture the page shows, not a blurrier bicubic copy (which re-tracked with more
    jitter: 1.20 against 1.12 on ``liveportrait_d0``, docs/animation.md, Session 9)."""
    from core.animate.preview import FACES_NPZ, PREVIEW_FACE
    from core.image.convert import display_resize

    with np.load(FACES_NPZ, allow_pickle=False) as data:
        small = data["images"][PREVIEW_FACE]
    face = an.preview_face()
    assert face.shape == (256, 256, 3) and face.dtype == np.uint8
    assert np.array_equal(face, display_resize(small, 256))
