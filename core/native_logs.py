"""The filter that keeps native libraries' log lines (MediaPipe's absl/glog, TFLite) off stderr.

A command's contract is one line on stderr for a refused input; MediaPipe logs from its own threads,
straight to file descriptor 2, sometimes after the command has printed that line. Every MediaPipe call
goes through :func:`native_logs_quiet`; ``CUSTOM_CAST_DEBUG=1`` keeps the native logs.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator

# MediaPipe graphs are created only in core.landmarks, which calls native_logs_quiet() around each; the
# CLIs' scratch sink (core.cli.quiet_native_stderr) puts the filter back in front of the real stderr when
# it ends. The settings cover glog and TensorFlow's
# logger; MediaPipe 0.10.21 logs through absl, which reads no setting before absl::InitializeLog(), and
# its graph threads log when each TFLite interpreter starts, asynchronously, up to seconds after the call
# that created the graph returned ("W0000 00:00:... inference_feedback_manager.cc:114] ...", "INFO:
# Created TensorFlow Lite XNNPACK delegate"). So before any MediaPipe object exists, file descriptor 2
# is routed through a pipe whose reader thread drops exactly those lines and writes every other byte to
# the real stderr (silence_native_logs).
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
logging.getLogger("absl").setLevel(logging.ERROR)

_NATIVE_LOG_RE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]*\] "  # absl / glog prefix (seconds may be epoch)
    rb"|INFO: Created TensorFlow Lite"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)"
)
_NATIVE_STARTS = (b"INFO: Created TensorFlow Lite", b"WARNING: All log messages before absl")
# What the exit handler writes through the filter to learn that all said before it was forwarded.
_FLUSH_MARK = b"\x00custom-cast-native-log-filter-flush\x00\n"
_flushed = threading.Event()
_filter_lock = threading.Lock()
# (identity of the pipe's write end installed as fd 2, reader thread, fd of the stderr it writes to)
_filter: tuple[tuple[int, int], threading.Thread, int] | None = None


def _fd_identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def silence_native_logs() -> None:
    """Route fd 2 through the native-log filter, unless it already is (idempotent and cheap: one fstat).

    When someone else has since pointed fd 2 elsewhere (a CLI's scratch sink, pytest's capture), a new
    filter is put in front of that. ``CUSTOM_CAST_DEBUG=1`` keeps the native logs.
    """
    global _filter
    if os.environ.get("CUSTOM_CAST_DEBUG") == "1":
        return
    with _filter_lock:
        try:
            current = _fd_identity(2)
        except OSError:
            return  # no stderr at all: nothing to protect
        if _filter is not None and _filter[0] == current:
            return
        sys.stderr.flush()
        target = os.dup(2)
        read_fd, write_fd = os.pipe()
        identity = _fd_identity(write_fd)
        thread = threading.Thread(target=_forward, args=(read_fd, target), name="native-log-filter",
                                  daemon=True)
        thread.start()
        os.dup2(write_fd, 2)  # the previous filter's pipe (if any) loses its writer and its thread ends
        os.close(write_fd)
        _filter = (identity, thread, target)


def _could_be_native(partial: bytes) -> bool:
    """Whether an unfinished line may still turn out to be a native log line (so it waits for its end)."""
    if re.match(rb"[IWEF]\d{4} ", partial) or re.fullmatch(rb"[IWEF]\d{0,4}", partial):
        return True
    if _FLUSH_MARK.startswith(partial):
        return True
    return any(start.startswith(partial) or partial.startswith(start) for start in _NATIVE_STARTS)


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass  # the real stderr is gone (closed terminal): nothing left to tell


def _forward(read_fd: int, target: int) -> None:
    """The filter's reader: every line but native log lines goes on to ``target``, unfinished lines
    (a progress bar's ``\r``) at once unless they may be the start of a native line."""
    pending = b""
    try:
        while chunk := os.read(read_fd, 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            if _FLUSH_MARK[:-1] in lines:
                lines.remove(_FLUSH_MARK[:-1])
                marked = True
            else:
                marked = False
            out = b"".join(line + b"\n" for line in lines if not _NATIVE_LOG_RE.match(line))
            if pending and not _could_be_native(pending):
                out, pending = out + pending, b""
            if out:
                _write_all(target, out)
            if marked:
                _flushed.set()
    finally:
        if pending and not _NATIVE_LOG_RE.match(pending):
            _write_all(target, pending)
        os.close(read_fd)
        os.close(target)


def drain_native_log_filter(timeout: float = 2.0) -> None:
    """Once fd 2 has been pointed elsewhere (a test harness capturing each command), wait until the
    filter's reader has written out all it read, so nothing said before the switch is missing."""
    with _filter_lock:
        current = _filter
    if current is None:
        return
    try:
        still_installed = _fd_identity(2) == current[0]
    except OSError:
        still_installed = False
    if not still_installed:
        current[1].join(timeout)


@atexit.register
def _flush_at_exit() -> None:
    """At exit, let the reader write out all that was said so far, but leave the filter standing: a
    MediaPipe graph thread may still log as the process ends (after the error line of a refused input),
    and that line must not reach the real stderr."""
    with _filter_lock:
        if _filter is None:
            return
        identity, thread, _target = _filter
        try:
            if _fd_identity(2) != identity:
                return
            sys.stderr.flush()
            _flushed.clear()
            _write_all(2, _FLUSH_MARK)
        except OSError:
            return
    _flushed.wait(timeout=2.0)


@contextlib.contextmanager
def native_logs_quiet() -> Iterator[None]:
    """Around every MediaPipe call: make sure the native-log filter stands in front of stderr."""
    silence_native_logs()
    yield


def refilter_if_used() -> None:
    """After fd 2 was pointed back at the real stderr (a CLI's scratch sink ended): if native code has
    run in this process, its threads may still log, so the filter stands in front again."""
    with _filter_lock:
        used = _filter is not None
    if used:
        silence_native_logs()
