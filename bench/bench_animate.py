"""Offline animation engine throughput, end to end (decode, crop, landmarks, warp, encode) at 256 px.

Target (issue 12): >= 60 fps end to end over ../shared/data/driving/*.mp4 on the 2-core box. Each video
is animated twice, interleaved so background load hits both alike: the baseline is the same pipeline
in one thread (``PREFETCH_DEPTH = 0``: decode and face tracking do not overlap the warp), the other
the default (decode + tracking in a helper thread). Wall-clock fps depends on what else runs on the
machine, so it also prints CPU time per frame (this process plus its ffmpeg children), the fps that
CPU time allows on one idle core ("cpu-bound fps"), and the load average.

``--motions`` measures the bundled motions instead: mean absolute pixel change (0-255) they cause in
the mouth, eye and face regions of the neutral synthetic preview face; the
frames whose motion had to be damped to stay fold-free, and the smallest Jacobian determinant
of the warp over the motion (``core.animate.preview.motion_change``).

``--stages CLIP`` times each stage of the pipeline alone, in one thread, on one shared clip (a stem of
../shared/data/driving, e.g. liveportrait_d3) with the first real portrait: CPU milliseconds a frame of
this process and its ffmpeg children (robust while other work loads the cores) for the crop search,
decoding, tracking, the follower, the render, the label and watermark, and encoding. The watermark's
first use imports its library (and torch) once, so the label + watermark line is timed after a warm-up.

    .venv/bin/python bench/bench_animate.py [--max-frames N] [--motions] [--stages CLIP]
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
from core.animate import pipeline, preview  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
TARGET_FPS = 60.0


def _cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bench_motions() -> None:
    animator = preview.motion_animator()
    warper = animator._warper
    print("motion  seconds  mouth  eyes  face  mouth frame-to-frame   frames damped to unfold   min Jacobian")
    for name, path in an.bundled_motions().items():
        motion = an.load_motion(path)
        change = preview.motion_change(motion, animator)
        damped, worst = 0, float("inf")
        for kp in motion.keypoints:
            target = mt.normalize_keypoints(animator.source_kp, kp, motion.keypoints[0])
            _, nodes = warper.fold_free(*animator.control_points(target))
            damped += warper.last_fixes > 0
            worst = min(worst, float(warper.jacobian_dets(nodes).min()))
        print(f"{name:7s} {len(motion.keypoints) / motion.fps:6.1f}  {change['mouth']:5.1f} "
              f"{change['eyes']:5.1f} {change['face']:5.1f}  {change['mouth_step']:10.2f}"
              f"           {damped:6d}                {worst:.3f}")


def bench_stages(clip: str) -> None:
    from core import provenance as pv
    from core import video
    from core.animate import driving as dv
    from core.animate.progress import Clock
    from core.animate.source import static_landmarker
    from core.landmarks import FaceLandmarker

    path = SHARED / "driving" / f"{clip}.mp4"
    faces = sorted((SHARED / "faces" / "celeba_hq").glob("*.jpg"))
    if not path.is_file() or not faces:
        raise SystemExit(f"needs {path} and ../shared/data/faces/celeba_hq")
    anim = mt.LandmarkAnimator(static_landmarker())
    anim.set_source(an.prepare_source(faces[0]))
    info = dv.probe(path)
    cpu: dict[str, float] = {}

    def timed(stage: str, run):
        c0 = _cpu_seconds()
        out = run()
        cpu[stage] = _cpu_seconds() - c0
        return out

    crop = timed("crop search (BlazeFace + ffmpeg)",
                 lambda: dv.find_driving_crop(path, info, static_landmarker(), Clock(None, None)))
    frames = timed("decode (ffmpeg + reading)", lambda: [f.copy() for f in dv.iter_cropped(path, crop)])

    def track():
        with FaceLandmarker(max_faces=1, video=True, refine=dv.DRIVING_REFINE) as mesher:
            kps = []
            for f in frames:
                meshes = mesher.mesh(f)
                kps.append(mt.subset(meshes[0]) / an.OUTPUT_SIZE if meshes else kps[-1])
            return kps

    kps = timed("tracking (attention mesh)", track)
    follow = anim.follower(kps[0], info.fps, lookahead=mt.LOOKAHEAD)
    targets = timed("follower", lambda: [t for _, t in follow.stream((None, k) for k in kps)])
    rendered = timed("render", lambda: [anim.render(t) for t in targets])
    list(pv.mark_frames(rendered[:1], None, info.fps))          # the watermark library's import
    marked = timed("label + watermark", lambda: list(pv.mark_frames(rendered, None, info.fps)))

    def encode():
        with tempfile.TemporaryDirectory() as tmp, video.Mp4Writer(Path(tmp) / "out.mp4", info.fps,
                                                                  preset="veryfast") as writer:
            for frame in marked:
                writer.append(frame)

    timed("encode (ffmpeg)", encode)
    n = len(frames)
    print(f"{clip}: {n} frames, CPU-ms a frame per stage, one thread; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for stage, seconds in cpu.items():
        print(f"  {stage:34s} {1000 * seconds / n:6.2f}")
    print(f"  {'total':34s} {1000 * sum(cpu.values()) / n:6.2f}")


def _run(face: Path, video: Path, out: Path, depth: int, max_frames: int | None) -> tuple[int, float, float]:
    pipeline.PREFETCH_DEPTH = depth
    cpu0 = _cpu_seconds()
    res = an.animate(face, video, out, an.AnimateOptions(max_frames=max_frames))
    return res.frames, res.seconds, _cpu_seconds() - cpu0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--motions", action="store_true", help="measure the bundled motions instead")
    ap.add_argument("--stages", metavar="CLIP", help="CPU per stage on one shared clip (liveportrait_d3...)")
    args = ap.parse_args()
    if args.motions:
        bench_motions()
        return
    if args.stages:
        bench_stages(args.stages)
        return
    videos = sorted((SHARED / "driving").glob("*.mp4"))
    faces = sorted((SHARED / "faces" / "celeba_hq").glob("*.jpg"))
    if not videos or not faces:
        raise SystemExit("needs ../shared/data/driving/*.mp4 and ../shared/data/faces/celeba_hq")
    source = an.prepare_source(faces[0])
    anim = mt.LandmarkAnimator()
    anim.set_source(source)
    kp = an.load_motion(an.bundled_motions()["talk"]).keypoints
    t = time.perf_counter()
    n = sum(1 for _ in anim.animate(kp, kp[0]))
    warp_fps = n / (time.perf_counter() - t)
    print(f"warp only (render, no I/O): {warp_fps:.1f} fps   load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    default_depth = pipeline.PREFETCH_DEPTH
    totals = {"baseline": [0, 0.0, 0.0], "engine": [0, 0.0, 0.0]}
    with tempfile.TemporaryDirectory() as tmp:
        _run(faces[0], videos[0], Path(tmp) / "warm.mp4", default_depth, 5)  # models loaded, caches warm
        for v in videos:
            line = []
            for label, depth in (("baseline", 0), ("engine", default_depth)):
                frames, seconds, cpu = _run(faces[0], v, Path(tmp) / "out.mp4", depth, args.max_frames)
                for i, x in enumerate((frames, seconds, cpu)):
                    totals[label][i] += x
                line.append(f"{label} {frames / seconds:6.1f} fps ({frames / cpu:5.1f} cpu-bound)")
            print(f"{v.name:24s} {frames:4d} frames  " + "   ".join(line))
    pipeline.PREFETCH_DEPTH = default_depth
    (bn, bs, bc), (en, es, ec) = totals["baseline"], totals["engine"]
    fps, base_fps = en / es, bn / bs
    print(f"overall: {en} frames in {es:.1f} s = {fps:.1f} fps end to end (target {TARGET_FPS:.0f}: "
          f"{'PASS' if fps >= TARGET_FPS else 'MISS'}); one-thread baseline {base_fps:.1f} fps; "
          f"ratio x{fps / base_fps:.2f}; end-to-end / warp-only = {fps / warp_fps:.2f}")
    print(f"cpu: {1000 * ec / en:.1f} ms/frame -> {en / ec:.1f} fps on one idle core "
          f"(baseline {bn / bc:.1f}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
