"""Dense piecewise-affine warping of one image between two fixed-topology meshes (the offline engine's warp).

One exact affine per triangle of a fixed triangulation (continuous across triangle edges), evaluated
per output pixel from a rasterised triangle-index map of the *target* mesh and applied with
``cv2.remap``. Points are float32 (P, 2) pixel coordinates (x, y).
"""

from __future__ import annotations

import cv2
import numpy as np


class PiecewiseAffineWarper:
    """Dense piecewise-affine warp of one source image between fixed-topology meshes.

    Built once per source (triangulation, pixel grid); ``warp(target_points)`` renders the source
    deformed so that source point i lands on target point i. Triangles whose target is degenerate
    simply cover no pixels; pixels no target triangle covers keep the identity mapping.
    """

    def __init__(self, source: np.ndarray, source_points: np.ndarray, triangles: np.ndarray):
        assert source.ndim == 3 and source.dtype == np.uint8, source.shape
        assert triangles.ndim == 2 and triangles.shape[1] == 3, triangles.shape
        self.source = np.ascontiguousarray(source)
        self.source_points = np.asarray(source_points, dtype=np.float32)  # (P, 2) pixels
        self.triangles = np.asarray(triangles, dtype=np.int32)             # (T, 3) point indices
        h, w = source.shape[:2]
        # The maps are evaluated on a node grid of every second pixel (one extra node past the edge)
        # and filled in by exact midpoint interpolation: the warp is piecewise linear, so this is
        # exact inside triangles and costs a quarter of the per-pixel work.
        self._nh, self._nw = h // 2 + 1, w // 2 + 1
        self._xs = np.broadcast_to(np.arange(self._nw, dtype=np.float32)[None, :] * 2, (self._nh, self._nw))
        self._ys = np.broadcast_to(np.arange(self._nh, dtype=np.float32)[:, None] * 2, (self._nh, self._nw))
        # Source triangle vertices as homogeneous 3x3 matrices (columns = vertices).
        s = self.source_points[self.triangles]                             # (T, 3, 2)
        self._src_cols = np.concatenate([s.transpose(0, 2, 1), np.ones((len(s), 1, 3), np.float32)], 1)
        self._src_sign = np.sign(np.linalg.det(self._src_cols.astype(np.float64)))

    def _orientation(self, pts: np.ndarray) -> np.ndarray:
        t = pts[self.triangles].astype(np.float64)
        return np.sign((t[:, 1, 0] - t[:, 0, 0]) * (t[:, 2, 1] - t[:, 0, 1])
                       - (t[:, 1, 1] - t[:, 0, 1]) * (t[:, 2, 0] - t[:, 0, 0]))

    def unfold(self, target_points: np.ndarray, iterations: int = 12) -> np.ndarray:
        """Relax folds: vertices of flipped triangles take their triangle's mean displacement.

        A head turn moves the nose and cheeks past the far face outline (self-occlusion, which a
        2D warp cannot represent); moving those vertices rigidly together removes the fold locally.
        """
        tgt = np.asarray(target_points, dtype=np.float32).copy()
        assert tgt.shape == self.source_points.shape, (tgt.shape, self.source_points.shape)
        src_sign = self._orientation(self.source_points)
        for _ in range(iterations):
            bad = np.nonzero(self._orientation(tgt) != src_sign)[0]
            if not len(bad):
                break
            disp = tgt - self.source_points
            for k in bad:
                v = self.triangles[k]
                tgt[v] = self.source_points[v] + disp[v].mean(0)
        return tgt

    def maps(self, target_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(map_x, map_y) float32 HxW: for each output pixel, where to sample the source."""
        tgt = self.unfold(np.asarray(target_points, dtype=np.float32))
        h, w = self.source.shape[:2]
        t = tgt[self.triangles]                                            # (T, 3, 2)
        tgt_cols = np.concatenate([t.transpose(0, 2, 1), np.ones((len(t), 1, 3), np.float32)], 1)
        det = np.linalg.det(tgt_cols.astype(np.float64))
        # Triangles still folded over after unfold() are not drawn: the hole filling below gives
        # their pixels the surrounding motion, which looks better than a mirrored patch.
        flipped = np.sign(det) != self._src_sign
        ok = (np.abs(det) > 1e-6) & ~flipped
        inv = np.zeros_like(tgt_cols)
        inv[ok] = np.linalg.inv(tgt_cols[ok])
        mats = np.einsum("tij,tjk->tik", self._src_cols, inv)[:, :2, :]     # (T, 2, 3)
        identity = np.array([[[1, 0, 0], [0, 1, 0]]], dtype=np.float32)
        mats = np.concatenate([mats.astype(np.float32), identity], 0)      # last = uncovered pixels
        ids = np.full((self._nh, self._nw), len(t), dtype=np.int32)
        # Then larger target triangles first, so thin (compressed) ones stay visible on top.
        order = np.lexsort((-np.abs(det), ~flipped))
        pts = np.round(t * 8).astype(np.int32)              # node-grid coords (x / 2), 4 fractional bits
        for k in order[ok[order]]:
            cv2.fillConvexPoly(ids, pts[k], int(k), lineType=cv2.LINE_8, shift=4)
        m = mats[ids]                                                      # (nH, nW, 2, 3)
        node_x = m[..., 0, 0] * self._xs + m[..., 0, 1] * self._ys + m[..., 0, 2]
        node_y = m[..., 1, 0] * self._xs + m[..., 1, 1] * self._ys + m[..., 1, 2]
        holes = ids == len(t)
        if holes.any():  # left by degenerate or folded triangles: borrow the surrounding motion
            node_x, node_y = _fill_holes(node_x, holes), _fill_holes(node_y, holes)
        return _midpoint_upsample(node_x, h, w), _midpoint_upsample(node_y, h, w)

    def warp(self, target_points: np.ndarray) -> np.ndarray:
        map_x, map_y = self.maps(target_points)
        return cv2.remap(self.source, map_x, map_y, interpolation=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)


def _fill_holes(values: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Replace values at ``holes`` by a normalised-convolution average of the valid neighbours."""
    valid = (~holes).astype(np.float32)
    out = values.astype(np.float32).copy()
    for sigma in (1.5, 4.0, 12.0):
        num = cv2.GaussianBlur(out * valid, (0, 0), sigma)
        den = cv2.GaussianBlur(valid, (0, 0), sigma)
        fill = holes & (den > 1e-3)
        out[fill] = num[fill] / den[fill]
        valid = np.maximum(valid, fill.astype(np.float32))
        holes = holes & ~fill
        if not holes.any():
            break
    return out


def _midpoint_upsample(nodes: np.ndarray, h: int, w: int) -> np.ndarray:
    """Values at even pixels from ``nodes``; odd pixels are the mean of their neighbouring nodes."""
    nh, nw = nodes.shape
    out = np.empty((2 * nh - 1, 2 * nw - 1), np.float32)
    out[0::2, 0::2] = nodes
    out[0::2, 1::2] = 0.5 * (nodes[:, :-1] + nodes[:, 1:])
    out[1::2, :] = 0.5 * (out[0:-1:2, :] + out[2::2, :])
    return out[:h, :w]


def triangulate(points: np.ndarray) -> np.ndarray:
    from scipy.spatial import Delaunay

    return Delaunay(points.astype(np.float64)).simplices.astype(np.int32)

