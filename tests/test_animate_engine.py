"""The offline engine's smooth warp, eyes, mouth and time smoothing (issue 20), on tiny synthetic inputs."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from core import animate as an
from core.animate import features as ft
from core.animate import motion_transfer as mt
from core.animate.smoothing import LookAheadOneEuro, OneEuroFilter
from core.animate.warp import SmoothWarper, map_jacobian_dets
from tests.conftest import shared_path

SKIN = (205, 160, 140)


def _rest_kp() -> np.ndarray:
    """A plausible frontal face layout (rest pose of a bundled procedural motion), normalised."""
    return an.load_motion(an.bundled_motions()["talk"]).keypoints[0].copy()


def _texture(size: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (size // 8, size // 8, 3)).astype(np.uint8)
    return cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)


def _cartoon_face(kp: np.ndarray, size: int) -> np.ndarray:
    """Skin, white eyes with dark irises, red lips: enough to see lids and mouths move."""
    img = np.full((size, size, 3), SKIN, np.uint8)
    px = kp * size
    for eye in mt.EYE_POS:
        upper, lower = ft.band_curves(px, eye)
        ring = np.concatenate([upper, lower[::-1]]).round().astype(np.int32)
        eye_mask = np.zeros((size, size), np.uint8)
        cv2.fillPoly(eye_mask, [ring], 1)
        iris = np.zeros((size, size), np.uint8)
        c = (upper.mean(0) + lower.mean(0)) / 2
        cv2.circle(iris, (int(c[0]), int(c[1])), max(2, size // 40), 1, -1)
        img[eye_mask > 0] = (245, 245, 240)
        img[(eye_mask > 0) & (iris > 0)] = (40, 30, 30)
    outer = px[[mt.KEYPOINT_INDICES.index(i) for i in mt.OUTER_LIPS]].round().astype(np.int32)
    cv2.fillPoly(img, [outer], (170, 70, 80))
    return img


def _turned(kp: np.ndarray, amount: float) -> np.ndarray:
    """An extreme synthetic yaw: points move sideways by ``amount`` x (depth ~ closeness to the midline),
    so the nose travels much further than the outline and passes the far cheek."""
    out = kp.copy()
    cx = kp[mt.OVAL_POS, 0].mean()
    half = np.ptp(kp[mt.OVAL_POS, 0]) / 2
    depth = np.clip(1.0 - np.abs(kp[:, 0] - cx) / half, 0.0, 1.0) ** 0.5
    out[:, 0] += amount * depth
    return out


def test_smooth_warp_identity_and_translation_exact():
    size = 128
    img = _texture(size)
    anim = mt.LandmarkAnimator()
    anim.set_source(img, _rest_kp())
    assert np.array_equal(anim.render(anim.source_kp), img)
    # The spline reproduces affine motions exactly: a shift of the face and its ring moves the middle.
    out = anim.render(anim.source_kp + np.float32(3 / size))
    c = (anim.source_kp.mean(0) * size).astype(int)
    got = out[c[1] - 8:c[1] + 8, c[0] - 8:c[0] + 8].astype(int)
    want = img[c[1] - 11:c[1] + 5, c[0] - 11:c[0] + 5].astype(int)
    assert np.abs(got - want).mean() < 2.0


def test_fast_field_matches_the_plain_formulas_bit_for_bit():
    """node_map and dense are written for speed (reused buffers, no strided products); they must give
    exactly what the plain formulas give, so a speed change cannot move the frames."""
    size = 128
    anim = mt.LandmarkAnimator()
    anim.set_source(_texture(size), _rest_kp())
    warper = anim._warper
    rng = np.random.default_rng(3)
    moved = anim.source_kp + rng.normal(0, 0.004, anim.source_kp.shape).astype(np.float32)
    target, _ = anim.control_points(moved)
    c = target.astype(np.float64) / warper.size
    s = warper.source_points.astype(np.float64) / warper.size
    n = len(c)
    d2 = ((c[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    a = np.zeros((n + 3, n + 3))
    a[:n, :n] = d2 * np.sqrt(d2) + 1e-6 * np.eye(n)
    a[:n, n], a[:n, n + 1:], a[n, :n], a[n + 1:, :n] = 1.0, c, 1.0, c.T
    rhs = np.zeros((n + 3, 2))
    rhs[:n] = s - c
    coef = np.linalg.solve(a, rhs).astype(np.float32)
    cf = c.astype(np.float32)
    ay, ax = (warper._gy[:, None] - cf[None, :, 1]) ** 2, (warper._gx[:, None] - cf[None, :, 0]) ** 2
    r2 = ay[:, None, :] + ax[None]
    disp = (r2 * np.sqrt(r2)).reshape(-1, n) @ coef[:n]
    nh, nw = len(warper._gy), len(warper._gx)
    gx = np.broadcast_to(warper._gx[None, :], (nh, nw)).ravel()
    gy = np.broadcast_to(warper._gy[:, None], (nh, nw)).ravel()
    disp += coef[n] + gx[:, None] * coef[n + 1] + gy[:, None] * coef[n + 2]
    nodes = warper.node_map(target)
    assert np.array_equal(nodes[..., 0], warper.node_x[None, :] + disp[:, 0].reshape(nh, nw) * warper.size)
    assert np.array_equal(nodes[..., 1], warper.node_y[:, None] + disp[:, 1].reshape(nh, nw) * warper.size)
    assert np.array_equal(warper.node_map(target), nodes)          # the reused buffers carry nothing over
    map_x, map_y = warper.dense(nodes)
    assert np.array_equal(map_x, warper._spread_y @ nodes[..., 0] @ warper._spread_x.T)
    assert np.array_equal(map_y, warper._spread_y @ nodes[..., 1] @ warper._spread_x.T)


def test_extreme_turn_has_no_fold_anywhere():
    size = 128
    anim = mt.LandmarkAnimator()
    kp = _rest_kp()
    anim.set_source(_texture(size), kp)
    target = _turned(kp, 0.16)
    raw, rest = anim.control_points(target)
    warper = anim._warper
    # The raw target (no occlusion handling) would fold: the nose passes the far outline.
    naive = np.concatenate([target * size, raw[mt.NUM_KEYPOINTS:]])
    assert warper.jacobian_dets(warper.node_map(naive)).min() < 0
    placed, nodes = warper.fold_free(raw, rest)
    assert warper.jacobian_dets(nodes).min() > 0
    map_x, map_y = warper.dense(nodes)
    assert map_jacobian_dets(map_x, map_y).min() > 0          # every output pixel, one-to-one
    # The turn survives: the nose still moved most of the way (not damped back to the rest pose).
    nose = mt.KEYPOINT_INDICES.index(1)
    assert placed[nose, 0] - kp[nose, 0] * size > 0.6 * 0.16 * size


def test_fold_check_counts_folds_and_damps_them():
    img = _texture(64)
    pts = np.array([[0, 0], [63, 0], [0, 63], [63, 63], [20, 32], [44, 32]], np.float32)
    warper = SmoothWarper(img, pts, (0, 0, 63, 63), anchored=np.array([1, 1, 1, 1, 0, 0], bool))
    crossed = pts.copy()
    crossed[4, 0], crossed[5, 0] = 46, 18            # the two inner points swap sides: a fold
    assert warper.folded_cells(warper.node_map(crossed)).any()
    fixed, nodes = warper.fold_free(crossed)
    assert not warper.folded_cells(nodes).any() and warper.last_fixes > 0
    assert fixed[4, 0] < fixed[5, 0]


def test_one_euro_reduces_jitter_with_little_lag():
    rng = np.random.default_rng(0)
    fps, n = 25.0, 400
    t = np.arange(n) / fps
    clean = 0.2 * np.sin(2 * np.pi * 0.4 * t)                      # a slow head motion...
    clean[200:] += 0.15                                             # ...and a quick jump
    noisy = clean + rng.normal(0, 0.004, n)
    filt = OneEuroFilter(min_cutoff=1.2, beta=4.0)
    out = np.array([filt(np.array([x]), 1 / fps)[0] for x in noisy])

    def jitter(x):
        return np.abs(np.diff(x, 2)).mean()

    assert jitter(out) < 0.5 * jitter(noisy)
    # Lag: the jump is 90 % through within 3 frames; the sine's best-matching shift is <= 1 frame.
    assert out[203] - clean[199] > 0.9 * 0.15
    lags = range(0, 6)
    err = [np.abs(out[50 + k:190 + k] - clean[50:190]).mean() for k in lags]
    assert int(np.argmin(err)) <= 1


def test_look_ahead_one_euro_has_no_lag_and_still_smooths():
    rng = np.random.default_rng(1)
    fps, n = 25.0, 400
    t = np.arange(n) / fps
    clean = 0.1 * np.sin(2 * np.pi * 0.6 * t)
    noisy = clean + rng.normal(0, 0.004, n)
    causal = OneEuroFilter(min_cutoff=0.9, beta=4.0)
    behind = np.array([causal(np.array([x]), 1 / fps)[0] for x in noisy])
    ahead = LookAheadOneEuro(min_cutoff=0.9, beta=4.0, lag=4)
    out: list[np.ndarray] = []
    for i, x in enumerate(noisy):
        ready = ahead.push(np.array([x]), 1 / fps)
        assert len(ready) == (1 if i >= 4 else 0)          # one out per frame once 4 are waiting
        out += ready
    out += ahead.flush(1 / fps)
    out = np.array(out)[:, 0]
    assert len(out) == n

    def best_shift(y):
        shifts = list(range(-3, 4))
        return shifts[int(np.argmin([np.abs(y[50 + k:350 + k] - clean[50:350]).mean() for k in shifts]))]

    assert best_shift(behind) >= 1 and best_shift(out) == 0      # the causal filter trails; this does not
    assert np.abs(np.diff(out, 2)).mean() < 0.5 * np.abs(np.diff(noisy, 2)).mean()
    assert np.abs(out - clean)[20:-20].mean() < 0.7 * np.abs(behind - clean)[20:-20].mean()


def test_mouth_opens_from_closed_lips_when_the_driver_starts_mid_word():
    kp = _rest_kp()
    anim = mt.LandmarkAnimator()
    anim.set_source(_cartoon_face(kp, 160), kp)
    width = ft.eye_axes(kp, mt.MOUTH_POS)[3]

    def opened(share):
        return ft.set_lid_gaps(kp, mt.MOUTH_POS, np.full(len(mt.MOUTH_POS.upper), share * width), 0.3)

    source_gap = ft.lid_gaps(anim.source_kp, mt.MOUTH_POS).mean()
    follow = anim.follower(opened(0.2), fps=25.0, smooth=False)   # the first driving frame: mid-word
    assert ft.lid_gaps(follow(opened(0.2)), mt.MOUTH_POS).mean() == pytest.approx(source_gap + 0.2 * width,
                                                                                  rel=0.05)
    smaller = ft.lid_gaps(follow(opened(0.1)), mt.MOUTH_POS).mean()      # less open than the first frame:
    assert smaller == pytest.approx(source_gap + 0.1 * width, rel=0.05)  # still open, not shut
    # A known sequence (a motion) opens from its own most closed mouth: a seam it keeps is not an opening.
    seq = [opened(0.1), opened(0.3), opened(0.1)]
    follow = anim.follower(seq[0], fps=25.0, smooth=False, mouth_rest=mt.mouth_rest(seq))
    gaps = [ft.lid_gaps(follow(k), mt.MOUTH_POS).mean() for k in seq]
    assert gaps[0] == pytest.approx(source_gap, rel=0.05)
    assert gaps[1] == pytest.approx(source_gap + 0.2 * width, rel=0.05)


def test_turn_follows_the_drivers_turn_measure():
    kp = _rest_kp()
    other = kp.copy()
    other[:, 0] = 0.5 + (kp[:, 0] - 0.5) * 1.25            # a wider source face
    anim = mt.LandmarkAnimator()
    anim.set_source(_cartoon_face(other, 160), other)
    follow = anim.follower(kp, fps=25.0, smooth=False)
    for amount in (0.01, 0.02, -0.015):
        driver = _turned(kp, amount)
        got = mt._yaw(follow(driver)) - mt._yaw(anim.source_kp)
        want = mt._yaw(driver) - mt._yaw(kp)
        assert got == pytest.approx(want, rel=0.05, abs=1e-3)


def test_eye_openness_transfers_as_a_ratio_and_the_lids_close():
    size = 192
    kp = _rest_kp()
    img = _cartoon_face(kp, size)
    anim = mt.LandmarkAnimator()
    anim.set_source(img, kp)
    follow = anim.follower(kp, fps=25.0, smooth=False)
    for _ in range(5):
        follow(kp)                               # the driver's usual opening: this one
    def driver(share):
        out = kp.copy()
        for eye in mt.EYE_POS:
            out = ft.set_lid_gaps(out, eye, ft.lid_gaps(kp, eye) * share)
        return out

    half = follow(driver(0.6))      # 60 % open: the change is amplified by EYE_GAIN (1.5): 40 % open
    for eye in mt.EYE_POS:
        want = 1 + mt.EYE_GAIN * (0.6 - 1)
        assert ft.openness(half, eye) == pytest.approx(want * ft.openness(kp, eye), rel=0.05)
    target = follow(driver(0.1))
    for eye in mt.EYE_POS:
        assert ft.openness(target, eye) < 0.02 * ft.openness(kp, eye)
    out = anim.render(target)
    for eye in mt.EYE_POS:                       # the iris is under the lid: skin, not dark
        upper, lower = ft.band_curves(kp * size, eye)
        x0, y0 = np.floor(np.minimum(upper.min(0), lower.min(0))).astype(int)
        x1, y1 = np.ceil(np.maximum(upper.max(0), lower.max(0))).astype(int)
        before = (img[y0:y1 + 1, x0:x1 + 1].sum(-1) < 200).sum()
        after = (out[y0:y1 + 1, x0:x1 + 1].sum(-1) < 200).sum()
        assert before > 4 and after <= 0.3 * before


def test_open_mouth_is_shaded_with_a_lip_edge_and_teeth_and_stays_inside_the_lips(monkeypatch):
    size = 160
    kp = _rest_kp()
    img = _cartoon_face(kp, size)
    anim = mt.LandmarkAnimator()
    anim.set_source(img, kp)
    target = kp.copy()
    lower = [mt.KEYPOINT_INDICES.index(i) for i in ft.LOWER_INNER_LIP[1:-1]]
    width = np.ptp(kp[[mt.KEYPOINT_INDICES.index(i) for i in ft.UPPER_INNER_LIP], 0])
    target[lower, 1] += 0.45 * width                              # wide open
    outer_lower = [mt.KEYPOINT_INDICES.index(i) for i in (146, 91, 181, 84, 17, 314, 405, 321, 375)]
    target[outer_lower, 1] += 0.45 * width
    out = anim.render(target).astype(int)
    up = target[[mt.KEYPOINT_INDICES.index(i) for i in ft.UPPER_INNER_LIP]] * size
    lo = target[[mt.KEYPOINT_INDICES.index(i) for i in ft.LOWER_INNER_LIP]] * size
    cx = int(round(up[:, 0].mean()))
    top, bottom = up[:, 1].max(), lo[:, 1].max()
    column = out[int(top):int(bottom) + 1, cx].sum(-1)
    interior = out[int(top + 0.55 * (bottom - top)), cx]
    assert 25 < interior.sum() < 250, "dark, but not black"
    teeth = column[: max(2, len(column) // 4)].max()
    assert teeth > 1.6 * interior.sum(), "the upper teeth show under the upper lip"
    # Nothing painted outside the lips: pixels away from the mouth keep the warp's own colours.
    poly = np.concatenate([up, lo[::-1]]).round().astype(np.int32)
    near = np.zeros((size, size), np.uint8)
    cv2.fillPoly(near, [poly], 1)
    near = cv2.dilate(near, np.ones((3, 3), np.uint8), iterations=3).astype(bool)
    monkeypatch.setattr(ft, "paint_mouth", lambda frame, *args: frame)
    fresh = mt.LandmarkAnimator()        # the same first frame (the damping is carried between frames)
    fresh.set_source(img, kp)
    plain = fresh.render(target)
    assert np.abs(out[~near] - plain[~near]).max() <= 1
    assert np.abs(out[near] - plain[near]).max() > 40


@pytest.mark.skipif(sys.platform == "win32", reason="uses the shared fidelity tool's interpreter")
def test_motion_fidelity_on_a_short_shared_clip(tmp_path):
    """The fidelity tool (../shared/tools) on the shortest shared clip, the bundled generated face."""
    tool = shared_path("tools", "motion_fidelity.py")
    clip = shared_path("data", "driving", "liveportrait_d0.mp4")
    from core.animate.preview import preview_face

    out = tmp_path / "out.mp4"
    an.animate(preview_face(), clip, out, an.AnimateOptions(), crop_source=False)
    res = subprocess.run([sys.executable, str(tool), str(clip), str(out), "--json"], capture_output=True,
                         text=True, timeout=300, check=True)
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["lost_face"] == 0
    assert got["mouth"] >= 0.85 and got["eyes"] >= 0.7 and got["jitter_ratio"] <= 1.2, got
