"""The one CLI error wrapper: every ``python -m core.<family>`` entry point runs through :func:`run_cli`.

A user error (bad file, bad flag value, unwritable output, disk full) becomes exactly one line on
stderr and a non-zero exit, never a traceback. A bug still ends in one line, naming the exception
type, plus a pointer to ``CUSTOM_CAST_DEBUG=1`` which re-raises with the full traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from core import native_logs

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1
EXIT_INTERRUPTED = 130


class UserError(ValueError):
    """A problem with the user's input or environment; the message is shown as it is."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse prints a usage block before a bad flag's message; the CLI contract is one line.

    Subparsers made with ``add_subparsers`` inherit this class, so every subcommand complies.
    """

    def error(self, message: str):
        raise UserError(f"{message} (see {self.prog} --help)")


@contextlib.contextmanager
def _argparse_errors_raise() -> Iterator[None]:
    """While a command runs, a plain ``argparse.ArgumentParser``'s error raises like :class:`ArgumentParser`.

    Parsers should be :class:`ArgumentParser`; this holds the one-line contract for any that is not (its
    usage block would make a second stderr line). Subclasses that define their own ``error`` keep it.
    """
    original = argparse.ArgumentParser.error
    argparse.ArgumentParser.error = ArgumentParser.error
    try:
        yield
    finally:
        argparse.ArgumentParser.error = original


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe_os_error(e: OSError) -> str:
    """A plain sentence for a failed file operation (read-only folder, full disk, missing path)."""
    where = f" {e.filename}" if getattr(e, "filename", None) else ""
    reasons = {errno.EROFS: "the folder is on a read-only file system",
               errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
               errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
               errno.ENOENT: "no such file or folder",
               errno.ENOTDIR: "a part of the path is a file, not a folder",
               errno.EISDIR: "it is a folder, not a file", errno.EEXIST: "it already exists",
               errno.ENAMETOOLONG: "the file name is too long"}
    reason = reasons.get(e.errno or -1, e.strerror or type(e).__name__)
    return f"cannot write or read{where}: {reason}"


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)  # same device and inode: symlinks and hard links included
    except (OSError, ValueError):
        return False


def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def check_output_path(out: str | os.PathLike, inputs: Mapping[str, str | os.PathLike | None] | None = None,
                      protected_dirs: Mapping[str, str | os.PathLike | None] | None = None,
                      what: str = "--out") -> Path:
    """Refuse an output path that is also an input: the one check every command that writes runs first.

    ``inputs`` maps a description ("the checkpoint") to a file the command reads; ``protected_dirs`` maps
    one to a folder no output may land in (a show's ``media/``). The output is refused when it resolves
    (symlinks and ``..`` followed) to an input, is the same file under another name (a hard link: same
    device and inode), or lies inside a protected folder. Returns ``Path(out)``; raises UserError naming
    the flag and the input. Paths only: nothing is read.
    """
    out_text = os.fspath(out)
    real_out = _real(out_text)
    for label, path in (inputs or {}).items():
        if path is None or os.fspath(path) == "":
            continue
        if _real(path) == real_out or _same_file(out_text, os.fspath(path)):
            raise UserError(f"{what} {out_text} is {label} ({os.fspath(path)}); writing there would destroy "
                            "it: choose another output path")
    for label, folder in (protected_dirs or {}).items():
        if folder is None:
            continue
        real_dir = _real(folder)
        if real_out == real_dir or real_out.startswith(real_dir.rstrip(os.sep) + os.sep):
            raise UserError(f"{what} {out_text} is inside {label} ({os.fspath(folder)}), which this "
                            "command must not write into: choose another output path")
    return Path(out_text)


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[TextIO]:
    """Send file descriptor 2 to a scratch file while native code runs; yields the real stderr.

    MediaPipe's C++ code (absl, TFLite) logs straight to fd 2 and no Python or environment setting turns
    it off, so a CLI that runs it would print several lines where its contract is one. Wrap the run in
    this and print to the yielded stream; :func:`run_cli`'s error line comes after it, on the real fd 2.
    ``CUSTOM_CAST_DEBUG=1`` keeps the native logs.
    """
    if os.environ.get("CUSTOM_CAST_DEBUG") == "1":
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(2)
    real = os.fdopen(os.dup(saved), "w", buffering=1)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield real
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            real.close()
            native_logs.refilter_if_used()  # a native thread may log after the block (and the error line)


def run_cli(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None,
            prog: str = "custom-cast") -> int:
    """Run ``main(argv)`` and turn every failure into one stderr line and an exit code."""
    debug = os.environ.get("CUSTOM_CAST_DEBUG") == "1"
    try:
        with _argparse_errors_raise():
            code = main(argv)
        return int(code or 0)
    except SystemExit as e:  # argparse's own usage errors already printed their line
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USER_ERROR)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        if debug:
            raise
        print(f"{prog}: error: out of memory; try a smaller input or batch", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as e:
        if debug:
            raise
        print(f"{prog}: error: {_one_line(describe_os_error(e))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except ValueError as e:  # CheckpointError, DatasetError, SurveyError, UserError... are ValueErrors
        if debug:
            raise
        print(f"{prog}: error: {_one_line(str(e)) or type(e).__name__}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as e:  # noqa: BLE001 - the CLI promises one line, never a traceback
        if debug:
            raise
        print(f"{prog}: internal error ({type(e).__name__}: {_one_line(str(e))[:300]}); "
              f"rerun with CUSTOM_CAST_DEBUG=1 for details", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
