"""A face that says your line (core.animate.voice): lip-sync quality, sync and speed on the 2-core box.

Quality: a line spoken by espeak-ng (and, when ../shared is there, the recorded voices on the driving
clips' sound tracks) is spoken by a bundled synthetic face; the result is re-tracked with the face mesh
(mouth opening = inner-lip gap / face height, as ../shared/tools/motion_fidelity.py measures it) and
correlated with the voice's loudness envelope (per-frame RMS) at the best lag within +-3 frames. Sync:
the MP4's sound is decoded and cross-correlated with the voice (ms). For a recorded voice whose
speaker is on screen, the speaker's own mouth against the same envelope is the baseline.

Speed: seconds of voice per second of wall time (x real time), end to end (decode, analysis, motion,
render, encode, mux) after a warm-up, and the same motion's frames rendered without the voice steps
(the baseline ratio is the voice's own cost). Wall time depends on what else runs: the load average is
printed.

    .venv/bin/python bench/bench_voice.py [--repeat-line N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import ASSETS_DIR, video  # noqa: E402
from core.animate import voice as V  # noqa: E402
from core.animate.audio import decode_audio  # noqa: E402
from core.animate.pipeline import AnimateOptions, animate  # noqa: E402
from core.show.render.animation import bundled_face  # noqa: E402
from core.showcase import load_demo_face_indices  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "driving"
LINE = ("Hello everyone. Today you will see a face that speaks your words. "
        "It opens its mouth, it pauses, and it blinks.")
SR = V.VOICE_SAMPLE_RATE


def quality(source, voice: Path, out: Path, speaker: Path | None = None) -> dict:
    t0 = time.perf_counter()
    result = V.speak(source, voice, out, AnimateOptions(), crop_source=False)
    wall = time.perf_counter() - t0
    pcm = V.read_voice(voice)
    env = V.loudness_envelope(pcm, SR, result.fps)
    r, lag = V.best_lag_correlation(V.mouth_openings(out), env, 3)
    row = {"seconds": len(pcm) / SR, "frames": result.frames, "corr": r, "lag": lag,
           "offset_ms": V.audio_offset_ms(pcm, decode_audio(out), SR), "x_real_time": len(pcm) / SR / wall}
    if speaker is not None:
        fps = video.probe_video(speaker).fps
        row["speaker_corr"], row["speaker_lag"] = V.best_lag_correlation(
            V.mouth_openings(speaker), V.loudness_envelope(pcm, SR, fps), 3)
    return row


def _cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), _cpu_seconds()
    fn()
    return time.perf_counter() - wall, _cpu_seconds() - cpu


def speed(source, voice: Path, work: Path, repeats: int = 3) -> dict:
    """Best of ``repeats`` interleaved runs (wall and CPU seconds): end to end, and the same motion
    rendered with no voice steps (no decoding, analysis or sound)."""
    pcm = V.read_voice(voice)
    motion = V.voice_motion(V.analyse_voice(pcm, SR))
    runs: dict[str, list[tuple[float, float]]] = {"voice": [], "motion": []}
    for _ in range(repeats):
        runs["voice"].append(_timed(lambda: V.speak(source, voice, work / "speed.mp4", AnimateOptions(),
                                                    crop_source=False)))
        runs["motion"].append(_timed(lambda: animate(source, motion, work / "motion_only.mp4",
                                                     AnimateOptions(), crop_source=False)))
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
    return {"seconds": len(pcm) / SR, **{f"{k}_{m}": best[k][i] for k in best for i, m in
                                         enumerate(("wall", "cpu"))}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat-line", type=int, default=4,
                    help="the speed test's voice: the line this many times")
    args = ap.parse_args()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("needs espeak-ng (apt-get install espeak-ng)")
    index = load_demo_face_indices(ASSETS_DIR / "demo_faces" / "faces64.npz")[0]
    source = bundled_face(index)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        line = work / "line.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(line), LINE], check=True)
        long = work / "long.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(long),
                        " ".join([LINE] * args.repeat_line)], check=True)
        V.speak(source, line, work / "warmup.mp4", AnimateOptions(), crop_source=False)  # imports, models

        print(f"source: bundled face {index}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
        print(f"{'voice':24s} {'s':>5s} {'corr':>6s} {'lag':>4s} {'offset ms':>9s} {'x real':>7s} "
              f"{'speaker corr (lag)':>19s}")
        voices = [("espeak-ng line", line, None)]
        for clip in sorted(SHARED.glob("*.mp4")) if SHARED.is_dir() else []:
            try:
                V.analyse_voice(V.read_voice(clip), SR)
            except ValueError as e:  # no sound track, or a silent one
                print(f"{clip.stem:24s} skipped: {e}")
                continue
            voices.append((clip.stem, clip, clip))
        for name, voice, speaker in voices:
            row = quality(source, voice, work / f"{name.replace(' ', '_')}.mp4", speaker)
            spk = (f"{row['speaker_corr']:.3f} ({row['speaker_lag']:+d})" if speaker is not None else "")
            print(f"{name:24s} {row['seconds']:5.1f} {row['corr']:6.3f} {row['lag']:+4d} "
                  f"{row['offset_ms']:9.1f} {row['x_real_time']:7.2f} {spk:>19s}")
        sp = speed(source, long, work)
        sec = sp["seconds"]
        print(f"speed on a {sec:.1f} s espeak-ng voice (best of 3): end to end {sp['voice_wall']:.2f} s wall "
              f"= x{sec / sp['voice_wall']:.2f} real time, {sp['voice_cpu']:.2f} CPU s "
              f"(x{sec / sp['voice_cpu']:.2f} real time on one core); baseline, the same motion "
              f"without the voice steps: "
              f"{sp['motion_wall']:.2f} s wall, {sp['motion_cpu']:.2f} CPU s; voice / baseline CPU "
              f"x{sp['voice_cpu'] / sp['motion_cpu']:.2f}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
