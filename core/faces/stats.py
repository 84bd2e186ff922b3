"""Statistics over aligned face crops for the dataset explorer: intensities, eigenfaces, 2-D maps.

Eigenfaces follow Turk & Pentland, "Eigenfaces for Recognition" (J. Cognitive Neuroscience, 1991):
principal components of the mean-subtracted, flattened crops.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np


def _stack(crops: list[np.ndarray] | np.ndarray) -> np.ndarray:
    arr = np.asarray(crops)
    assert arr.ndim == 4 and arr.shape[-1] == 3 and arr.dtype == np.uint8, \
        f"expected uint8 (N, H, W, 3) crops, got {arr.dtype} {arr.shape}"
    return arr


def channel_histograms(crops: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """(3, 256) int64 pixel counts per RGB channel over all crops."""
    arr = _stack(crops)
    return np.stack([np.bincount(arr[..., c].ravel(), minlength=256) for c in range(3)])


def brightness_contrast(crops: list[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-crop mean luma (brightness) and luma standard deviation (RMS contrast), each (N,)."""
    arr = _stack(crops).astype(np.float32)
    luma = arr @ np.array([0.299, 0.587, 0.114], np.float32)
    flat = luma.reshape(len(arr), -1)
    return flat.mean(1), flat.std(1)


def mean_face(crops: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """Pixel-wise mean crop as uint8 HxWx3."""
    return _stack(crops).mean(0).round().astype(np.uint8)


def eigenfaces(crops: list[np.ndarray] | np.ndarray, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` principal components as viewable uint8 images (k, H, W, 3) and explained-variance ratios.

    Each component is min-max scaled on its own for display (its sign is arbitrary).
    """
    arr = _stack(crops)
    n, h, w, _ = arr.shape
    x = arr.reshape(n, -1).astype(np.float32) / 255.0
    x -= x.mean(0)
    # Gram-matrix trick: the SVD of an (n, n) matrix instead of (d, d) when n << d.
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    k = min(k, len(s))
    var = s ** 2
    ratio = var[:k] / max(var.sum(), 1e-12)
    comps = vt[:k]
    lo, hi = comps.min(1, keepdims=True), comps.max(1, keepdims=True)
    imgs = ((comps - lo) / np.maximum(hi - lo, 1e-12) * 255).round().astype(np.uint8).reshape(k, h, w, 3)
    return imgs, ratio.astype(np.float32)


def pca_2d(crops: list[np.ndarray] | np.ndarray, side: int = 32) -> np.ndarray:
    """(N, 2) float32 coordinates of the crops on their first two principal components."""
    arr = _stack(crops)
    if arr.shape[1] != side:
        import cv2

        arr = np.stack([cv2.resize(c, (side, side), interpolation=cv2.INTER_AREA) for c in arr])
    x = arr.reshape(len(arr), -1).astype(np.float32) / 255.0
    x -= x.mean(0)
    if len(x) < 2:
        return np.zeros((len(x), 2), np.float32)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    out = u[:, :2] * s[:2]
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out.astype(np.float32)


_STOP = {"and", "of", "the", "at", "in", "for", "a", "an", "&", "to", "with"}


def occupation_counts(occupations: Iterable[str]) -> tuple[Counter, Counter]:
    """(whole occupation -> count, word -> count) with case folded and filler words dropped."""
    whole, words = Counter(), Counter()
    for occ in occupations:
        occ = (occ or "").strip().lower()
        if not occ:
            continue
        whole[occ] += 1
        for wd in re.findall(r"[a-z][a-z+#.-]*", occ):
            if wd not in _STOP:
                words[wd] += 1
    return whole, words


def _pca_features(crops: np.ndarray, dims: int, side: int = 32) -> np.ndarray:
    arr = _stack(crops)
    if arr.shape[1] != side:
        import cv2

        arr = np.stack([cv2.resize(c, (side, side), interpolation=cv2.INTER_AREA) for c in arr])
    x = arr.reshape(len(arr), -1).astype(np.float64) / 255.0
    x -= x.mean(0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    return u[:, :dims] * s[:dims]


def _affinities(x: np.ndarray, perplexity: float) -> np.ndarray:
    """Symmetric t-SNE input affinities P, each row's Gaussian width found by bisection on perplexity."""
    n = len(x)
    sq = (x ** 2).sum(1)
    d = np.maximum(sq[:, None] + sq[None] - 2 * x @ x.T, 0)
    p = np.zeros((n, n))
    target = np.log(perplexity)
    for i in range(n):
        di = np.delete(d[i], i)
        lo, hi, beta = 0.0, np.inf, 1.0
        for _ in range(50):
            w = np.exp(-(di - di.min()) * beta)
            sw = w.sum()
            h = np.log(sw) + beta * (di - di.min()) @ w / sw
            if abs(h - target) < 1e-4:
                break
            if h > target:
                lo, beta = beta, beta * 2 if hi == np.inf else (beta + hi) / 2
            else:
                hi, beta = beta, (beta + lo) / 2
        p[i, np.arange(n) != i] = w / sw
    p = (p + p.T) / (2 * n)
    return np.maximum(p, 1e-12)


def tsne_2d(crops: list[np.ndarray] | np.ndarray, perplexity: float = 20.0, iterations: int = 400,
            seed: int = 0) -> np.ndarray:
    """(N, 2) float32 t-SNE map (van der Maaten & Hinton, JMLR 2008) of the crops; exact O(N^2).

    Features are the top 30 principal components; the map starts from the 2-D PCA layout (scaled
    small) so it is deterministic for a given seed. Meant for up to ~1,500 crops.
    """
    x = _pca_features(np.asarray(crops), 30)
    n = len(x)
    if n < 4:
        return np.zeros((n, 2), np.float32)
    perplexity = min(perplexity, (n - 1) / 3)
    p = _affinities(x, perplexity)
    rng = np.random.default_rng(seed)
    # scikit-learn's "auto" learning rate (Belkina et al. 2019): a fixed 200 made small maps diverge
    # (40 points flew apart to a spread of ~300 with 2 BLAS threads and converged with 1).
    learning_rate = max(n / 12.0 / 4.0, 50.0)
    y = x[:, :2] / (np.abs(x[:, :2]).max() + 1e-12) * 1e-2 + rng.normal(0, 1e-5, (n, 2))
    vel = np.zeros_like(y)
    gains = np.ones_like(y)
    for it in range(iterations):
        exaggeration = 12.0 if it < 100 else 1.0
        sq = (y ** 2).sum(1)
        num = 1.0 / (1.0 + np.maximum(sq[:, None] + sq[None] - 2 * y @ y.T, 0))
        np.fill_diagonal(num, 0)
        q = np.maximum(num / num.sum(), 1e-12)
        pq = (exaggeration * p - q) * num
        grad = 4 * (np.diag(pq.sum(1)) - pq) @ y
        gains = np.where(np.sign(grad) != np.sign(vel), gains + 0.2, gains * 0.8).clip(0.01)
        momentum = 0.5 if it < 250 else 0.8
        vel = momentum * vel - learning_rate * gains * grad
        y = y + vel
        y -= y.mean(0)
    return y.astype(np.float32)
