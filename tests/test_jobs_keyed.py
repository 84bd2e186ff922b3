"""core.jobs.keyed: results found by key, shared between callers, latest wins, stopped jobs restart."""

from __future__ import annotations

import threading

import pytest

from core.jobs import KeyedRenderer


@pytest.fixture
def renderer():
    r = KeyedRenderer(keep=2, name="test-keyed", low_priority=False)
    yield r
    r.shutdown()


def test_same_key_same_job_and_result(renderer):
    calls = []

    def work(cancel: threading.Event) -> int:
        calls.append(1)
        return 42

    first = renderer.get("a", work)
    assert first.result(timeout=5) == 42
    assert renderer.get("a", work) is first and renderer.result("a") is first
    assert len(calls) == 1 and renderer.result("missing") is None


def test_drop_stops_running_job_and_get_restarts_it(renderer):
    started, release = threading.Event(), threading.Event()

    def slow(cancel: threading.Event):
        started.set()
        release.wait(5)
        return None if cancel.is_set() else "finished"

    future = renderer.get("a", slow)
    assert started.wait(5)
    renderer.drop("a")
    release.set()
    assert future.result(timeout=5) is None  # saw its cancel event
    again = renderer.get("a", lambda cancel: "again")
    assert again is not future and again.result(timeout=5) == "again"


def test_oldest_evicted_beyond_keep(renderer):
    gate = threading.Event()
    seen: dict[str, threading.Event] = {}

    def blocking(key):
        def work(cancel: threading.Event):
            seen[key] = cancel
            gate.wait(5)
            return key
        return work

    futures = {k: renderer.get(k, blocking(k)) for k in "abc"}
    gate.set()
    assert list(renderer.jobs) == ["b", "c"]  # latest wins: "a" forgotten
    assert futures["a"].cancelled() or seen["a"].is_set()
    assert futures["c"].result(timeout=5) == "c"


def test_bad_sizes_refused():
    with pytest.raises(ValueError):
        KeyedRenderer(keep=0)
