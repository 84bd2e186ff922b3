"""Quality measures of aligned crops: blur, perceptual hashes and near-duplicate lookup."""

from __future__ import annotations

import cv2
import numpy as np


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def blur_score(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image (Pech-Pacheco et al. 2000); low means blurry."""
    return float(cv2.Laplacian(_gray(image), cv2.CV_64F).var())


def dhash(image: np.ndarray) -> int:
    """64-bit difference hash (horizontal gradients of a 9x8 grey thumbnail)."""
    small = cv2.resize(_gray(image), (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def phash(image: np.ndarray) -> int:
    """64-bit DCT perceptual hash: signs of the 8x8 low-frequency block against its median."""
    small = cv2.resize(_gray(image), (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes."""
    return int(bin(a ^ b).count("1"))


class DuplicateIndex:
    """Near-duplicate lookup of 64-bit hashes by Hamming distance (vectorised linear scan)."""

    def __init__(self, threshold: int = 6):
        self.threshold = threshold  # max differing bits for two hashes to count as the same picture
        self._hashes = np.zeros(0, dtype=np.uint64)
        self._ids: list[str] = []

    def find(self, h: int) -> str | None:
        """Id of the closest stored hash within the threshold, else None."""
        if not len(self._hashes):
            return None
        x = np.bitwise_xor(self._hashes, np.uint64(h))
        dist = np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(1)
        i = int(dist.argmin())
        return self._ids[i] if dist[i] <= self.threshold else None

    def add(self, h: int, ident: str) -> None:
        self._hashes = np.append(self._hashes, np.uint64(h))
        self._ids.append(ident)
