"""Process jobs: ``python -m ...`` work (training) that outlives the server and can use every core/GPU.

The child does not run the target directly but through the layer's launcher,
``python -m core.jobs launch RUN_DIR -- <python args>``, which runs the target *in the same process*
(runpy, as ``python`` itself would) inside a :class:`JobContext`. So the recorded pid is the target's,
kill -9 kills the target, and every target (even one that knows nothing of this layer, such as today's
``python -m core.dcgan train``) gets its end recorded: done, failed with its last stderr line, or
cancelled. Targets that want progress/cancel call ``core.jobs.current_context()``.
"""

from __future__ import annotations

import os
import runpy
import signal
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from core import PROJECT_ROOT
from core.jobs.context import JobCancelled, JobContext, bind_process
from core.jobs.control import claim_run_dir, last_log_line
from core.jobs.liveness import process_start_ticks, remember_child
from core.jobs.manifest import LOG_FILE, new_manifest, write_manifest


def _check_python_args(python_args: Sequence[str]) -> list[str]:
    args = [str(a) for a in python_args]
    if not args or (args[0].startswith("-") and args[0] not in ("-m", "-c")) or \
            (args[0] in ("-m", "-c") and len(args) < 2):
        raise ValueError(f"process jobs run `python -m MODULE ...`, `python -c CODE ...` or "
                         f"`python SCRIPT ...`; got python {' '.join(args)}")
    return args


def start_process_job(run_dir: str | os.PathLike, python_args: Sequence[str], *, kind: str,
                      env: dict[str, str] | None = None) -> int:
    """Start ``python <python_args>`` from the project root as the job of ``run_dir``; return its pid.

    It runs in its own session (a page rerun or a closed tab does not kill it; ``kill_job`` signals its
    whole group), with stdout and stderr appended to RUN_DIR/job.log. Raises :class:`JobBusyError` if the
    folder's job is still active.
    """
    args = _check_python_args(python_args)
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), full_env.get("PYTHONPATH")]))
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    with claim_run_dir(run_dir) as run_dir:
        with open(run_dir / LOG_FILE, "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "core.jobs", "launch", str(run_dir), "--", *args],
                                    cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=full_env, start_new_session=True)
        remember_child(proc)
        # The child waits for this manifest (its pid in it) before writing anything itself.
        write_manifest(run_dir, new_manifest(uuid.uuid4().hex[:12], kind, "process", pid=proc.pid,
                                             pid_start=process_start_ticks(proc.pid), args=args))
    return proc.pid


def _run_target(args: list[str]) -> None:
    """Run the target as ``python <args>`` would, in this process."""
    if args[0] == "-m":
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    elif args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    else:
        sys.argv = list(args)
        sys.path.insert(0, str(Path(args[0]).resolve().parent))
        runpy.run_path(args[0], run_name="__main__")


def _terminated(signum, frame) -> None:
    raise JobCancelled(f"terminated by signal {signum}")


def launch(run_dir: str, args: list[str]) -> int:
    """The child side of :func:`start_process_job`; returns the process exit code."""
    ctx = JobContext(run_dir, log_to_stderr=True)
    ctx.adopt(os.getpid())
    ctx.start(pid=os.getpid(), pid_start=process_start_ticks(os.getpid()))
    bind_process(ctx)
    signal.signal(signal.SIGTERM, _terminated)  # kill_job / `kill PID` end as "cancelled", recorded
    try:
        _run_target(args)
        code, error = 0, None
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)  # what the interpreter would have printed
        sys.stderr.flush()
        error = None if code == 0 else (last_log_line(run_dir) or f"exited with code {code}")
    except BaseException as e:  # noqa: BLE001 - recorded, and the traceback goes to the log
        code, error = (0, e) if isinstance(e, JobCancelled) else (1, e)
    sys.stdout.flush()
    sys.stderr.flush()
    state = ctx.finish(error, exit_code=code)
    bind_process(None)
    return 0 if state == "cancelled" else code
