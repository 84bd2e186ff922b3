"""A face that says your line (core.animate.voice): voice analysis, the synthesised motion, and the
rendered MP4 re-tracked against the voice (espeak-ng speech; it skips without espeak-ng on a user's
machine and fails in CI, where espeak-ng is installed)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from core import ASSETS_DIR
from core.animate import motion_transfer as mt
from core.animate import voice as V
from core.animate.audio import decode_audio, write_wav
from core.animate.errors import AnimationError
from core.animate.motions import load_motion, save_motion
from core.animate.pipeline import AnimateOptions
from tests.conftest import skip_or_fail

SR = V.VOICE_SAMPLE_RATE
POS = {idx: i for i, idx in enumerate(mt.KEYPOINT_INDICES)}
LINE = ("Hello everyone. Today you will see a face that speaks your words. "
        "It opens its mouth, it pauses, and it blinks.")


def vowel(seconds: float, f0: float, formants: tuple[float, ...]) -> np.ndarray:
    """A buzz at ``f0`` shaped by resonances at ``formants`` (a crude vowel)."""
    t = np.arange(int(seconds * SR)) / SR
    out = np.zeros_like(t)
    for k in range(1, int(5000 / f0)):
        gain = sum(1.0 / (1.0 + ((k * f0 - f) / 120.0) ** 2) for f in formants)
        out += gain / k ** 0.5 * np.sin(2 * np.pi * k * f0 * t)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def gap(kp: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(kp[:, POS[a]] - kp[:, POS[b]], axis=-1)


@pytest.fixture(scope="module")
def bursts() -> np.ndarray:
    """0.4 s silence, "oo" 0.5 s, 0.4 s silence, "ee" 0.5 s, 0.4 s silence, "aa" 0.5 s, 0.3 s silence."""
    silence = lambda s: np.zeros(int(s * SR), np.float32)  # noqa: E731
    return np.concatenate([silence(0.4), vowel(0.5, 120, (300, 870)), silence(0.4),
                           vowel(0.5, 120, (270, 2300, 3000)), silence(0.4), vowel(0.5, 120, (730, 1090)),
                           silence(0.3)])


def test_analysis_opens_on_sound_closes_on_silence_and_shapes_the_lips(bursts):
    track = V.analyse_voice(bursts, SR, 25.0)
    assert len(track.opening) == round(len(bursts) / SR * 25)
    frames = lambda a, b: slice(int(a * 25), int(b * 25))  # noqa: E731
    oo, ee, aa = frames(0.55, 0.85), frames(1.45, 1.75), frames(2.35, 2.65)
    for sound in (oo, ee, aa):
        assert track.opening[sound].mean() > 0.5
    for quiet in (frames(0.0, 0.32), frames(1.15, 1.25), frames(2.05, 2.15), frames(2.95, 3.0)):
        assert track.opening[quiet].max() < 0.05, track.opening[quiet]
    assert track.rounding[oo].mean() > 0.5 > track.rounding[ee].mean()
    assert track.spread[ee].mean() > 0.5 > track.spread[oo].mean()
    assert np.corrcoef(track.opening, track.loudness)[0, 1] > 0.8


def test_motion_is_a_motion_file_at_rest_first_with_blinks_and_a_moving_head(bursts, tmp_path):
    track = V.analyse_voice(np.tile(bursts, 4), SR, 25.0)
    motion = V.voice_motion(track, V.VoiceOptions(seed=3))
    kp = motion.keypoints
    assert kp.shape == (len(track.opening), mt.NUM_KEYPOINTS, 2) and motion.fps == 25.0
    np.testing.assert_array_equal(kp[0], V.rest_keypoints())
    mouth = gap(kp, 13, 14)
    assert np.corrcoef(mouth, track.opening)[0, 1] > 0.95
    eyes = gap(kp, 159, 145)
    assert eyes.min() < 0.4 * eyes[0], "no blink in 12 s"
    centre = kp[:, mt.OVAL_POS].mean(1)
    assert 0.002 < np.abs(centre - centre[0]).max() < 0.05, "the head should move, a little"
    # Seeded: the same voice and seed give the same motion; another seed other blinks.
    np.testing.assert_array_equal(V.voice_motion(track, V.VoiceOptions(seed=3)).keypoints, kp)
    assert not np.array_equal(V.voice_motion(track, V.VoiceOptions(seed=4)).keypoints, kp)
    # It is an ordinary motion file (what --driving motion.json reads).
    again = load_motion(save_motion(motion, tmp_path / "voice.json"))
    np.testing.assert_allclose(again.keypoints, kp, atol=1e-3)


def test_silence_is_refused():
    quiet = (np.random.default_rng(0).standard_normal(SR * 2) * 1e-4).astype(np.float32)
    with pytest.raises(AnimationError, match="silent"):
        V.analyse_voice(quiet, SR)


def test_best_lag_correlation_finds_a_shift():
    rng = np.random.default_rng(1)
    b = np.convolve(rng.standard_normal(200), np.ones(4), "same")
    a = np.roll(b, 2)
    r, lag = V.best_lag_correlation(a, b, 3)
    assert lag == 2 and r > 0.99


@pytest.fixture(scope="module")
def espeak_voice(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        skip_or_fail("espeak-ng is not installed (apt-get install espeak-ng)")
    path = tmp_path_factory.mktemp("voice") / "line.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(path), LINE], check=True,
                   capture_output=True)
    return path


def test_face_says_an_espeak_line_in_sync(espeak_voice, tmp_path):
    from core.show.render.animation import bundled_face
    from core.showcase import load_demo_face_indices

    source = bundled_face(load_demo_face_indices(ASSETS_DIR / "demo_faces" / "faces64.npz")[0])
    out = tmp_path / "says.mp4"
    result = V.speak(source, espeak_voice, out, AnimateOptions(), crop_source=False)
    pcm = V.read_voice(espeak_voice)
    assert result.has_audio and out.is_file()
    assert result.frames == round(len(pcm) / SR * 25) and result.fps == 25.0
    # The sound in the MP4 is the voice, on time (AAC's priming delay is cut by the edit list).
    muxed = decode_audio(out)
    assert abs(len(muxed) - result.frames / 25 * SR) < 0.05 * SR
    assert abs(V.audio_offset_ms(pcm, muxed, SR)) <= 40.0
    # The re-tracked mouth follows the loudness envelope, at once.
    mouth = V.mouth_openings(out)
    assert np.isfinite(mouth).all(), "the face was lost"
    r, lag = V.best_lag_correlation(mouth, V.loudness_envelope(pcm, SR, 25.0), 3)
    assert r >= 0.6 and abs(lag) <= 1, (r, lag)


def test_speech_job_and_a_video_sound_track(bursts, tmp_path):
    """The background job (the page's path) with a video given as the voice: its sound track is used."""
    from core import jobs, video
    from core.animate.job import animation_result, start_speech_job

    wav = write_wav(tmp_path / "bursts.wav", bursts, SR)
    clip = tmp_path / "clip.mp4"
    video.write_mp4([np.full((64, 64, 3), 80, np.uint8)] * 75, tmp_path / "silent.mp4", fps=25)
    subprocess.run([video.ffmpeg_exe(), "-v", "error", "-y", "-i", str(tmp_path / "silent.mp4"),
                    "-i", str(wav), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(clip)],
                   check=True)
    from core.show.render.animation import bundled_face

    face = bundled_face(493)
    job = start_speech_job(tmp_path / "run", face, clip, crop_source=False)
    assert job.wait(120)
    status = jobs.read_job(tmp_path / "run")
    assert status.state == jobs.DONE, status.error
    result = animation_result(status)
    assert result.has_audio and result.frames == round(len(bursts) / SR * 25)
