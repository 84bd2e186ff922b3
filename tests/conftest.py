"""Shared pytest fixtures: paths to ../shared fixtures (skipping cleanly when absent) and the real-browser
modules' Chromium and studio server."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CUSTOM_CAST_SHARED", ROOT.parent / "shared"))

torch.set_num_threads(min(2, os.cpu_count() or 1))

# Exports sign with a certificate chain made on first use in the user's config folder (core.provenance):
# the suite, and every process it starts, makes its own in a scratch folder instead, never the user's.
os.environ["CUSTOM_CAST_CONFIG_DIR"] = tempfile.mkdtemp(prefix="custom-cast-test-config-")
for _name in ("CUSTOM_CAST_SIGN_CERT", "CUSTOM_CAST_SIGN_KEY", "CUSTOM_CAST_LABEL", "CUSTOM_CAST_WATERMARK",
              "CUSTOM_CAST_SIGN", "CUSTOM_CAST_ALLOW_UNSIGNED"):
    os.environ.pop(_name, None)


# In CI the fixtures are always there: a missing one is a failure, so that the official-parity tests
# can never vanish silently as skips. On a user's machine they skip with the reason.
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip the calling test on a user's machine; fail it in CI, where everything it needs must exist."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required in CI)", pytrace=False)
    pytest.skip(reason)


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip (fail in CI) the calling test with a clear reason when it is missing."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        skip_or_fail(f"../shared fixture not available: {p}")
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


# ---------------------------------------------------------------------------------- real browser
# One set of fixtures for the real-browser modules (tests/test_browser*.py), over tests/browser_support.py.


@pytest.fixture(scope="module")
def chromium():
    """Skip the module's browser tests (fail them in CI) where Debian's chromium or its driver is missing."""
    from tests.browser_support import chromium_installed

    if not chromium_installed():
        skip_or_fail("Debian chromium/chromium-driver not installed (the test script installs them)")


@pytest.fixture(scope="module")
def browser(chromium):
    """One headless Chromium (the page probe installed) for the whole module."""
    from tests.browser_support import new_browser

    driver = new_browser()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def studio_server(chromium):
    """``studio_server(log_name, env)`` serves the studio on a free loopback port and returns its URL; every
    server the module started is stopped after its last test."""
    from contextlib import ExitStack

    from tests.browser_support import running_studio

    with ExitStack() as servers:
        yield lambda log_name, env=None: servers.enter_context(running_studio(log_name, env))


# ---------------------------------------------------------------------------------- shows


@pytest.fixture
def inputs_in_tmp_allowed(tmp_path_factory, monkeypatch):
    """Shows that read models and photos from pytest's temporary folders, outside the project: allowed
    explicitly, as a user would (tests/bad_inputs/test_show_files.py checks that they are refused)."""
    monkeypatch.setenv("CUSTOM_CAST_ALLOW_INPUTS", str(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A 16 px StyleGAN2 with random weights in the project checkpoint format."""
    from core import stylegan2 as sg

    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    G = sg.random_generator(img_resolution=16, z_dim=16, w_dim=16, channel_max=16, mapping_layers=2, seed=3)
    sg.save_generator_checkpoint(G, path)
    return path
