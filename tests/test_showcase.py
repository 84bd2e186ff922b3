"""Showcase seeds (core.showcase): the picking rule on tiny inputs, the file's fallback, the bundled list."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import showcase
from core.showcase import (
    DCGAN_CHECKPOINT,
    DEFAULT_CHECKPOINT,
    SHOWCASE_FILE,
    dcgan_face_label,
    far_pairs,
    file_sha256,
    load_showcase,
    max_min_order,
    pick_showcase,
    render_dcgan_faces,
    write_showcase_entry,
)


def test_max_min_order_takes_the_farthest_point_each_time():
    points = np.array([[0.0], [1.0], [10.0], [4.0], [9.0]])
    assert max_min_order(points, 0, 4) == [0, 2, 3, 1]
    # A weight can make a slightly nearer point win: 3 (distance 4, weight 1) beats 2 (10 x 0.3).
    assert max_min_order(points, 0, 2, np.array([1, 1, 0.3, 1, 1])) == [0, 4]


def test_far_pairs_are_disjoint_and_farthest_first():
    points = np.array([[0.0], [1.0], [10.0], [12.0]])
    assert [(i, j) for i, j, _ in far_pairs(points, 5)] == [(0, 3), (1, 2)]
    assert far_pairs(points, 1)[0][2] == pytest.approx(12.0)


def test_pick_showcase_prefers_face_like_then_diverse():
    rng = np.random.default_rng(0)
    grey = np.full((8, 64, 64, 3), 128, np.uint8)
    grey[4:] = 0                                            # seeds 104..107 are black
    grey[2] = 255                                           # seed 102 is white
    faces = np.clip(grey.astype(int) + rng.integers(-3, 4, grey.shape), 0, 255).astype(np.uint8)
    scores = np.array([0.9, 0.8, 0.85, 0.1, 0.7, 0.2, 0.1, 0.1])
    entry = pick_showcase(faces, range(100, 108), scores, count=3, pool=4, pair_count=2)
    # Pool = the 4 best scores (100, 102, 101, 104). Start at the best (grey 100); white 102 (127 away,
    # weight 0.85^2) beats black 104 (128 away, weight 0.7^2); then black 104 (grey 101 is a near twin).
    assert [s["seed"] for s in entry["seeds"]] == [100, 102, 104]
    assert [s["score"] for s in entry["seeds"]] == [0.9, 0.85, 0.7]
    assert (entry["pairs"][0]["a"], entry["pairs"][0]["b"]) == (102, 104)  # white vs black
    assert len(entry["pairs"]) == 1                          # 3 seeds make one disjoint pair


def test_face_scores_tell_a_face_from_a_grey_square():
    faces = np.load(showcase.ASSETS_DIR / "demo_faces" / "faces64.npz")["images"][:2]
    grey = np.full((1, 64, 64, 3), 128, np.uint8)
    scores = showcase.face_scores(np.concatenate([faces, grey]))
    assert scores.shape == (3,)
    assert (scores[:2] > 0.5).all() and scores[2] == 0.0


def test_load_showcase_falls_back_when_missing_stale_or_damaged(tmp_path):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"weights v1")
    path = tmp_path / "showcase.json"
    missing = load_showcase(ckpt, path, fallback_count=4)
    assert (missing.seeds, missing.curated) == ([0, 1, 2, 3], False) and "No showcase list" in missing.note
    entry = {"sha256": file_sha256(ckpt), "psi": 0.5, "seeds": [{"seed": 7, "score": 0.9},
                                                               {"seed": 3, "score": 0.8}],
             "pairs": [{"a": 7, "b": 3, "distance": 20.0}]}
    write_showcase_entry("model.pt", entry, path)
    write_showcase_entry("other.pt", {"sha256": "x", "seeds": []}, path)  # entries for other models are kept
    assert set(json.loads(path.read_text())["models"]) == {"model.pt", "other.pt"}
    fresh = load_showcase(ckpt, path)
    assert (fresh.seeds, fresh.scores, fresh.pairs) == ([7, 3], [0.9, 0.8], [(7, 3)])
    assert (fresh.psi, fresh.curated) == (0.5, True)
    ckpt.write_bytes(b"weights v2, retrained")
    stale = load_showcase(ckpt, path, fallback_count=3)
    assert (stale.seeds, stale.curated) == ([0, 1, 2], False) and "python -m core.showcase" in stale.note
    assert stale.pairs == [(0, 1)]
    path.write_text("{not json")
    assert not load_showcase(ckpt, path).curated


def test_bundled_showcase_matches_the_bundled_checkpoint():
    if not DEFAULT_CHECKPOINT.exists():
        pytest.skip("no bundled StyleGAN2 checkpoint")
    bundled = load_showcase()
    assert bundled.curated, (f"{SHOWCASE_FILE.name} is stale ({bundled.note}); after retraining run "
                             "`python -m core.showcase` and `python assets/make_home_clip.py`")
    assert len(bundled.seeds) == len(set(bundled.seeds)) >= 6
    assert all(0 < s <= 1 for s in bundled.scores)
    assert all(a != b for a, b in bundled.pairs) and len(bundled.pairs) >= 3


def test_pick_demo_faces_drops_colour_casts_then_prefers_scores():
    rng = np.random.default_rng(0)
    skin = np.array([200, 150, 120], np.uint8)  # reddish-yellow: a* > 0, b* > 0
    faces = np.clip(skin + rng.integers(-8, 9, (6, 16, 16, 3)), 0, 255).astype(np.uint8)
    faces[1, ..., 1] = 230  # green cast
    faces[2, ..., 2] = 250  # blue cast
    a, b = showcase.colour_cast(faces)
    assert a[0] >= showcase.MIN_SKIN_A and b[0] >= showcase.MIN_SKIN_B
    assert a[1] < showcase.MIN_SKIN_A and b[2] < showcase.MIN_SKIN_B
    scores = np.array([0.5, 0.99, 0.99, 0.9, 0.8, 0.7])
    picked = showcase.pick_demo_faces(faces, scores, count=3, pool=3)
    assert picked[0] == 3 and set(picked) == {3, 4, 5}  # casts out; the best natural faces, best first


def test_bundled_demo_faces_are_curated_natural_and_current(tmp_path):
    indices = showcase.load_demo_face_indices()
    assert indices is not None and len(indices) == 24 and len(set(indices)) == 24
    with np.load(showcase.DEMO_FACES_FILE) as data:
        faces = data["images"][indices]
    a, b = showcase.colour_cast(faces)
    assert (a >= showcase.MIN_SKIN_A).all() and (b >= showcase.MIN_SKIN_B).all()
    other = tmp_path / "other.npz"
    np.savez(other, images=faces[:2])
    assert showcase.load_demo_face_indices(other) is None  # made for another file


def test_dcgan_showcase_names_faces_as_the_trainer_page_shows_them():
    from core import dcgan

    gen, _ = dcgan.load_generator(DCGAN_CHECKPOINT)
    grid = dcgan.sample(gen, 16, 3)  # the trainer page's "Samples for seed 3"
    faces = render_dcgan_faces(gen, [3 * 16 + 12, 3 * 16 + 0, 1])
    assert np.array_equal(faces[0], grid[12]) and np.array_equal(faces[1], grid[0])
    assert np.array_equal(faces[2], dcgan.sample(gen, 16, 0)[1])
    assert dcgan_face_label(3 * 16 + 12) == "seed 3 · face 12"


def test_bundled_dcgan_showcase_matches_the_bundled_checkpoint():
    entry = json.loads(SHOWCASE_FILE.read_text())["models"][DCGAN_CHECKPOINT.name]
    assert entry["family"] == "dcgan" and entry["sha256"] == file_sha256(DCGAN_CHECKPOINT)
    shown = load_showcase(DCGAN_CHECKPOINT)
    assert shown.curated and len(shown.seeds) == 12 and len(set(shown.seeds)) == 12
    assert min(shown.scores) >= 0.7 > entry["mean_score"]  # picked from the best, above the average face
    assert all(0 <= s < entry["candidates"] for s in shown.seeds)
