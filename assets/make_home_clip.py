"""Build the home page's looping clip (assets/home/clip.mp4): a showcase face moved by the bundled motions.

The face is the first showcase face of the bundled DCGAN that the offline engine can follow (the home
page's row: ``assets/showcase.json``, made by ``python -m core.showcase --dcgan``; the first faces of seed
0 when that list is stale), 64 px upscaled to 256 px (Lanczos). The driving input is the bundled demo
motions played one after another (they all start and end at the neutral pose, so the joined clip loops
without a jump), animated by the app's own offline engine (``core.animate.animate``). Everything is
synthetic: no photo or video of a person is involved. Rerun it after retraining the checkpoint or remaking
the motions, from the project root:

    .venv/bin/python assets/make_home_clip.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import ASSETS_DIR  # noqa: E402
from core.showcase import (  # noqa: E402
    DCGAN_CHECKPOINT,
    dcgan_face_label,
    file_sha256,
    load_showcase,
    render_dcgan_faces,
)

HOME_DIR = ASSETS_DIR / "home"
CLIP = HOME_DIR / "clip.mp4"
CLIP_INFO = HOME_DIR / "clip.json"   # which face and motions made the clip (the page's caption)
MOTION_ORDER = ["nod", "smile", "blink", "talk", "turn"]
TARGET_SECONDS = 10.0                # join motions until the clip is at least this long...
MAX_SECONDS = 15.0                   # ...but never longer (the file must stay well under 1 MB)
MAX_BYTES = 1 << 20


def joined_motion():
    """One Motion made of the bundled motions in MOTION_ORDER, about TARGET_SECONDS long."""
    from core import animate as an

    files = an.bundled_motions()
    parts, names = [], []
    fps = None
    for name in MOTION_ORDER:
        if name not in files:
            continue
        motion = an.load_motion(files[name])
        if fps not in (None, motion.fps):
            continue  # a motion at another frame rate would change speed when joined
        fps = motion.fps
        parts.append(motion.keypoints)
        names.append(name)
        if sum(len(p) for p in parts) / fps >= TARGET_SECONDS:
            break
    if not parts:
        raise SystemExit("No bundled motions in assets/motions: run assets/make_demo_motions.py first.")
    keypoints = np.concatenate(parts)[:int(MAX_SECONDS * fps)]
    return an.Motion("+".join(names), fps, keypoints), names


def source_face(face_id: int) -> np.ndarray:
    """The DCGAN face's 64 px render upscaled to the animator's 256 px (uint8 HxWx3)."""
    from core import dcgan
    from core.image.convert import display_resize

    gen, _ = dcgan.load_generator(DCGAN_CHECKPOINT)
    face = render_dcgan_faces(gen, [face_id])[0]
    return display_resize(face, 256)


def main() -> int:
    from core import animate as an

    showcase = load_showcase(DCGAN_CHECKPOINT)
    motion, names = joined_motion()
    HOME_DIR.mkdir(parents=True, exist_ok=True)
    errors = []
    for face_id in showcase.seeds:  # the first face the landmark engine can follow
        label = dcgan_face_label(face_id)
        try:
            result = an.animate(source_face(face_id), motion, CLIP, an.AnimateOptions())
        except an.AnimationError as e:
            errors.append(f"{label}: {e}")
            continue
        size = CLIP.stat().st_size
        assert size < MAX_BYTES, f"{CLIP} is {size} bytes; keep it under 1 MB"
        info = {"model": "dcgan", "face": label, "face_id": face_id, "curated": showcase.curated,
                "motions": names, "frames": result.frames, "fps": result.fps,
                "seconds": round(result.frames / result.fps, 2),
                "checkpoint_sha256": file_sha256(DCGAN_CHECKPOINT), "bytes": size}
        CLIP_INFO.write_text(json.dumps(info, indent=1) + "\n")
        print(f"wrote {CLIP.relative_to(ROOT)}: DCGAN {label}, {' + '.join(names)}, {result.frames} frames "
              f"at {result.fps:g} fps, {size / 1024:.0f} KB")
        return 0
    raise SystemExit("No showcase face could be animated:\n  " + "\n  ".join(errors))


if __name__ == "__main__":
    sys.exit(main())
