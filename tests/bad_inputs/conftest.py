"""Fixtures for the bad-input corpus: run a CLI as a user would, and output folders that refuse writes.

Every case runs the real command in a subprocess and checks the CLI contract: a non-zero exit, exactly
one line on stderr, no traceback. Read-only and full folders are small tmpfs mounts (root ignores
chmod, so permissions cannot stand in for them); where mounting is not allowed the test skips.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_cli(*args: str | os.PathLike, timeout: float = 300, env: dict | None = None) -> CliResult:
    """``python -m <args>`` from the project root, with one torch thread (the corpus is many small runs)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore",
                **(env or {})}
    full_env.pop("CUSTOM_CAST_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          errors="replace", timeout=timeout, env=full_env)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def assert_refused(result: CliResult, *words: str) -> str:
    """Non-zero exit, one stderr line, no traceback; the line mentions each of ``words`` (any case)."""
    assert result.returncode != 0, f"exit 0 for a bad input; stdout: {result.stdout[-500:]}"
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.error_lines
    assert len(lines) == 1, f"expected one error line, got {len(lines)}: {lines[:10]}"
    for word in words:
        assert word.lower() in lines[0].lower(), f"{word!r} not in {lines[0]!r}"
    return lines[0]


def _mount_tmpfs(options: str) -> Path:
    where = Path("/tmp") / f"cc-tmpfs-{uuid.uuid4().hex[:8]}"
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'mount failed'}); "
                    "read-only/full-folder cases need root")
    return where


def _unmount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)
    try:
        where.rmdir()
    except OSError:
        pass


@pytest.fixture
def readonly_dir():
    """A folder on a read-only file system (writes fail with EROFS, even for root)."""
    where = _mount_tmpfs("size=1m,ro")
    yield where
    _unmount(where)


@pytest.fixture
def full_dir():
    """A folder on a 256 KiB file system: small writes succeed, anything bigger hits ENOSPC."""
    where = _mount_tmpfs("size=256k")
    yield where
    _unmount(where)
