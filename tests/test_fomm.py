"""First Order Motion Model: official names/shapes, official outputs, safe loading, fast path."""

from __future__ import annotations

import http.server
import json
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.checkpoint import CheckpointError
from core.fomm import (
    FommAnimator,
    FommConfig,
    build_fomm,
    load_config,
    load_fomm,
    normalize_kp,
    parse_yaml,
)
from core.fomm.blocks import UpBlock2d
from core.fomm.fused import FastPhaseConv, FastResBlock, FastUp, space_to_phases
from core.fomm.winograd import Winograd3x3
from tests.conftest import shared_path

# The model section of the official config/vox-256.yaml, written out here with the YAML features
# the official configs use (comments, nesting, flow lists, floats in exponent form); read by PyYAML.
VOX_256_YAML = """\
dataset_params:
  root_dir: data/vox-png
  frame_shape: [256, 256, 3]   # H, W, C
  id_sampling: True
model_params:
  common_params:
    num_kp: 10
    num_channels: 3
    estimate_jacobian: True
  kp_detector_params:
     temperature: 0.1
     block_expansion: 32
     max_features: 1024
     scale_factor: 0.25
     num_blocks: 5
  generator_params:
    block_expansion: 64
    max_features: 512
    num_down_blocks: 2
    num_bottleneck_blocks: 6
    estimate_occlusion_map: True
    dense_motion_params:
      block_expansion: 64
      max_features: 1024
      num_blocks: 5
      scale_factor: 0.25
# training section, ignored by the loader
train_params:
  lr_generator: 2.0e-4
  scales: [1, 0.5, 0.25, 0.125]
animate_params:
  format: '.mp4'
"""


def fomm_ref(name: str):
    return shared_path("reference", "fomm", name)


@pytest.fixture(scope="module")
def tiny():
    cfg = json.loads(fomm_ref("tiny64-config.json").read_text())
    kp_detector, generator = load_fomm(fomm_ref("tiny64-checkpoint.pth.tar"), cfg)
    expected = torch.load(fomm_ref("tiny64-expected.pt"), weights_only=True)
    return kp_detector, generator, expected, cfg


def test_yaml_parser_reads_official_config(tmp_path):
    parsed = parse_yaml(VOX_256_YAML)
    assert parsed["dataset_params"]["frame_shape"] == [256, 256, 3]
    assert parsed["train_params"]["lr_generator"] == pytest.approx(2e-4)
    assert parsed["train_params"]["scales"] == [1, 0.5, 0.25, 0.125]
    assert parsed["animate_params"]["format"] == ".mp4"
    path = tmp_path / "vox-256.yaml"
    path.write_text(VOX_256_YAML)
    cfg = load_config(path)
    assert cfg == FommConfig()  # the defaults are vox-256
    assert cfg.frame_size == 256 and cfg.kp_detector_params.scale_factor == 0.25


def test_vox256_names_and_shapes_equal_official_manifest():
    manifest = json.loads(fomm_ref("vox256_manifest.json").read_text())
    cfg = load_config({"model_params": manifest["config"]})
    kp_detector, generator = build_fomm(cfg)  # ~60M parameters, about 2 s on CPU
    for net, part in ((generator, "generator"), (kp_detector, "kp_detector")):
        ours = {k: list(v.shape) for k, v in net.state_dict().items()}
        assert ours == manifest[part], f"{part} tensors differ from the official vox-256 ones"
    assert sum(v.numel() for v in generator.state_dict().values()) > 40_000_000


def test_outputs_match_official_fixture(tiny):
    kp_detector, generator, e, _ = tiny
    tol = 1e-4
    with torch.no_grad():
        kp_source = kp_detector(e["source"])
        assert torch.allclose(kp_source["value"], e["kp_source_value"], atol=tol)
        assert torch.allclose(kp_source["jacobian"], e["kp_source_jacobian"], atol=tol)
        kp_all = kp_detector(e["driving"])
        initial = {k: v[:1] for k, v in kp_all.items()}
        frame3 = {k: v[3:4] for k, v in kp_all.items()}
        kp_norm = normalize_kp(kp_source, frame3, initial, adapt_movement_scale=True,
                               use_relative_movement=True, use_relative_jacobian=True)
        assert torch.allclose(kp_norm["value"], e["frame3_kp_norm_value"], atol=tol)
        assert torch.allclose(kp_norm["jacobian"], e["frame3_kp_norm_jacobian"], atol=tol)
        out = generator(e["source"], kp_source=kp_source, kp_driving=kp_norm)
        for name in ("mask", "occlusion_map", "sparse_deformed"):
            assert out[name].shape == e[f"frame3_{name}"].shape
            assert (out[name] - e[f"frame3_{name}"]).abs().max() < tol, name
        for relative, key in ((True, "predictions_relative_adapt"), (False, "predictions_absolute")):
            preds = []
            for i in range(e["driving"].shape[0]):
                kp_i = {k: v[i:i + 1] for k, v in kp_all.items()}
                kp_n = normalize_kp(kp_source, kp_i, initial, adapt_movement_scale=True,
                                    use_relative_movement=relative, use_relative_jacobian=relative)
                preds.append(generator(e["source"], kp_source=kp_source, kp_driving=kp_n)["prediction"])
            assert (torch.cat(preds) - e[key]).abs().max() < tol, key


def test_legacy_checkpoint_loads_with_weights_only(tiny):
    ckpt = torch.load(fomm_ref("tiny64-checkpoint.pth.tar"), weights_only=True)  # legacy non-zip file
    assert {"generator", "kp_detector"} <= set(ckpt)
    kp_detector, generator, _, _ = tiny
    assert not kp_detector.training and not generator.training
    for key, value in ckpt["generator"].items():
        assert torch.equal(generator.state_dict()[key], value), key


def test_wrong_kind_of_checkpoint_is_refused_clearly(tmp_path, tiny):
    _, _, _, cfg = tiny
    with pytest.raises(CheckpointError, match="cannot be used as FOMM weights"):
        load_fomm(shared_path("reference", "stylegan2_ada", "tiny32-network.pkl"), cfg)
    dcgan = tmp_path / "dcgan.pt"
    torch.save({"model": {"net.0.weight": torch.zeros(2)}, "config": {"nz": 8}, "step": 3, "version": 1},
               dcgan)
    with pytest.raises(CheckpointError, match="not a FOMM checkpoint.*DCGAN"):
        load_fomm(dcgan, cfg)
    tensor_file = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor_file)
    with pytest.raises(CheckpointError, match="holds a Tensor"):
        load_fomm(tensor_file, cfg)
    garbage = tmp_path / "garbage.pth.tar"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="cannot be used as FOMM weights"):
        load_fomm(garbage, cfg)
    with pytest.raises(CheckpointError, match="not found"):
        load_fomm(tmp_path / "missing.pth.tar", cfg)
    with pytest.raises(CheckpointError, match="different config|do not fit"):
        load_fomm(fomm_ref("tiny64-checkpoint.pth.tar"), {"model_params": {
            **cfg["model_params"], "common_params": {**cfg["model_params"]["common_params"], "num_kp": 7}}})


def test_animator_batched_equals_per_frame_reference(tiny):
    kp_detector, generator, e, _ = tiny
    animator = FommAnimator(kp_detector, generator, "cpu", batch_size=4)
    animator.set_source_tensor(e["source"])
    with torch.no_grad():
        kp_source = kp_detector(e["source"])
        initial = kp_detector(e["driving"][:1])
        for relative in (True, False):
            animator.reset_driving()
            fast = animator.animate_tensor(e["driving"], relative=relative, adapt_scale=True)
            ref = []
            for i in range(e["driving"].shape[0]):
                kp_norm = normalize_kp(kp_source, kp_detector(e["driving"][i:i + 1]), initial, True, relative,
                                       relative)
                ref.append(generator(e["source"], kp_source=kp_source, kp_driving=kp_norm)["prediction"])
            ref = torch.cat(ref)
            assert fast.shape == ref.shape
            assert (fast - ref).abs().max() < 1e-5


def test_animator_bf16_bottleneck_stays_close_to_fp32(tiny, monkeypatch):
    from core.device import has_bf16_units
    from core.fomm.fused import FastResBlock

    monkeypatch.setattr(FastResBlock, "winograd_min_channels", 1)  # the tiny model's bottleneck too
    kp_detector, generator, e, _ = tiny
    exact = FommAnimator(kp_detector, generator, "cpu", batch_size=4)
    fast = FommAnimator(kp_detector, generator, "cpu", batch_size=4, amp_bf16=True)
    outs = []
    for animator in (exact, fast):
        animator.set_source_tensor(e["source"])
        outs.append(animator.animate_tensor(e["driving"]))
    assert outs[1].dtype == torch.float32 and outs[1].shape == outs[0].shape
    err = (outs[1] - outs[0]).abs()
    if not has_bf16_units("cpu"):  # no bf16 units: the request falls back to the exact fp32 path
        assert not fast.amp_bf16 and err.max() == 0
        return
    assert 0 < err.max() < 4 / 255, err.max()  # bf16 did run, and moves no pixel by more than 3 levels


def test_animator_uint8_streaming(tiny):
    kp_detector, generator, e, _ = tiny
    to_u8 = lambda t: (t.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()
    source, frames = to_u8(e["source"])[0], to_u8(e["driving"])
    animator = FommAnimator(kp_detector, generator, "cpu", batch_size=4)
    animator.set_source(source)
    whole = animator.animate(frames)
    assert whole.shape == (6, 64, 64, 3) and whole.dtype == np.uint8
    animator.reset_driving()
    parts = np.concatenate([animator.animate(frames[:2]), animator.animate(frames[2:])])
    assert np.array_equal(whole, parts)  # the first frame seen stays the initial driving frame
    explicit = animator.animate(frames[2:], driving_initial=frames[0])
    assert np.array_equal(explicit, whole[2:])
    # A frame of another size is resized to the model's resolution when ``size`` is set.
    sized = FommAnimator(kp_detector, generator, "cpu", size=64)
    sized.set_source(np.repeat(np.repeat(source, 2, axis=0), 2, axis=1))
    assert sized.animate(frames[:1]).shape == (1, 64, 64, 3)


def test_winograd_conv_equals_conv2d():
    g = torch.Generator().manual_seed(3)
    c_in, c_out = 12, 20
    weight = torch.randn(c_out, c_in, 3, 3, generator=g) / 6
    bias = torch.randn(c_out, generator=g)
    scale, shift = torch.rand(c_in, generator=g) + 0.5, torch.randn(c_in, generator=g)
    x = torch.randn(2, c_in, 10, 13, generator=g)  # not whole 4x4 tiles: the border is cropped
    residual = torch.randn(2, c_out, 10, 13, generator=g)
    conv = Winograd3x3(weight, bias)
    cl = torch.channels_last
    out = conv(x.contiguous(memory_format=cl), pre=(scale, shift),
               residual=residual.contiguous(memory_format=cl), relu=True)
    pre = torch.relu(x.double() * scale.double().view(-1, 1, 1) + shift.double().view(-1, 1, 1))
    ref = torch.relu(F.conv2d(pre, weight.double(), bias.double(), padding=1) + residual.double())
    assert out.shape == ref.shape == (2, c_out, 10, 13)
    assert (out.double() - ref).abs().max() < 1e-5 * ref.abs().max()
    plain, ref_plain = conv(x.contiguous(memory_format=cl)), F.conv2d(x, weight, bias, padding=1)
    assert (plain - ref_plain).abs().max() < 1e-5 * ref_plain.abs().max()  # float32 rounding only


def test_upsampling_and_output_conv_on_phases_equal_plain_layers():
    torch.manual_seed(4)
    up = UpBlock2d(6, 5).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so the folding is exercised
        up.norm.running_mean.uniform_(-1, 1)
        up.norm.running_var.uniform_(0.5, 2)
    final = torch.nn.Conv2d(5, 3, kernel_size=7, padding=3)
    fast_up, fast_final = FastUp(up), FastPhaseConv(final)
    for size in (3, 12):  # the per-phase path (small maps) and the stacked one
        x = torch.randn(2, 6, size, size)
        with torch.no_grad():
            ref_up = up(x)
            ref = final(ref_up)
        assert (fast_up(x) - ref_up).abs().max() < 1e-5
        phases = fast_up(x, phase_channels=True)
        assert torch.equal(phases, space_to_phases(fast_up(x)))
        out = torch.nn.functional.pixel_shuffle(fast_final(phases), 2)
        assert out.shape == ref.shape == (2, 3, 2 * size, 2 * size)
        assert (out - ref).abs().max() < 1e-5


def test_animator_with_winograd_bottleneck_equals_reference(tiny, monkeypatch):
    kp_detector, generator, e, _ = tiny
    monkeypatch.setattr(FastResBlock, "winograd_min_channels", 1)  # the tiny bottleneck is 32 wide
    animator = FommAnimator(kp_detector, generator, "cpu", batch_size=4)
    assert all(block.winograd is not None for block in animator._bottleneck)
    animator.set_source_tensor(e["source"])
    fast = animator.animate_tensor(e["driving"])
    with torch.no_grad():
        kp_source = kp_detector(e["source"])
        initial = kp_detector(e["driving"][:1])
        ref = torch.cat([generator(e["source"], kp_source=kp_source, kp_driving=normalize_kp(
            kp_source, kp_detector(e["driving"][i:i + 1]), initial, True, True, True))["prediction"]
            for i in range(e["driving"].shape[0])])
    assert (fast - ref).abs().max() < 1e-5


def test_seeded_tiny_config_shapes_and_values():
    cfg = {"model_params": {
        "common_params": {"num_kp": 4, "num_channels": 3, "estimate_jacobian": True},
        "kp_detector_params": {"temperature": 0.1, "block_expansion": 4, "max_features": 16,
                               "scale_factor": 0.5, "num_blocks": 2},
        "generator_params": {"block_expansion": 4, "max_features": 16, "num_down_blocks": 2,
                             "num_bottleneck_blocks": 1, "estimate_occlusion_map": True,
                             "dense_motion_params": {"block_expansion": 4, "max_features": 16,
                                                     "num_blocks": 2, "scale_factor": 0.5}}}}
    torch.manual_seed(0)
    kp_detector, generator = load_fomm(None, cfg)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        kp = kp_detector(x)
        assert kp["value"].shape == (2, 4, 2) and kp["jacobian"].shape == (2, 4, 2, 2)
        assert kp["value"].abs().max() <= 1
        # Fresh jacobian heads start at the identity, as in the official initialisation.
        assert torch.allclose(kp["jacobian"], torch.eye(2).expand(2, 4, 2, 2), atol=1e-6)
        same = normalize_kp(kp, kp, kp, True, True, True)
        assert torch.allclose(same["value"], kp["value"]) and torch.allclose(same["jacobian"], kp["jacobian"])
        out = generator(x, kp_source=kp, kp_driving=kp)
    assert out["prediction"].shape == (2, 3, 32, 32)
    assert out["mask"].shape == (2, 5, 16, 16) and out["occlusion_map"].shape == (2, 1, 16, 16)
    assert out["sparse_deformed"].shape == (2, 5, 3, 16, 16)
    assert torch.allclose(out["mask"].sum(1), torch.ones(2, 16, 16), atol=1e-5)
    torch.manual_seed(0)
    kp2, gen2 = load_fomm(None, cfg)
    with torch.no_grad():
        again = gen2(x, kp_source=kp2(x), kp_driving=kp2(x))["prediction"]
    assert torch.equal(again, out["prediction"])  # seeded construction is reproducible
    assert 0.0 < float(out["prediction"].mean()) < 1.0


# --- download of vox-cpk.pth.tar (loopback only) ---------------------------------------------------


class _RangeServer(http.server.BaseHTTPRequestHandler):
    payload = b""

    def do_GET(self):  # noqa: N802 (http.server API)
        start = 0
        if rng := self.headers.get("Range"):
            start = int(rng.split("=")[1].split("-")[0])
        body = self.payload[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(self.payload) - 1}/{len(self.payload)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_vox_download_resumes_checks_and_loads(tmp_path, capsys, tiny):
    from core import download as dl

    entry = dl.OFFICIAL_WEIGHTS["vox-256"]
    assert entry.family == "fomm" and entry.filename == "vox-cpk.pth.tar"
    assert entry.url.startswith("https://") and "vox-256" in dl.MANUAL_SOURCES
    payload = fomm_ref("tiny64-checkpoint.pth.tar").read_bytes()
    _RangeServer.payload = payload
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/vox-cpk.pth.tar"
    try:
        (tmp_path / "vox-cpk.pth.tar.partial").write_bytes(payload[:1000])  # an interrupted download
        seen = []
        with pytest.raises(dl.DownloadError, match="CC BY-NC 4.0.*--accept-licence"):  # licence first
            dl.fetch_official("vox-256", tmp_path, lambda d, t, r: seen.append((d, t)), url=url)
        assert seen == [] and (tmp_path / "vox-cpk.pth.tar.partial").stat().st_size == 1000
        path = dl.fetch_official("vox-256", tmp_path, lambda d, t, r: seen.append((d, t)), url=url,
                                 accept_licence=True)
        assert path.read_bytes() == payload and seen[-1] == (len(payload), len(payload))
        assert seen[0][0] > 1000  # resumed from the partial file, not restarted
        with pytest.raises(dl.DownloadError, match="Checksum mismatch"):
            dl.download(url, tmp_path / "bad.pth.tar", sha256="0" * 64)
        _, generator = load_fomm(path, tiny[3])
        assert not generator.training
    finally:
        server.shutdown()
    # An unreachable location fails with the official pages printed for a manual download.
    from core.cli import run_cli

    assert run_cli(dl.main, ["get", "vox-256", "--dest", str(tmp_path / "x"), "--accept-licence",
                             "--url", "http://127.0.0.1:9/none"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "first-order-model" in err and "--url" in err
    assert len(err.strip().splitlines()) == 1, err
