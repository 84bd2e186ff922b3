"""Background jobs that outlive page reruns and browser sessions.

A job is an ordinary subprocess (``python -m ...``) started in its own session, writing its state
into a run folder. Anything (a page rerun, another browser tab, a restarted server) finds it again
through ``RUN_DIR/job.json`` and the files the job writes; no in-memory registry is required,
though the ``Popen`` handles we started are kept so finished children are reaped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from core import PROJECT_ROOT
from core.checkpoint import atomic_write_bytes

JOB_FILE = "job.json"
LOG_FILE = "job.log"

# Popen handles of children started by this process: polling them reaps zombies.
_CHILDREN: dict[int, subprocess.Popen] = {}


def pid_alive(pid: int | None) -> bool:
    """True if ``pid`` is a live (non-zombie) process."""
    if not pid:
        return False
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie still answers kill(0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def start_job(args: list[str], run_dir: str | os.PathLike, env: dict[str, str] | None = None) -> int:
    """Start ``python <args>`` from the project root in a new session; output goes to RUN_DIR/job.log."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), full_env.get("PYTHONPATH")]))
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    with open(run_dir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen([sys.executable, *args], cwd=PROJECT_ROOT, stdout=log,
                                stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=full_env, start_new_session=True)
    _CHILDREN[proc.pid] = proc
    atomic_write_bytes(run_dir / JOB_FILE, json.dumps({"pid": proc.pid, "args": args,
                                                       "started": time.time()}).encode())
    return proc.pid


def job_info(run_dir: str | os.PathLike) -> dict | None:
    try:
        return json.loads((Path(run_dir) / JOB_FILE).read_text())
    except (OSError, ValueError):
        return None


def job_alive(run_dir: str | os.PathLike) -> bool:
    info = job_info(run_dir)
    return bool(info) and pid_alive(info.get("pid"))


def wait_job(run_dir: str | os.PathLike, timeout: float) -> bool:
    """Wait until the run folder's job exits; True if it did within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not job_alive(run_dir):
            return True
        time.sleep(0.1)
    return not job_alive(run_dir)


def log_tail(run_dir: str | os.PathLike, lines: int = 20) -> str:
    try:
        return "\n".join((Path(run_dir) / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
