"""The background-job layer (core/jobs): manifest, progress/ETA, cancel, failures, stale owners, old API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from core import jobs
from core.jobs import manifest as manifest_mod
from core.jobs.cli import main as jobs_main

# A process-job target using the context: counts until cancelled (or until argv[1] steps, then returns).
COUNTER = """
import sys, time
from core.jobs import current_context
ctx = current_context()
limit = int(sys.argv[1]) if len(sys.argv) > 1 else 10**9
for i in range(limit):
    ctx.progress(i, 1000, f"step {i}", unit="steps")
    ctx.raise_if_cancelled()
    time.sleep(0.02)
ctx.set_result({"steps": limit})
"""


PLAIN_CODE = "import sys; print('hello from the job'); sys.exit(0)"
FAILING_CODE = ("from core.jobs import current_context\ncurrent_context().set_result({'partial': 2})\n"
                "raise SystemExit('dcgan: error: dataset not found')")


@pytest.fixture(scope="module", autouse=True)
def spawned(tmp_path_factory):
    """The process jobs of this module, started together before the first test: each child spends most
    of its start-up importing torch (through core.checkpoint), which then overlaps the thread tests."""
    root = tmp_path_factory.mktemp("process_jobs")
    started = {
        "cancel": (root / "train", jobs.start_process_job(root / "train", ["-c", COUNTER], kind="train")),
        "killed": (root / "killed", jobs.start_process_job(root / "killed", ["-c", COUNTER], kind="train")),
        "plain": (root / "plain", jobs.start_process_job(root / "plain", ["-c", PLAIN_CODE], kind="process",
                                                         env={"CUSTOM_CAST_TEST": "1"})),
        "failing": (root / "failing",
                    jobs.start_process_job(root / "failing", ["-c", FAILING_CODE], kind="train")),
    }
    yield started
    for run, pid in started.values():  # never leave a child behind, even when a test failed
        if jobs.pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
            jobs.wait(run, 10)


def wait_until(cond, timeout=20.0, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_eta_estimator_uses_recent_rate_and_waits_for_history():
    eta = jobs.EtaEstimator(window_s=10.0, min_span_s=1.0, min_advance=2)
    assert eta.update(0, 100, now=0.0) is None
    assert eta.update(1, 100, now=0.5) is None          # too little history
    assert eta.update(2, 100, now=1.0) == pytest.approx(98 * 1.0 / 2)   # 2 units/s
    assert eta.update(0, 1000, now=100.0) is None        # a new total (a new stage) resets the history
    done = 0
    for t in range(101, 121):                            # 1 unit/s for 20 s (warm-up) ...
        done += 1
        eta.update(done, 1000, now=float(t))
    for t in range(121, 136):                            # ... then 10 units/s: the window sees only these
        done += 10
        last = eta.update(done, 1000, now=float(t))
    assert done == 170 and last == pytest.approx((1000 - 170) / 10.0)
    assert eta.update(1000, 1000, now=136.0) == 0.0
    assert eta.update(5, None, now=137.0) is None        # unknown total: no estimate


def test_smoothed_eta_stays_steady_when_a_shared_cpu_changes_speed():
    """Issue 22: "time left" jumped 43 min -> 1 h 49 -> 27 min; the jobs' estimator smooths the rate."""
    raw = jobs.EtaEstimator(window_s=30.0)
    steady = jobs.EtaEstimator(window_s=60.0, smooth_s=90.0)
    done, estimates = 0.0, {"raw": [], "steady": []}
    for t in range(0, 900):
        done += 1.0 if (t // 60) % 2 else 3.0  # a minute at 3 steps/s, a minute at 1 step/s, ...
        for name, eta in (("raw", raw), ("steady", steady)):
            value = eta.update(done, 5000, now=float(t))
            if t >= 300 and value is not None:
                estimates[name].append(value + t)  # predicted finishing time: constant if the ETA is honest
    spread = {k: max(v) - min(v) for k, v in estimates.items()}
    assert spread["steady"] < 0.35 * spread["raw"]
    mean_rate = 2.0
    finish = 5000 / mean_rate
    assert abs(estimates["steady"][-1] - finish) < 0.25 * finish


def test_time_left_is_said_as_a_person_says_it():
    say = jobs.spoken_time_left
    assert say(None) == "-" and say(float("nan")) == "-" and say(30) == "under a minute"
    assert say(7 * 60) == "7 min" and say(43 * 60) == "45 min" and say(109 * 60) == "1 h 50 min"
    assert say(120 * 60) == "2 h"


def test_thread_job_progress_eta_result_and_throttled_writes(tmp_path, monkeypatch):
    writes = []
    real_write = manifest_mod.atomic_write_bytes
    monkeypatch.setattr(manifest_mod, "atomic_write_bytes", lambda p, d: (writes.append(p), real_write(p, d)))
    release = threading.Event()
    payload = object()

    def work(ctx: jobs.JobContext):
        assert jobs.current_context() is ctx
        for i in range(2000):  # a burst of reports must not become 2000 fsyncs
            ctx.progress(i * 0.001, 40, unit="images")
        for i in range(1, 31):
            ctx.progress(i, 40, f"image {i}", unit="images")
            time.sleep(0.05)
        release.wait(10)
        ctx.progress(40, 40, unit="images")
        ctx.log("all images read")
        return payload

    run = tmp_path / "scan"
    job = jobs.start_thread_job(run, work, kind="scan", summarize=lambda r: {"faces": 7})
    assert jobs.get_thread_job(run) is job
    # Writes are throttled, so the manifest may lag the last report by up to 0.25 s.
    st = wait_until(lambda: (s := jobs.read_job(run)).progress.done >= 20 and s, what="20 images")
    assert st.state == jobs.RUNNING and st.is_active and st.runner == "thread" and st.kind == "scan"
    assert st.pid == os.getpid() and st.progress.unit == "images" and st.progress.total == 40
    assert st.fraction == pytest.approx(st.progress.done / 40)
    # ~20 images/s for the last second: about 1 s for the last 20 (generous bounds: shared CPU).
    assert st.eta_seconds() is not None and 0.0 <= st.eta_seconds() < 5.0
    assert f"{st.progress.done:g}/40 images, about" in st.describe()
    assert len(writes) < 25, len(writes)
    with pytest.raises(jobs.JobBusyError, match="already has an active scan job"):
        jobs.start_thread_job(run, work, kind="scan")
    release.set()
    assert job.wait(10) and jobs.wait(run, 5)
    st = jobs.read_job(run)
    assert st.state == jobs.DONE and not st.is_active and st.error is None and st.eta_seconds() is None
    assert st.progress.done == 40 and st.finished >= st.started and st.result == {"faces": 7}
    assert job.result is payload  # the in-memory object, for the page of this process
    assert "all images read" in jobs.log_tail(run)
    jobs.forget_thread_job(run)
    assert jobs.get_thread_job(run) is None


def test_thread_job_cancel_and_plain_json_result(tmp_path):
    def forever(ctx):
        i = 0
        while True:
            ctx.progress(i, None, "working")
            ctx.raise_if_cancelled()
            i += 1
            time.sleep(0.01)

    run = tmp_path / "anim"
    job = jobs.start_thread_job(run, forever, kind="animate")
    wait_until(lambda: jobs.read_job(run).state == jobs.RUNNING, what="running")
    jobs.request_cancel(run)  # from the folder, as another tab or process would
    assert jobs.wait(run, 10)
    st = jobs.read_job(run)
    assert st.state == jobs.CANCELLED and st.error is None and not st.is_active and job.result is None
    assert isinstance(job.exception, jobs.JobCancelled)
    # The folder is free again; a stale cancel file does not cancel the next job.
    def numpy_progress(ctx):  # numpy counts and a NaN ETA (the animator's "unknown") must still be JSON
        ctx.progress(np.int64(2), np.float32(3), eta_s=float("nan"))
        return {"frames": 3, "ok": True}

    job2 = jobs.start_thread_job(run, numpy_progress, kind="animate")
    assert job2.wait(10) and job2.exception is None
    st = jobs.read_job(run)
    assert st.state == jobs.DONE and st.result == {"frames": 3, "ok": True} and st.progress.done == 3
    # A job that sees the request and returns on its own is also recorded as cancelled (via the handle).
    job3 = jobs.start_thread_job(run, lambda ctx: wait_until(ctx.cancel_flag.is_set, what="flag"), kind="x")
    job3.cancel()
    assert job3.wait(10) and jobs.read_job(run).state == jobs.CANCELLED


def test_thread_job_failure_is_one_line_with_traceback_in_log(tmp_path):
    def broken(ctx):
        ctx.progress(1, 4)
        raise ValueError("the detector\nreturned garbage")

    run = tmp_path / "bad"
    job = jobs.start_thread_job(run, broken, kind="scan")
    assert job.wait(10)
    st = jobs.read_job(run)
    assert st.state == jobs.FAILED and st.error == "ValueError: the detector returned garbage"
    assert isinstance(job.exception, ValueError) and "Traceback" in jobs.log_tail(run, 50)


def test_process_job_cancel_via_file(spawned):
    run, pid = spawned["cancel"]
    st = jobs.read_job(run)
    assert st.pid == pid and st.runner == "process" and st.is_active
    assert st.state in (jobs.QUEUED, jobs.RUNNING)
    wait_until(lambda: jobs.read_job(run).progress.done >= 3, what="3 steps")
    with pytest.raises(jobs.JobBusyError):
        jobs.start_process_job(run, ["-c", "pass"], kind="train")
    assert jobs_main(["cancel", str(run)]) == 0  # the terminal's way; same cancel file
    assert jobs.wait(run, 20)
    st = jobs.read_job(run)
    assert st.state == jobs.CANCELLED and st.exit_code == 0 and not jobs.pid_alive(pid), jobs.log_tail(run)
    assert st.progress.unit == "steps" and st.progress.message.startswith("step ")


def test_process_job_failure_is_its_last_stderr_line(spawned):
    run, pid = spawned["failing"]
    assert jobs.wait(run, 30)
    st = jobs.read_job(run)
    assert st.state == jobs.FAILED and st.exit_code == 1 and st.error == "dcgan: error: dataset not found"
    assert st.result == {"partial": 2} and not st.interrupted


def test_killed_process_leaves_stale_manifest_reported_as_interrupted(spawned, tmp_path, capsys):
    run, pid = spawned["killed"]
    wait_until(lambda: jobs.read_job(run).state == jobs.RUNNING, what="running")
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not jobs.pid_alive(pid), what="the kill")
    assert json.loads((run / jobs.JOB_FILE).read_text())["state"] == jobs.RUNNING  # what the file claims
    st = jobs.read_job(run)
    assert st.state == jobs.FAILED and st.interrupted and not st.is_active
    assert "Interrupted" in st.error and str(pid) in st.error
    assert jobs_main(["status", str(run)]) == 0 and '"interrupted": true' in capsys.readouterr().out
    # A thread manifest of a dead server process, and a pid reused by another process, read the same way.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    data = manifest_mod.new_manifest("x", "scan", "thread", state=jobs.RUNNING,
                                     pid=int(dead.stdout), thread="job-scan-x")
    manifest_mod.write_manifest(tmp_path / "t", data)
    assert jobs.read_job(tmp_path / "t").interrupted
    data.update(runner="process", pid=os.getpid(), pid_start=1)  # our pid, but not the process that ran it
    manifest_mod.write_manifest(tmp_path / "t", data)
    assert jobs.read_job(tmp_path / "t").interrupted
    jobs.start_thread_job(tmp_path / "t", lambda ctx: None, kind="scan").wait(10)  # folder is free


def test_readers_never_see_a_torn_manifest(tmp_path):
    run = tmp_path / "busy"
    data = manifest_mod.new_manifest("x", "scan", "thread", pid=os.getpid(), thread="job-scan-x")
    data["progress"]["message"] = "0"  # every version of the file has message == str(done)
    manifest_mod.write_manifest(run, data)
    reader = subprocess.Popen(  # another process, plain Python, reading as fast as it can
        [sys.executable, "-c", "import json,sys,time\nbad=n=0\nt=time.time()+1.5\nwhile time.time()<t:\n"
         " try:\n  p=json.load(open(sys.argv[1]))['progress']\n  assert p['message']==str(p['done'])\n"
         "  n+=1\n except Exception: bad+=1\nprint(n,bad)", str(run / jobs.JOB_FILE)],
        stdout=subprocess.PIPE, text=True)
    errors, stop = [], threading.Event()

    def read_loop():
        while not stop.is_set():
            st = jobs.read_job(run)
            if st is None or st.progress.message != str(st.progress.done):
                errors.append(st)

    readers = [threading.Thread(target=read_loop) for _ in range(2)]
    for t in readers:
        t.start()
    deadline, i = time.monotonic() + 1.5, 0
    while time.monotonic() < deadline:
        i += 1
        data["progress"] = {"done": i, "total": None, "unit": "", "message": str(i)}
        data["result"] = {"pad": "x" * (i % 5000)}  # the file size changes on every write
        manifest_mod.write_manifest(run, data)
    stop.set()
    for t in readers:
        t.join()
    n, bad = map(int, reader.communicate(timeout=20)[0].split())
    assert i > 20 and n > 20 and bad == 0 and not errors


def test_plain_process_job_and_old_manifests(spawned, tmp_path):
    run, pid = spawned["plain"]
    assert jobs.wait(run, 30) and not jobs.pid_alive(pid)
    st = jobs.read_job(run)
    assert st.state == jobs.DONE and not st.is_active and st.error is None
    assert "hello from the job" in jobs.log_tail(run)
    assert not jobs.pid_alive(None) and jobs.pid_alive(os.getpid())
    assert jobs.read_job(tmp_path / "none") is None and jobs.log_tail(tmp_path / "none") == ""
    # A manifest written by the old layer (pid/args/started only) still reads.
    manifest_mod.write_manifest(tmp_path / "old", {"pid": pid, "args": ["-m", "x"], "started": 1.0})
    st = jobs.read_job(tmp_path / "old")
    assert st.state == jobs.DONE and not st.is_active and st.error is None


def test_detached_context_outside_jobs_and_bad_arguments(tmp_path):
    ctx = jobs.current_context()
    ctx.progress(1, 2, "nothing recorded")
    ctx.set_result({"a": 1})
    assert not ctx.cancelled() and not ctx.cancel_flag.is_set()
    ctx.raise_if_cancelled()
    with pytest.raises(ValueError, match="python -m MODULE"):
        jobs.start_process_job(tmp_path / "r", ["-X", "dev"], kind="x")
    assert not (tmp_path / "r" / jobs.JOB_FILE).exists()
    assert jobs.read_job(tmp_path / "r") is None
