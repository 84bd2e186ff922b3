"""Build the bundled demo data: synthetic face crops and a demo set of "profile photos".

Nothing here shows a real person. Faces come from the 64 px DCGAN shipped inside the MIT-licensed
``gan-face-generate`` package (trained on Microsoft's synthetic DigiFace-1M renders), which is a
build-time tool only, never an app dependency. Install it into a throw-away folder and put that on
``PYTHONPATH``::

    python3 -m venv /tmp/ganface
    /tmp/ganface/bin/pip install --no-deps --target /tmp/gfg gan-face-generate==1.1.1
    PYTHONPATH=/tmp/gfg .venv/bin/python assets/make_demo_assets.py --faces --photos \
        [--big-out /tmp/faces64_big.npz --big-n 20000]

Outputs (all seeded, so a rerun reproduces them):
- ``assets/demo_faces/faces64.npz``: key ``images``, uint8 (N, 64, 64, 3), N = 900 faces that the
  BlazeFace detector and the face mesh both accept (broken generator samples are dropped).
  Pixel values are stored at 7-bit precision (even values) so the file stays under 8 MB.
- ``--big-out PATH``: a larger set in the same layout at full 8-bit precision for training (not
  committed).
- ``assets/demo_photos/``: profile-photo style JPEGs composited from those faces, plus
  ``metadata.csv`` (filename, name, occupation).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.landmarks import FaceLandmarker  # noqa: E402

FACES_DIR = ROOT / "assets" / "demo_faces"
PHOTOS_DIR = ROOT / "assets" / "demo_photos"
NUM_DEMO_FACES = 900
LATENT_DIM = 100  # the package's DCGAN takes z of shape (N, 100, 1, 1)


def load_generator() -> torch.nn.Module:
    """The package's DCGAN generator (Radford et al. 2016 architecture) with its bundled weights."""
    spec = importlib.util.find_spec("gan_face_generate")
    if spec is None or spec.origin is None:
        sys.exit("gan-face-generate is not importable: install it with --no-deps into a folder on PYTHONPATH "
                 "(see this script's docstring)")
    from gan_face_generate.models import Generator

    weights = Path(spec.origin).parent / "weights.tar"
    state = torch.load(weights, map_location="cpu", weights_only=True)["netG_state_dict"]
    net = Generator(0, 3, LATENT_DIM, 64)  # ngpu=0 (CPU), 3 channels, z dim 100, 64 base filters
    net.load_state_dict(state)
    return net.eval()


@torch.no_grad()
def sample_faces(net: torch.nn.Module, count: int, generator: torch.Generator,
                 batch: int = 256) -> np.ndarray:
    """``count`` raw generator samples as uint8 (count, 64, 64, 3)."""
    out = []
    for start in range(0, count, batch):
        z = torch.randn(min(batch, count - start), LATENT_DIM, 1, 1, generator=generator)
        x = net(z)
        out.append(((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
    return np.concatenate(out)


def is_clean_face(landmarker: FaceLandmarker, face64: np.ndarray) -> bool:
    """True when BlazeFace finds one confident, centred face and the 478-point mesh fits it.

    The crop fills the whole frame, which BlazeFace handles badly, so it is padded with grey and
    upscaled first (a face then covers the middle half of a 256 px image).
    """
    padded = np.pad(face64, ((32, 32), (32, 32), (0, 0)), mode="constant", constant_values=128)
    big = cv2.resize(padded, (256, 256), interpolation=cv2.INTER_CUBIC)
    faces = landmarker.detect(big)
    if not faces or faces[0].score < 0.6:
        return False
    x0, y0, x1, y1 = faces[0].box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if not (80 <= cx <= 176 and 80 <= cy <= 176 and faces[0].size >= 60):
        return False
    return len(landmarker.mesh(big)) >= 1


def clean_faces(net: torch.nn.Module, landmarker: FaceLandmarker, wanted: int, seed: int,
                log_every: int = 1000) -> np.ndarray:
    """Sample until ``wanted`` faces pass :func:`is_clean_face`; returns uint8 (wanted, 64, 64, 3)."""
    gen = torch.Generator().manual_seed(seed)
    kept: list[np.ndarray] = []
    tried = 0
    while len(kept) < wanted:
        for face in sample_faces(net, 256, gen):
            tried += 1
            if is_clean_face(landmarker, face):
                kept.append(face)
                if len(kept) % log_every == 0:
                    print(f"  {len(kept)}/{wanted} kept ({tried} sampled)", flush=True)
                if len(kept) == wanted:
                    break
    print(f"kept {wanted} of {tried} samples ({100 * wanted / tried:.1f}%)")
    return np.stack(kept)


def write_demo_faces(net: torch.nn.Module, landmarker: FaceLandmarker, seed: int) -> np.ndarray:
    faces = clean_faces(net, landmarker, NUM_DEMO_FACES, seed)
    # 7-bit precision (invisible) keeps the compressed file under 8 MB.
    stored = (faces & 0xFE).astype(np.uint8)
    FACES_DIR.mkdir(parents=True, exist_ok=True)
    path = FACES_DIR / "faces64.npz"
    np.savez_compressed(path, images=stored)
    print(f"wrote {path} {stored.shape} {path.stat().st_size / 1e6:.2f} MB")
    return faces


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", action="store_true", help="write assets/demo_faces/faces64.npz")
    ap.add_argument("--photos", action="store_true", help="write assets/demo_photos/")
    ap.add_argument("--big-out", type=Path, help="also write a larger full-precision face set here")
    ap.add_argument("--big-n", type=int, default=20000, help="faces in the --big-out set")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    net = load_generator()
    with FaceLandmarker(max_faces=1) as landmarker:
        faces = None
        if args.faces:
            faces = write_demo_faces(net, landmarker, args.seed)
        if args.photos:
            if faces is None:
                faces = np.load(FACES_DIR / "faces64.npz")["images"]
            write_demo_photos(faces, args.seed)
        if args.big_out:
            big = clean_faces(net, landmarker, args.big_n, args.seed + 1)
            args.big_out.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(args.big_out, images=big)
            print(f"wrote {args.big_out} {big.shape}")


FIRST_NAMES = ["Ada", "Bram", "Chioma", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kavya",
               "Luca", "Mara", "Nikolai", "Oona", "Pedro", "Quinn", "Rosa", "Sami", "Tala", "Uma", "Viktor",
               "Wen", "Ximena", "Yusuf", "Zara", "Amara", "Bo", "Cyrus", "Dalia"]
LAST_NAMES = ["Abara", "Berglund", "Castell", "Dorne", "Eskildsen", "Ferro", "Gallo", "Halvorsen", "Ivers",
              "Jansen", "Kovac", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rahman",
              "Sato", "Tamm", "Umarov", "Varga", "Weller", "Xu", "Yilmaz", "Zeller"]
OCCUPATIONS = ["software engineer", "data scientist", "product manager", "graphic designer", "nurse",
               "teacher", "marketing manager", "software engineer", "research scientist", "photographer",
               "data analyst", "sales manager", "UX designer", "mechanical engineer", "accountant",
               "software engineer", "architect", "journalist", "data scientist", "consultant",
               "machine learning engineer", "recruiter", "student", "chef", "physician"]
PHOTO_SIDE = 400
NUM_SINGLE, NUM_PAIRS, NUM_NONFACE, NUM_GRAY, NUM_BLURRY, NUM_DUPES = 100, 8, 8, 6, 3, 3


def _background(rng: np.random.Generator, side: int) -> np.ndarray:
    """A procedural backdrop: flat colour, vertical gradient, soft bokeh blobs or diagonal stripes."""
    kind = rng.integers(4)
    c1, c2 = rng.integers(20, 236, size=3), rng.integers(20, 236, size=3)
    t = np.linspace(0, 1, side)[:, None, None]
    if kind == 0:
        img = np.broadcast_to(c1, (side, side, 3)).astype(np.float32)
    elif kind == 1:
        img = np.broadcast_to((1 - t) * c1 + t * c2, (side, side, 3)).astype(np.float32)
    elif kind == 2:
        img = np.broadcast_to((1 - t) * c1 + t * c2, (side, side, 3)).astype(np.float32).copy()
        for _ in range(12):
            colour = rng.integers(0, 256, size=3).tolist()
            cv2.circle(img, tuple(int(v) for v in rng.integers(0, side, 2)), int(rng.integers(10, 60)),
                       colour, -1)
        img = cv2.GaussianBlur(img, (0, 0), 9)
    else:
        yy, xx = np.mgrid[:side, :side]
        stripes = ((xx + yy) // int(rng.integers(20, 60))) % 2
        img = np.where(stripes[..., None] == 1, c1, c2).astype(np.float32)
        img = cv2.GaussianBlur(img, (0, 0), 2)
    return np.array(img, dtype=np.float32, order="C")  # writable and contiguous for OpenCV drawing


def _paste_face(canvas: np.ndarray, face64: np.ndarray, size: int, cx: int, cy: int,
                rng: np.random.Generator) -> None:
    """Upscale a 64 px face to ``size`` and blend it in with a feathered oval plus shoulders."""
    side = canvas.shape[0]
    shirt = rng.integers(10, 240, size=3).tolist()
    shoulders = (cx, min(side + size // 3, cy + int(size * 0.95)))
    cv2.ellipse(canvas, shoulders, (int(size * 0.75), int(size * 0.55)),
                0, 0, 360, shirt, -1)
    face = cv2.resize(face64, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, (size // 2, size // 2), (int(size * 0.44), int(size * 0.49)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), size * 0.04)[..., None]
    x0, y0 = cx - size // 2, cy - size // 2
    xs, ys = max(0, x0), max(0, y0)
    xe, ye = min(side, x0 + size), min(side, y0 + size)
    if xe <= xs or ye <= ys:
        return
    region = canvas[ys:ye, xs:xe]
    f = face[ys - y0:ye - y0, xs - x0:xe - x0]
    m = mask[ys - y0:ye - y0, xs - x0:xe - x0]
    canvas[ys:ye, xs:xe] = region * (1 - m) + f * m


def _nonface(rng: np.random.Generator, side: int) -> np.ndarray:
    """A procedurally drawn picture with no face (logo-like shapes, a landscape or a pattern)."""
    img = _background(rng, side)
    kind = rng.integers(3)
    if kind == 0:  # "logo": concentric shapes and text-like bars
        c = side // 2
        for r in range(int(side * 0.4), 10, -int(rng.integers(15, 40))):
            cv2.rectangle(img, (c - r, c - r), (c + r, c + r), rng.integers(0, 256, 3).tolist(), -1)
    elif kind == 1:  # "landscape": sky, hills and a sun
        img[:] = np.linspace(1, 0.6, side)[:, None, None] * np.array([235, 190, 120], np.float32)
        for k in range(3):
            xs = np.arange(side)
            ys = (side * (0.55 + 0.12 * k) + 30 * np.sin(xs / rng.uniform(30, 80) + k)).astype(np.int32)
            corners = [[side - 1, side - 1], [0, side - 1]]
            pts = np.concatenate([np.stack([xs, ys], 1), corners]).astype(np.int32)
            cv2.fillPoly(img, [pts], (40 + 40 * k, 110 + 30 * k, 60))
        cv2.circle(img, (int(side * rng.uniform(0.2, 0.8)), int(side * 0.2)), 30, (250, 230, 120), -1)
    else:  # pattern of polygons
        for _ in range(25):
            pts = rng.integers(0, side, size=(3, 2)).astype(np.int32)
            cv2.fillPoly(img, [pts], rng.integers(0, 256, 3).tolist())
    return img


def write_demo_photos(faces: np.ndarray, seed: int) -> None:
    """Compose the demo profile photos and metadata.csv into assets/demo_photos/ (no real people)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    if PHOTOS_DIR.exists():
        for p in PHOTOS_DIR.iterdir():
            p.unlink()
    PHOTOS_DIR.mkdir(parents=True, exist_ok=True)
    order = rng.permutation(len(faces))
    rows = []
    side = PHOTO_SIDE
    n_total = NUM_SINGLE + NUM_PAIRS + NUM_NONFACE
    for i in range(n_total):
        canvas = _background(rng, side)
        if i < NUM_SINGLE:
            size = int(rng.integers(110, 300))
            cx = int(rng.integers(size // 2, side - size // 2 + 1))
            cy = int(rng.integers(size // 2, side - size // 3))
            _paste_face(canvas, faces[order[i]], size, cx, cy, rng)
        elif i < NUM_SINGLE + NUM_PAIRS:
            size = int(rng.integers(110, 170))
            for k, cx in enumerate((side // 4 + 10, 3 * side // 4 - 10)):
                _paste_face(canvas, faces[order[i * 2 + k - NUM_SINGLE]], size, cx,
                            int(rng.integers(size // 2 + 10, side - size // 2)), rng)
        else:
            canvas = _nonface(rng, side)
        img = np.clip(canvas + rng.normal(0, 2.0, canvas.shape), 0, 255).astype(np.uint8)
        if NUM_SINGLE - NUM_GRAY - NUM_BLURRY <= i < NUM_SINGLE - NUM_BLURRY:
            img = np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
        elif NUM_SINGLE - NUM_BLURRY <= i < NUM_SINGLE:
            img = cv2.GaussianBlur(img, (0, 0), 6)
        fname = f"profile_{i:03d}.jpg"
        Image.fromarray(img).save(PHOTOS_DIR / fname, quality=85)
        name = f"{FIRST_NAMES[rng.integers(len(FIRST_NAMES))]} {LAST_NAMES[rng.integers(len(LAST_NAMES))]}"
        occupation = OCCUPATIONS[rng.integers(len(OCCUPATIONS))]
        rows.append((fname, name, occupation))
        if i < NUM_DUPES:  # the same picture uploaded twice, re-encoded smaller
            dup = f"profile_{i:03d}_copy.jpg"
            Image.fromarray(img).resize((side * 3 // 4, side * 3 // 4)).save(PHOTOS_DIR / dup, quality=70)
            rows.append((dup, name, occupation))
    with open(PHOTOS_DIR / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["filename", "name", "occupation"])
        w.writerows(rows)
    total = sum(p.stat().st_size for p in PHOTOS_DIR.iterdir())
    print(f"wrote {len(rows)} photos to {PHOTOS_DIR} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
