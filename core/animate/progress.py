"""Progress reports of an animation run: per-stage fps and an overall ETA; cancellation checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.animate.errors import AnimationCancelled


@dataclass
class Progress:
    stage: str        # "crop", "landmarks", "render", "done"
    done: int         # frames done in this stage
    total: int        # frames expected in this stage (an estimate before the landmark pass)
    fps: float        # frames per second in this stage
    eta_s: float      # seconds left for the whole run (estimate)
    fraction: float   # overall progress in [0, 1]


ProgressFn = Callable[[Progress], None]


class Clock:
    """Per-stage fps and an overall ETA from stage weights; raises AnimationCancelled on cancel."""

    def __init__(self, progress: ProgressFn | None, cancel: threading.Event | None,
                 weights: dict[str, float] | None = None):
        self.progress = progress      # called with a Progress every few frames (None: silent)
        self.cancel = cancel          # set by the caller to stop the run at the next tick
        self.weights = weights or {"crop": 0.1, "landmarks": 0.4, "render": 0.5}  # stage -> share of run
        self.stage, self.t0, self.total = "", 0.0, 0
        self.run_t0 = time.perf_counter()
        self.done_weight = 0.0

    def start(self, stage: str, total: int) -> None:
        if self.stage:
            self.done_weight += self.weights.get(self.stage, 0.0)
        self.stage, self.t0, self.total = stage, time.perf_counter(), max(int(total), 1)

    def tick(self, done: int, every: int = 4) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise AnimationCancelled("Animation cancelled.")
        if self.progress is None or (done % every and done != self.total):
            return
        el = time.perf_counter() - self.t0
        fps = done / el if el > 0 else 0.0
        stage_frac = min(done / self.total, 1.0)
        frac = min(self.done_weight + self.weights.get(self.stage, 0.0) * stage_frac, 1.0)
        run_el = time.perf_counter() - self.run_t0
        eta = run_el * (1 - frac) / frac if frac > 1e-3 else float("nan")
        self.progress(Progress(self.stage, done, self.total, fps, eta, frac))

    def finish(self, total: int) -> None:
        if self.progress is not None:
            el = time.perf_counter() - self.t0
            self.progress(Progress("done", total, total, total / el if el > 0 else 0.0, 0.0, 1.0))
