"""The studio's one device choice reaches the work the pages start: show prepare (in process, as the
``prepare --device`` command, and as the job the Present page starts) and the animator's engine. The
choice is passed as an argument, never through the server's environment; a device this machine lacks
(CUDA here: the test machine has no GPU) is the existing one-line refusal, not a crash."""

from __future__ import annotations

import os
import sys

import pytest
from streamlit.testing.v1 import AppTest

from core import device as dv
from core import show as S
from core.cli import run_cli
from core.show.cli import main as show_main
from pages._common import DEVICE_CHOICE, DEVICE_REQUEST

pytestmark = pytest.mark.usefixtures("one_torch_thread", "inputs_in_tmp_allowed")
NO_CUDA = "no CUDA GPU is available"


@pytest.fixture
def face_show(tmp_path, monkeypatch, tiny_model):
    monkeypatch.setenv("CUSTOM_CAST_SHOWS", str(tmp_path))
    monkeypatch.delenv(dv.ENV_VAR, raising=False)
    show_dir = tmp_path / "talk"
    S.create_show(show_dir, "Board talk")
    S.add_scene(show_dir, {"kind": "face", "id": "f", "model": str(tiny_model), "seed": 3})
    return show_dir


@pytest.fixture
def requests(monkeypatch) -> list:
    """Every device request core.device.choose_device receives (it still answers)."""
    seen: list = []
    real = dv.choose_device

    def recording(requested=None):
        seen.append(requested)
        return real(requested)

    monkeypatch.setattr(dv, "choose_device", recording)
    return seen


@pytest.mark.skipif(dv.available()[0] != "cpu", reason="checks the refusal on a machine without a GPU")
def test_prepare_renders_on_the_requested_device_and_refuses_a_missing_one(face_show, requests, monkeypatch):
    monkeypatch.setenv(dv.ENV_VAR, "cuda")  # the request wins over the environment
    summary = S.prepare_show(face_show, device="cpu")
    assert summary.rendered == ["f"] and requests == ["cpu"]
    assert os.environ[dv.ENV_VAR] == "cuda"  # nothing rewrote the environment
    with pytest.raises(S.ShowError, match=NO_CUDA) as failed:
        S.prepare_show(face_show, force=True, device="cuda")
    assert "\n" not in str(failed.value)
    assert S.scene_view(face_show, S.load_show(face_show), 0).ready  # the earlier render is kept
    monkeypatch.delenv(dv.ENV_VAR)
    S.prepare_show(face_show, force=True)  # no request: the environment, else automatic
    assert requests[-1] is None


@pytest.mark.skipif(dv.available()[0] != "cpu", reason="checks the refusal on a machine without a GPU")
def test_prepare_command_passes_its_device_and_refuses_a_missing_one_in_one_line(face_show, requests, capsys):
    assert run_cli(show_main, ["prepare", str(face_show), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and NO_CUDA in err
    assert run_cli(show_main, ["prepare", str(face_show), "--device", "cpu"]) == 0
    assert requests[-1] == "cpu" and dv.ENV_VAR not in os.environ


def test_the_prepare_job_gets_the_device_as_a_flag(face_show, monkeypatch):
    from core import jobs

    started: list[list[str]] = []
    monkeypatch.setattr(jobs, "start_process_job", lambda run_dir, args, **kw: started.append(args) or 1)
    S.start_prepare_job(face_show, device="cpu")
    S.start_prepare_job(face_show)
    assert started[0][-2:] == ["--device", "cpu"] and "--device" not in started[1]


def test_present_page_prepares_on_the_studio_choice(face_show, monkeypatch):
    """The Present page (torch-free, no picker) starts the prepare job with the choice the sampler's or
    animator's picker left in the session."""
    started: list = []
    monkeypatch.setattr(S, "start_prepare_job",
                        lambda show_dir, only=None, device=None: started.append(device))
    at = AppTest.from_file("pages/6_present.py", default_timeout=60)
    at.session_state[DEVICE_REQUEST] = "cpu"
    at.run()
    at.button(key="present_prepare_missing").click().run()
    assert not at.exception and started == ["cpu"]
    at = AppTest.from_file("pages/6_present.py", default_timeout=60).run()  # automatic: no request
    at.button(key="present_prepare_missing").click().run()
    assert started == ["cpu", None]


@pytest.mark.skipif(dv.available()[0] != "cpu", reason="checks the refusal on a machine without a GPU")
def test_present_page_job_on_a_missing_gpu_fails_with_the_one_line(face_show):
    """A 'cuda' choice reaching a machine without one (a session restored elsewhere, an environment that
    changed): the job fails with the refusal's one line, which the page shows; nothing is rendered."""
    from core import jobs

    at = AppTest.from_file("pages/6_present.py", default_timeout=60)
    at.session_state[DEVICE_REQUEST] = "cuda"
    at.run()
    at.button(key="present_prepare_missing").click().run()
    assert not at.exception
    assert jobs.wait(S.job_dir(face_show), timeout=120)
    job = jobs.read_job(S.job_dir(face_show))
    assert job.state == jobs.FAILED and NO_CUDA in job.error and "\n" not in job.error
    assert not S.scene_view(face_show, S.load_show(face_show), 0).ready
    at.run()
    assert not at.exception
    assert any(e.value.startswith("Prepare failed:") and NO_CUDA in e.value for e in at.sidebar.error)


def test_animator_passes_the_studio_choice_to_its_engine(monkeypatch):
    """The animator's job options carry the studio's choice; its picker (with the neural engine) starts
    from the choice made on another page."""
    from core import animate as an

    started: list = []
    monkeypatch.setattr(an, "start_animation_job", lambda run_dir, source, driving, opts, **kw:
                        started.append(opts))
    at = AppTest.from_file("pages/4_fomm_animator.py", default_timeout=60)
    at.session_state[DEVICE_REQUEST] = "cpu"
    at.run()
    next(r for r in at.radio if r.label == "Engine").set_value("fomm").run()
    assert at.selectbox(key=DEVICE_CHOICE).value == "Processor (CPU)"
    next(r for r in at.radio if r.label == "Engine").set_value("landmarks").run()
    next(b for b in at.button if b.label == "Animate").click().run()
    assert not at.exception and [o.device for o in started] == ["cpu"]


@pytest.mark.skipif(dv.available()[0] != "cpu", reason="checks the refusal on a machine without a GPU")
def test_the_neural_engine_refuses_a_missing_gpu_in_one_line(tmp_path):
    from core import animate as an
    from core.animate.pipeline import fomm_animator

    checkpoint = tmp_path / "vox-cpk.pth.tar"
    checkpoint.write_bytes(b"not read: the device is checked first")
    with pytest.raises(an.AnimationError, match=NO_CUDA):
        fomm_animator(an.AnimateOptions(engine="fomm", checkpoint=str(checkpoint), device="cuda"))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
