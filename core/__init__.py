"""Custom Cast core layer: models, data pipelines and analysis, with no Streamlit import.

Each model family lives in its own module (``dcgan``, ``stylegan2``, ``fomm``); shared plumbing
(image conversion, atomic checkpoint writes, video writing, downloads) lives in ``image``,
``checkpoint``, ``video`` and ``download``.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
CHECKPOINTS_DIR = PROJECT_ROOT / "checkpoints"
# Where downloads of official weights go; ignored by git.
DOWNLOADS_DIR = CHECKPOINTS_DIR / "downloads"
# Scratch space for runs, exports and caches created while the app is used; ignored by git.
RUNS_DIR = PROJECT_ROOT / "runs"
CACHE_DIR = PROJECT_ROOT / "cache"
EXPORTS_DIR = PROJECT_ROOT / "exports"
