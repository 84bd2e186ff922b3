"""Stage timing of page runs (core/stage_timing.py) and the OpenMP wait policy core sets (issue 21, session 9:
release -> exact face). No timed assertions: only what is logged, when, and what the environment says."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from core import stage_timing


def test_stages_are_silent_unless_asked_for(monkeypatch, capsys):
    monkeypatch.delenv(stage_timing.ENV, raising=False)
    with stage_timing.stage("face.synthesis"):
        pass
    stage_timing.mark("release.callback")
    assert capsys.readouterr().err == ""


def test_stage_lines_parse_back_in_order(monkeypatch, capsys):
    monkeypatch.setenv(stage_timing.ENV, "1")
    stage_timing.mark("release.callback")
    with stage_timing.stage("hero"):
        with stage_timing.stage("face.synthesis"):
            np.linalg.svd(np.random.default_rng(0).normal(size=(64, 64)))  # some CPU in this thread
    err = capsys.readouterr().err.splitlines()
    assert all(line.startswith("cc-timing ") for line in err), err
    rows = stage_timing.parse(["unrelated log line", *err])
    assert [r["stage"] for r in rows] == ["release.callback", "face.synthesis", "hero"]
    mark, inner, outer = rows
    assert set(inner) == {"stage", "wall_ms", "cpu_ms", "proc_cpu_ms", "minflt", "start", "end"}
    assert mark["at"] <= outer["start"] <= inner["start"] <= inner["end"] <= outer["end"]
    assert 0 <= inner["wall_ms"] <= outer["wall_ms"] and inner["cpu_ms"] >= 0 and inner["minflt"] >= 0


def test_a_stage_that_raises_is_still_logged(monkeypatch, capsys):
    monkeypatch.setenv(stage_timing.ENV, "1")
    with pytest.raises(ValueError), stage_timing.stage("face.encode"):
        raise ValueError("boom")
    assert [r["stage"] for r in stage_timing.parse(capsys.readouterr().err.splitlines())] == ["face.encode"]


def test_sampler_face_logs_its_stages(monkeypatch, capsys, tmp_path):
    """The sampler's face, drawn as the page draws it, logs mapping, synthesis and encoding."""
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(stage_timing.ENV, "1")
    at = AppTest.from_file("pages/3_stylegan2_sampler.py", default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    stages = [r["stage"] for r in stage_timing.parse(capsys.readouterr().err.splitlines())]
    for name in ("face.mapping", "face.synthesis", "face.encode", "face.send", "hero"):
        assert name in stages, stages


def _omp_policy(env: dict) -> str:
    code = "import os, core; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return out.stdout.strip()


def test_core_makes_openmp_threads_sleep_at_barriers_unless_told_otherwise():
    """OpenMP threads waiting for a preempted partner sleep instead of spinning (bench_release_exact.py
    --omp-rounds); a value the user set is kept."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _omp_policy(env) == "PASSIVE"
    assert _omp_policy({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"


def test_the_studio_imports_core_before_torch():
    """libgomp reads OMP_WAIT_POLICY once, when torch loads it: the router's first import is core's."""
    text = open(os.path.join(os.path.dirname(__file__), "..", "streamlit_app.py")).read()
    session = text.split("else:  # run for a browser session", 1)[1]
    assert session.index("from core") < (session.index("torch") if "torch" in session else len(session))
