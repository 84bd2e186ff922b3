"""Shared pytest fixtures: paths to ../shared fixtures (skipping cleanly when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CUSTOM_CAST_SHARED", ROOT.parent / "shared"))

torch.set_num_threads(min(2, os.cpu_count() or 1))


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the calling test with a clear reason when it is missing."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"../shared fixture not available: {p}")
    return p


@pytest.fixture
def shared():
    return shared_path


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread: tiny models gain nothing from intra-op threads, and spinning
    threads thrash when the suite shares two cores with other work."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
