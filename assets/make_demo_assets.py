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
def sample_faces(net: torch.nn.Module, count: int, generator: torch.Generator, batch: int = 256) -> np.ndarray:
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


def write_demo_photos(faces: np.ndarray, seed: int) -> None:
    raise NotImplementedError


if __name__ == "__main__":
    main()
