"""The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) for driving landmarks in time.

A first-order low-pass whose cutoff rises with the signal's speed: at rest it removes the tracker's
frame-to-frame jitter (cutoff ``min_cutoff`` Hz), while a blink or a quick turn raises the cutoff
(``beta`` x speed) so it passes with little lag. Vectorised: one filter state per array element.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """``filt(x, dt)`` -> filtered x (any float array shape, fixed across calls).

    ``min_cutoff`` (Hz): smoothing at rest (lower: smoother); ``beta`` (per unit of speed, x's units
    per second): how fast the cutoff rises with speed (higher: less lag); ``d_cutoff`` (Hz): the
    low-pass on the speed estimate.
    """

    def __init__(self, min_cutoff: float | np.ndarray = 1.0, beta: float | np.ndarray = 0.0,
                 d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def reset(self) -> None:
        self._x = self._dx = None

    def __call__(self, x: np.ndarray, dt: float) -> np.ndarray:
        x = np.asarray(x, np.float64)
        assert dt > 0, dt
        if self._x is None:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            return x.copy()
        dx = (x - self._x) / dt
        self._dx = self._dx + _alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt) * (x - self._x)
        return self._x.copy()


class LookAheadOneEuro:
    """A One-Euro filter without its lag, for offline work where the next frames are known.

    ``push(x, dt)`` takes one frame and returns the smoothed frames that became ready (one per push
    once ``lag`` frames are buffered, none before); ``flush(dt)`` returns the rest at the end. Each
    output averages the causal One-Euro filter (which trails the signal) with the same filter run
    backwards from ``lag`` frames ahead (which leads it): the delays cancel to first order, like a
    forward-backward (zero-phase) filter over a window, while at rest both smooth as much as one.
    The first ``lag`` outputs ease in from the causal filter's (the first output is the first input).
    Memory: ``lag`` frames.
    """

    def __init__(self, min_cutoff: float | np.ndarray = 1.0, beta: float | np.ndarray = 0.0,
                 d_cutoff: float = 1.0, lag: int = 4):
        assert lag >= 0, lag
        self._params = (min_cutoff, beta, d_cutoff)
        self.lag = lag
        self._forward = OneEuroFilter(*self._params)
        self._raw: deque[np.ndarray] = deque()
        self._causal: deque[np.ndarray] = deque()
        self._emitted = 0

    def push(self, x: np.ndarray, dt: float) -> list[np.ndarray]:
        x = np.asarray(x, np.float64)
        self._raw.append(x)
        self._causal.append(self._forward(x, dt))
        return [self._emit(dt)] if len(self._raw) > self.lag else []

    def flush(self, dt: float) -> list[np.ndarray]:
        return [self._emit(dt) for _ in range(len(self._raw))]

    def _emit(self, dt: float) -> np.ndarray:
        backward = OneEuroFilter(*self._params)
        for x in reversed(self._raw):
            lead = backward(x, dt)
        self._raw.popleft()
        # The first frames ease in from the causal filter's (the first output is the first input, as
        # the causal filter's is: an unmoved driver leaves the source exactly as it was).
        share = 0.5 * min(1.0, self._emitted / max(self.lag, 1))
        self._emitted += 1
        causal = self._causal.popleft()
        return causal + share * (lead - causal)
