"""core.download.downloaded_weights: one listing of checkpoints/downloads for the sampler and the animator."""

from __future__ import annotations

import pytest

import core
from core.download import downloaded_weights


def test_each_family_sees_only_its_finished_files(tmp_path):
    for name in ["stylegan2-ffhq-256x256.pkl", "own.PT", "vox-cpk.pth.tar", "vox-adv-cpk.pth.tar",
                 "stylegan2-ffhq-1024x1024.pkl.partial", "notes.txt"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.pkl").mkdir()
    sampler = [p.name for p in downloaded_weights("stylegan2", tmp_path)]
    animator = [p.name for p in downloaded_weights("fomm", tmp_path)]
    assert sampler == ["own.PT", "stylegan2-ffhq-256x256.pkl"]
    assert animator == ["vox-adv-cpk.pth.tar", "vox-cpk.pth.tar"]


def test_default_folder_read_at_call_time_and_missing_folder_is_empty(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "DOWNLOADS_DIR", tmp_path / "absent")
    assert downloaded_weights("stylegan2") == [] and downloaded_weights("fomm") == []


def test_unknown_family_refused(tmp_path):
    with pytest.raises(ValueError, match="Unknown model family"):
        downloaded_weights("dcgan", tmp_path)
