"""The run folder: one training run per folder, its lock, pause control, status, metrics and snapshots.

Layout: ``checkpoint.pt`` (everything to resume exactly), ``config.json``, ``metrics.jsonl`` (one JSON
line per logged step), ``status.json`` (the trainer's own account: state, step, images/s, notices),
``control.json`` (run/pause, written by the page: pausing is the one control the job layer lacks),
``latest.png`` and ``snapshots/step_NNNNNNN.png`` (the fixed-noise grid over time), and ``run.lock``
(held by the live training process, also when it was started from a terminal or by torchrun). A run
started by the page is a ``core.jobs`` job of the same folder: ``job.json`` (process, progress, ETA,
how it ended), ``job.log``, and the ``cancel`` file that stops it. Every file but the metrics and the
log is written atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from core.checkpoint import atomic_write_bytes

CHECKPOINT_NAME = "checkpoint.pt"
CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.jsonl"
STATUS_NAME = "status.json"
CONTROL_NAME = "control.json"
LOCK_NAME = "run.lock"
LATEST_GRID_NAME = "latest.png"
SNAPSHOT_DIR = "snapshots"
CONTROL_COMMANDS = ("run", "pause")  # stopping is the job layer's cancel


class RunBusyError(ValueError):
    """Another training process owns the run folder (a ValueError: the CLI reports it in one line)."""


class RunExistsError(ValueError):
    """A fresh run was asked for in a folder that already holds one. The message is for users."""


class RunLock:
    """Exclusive advisory lock on RUN_DIR/run.lock (released by the OS if the process dies)."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_NAME
        self._fh = None

    def acquire(self) -> RunLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            owner = fh.read().strip() or "unknown"
            fh.close()
            raise RunBusyError(f"Run folder {self.path.parent} is busy: another training process "
                               f"(pid {owner}) is using it. Stop it or choose another folder.") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            import fcntl

            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def run_is_busy(run_dir: str | os.PathLike) -> bool:
    """True while some process holds the run folder's lock."""
    lock = RunLock(Path(run_dir))
    if not lock.path.exists():
        return False
    try:
        lock.acquire()
    except RunBusyError:
        return True
    except OSError:  # a read-only folder cannot be locked, nor trained in: nothing holds it
        return False
    lock.release()
    return False


def previous_run_files(run_dir: str | os.PathLike) -> list[str]:
    """What a fresh run would delete: the checkpoint, metrics and snapshots of an earlier run."""
    run_dir = Path(run_dir)
    found = [name for name in (CHECKPOINT_NAME, METRICS_NAME) if (run_dir / name).is_file()]
    n_snaps = len(snapshot_paths(run_dir))
    if n_snaps:
        found.append(f"{n_snaps} snapshot(s)")
    return found


def remove_partial_writes(run_dir: str | os.PathLike) -> list[Path]:
    """Delete ``.NAME.*.tmp`` files that an atomic write killed mid-way left behind (call under the lock)."""
    run_dir = Path(run_dir)
    removed = []
    for folder in (run_dir, run_dir / SNAPSHOT_DIR):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()
                    removed.append(tmp)
    return removed


def write_json_atomic(path: Path, data: dict) -> None:
    atomic_write_bytes(path, json.dumps(data).encode())


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """All complete lines of RUN_DIR/metrics.jsonl (a line being written is ignored)."""
    path = Path(run_dir) / METRICS_NAME
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            rows.append(json.loads(line))
    return rows


def set_control(run_dir: str | os.PathLike, command: str) -> None:
    """Ask the run's training process to ``pause`` or to ``run`` on (it checks every step).

    Stopping is :func:`core.dcgan.background.stop_training` (the job layer's cancel).
    """
    if command not in CONTROL_COMMANDS:
        raise ValueError(f"control command must be one of {CONTROL_COMMANDS}, not {command!r}")
    write_json_atomic(Path(run_dir) / CONTROL_NAME, {"command": command, "time": time.time()})


def snapshot_name(step: int) -> str:
    return f"step_{step:07d}.png"


def snapshot_paths(run_dir: str | os.PathLike) -> list[Path]:
    """The run's fixed-noise snapshots, oldest first (names sort by step)."""
    return sorted((Path(run_dir) / SNAPSHOT_DIR).glob("step_*.png"))


def snapshot_step(path: str | os.PathLike) -> int:
    """The training step a snapshot shows, from its name (``step_0000420.png`` -> 420)."""
    return int(Path(path).stem.split("_")[1])


def latest_snapshot(run_dir: str | os.PathLike) -> tuple[int, Path] | None:
    """(step, path) of the newest snapshot, or None. Pages show this, not ``latest.png``, so that the
    caption's step is the picture's own even while the trainer writes the next one."""
    paths = snapshot_paths(run_dir)
    return (snapshot_step(paths[-1]), paths[-1]) if paths else None
