"""A face scan running in a background thread, so it survives the page's reruns.

Kept apart from the scan loop because background work is moving onto the shared job layer
(:mod:`core.jobs`); until then this class is what the dataset explorer polls.
"""

from __future__ import annotations

import os
import threading
import time

from core.faces.records import ImageRecord, ScanConfig
from core.faces.scan import ScanResult, Source, scan_files


class ScanCancelled(Exception):
    """Raised inside a background scan when the user cancels it."""


class ScanJob:
    """A scan running in a daemon thread, so it survives UI reruns while a registry holds the job.

    Poll ``done``/``total``/``finished``; read ``result`` or ``error`` when finished.
    """

    def __init__(self, files: list[Source], cfg: ScanConfig, cache_dir: str | os.PathLike | None = None,
                 keep_crops: bool = True):
        self.total = len(files)  # images to scan
        self.done = 0            # images scanned so far
        self.result: ScanResult | None = None
        self.error: str | None = None
        self.started = time.time()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(files, cfg, cache_dir, keep_crops),
                                        daemon=True, name="face-scan")
        self._thread.start()

    def _run(self, files, cfg, cache_dir, keep_crops) -> None:
        try:
            self.result = scan_files(files, cfg, progress=self._progress, keep_crops=keep_crops,
                                     cache_dir=cache_dir)
        except ScanCancelled:
            self.error = "cancelled"
        except Exception as e:  # noqa: BLE001 - reported to the UI instead of dying silently in the thread
            self.error = f"{type(e).__name__}: {e}"

    def _progress(self, i: int, n: int, rec: ImageRecord) -> None:
        self.done = i
        if self._cancel.is_set():
            raise ScanCancelled

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    def eta_seconds(self) -> float | None:
        if not self.done:
            return None
        el = time.time() - self.started
        return el / self.done * (self.total - self.done)

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.finished
