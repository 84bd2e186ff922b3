"""AppTest for the DCGAN trainer page: initial view, bad folder, monitoring a finished run, starting a run
(live grid at the top), pretrained."""

from __future__ import annotations

import json
import shutil
import time
import uuid

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import ASSETS_DIR, CHECKPOINTS_DIR, RUNS_DIR, dcgan, jobs
from pages._common import HANDOFF_ANIMATOR_SOURCE

PAGE = "pages/2_dcgan_trainer.py"


def _tiny_run(run_dir):
    model = dcgan.ModelConfig(arch="tutorial", size=32, latent_dim=8, g_width=4, d_width=4)
    cfg = dcgan.TrainConfig(model=model, steps=4, batch_size=4, log_every=1, snapshot_every=1, swd_every=2,
                            swd_images=8,
                            n_fixed=4, threads=1)
    data = dcgan.ImageSet(torch.randint(0, 256, (8, 3, 32, 32), generator=torch.Generator().manual_seed(0),
                                        dtype=torch.uint8), "tiny")
    trainer = dcgan.Trainer(cfg, data, run_dir)
    trainer.run()
    trainer.close()


def test_initial_view_and_bad_folder():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    heads = [s.value for s in at.subheader]
    assert heads[:3] == ["1. Dataset", "2. Configure and start", "3. Monitor"]
    assert any("Device:" in c.value for c in at.caption)
    if (ASSETS_DIR / "demo_faces" / "faces64.npz").exists():
        assert any(m.value.endswith("images") and m.value.startswith("**") for m in at.markdown)
    at.radio(key="dcgan_source").set_value("Folder or .npz on this machine").run()
    at.text_input(key="dcgan_folder").set_value("/no/such/folder").run()
    assert not at.exception
    assert any("Dataset not found" in e.value for e in at.error)


def test_monitor_finished_run_and_timelapse(tmp_path):
    run = tmp_path / "run"
    _tiny_run(run)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.text_input(key="dcgan_monitor_dir").set_value(str(run)).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["State"] == "finished" and metrics["Step"] == "4 / 4"
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 3  # core.dcgan.figures' losses, verdicts and SWD of the run's own log
    assert [t["name"] for t in charts[0]["data"]] == ["D loss", "G loss"]
    assert charts[0]["data"][0]["x"] == [1, 2, 3, 4] and charts[2]["data"][0]["x"] == [0, 2, 4]
    _assert_live_grid_on_top(at, "run", 4)
    assert at.get("progress")[0].proto.text == "Step 4 of 4 · finished"
    at.button(key="dcgan_timelapse").click().run()
    assert not at.exception
    assert (run / "timelapse.gif").exists() and (run / "timelapse.mp4").exists()
    at.button(key="dcgan_walk_run").click().run()
    assert (run / "latent_walk.gif").exists()


def _assert_live_grid_on_top(at, run_name: str, step: int) -> None:
    """The run's grid is the page's first picture (above section 1), captioned with its own step."""
    top = at.get("image")[0].proto.imgs[0]
    assert f"of {run_name} at step {step}" in top.caption, top.caption
    order = [el.type for el in at.main if el.type in ("image", "subheader")]
    assert order[0] == "image", order


def test_start_puts_the_live_grid_and_progress_on_top():
    if not (ASSETS_DIR / "demo_faces" / "faces64.npz").exists():
        pytest.skip("bundled demo faces not present")
    name = f"pytest_{uuid.uuid4().hex[:8]}"
    run = RUNS_DIR / "dcgan" / name
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    try:
        by_label = lambda widgets, label: next(w for w in widgets if w.label == label)
        at.selectbox(key="dcgan_preset").set_value("from scratch (small)").run()  # the fast one for a test
        by_label(at.number_input, "Steps").set_value(3)
        bf16 = by_label(at.toggle, "bf16 mixed precision")
        assert bf16.value == dcgan.bf16_is_fast(dcgan.resolve_device("auto"))  # the preset: tutorial
        bf16.set_value(True)
        by_label(at.text_input, "Run name (one run per folder)").set_value(name)
        assert "Advanced" in at.expander[1].label or any("Advanced" in e.label for e in at.expander)
        by_label(at.button, "Start training").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert at.session_state["dcgan_run_dir"] == str(run)
        assert any("live grid is at the top" in s.value for s in at.success)
        deadline = time.time() + 120
        while time.time() < deadline and dcgan.run_state(run)["alive"]:
            time.sleep(0.5)
        state = dcgan.run_state(run)
        assert state["state"] == "finished" and state["job"].kind == dcgan.JOB_KIND, state
        assert json.loads((run / dcgan.CONFIG_NAME).read_text())["amp_bf16"] is True
        at.run()
        _assert_live_grid_on_top(at, name, 3)
        assert at.get("progress")[0].proto.text == "Step 3 of 3 · finished"
    finally:
        dcgan.stop_training(run)
        jobs.wait(run, 30)
        shutil.rmtree(run, ignore_errors=True)


def test_pretrained_send_to_animator():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert any(s.value == "5. Pretrained generator" for s in at.subheader)
    if not (CHECKPOINTS_DIR / "dcgan_demo.pt").exists():
        assert any("not in this checkout" in i.value for i in at.info)
        pytest.skip("bundled DCGAN checkpoint not present")
    at.number_input(key="dcgan_seed").set_value(5).run()
    at.button(key="dcgan_send").click().run()
    assert not at.exception
    face = at.session_state[HANDOFF_ANIMATOR_SOURCE]
    assert isinstance(face, np.ndarray) and face.shape == (256, 256, 3) and face.dtype == np.uint8
    assert any("Sent" in s.value for s in at.success)


def test_live_preset_starts_from_the_bundled_generator_and_says_so():
    """Issue 22: faces within seconds of Start: the live preset continues the bundled generator (honestly
    labelled on the page), its hyperparameters folded under Advanced; charts without toolbars."""
    cfg = dcgan.preset_config("live demo")
    assert cfg.init_generator == str(CHECKPOINTS_DIR / "dcgan_demo.pt") and cfg.d_warmup_steps > 0
    bundled = dcgan.load_generator(CHECKPOINTS_DIR / "dcgan_demo.pt")[1]["config"]["model"]
    assert cfg.model == dcgan.ModelConfig(**bundled)  # the weights fit: the run starts from them
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.selectbox(key="dcgan_preset").value == "live demo"
    assert any("Continues the bundled generator" in c.value for c in at.caption)
    advanced = next(e for e in at.expander if e.label.startswith("Advanced"))
    assert {w.label for w in advanced.number_input} >= {"G learning rate", "Batch size"}
    main_labels = {w.label for w in at.main.number_input} - {w.label for w in advanced.number_input}
    assert "G learning rate" not in main_labels
    html = " ".join(str(h.proto.body) for h in at.get("html"))
    assert "data-cc-autoplay" in html and ".play()" in html  # started from script on every visit



def test_run_names_become_safe_bounded_folder_names():
    """A pasted paragraph or a path as the run name gives one short folder under the runs folder."""
    from pages._dcgan_setup import MAX_RUN_NAME, safe_run_name

    assert safe_run_name("live_demo") == "live_demo" and safe_run_name("  ") == "run"
    assert safe_run_name("../../etc/x y") == "______etc_x_y"
    for name in ("x" * 5000, "\U0001d538" * 300):  # the second: 4 bytes a letter in UTF-8
        folder = safe_run_name(name)
        assert len(folder) == MAX_RUN_NAME and len(folder.encode()) <= 255
        assert not (RUNS_DIR / "dcgan" / folder / dcgan.CHECKPOINT_NAME).exists()  # no OSError
