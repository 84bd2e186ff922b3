"""Show mode with a voice-driven animation scene: the voice is part of the show's media, prepare renders
the speaking face with the voice in its MP4, and the stage and the HTML reel play it with sound."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from core import show as S
from core import video
from core.animate.audio import decode_audio, write_wav
from core.show.export_html import export_html
from core.show.prepare import plan, prepare_show
from core.show.schema import render_key

SR = 16000


def syllables(seconds: float, rate: float = 3.0, pitch: float = 180.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    voice = sum(np.sin(2 * np.pi * k * pitch * t) / k for k in range(1, 12))
    return (0.2 * voice * np.clip(np.sin(2 * np.pi * rate * t), 0, None)).astype(np.float32)


def voice_scene(show_dir, samples: np.ndarray, **extra) -> dict:
    wav = write_wav(show_dir.parent / "voice.wav", samples, SR)
    return {"kind": "animation", "id": "v", "source_kind": "bundled", "source": "493",
            "driving_kind": "voice", "driving": S.put_media(show_dir, wav.read_bytes(), ".wav"), **extra}


def test_voice_scene_schema(tmp_path):
    d = tmp_path / "s"
    S.create_show(d, "Voices")
    scene = S.add_scene(d, voice_scene(d, syllables(1.0)))
    assert scene.default_title() == "A face says your line"
    assert scene.input_paths() == [scene.driving] and scene.driving.startswith("media/")
    with pytest.raises(S.ShowError, match="engine: a voice drives the offline 'landmarks' engine only"):
        S.scene_from_dict({**scene.to_dict(), "engine": "fomm", "checkpoint": "x.pth.tar"})
    other = S.scene_from_dict({**scene.to_dict(), "driving": S.put_media(d, b"RIFF-other", ".wav")})
    assert render_key(other) != render_key(scene)  # another voice, another render
    for suffix in (".mp3", ".m4a"):  # recorded or uploaded voices are accepted as media
        assert S.put_media(d, b"x" + suffix.encode(), suffix).endswith(suffix)


def test_voice_scene_prepares_and_plays_with_sound(tmp_path):
    d = tmp_path / "s"
    S.create_show(d, "Voices")
    samples = syllables(1.6)
    S.add_scene(d, voice_scene(d, samples))
    summary = prepare_show(d)
    assert summary.rendered == ["v"], summary.failed
    show = S.load_show(d)
    view = S.scene_view(d, show, 0)
    assert view.has_audio and view.video.suffix == ".mp4" and view.poster.is_file()
    assert "speaking the voice" in view.about and view.caption == "A generated face speaking"
    assert video.count_frames(view.video) == 40
    muxed = decode_audio(view.video, SR)
    assert abs(len(muxed) - len(samples)) < 0.05 * SR and np.abs(muxed).max() > 0.05
    assert plan(d, show)[0].action == "skip"  # rendered once; the voice is an input with a fingerprint
    # The HTML reel embeds the video with its sound, and a button turns the sound on where autoplay is muted.
    text = export_html(d, tmp_path / "reel.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="cc-data">(.*?)</script>', text,
                                re.S).group(1))
    scene = data["scenes"][0]
    assert scene["video"].startswith("data:video/mp4;base64,") and scene["hasAudio"] is True
    assert "b.id = 'cc-sound'" in text and "v.muted = false" in text


def test_cli_add_copies_the_voice_into_the_show(tmp_path):
    from core.show.cli import main

    d = tmp_path / "s"
    S.create_show(d, "Voices")
    wav = write_wav(tmp_path / "mine.wav", syllables(0.5), SR)
    scene = {"kind": "animation", "source_kind": "bundled", "source": "493", "driving_kind": "voice",
             "driving": str(wav)}
    assert main(["add", str(d), "--scene", json.dumps(scene)]) == 0
    added = S.load_show(d).scenes[0]
    assert added.driving.startswith("media/") and added.driving.endswith(".wav")
    assert (d / added.driving).read_bytes() == wav.read_bytes()
    with pytest.raises(S.ShowError, match="voice not found"):
        main(["add", str(d), "--scene", json.dumps({**scene, "driving": str(tmp_path / "gone.wav")})])
