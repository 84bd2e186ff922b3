"""A face scan as a thread job of :mod:`core.jobs`, so it survives the page's reruns.

The job layer owns the thread, the manifest (``RUN_DIR/job.json``: progress in images, ETA, state,
one-line error, the summary as result) and cancellation; this module only adapts the scan loop to it.
The in-memory :class:`~core.faces.scan.ScanResult` (with its crops) is handed back to the server
process through the job handle: ``jobs.get_thread_job(run_dir).result``.
"""

from __future__ import annotations

import os

from core import jobs
from core.faces.export import display_name
from core.faces.records import ImageRecord, ScanConfig
from core.faces.scan import ScanResult, Source, scan_files

JOB_KIND = "face-scan"


class ScanCancelled(jobs.JobCancelled):
    """Raised inside a background scan when the user cancels it (recorded as "cancelled")."""


def start_scan_job(run_dir: str | os.PathLike, files: list[Source], cfg: ScanConfig,
                   cache_dir: str | os.PathLike | None = None,
                   keep_crops: bool = True) -> jobs.ThreadJob[ScanResult]:
    """Scan ``files`` in a thread job of ``run_dir``; the summary lands in the manifest's result.

    Raises :class:`core.jobs.JobBusyError` if the folder's previous job is still running.
    """
    cfg.validate()  # a bad configuration is the caller's error, not a failed job
    total = len(files)

    def work(ctx: jobs.JobContext) -> ScanResult:
        ctx.progress(0, total, "starting", unit="images")

        def on_progress(i: int, n: int, rec: ImageRecord) -> None:
            ctx.progress(i, n, display_name(rec.file), unit="images")
            if ctx.cancelled():
                raise ScanCancelled("cancelled")

        return scan_files(files, cfg, progress=on_progress, keep_crops=keep_crops, cache_dir=cache_dir)

    return jobs.start_thread_job(run_dir, work, kind=JOB_KIND, summarize=ScanResult.summary)
