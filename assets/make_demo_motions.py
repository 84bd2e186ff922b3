"""Build the bundled demo motions (assets/motions/*.json): nod, turn, smile, talk, blink.

Each motion is a keypoint trajectory for the offline engine (core.animate.motion_transfer), made
procedurally from a canonical 3D face mesh: rotations (nod, turn) and parametric deformations (smile,
jaw opening, eyelids) with a little seeded idle sway, projected orthographically into a square frame.
No video of a person is involved.

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
SECONDS = 2.4
SEED = 1234
RIGHT_UPPER_LID = [246, 161, 160, 159, 158, 157, 173]
RIGHT_LOWER_LID = [7, 163, 144, 145, 153, 154, 155]
LEFT_UPPER_LID = [466, 388, 387, 386, 385, 384, 398]
LEFT_LOWER_LID = [249, 390, 373, 374, 380, 381, 382]
LOWER_LIP = [95, 88, 178, 87, 14, 317, 402, 318, 324, 146, 91, 181, 84, 17, 314, 405, 321, 375]


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


def smooth_pulse(t: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - centre) / width) ** 2)


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


def deform(mesh: np.ndarray, jaw: float = 0.0, smile: float = 0.0, blink: float = 0.0) -> np.ndarray:
    m = mesh.copy()
    mouth_y = m[[13, 14], 1].mean()
    chin_y = m[152, 1]
    half_mouth = abs(m[291, 0] - m[61, 0]) / 2
    if jaw:
        ramp = np.clip((m[:, 1] - mouth_y) / (0.5 * (chin_y - mouth_y)), 0, 1)
        lateral = np.clip(1.3 - np.abs(m[:, 0] - m[[13, 14], 0].mean()) / (3 * half_mouth), 0, 1)
        w = ramp * lateral
        w[LOWER_LIP] = 1.0
        m[:, 1] += jaw * w * (chin_y - mouth_y)
    if smile:
        cx = m[[61, 291], 0].mean()
        near = np.clip(1.0 - np.hypot(m[:, 0] - cx, (m[:, 1] - mouth_y) * 2) / (2.2 * half_mouth), 0, 1)
        side = np.clip((m[:, 0] - cx) / half_mouth, -1, 1)
        m[:, 0] += smile * 0.35 * half_mouth * side * near
        m[:, 1] -= smile * 0.3 * half_mouth * np.abs(side) * near
    if blink:
        for upper, lower in ((RIGHT_UPPER_LID, RIGHT_LOWER_LID), (LEFT_UPPER_LID, LEFT_LOWER_LID)):
            meet = 0.7 * m[lower, 1] + 0.3 * m[upper, 1]
            m[upper, 1] += blink * (meet - m[upper, 1])
            m[lower, 1] += blink * (meet - m[lower, 1])
    return m


def make(mesh: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    n = int(FPS * SECONDS)
    t = np.arange(n) / FPS
    sway = 0.02 * np.sin(2 * np.pi * (t / 2.4 + rng.uniform()))   # gentle idle roll, radians
    frames = []
    syllables = rng.uniform(0.15, 0.55, size=12)
    for i, ti in enumerate(t):
        yaw = pitch = 0.0
        jaw = smile = blink = 0.0
        if kind == "nod":
            pitch = 0.22 * np.sin(2 * np.pi * ti / 1.2) * np.sin(np.pi * ti / SECONDS)
        elif kind == "turn":
            yaw = 0.28 * np.sin(2 * np.pi * ti / SECONDS)
        elif kind == "smile":
            smile = float(np.clip(np.sin(np.pi * ti / SECONDS) * 1.4, 0, 1))
        elif kind == "talk":
            k = int(ti / 0.2)
            jaw = syllables[k % len(syllables)] * np.sin(np.pi * (ti % 0.2) / 0.2) ** 2 * 0.35
            yaw = 0.04 * np.sin(2 * np.pi * ti / 1.6)
        elif kind == "blink":
            blink = float(smooth_pulse(ti, 0.7, 0.06) + smooth_pulse(ti, 1.7, 0.06))
        shape = deform(mesh, jaw=jaw, smile=smile, blink=min(blink, 1.0))
        frames.append(mt.subset(render(shape, yaw, pitch, float(sway[i]))))
    return np.stack(frames)


def main() -> None:
    rng = np.random.default_rng(SEED)
    mesh = canonical_mesh()
    for kind in ("nod", "turn", "smile", "talk", "blink"):
        kp = make(mesh, kind, rng)
        path = save_motion(Motion(kind, FPS, kp), MOTIONS_DIR / f"{kind}.json")
        print(f"{path.relative_to(ROOT)}: {len(kp)} frames, {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
