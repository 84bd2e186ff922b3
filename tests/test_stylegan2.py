"""StyleGAN2 generator: official compatibility (names, shapes, outputs), safe loading, sampling helpers,
and the download command against a loopback HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pickle
import sys
import threading
import types

import numpy as np
import pytest
import torch

from core import download as dl
from core import stylegan2 as sg
from core.checkpoint import CheckpointError
from core.cli import run_cli
from core.image.convert import to_uint8
from tests.conftest import shared_path

REF = ("reference", "stylegan2_ada")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CASES = [("img_psi1_const", 1.0, None, "const"), ("img_psi07_const", 0.7, None, "const"),
         ("img_psi05_cut4_const", 0.5, 4, "const")]


def _tiny32_from_state_dict() -> sg.Generator:
    cfg = json.loads(shared_path(*REF, "tiny32-config.json").read_text())
    G = sg.Generator(**cfg["init_kwargs"]).eval()
    G.load_state_dict(torch.load(shared_path(*REF, "tiny32-state_dict.pt"), weights_only=True))
    return G


@pytest.fixture(scope="module")
def expected():
    return torch.load(shared_path(*REF, "tiny32-expected.pt"), weights_only=True)


@pytest.fixture(scope="module", params=["state_dict", "network_pkl"])
def tiny32(request):
    if request.param == "state_dict":
        return _tiny32_from_state_dict()
    return sg.load_generator(shared_path(*REF, "tiny32-network.pkl"))


# --- architecture ----------------------------------------------------------------------------------

@pytest.mark.parametrize("config", ["ffhq-1024-config-f", "paper256"])
def test_state_dict_names_and_shapes_equal_official_manifest(config):
    manifest = json.loads(shared_path(*REF, "manifest.json").read_text())[config]
    with torch.device("meta"):  # no memory for 30M values
        G = sg.Generator(**manifest["init_kwargs"])
    ours = {k: list(v.shape) for k, v in G.state_dict().items()}
    assert list(ours) == list(manifest["tensors"])  # same names in the same order
    assert ours == manifest["tensors"]
    assert G.num_ws == manifest["num_ws"]


# --- outputs vs the official implementation --------------------------------------------------------

@pytest.mark.parametrize("name,psi,cutoff,noise", CASES)
def test_outputs_match_official_within_1e4(tiny32, expected, name, psi, cutoff, noise):
    with torch.no_grad():
        img = tiny32(expected["z"], None, truncation_psi=psi, truncation_cutoff=cutoff, noise_mode=noise)
    assert img.shape == (4, 3, 32, 32)
    assert (img - expected[name]).abs().max().item() < 1e-4


def test_mapping_and_style_mixing_match_official(tiny32, expected):
    with torch.no_grad():
        ws = tiny32.mapping(expected["z"], None)
        assert ws.shape == (4, 8, 64)
        assert (ws - expected["ws_psi1"]).abs().max().item() < 1e-5
        mixed = sg.mix_styles(ws, ws[[1, 2, 3, 0]], range(tiny32.num_ws // 2, tiny32.num_ws))
        assert (mixed - expected["ws_mixed"]).abs().max().item() < 1e-5
        for mode in ("const", "none"):
            img = tiny32.synthesis(expected["ws_mixed"], noise_mode=mode)
            assert (img - expected[f"img_mixed_{mode}"]).abs().max().item() < 1e-4


def test_unfused_fast_path_matches_official(tiny32, expected):
    # synthesize() uses the unfused modulation with cached demodulation sums.
    with torch.no_grad():
        img = tiny32.synthesis(expected["ws_mixed"], noise_mode="const", fused_modconv=False)
    assert (img - expected["img_mixed_const"]).abs().max().item() < 1e-4
    u8 = sg.synthesize(tiny32, expected["ws_mixed"], "const")
    ref = to_uint8(expected["img_mixed_const"]).astype(int)
    assert u8.shape == (4, 32, 32, 3) and np.abs(u8.astype(int) - ref).max() <= 1


# --- loaders ---------------------------------------------------------------------------------------

def test_network_pickle_loads_safely_and_keeps_other_networks_parsed():
    obj = sg.load_network_pickle(shared_path(*REF, "tiny32-network.pkl"))
    assert set(obj) == {"G", "D", "G_ema", "augment_pipe", "training_set_kwargs"}
    assert obj["D"].class_name == "Discriminator" and obj["augment_pipe"].class_name == "AugmentPipe"
    assert obj["training_set_kwargs"]["resolution"] == 32
    G = sg.generator_from_network_pickle(obj)
    assert not G.training and G.z_dim == 64 and G.num_ws == 8


class _SystemCall:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_with_os_system_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps({"G_ema": _SystemCall(marker)}))
    with pytest.raises(sg.UnsafePickleError, match="system"):
        sg.load_generator(bad)
    assert not marker.exists()


def test_tensorflow_pickle_is_named(tmp_path):
    # protocol-2 GLOBAL opcode naming the TF-era network class, then STOP; nothing is imported.
    path = tmp_path / "tf.pkl"
    path.write_bytes(b"\x80\x02cdnnlib.tflib.network\nNetwork\n.")
    with pytest.raises(sg.UnsafePickleError, match="TensorFlow"):
        sg.load_generator(path)
    assert "dnnlib" not in sys.modules


def test_embedded_module_source_is_never_executed(tmp_path, monkeypatch):
    """A persistent object whose module_src would create a file: parsed, source ignored."""
    marker = tmp_path / "executed"
    fake = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):  # stand-in so pickle can name the official global
        raise AssertionError

    fake._reconstruct_persistent_obj = _reconstruct_persistent_obj
    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    monkeypatch.setitem(sys.modules, "torch_utils", types.ModuleType("torch_utils"))
    monkeypatch.setitem(sys.modules, "torch_utils.persistence", fake)

    class Persistent:
        def __reduce__(self):
            meta = dict(type="class", version=6, class_name="Generator",
                        module_src=f"open({str(marker)!r}, 'w').write('x')",
                        state={"_parameters": {}, "_buffers": {}, "_modules": {}, "_init_kwargs": {}})
            return (_reconstruct_persistent_obj, (meta,))

    path = tmp_path / "net.pkl"
    path.write_bytes(pickle.dumps({"G_ema": Persistent()}))
    monkeypatch.delitem(sys.modules, "torch_utils.persistence")
    with pytest.raises(CheckpointError):
        sg.load_generator(path)  # nothing to build from an empty state, but it must not run the source
    assert not marker.exists()
    obj = sg.load_network_pickle(path)
    assert isinstance(obj["G_ema"], sg.PersistentObject) and not hasattr(obj["G_ema"], "module_src")


def test_corrupt_and_wrong_files_give_clear_errors(tmp_path):
    data = shared_path(*REF, "tiny32-network.pkl").read_bytes()
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="truncated"):
        sg.load_generator(truncated)

    png = tmp_path / "photo.pkl"
    from PIL import Image

    Image.new("RGB", (4, 4)).save(png, format="PNG")
    with pytest.raises(CheckpointError, match="PNG image"):
        sg.load_generator(png)

    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        sg.load_generator(empty)

    noise = tmp_path / "noise.pkl"
    noise.write_bytes(bytes(range(7, 200)))
    with pytest.raises(CheckpointError, match="neither a network pickle"):
        sg.load_generator(noise)

    other = tmp_path / "dcgan.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "config": {"nz": 100}, "step": 1, "version": 1}, other)
    with pytest.raises(CheckpointError, match="another model family"):
        sg.load_generator(other)

    with pytest.raises(CheckpointError, match="not found"):
        sg.load_generator(tmp_path / "missing.pkl")


def test_fomm_checkpoint_is_recognised():
    with pytest.raises(CheckpointError, match="First Order Motion Model"):
        sg.load_generator(shared_path("reference", "fomm", "tiny64-checkpoint.pth.tar"))


@pytest.mark.parametrize("source", ["state_dict", "network_pkl"])
def test_project_checkpoint_round_trip(tmp_path, expected, source):
    G = _tiny32_from_state_dict() if source == "state_dict" else sg.load_generator(
        shared_path(*REF, "tiny32-network.pkl"))
    path = tmp_path / "g.pt"
    sg.save_generator_checkpoint(G, path, step=123)
    raw = torch.load(path, weights_only=True)  # plain dict, no code needed
    assert set(raw) == {"model", "config", "step", "version"} and raw["config"] == G.init_kwargs
    G2 = sg.load_generator(path)
    assert G2.source_info == {"kind": "project", "path": str(path), "step": 123, "kimg": None}
    with torch.no_grad():
        img = G2(expected["z"], None, truncation_psi=0.7)
    assert (img - expected["img_psi07_const"]).abs().max().item() < 1e-4


# --- sampling helpers ------------------------------------------------------------------------------

def test_seeded_latents_follow_official_generate_py():
    z = sg.z_from_seed(42, 4)
    np.testing.assert_allclose(z.numpy()[0], [0.49671415, -0.1382643, 0.64768854, 1.52302986], atol=1e-6)
    assert torch.equal(sg.zs_from_seeds([1, 2], 8)[1], sg.z_from_seed(2, 8)[0])


def test_seeded_images_are_deterministic_and_exact():
    G = _tiny32_from_state_dict()
    a = dict(sg.generate_images(G, [0, 1, 2], truncation_psi=0.7))
    b = dict(sg.generate_images(G, [2, 0], truncation_psi=0.7, batch_size=1))
    assert a[0].shape == (32, 32, 3) and a[0].dtype == np.uint8
    for s in (0, 2):  # batch composition may move a value by one rounding step, no more
        assert np.abs(a[s].astype(int) - b[s].astype(int)).max() <= 1
    with torch.no_grad():
        ref = to_uint8(G(sg.z_from_seed(1, 64), None, truncation_psi=0.7, noise_mode="const"))[0]
    assert np.abs(a[1].astype(int) - ref.astype(int)).max() <= 1
    r1 = dict(sg.generate_images(G, [5], noise_mode="random"))
    r2 = dict(sg.generate_images(G, [5], noise_mode="random"))
    np.testing.assert_array_equal(r1[5], r2[5])  # random noise is seeded too


def test_ws_cache_and_truncation_on_cached_w():
    G = _tiny32_from_state_dict()
    cache = sg.WsCache(G, capacity=2)
    w = cache.get(3, truncation_psi=0.5, truncation_cutoff=4)
    assert torch.allclose(w, sg.seeds_to_ws(G, [3], 0.5, 4), atol=1e-6)
    cache.get(3)
    assert (cache.hits, cache.misses) == (1, 1)
    cache.get(4), cache.get(5)
    assert 3 not in cache._data  # LRU eviction


def test_interpolation_paths():
    G = _tiny32_from_state_dict()
    ws = sg.keyframe_ws(G, [1, 2, 3], steps_per_transition=4, space="w")
    assert ws.shape == (9, 8, 64)
    ends = sg.seeds_to_ws(G, [1, 2, 3])
    for i in range(3):
        assert torch.allclose(ws[4 * i], ends[i])
    assert torch.allclose(ws[2], (ends[0] + ends[1]) / 2, atol=1e-6)
    wz = sg.keyframe_ws(G, [1, 2], steps_per_transition=5, space="z", loop=True)
    assert wz.shape == (10, 8, 64) and torch.allclose(wz[0], ends[0], atol=1e-5)
    a, b = sg.z_from_seed(1, 64)[0], sg.z_from_seed(2, 64)[0]
    mid = sg.slerp(a, b, 0.5)
    assert abs(mid.norm().item() - (a.norm().item() + b.norm().item()) / 2) < 0.3  # no norm collapse
    assert sg.lerp(a, b, 0.5).norm() < mid.norm()
    frames = list(sg.render_frames(G, ws[:3], out_size=48))
    assert len(frames) == 3 and frames[0].shape == (48, 48, 3)


def test_style_groups_and_grid():
    G = _tiny32_from_state_dict()
    groups = [sg.style_layers(G, g) for g in sg.STYLE_GROUPS]
    assert groups == [[0, 1, 2, 3], [4, 5], [6, 7]]
    assert sum(groups, []) == list(range(G.num_ws))
    with torch.device("meta"):
        big = sg.Generator(512, 0, 512, 1024, 3, {"num_layers": 8}, {"channel_base": 32768})
    assert [sg.style_layers(big, g)[0] for g in sg.STYLE_GROUPS] == [0, 4, 8]
    grid = sg.style_mixing_grid(G, [1, 2], [3, 4, 5], sg.style_layers(G, "coarse"), truncation_psi=0.7)
    assert grid.shape == (3 * 32 + 4 * 2, 4 * 32 + 5 * 2, 3) and grid.dtype == np.uint8


def test_sefa_directions():
    G = _tiny32_from_state_dict()
    sem = sg.sefa_directions(G, layers=sg.style_layers(G, "coarse"), num=5)
    d = sem.directions
    assert d.shape == (5, 64)
    assert torch.allclose(d @ d.T, torch.eye(5), atol=1e-5)
    assert (sem.eigenvalues[:-1] >= sem.eigenvalues[1:]).all() and (sem.sigmas > 0).all()
    assert sem.layers == [0, 1, 2, 3]
    ws = sg.seeds_to_ws(G, [7])
    edited = sg.apply_directions(ws, sem, [2.0])
    assert torch.equal(edited[:, 4:], ws[:, 4:]) and not torch.equal(edited[:, :4], ws[:, :4])
    strip = sg.direction_strip(G, ws, sem, 0, amounts=(-2, 0, 2))
    assert strip.shape == (32, 96, 3)
    assert np.abs(strip[:, 32:64].astype(int) - sg.synthesize(G, ws)[0].astype(int)).max() <= 1


def test_low_resolution_preview_is_an_early_exit():
    G = _tiny32_from_state_dict()
    ws = sg.seeds_to_ws(G, [9])
    small = sg.synthesize(G, ws, max_resolution=8)
    assert small.shape == (1, 8, 8, 3)
    shown = sg.synthesize(G, ws, max_resolution=16, out_size=32)
    assert shown.shape == (1, 32, 32, 3)
    np.testing.assert_array_equal(sg.synthesize(G, ws, max_resolution=32), sg.synthesize(G, ws))
    assert sg.preview_resolution(G, budget_ms=1e6) == 32


def test_random_demo_generator_is_deterministic():
    a, b = sg.random_generator(32, z_dim=32, w_dim=32, channel_max=32, seed=1), sg.random_generator(
        32, z_dim=32, w_dim=32, channel_max=32, seed=1)
    assert a.source_info["kind"] == "random"
    np.testing.assert_array_equal(sg.synthesize(a, sg.seeds_to_ws(a, [0])),
                                  sg.synthesize(b, sg.seeds_to_ws(b, [0])))


# --- downloads -------------------------------------------------------------------------------------

class _RangeHandler(http.server.BaseHTTPRequestHandler):
    payload = b""
    ranges: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        rng = self.headers.get("Range")
        type(self).ranges.append(rng)
        body, status = self.payload, 200
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            body, status = self.payload[start:], 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {len(self.payload) - len(body)}-"
                                              f"{len(self.payload) - 1}/{len(self.payload)}")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def loopback_server():
    _RangeHandler.payload = shared_path(*REF, "tiny32-network.pkl").read_bytes()
    _RangeHandler.ranges = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/net.pkl", _RangeHandler
    server.shutdown()
    server.server_close()


def test_official_urls_listed_in_one_place():
    keys = [k for k, w in dl.OFFICIAL_WEIGHTS.items() if w.family == "stylegan2"]
    assert {"ffhq-1024", "metfaces"} <= set(keys)
    for k in keys:
        url = dl.OFFICIAL_WEIGHTS[k].url
        assert url.startswith("https://") and url.endswith(".pkl")


def test_download_command_resumes_and_checks_sha256(tmp_path, loopback_server, capsys):
    url, handler = loopback_server
    payload = handler.payload
    w = dl.OFFICIAL_WEIGHTS["ffhq-1024"]
    partial = tmp_path / (w.filename + ".partial")
    partial.write_bytes(payload[:1000])  # an interrupted earlier download
    # NVIDIA's licence is printed and must be accepted before a byte is fetched.
    assert run_cli(sg.main, ["download", "ffhq-1024", "--dest", str(tmp_path), "--url", url]) == 2
    err = capsys.readouterr().err
    assert "NVIDIA Source Code License-NC" in err and "--accept-licence" in err and len(err.splitlines()) == 1
    assert handler.ranges == [] and partial.stat().st_size == 1000
    assert sg.main(["download", "ffhq-1024", "--dest", str(tmp_path), "--url", url, "--accept-licence"]) == 0
    assert "non-commercial" in capsys.readouterr().err
    assert handler.ranges == ["bytes=1000-"]
    done = tmp_path / w.filename
    assert done.read_bytes() == payload and not partial.exists()
    G = sg.load_generator(done)  # the downloaded pickle opens
    assert G.img_resolution == 32

    good = hashlib.sha256(payload).hexdigest()
    out = dl.download(url, tmp_path / "b.pkl", sha256=good)
    assert out.read_bytes() == payload
    with pytest.raises(dl.DownloadError, match="Checksum mismatch"):
        dl.download(url, tmp_path / "c.pkl", sha256="0" * 64)
    assert not (tmp_path / "c.pkl").exists() and not (tmp_path / "c.pkl.partial").exists()
    assert run_cli(sg.main, ["download", "vox-256", "--dest", str(tmp_path)]) == 2  # not a StyleGAN2 key


def test_parse_seeds():
    assert sg.parse_seeds("1, 5-8,42") == [1, 5, 6, 7, 8, 42]
    for bad in ("", "a", "5-2", "1-"):
        with pytest.raises(ValueError):
            sg.parse_seeds(bad)
    with pytest.raises(ValueError, match="at most"):
        sg.parse_seeds("0-20000")


def test_sefa_names_measure_faces_and_keep_a_same_person_range(tmp_path, monkeypatch):
    """core.sefa_names on synthetic pictures: a brightening direction is named "brightness"; amounts
    whose pictures change too much leave the slider's range."""
    import numpy as np
    import torch

    from core import sefa_names

    class Fixed:  # a stand-in face mesh: the same face each time, so only brightness moves
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def mesh(self, image):
            from core import landmarks as lm

            pts = np.zeros((lm.NUM_MESH_POINTS, 2), np.float32)
            pts[lm.LEFT_EYE_RING] = (160, 100)
            pts[lm.RIGHT_EYE_RING] = (96, 100)
            pts[lm.NOSE_TIP] = (128, 140)
            pts[lm.MOUTH_LEFT_CORNER], pts[lm.MOUTH_RIGHT_CORNER] = (150, 180), (106, 180)
            return [pts]

    monkeypatch.setattr("core.landmarks.FaceLandmarker", lambda **k: Fixed())

    def fake_synthesize(G, ws, noise_mode="const", noise_seed=0, **k):
        level = 100 + 20 * ws[:, 0, 0] + 5 * noise_seed  # brightness follows w[0]
        return np.stack([np.full((16, 16, 3), float(v), np.uint8) for v in level.clamp(0, 255)])

    monkeypatch.setattr("core.stylegan2.synthesize", fake_synthesize)
    sem = sefa_names.SemanticDirections(directions=torch.eye(2, 4), eigenvalues=torch.ones(2), layers=[0],
                                        sigmas=torch.ones(2))
    ws = [torch.zeros(1, 1, 4), torch.zeros(1, 1, 4) + 0.1, torch.zeros(1, 1, 4) - 0.1]
    names = sefa_names.measure_directions(None, sem, ws)
    assert names[0].name == "brightness" and names[0].effect > 0 and names[0].label() == "brightness (→ more)"
    assert names[0].low == -1.0 and names[0].high == 1.0  # 2σ is 40 grey levels: another picture
    assert names[1].name == "direction 2" and (names[1].low, names[1].high) == (-3.0, 3.0)  # no effect
