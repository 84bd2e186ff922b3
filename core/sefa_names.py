"""Names for SeFa directions, found by measurement: what each direction does to a face, and how far it can
go before the face stops being the same person.

SeFa (:mod:`core.stylegan2.sefa`) finds directions without labels. To name one, faces of several seeds are
moved along it (``AMOUNTS`` sigmas) and measured with the face mesh (:mod:`core.landmarks`):

- head turn: the nose tip's offset from the eyes' midpoint, in eye distances (yaw);
- head tilt: the angle of the line through the eyes, in degrees (roll);
- smile: the mouth's width, in eye distances;
- mouth open: the gap between the inner lips, in eye distances;
- eyes open: the gap between the eyelids, in eye distances;
- brightness: the mean luminance of the picture (0-255).

Each measure's change per sigma (least squares over the kept amounts, averaged over the seeds) is divided
by how much that measure varies between the seeds' own faces, or by the smallest change a viewer notices
(``VISIBLE``) where the faces vary less, so "0.8" means "one sigma along this direction changes it about
as much as the difference between two typical faces". The direction is named
after the measure it changes most, if that is at least ``MIN_EFFECT``; otherwise it stays "direction k".

"Same person" is approximated without a face-recognition model: an amount is kept while the mesh still
finds the face on every seed and the picture (at 32 px) differs from the unedited one by at most
``MAX_CHANGE`` (mean absolute difference in [0, 1]); the slider's range is the widest symmetric-or-not
interval around 0 of kept amounts. The result is stored per checkpoint and layer group (the bundled
checkpoint's in ``assets/direction_names.json``, others in ``cache/direction_names/``, keyed by the
checkpoint's content and the layers) so a page reads it in milliseconds; measuring takes minutes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from core import ASSETS_DIR, CACHE_DIR
from core.checkpoint import atomic_write_bytes
from core.stylegan2 import SemanticDirections, apply_directions

AMOUNTS = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
MEASURES = ("head turn", "head tilt", "smile", "mouth open", "eyes open", "brightness")
# The smallest change of each measure a viewer notices at the sampler's size (in the measure's units).
VISIBLE = {"head turn": 0.08, "head tilt": 4.0, "smile": 0.08, "mouth open": 0.06, "eyes open": 0.04,
           "brightness": 12.0}
MIN_EFFECT = 0.35        # standardised change per sigma needed to name a direction after a measure
MAX_CHANGE = 0.12        # mean |difference| at 32 px (0..1) beyond which the face is no longer the same
MESH_PX = 256            # faces are enlarged to this size for the face mesh
NAMES_DIR = CACHE_DIR / "direction_names"
FORMAT_VERSION = 2


@dataclass
class DirectionName:
    index: int               # direction k (0-based, SeFa order)
    name: str                # "smile", "head turn", ... or "direction k+1"
    effect: float            # standardised change per sigma of the named measure (signed)
    low: float               # slider range in sigmas where the face stays the same person
    high: float
    effects: dict[str, float]  # every measure's standardised change per sigma

    def label(self) -> str:
        """The slider's label: the name and which way is more ("smile (→ more)"); turns and tilts go
        both ways, so they keep their name alone."""
        if self.name.startswith(("direction", "head turn", "head tilt")):
            return self.name
        return f"{self.name} ({'→' if self.effect > 0 else '←'} more)"


def face_measures(image: np.ndarray, landmarker) -> dict[str, float] | None:
    """The six measures of one uint8 RGB face, or None when the mesh finds no face."""
    from core import landmarks as lm
    from core.image.convert import display_resize

    big = display_resize(image, MESH_PX) if image.shape[0] < MESH_PX else image
    meshes = landmarker.mesh(big)
    if not meshes:
        return None
    pts = meshes[0]
    left, right = pts[lm.LEFT_EYE_RING].mean(0), pts[lm.RIGHT_EYE_RING].mean(0)
    eye_dist = float(np.linalg.norm(left - right))
    if eye_dist < 1e-3:
        return None
    mid = (left + right) / 2
    turn = float(np.dot(pts[lm.NOSE_TIP] - mid, (left - right) / eye_dist)) / eye_dist
    tilt = float(np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0])))
    smile = float(np.linalg.norm(pts[lm.MOUTH_LEFT_CORNER] - pts[lm.MOUTH_RIGHT_CORNER])) / eye_dist
    mouth = float(np.linalg.norm(pts[lm.LOWER_LIP_INNER] - pts[lm.UPPER_LIP_INNER])) / eye_dist
    eyes = float(np.mean([np.linalg.norm(pts[a] - pts[b]) for a, b in (lm.RIGHT_EYE_LIDS, lm.LEFT_EYE_LIDS)]))
    luma = float((image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).mean())
    return {"head turn": turn, "head tilt": tilt, "smile": smile, "mouth open": mouth,
            "eyes open": eyes / eye_dist, "brightness": luma}


def _small(image: np.ndarray) -> np.ndarray:
    from core.image.convert import display_resize

    return display_resize(image, 32).astype(np.float32) / 255.0


@torch.no_grad()
def measure_directions(G, sem: SemanticDirections, ws_list: Sequence[torch.Tensor],
                       amounts: Sequence[float] = AMOUNTS, noise_mode: str = "const") -> list[DirectionName]:
    """Name every direction of ``sem`` by moving the faces ``ws_list`` (each [1, num_ws, w_dim]) along it."""
    from core.landmarks import FaceLandmarker
    from core.stylegan2 import synthesize

    amounts = [float(a) for a in amounts]
    zero = amounts.index(0.0)
    out = []
    with FaceLandmarker(max_faces=1, min_confidence=0.3) as landmarker:
        base = [synthesize(G, ws, noise_mode, noise_seed=i)[0] for i, ws in enumerate(ws_list)]
        base_measures = [face_measures(img, landmarker) for img in base]
        usable = [i for i, m in enumerate(base_measures) if m is not None]
        spread = {k: float(np.std([base_measures[i][k] for i in usable])) if len(usable) > 1 else 0.0
                  for k in MEASURES}
        for k in range(len(sem.directions)):
            kept = {a: True for a in amounts}
            series: dict[int, list[tuple[float, dict[str, float]]]] = {i: [] for i in usable}
            for i, ws in enumerate(ws_list):
                batch = torch.cat([apply_directions(ws, sem, [0.0] * k + [a]) for a in amounts])
                imgs = synthesize(G, batch, noise_mode, noise_seed=i)
                ref = _small(imgs[zero])
                for a, img in zip(amounts, imgs):
                    m = face_measures(img, landmarker)
                    changed = float(np.abs(_small(img) - ref).mean())
                    if m is None or changed > MAX_CHANGE:
                        kept[a] = False
                    if m is not None and i in series:
                        series[i].append((a, m))
            low, high = _kept_range(amounts, kept)
            effects = {}
            for name in MEASURES:
                slopes = []
                for points in series.values():
                    pts = [(a, m[name]) for a, m in points if low <= a <= high]
                    if len(pts) >= 2:
                        x, y = np.array(pts).T
                        slopes.append(float(np.polyfit(x, y, 1)[0]))
                # A change the seeds' own faces show, but never less than one a viewer notices: frontal
                # showcase faces barely differ in turn, and dividing by that would call every
                # direction a head turn.
                scale = max(spread[name], VISIBLE[name])
                effects[name] = float(np.mean(slopes)) / scale if slopes else 0.0
            best = max(effects, key=lambda n: abs(effects[n]))
            name = best if abs(effects[best]) >= MIN_EFFECT else f"direction {k + 1}"
            out.append(DirectionName(k, name, effects[best], low, high, effects))
    return _unique(out)


def _kept_range(amounts: list[float], kept: dict[float, bool]) -> tuple[float, float]:
    """The widest interval around 0 in which every amount is kept (at least the first step each way)."""
    neg = sorted((a for a in amounts if a < 0), reverse=True)
    pos = sorted(a for a in amounts if a > 0)
    low = high = 0.0
    for a in neg:
        if not kept[a]:
            break
        low = a
    for a in pos:
        if not kept[a]:
            break
        high = a
    return (low or (neg[0] / 2 if neg else 0.0)), (high or (pos[0] / 2 if pos else 0.0))


def _unique(names: list[DirectionName]) -> list[DirectionName]:
    """Two directions with one name: the stronger keeps it, the other becomes "<name> 2"."""
    seen: dict[str, int] = {}
    for d in sorted(names, key=lambda d: -abs(d.effect)):
        if d.name.startswith("direction"):
            continue
        seen[d.name] = seen.get(d.name, 0) + 1
        if seen[d.name] > 1:
            d.name = f"{d.name} {seen[d.name]}"
    return names


MEASURED_COUNT = 8       # directions measured per checkpoint and layer group (the page shows up to 8)
BUNDLED_NAMES = ASSETS_DIR / "direction_names.json"  # measured for the bundled checkpoint, committed


def names_key(checkpoint: str | os.PathLike, layers: Sequence[int]) -> str:
    """What the names depend on: the checkpoint's content and the factorised layers (SeFa's top-k
    directions do not depend on k, so one measurement of MEASURED_COUNT serves every slider count)."""
    from core.showcase import file_sha256

    blob = f"{file_sha256(checkpoint)}|{list(layers)}|{AMOUNTS}|{FORMAT_VERSION}"
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _read(path: Path, key: str) -> list[DirectionName] | None:
    try:
        data = json.loads(path.read_text())
        entry = data.get(key) if key in data else (data if data.get("key") == key else None)
        if not entry or entry.get("version") != FORMAT_VERSION:
            return None
        return [DirectionName(**d) for d in entry["directions"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def load_names(checkpoint: str | os.PathLike, layers: Sequence[int],
               cache_dir: str | os.PathLike = NAMES_DIR) -> list[DirectionName] | None:
    """Measured names for this checkpoint and layers (the committed file, then the cache), else None."""
    try:
        key = names_key(checkpoint, layers)
    except OSError:
        return None
    return _read(BUNDLED_NAMES, key) or _read(Path(cache_dir) / f"{key}.json", key)


def measure_and_store(checkpoint: str | os.PathLike, G, layers: Sequence[int] | None,
                      ws_list: Sequence[torch.Tensor], noise_mode: str = "const",
                      out: str | os.PathLike | None = None,
                      cache_dir: str | os.PathLike = NAMES_DIR) -> list[DirectionName]:
    """Measure MEASURED_COUNT directions of ``layers`` (None: all) and store them: in the cache, or added to
    ``out`` (a JSON file of {key: entry}, e.g. BUNDLED_NAMES). Minutes on 2 CPU cores."""
    from core.stylegan2 import sefa_directions

    sem = sefa_directions(G, layers, num=MEASURED_COUNT)
    names = measure_directions(G, sem, ws_list, noise_mode=noise_mode)
    key = names_key(checkpoint, sem.layers)
    entry = {"key": key, "version": FORMAT_VERSION, "checkpoint": Path(checkpoint).name,
             "layers": list(sem.layers), "amounts": list(AMOUNTS), "directions": [asdict(d) for d in names]}
    if out is not None:
        try:
            table = json.loads(Path(out).read_text())
        except (OSError, ValueError):
            table = {}
        table[key] = entry
        atomic_write_bytes(out, json.dumps(table, indent=1).encode())
    else:
        path = Path(cache_dir) / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(entry, indent=1).encode())
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.sefa_names CHECKPOINT [--layers coarse] [--out FILE]``."""
    import argparse

    from core import stylegan2 as sg
    from core.showcase import load_showcase

    ap = argparse.ArgumentParser(prog="python -m core.sefa_names")
    ap.add_argument("checkpoint")
    ap.add_argument("--layers", default="all", choices=["all", *sg.STYLE_GROUPS])
    ap.add_argument("--seeds", type=int, default=6, help="showcase faces measured per direction")
    ap.add_argument("--out", default=None, help="JSON table to add to (default: the cache)")
    args = ap.parse_args(argv)
    G = sg.load_generator(args.checkpoint)
    layers = None if args.layers == "all" else sg.style_layers(G, args.layers)
    cache = sg.WsCache(G)
    seeds = load_showcase(args.checkpoint).seeds[: args.seeds]
    names = measure_and_store(args.checkpoint, G, layers, [cache.get(s, 0.7) for s in seeds], out=args.out)
    for d in names:
        print(f"direction {d.index + 1}: {d.label()}  range {d.low:+.1f} .. {d.high:+.1f} sigma  "
              f"(effect {d.effect:+.2f})")
    return 0


if __name__ == "__main__":
    from core.cli import run_cli

    raise SystemExit(run_cli(main))
