"""What this installation has: bundled assets, checkpoints, downloaded weights, hardware, versions.

Used by the home page's status panel and by ``python -m core.status``.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from dataclasses import dataclass

from core import ASSETS_DIR, CHECKPOINTS_DIR, DOWNLOADS_DIR


@dataclass
class Item:
    name: str      # what a presenter calls it
    path: str      # where it lives, relative to the project when possible
    present: bool
    detail: str    # size or why it matters


# What each page needs to work offline. Paths are relative to the project root.
EXPECTED_ITEMS = [
    ("Demo profile photos (explorer)", ASSETS_DIR / "demo_photos"),
    ("Demo face crops (training data)", ASSETS_DIR / "demo_faces" / "faces64.npz"),
    ("Demo survey (dashboard)", ASSETS_DIR / "demo_survey.csv"),
    ("Demo motions (animator)", ASSETS_DIR / "motions"),
    ("Bundled DCGAN checkpoint", CHECKPOINTS_DIR / "dcgan_demo.pt"),
    ("Bundled StyleGAN2 checkpoint", CHECKPOINTS_DIR / "stylegan2_demo.pt"),
    ("Showcase seeds (home, sampler)", ASSETS_DIR / "showcase.json"),
    ("Home clip (home)", ASSETS_DIR / "home" / "clip.mp4"),
]

LIBRARIES = ["streamlit", "torch", "opencv-python", "mediapipe", "numpy", "plotly", "pandas", "scipy",
             "wordcloud", "vaderSentiment", "imageio", "imageio-ffmpeg", "ffmpeg-python"]


def _bytes(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} KB"


def _size(path) -> str:
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        return f"{len(files)} files, {_bytes(sum(p.stat().st_size for p in files))}"
    return _bytes(path.stat().st_size)


def asset_status() -> list[Item]:
    items = []
    root = ASSETS_DIR.parent
    for name, path in EXPECTED_ITEMS:
        present = path.exists() and (not path.is_dir() or any(path.iterdir()))
        detail = _size(path) if present else "missing"
        if present and path.name == "showcase.json":
            detail += f"; {showcase_state()}"
        items.append(Item(name, str(path.relative_to(root)), present, detail))
    if DOWNLOADS_DIR.is_dir():
        for p in sorted(DOWNLOADS_DIR.iterdir()):
            if p.is_file() and not p.name.endswith(".partial"):
                items.append(Item(f"Downloaded: {p.name}", str(p.relative_to(root)), True, _size(p)))
    return items


def showcase_state() -> str:
    """Whether the showcase lists were made from the bundled checkpoints as they are now."""
    from core.showcase import DCGAN_CHECKPOINT, DEFAULT_CHECKPOINT, load_showcase

    parts = []
    for name, checkpoint, command in (("StyleGAN2", DEFAULT_CHECKPOINT, "python -m core.showcase"),
                                      ("DCGAN", DCGAN_CHECKPOINT, "python -m core.showcase --dcgan")):
        showcase = load_showcase(checkpoint)
        parts.append(f"{name}: {len(showcase.seeds)} made for this checkpoint" if showcase.curated
                     else f"{name}: stale (the first ones are shown), run {command}")
    return "; ".join(parts)


def hardware(import_torch: bool = True) -> dict[str, str]:
    """Python, platform, cores, torch threads and GPU. ``import_torch=False`` (the home page: a fresh
    server's first request must not wait 2-10 s for torch) reports torch's figures only once it is loaded."""
    info = {"python": platform.python_version(), "platform": platform.platform(terse=True),
            "cpu cores": str(os.cpu_count())}
    if not import_torch and "torch" not in sys.modules:
        info["torch threads"] = info["gpu"] = "shown once torch is loaded (reload this page in a moment)"
        return info
    import torch

    info["torch threads"] = str(torch.get_num_threads())
    if torch.cuda.is_available():
        info["gpu"] = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    else:
        info["gpu"] = "none (CPU only)"
    return info


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


if __name__ == "__main__":
    for it in asset_status():
        print(f"[{'x' if it.present else ' '}] {it.name:36s} {it.path:40s} {it.detail}")
    for k, v in {**hardware(), **library_versions()}.items():
        print(f"{k:16s} {v}")
