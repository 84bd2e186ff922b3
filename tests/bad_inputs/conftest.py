"""Fixtures for the bad-input corpus: run a CLI as a user would, and output folders that refuse writes.

Every case runs the real command in a subprocess and checks the CLI contract: a non-zero exit, exactly
one line on stderr, no traceback. Read-only and full folders are small tmpfs mounts (root ignores
chmod, so permissions cannot stand in for them); where mounting is not allowed the test skips.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
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


def run_cli_batch(commands: list[list], timeout: float = 600) -> list[CliResult]:
    """Run several ``[module, arg, ...]`` command lines in ONE interpreter (torch is imported once).

    Each still runs its module's ``__main__`` with its own argv, and its file descriptors 1 and 2 are
    captured on their own (see :mod:`tests.bad_inputs.cli_batch`); the results come back in order.
    """
    with tempfile.TemporaryDirectory(prefix="cc-batch-") as tmp:
        spec, results = Path(tmp) / "spec.json", Path(tmp) / "results.json"
        spec.write_text(json.dumps([[str(a) for a in cmd] for cmd in commands]))
        driver = run_cli("tests.bad_inputs.cli_batch", spec, results, timeout=timeout)
        assert driver.returncode == 0 and not driver.stderr.strip() and results.is_file(), \
            f"the batch driver failed (exit {driver.returncode}): {driver.stderr[-3000:]}"
        return [CliResult(**r) for r in json.loads(results.read_text())]


def run_concurrently(jobs: list, workers: int = 3) -> list:
    """Call each zero-argument function in ``jobs`` on a small thread pool (each one waits on a child
    process, most of whose time is importing torch); results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: job(), jobs))


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


# -- malicious pickles -------------------------------------------------------------------------------------

PAYLOAD_KINDS = ("os.system", "eval", "exec", "subprocess.Popen", "importlib")
PAYLOAD_CONTAINERS = ("pickle", "pickle-in-dict", "zip-torch-save", "legacy-torch-save")


class _Reduce:
    """Pickles as ``func(*args)``; callable itself, so it can be the function of an outer payload."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)

    def __call__(self, *args):  # pragma: no cover - only its pickled form is used
        raise AssertionError


def png_header_only(width: int, height: int) -> bytes:
    """A syntactically valid PNG signature + IHDR claiming ``width`` x ``height`` (no real pixels): a
    decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def malicious_payload(kind: str, marker: Path):
    """An object whose unpickling would create the file ``marker``."""
    write = f"open({str(marker)!r}, 'w').close()"
    if kind == "os.system":
        return _Reduce(os.system, (f"touch {marker}",))
    if kind == "eval":
        return _Reduce(eval, (write,))
    if kind == "exec":
        return _Reduce(exec, (write,))
    if kind == "subprocess.Popen":
        return _Reduce(subprocess.Popen, (["touch", str(marker)],))
    assert kind == "importlib", kind  # importlib.import_module("os").system("touch marker")
    os_system = _Reduce(getattr, (_Reduce(importlib.import_module, ("os",)), "system"))
    return _Reduce(os_system, (f"touch {marker}",))


def malicious_bytes(kind: str, container: str, marker: Path) -> bytes:
    """The payload as a bare pickle, a pickle of a checkpoint-like dict, or a zip / legacy ``torch.save``
    of that dict. The dict holds the payload under every key a loader of the project reads first."""
    import torch

    payload = malicious_payload(kind, marker)
    if container == "pickle":
        return pickle.dumps(payload, protocol=2)
    ckpt = {"G_ema": payload, "generator": payload, "kp_detector": payload, "model": {"w": payload},
            "config": {"model": payload}, "step": 1, "version": 1}
    if container == "pickle-in-dict":
        return pickle.dumps(ckpt, protocol=4)
    buf = io.BytesIO()
    torch.save(ckpt, buf, _use_new_zipfile_serialization=container == "zip-torch-save")
    return buf.getvalue()


def malicious_corpus(folder: Path, markers: Path) -> dict[str, Path]:
    """Every payload in every container under ``folder`` (``name -> file``); each would create its own
    file in ``markers`` if it ever ran."""
    folder.mkdir(parents=True, exist_ok=True)
    markers.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind in PAYLOAD_KINDS:
        for container in PAYLOAD_CONTAINERS:
            name = f"{kind.replace('.', '_')}-{container}"
            path = folder / (name + (".pkl" if container.startswith("pickle") else ".pt"))
            path.write_bytes(malicious_bytes(kind, container, markers / f"{folder.name}--{name}"))
            files[name] = path
    return files
