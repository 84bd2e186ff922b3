"""core.stylegan2.exports: the sampler's MP4/GIF and zip exports as thread jobs (tiny seeded generator)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from core import jobs
from core import provenance as pv
from core import stylegan2 as sg
from core.stylegan2.exports import Interpolation, start_batch_job, start_interpolation_job

pytestmark = pytest.mark.usefixtures("one_torch_thread")
PLAIN = pv.ProvenanceSettings(label=False, watermark=False, sign=False)


@pytest.fixture(scope="module")
def G():
    return sg.random_generator(16, z_dim=8, w_dim=8, channel_max=8, mapping_layers=2, seed=0)


def _ended(job) -> jobs.JobStatus:
    assert job.wait(60)
    return job.status()


def test_batch_zip_holds_the_seeds_faces(G, tmp_path):
    status = _ended(start_batch_job(tmp_path / "run", G, [3, 1], 0.7, "const", tmp_path / "out", "untrained",
                                    settings=PLAIN))
    assert status.state == jobs.DONE and status.progress.done == status.progress.total == 2
    path = status.result["zip"]
    assert status.result["images"] == 2 and path.startswith(str(tmp_path / "out"))
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["seed00003.png", "seed00001.png"]
        png = np.asarray(Image.open(io.BytesIO(zf.read("seed00001.png"))).convert("RGB"))
    expected = dict(sg.generate_images(G, [1], 0.7, noise_mode="const"))[1]
    assert np.array_equal(png, expected)  # unlabelled, unmarked: exactly the face of the seed


def test_interpolation_writes_mp4_and_gif_with_unique_names(G, tmp_path):
    spec = Interpolation((1, 2), 4, "w", False, 8.0, 0.7, "const")
    first = _ended(start_interpolation_job(tmp_path / "a", G, spec, tmp_path / "out", "untrained", PLAIN))
    second = _ended(start_interpolation_job(tmp_path / "b", G, spec, tmp_path / "out", "untrained", PLAIN))
    assert first.state == second.state == jobs.DONE
    assert first.result["frames"] == len(sg.keyframe_ws(G, [1, 2], 4, "w", 0.7)) == first.progress.total
    for r in (first.result, second.result):
        assert all(open(r[k], "rb").read(1) for k in ("mp4", "gif"))
    assert first.result["mp4"] != second.result["mp4"]  # same second, same seeds: nothing overwritten


def test_cancelled_batch_writes_nothing(G, tmp_path):
    job = start_batch_job(tmp_path / "run", G, list(range(400)), 0.7, "const", tmp_path / "out", "untrained",
                          settings=PLAIN)
    job.cancel()
    status = _ended(job)
    assert status.state == jobs.CANCELLED and not (tmp_path / "out").exists()


def test_bad_requests_refused_before_any_job(G, tmp_path):
    with pytest.raises(ValueError):
        start_batch_job(tmp_path / "run", G, [], 0.7, "const", tmp_path, "untrained")
    with pytest.raises(ValueError):
        start_interpolation_job(tmp_path / "run", G, Interpolation((1,), 4, "w", False, 8.0, 0.7, "const"),
                                tmp_path, "untrained")
    assert not (tmp_path / "run").exists()
