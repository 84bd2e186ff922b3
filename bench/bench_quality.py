"""Benchmark: do the bundled generators' samples look like faces? (issue 11's quality table)

For each generator checkpoint (a project StyleGAN2 ``.pt``/``.pkl`` or a DCGAN ``.pt``) it draws
``--n`` samples and compares them with the demo face set ``assets/demo_faces/faces64.npz`` (900
samples of the MIT-licensed DigiFace DCGAN used as teacher, split into halves A = first 450 and
B = last 450). The first row, teacher half B against half A, is the reference a perfect student reaches.

Columns:
- BlazeFace >= 0.9 / mean score: MediaPipe's in-wheel short-range BlazeFace detector on each sample
  resized to 160 px (bicubic) and pasted in the middle of a 320 px grey canvas, as in a profile photo;
  the best detection's score, 0 when none (``core.landmarks.SmallFaceScorer``, the scorer the StyleGAN2
  teacher stream filters with).
- SWD x1e3 vs half A: ProGAN's sliced Wasserstein distance over Laplacian-pyramid levels (64/32/16 px)
  of 7x7 patch descriptors, the DCGAN trainer's ``SWDEvaluator`` (same seeds, so rows compare).
- sharpness: mean variance of the Laplacian of the 64 px grey image (OpenCV ``CV_64F``).

StyleGAN2 samples are seeds 0..n-1 (official ``generate.py`` rule) at ``--psi``, ``--noise-mode`` (default
``const``, as the sampler page);
DCGAN samples are ``latent_noise(n, latent_dim, seed=0)``. ``--teacher`` adds a row for raw (unfiltered)
samples of the teacher itself (needs gan-face-generate on PYTHONPATH; the demo set was filtered by
detector, so raw samples are the ceiling of a student trained on the raw stream).

Usage: python bench/bench_quality.py [CHECKPOINT ...] [--n 256] [--psi 1.0] [--teacher] [--json OUT]
       (no checkpoint: the bundled checkpoints/stylegan2_demo.pt and checkpoints/dcgan_demo.pt)
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
TEACHER_SET = ROOT / "assets" / "demo_faces" / "faces64.npz"
HALF = 450  # the 900-face set splits into halves A and B
CANVAS, FACE_PX = 320, 160


def _import(name: str, modules: tuple[str, ...]):
    """``name`` from the first of ``modules`` that has it (the core tree is being split into packages)."""
    errors = []
    for mod in modules:
        try:
            return getattr(importlib.import_module(mod), name)
        except (ImportError, AttributeError) as e:
            errors.append(f"{mod}: {type(e).__name__}: {e}")
    raise ImportError(f"cannot import {name} from any of {modules}:\n  " + "\n  ".join(errors))


# ---------------------------------------------------------------------------------------------------
# Metrics


def sharpness(faces: np.ndarray) -> float:
    """Mean variance of the Laplacian of the grey 64 px images (higher = more fine detail or noise)."""
    return float(np.mean([cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
                          for f in faces]))


def nchw_uint8(faces: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(faces)).permute(0, 3, 1, 2).contiguous()


def quality_row(name: str, faces: np.ndarray, scorer, swd: Callable) -> dict:
    s = scorer.scores(faces)
    fake = nchw_uint8(faces).float() / 127.5 - 1
    return {"name": name, "n": len(faces), "face_rate": float((s >= 0.9).mean()),
            "mean_score": float(s.mean()), "swd": float(swd(fake)["swd"]), "sharpness": sharpness(faces)}


# ---------------------------------------------------------------------------------------------------
# Samplers


@torch.no_grad()
def stylegan2_samples(path: Path, n: int, psi: float, noise_mode: str = "const") -> np.ndarray:
    load_generator = _import("load_generator", ("core.stylegan2",))
    zs_from_seeds = _import("zs_from_seeds", ("core.stylegan2",))
    to_uint8 = _import("to_uint8", ("core.image.convert",))
    G = load_generator(path)
    z = zs_from_seeds(list(range(n)), G.z_dim)
    torch.manual_seed(0)  # noise_mode='random' draws from the global generator: same noise every run
    return np.concatenate([to_uint8(G(z[i:i + 64], None, truncation_psi=psi, noise_mode=noise_mode))
                           for i in range(0, n, 64)])


@torch.no_grad()
def dcgan_samples(path: Path, n: int) -> np.ndarray:
    load_generator = _import("load_generator", ("core.dcgan.loading", "core.dcgan"))
    sample = _import("sample", ("core.dcgan.sampling", "core.dcgan"))
    gen, _ = load_generator(path)
    return sample(gen, n, seed=0)


@torch.no_grad()
def teacher_samples(n: int) -> np.ndarray:
    """Raw samples of gan-face-generate's DCGAN for the official seed rule (z of seed s = seeds 0..n-1)."""
    import importlib.util

    spec = importlib.util.find_spec("gan_face_generate")
    if spec is None or spec.origin is None:
        raise ImportError("gan-face-generate is not on PYTHONPATH (see assets/make_demo_assets.py)")
    from gan_face_generate.models import Generator

    zs_from_seeds = _import("zs_from_seeds", ("core.stylegan2",))
    net = Generator(0, 3, 100, 64)
    net.load_state_dict(torch.load(Path(spec.origin).parent / "weights.tar", map_location="cpu",
                                   weights_only=True)["netG_state_dict"])
    x = net.eval()(zs_from_seeds(list(range(n)), 100)[:, :, None, None]).clamp(-1, 1)
    return ((x + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def checkpoint_family(path: Path) -> str:
    """'stylegan2' or 'dcgan' from the file's config (official .pkl pickles are StyleGAN2)."""
    if path.suffix == ".pkl":
        return "stylegan2"
    safe_torch_load = _import("safe_torch_load", ("core.checkpoint",))
    cfg = safe_torch_load(path).get("config")
    if isinstance(cfg, dict) and "img_resolution" in cfg:
        return "stylegan2"
    if isinstance(cfg, dict) and "model" in cfg:
        return "dcgan"
    raise ValueError(f"{path.name}: neither a StyleGAN2 nor a DCGAN generator checkpoint")


# ---------------------------------------------------------------------------------------------------


def print_table(rows: list[dict]) -> None:
    head = f"| {'samples':<40} | {'n':>4} | BlazeFace >= 0.9 | mean score | SWD x1e3 vs A | sharpness |"
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for r in rows:
        print(f"| {r['name'][:40]:<40} | {r['n']:>4} | {100 * r['face_rate']:>15.1f}% "
              f"| {r['mean_score']:>10.3f} | {r['swd']:>13.1f} | {r['sharpness']:>9.0f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoints", nargs="*", type=Path,
                    help="generator checkpoints (default: the bundled ones)")
    ap.add_argument("--n", type=int, default=256, help=f"samples per row (at most {HALF})")
    ap.add_argument("--psi", type=float, default=1.0, help="StyleGAN2 truncation")
    ap.add_argument("--noise-mode", choices=("const", "random", "none"), default="const",
                    help="StyleGAN2 noise inputs (random: the same draws every run)")
    ap.add_argument("--teacher", action="store_true", help="add a row of raw teacher samples")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--core-root", type=Path, default=ROOT,
                    help="import core from this tree (e.g. a frozen copy while the live one is in flux)")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args(argv)
    if not 1 <= args.n <= HALF:
        ap.error(f"--n must be 1..{HALF}")
    sys.path.insert(0, str(args.core_root.resolve()))
    torch.set_num_threads(args.threads)
    swd_cls = _import("SWDEvaluator", ("core.dcgan.quality", "core.dcgan"))

    teacher = np.load(TEACHER_SET)["images"]
    assert teacher.shape == (2 * HALF, 64, 64, 3), teacher.shape
    half_a, half_b = teacher[:HALF][:args.n], teacher[HALF:][:args.n]
    swd = swd_cls(nchw_uint8(half_a))
    checkpoints = args.checkpoints or [ROOT / "checkpoints" / "stylegan2_demo.pt",
                                       ROOT / "checkpoints" / "dcgan_demo.pt"]
    scorer = _import("SmallFaceScorer", ("core.landmarks",))(CANVAS, FACE_PX)
    rows = []
    t0 = time.perf_counter()
    try:
        rows.append(quality_row("teacher half B (reference)", half_b, scorer, swd))
        if args.teacher:
            rows.append(quality_row("teacher, raw samples", teacher_samples(args.n), scorer, swd))
        for path in checkpoints:
            if checkpoint_family(path) == "stylegan2":
                noise = "" if args.noise_mode == "const" else f" {args.noise_mode}"
                faces = stylegan2_samples(path, args.n, args.psi, args.noise_mode)
                name = f"{path.name} psi={args.psi:g}{noise}"
            else:
                faces, name = dcgan_samples(path, args.n), path.name
            rows.append(quality_row(name, faces, scorer, swd))
    finally:
        scorer.close()
    print_table(rows)
    print(f"({time.perf_counter() - t0:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
