"""Run many ``python -m core.<x> ...`` command lines in one interpreter: the corpus pays torch's import once.

    python -m tests.bad_inputs.cli_batch SPEC.json RESULTS.json

SPEC is a JSON list of ``[module, arg, ...]``. Each command runs as ``python -m module args`` would: its
``__main__`` executes with ``sys.argv`` set (so it goes through :func:`core.cli.run_cli` like a user's
run), with file descriptors 1 and 2 sent to scratch files, so everything it prints, native libraries
included, is captured. RESULTS gets ``[{"returncode", "stdout", "stderr"}, ...]`` in the same order. An
exception escaping a command is printed as Python would print it (a traceback), with exit code 1.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import tempfile
import traceback
import warnings


def _read(f) -> str:
    f.seek(0)
    return f.read().decode("utf-8", "replace")


def run_one(module: str, args: list[str]) -> dict:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.argv = [module, *args]
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if e.code is not None and not isinstance(e.code, int):  # sys.exit("text"): printed, exit 1
                print(e.code, file=sys.stderr)
        except BaseException:  # noqa: BLE001 - report it as the interpreter would
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            native_logs = sys.modules.get("core.native_logs")
            if native_logs is not None:  # its stderr filter may still hold the command's last lines
                native_logs.drain_native_log_filter()
        return {"returncode": code, "stdout": _read(out), "stderr": _read(err)}


def main() -> None:
    spec_path, results_path = sys.argv[1:3]
    with open(spec_path) as f:
        commands = json.load(f)
    warnings.simplefilter("ignore")  # runpy's "found in sys.modules" notice on the second run of a module
    results = [run_one(module, [str(a) for a in args]) for module, *args in commands]
    with open(results_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
