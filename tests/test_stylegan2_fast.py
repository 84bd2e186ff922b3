"""The fast StyleGAN2 renderer (core.stylegan2.fast) draws the reference synthesis' picture: official
weights to 1e-4, large generators within PSNR >= 40 dB in fp32, bf16 within a bounded error; and
:func:`sg.synthesize` picks it only where it should."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import stylegan2 as sg
from core.stylegan2.fast import FAST_MIN_RESOLUTION, FastSynthesis, fast_synthesis, psnr
from tests.conftest import shared_path

REF = ("reference", "stylegan2_ada")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def expected():
    return torch.load(shared_path(*REF, "tiny32-expected.pt"), weights_only=True)


@pytest.fixture(scope="module")
def tiny32():
    return sg.load_generator(shared_path(*REF, "tiny32-network.pkl"))


def _big_narrow(resolution: int = FAST_MIN_RESOLUTION) -> sg.Generator:
    """A generator of a 'large' resolution with the official layer types (fp16 flags, conv_clamp 256)
    but narrow channels, so the test stays fast; noise strengths set so the noise buffers matter."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        G = sg.Generator(64, 0, 64, resolution, 3, mapping_kwargs={"num_layers": 2},
                         synthesis_kwargs={"channel_base": 2048, "channel_max": 32, "num_fp16_res": 4,
                                           "conv_clamp": 256})
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.data.fill_(0.3)
            if name.endswith(".bias") and "synthesis" in name:
                p.data.normal_(0, 0.2)
        G.mapping.w_avg.normal_()
    return G.eval().requires_grad_(False)


@pytest.mark.parametrize("noise", ["const", "none"])
def test_fast_renderer_matches_official_outputs(tiny32, expected, noise):
    img = fast_synthesis(tiny32)(expected["ws_mixed"], noise)
    torch.testing.assert_close(img, expected[f"img_mixed_{noise}"], atol=1e-4, rtol=0)


def test_fast_renderer_psnr_and_early_exit_on_a_large_generator():
    G = _big_narrow()
    ws = sg.seeds_to_ws(G, [1, 2], 0.7)
    with torch.no_grad():
        ref = G.synthesis(ws, noise_mode="const", force_fp32=True)
        fast = fast_synthesis(G)(ws, "const")
        assert psnr(fast, ref) >= 40 and psnr(fast, ref) > 80  # fp32: only rounding differs
        ref64 = G.synthesis(ws, noise_mode="const", max_resolution=64)
        torch.testing.assert_close(fast_synthesis(G)(ws, "const", max_resolution=64), ref64,
                                   atol=1e-4, rtol=0)
        assert not torch.equal(fast, fast_synthesis(G)(ws, "none"))  # the noise buffers are used


def test_bf16_error_is_bounded(tiny32, expected):
    G = _big_narrow(64)
    ws = sg.seeds_to_ws(G, [5], 0.7)
    with torch.no_grad():
        ref = G.synthesis(ws, noise_mode="const")
        bf16 = fast_synthesis(G, torch.bfloat16)(ws, "const")
    assert bf16.dtype == torch.float32 and 30 <= psnr(bf16, ref) < 200
    official = fast_synthesis(tiny32, torch.bfloat16)(expected["ws_mixed"], "const")
    assert psnr(official, expected["img_mixed_const"]) >= 30
    with pytest.raises(ValueError, match="float32 or bfloat16"):
        FastSynthesis(G, torch.float16)


def test_synthesize_uses_the_fast_path_only_for_large_generators(tiny32, expected, monkeypatch):
    big = _big_narrow()
    assert sg.render_path(big) in ("fast-fp32", "fast-bf16")
    assert sg.render_path(big, precision="fp32") == "fast-fp32"
    assert sg.render_path(big, noise_mode="random") == "reference"  # random noise: per-call draws
    assert sg.render_path(big, precision="reference") == "reference"
    assert sg.render_path(tiny32) == "reference"  # small models keep the reference numerics
    with pytest.raises(ValueError, match="precision"):
        sg.render_path(big, precision="fp8")
    ws = sg.seeds_to_ws(big, [4], 0.7)
    fast_u8 = sg.synthesize(big, ws, precision="fp32")
    ref_u8 = sg.synthesize(big, ws, precision="reference")
    assert fast_u8.shape == (1, 256, 256, 3) and np.abs(fast_u8.astype(int) - ref_u8).max() <= 1
    # The cache follows weight changes (a trainer that keeps sampling must not see stale weights).
    fs = fast_synthesis(big)
    assert fast_synthesis(big) is fs
    with torch.no_grad():
        big.synthesis.b8.conv1.weight.mul_(1.5)
    assert fast_synthesis(big) is not fs


def test_official_size_network_pickle_round_trip_and_sample(tmp_path, capsys):
    """A 1024 px generator of the official FFHQ shape, written in NVIDIA's pickle layout, loads through
    the restricted unpickler tensor for tensor, and ``sample`` draws from it (early exit keeps it light)."""
    import sys

    from core.cli import run_cli
    from tests.official_pickle import write_network_pickle

    G = sg.official_size_generator(1024, seed=5)
    path = write_network_pickle(G, tmp_path / "ffhq-like-1024.pkl")
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules
    loaded = sg.load_generator(path)
    assert loaded.source_info["kind"] == "official-pickle" and loaded.img_resolution == 1024
    assert loaded.num_ws == 18 and sg.uses_half(loaded)
    for (name, a), (name_b, b) in zip(G.state_dict().items(), loaded.state_dict().items()):
        assert name == name_b and torch.equal(a, b), name
    ws = sg.seeds_to_ws(loaded, [7], 0.7)
    np.testing.assert_array_equal(sg.synthesize(loaded, ws, max_resolution=32),
                                  sg.synthesize(G, ws, max_resolution=32))
    out = tmp_path / "out"
    assert run_cli(sg.main, ["sample", "--network", str(path), "--seeds", "1", "--out", str(out),
                             "--precision", "fp32"]) == 0
    assert (out / "seed0001.png").stat().st_size > 100_000  # a 1024 px PNG of a (random-weight) picture


def test_in_place_convs_equal_the_plain_ones(monkeypatch):
    """oneDNN's in-place conv (where this build has it) and the portable fallback draw the same face."""
    from core.stylegan2 import fast

    G = _big_narrow(64)
    ws = sg.seeds_to_ws(G, [6], 0.7)
    native = FastSynthesis(G)(ws, "const")
    monkeypatch.setattr(fast, "inplace_conv_supported", lambda dtype: False)
    portable = FastSynthesis(G)
    assert not any(layer.inplace for block in portable.blocks for layer in block[2:4] if layer is not None)
    torch.testing.assert_close(portable(ws, "const"), native, atol=1e-5, rtol=0)


def test_kept_buffers_carry_nothing_between_calls():
    """The activation buffers live across calls: a face drawn after a smaller preview, another seed and
    noise 'none' equals the first drawing, threads drawing at once each get their own buffer, and the
    buffers are reused (no new allocation on the next call)."""
    import threading

    G = _big_narrow(128)
    fs = FastSynthesis(G)
    wa, wb = sg.seeds_to_ws(G, [1], 0.7), sg.seeds_to_ws(G, [2], 0.7)
    first = fs(wa)
    kept = list(fs._kept)
    assert len(kept) == 1
    fs(wb, "none")
    fs(wb, max_resolution=16)
    assert fs._kept == kept  # the preview fits in the same buffer
    assert torch.equal(fs(wa), first)
    results: dict[int, torch.Tensor] = {}

    def draw(i: int, ws: torch.Tensor) -> None:
        for _ in range(3):
            results[i] = fs(ws)

    threads = [threading.Thread(target=draw, args=(i, ws)) for i, ws in enumerate([wa, wb, wa])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert torch.equal(results[0], first) and torch.equal(results[2], first)
    assert torch.equal(results[1], fs(wb)) and len(fs._kept) <= 2
    fs.release_buffers()
    assert not fs._kept and torch.equal(fs(wa), first)
    fs.release_buffers()
    with torch.inference_mode():  # buffers made under inference mode stay writable outside it
        assert torch.equal(fs(wa), first)
    assert torch.equal(fs(wa), first)


def test_a_generator_with_a_cached_renderer_deep_copies():
    """A trainer deep-copies G for its EMA; the cached renderer (lock, kept buffers) must not stop it."""
    import copy

    G = _big_narrow(64)
    ws = sg.seeds_to_ws(G, [3], 0.7)
    first = fast_synthesis(G)(ws)
    G2 = copy.deepcopy(G)
    torch.testing.assert_close(fast_synthesis(G2)(ws), first, atol=0, rtol=0)
    assert fast_synthesis(G2) is not fast_synthesis(G)


def test_kept_buffers_go_with_their_generator_and_when_other_models_draw(monkeypatch):
    """A generator dropped takes its renderer's buffers with it at once (no cycle back to G, so no
    garbage collection is needed: the sampler freezes the collector), and when other models draw the
    least recently used renderers drop theirs to stay within KEPT_BYTES (a model switch never piles
    up ~0.4 GB per 1024 px generator)."""
    import gc
    import weakref

    from core.stylegan2 import fast

    def drawn(seed: int) -> tuple[sg.Generator, weakref.ref]:
        G = _big_narrow(64)
        fast_synthesis(G)(sg.seeds_to_ws(G, [seed], 0.7))
        kept = fast_synthesis(G)._kept
        assert len(kept) == 1
        return G, weakref.ref(kept[0].buffer)

    gc.collect()
    gc.disable()
    try:
        G, buffer = drawn(1)
        renderer = weakref.ref(fast_synthesis(G))
        del G
        assert renderer() is None and buffer() is None
    finally:
        gc.enable()

    one = fast._Scratch(FastSynthesis(_big_narrow(64))._slot_elems(None), torch.float32).nbytes
    monkeypatch.setattr(fast, "KEPT_BYTES", 2 * one)  # room for two models' buffers
    (A, a), (B, b), (C, c) = drawn(1), drawn(2), drawn(3)
    assert a() is None and b() is not None and c() is not None  # A, the least recently used, dropped
    assert fast.kept_buffer_bytes() == 2 * one
    fast_synthesis(B)(sg.seeds_to_ws(B, [2], 0.7))  # B drawn again: now C is the oldest
    D, d = drawn(4)
    assert c() is None and b() is not None and d() is not None
    assert not fast_synthesis(A)._kept and not fast_synthesis(C)._kept
    first = fast_synthesis(A)(sg.seeds_to_ws(A, [1], 0.7))  # a dropped renderer draws again, afresh
    assert torch.equal(first, FastSynthesis(A)(sg.seeds_to_ws(A, [1], 0.7)))
    assert fast.kept_buffer_bytes() <= 2 * one
