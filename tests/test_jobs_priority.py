"""Foreground renders first (core.jobs.priority): background renders (the sampler's drag frames) wait
while a render a person waits for runs, between frames and between synthesis blocks, then resume with
nothing lost or drawn twice. Ordering by events, never timing."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from core import jobs
from core import stylegan2 as sg
from core.jobs import priority
from core.stylegan2.fast import FastSynthesis

pytestmark = pytest.mark.usefixtures("one_torch_thread")
WAIT_S = 30  # generous: a deadlock fails the test instead of hanging it, a loaded box never does


def _tiny(resolution: int = 32) -> sg.Generator:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        G = sg.Generator(32, 0, 32, resolution, 3, mapping_kwargs={"num_layers": 2},
                         synthesis_kwargs={"channel_base": 256, "channel_max": 16})
    return G.eval().requires_grad_(False)


@pytest.fixture(autouse=True)
def _gate_on():
    priority.set_enabled(True)
    yield
    priority.set_enabled(True)
    assert not priority.foreground_running() and priority.waiting_count() == 0


def test_drag_frames_wait_for_a_foreground_render_and_resume_with_every_frame_once():
    G = _tiny()
    cache = sg.WsCache(G)
    wa, wb = cache.get(1, 0.7), cache.get(2, 0.7)
    expected = list(sg.morph_frames(G, wa, wb, 9))
    events: list[str] = []
    renderer = jobs.KeyedRenderer(keep=2, name="test-priority")

    def work(cancel: threading.Event):
        torch.set_num_threads(1)
        frames = []
        for img in sg.morph_frames(G, wa, wb, 9, batch_size=2):
            events.append(f"frame {len(frames)}")
            frames.append(img)
        return frames

    try:
        with jobs.foreground():  # e.g. the exact face after a seed change, in the page's thread
            future = renderer.get("pair", work)
            assert priority.wait_for_waiters(1, WAIT_S), "the drag frames did not stop at the gate"
            events.append("foreground done")
            assert not future.done()
        frames = future.result(timeout=WAIT_S)
    finally:
        renderer.shutdown()
    assert events == ["foreground done"] + [f"frame {i}" for i in range(9)]
    assert len(frames) == 9 and all(np.array_equal(a, b) for a, b in zip(frames, expected))


def test_fast_renderer_in_the_background_pauses_between_blocks_and_draws_the_same_picture():
    G = _tiny(32)
    ws = sg.seeds_to_ws(G, [3], 0.7)
    reference = FastSynthesis(G)(ws)
    fs = FastSynthesis(G)
    events: list[str] = []
    mid_frame, foreground_started = threading.Event(), threading.Event()

    class Traced:  # the block's last conv, noting when it ran
        def __init__(self, res, conv):
            self.res, self.conv = res, conv

        def __getattr__(self, name):
            return getattr(self.conv, name)

        def __call__(self, *args, **kwargs):
            out = self.conv(*args, **kwargs)
            events.append(f"block {self.res}")
            if self.res == 8 and threading.current_thread() is not threading.main_thread():
                mid_frame.set()  # the background frame is half drawn: now a person asks for a face
                assert foreground_started.wait(WAIT_S)
            return out

    fs.blocks = [(idx, const, up, Traced(res, conv), torgb, filt)
                 for res, (idx, const, up, conv, torgb, filt) in zip(fs.block_resolutions, fs.blocks)]
    result = {}

    def background_frame():
        with jobs.background():
            result["img"] = fs(ws)

    thread = threading.Thread(target=background_frame)
    thread.start()
    assert mid_frame.wait(WAIT_S)
    with jobs.foreground():
        foreground_started.set()
        assert priority.wait_for_waiters(1, WAIT_S), "the background frame did not stop between blocks"
        assert jobs.yield_to_foreground() == 0.0  # the foreground's own thread never waits for itself
        events.append("foreground done")
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert events == ["block 4", "block 8", "foreground done", "block 16", "block 32"]
    torch.testing.assert_close(result["img"], reference, atol=0, rtol=0)


def test_a_disabled_gate_or_a_cancel_lets_background_work_through():
    with jobs.foreground():
        outcome = {}

        def background_check(cancel: threading.Event | None):
            with jobs.background():
                outcome["waited"] = jobs.yield_to_foreground(cancel)

        priority.set_enabled(False)  # the benchmarks' baseline: no waiting at all
        t = threading.Thread(target=background_check, args=(None,))
        t.start()
        t.join(WAIT_S)
        assert outcome["waited"] == 0.0
        priority.set_enabled(True)
        cancel = threading.Event()
        t = threading.Thread(target=background_check, args=(cancel,))
        t.start()
        assert priority.wait_for_waiters(1, WAIT_S)
        cancel.set()  # a job nobody waits for any more is not kept waiting at the gate
        t.join(WAIT_S)
        assert not t.is_alive()


def test_thread_jobs_are_background_work_and_page_threads_are_not(tmp_path):
    job = jobs.start_thread_job(tmp_path / "run", lambda ctx: jobs.is_background(), kind="probe")
    assert job.wait(WAIT_S) and job.result is True
    assert not jobs.is_background()
