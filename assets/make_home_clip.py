"""Build the home page's looping clip (assets/home/clip.mp4): a showcase face moved by the bundled motions.

The face is the first showcase seed of the bundled StyleGAN2 (``assets/showcase.json``, made by
``python -m core.showcase``; seeds 0.. when that list is stale) rendered at 64 px and upscaled to 256 px
(Lanczos). The driving input is the bundled demo motions played one after another (they all start and end
at the neutral pose, so the joined clip loops without a jump), animated by the app's own offline engine
(``core.animate.animate``). Everything is synthetic: no photo or video of a person is involved. Rerun it
after retraining the checkpoint or remaking the motions, from the project root:

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
from core.showcase import DEFAULT_CHECKPOINT, file_sha256, load_showcase, render_seeds  # noqa: E402

HOME_DIR = ASSETS_DIR / "home"
CLIP = HOME_DIR / "clip.mp4"
CLIP_INFO = HOME_DIR / "clip.json"   # which seed and motions made the clip (the page's caption)
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


def source_face(seed: int) -> np.ndarray:
    """The seed's 64 px render upscaled to the animator's 256 px (uint8 HxWx3)."""
    import cv2

    from core import stylegan2 as sg

    G = sg.load_generator(DEFAULT_CHECKPOINT)
    face = render_seeds(G, [seed], load_showcase().psi)[0]
    return cv2.resize(face, (256, 256), interpolation=cv2.INTER_LANCZOS4)


def main() -> int:
    from core import animate as an

    showcase = load_showcase()
    motion, names = joined_motion()
    HOME_DIR.mkdir(parents=True, exist_ok=True)
    errors = []
    for seed in showcase.seeds:  # the first seed whose face the landmark engine can follow
        try:
            result = an.animate(source_face(seed), motion, CLIP, an.AnimateOptions())
        except an.AnimationError as e:
            errors.append(f"seed {seed}: {e}")
            continue
        size = CLIP.stat().st_size
        assert size < MAX_BYTES, f"{CLIP} is {size} bytes; keep it under 1 MB"
        info = {"seed": seed, "psi": showcase.psi, "curated": showcase.curated, "motions": names,
                "frames": result.frames, "fps": result.fps, "seconds": round(result.frames / result.fps, 2),
                "checkpoint_sha256": file_sha256(DEFAULT_CHECKPOINT), "bytes": size}
        CLIP_INFO.write_text(json.dumps(info, indent=1) + "\n")
        print(f"wrote {CLIP.relative_to(ROOT)}: seed {seed}, {' + '.join(names)}, {result.frames} frames "
              f"at {result.fps:g} fps, {size / 1024:.0f} KB")
        return 0
    raise SystemExit("No showcase face could be animated:\n  " + "\n  ".join(errors))


if __name__ == "__main__":
    sys.exit(main())
