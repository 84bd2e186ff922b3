"""The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) for driving landmarks in time.

A first-order low-pass whose cutoff rises with the signal's speed: at rest it removes the tracker's
frame-to-frame jitter (cutoff ``min_cutoff`` Hz), while a blink or a quick turn raises the cutoff
(``beta`` x speed) so it passes with little lag. Vectorised: one filter state per array element.
"""

from __future__ import annotations

import math

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
