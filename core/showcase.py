"""Showcase seeds: the most face-like, mutually different seeds of a bundled StyleGAN2, and morph pairs.

The home page's row of faces and the sampler's 🎲 / default morph pair read ``assets/showcase.json``.
It is written by ``python -m core.showcase`` (rerun it after retraining a bundled checkpoint):

1. render ``--candidates`` seeds (official seed rule, ψ = 0.7, ``noise_mode='const'``, as the sampler);
2. score each with BlazeFace (:mod:`core.landmarks`, full-range model) on the face shown small in a
   profile-photo-like frame: resized to 160 px (bicubic) in the middle of a 320 px grey canvas, as
   ``bench/bench_quality.py`` does; the best detection's score (0 when none), averaged over the picture
   and its mirror image;
3. keep the ``pool`` best-scoring seeds and pick ``count`` of them by greedy max-min distance (start
   from the best score, then always the seed farthest from those already picked), so the row shows
   different people rather than near-twins;
4. pair showcase seeds for the morph, farthest apart first, each seed in at most one pair.

Distances are taken between the pictures (RGB at 32 px, L2 over [0, 1] pixels): "visibly different"
is a statement about pixels, and the morph blends what is seen.

The same file lists the animator's bundled faces (``--demo-faces``): the demo face set's
(``assets/demo_faces/faces64.npz``) most face-like samples with natural colours - a green or blue cast in
the middle of the face (CIELAB a* < 4 or b* < 0; skin is reddish-yellow) rules a sample out - picked for
variety the same way.

The bundled DCGAN has a showcase too (``--dcgan``; the home page's row of faces): its faces are named as
the trainer page shows them, a seed's grid of 16 (``dcgan.sample(G, 16, seed)``) and a position in it;
an entry's "seed" is ``seed * 16 + position``. They are scored and picked the same way (no morph pairs).

Each model's entry stores the sha256 of the checkpoint it was made from; :func:`load_showcase` falls
back to seeds ``0..n-1`` when the file is missing, damaged or made from other weights.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import ASSETS_DIR, CHECKPOINTS_DIR, PROJECT_ROOT
from core.checkpoint import atomic_write_bytes

SHOWCASE_FILE = ASSETS_DIR / "showcase.json"
SHOWCASE_FORMAT = "custom-cast-showcase"
DEFAULT_CHECKPOINT = CHECKPOINTS_DIR / "stylegan2_demo.pt"
DCGAN_CHECKPOINT = CHECKPOINTS_DIR / "dcgan_demo.pt"
DCGAN_GRID = 16              # faces per DCGAN seed: the trainer page's sample grid
PSI = 0.7                    # the sampler's default truncation
NOISE_MODE = "const"
CANVAS_PX, FACE_PX = 320, 160  # detector framing shared with bench/bench_quality.py
DISTANCE_PX = 32             # pictures are compared at this size (removes pixel noise, keeps the face)
DEMO_FACES_FILE = ASSETS_DIR / "demo_faces" / "faces64.npz"
MIN_SKIN_A, MIN_SKIN_B = 4.0, 0.0  # CIELAB a*, b* of the face's middle: below them a green / blue cast
DETECTOR = ("MediaPipe BlazeFace (full range, core.landmarks), face at 160 px on a 320 px grey canvas, mean "
            "of the picture and its mirror image")


@dataclass
class Showcase:
    """Seeds to show for one model, best first; ``curated`` is False for the 0..n-1 fallback."""

    model: str                                   # checkpoint file name (the key in the JSON file)
    seeds: list[int]
    scores: list[float | None]                   # BlazeFace score per seed (None in the fallback)
    pairs: list[tuple[int, int]] = field(default_factory=list)  # morph pairs (A, B), most different first
    psi: float = PSI
    noise_mode: str = NOISE_MODE
    curated: bool = True
    note: str = ""                               # why the fallback is used, for a caption


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def framed_for_detector(face: np.ndarray) -> np.ndarray:
    """The face resized to 160 px in the middle of a 320 px grey canvas (uint8 HxWx3)."""
    import cv2

    assert face.dtype == np.uint8 and face.ndim == 3 and face.shape[2] == 3, (face.dtype, face.shape)
    canvas = np.full((CANVAS_PX, CANVAS_PX, 3), 128, np.uint8)
    off = (CANVAS_PX - FACE_PX) // 2
    canvas[off:off + FACE_PX, off:off + FACE_PX] = cv2.resize(face, (FACE_PX, FACE_PX),
                                                               interpolation=cv2.INTER_CUBIC)
    return canvas


def face_scores(faces: np.ndarray) -> np.ndarray:
    """BlazeFace score of each uint8 [N, H, W, 3] face in the detector framing, averaged over the picture
    and its mirror image (a single score is noisy on small generated faces); 0 where none is found."""
    from core.landmarks import FaceLandmarker

    assert faces.ndim == 4 and faces.shape[3] == 3, faces.shape
    # A low threshold so weak faces get their (low) score instead of 0; no mesh is needed.
    with FaceLandmarker(max_faces=1, min_confidence=0.05, refine=False) as detector:
        def score(face: np.ndarray) -> float:
            return max((f.score for f in detector.detect(framed_for_detector(face))), default=0.0)

        return np.array([(score(face) + score(np.ascontiguousarray(face[:, ::-1]))) / 2 for face in faces],
                        dtype=np.float64)


def picture_features(faces: np.ndarray) -> np.ndarray:
    """[N, 32*32*3] float32 pixels in [0, 1], the space in which showcase distances are measured."""
    import cv2

    small = [cv2.resize(f, (DISTANCE_PX, DISTANCE_PX), interpolation=cv2.INTER_AREA) for f in faces]
    return np.stack(small).reshape(len(faces), -1).astype(np.float32) / 255.0


def max_min_order(features: np.ndarray, first: int, count: int,
                  weights: np.ndarray | None = None) -> list[int]:
    """Greedy farthest-point selection: ``first``, then always the row farthest from those chosen.

    ``weights`` (e.g. face scores) multiply the distances, so a far but barely face-like picture
    does not win over a nearly as far, clearer one.
    """
    assert features.ndim == 2 and 0 <= first < len(features), (features.shape, first)
    weights = np.ones(len(features)) if weights is None else np.asarray(weights, dtype=np.float64)
    assert weights.shape == (len(features),), weights.shape
    chosen = [first]
    nearest = np.linalg.norm(features - features[first], axis=1)
    while len(chosen) < min(count, len(features)):
        nxt = int(np.argmax(nearest * weights))
        chosen.append(nxt)
        nearest = np.minimum(nearest, np.linalg.norm(features - features[nxt], axis=1))
    return chosen


def far_pairs(features: np.ndarray, count: int) -> list[tuple[int, int, float]]:
    """Up to ``count`` disjoint index pairs (i, j, distance), farthest apart first."""
    dist = np.linalg.norm(features[:, None, :] - features[None, :, :], axis=2)
    i_idx, j_idx = np.triu_indices(len(features), k=1)
    order = np.argsort(-dist[i_idx, j_idx], kind="stable")
    used: set[int] = set()
    pairs = []
    for k in order:
        i, j = int(i_idx[k]), int(j_idx[k])
        if i in used or j in used:
            continue
        pairs.append((i, j, float(dist[i, j])))
        used |= {i, j}
        if len(pairs) == count:
            break
    return pairs


def pick_showcase(faces: np.ndarray, seeds: Sequence[int], scores: np.ndarray, count: int = 12,
                  pool: int = 48, pair_count: int = 6) -> dict:
    """The showcase entry for rendered candidates: chosen seeds with scores, and morph pairs.

    faces: uint8 [N, H, W, 3] renders of ``seeds``; scores: their face scores [N].
    """
    seeds = [int(s) for s in seeds]
    assert len(faces) == len(seeds) == len(scores), (len(faces), len(seeds), len(scores))
    best = np.argsort(-np.asarray(scores), kind="stable")[:max(pool, count)]
    feats = picture_features(faces[best])
    # Squared scores: among the pool (scores close together) the weight is mild, below it strong.
    order = [int(best[i]) for i in max_min_order(feats, 0, count, np.asarray(scores)[best] ** 2)]
    chosen_feats = picture_features(faces[order])
    pairs = [{"a": seeds[order[i]], "b": seeds[order[j]], "distance": round(d, 3)}
             for i, j, d in far_pairs(chosen_feats, pair_count)]
    return {"seeds": [{"seed": seeds[i], "score": round(float(scores[i]), 4)} for i in order],
            "pairs": pairs}


def render_seeds(G, seeds: Sequence[int], psi: float = PSI) -> np.ndarray:
    """uint8 [N, H, W, 3] renders of ``seeds`` as the sampler shows them."""
    from core import stylegan2 as sg

    images = [img for _, img in sg.generate_images(G, list(seeds), psi, noise_mode=NOISE_MODE,
                                                   batch_size=64)]
    return np.stack(images) if images else np.zeros((0, G.img_resolution, G.img_resolution, 3), np.uint8)


def showcase_faces(checkpoint: str | os.PathLike = DEFAULT_CHECKPOINT, count: int = 6,
                   size: int = 256) -> tuple[Showcase, np.ndarray]:
    """The first ``count`` showcase faces of ``checkpoint`` as uint8 [count, size, size, 3] for display.

    Upscaled with Lanczos (the browser's own scaling of a 64 px image is blurrier). Raises what
    ``load_generator`` raises (CheckpointError, OSError) when the checkpoint is missing or damaged.
    """
    from core import stylegan2 as sg
    from core.image.convert import display_resize

    showcase = load_showcase(checkpoint)
    G = sg.load_generator(checkpoint)
    return showcase, display_resize(render_seeds(G, showcase.seeds[:count], showcase.psi), size)


def dcgan_face_label(face_id: int) -> str:
    """How the trainer page names a DCGAN showcase face: its seed's grid and the position in it."""
    return f"seed {face_id // DCGAN_GRID} · face {face_id % DCGAN_GRID}"


def render_dcgan_faces(gen, face_ids: Sequence[int]) -> np.ndarray:
    """uint8 [N, H, W, 3] of DCGAN faces ``seed * 16 + position``, as the trainer page's grids show them."""
    from core import dcgan

    grids: dict[int, np.ndarray] = {}
    faces = []
    for face_id in face_ids:
        seed = int(face_id) // DCGAN_GRID
        if seed not in grids:
            grids[seed] = dcgan.sample(gen, DCGAN_GRID, seed)
        faces.append(grids[seed][int(face_id) % DCGAN_GRID])
    return np.stack(faces)


def dcgan_showcase_faces(checkpoint: str | os.PathLike = DCGAN_CHECKPOINT, count: int = 6,
                         size: int = 256) -> tuple[Showcase, np.ndarray]:
    """Like :func:`showcase_faces`, for the bundled DCGAN (face ids: :func:`dcgan_face_label`)."""
    from core import dcgan
    from core.image.convert import display_resize

    showcase = load_showcase(checkpoint)
    gen, _ = dcgan.load_generator(checkpoint)
    return showcase, display_resize(render_dcgan_faces(gen, showcase.seeds[:count]), size)


HOME_FACES_DIR = PROJECT_ROOT / "cache" / "home_faces"


def _stamp(path: Path) -> str:
    try:
        st = Path(path).stat()
    except OSError:
        return "missing"
    return f"{st.st_mtime_ns}-{st.st_size}"


def prepared_dcgan_faces(checkpoint: str | os.PathLike = DCGAN_CHECKPOINT, count: int = 6, size: int = 256,
                         cache_dir: str | os.PathLike = HOME_FACES_DIR) -> tuple[list[int], np.ndarray, str]:
    """(face ids, uint8 faces, note) of the DCGAN showcase, rendered once per checkpoint and showcase file
    and kept on disk: the opening slide's faces are the same every time, so a fresh server reads about
    1 MB of pixels (no torch import, no generator) instead of rendering them (10 s on a cold 2-core box).

    The cache file is named after what it depends on (checkpoint and showcase file stamps, count, size);
    a damaged one is rendered again. Raises what :func:`dcgan_showcase_faces` raises."""
    checkpoint = Path(checkpoint)
    key = hashlib.sha256(f"{checkpoint.resolve()}|{_stamp(checkpoint)}|{_stamp(SHOWCASE_FILE)}|{count}|"
                         f"{size}".encode()).hexdigest()[:20]
    path = Path(cache_dir) / f"dcgan_{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            faces, ids, note = data["faces"], data["ids"], str(data["note"])
        if faces.dtype == np.uint8 and faces.shape == (len(ids), size, size, 3) and len(ids) <= count:
            return [int(i) for i in ids], faces, note
    except (OSError, ValueError, KeyError):
        pass  # not prepared yet, or damaged: render
    showcase, faces = dcgan_showcase_faces(checkpoint, count, size)
    ids = showcase.seeds[: len(faces)]
    buf = io.BytesIO()
    np.savez(buf, faces=np.ascontiguousarray(faces, np.uint8), ids=np.asarray(ids, np.int64),
             note=np.asarray(showcase.note or ""))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buf.getvalue())
    except OSError:
        pass  # a read-only checkout still shows the faces; it only renders them each time
    return list(ids), faces, showcase.note or ""


def make_dcgan_entry(checkpoint: str | os.PathLike = DCGAN_CHECKPOINT, grids: int = 32, count: int = 12,
                     pool: int = 48) -> dict:
    """Render, score and pick the showcase of a DCGAN checkpoint: the faces of seeds 0..grids-1."""
    from core import dcgan

    checkpoint = Path(checkpoint)
    gen, _ = dcgan.load_generator(checkpoint)
    face_ids = list(range(grids * DCGAN_GRID))
    faces = render_dcgan_faces(gen, face_ids)
    scores = face_scores(faces)
    entry = pick_showcase(faces, face_ids, scores, count=count, pool=pool, pair_count=0)
    return {"family": "dcgan", "checkpoint": _shown(checkpoint), "sha256": file_sha256(checkpoint),
            "faces_per_seed": DCGAN_GRID, "candidates": len(face_ids), "pool": pool,
            "mean_score": round(float(scores.mean()), 4), "detector": DETECTOR, **entry}


def _shown(checkpoint: Path) -> str:
    try:
        return str(checkpoint.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(checkpoint)


def make_entry(checkpoint: str | os.PathLike, candidates: int = 512, count: int = 12, pool: int = 48,
               pair_count: int = 6, psi: float = PSI) -> dict:
    """Render, score and pick the showcase of one StyleGAN2 checkpoint (the JSON entry for it)."""
    import torch

    from core import stylegan2 as sg
    from core.device import choose_device

    checkpoint = Path(checkpoint)
    torch.manual_seed(0)
    device = choose_device().device  # $CUSTOM_CAST_DEVICE, else CUDA, MPS, CPU (CPU fallback in synthesize)
    G = sg.load_generator(checkpoint)
    G = G.to(device) if device != "cpu" else G
    seeds = list(range(candidates))
    faces = render_seeds(G, seeds, psi)
    scores = face_scores(faces)
    entry = pick_showcase(faces, seeds, scores, count=count, pool=pool, pair_count=pair_count)
    return {"checkpoint": _shown(checkpoint), "sha256": file_sha256(checkpoint), "psi": psi,
            "noise_mode": NOISE_MODE, "candidates": candidates, "pool": pool,
            "mean_score": round(float(scores.mean()), 4), "detector": DETECTOR,
            "distance": f"L2 over RGB pixels in [0, 1] at {DISTANCE_PX} px", **entry}


def colour_cast(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean CIELAB (a*, b*) of the middle half of each uint8 [N, H, W, 3] face (0 = neutral grey)."""
    import cv2

    n, h, w, _ = faces.shape
    middle = np.ascontiguousarray(faces[:, h // 4:h - h // 4, w // 4:w - w // 4])
    lab = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2LAB) for f in middle]).reshape(n, -1, 3).mean(1) - 128
    return lab[:, 1], lab[:, 2]


def pick_demo_faces(faces: np.ndarray, scores: np.ndarray, count: int = 24, pool: int = 96) -> list[int]:
    """Indices of ``count`` natural-coloured, face-like and mutually different faces, best first."""
    a, b = colour_cast(faces)
    natural = np.flatnonzero((a >= MIN_SKIN_A) & (b >= MIN_SKIN_B))
    if len(natural) == 0:
        return []
    best = natural[np.argsort(-scores[natural], kind="stable")[:max(pool, count)]]
    order = max_min_order(picture_features(faces[best]), 0, count, scores[best] ** 2)
    return [int(best[i]) for i in order]


def make_demo_faces_entry(npz: str | os.PathLike = DEMO_FACES_FILE, count: int = 24) -> dict:
    """Score the demo face set and pick the animator's bundled faces (the JSON entry)."""
    npz = Path(npz)
    with np.load(npz, allow_pickle=False) as data:
        faces = np.asarray(data["images"])
    scores = face_scores(faces)
    picked = pick_demo_faces(faces, scores, count)
    try:
        shown = str(npz.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        shown = str(npz)
    return {"source": shown, "sha256": file_sha256(npz), "faces": len(faces),
            "rule": f"natural colour (CIELAB a* >= {MIN_SKIN_A:g}, b* >= {MIN_SKIN_B:g} in the middle of the "
                    "face), then the best detector scores, picked for variety",
            "picks": [{"index": i, "score": round(float(scores[i]), 4)} for i in picked]}


def load_demo_face_indices(npz: str | os.PathLike = DEMO_FACES_FILE,
                           path: str | os.PathLike = SHOWCASE_FILE) -> list[int] | None:
    """The curated indices into ``npz``; None when the list is missing, damaged or made for another file."""
    try:
        entry = read_showcase_file(path).get("demo_faces")
        if not isinstance(entry, dict) or entry.get("sha256") != file_sha256(npz):
            return None
        return [int(p["index"]) for p in entry["picks"]] or None
    except (ValueError, OSError, KeyError, TypeError):
        return None


def read_showcase_file(path: str | os.PathLike = SHOWCASE_FILE) -> dict:
    """The parsed showcase file ({"format", "version", "models": {name: entry}}); ValueError if damaged."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read {Path(path).name}: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != SHOWCASE_FORMAT or not isinstance(doc.get("models"),
                                                                                             dict):
        raise ValueError(f"{Path(path).name} is not a Custom Cast showcase file")
    return doc


def _read_or_new(path: str | os.PathLike) -> dict:
    try:
        return read_showcase_file(path)
    except ValueError:
        return {"format": SHOWCASE_FORMAT, "version": 1, "made_by": "python -m core.showcase", "models": {}}


def write_showcase_entry(name: str, entry: dict, path: str | os.PathLike = SHOWCASE_FILE) -> None:
    """Add or replace one model's entry, keeping the others."""
    doc = _read_or_new(path)
    doc["models"][name] = entry
    atomic_write_bytes(path, (json.dumps(doc, indent=1) + "\n").encode())


def fallback(name: str, n: int, note: str) -> Showcase:
    seeds = list(range(n))
    return Showcase(name, seeds, [None] * n, [(s, s + 1) for s in range(0, n - 1, 2)], curated=False,
                    note=note)


def load_showcase(checkpoint: str | os.PathLike = DEFAULT_CHECKPOINT, path: str | os.PathLike = SHOWCASE_FILE,
                  fallback_count: int = 12) -> Showcase:
    """The curated seeds for ``checkpoint``, or seeds 0..n-1 (``curated=False``, with a note) when the
    file is missing or damaged, has no entry for the model, or was made from other weights."""
    name = Path(checkpoint).name
    try:
        entry = read_showcase_file(path)["models"].get(name)
    except ValueError as e:
        return fallback(name, fallback_count, f"No showcase list ({e}).")
    if not isinstance(entry, dict):
        return fallback(name, fallback_count, f"The showcase list has no entry for {name}.")
    try:
        current = file_sha256(checkpoint)
    except OSError:
        current = None
    if current != entry.get("sha256"):
        return fallback(name, fallback_count, f"The showcase list was made for other weights of {name}: "
                                              "run `python -m core.showcase` to refresh it.")
    try:
        seeds = [int(s["seed"]) for s in entry["seeds"]]
        scores = [float(s["score"]) for s in entry["seeds"]]
        pairs = [(int(p["a"]), int(p["b"])) for p in entry.get("pairs", [])]
        return Showcase(name, seeds, scores, pairs, float(entry.get("psi", PSI)),
                        str(entry.get("noise_mode", NOISE_MODE)))
    except (KeyError, TypeError, ValueError):
        return fallback(name, fallback_count, f"The showcase entry for {name} is malformed.")


def main(argv: Sequence[str] | None = None) -> int:
    from core.cli import ArgumentParser

    p = ArgumentParser(prog="python -m core.showcase", description=__doc__.split("\n")[0])
    p.add_argument("checkpoints", nargs="*", default=[str(DEFAULT_CHECKPOINT)],
                   help="StyleGAN2 checkpoints (default: the bundled checkpoints/stylegan2_demo.pt)")
    p.add_argument("--out", default=str(SHOWCASE_FILE), help="showcase file to update (default: %(default)s)")
    p.add_argument("--candidates", type=int, default=512, help="seeds 0..N-1 are scored")
    p.add_argument("--count", type=int, default=12, help="showcase seeds kept per model")
    p.add_argument("--pool", type=int, default=48, help="best-scoring seeds the diverse pick draws from")
    p.add_argument("--pairs", type=int, default=6, help="morph pairs kept per model")
    p.add_argument("--psi", type=float, default=PSI, help="truncation (the sampler's default)")
    p.add_argument("--demo-faces", action="store_true",
                   help="instead: pick the animator's bundled faces from assets/demo_faces/faces64.npz")
    p.add_argument("--dcgan", nargs="?", const=str(DCGAN_CHECKPOINT), metavar="CHECKPOINT",
                   help="instead: the showcase of a DCGAN checkpoint (default: the bundled one), from the "
                        "grids of seeds 0..--grids-1")
    p.add_argument("--grids", type=int, default=32, help="--dcgan: seed grids of 16 faces scored")
    args = p.parse_args(argv)
    if args.dcgan:
        if not 1 <= args.count <= args.pool <= args.grids * DCGAN_GRID <= 100_000:
            p.error("need 1 <= --count <= --pool <= 16 x --grids <= 100000")
        t0 = time.perf_counter()
        entry = make_dcgan_entry(args.dcgan, args.grids, args.count, args.pool)
        write_showcase_entry(Path(args.dcgan).name, entry, args.out)
        print(f"{Path(args.dcgan).name}: {entry['candidates']} faces scored in "
              f"{time.perf_counter() - t0:.0f} s, mean score {entry['mean_score']:.3f}")
        print("  faces: " + ", ".join(f"{dcgan_face_label(q['seed'])} ({q['score']:.3f})"
                                      for q in entry["seeds"]))
        print(f"wrote {args.out}")
        return 0
    if args.demo_faces:
        entry = make_demo_faces_entry()
        doc = _read_or_new(args.out)
        doc["demo_faces"] = entry
        atomic_write_bytes(args.out, (json.dumps(doc, indent=1) + "\n").encode())
        print("demo faces: " + ", ".join(f"{q['index']} ({q['score']:.3f})" for q in entry["picks"]))
        print(f"wrote {args.out}")
        return 0
    if not 1 <= args.count <= args.pool <= args.candidates <= 100_000:
        p.error("need 1 <= --count <= --pool <= --candidates <= 100000")
    for ckpt in args.checkpoints:
        t0 = time.perf_counter()
        entry = make_entry(ckpt, args.candidates, args.count, args.pool, args.pairs, args.psi)
        write_showcase_entry(Path(ckpt).name, entry, args.out)
        print(f"{Path(ckpt).name}: {args.candidates} seeds scored in {time.perf_counter() - t0:.0f} s, "
              f"mean score {entry['mean_score']:.3f}")
        print("  seeds: " + ", ".join(f"{s['seed']} ({s['score']:.3f})" for s in entry["seeds"]))
        print("  pairs: " + ", ".join(f"{q['a']}-{q['b']} ({q['distance']:.1f})" for q in entry["pairs"]))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from core.cli import run_cli

    sys.exit(run_cli(main, prog="python -m core.showcase"))
