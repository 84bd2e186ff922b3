"""Motion fidelity of the offline engine on every shared driving clip, for a generated and a real face.

For each clip in ../shared/data/driving/*.mp4 and each source (the animator's bundled generated face:
synthetic face 3 of assets/demo_faces/faces64.npz, enlarged as the page does; and the first real
portrait of ../shared/data/faces/celeba_hq), the clip is animated by ``core.animate.animate`` (the
default offline engine) and ../shared/tools/motion_fidelity.py compares the result with the driving
video: correlations of mouth opening, eye opening and head yaw, frames where the result's face was
lost, and the jitter ratio. Targets (issue 20): mouth >= 0.85, eyes >= 0.7, yaw >= 0.85, jitter <= 1.2,
no lost face. Misses are marked with '!'.

``--sheet PNG`` also draws a contact sheet of the hardest frames of each clip (the widest mouth, the
most closed eyes and the largest turn of the driving face, found from its tracked keypoints), for looking
at tears by eye: the generated face only, so it can go in the repository. ``--sheet-all PNG`` draws
driving | generated | real: real people (the driving clips, the portrait), so for looking at here only,
never for committing.

    .venv/bin/python bench/bench_motion_fidelity.py [--max-frames N] [--clips d0,d20] [--keep DIR]
                                                    [--sheet docs/figures/animation_worst_frames.png]
                                                    [--sheet-all /tmp/worst_frames_all.png]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import animate as an  # noqa: E402
from core import video  # noqa: E402
from core.animate import features as ft  # noqa: E402
from core.animate import motion_transfer as mt  # noqa: E402

SHARED = ROOT.parent / "shared"
TOOL = SHARED / "tools" / "motion_fidelity.py"
TARGETS = {"mouth": 0.85, "eyes": 0.7, "yaw": 0.85}
MAX_JITTER = 1.2


def generated_face() -> np.ndarray:
    from core.animate.preview import FACES_NPZ, PREVIEW_FACE
    from core.image.convert import display_resize

    with np.load(FACES_NPZ, allow_pickle=False) as data:
        return display_resize(data["images"][PREVIEW_FACE], an.OUTPUT_SIZE)


def fidelity(driving: Path, result: Path) -> dict:
    out = subprocess.run([sys.executable, str(TOOL), str(driving), str(result), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def mark(name: str, value: float) -> str:
    bad = (value > MAX_JITTER) if name == "jitter_ratio" else (not value >= TARGETS[name])
    return f"{value:6.3f}{'!' if bad else ' '}"


def hardest_frames(clip: Path, max_frames: int | None) -> dict[str, int]:
    """Driving frames with the widest mouth, the most closed eyes and the largest turn."""
    kp = an.record_motion(clip, max_frames=max_frames).keypoints
    pos = {i: mt.KEYPOINT_INDICES.index(i) for i in (1, 234, 454)}
    mouth = [ft.lid_gaps(k, mt.MOUTH_POS).mean() / np.sqrt(mt.hull_area(k)) for k in kp]
    eyes = [sum(ft.openness(k, e) for e in mt.EYE_POS) for k in kp]
    yaw = np.array([(k[pos[1], 0] - k[pos[234], 0]) / (k[pos[454], 0] - k[pos[234], 0] + 1e-9) for k in kp])
    return {"mouth": int(np.argmax(mouth)), "blink": int(np.argmin(eyes)),
            "turn": int(np.argmax(np.abs(yaw - np.median(yaw))))}


def frame_at(path: Path, index: int, size: int = 192) -> np.ndarray:
    import cv2

    for i, frame in enumerate(video.iter_frames(path, index + 1)):
        if i == index:
            h, w = frame.shape[:2]
            side = min(h, w)
            frame = frame[(h - side) // 2:(h + side) // 2, (w - side) // 2:(w + side) // 2]
            return cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
    return np.zeros((size, size, 3), np.uint8)


def contact_sheet(rows: list[tuple[str, list[np.ndarray]]], path: Path) -> None:
    import cv2

    strips = []
    for label, panels in rows:
        strip = np.concatenate(panels, 1)
        cv2.putText(strip, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 2, cv2.LINE_AA)
        cv2.putText(strip, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
        strips.append(strip)
    import io

    from PIL import Image

    from core.checkpoint import atomic_write_bytes

    # 3/4 size and a 256-colour palette: ~0.6 MB instead of 2.5 MB for the repository's figure.
    sheet = Image.fromarray(np.concatenate(strips, 0))
    sheet = sheet.resize((sheet.width * 3 // 4, sheet.height * 3 // 4), Image.LANCZOS)
    buf = io.BytesIO()
    sheet.quantize(256, dither=Image.FLOYDSTEINBERG).save(buf, format="PNG", optimize=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-frames", type=int, default=None, help="animate only the first N frames")
    ap.add_argument("--clips", default="", help="comma-separated clip names (stems, or parts of them)")
    ap.add_argument("--keep", type=Path, help="keep the results in this folder")
    ap.add_argument("--sheet", type=Path, help="contact sheet of the hardest frames, generated face only")
    ap.add_argument("--sheet-all", type=Path, help="the same with the driving and real faces (not to commit)")
    args = ap.parse_args()
    clips = sorted((SHARED / "data" / "driving").glob("*.mp4"))
    portraits = sorted((SHARED / "data" / "faces" / "celeba_hq").glob("*.jpg"))
    if not clips or not portraits or not TOOL.exists():
        raise SystemExit("needs ../shared/data/driving/*.mp4, ../shared/data/faces/celeba_hq and "
                         "../shared/tools/motion_fidelity.py")
    if args.clips:
        wanted = args.clips.split(",")
        clips = [c for c in clips if any(w in c.stem for w in wanted)]
    sources = {"generated": (generated_face(), False), "real": (an.prepare_source(portraits[0]), True)}
    work = args.keep or Path(tempfile.mkdtemp(prefix="fidelity-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"real portrait: {portraits[0].name}; generated: faces64.npz #3; "
          f"frames: {args.max_frames or 'all'}")
    print(f"{'clip':22s} {'source':9s} {'frames':>6s}  {'mouth':>7s} {'eyes':>7s} {'yaw':>7s} "
          f"{'jitter':>7s} {'lost':>4s}  {'render fps':>10s}")
    misses, sheet_rows = 0, []
    for clip in clips:
        results = {}
        for name, (face, _) in sources.items():
            out = work / f"{clip.stem}-{name}.mp4"
            t0 = time.perf_counter()
            res = an.animate(face, clip, out, an.AnimateOptions(max_frames=args.max_frames),
                             crop_source=False)
            seconds = time.perf_counter() - t0
            got = fidelity(clip, out)
            results[name] = out
            row = [mark(k, got[k]) for k in ("mouth", "eyes", "yaw", "jitter_ratio")]
            lost = got["lost_face"]
            misses += sum(r.endswith("!") for r in row) + (lost > 0)
            print(f"{clip.stem:22s} {name:9s} {res.frames:6d}  {' '.join(row)} {lost:4d}"
                  f"{'!' if lost else ' '} {res.frames / seconds:10.1f}", flush=True)
        if args.sheet or args.sheet_all:
            for what, index in hardest_frames(clip, args.max_frames).items():
                panels = [frame_at(clip, index)] + [frame_at(results[n], index) for n in sources]
                sheet_rows.append((f"{clip.stem} {what} #{index}", panels))
    print(f"targets: mouth >= {TARGETS['mouth']}, eyes >= {TARGETS['eyes']}, yaw >= {TARGETS['yaw']}, "
          f"jitter <= {MAX_JITTER}, no lost face; misses: {misses}")
    if args.sheet:  # the generated face's column only: no real person
        contact_sheet([(label, [panels[1]]) for label, panels in sheet_rows], args.sheet)
        print(f"contact sheet (generated face): {args.sheet}")
    if args.sheet_all:
        contact_sheet(sheet_rows, args.sheet_all)
        print(f"contact sheet (driving | generated | real; real people, do not commit): {args.sheet_all}")


if __name__ == "__main__":
    main()
