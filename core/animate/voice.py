"""A face that says your line: a voice becomes a driving :class:`~core.animate.motions.Motion`.

``speak(source, "voice.wav", "out.mp4")`` decodes the voice (:func:`core.animate.audio.decode_audio`,
the bundled ffmpeg), analyses it frame by frame at the video's rate, synthesises a keypoint trajectory
in the motion-file format ((T, K, 2) normalised engine keypoints, like ``assets/motions/*.json``) and
renders it with the offline engine through :func:`core.animate.pipeline.animate`, which muxes the
same decoded samples back in, so picture and sound share one clock.

The motion, per video frame ``i`` (the window is centred on the middle of the frame's display time):

* **mouth opening** from the loudness envelope: the frame's RMS in dB, mapped from a gate (30 dB
  under the voice's loud level, or 6 dB over its noise floor) to full opening, smoothed with a fast
  attack (20 ms) and a slower release (80 ms) as a jaw moves; below the gate the mouth closes;
* **mouth shape** from the spectrum, in formant bands: energy around the second formant (1.8-3.5 kHz)
  spreads the lips (front vowels, "ee"), energy held under ~700 Hz rounds them (back vowels, "oo"),
  a high first formant ("aa") leaves them open; hiss-like frames (most energy over 4 kHz: s, f, sh)
  nearly close the mouth;
* **blinks** at seeded random intervals (a gamma law, ~17 a minute as people blink while talking),
  each a fast close and a slower reopening;
* **head motion**: slow seeded wander of yaw, pitch and roll (a few degrees), plus a small nod and
  raised brows on stressed syllables (loudness above its moving average), so it is not a puppet.

Frame 0 is always the rest pose (mouth closed, eyes open, head still): the engine moves the source by
the difference to the first frame, so the face starts as it is in the photo.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.animate import motion_transfer as mt
from core.animate.audio import MAX_VOICE_SECONDS, VOICE_SAMPLE_RATE, decode_audio, write_wav
from core.animate.errors import AnimationError
from core.animate.motions import Motion, bundled_motions, load_motion
from core.animate.progress import ProgressFn

VOICE_FPS = 25.0
SILENT_DBFS = -55.0        # a voice whose loudest frame is quieter than this is refused as silent
GATE_RANGE_DB = 30.0       # the mouth opens over this many dB under the voice's loud level
NOISE_MARGIN_DB = 6.0      # ... and only this far above its noise floor
GATE_FADE_DB = 6.0         # the mouth closes smoothly over this many dB above the gate
OPENING_GAMMA = 0.85       # opening = (amplitude / loud amplitude) ** gamma
LOUD_PERCENTILE = 95       # the "loud level" of a voice: this percentile of its frames' dB
ATTACK_S, RELEASE_S = 0.02, 0.06
SHAPE_S = 0.06             # smoothing of the lip shape
SPREAD_FROM, SPREAD_RANGE = 0.10, 0.12     # share of 200-3500 Hz energy over 1.8 kHz -> spread lips
ROUND_BELOW_HZ, ROUND_RANGE_HZ = 700.0, 300.0  # centroid of 200-1500 Hz under this -> rounded lips
FRAMES_PER_CHUNK = 512     # frames analysed at once (bounds the memory of a 5-minute voice)
REST_MOTION = "talk"       # the bundled motion whose first frame (the rest pose) the voice deforms

_POS = {idx: i for i, idx in enumerate(mt.KEYPOINT_INDICES)}
_RIGHT_UPPER_LID = [246, 161, 160, 159, 158, 157, 173]
_RIGHT_LOWER_LID = [7, 163, 144, 145, 153, 154, 155]
_LEFT_UPPER_LID = [466, 388, 387, 386, 385, 384, 398]
_LEFT_LOWER_LID = [249, 390, 373, 374, 380, 381, 382]
_LOWER_LIP = [95, 88, 178, 87, 14, 317, 402, 318, 324, 146, 91, 181, 84, 17, 314, 405, 321, 375]
_UPPER_LIP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 185, 40, 39, 37, 0, 267, 269, 270, 409]
_BROWS = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 300, 293, 334, 296, 336, 285, 295, 282, 283, 276]


def _pos(indices: list[int]) -> np.ndarray:
    """Engine-keypoint positions of those face-mesh points that are engine keypoints."""
    return np.array([_POS[i] for i in indices if i in _POS], dtype=np.int64)


@dataclass
class VoiceOptions:
    fps: float = VOICE_FPS           # frames per second of the motion (and of the video)
    seed: int = 0                    # blinks and head wander
    jaw: float = 0.4                 # jaw drop at full loudness, in mouth-to-chin distances
    head: float = 1.0                # head-motion strength (0: a still head)
    blinks_per_minute: float = 17.0
    max_seconds: float = MAX_VOICE_SECONDS


@dataclass
class VoiceTrack:
    """Per-frame analysis of a voice (arrays of length T)."""
    fps: float
    seconds: float
    loudness: np.ndarray     # RMS of the frame's samples (linear): the loudness envelope
    opening: np.ndarray      # 0 (closed) .. 1 (loudest), gated and smoothed
    rounding: np.ndarray     # 0..1: "oo"-like lips
    spread: np.ndarray       # 0..1: "ee"-like lips
    emphasis: np.ndarray     # 0..1: loudness above its moving average (stressed syllables)


# ------------------------------------------------------------------------------------ analysis

def _smooth(x: np.ndarray, fps: float, attack_s: float, release_s: float | None = None) -> np.ndarray:
    """One-pole smoothing with separate rise (attack) and fall (release) time constants."""
    release_s = attack_s if release_s is None else release_s
    up = 1.0 - math.exp(-1.0 / (fps * max(attack_s, 1e-6)))
    down = 1.0 - math.exp(-1.0 / (fps * max(release_s, 1e-6)))
    out = np.empty_like(x, dtype=np.float32)
    state = 0.0
    for i, v in enumerate(x):
        state += (up if v > state else down) * (float(v) - state)
        out[i] = state
    return out


def frame_count(samples: int, sample_rate: int, fps: float) -> int:
    """Video frames for ``samples`` of sound (at least one)."""
    return max(1, int(round(samples * fps / sample_rate)))


def frame_windows(pcm: np.ndarray, sample_rate: int, fps: float, start: int = 0,
                  stop: int | None = None) -> np.ndarray:
    """(stop - start, W) Hann-weighted windows, two frames long, centred on the middle of each frame's
    display time: frame ``i`` is on screen during [i/fps, (i+1)/fps), its window is centred on
    (i + 0.5)/fps. Samples outside the voice count as silence."""
    n = frame_count(len(pcm), sample_rate, fps)
    stop = n if stop is None else min(stop, n)
    width = int(round(2 * sample_rate / fps)) // 2 * 2
    centres = np.round((np.arange(start, stop) + 0.5) * sample_rate / fps).astype(np.int64)
    idx = centres[:, None] - width // 2 + np.arange(width)[None, :]
    inside = (idx >= 0) & (idx < len(pcm))
    windows = np.where(inside, np.asarray(pcm, np.float32)[np.clip(idx, 0, len(pcm) - 1)], 0.0)
    return (windows * np.hanning(width)).astype(np.float32)


def _rms(windows: np.ndarray) -> np.ndarray:
    weight = float((np.hanning(windows.shape[1]) ** 2).mean())
    return np.sqrt((windows.astype(np.float64) ** 2).mean(1) / max(weight, 1e-12)).astype(np.float32)


def loudness_envelope(pcm: np.ndarray, sample_rate: int, fps: float = VOICE_FPS) -> np.ndarray:
    """Per-frame RMS of the voice (the window of :func:`frame_windows`): the measure the mouth follows."""
    n = frame_count(len(pcm), sample_rate, fps)
    return np.concatenate([_rms(frame_windows(pcm, sample_rate, fps, i, i + FRAMES_PER_CHUNK))
                           for i in range(0, n, FRAMES_PER_CHUNK)])


def _spectral_features(pcm: np.ndarray, sample_rate: int, fps: float) -> dict[str, np.ndarray]:
    """Per frame: RMS; hiss (share of energy over 4 kHz); brightness (share of 200-3500 Hz energy over
    1.8 kHz); the centroid of 200-1500 Hz. Computed in chunks of frames, so memory stays bounded."""
    out: dict[str, list[np.ndarray]] = {"rms": [], "hiss": [], "bright": [], "low_centroid": []}
    for i in range(0, frame_count(len(pcm), sample_rate, fps), FRAMES_PER_CHUNK):
        windows = frame_windows(pcm, sample_rate, fps, i, i + FRAMES_PER_CHUNK)
        spectrum = np.abs(np.fft.rfft(windows, axis=1)) ** 2
        freqs = np.fft.rfftfreq(windows.shape[1], 1.0 / sample_rate)

        energy = {band: spectrum[:, (freqs >= band[0]) & (freqs < band[1])].sum(1) + 1e-12
                  for band in ((4000, sample_rate / 2), (80, sample_rate / 2), (1800, 3500), (200, 3500),
                               (200, 1500))}
        low = (freqs >= 200) & (freqs < 1500)
        out["rms"].append(_rms(windows))
        out["hiss"].append(energy[4000, sample_rate / 2] / energy[80, sample_rate / 2])
        out["bright"].append(energy[1800, 3500] / energy[200, 3500])
        out["low_centroid"].append((spectrum[:, low] * freqs[low]).sum(1) / energy[200, 1500])
    return {k: np.concatenate(v) for k, v in out.items()}


def analyse_voice(pcm: np.ndarray, sample_rate: int = VOICE_SAMPLE_RATE, fps: float = VOICE_FPS,
                  name: str = "the voice") -> VoiceTrack:
    """Loudness, mouth opening and lip shape of every video frame; AnimationError for silence."""
    features = _spectral_features(pcm, sample_rate, fps)
    rms = features["rms"]
    db = 20.0 * np.log10(rms + 1e-10)
    if not np.isfinite(db).any() or db.max() < SILENT_DBFS:
        raise AnimationError(f"{name} is silent (its loudest moment is under {SILENT_DBFS:g} dBFS): "
                             "record the voice again, closer to the microphone.")
    audible = db[db > db.max() - 60.0]
    loud = float(np.percentile(audible, LOUD_PERCENTILE))
    noise = float(np.percentile(db, 10))
    gate = max(loud - GATE_RANGE_DB, noise + NOISE_MARGIN_DB)
    gate = min(gate, loud - 6.0)   # a voice with no pauses at all still moves the mouth
    # Opening follows the amplitude (compressed a little, as a jaw does not double for 6 dB), and closes
    # over the last GATE_FADE_DB above the gate.
    amplitude = np.clip(rms / 10.0 ** (loud / 20.0), 0.0, 1.25) ** OPENING_GAMMA
    opening = np.clip(amplitude * np.clip((db - gate) / GATE_FADE_DB, 0.0, 1.0), 0.0, 1.0)
    fricative = np.clip((features["hiss"] - 0.35) / 0.35, 0.0, 1.0)  # s, f, sh: lips nearly close on teeth
    opening = opening * (1.0 - 0.6 * fricative)
    # Front vowels ("ee", "eh") put energy high, around the second formant; rounded back vowels ("oo",
    # "oh") keep it all low, under ~700 Hz; an open "aa" has its first formant high in the low band.
    bright, low_centroid = features["bright"], features["low_centroid"]
    spread = np.clip((bright - SPREAD_FROM) / SPREAD_RANGE, 0.0, 1.0)
    rounding = np.clip((ROUND_BELOW_HZ - low_centroid) / ROUND_RANGE_HZ, 0.0, 1.0) * (1.0 - spread)
    presence = np.clip(opening * 3.0, 0.0, 1.0)             # shape matters only while sounding

    opening = _smooth(opening, fps, ATTACK_S, RELEASE_S)
    slow = _smooth(opening, fps, 0.6)
    emphasis = np.clip((_smooth(opening, fps, 0.08) - slow) * 2.5, 0.0, 1.0)
    return VoiceTrack(fps, len(pcm) / sample_rate, rms, opening.astype(np.float32),
                      _smooth(rounding * presence, fps, SHAPE_S), _smooth(spread * presence, fps, SHAPE_S),
                      emphasis.astype(np.float32))


# ------------------------------------------------------------------------------------ synthesis

def rest_keypoints() -> np.ndarray:
    """(K, 2) normalised keypoints of a neutral face: the first frame of a bundled motion (its rest pose,
    the mean face of the bundled synthetic set)."""
    motions = bundled_motions()
    if not motions:
        raise AnimationError("The bundled motions (assets/motions) are missing: a voice needs the rest pose "
                             "they start from.")
    path = motions.get(REST_MOTION) or next(iter(motions.values()))
    return load_motion(path).keypoints[0].copy()


def blink_curve(n: int, fps: float, rng: np.random.Generator, per_minute: float) -> np.ndarray:
    """0 (open) .. 1 (closed) per frame: blinks at gamma-distributed intervals, fast close, slower open."""
    out = np.zeros(n, np.float32)
    if per_minute <= 0 or n < 2:
        return out
    mean_gap = 60.0 / per_minute
    t = np.arange(n) / fps
    at = float(rng.uniform(0.6, 1.6) * mean_gap * 0.5)
    while at < t[-1]:
        centre = round(at * fps) / fps             # the lids fully meet on one frame
        d = t - centre
        out = np.maximum(out, np.where(d < 0, np.exp(-0.5 * (d / 0.045) ** 2),
                                       np.exp(-0.5 * (d / 0.075) ** 2)).astype(np.float32))
        at += max(1.0, float(rng.gamma(3.0, mean_gap / 3.0)))
    return out


def _wander(n: int, fps: float, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """A slow, smooth random signal (three sinusoids of 0.05-0.35 Hz), zero at frame 0."""
    t = np.arange(n) / fps
    freqs = rng.uniform(0.05, 0.35, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    weights = rng.uniform(0.5, 1.0, 3)
    x = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None] + phases[:, None])).sum(0)
    x = x / weights.sum()
    return (amplitude * (x - x[0])).astype(np.float32)


class _Face:
    """The rest pose and the geometry the deformations need, measured once."""

    def __init__(self, rest: np.ndarray):
        self.rest = rest.astype(np.float32)
        p = self.rest
        self.mouth = p[[_POS[13], _POS[14]]].mean(0)
        self.chin_drop = float(p[_POS[152], 1] - self.mouth[1])
        self.half_mouth = float(abs(p[_POS[291], 0] - p[_POS[61], 0]) / 2)
        self.eye_h = float(abs(p[_POS[145], 1] - p[_POS[159], 1])) + 1e-6
        below = np.clip((p[:, 1] - self.mouth[1]) / (0.5 * self.chin_drop), 0, 1)
        lateral = np.clip(1.3 - np.abs(p[:, 0] - self.mouth[0]) / (3 * self.half_mouth), 0, 1)
        self.jaw_weight = below * lateral
        self.jaw_weight[_pos(_LOWER_LIP)] = 1.0
        self.upper_lip = _pos(_UPPER_LIP)
        r = np.hypot(p[:, 0] - self.mouth[0], (p[:, 1] - self.mouth[1]) * 2)
        self.near_mouth = np.clip(1.0 - r / (1.8 * self.half_mouth), 0, 1)
        self.side = np.clip((p[:, 0] - self.mouth[0]) / self.half_mouth, -1, 1)
        self.brows = _pos(_BROWS)
        self.lids = [(_pos(u), _pos(lo)) for u, lo in ((_RIGHT_UPPER_LID, _RIGHT_LOWER_LID),
                                                        (_LEFT_UPPER_LID, _LEFT_LOWER_LID))]
        oval = p[mt.OVAL_POS]
        self.centre = oval.mean(0)
        half = (oval.max(0) - oval.min(0)) / 2
        # Depth of each point on an ellipsoid through the face oval (a small-angle stand-in for 3D).
        q = ((p - self.centre) / half) ** 2
        self.depth = (np.sqrt(np.clip(1.0 - q.sum(1), 0.0, 1.0)) * half[0] * 0.9).astype(np.float32)

    def pose(self, jaw: float, rounding: float, spread: float, blink: float, brows: float,
             yaw: float, pitch: float, roll: float) -> np.ndarray:
        m = self.rest.copy()
        m[:, 1] += jaw * self.jaw_weight * self.chin_drop
        m[self.upper_lip, 1] -= 0.12 * jaw * self.chin_drop
        m[:, 0] -= rounding * 0.28 * (m[:, 0] - self.mouth[0]) * self.near_mouth
        m[:, 0] += spread * 0.12 * self.half_mouth * self.side * self.near_mouth
        m[:, 1] -= spread * 0.08 * self.half_mouth * np.abs(self.side) * self.near_mouth
        if brows:
            m[self.brows, 1] -= brows * 1.2 * self.eye_h
        if blink:
            for upper, lower in self.lids:
                meet = 0.7 * m[lower, 1] + 0.3 * m[upper, 1]
                m[upper, 1] += blink * (meet - m[upper, 1])
                m[lower, 1] += blink * (meet - m[lower, 1])
        x, y, z = m[:, 0] - self.centre[0], m[:, 1] - self.centre[1], self.depth
        x, z = x * math.cos(yaw) + z * math.sin(yaw), -x * math.sin(yaw) + z * math.cos(yaw)
        y, z = y * math.cos(pitch) - z * math.sin(pitch), y * math.sin(pitch) + z * math.cos(pitch)
        x, y = x * math.cos(roll) - y * math.sin(roll), x * math.sin(roll) + y * math.cos(roll)
        return np.stack([x + self.centre[0], y + self.centre[1]], 1).astype(np.float32)


def voice_motion(track: VoiceTrack, options: VoiceOptions | None = None, name: str = "voice",
                 rest: np.ndarray | None = None) -> Motion:
    """The keypoint trajectory a voice drives: one frame per analysed frame, frame 0 at rest."""
    opts = options or VoiceOptions()
    face = _Face(rest_keypoints() if rest is None else rest)
    n, fps = len(track.opening), track.fps
    rng = np.random.default_rng(opts.seed)
    blinks = blink_curve(n, fps, rng, opts.blinks_per_minute)
    yaw = _wander(n, fps, rng, 0.06 * opts.head)
    pitch = _wander(n, fps, rng, 0.035 * opts.head) + 0.05 * opts.head * (track.emphasis - track.emphasis[0])
    roll = _wander(n, fps, rng, 0.025 * opts.head)
    brows = 0.45 * track.emphasis
    frames = np.empty((n, mt.NUM_KEYPOINTS, 2), np.float32)
    for i in range(n):
        frames[i] = face.pose(opts.jaw * float(track.opening[i]), float(track.rounding[i]),
                              float(track.spread[i]), float(blinks[i]), float(brows[i]),
                              float(yaw[i]), float(pitch[i]), float(roll[i]))
    frames[0] = face.rest     # the engine moves the source by the difference to frame 0
    return Motion(name, fps, frames)


# ---------------------------------------------------------------------------------- end to end

def read_voice(path: str | os.PathLike, max_seconds: float = MAX_VOICE_SECONDS) -> np.ndarray:
    """:func:`core.animate.audio.decode_audio` at :data:`VOICE_SAMPLE_RATE`, errors as AnimationErrors."""
    try:
        return decode_audio(path, VOICE_SAMPLE_RATE, max_seconds)
    except AnimationError:
        raise
    except ValueError as e:
        raise AnimationError(str(e)) from None


def speak(source, voice: str | os.PathLike, out_path: str | os.PathLike, options=None,
          voice_options: VoiceOptions | None = None, progress: ProgressFn | None = None,
          cancel: threading.Event | None = None, crop_source: bool | None = None):
    """Animate ``source`` saying ``voice`` (a sound file, or a video's sound track) into an MP4 with it.

    ``options``: :class:`core.animate.pipeline.AnimateOptions` (the offline engine only); returns its
    :class:`~core.animate.pipeline.AnimationResult`. The MP4 carries the decoded voice, frame-aligned.
    """
    from core.animate.pipeline import AnimateOptions, animate

    opts = options or AnimateOptions()
    if opts.engine != "landmarks":
        raise AnimationError("A voice drives the offline 'landmarks' engine only (the neural FOMM engine "
                             "needs a driving video).")
    vopts = voice_options or VoiceOptions()
    name = Path(voice).name
    pcm = read_voice(voice, vopts.max_seconds)
    track = analyse_voice(pcm, VOICE_SAMPLE_RATE, vopts.fps, name)
    motion = voice_motion(track, vopts, name=Path(voice).stem)
    with tempfile.TemporaryDirectory(prefix="cc-voice-") as tmp:
        wav = write_wav(Path(tmp) / "voice.wav", pcm, VOICE_SAMPLE_RATE)
        return animate(source, motion, out_path, opts, progress=progress, cancel=cancel,
                       crop_source=crop_source, audio=wav)


# --------------------------------------------------------------------------------- measuring it

def mouth_openings(video_path: str | os.PathLike) -> np.ndarray:
    """Mouth opening of every frame of a video, re-tracked with the face mesh the way
    ``../shared/tools/motion_fidelity.py`` measures it (inner-lip gap / face height); NaN where no face."""
    from core import video
    from core.landmarks import FaceLandmarker

    out = []
    with FaceLandmarker(max_faces=1, video=True, refine=False) as mesher:
        for frame in video.iter_frames(video_path):
            meshes = mesher.mesh(frame)
            if not meshes:
                out.append(np.nan)
                continue
            p = meshes[0]
            out.append(float(np.linalg.norm(p[13] - p[14]) / (np.linalg.norm(p[10] - p[152]) + 1e-9)))
    return np.asarray(out, np.float64)


def best_lag_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 3) -> tuple[float, int]:
    """(highest Pearson correlation, its lag) of ``a[t + lag]`` against ``b[t]`` for |lag| <= max_lag;
    a positive lag means ``a`` follows ``b`` late. NaNs in either are left out."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n = min(len(a), len(b))
    best = (-np.inf, 0)
    for lag in range(-max_lag, max_lag + 1):
        x = a[max(0, lag):n + min(0, lag)]
        y = b[max(0, -lag):n - max(0, lag)]
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 3 or x[ok].std() < 1e-12 or y[ok].std() < 1e-12:
            continue
        r = float(np.corrcoef(x[ok], y[ok])[0, 1])
        if r > best[0]:
            best = (r, lag)
    return best


def audio_offset_ms(reference: np.ndarray, other: np.ndarray, sample_rate: int,
                    max_ms: float = 500.0) -> float:
    """How late ``other`` plays ``reference`` (ms, negative: early), from their cross-correlation."""
    n = min(len(reference), len(other))
    a, b = reference[:n].astype(np.float64), other[:n].astype(np.float64)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    xc = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lags = np.concatenate([np.arange(0, size // 2), np.arange(-size // 2, 0)])
    keep = np.abs(lags) <= max_ms * sample_rate / 1000.0
    return float(lags[keep][np.argmax(xc[keep])] * 1000.0 / sample_rate)
