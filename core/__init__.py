"""Custom Cast core layer: models, data pipelines and analysis, with no Streamlit import.

Each model family lives in its own module (``dcgan``, ``stylegan2``, ``fomm``); shared plumbing
(image conversion, atomic checkpoint writes, video writing, downloads) lives in ``image``,
``checkpoint``, ``video`` and ``download``.
"""

import os
from pathlib import Path

# OpenMP threads that reach a barrier before their partner sleep at once instead of spinning (libgomp's
# default spins ~300k rounds at every wait). Set before torch loads libgomp (core is imported first by the
# studio and the CLIs; a process that imported torch already keeps its setting). On the 2-core box the
# browser, the server's other work and other sessions keep preempting one of a render's two threads; a
# spinning partner then holds the other core for nothing, and the preempted thread cannot move to it.
# bench/bench_release_exact.py --omp-rounds: a 1024 px face under that contention, spinning against sleeping.
OMP_WAIT_POLICY = "PASSIVE"
os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
CHECKPOINTS_DIR = PROJECT_ROOT / "checkpoints"
# Where downloads of official weights go; ignored by git.
DOWNLOADS_DIR = CHECKPOINTS_DIR / "downloads"
# Scratch space for runs, exports and caches created while the app is used; ignored by git.
RUNS_DIR = PROJECT_ROOT / "runs"
CACHE_DIR = PROJECT_ROOT / "cache"
EXPORTS_DIR = PROJECT_ROOT / "exports"
