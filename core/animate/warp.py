"""Dense piecewise-affine warping of one image between two fixed-topology meshes (the offline engine's warp).

One exact affine per triangle of a fixed triangulation (continuous across triangle edges), evaluated
per output pixel from a rasterised triangle-index map of the *target* mesh and applied with
``cv2.remap``. Points are float32 (P, 2) pixel coordinates (x, y).

Fold-over: a 2D warp cannot show self-occlusion (a turning nose passing the far cheek), so a target
mesh whose triangles flip orientation would draw mirrored patches and tear at their edges.
:meth:`PiecewiseAffineWarper.fold_free` removes every flip before drawing (rigid local unfolding,
then damping the offending vertices towards their rest positions); :meth:`count_flips` measures it.
Outside an optional ``keep`` polygon (the face), the displacement is blended with a smoothed copy of
itself, so the hair and neck bend softly instead of creasing along the head ring's triangle edges.
"""

from __future__ import annotations

import cv2
import numpy as np

SOFT_SIGMA = 6.0          # smoothing of the displacement outside the keep polygon, in node-grid cells
SOFT_FEATHER = 3.0        # feather of the keep polygon's edge, in node-grid cells
MIN_AREA_RATIO = 0.25     # triangles squeezed below this share of their source area are relaxed too
DAMP_STEPS = 24           # halvings of the offending vertices' displacement before the global fallback


def _signed_areas(tri: np.ndarray) -> np.ndarray:
    """Twice the signed area of each (T, 3, 2) triangle (float64)."""
    t = tri.astype(np.float64)
    return ((t[:, 1, 0] - t[:, 0, 0]) * (t[:, 2, 1] - t[:, 0, 1])
            - (t[:, 1, 1] - t[:, 0, 1]) * (t[:, 2, 0] - t[:, 0, 0]))


class PiecewiseAffineWarper:
    """Dense piecewise-affine warp of one source image between fixed-topology meshes.

    Built once per source (triangulation, pixel grid); ``warp(target_points)`` renders the source
    deformed so that source point i lands on target point i. Triangles whose target is degenerate
    simply cover no pixels; pixels no target triangle covers borrow the surrounding motion.
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
        self._xs = np.ascontiguousarray(np.broadcast_to(
            np.arange(self._nw, dtype=np.float32)[None, :] * 2, (self._nh, self._nw)))
        self._ys = np.ascontiguousarray(np.broadcast_to(
            np.arange(self._nh, dtype=np.float32)[:, None] * 2, (self._nh, self._nw)))
        src_area = _signed_areas(self.source_points[self.triangles])
        self._src_sign, self._src_area = np.sign(src_area), np.abs(src_area)
        from scipy import sparse

        # Mesh adjacency (for unfolding) and the points on the image border, which never move.
        n = len(self.source_points)
        i, j = self.triangles[:, [0, 1, 2, 1, 2, 0]].ravel(), self.triangles[:, [1, 2, 0, 0, 1, 2]].ravel()
        adj = sparse.coo_matrix((np.ones(len(i), np.float32), (i, j)), shape=(n, n)).tocsr()
        adj.data[:] = 1.0  # duplicate edges (shared by two triangles) count once
        self._adjacency = adj
        self._degree = np.maximum(np.asarray(adj.sum(1)).ravel(), 1.0).astype(np.float32)
        p = self.source_points
        self._fixed = (p[:, 0] <= 0.5) | (p[:, 1] <= 0.5) | (p[:, 0] >= w - 0.5) | (p[:, 1] >= h - 0.5)
        edge = np.minimum(np.minimum(self._xs, w - self._xs), np.minimum(self._ys, h - self._ys)) / 2
        self._edge_ramp = np.clip(edge / (2 * SOFT_SIGMA), 0.0, 1.0).astype(np.float32)  # node cells
        self._ids = np.empty((self._nh, self._nw), np.int32)               # reused triangle-index map
        self._up = np.empty((2, 2 * self._nh - 1, 2 * self._nw - 1), np.float32)  # reused full maps

    # -- fold-over -----------------------------------------------------------------------------
    def flipped(self, points: np.ndarray) -> np.ndarray:
        """Boolean (T,): triangles whose orientation differs from the source's (folded over)."""
        return np.sign(_signed_areas(np.asarray(points)[self.triangles])) != self._src_sign

    def count_flips(self, points: np.ndarray) -> int:
        return int(self.flipped(points).sum())

    def squeezed(self, points: np.ndarray, ratio: float = MIN_AREA_RATIO) -> np.ndarray:
        """Boolean (T,): triangles flipped or squeezed below ``ratio`` of their source area."""
        area = _signed_areas(np.asarray(points)[self.triangles]) * self._src_sign
        return area < ratio * self._src_area

    def unfold(self, target_points: np.ndarray, iterations: int = 30) -> np.ndarray:
        """Relax folds by smoothing the displacement around flipped triangles (border points stay put).

        A head turn moves the nose and cheeks past the far face outline (self-occlusion, which a
        2D warp cannot represent). Each round, the vertices of flipped triangles and their mesh
        neighbours take the mean displacement of their neighbours (Laplacian smoothing), which
        spreads the squeeze over the neighbourhood instead of creasing it along triangle edges.
        Triangles squeezed below ``MIN_AREA_RATIO`` of their area are relaxed the same way: thinner
        than the sampling grid, they would drop out of the drawing and leave a jagged seam.
        """
        tgt = np.asarray(target_points, dtype=np.float32).copy()
        assert tgt.shape == self.source_points.shape, (tgt.shape, self.source_points.shape)
        for _ in range(iterations):
            bad = self.squeezed(tgt)
            if not bad.any():
                break
            region = np.zeros(len(tgt), bool)
            region[self.triangles[bad].ravel()] = True
            region |= (self._adjacency @ region.astype(np.float32)) > 0   # plus their neighbours
            region &= ~self._fixed
            disp = tgt - self.source_points
            mean = (self._adjacency @ disp) / self._degree[:, None]
            tgt[region] = self.source_points[region] + mean[region]
        return tgt

    def fold_free(self, target_points: np.ndarray) -> np.ndarray:
        """Target points with no flipped triangle: :meth:`unfold`, then damped, then (never seen) scaled.

        Damping halves the displacement of every vertex of a still-flipped triangle, which converges
        to the source's own (unflipped) layout locally; if anything is left after ``DAMP_STEPS``
        rounds, the whole motion is scaled down until no triangle flips (0 is the identity).
        """
        tgt = self.unfold(target_points)
        for _ in range(DAMP_STEPS):
            bad = self.flipped(tgt)
            if not bad.any():
                return tgt
            v = np.unique(self.triangles[bad])
            tgt[v] = self.source_points[v] + 0.5 * (tgt[v] - self.source_points[v])
        for scale in (0.5, 0.25, 0.125, 0.0):
            scaled = self.source_points + scale * (tgt - self.source_points)
            if not self.flipped(scaled).any():
                return scaled
        return self.source_points.copy()  # only reached with degenerate source triangles

    # -- dense maps ----------------------------------------------------------------------------
    def _affines(self, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, 2, 3) float32 target->source affines in node-grid pixels, and (T,) target signed areas."""
        t = tgt[self.triangles].astype(np.float64)                         # (T, 3, 2)
        s = self.source_points[self.triangles].astype(np.float64)
        e1, e2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        ok = np.abs(det) > 1e-6
        inv_det = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        # inverse of [e1 e2] (columns) in closed form; source edges times it is the linear part.
        inv = np.stack([np.stack([e2[:, 1], -e2[:, 0]], -1), np.stack([-e1[:, 1], e1[:, 0]], -1)], 1)
        inv *= inv_det[:, None, None]
        f = np.stack([s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]], -1)           # (T, 2, 2) columns f1 f2
        lin = f @ inv
        off = s[:, 0] - np.einsum("tij,tj->ti", lin, t[:, 0])
        return np.concatenate([lin, off[:, :, None]], 2).astype(np.float32), det

    def maps(self, target_points: np.ndarray, keep: np.ndarray | None = None,
             reuse: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(map_x, map_y) float32 HxW: for each output pixel, where to sample the source.

        ``keep``: (N, 2) pixel polygon (the face) where the warp stays exact; outside it the
        displacement is blended with a smoothed copy (soft falloff towards the fixed border).
        ``reuse``: write into the warper's own buffers (valid until the next call; :meth:`warp`).
        """
        tgt = self.fold_free(np.asarray(target_points, dtype=np.float32))
        h, w = self.source.shape[:2]
        t = tgt[self.triangles]                                            # (T, 3, 2)
        mats, det = self._affines(tgt)
        n_tri = len(t)
        mats = np.concatenate([mats, np.array([[[1, 0, 0], [0, 1, 0]]], np.float32)], 0)  # last: identity
        ids = self._ids
        ids.fill(n_tri)
        # Larger target triangles first, so thin (compressed) ones stay visible on top.
        ok = np.abs(det) > 1e-6
        order = np.argsort(-np.abs(det), kind="stable")
        pts = np.round(t * 8).astype(np.int32)              # node-grid coords (x / 2), 4 fractional bits
        for k in order[ok[order]]:
            cv2.fillConvexPoly(ids, pts[k], int(k), lineType=cv2.LINE_8, shift=4)
        m = mats[ids]                                                      # (nH, nW, 2, 3)
        xs, ys = self._xs, self._ys
        node_x = m[..., 0, 0] * xs + m[..., 0, 1] * ys + m[..., 0, 2]
        node_y = m[..., 1, 0] * xs + m[..., 1, 1] * ys + m[..., 1, 2]
        holes = ids == n_tri
        if holes.any():  # left by degenerate triangles: borrow the surrounding motion
            node_x, node_y = _fill_holes(node_x, holes), _fill_holes(node_y, holes)
        if keep is not None:
            node_x, node_y = self._soften(node_x, node_y, np.asarray(keep, np.float32))
        bufs = self._up if reuse else (None, None)
        return _midpoint_upsample(node_x, h, w, bufs[0]), _midpoint_upsample(node_y, h, w, bufs[1])

    def _soften(self, node_x: np.ndarray, node_y: np.ndarray, keep: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        mask = np.zeros((self._nh, self._nw), np.float32)
        cv2.fillPoly(mask, [np.round(keep * 8).astype(np.int32)], 1.0, lineType=cv2.LINE_8, shift=4)
        mask = cv2.GaussianBlur(mask, (0, 0), SOFT_FEATHER)
        dx, dy = node_x - self._xs, node_y - self._ys
        # The smoothed copy fades to zero at the image border, which stays anchored.
        sx = cv2.GaussianBlur(dx, (0, 0), SOFT_SIGMA, borderType=cv2.BORDER_CONSTANT) * self._edge_ramp
        sy = cv2.GaussianBlur(dy, (0, 0), SOFT_SIGMA, borderType=cv2.BORDER_CONSTANT) * self._edge_ramp
        return (self._xs + sx + mask * (dx - sx), self._ys + sy + mask * (dy - sy))

    def warp(self, target_points: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        map_x, map_y = self.maps(target_points, keep, reuse=True)
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


def _midpoint_upsample(nodes: np.ndarray, h: int, w: int, out: np.ndarray | None = None) -> np.ndarray:
    """Values at even pixels from ``nodes``; odd pixels are the mean of their neighbouring nodes."""
    nh, nw = nodes.shape
    if out is None:
        out = np.empty((2 * nh - 1, 2 * nw - 1), np.float32)
    out[0::2, 0::2] = nodes
    np.add(nodes[:, :-1], nodes[:, 1:], out=out[0::2, 1::2])
    out[0::2, 1::2] *= 0.5
    np.add(out[0:-1:2, :], out[2::2, :], out=out[1::2, :])
    out[1::2, :] *= 0.5
    return out[:h, :w]


def triangulate(points: np.ndarray) -> np.ndarray:
    from scipy.spatial import Delaunay

    return Delaunay(points.astype(np.float64)).simplices.astype(np.int32)
