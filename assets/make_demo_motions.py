"""Build the bundled demo motions (assets/motions/*.json, 7.2 s loops) and their preview clips.

Each motion is a keypoint trajectory for the offline engine (core.animate.motion_transfer), made
procedurally from a canonical 3D face mesh: rotations (nod, turn) and parametric deformations (smile,
jaw opening and lip rounding in syllables, eyelids, brows) with a little seeded idle sway, projected
orthographically into a square frame. No video of a person is involved. Each motion is also rendered
on the neutral synthetic preview face (core.animate.preview) into assets/motions/previews/NAME.mp4.

The canonical mesh is the Procrustes-aligned MEAN of MediaPipe's 3D face mesh over the bundled
synthetic demo faces (assets/demo_faces/faces64.npz, made from a generator trained on the synthetic
DigiFace-1M set), so no real person contributes to it. Run from the project root:

    .venv/bin/python assets/make_demo_motions.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.animate import MOTIONS_DIR, Motion, save_motion  # noqa: E402
from core.animate import motion_transfer as mt  # noqa: E402

FPS = 25.0
SECONDS = 7.2          # every motion loops seamlessly: it starts and ends at the rest pose
SEED = 1234
BLINKS = (1.3, 4.1, 6.2)   # seconds; every motion blinks, so the eyes live in all of them
RIGHT_UPPER_LID = [246, 161, 160, 159, 158, 157, 173]
RIGHT_LOWER_LID = [7, 163, 144, 145, 153, 154, 155]
LEFT_UPPER_LID = [466, 388, 387, 386, 385, 384, 398]
LEFT_LOWER_LID = [249, 390, 373, 374, 380, 381, 382]
LOWER_LIP = [95, 88, 178, 87, 14, 317, 402, 318, 324, 146, 91, 181, 84, 17, 314, 405, 321, 375]
UPPER_LIP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 185, 40, 39, 37, 0, 267, 269, 270, 409]
BROWS = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 300, 293, 334, 296, 336, 285, 295, 282, 283, 276]


def canonical_mesh() -> np.ndarray:
    """(478, 3) mean face mesh, centred, unit inter-ocular-ish scale (x right, y down, z towards camera)."""
    import cv2
    import mediapipe as mp

    faces_npz = ROOT / "assets" / "demo_faces" / "faces64.npz"
    if not faces_npz.exists():
        raise SystemExit("needs assets/demo_faces/faces64.npz (assets/make_demo_assets.py builds it)")
    faces = np.load(faces_npz)["images"]
    shapes = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as fm:
        for face in faces:
            img = np.ascontiguousarray(cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC))
            res = fm.process(img)
            if not res.multi_face_landmarks:
                continue
            p = np.array([(q.x, q.y, q.z) for q in res.multi_face_landmarks[0].landmark], np.float64)
            p -= p.mean(0)
            shapes.append(p / np.sqrt((p[:, :2] ** 2).sum(1).mean()))
    ref = shapes[0]
    for _ in range(3):  # generalised Procrustes in the image plane (rotation about z only)
        aligned = []
        for s in shapes:
            u, _, vt = np.linalg.svd(s[:, :2].T @ ref[:, :2])
            r = u @ vt
            a = s.copy()
            a[:, :2] = s[:, :2] @ r
            aligned.append(a)
        ref = np.mean(aligned, 0)
    return ref


def smooth_pulse(t: np.ndarray | float, centre: float, width: float) -> np.ndarray | float:
    return np.exp(-0.5 * ((t - centre) / width) ** 2)


def ease_window(t: float, start: float, end: float, ramp: float = 0.35) -> float:
    """1 between start and end, 0 outside, with cosine ramps of ``ramp`` seconds at both ends."""
    up = np.clip((t - start) / ramp, 0, 1)
    down = np.clip((end - t) / ramp, 0, 1)
    return float(0.5 - 0.5 * np.cos(np.pi * min(up, down)))


def render(mesh: np.ndarray, yaw: float, pitch: float, roll: float, dxy=(0.0, 0.0)) -> np.ndarray:
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    p = mesh @ (rz @ rx @ ry).T
    # Face spans about half the frame, like the driving-video crops.
    return (p[:, :2] * 0.2 + np.array([0.5, 0.53]) + np.asarray(dxy)).astype(np.float32)


def deform(mesh: np.ndarray, jaw: float = 0.0, smile: float = 0.0, blink: float = 0.0,
           rounding: float = 0.0, brows: float = 0.0, squint: float = 0.0) -> np.ndarray:
    """Parametric expression on the canonical mesh (each parameter 0 = rest, about 1 = strong)."""
    m = mesh.copy()
    mouth_y = m[[13, 14], 1].mean()
    mouth_x = m[[13, 14], 0].mean()
    chin_y = m[152, 1]
    half_mouth = abs(m[291, 0] - m[61, 0]) / 2
    eye_h = abs(m[145, 1] - m[159, 1]) + 1e-6
    if jaw:  # the jaw drops: chin and lower lip down, the upper lip lifts a little
        ramp = np.clip((m[:, 1] - mouth_y) / (0.5 * (chin_y - mouth_y)), 0, 1)
        lateral = np.clip(1.3 - np.abs(m[:, 0] - mouth_x) / (3 * half_mouth), 0, 1)
        w = ramp * lateral
        w[LOWER_LIP] = 1.0
        m[:, 1] += jaw * w * (chin_y - mouth_y)
        m[UPPER_LIP, 1] -= 0.12 * jaw * (chin_y - mouth_y)
    if rounding:  # "oo": the corners move towards the centre, the lips push forward
        near = np.clip(1.0 - np.hypot(m[:, 0] - mouth_x, (m[:, 1] - mouth_y) * 2) / (1.8 * half_mouth), 0, 1)
        m[:, 0] -= rounding * 0.3 * (m[:, 0] - mouth_x) * near
    if smile:
        cx = m[[61, 291], 0].mean()
        near = np.clip(1.0 - np.hypot(m[:, 0] - cx, (m[:, 1] - mouth_y) * 2) / (2.2 * half_mouth), 0, 1)
        side = np.clip((m[:, 0] - cx) / half_mouth, -1, 1)
        m[:, 0] += smile * 0.35 * half_mouth * side * near
        m[:, 1] -= smile * 0.3 * half_mouth * np.abs(side) * near
    if brows:
        m[BROWS, 1] -= brows * 1.2 * eye_h
    if squint:  # the lower lids rise (a smile reaching the eyes)
        for lower in (RIGHT_LOWER_LID, LEFT_LOWER_LID):
            m[lower, 1] -= squint * 0.35 * eye_h
    if blink:
        for upper, lower in ((RIGHT_UPPER_LID, RIGHT_LOWER_LID), (LEFT_UPPER_LID, LEFT_LOWER_LID)):
            meet = 0.7 * m[lower, 1] + 0.3 * m[upper, 1]
            m[upper, 1] += blink * (meet - m[upper, 1])
            m[lower, 1] += blink * (meet - m[lower, 1])
    return m


def blinks(t: float, times=BLINKS, width: float = 0.06) -> float:
    return float(min(sum(smooth_pulse(t, c, width) for c in times), 1.0))


def speech(t: float, phrases, syllables: np.ndarray, rate: float = 4.4) -> tuple[float, float]:
    """(jaw, rounding) of a speaking mouth: syllables at ``rate`` a second inside the phrases."""
    env = max(ease_window(t, a, b, 0.12) for a, b in phrases)
    if env <= 0:
        return 0.0, 0.0
    k = int(t * rate)
    phase = (t * rate) % 1.0
    amp = syllables[k % len(syllables)]
    jaw = env * amp * np.sin(np.pi * phase) ** 2
    rounding = env * (0.8 if k % 3 == 1 else 0.0) * np.sin(np.pi * phase)
    return float(jaw), float(rounding)


def make(mesh: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    n = int(round(FPS * SECONDS))
    t = np.arange(n) / FPS
    # Gentle idle roll, periodic over the clip so it loops without a jump.
    sway = 0.02 * np.sin(2 * np.pi * t / SECONDS + rng.uniform(0, 2 * np.pi))
    sway -= sway[0]
    syllables = rng.uniform(0.25, 0.6, size=17)
    frames = []
    for i, ti in enumerate(t):
        yaw = pitch = 0.0
        jaw = smile = rounding = brows = squint = 0.0
        blink = blinks(ti)
        if kind == "nod":  # two "yes" nods, a pause, two more, with a raised brow in between
            nods = [(0.6, 2.4), (3.6, 5.4)]
            env = max(ease_window(ti, a, b, 0.3) for a, b in nods)
            pitch = 0.2 * env * np.sin(2 * np.pi * (ti - 0.6) / 0.9)
            brows = 0.6 * ease_window(ti, 2.6, 3.4, 0.25)
        elif kind == "turn":  # look left, hold, back, look right, hold, back
            yaw = 0.3 * (ease_window(ti, 0.4, 2.6, 0.8) - ease_window(ti, 3.8, 6.4, 0.8))
            pitch = 0.04 * np.sin(2 * np.pi * ti / SECONDS)
        elif kind == "smile":  # a smile that reaches the eyes, relaxes, then a grin
            smile = ease_window(ti, 0.5, 3.0, 0.6) + 1.1 * ease_window(ti, 4.0, 6.6, 0.5)
            smile = min(smile, 1.1)
            squint = 0.8 * smile
            jaw = 0.18 * ease_window(ti, 4.3, 6.3, 0.4)
            pitch = -0.04 * ease_window(ti, 4.0, 6.6, 0.5)
        elif kind == "talk":  # three phrases of syllables, brows and head following the emphasis
            jaw, rounding = speech(ti, [(0.3, 2.5), (3.0, 5.1), (5.5, 6.8)], syllables)
            brows = 0.5 * (smooth_pulse(ti, 0.5, 0.25) + smooth_pulse(ti, 3.2, 0.25))
            pitch = 0.06 * np.sin(2 * np.pi * ti / 1.8) * ease_window(ti, 0.3, 6.8, 0.5)
            yaw = 0.1 * np.sin(2 * np.pi * ti / SECONDS)
        elif kind == "blink":  # single blinks, a double blink, a slow blink and a squint
            blink = blinks(ti, (0.8, 2.0, 3.5, 3.85), 0.06) + float(ease_window(ti, 5.0, 5.7, 0.2))
            squint = ease_window(ti, 6.1, 6.9, 0.2)
            brows = 0.4 * ease_window(ti, 2.4, 3.0, 0.2)
            blink = min(blink, 1.0)
        shape = deform(mesh, jaw=jaw, smile=smile, blink=blink, rounding=rounding, brows=brows,
                       squint=squint)
        frames.append(mt.subset(render(shape, yaw, pitch, float(sway[i]))))
    return np.stack(frames)


def main() -> None:
    from core.animate import preview

    rng = np.random.default_rng(SEED)
    mesh = canonical_mesh()
    animator = preview.motion_animator()
    for kind in ("nod", "turn", "smile", "talk", "blink"):
        kp = make(mesh, kind, rng)
        motion = Motion(kind, FPS, kp)
        path = save_motion(motion, MOTIONS_DIR / f"{kind}.json")
        clip = preview.write_preview(motion, preview.PREVIEWS_DIR / f"{kind}.mp4", animator=animator)
        change = preview.motion_change(motion, animator)
        print(f"{path.relative_to(ROOT)}: {len(kp)} frames, {path.stat().st_size / 1024:.0f} KB; "
              f"preview {clip.stat().st_size / 1024:.0f} KB; mean change mouth {change['mouth']:.1f}, "
              f"eyes {change['eyes']:.1f}, face {change['face']:.1f} /255")


if __name__ == "__main__":
    main()
