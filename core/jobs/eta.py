"""Time-left estimates from the recent rate of progress.

The overall average (elapsed / done * left) is misleading for the jobs here: scans speed up once the
detector is warm, training slows when snapshots are written, animation stages run at different speeds.
The rate over a sliding window follows such changes while averaging out per-item jitter, and no estimate
is given until enough history exists for it to mean something (a first item that took 5 s because of
model loading must not promise "2 hours left").
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class EtaEstimator:
    window_s: float = 30.0      # the rate is measured over the last window_s seconds of progress
    min_span_s: float = 1.0     # less history than this is noise: no estimate yet
    min_advance: int = 2        # ... and so is fewer than this many units done within the window
    merge_s: float = 0.05       # samples closer than this are merged, bounding memory for chatty callers
    # > 0: the windowed rate is smoothed further with this time constant before it becomes the estimate,
    # so a presenter sees a steady "time left" on a CPU shared with other work (a run that slowed for
    # half a minute while the page redrew must not jump from 40 min to 1 h 50 and back).
    smooth_s: float = 0.0
    _samples: deque[tuple[float, float]] = field(default_factory=deque, repr=False)
    _total: float | None = field(default=None, repr=False)
    _rate: float | None = field(default=None, repr=False)
    _rate_at: float = field(default=0.0, repr=False)

    def reset(self) -> None:
        self._samples.clear()
        self._rate = None

    def update(self, done: float, total: float | None, now: float | None = None) -> float | None:
        """Record that ``done`` of ``total`` units are finished at ``now``; return seconds left or None."""
        now = time.monotonic() if now is None else now
        if total is None or total <= 0:
            self._total = total
            self.reset()
            return None
        if total != self._total or (self._samples and done < self._samples[-1][1]):
            self.reset()  # a new stage or a restart: the old rate says nothing about it
            self._total = total
        if self._samples and now - self._samples[-1][0] < self.merge_s and len(self._samples) > 1:
            self._samples[-1] = (now, done)
        else:
            self._samples.append((now, done))
        while len(self._samples) > 2 and self._samples[1][0] <= now - self.window_s:
            self._samples.popleft()
        if done >= total:
            return 0.0
        t0, d0 = self._samples[0]
        span, advance = now - t0, done - d0
        if span < self.min_span_s or advance < self.min_advance:
            return None
        rate = advance / span
        if self.smooth_s > 0:
            if self._rate is None:
                self._rate = rate
            else:
                keep = math.exp(-max(now - self._rate_at, 0.0) / self.smooth_s)
                self._rate = keep * self._rate + (1.0 - keep) * rate
            self._rate_at = now
            rate = self._rate
        return (total - done) / rate


def spoken_time_left(seconds: float | None) -> str:
    """Time left rounded as a person says it ("under a minute", "7 min", "45 min", "1 h 50 min"): below
    10 minutes to the minute, above to 5 minutes, so a steady estimate also reads steady."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 60:
        return "under a minute"
    minutes = int(round(seconds / 60))
    if minutes >= 10:
        minutes = 5 * round(minutes / 5)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
