"""Shared core plumbing: image conversion, grids, atomic checkpoints, safe loading, video writing, Adam."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from core import checkpoint, video
from core.image import convert as imaging


def test_to_uint8_matches_official_rounding_and_clamps():
    x = torch.tensor([-1.5, -1.0, -0.0039, 0.0, 0.5, 1.0, 2.0]).view(1, 1, 1, 7).repeat(1, 3, 1, 1)
    out = imaging.to_uint8(x)
    assert out.shape == (1, 1, 7, 3) and out.dtype == np.uint8
    assert out[0, 0, :, 0].tolist() == [0, 0, 127, 128, 191, 255, 255]


def test_to_uint8_single_image_and_grayscale():
    gray = torch.zeros(1, 4, 5)
    out = imaging.to_uint8(gray)
    assert out.shape == (4, 5, 3) and (out == 128).all()


def test_from_uint8_round_trip_is_exact():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(2, 8, 9, 3), dtype=np.uint8)
    t = imaging.from_uint8(imgs)
    assert t.shape == (2, 3, 8, 9) and t.min() >= -1 and t.max() <= 1
    np.testing.assert_array_equal(imaging.to_uint8(t), imgs)


def test_make_grid_layout():
    tiles = [np.full((4, 6, 3), i * 10, np.uint8) for i in range(5)]
    grid = imaging.make_grid(tiles, cols=3, pad=1, pad_value=255)
    assert grid.shape == (2 * 4 + 3, 3 * 6 + 4, 3)
    assert (grid[1:5, 1:7] == 0).all() and (grid[6:10, 8:14] == 40).all()
    assert (grid[6:10, 15:21] == 255).all()  # the sixth cell stays padding


def test_png_bytes_decodes():
    from io import BytesIO

    from PIL import Image

    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    np.testing.assert_array_equal(np.asarray(Image.open(BytesIO(imaging.png_bytes(img)))), img)


def test_atomic_save_crash_between_write_and_rename_keeps_old(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    checkpoint.atomic_torch_save({"step": 1, "model": {"w": torch.ones(2)}}, path)

    def crash(*_):
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        checkpoint.atomic_torch_save({"step": 2, "model": {"w": torch.zeros(2)}}, path)
    monkeypatch.undo()
    loaded = checkpoint.safe_torch_load(path)
    assert loaded["step"] == 1 and torch.equal(loaded["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temp file left behind


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_safe_torch_load_refuses_code_and_garbage(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"x": _Evil()}, evil, pickle_module=pickle)
    with pytest.raises(checkpoint.CheckpointError, match="refused for safety"):
        checkpoint.safe_torch_load(evil)
    png = tmp_path / "image.pt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(checkpoint.CheckpointError, match="not a PyTorch checkpoint \\(it is a PNG image\\)"):
        checkpoint.safe_torch_load(png)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(checkpoint.CheckpointError, match="empty"):
        checkpoint.safe_torch_load(empty)
    with pytest.raises(checkpoint.CheckpointError, match="not found"):
        checkpoint.safe_torch_load(tmp_path / "missing.pt")


def test_require_keys_explains_wrong_kind():
    with pytest.raises(checkpoint.CheckpointError, match="missing \\['model'\\]"):
        checkpoint.require_keys({"generator": {}}, ["model"], "DCGAN")
    with pytest.raises(checkpoint.CheckpointError, match="holds a list"):
        checkpoint.require_keys([], ["model"], "DCGAN")


def test_write_mp4_and_gif(tmp_path):
    frames = [np.full((33, 31, 3), i * 20, np.uint8) for i in range(6)]  # odd size gets padded
    mp4 = tmp_path / "a.mp4"
    assert video.write_mp4(frames, mp4, fps=12) == 6
    probe = subprocess.run([video.ffmpeg_exe(), "-i", str(mp4)], capture_output=True, text=True)
    assert "h264" in probe.stderr and "32x34" in probe.stderr
    import imageio.v2 as imageio

    assert sum(1 for _ in imageio.get_reader(str(mp4))) == 6
    gif = tmp_path / "a.gif"
    assert video.write_gif(frames, gif, fps=5) == 6
    from PIL import Image

    assert Image.open(gif).n_frames == 6


def test_safe_torch_load_reports_truncated_checkpoint(tmp_path):
    good = tmp_path / "good.pt"
    checkpoint.atomic_torch_save({"model": {"w": torch.randn(64, 64)}}, good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(checkpoint.CheckpointError, match="not a readable PyTorch checkpoint"):
        checkpoint.safe_torch_load(cut)


def test_adam_is_fused_on_cpu_and_updates_like_the_default_loop():
    from core.optim import adam

    torch.manual_seed(0)
    start = [torch.randn(5, 3), torch.randn(7)]
    grads = [[torch.randn_like(p) for p in start] for _ in range(4)]
    finals = []
    for make in (lambda ps: adam(ps, 1e-2, (0.5, 0.99)),
                 lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.5, 0.99), eps=1e-8)):
        params = [torch.nn.Parameter(p.clone()) for p in start]
        opt = make(params)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = g.clone()
            opt.step()
        finals.append((opt, [p.detach() for p in params]))
    (fused, a), (loop, b) = finals
    assert fused.defaults["fused"] is True and not loop.defaults.get("fused")
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-7)
    assert (a[0] != start[0]).all()  # it did move
    # the state dict is the loop's layout: a checkpoint written by either resumes in the other
    loop.load_state_dict(fused.state_dict())


def test_display_resize_enlarges_with_lanczos_and_shrinks_by_area():
    import cv2

    rng = np.random.default_rng(0)
    face = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    big = imaging.display_resize(face, 64)
    assert big.shape == (64, 64, 3) and big.dtype == np.uint8
    assert np.array_equal(big, cv2.resize(face, (64, 64), interpolation=cv2.INTER_LANCZOS4))
    small = imaging.display_resize(big, 16)
    assert np.array_equal(small, cv2.resize(big, (16, 16), interpolation=cv2.INTER_AREA))
    batch = imaging.display_resize(np.stack([face, face[::-1]]), (32, 48))  # (height, width)
    assert batch.shape == (2, 32, 48, 3) and np.array_equal(batch[0], imaging.display_resize(face, (32, 48)))
    assert imaging.display_resize(face, 16) is face  # already at size: untouched


def test_imaging_imports_torch_only_for_the_tensor_conversions():
    """Torch-free pages (animator, home) resize and tile with core.image.convert without importing torch."""
    code = ("import sys, numpy as np; from core.image import convert as imaging; "
            "imaging.make_grid([imaging.display_resize(np.zeros((8, 8, 3), np.uint8), 16)] * 2); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == "False", out.stderr
