"""Offline animation engine throughput, end to end (decode, crop, landmarks, warp, encode) at 256 px.

Target (issue 6): >= 25 fps on two CPU cores on ../shared/data/driving/*.mp4. Prints per-video figures,
the per-stage split, and the warp alone as a baseline measured in the same run. Wall-clock fps depends
on what else runs on the machine, so it also prints CPU time per frame (this process plus its ffmpeg
children) and the fps that CPU time allows on one idle core ("cpu-bound fps"), with the load average.

    .venv/bin/python bench/bench_animate.py [--max-frames N]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import animate as an  # noqa: E402
from core.animate import motion_transfer as mt  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def _cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-frames", type=int, default=None)
    args = ap.parse_args()
    videos = sorted((SHARED / "driving").glob("*.mp4"))
    faces = sorted((SHARED / "faces" / "celeba_hq").glob("*.jpg"))
    if not videos or not faces:
        raise SystemExit("needs ../shared/data/driving/*.mp4 and ../shared/data/faces/celeba_hq")
    source = an.prepare_source(faces[0])
    anim = mt.LandmarkAnimator()
    anim.set_source(source)
    kp = an.load_motion(an.bundled_motions()["talk"]).keypoints
    t = time.perf_counter()
    n = 0
    for _ in range(3):
        for _frame in anim.animate(kp, kp[0]):
            n += 1
    warp_fps = n / (time.perf_counter() - t)
    print(f"warp only (render, no I/O): {warp_fps:.1f} fps")
    total_frames, total_s, total_cpu = 0, 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for v in videos:
            stages: dict[str, float] = {}

            def on_progress(p: an.Progress, stages=stages) -> None:
                if p.fps > 0 and p.done == p.total:
                    stages[p.stage] = p.fps

            cpu0 = _cpu_seconds()
            res = an.animate(faces[0], v, Path(tmp) / "out.mp4",
                             an.AnimateOptions(max_frames=args.max_frames), progress=on_progress)
            fps = res.frames / res.seconds
            cpu = _cpu_seconds() - cpu0
            total_frames += res.frames
            total_s += res.seconds
            total_cpu += cpu
            split = ", ".join(f"{k} {s:.0f} fps" for k, s in stages.items() if k != "done")
            print(f"{v.name:24s} {res.frames:4d} frames  {fps:6.1f} fps end to end  "
                  f"{1000 * cpu / res.frames:5.1f} cpu-ms/frame ({res.frames / cpu:5.1f} cpu-bound fps)  "
                  f"audio={'yes' if res.has_audio else 'no '}  ({split})")
    overall = total_frames / total_s
    print(f"overall: {total_frames} frames in {total_s:.1f} s = {overall:.1f} fps "
          f"(target 25 fps: {'PASS' if overall >= 25 else 'MISS'}); end-to-end / warp-only = "
          f"{overall / warp_fps:.2f}")
    cpu_fps = total_frames / total_cpu
    print(f"cpu: {1000 * total_cpu / total_frames:.1f} ms/frame -> {cpu_fps:.1f} fps on one idle core"
          f" (target 25: {'PASS' if cpu_fps >= 25 else 'MISS'}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
