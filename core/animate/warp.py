"""A smooth, one-to-one dense deformation of one image (the offline engine's warp).

The field is a polyharmonic spline (the r^3 kernel, a cousin of the thin-plate spline: both minimise
a bending energy, r^3 needs a square root where the thin-plate kernel needs a logarithm, which is
~4x cheaper on the CPU) fitted per frame from the *target* control points to the *source* ones, so it
is directly the backward map ``cv2.remap`` wants: for every output pixel, where to sample the source.
It is evaluated on a rectilinear node grid (fine over the face, coarse around it) and spread to
every pixel by bilinear interpolation of the nodes (one ``cv2.remap`` of the node arrays).

One-to-one: the bilinear interpolant of a node grid has, inside each cell, a Jacobian determinant
that is affine in the cell coordinates, so it is positive everywhere if it is positive at the four
corners. :meth:`SmoothWarper.fold_free` checks exactly that and, while any cell folds (a nose
pushed past the far cheek, lips forced across each other), pulls the control points near the folded
cells back towards a fold-free rest pose (the source moved rigidly with the head), then the whole
motion, until no cell folds. With the image border anchored, a map whose Jacobian is positive
everywhere is a bijection of the frame: no output pixel comes from a folded or torn region.

Points are float32 (P, 2) pixel coordinates (x, y).
"""

from __future__ import annotations

import cv2
import numpy as np

FINE_STEP = 5.0         # node spacing over the face, pixels
COARSE_STEP = 16.0      # node spacing elsewhere, pixels
SMOOTHING = 1e-6        # spline regularisation (normalised units): near-coincident points stay solvable
LOCAL_FIXES = 6         # rounds of local damping before the whole motion is damped
GLOBAL_FIXES = 6
FIX_RADIUS = 0.08       # control points this near a folded cell (fraction of the image) are damped
MIN_DET = 1e-3          # a cell corner's Jacobian determinant must exceed this (1 = identity)


def _axis_nodes(n: int, lo: float, hi: float) -> np.ndarray:
    """Node coordinates 0..n-1: FINE_STEP apart inside [lo, hi], about COARSE_STEP apart outside."""
    lo, hi = float(np.clip(lo, 0, n - 1)), float(np.clip(hi, 0, n - 1))
    fine = np.linspace(lo, hi, max(2, int(np.ceil((hi - lo) / FINE_STEP)) + 1))
    left = np.linspace(0.0, lo, max(1, int(np.ceil(lo / COARSE_STEP))) + 1)[:-1] if lo > 0.5 else []
    right = np.linspace(hi, n - 1, max(1, int(np.ceil((n - 1 - hi) / COARSE_STEP))) + 1)[1:] \
        if hi < n - 1.5 else []
    return np.unique(np.concatenate([left, fine, right]).astype(np.float32))


def _lerp_lower(nodes: np.ndarray, n: int) -> np.ndarray:
    """(n,) index of the node at or before each pixel 0..n-1 (the last interval holds the last pixel)."""
    px = np.arange(n, dtype=np.float64)
    return np.clip(np.searchsorted(nodes, px, side="right") - 1, 0, len(nodes) - 2)


def _lerp_matrix(nodes: np.ndarray, n: int) -> np.ndarray:
    """(n, len(nodes)) float32: row p holds the linear-interpolation weights of pixel p between nodes."""
    px = np.arange(n, dtype=np.float64)
    lower = _lerp_lower(nodes, n)
    weight = (px - nodes[lower]) / (nodes[lower + 1] - nodes[lower])
    out = np.zeros((n, len(nodes)), np.float32)
    out[np.arange(n), lower] = 1.0 - weight
    out[np.arange(n), lower + 1] += weight
    return out


def _kernel(r2: np.ndarray) -> np.ndarray:
    return r2 * np.sqrt(r2)


class SmoothWarper:
    """Backward spline warp of one source image; the control points' layout is fixed per source.

    ``focus``: (x0, y0, x1, y1) pixel box (the face and its surroundings) where the node grid is fine.
    ``anchored``: (P,) bool, control points that never move (the image border).
    """

    def __init__(self, source: np.ndarray, source_points: np.ndarray,
                 focus: tuple[float, float, float, float], anchored: np.ndarray | None = None):
        assert source.ndim == 3 and source.dtype == np.uint8, source.shape
        self.source = np.ascontiguousarray(source)
        self.source_points = np.asarray(source_points, dtype=np.float32)
        h, w = source.shape[:2]
        self.size = float(max(h, w))
        self.node_x = _axis_nodes(w, focus[0], focus[2])
        self.node_y = _axis_nodes(h, focus[1], focus[3])
        # Pixel -> (lower node, weight of the upper node) per axis: exact separable bilinear spreading
        # (cv2.remap would quantise the weights to 1/32, visible as a half-pixel wobble on 16 px cells).
        self._spread_x = _lerp_matrix(self.node_x, w)       # (W, nW)
        self._spread_y = _lerp_matrix(self.node_y, h)       # (H, nH)
        self._gx = self.node_x / self.size
        self._gy = self.node_y / self.size
        n = len(self.source_points)
        self.anchored = np.zeros(n, bool) if anchored is None else np.asarray(anchored, bool)
        self.last_fixes = 0      # damping rounds the last fold_free needed (0: the motion was fold-free)
        self.last_damping = np.ones(n, np.float32)   # the share of the motion it kept, per point
        self._r2: np.ndarray | None = None   # node_map's kernel buffers, reused from frame to frame
        self._r3: np.ndarray | None = None
        # dense(): each pixel row's lower node row and its two weights, taken from _spread_y.
        lower_y, rows = _lerp_lower(self.node_y, h), np.arange(h)
        self._rows_y = (lower_y, self._spread_y[rows, lower_y][:, None].copy(),
                        self._spread_y[rows, lower_y + 1][:, None].copy())

    # -- the field ------------------------------------------------------------------------------
    def node_map(self, target_points: np.ndarray) -> np.ndarray:
        """(nH, nW, 2) float32: source pixel sampled at every node, from the spline through the points."""
        c = np.asarray(target_points, np.float64) / self.size
        s = self.source_points.astype(np.float64) / self.size
        n = len(c)
        # Differences per axis, not ``((c[:, None] - c[None]) ** 2).sum(-1)``: numpy's reduction over a
        # last axis of length 2 is ~10x slower than the two products (it was a third of the frame).
        dx, dy = c[:, 0, None] - c[None, :, 0], c[:, 1, None] - c[None, :, 1]
        d2 = dx * dx + dy * dy
        a = np.zeros((n + 3, n + 3))
        a[:n, :n] = _kernel(d2)
        a[np.arange(n), np.arange(n)] += SMOOTHING
        a[:n, n] = 1.0
        a[:n, n + 1:] = c
        a[n, :n] = 1.0
        a[n + 1:, :n] = c.T
        rhs = np.zeros((n + 3, 2))
        rhs[:n] = s - c                      # displacement target -> source
        coef = np.linalg.solve(a, rhs).astype(np.float32)
        cf = c.astype(np.float32)
        nh, nw = len(self._gy), len(self._gx)
        # The (nH, nW, n) kernel values go into buffers kept from call to call: fresh arrays of this size
        # (1.5 MB) cost more in page faults than the arithmetic.
        if self._r2 is None or self._r2.shape[2] != n:
            self._r2, self._r3 = np.empty((nh, nw, n), np.float32), np.empty((nh, nw, n), np.float32)
        ax = self._gx[:, None] - cf[None, :, 0]
        ax *= ax                                                  # (nW, n)
        ay = self._gy[:, None] - cf[None, :, 1]
        ay *= ay                                                  # (nH, n)
        r2, r3 = self._r2, self._r3
        np.add(ay[:, None, :], ax[None, :, :], out=r2)
        np.sqrt(r2, out=r3)
        np.multiply(r3, r2, out=r3)                               # r^3
        disp = r3.reshape(-1, n) @ coef[:n]
        gx = np.broadcast_to(self._gx[None, :], (nh, nw)).ravel()
        gy = np.broadcast_to(self._gy[:, None], (nh, nw)).ravel()
        disp += coef[n] + gx[:, None] * coef[n + 1] + gy[:, None] * coef[n + 2]
        out = np.empty((nh, nw, 2), np.float32)
        out[..., 0] = self.node_x[None, :] + disp[:, 0].reshape(nh, nw) * self.size
        out[..., 1] = self.node_y[:, None] + disp[:, 1].reshape(nh, nw) * self.size
        return out

    def jacobian_dets(self, nodes: np.ndarray) -> np.ndarray:
        """(nH-1, nW-1, 4) Jacobian determinants of the map at each cell's four corners (1 = identity)."""
        ex_top, ex_bot = nodes[:-1, 1:] - nodes[:-1, :-1], nodes[1:, 1:] - nodes[1:, :-1]
        ey_left, ey_right = nodes[1:, :-1] - nodes[:-1, :-1], nodes[1:, 1:] - nodes[:-1, 1:]
        dx = np.diff(self.node_x)[None, :]
        dy = np.diff(self.node_y)[:, None]

        def cross(a, b):
            return (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]) / (dx * dy)

        return np.stack([cross(ex_top, ey_left), cross(ex_top, ey_right),
                         cross(ex_bot, ey_left), cross(ex_bot, ey_right)], -1)

    def folded_cells(self, nodes: np.ndarray) -> np.ndarray:
        """(nH-1, nW-1) bool: cells where the map folds (or nearly collapses) somewhere."""
        return self.jacobian_dets(nodes).min(-1) <= MIN_DET

    def fold_free(self, target_points: np.ndarray, rest_points: np.ndarray | None = None,
                  damping: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(target points, node map) with no folded cell, the motion damped only where it folds.

        ``rest_points``: a fold-free pose to damp towards (default: the source points, the identity).
        ``damping``: (P,) share of each point's motion away from the rest pose to start from (1: all of
        it); what was finally used is left in ``last_damping``, so a caller can carry it from frame to
        frame and the damping does not flicker on and off.
        """
        target = np.asarray(target_points, np.float32)
        rest = self.source_points if rest_points is None else np.asarray(rest_points, np.float32)
        share = np.ones(len(target), np.float32) if damping is None \
            else np.asarray(damping, np.float32).copy()
        cx = (self.node_x[:-1] + self.node_x[1:]) / 2
        cy = (self.node_y[:-1] + self.node_y[1:]) / 2
        for attempt in range(LOCAL_FIXES + GLOBAL_FIXES + 1):
            tgt = rest + share[:, None] * (target - rest)
            nodes = self.node_map(tgt)
            bad = self.folded_cells(nodes)
            if not bad.any():
                self.last_fixes, self.last_damping = attempt, share
                return tgt, nodes
            if attempt < LOCAL_FIXES:
                iy, ix = np.nonzero(bad)
                where = np.stack([cx[ix], cy[iy]], 1)
                # Near a folded cell in the output (where the target points are).
                dx, dy = tgt[:, 0, None] - where[None, :, 0], tgt[:, 1, None] - where[None, :, 1]
                d_t = np.sqrt((dx * dx + dy * dy).min(1))
                # The reach grows each round: a fold can be pushed from afar (a nose on a turn).
                near = (d_t < FIX_RADIUS * (1 + attempt) * self.size) & ~self.anchored
                share[near if near.any() else ~self.anchored] *= 0.5
            elif attempt < LOCAL_FIXES + GLOBAL_FIXES - 1:
                share *= 0.5
            else:
                rest = self.source_points   # the identity: never folds
                share[:] = 0.0
        self.last_fixes, self.last_damping = LOCAL_FIXES + GLOBAL_FIXES, share
        tgt = rest + share[:, None] * (target - rest)
        return tgt, self.node_map(tgt)

    def dense(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(map_x, map_y) float32 HxW from a node map (bilinear between nodes: two small products).

        Along y, each pixel row is the weighted sum of its two nodes' rows: the same float32 sums, in
        the same order, as ``spread_y @ nodes[..., c]`` (a strided operand, which numpy multiplies
        without BLAS, ~0.35 ms each) adds up, so the frames stay the same bit for bit; along x, BLAS.
        """
        lower, w_lower, w_upper = self._rows_y
        maps = []
        for c in (0, 1):
            coord = nodes[..., c]
            rows = w_lower * coord[lower]
            rows += w_upper * coord[lower + 1]
            maps.append(rows @ self._spread_x.T)
        return maps[0], maps[1]

    def maps(self, target_points: np.ndarray, rest_points: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        _, nodes = self.fold_free(target_points, rest_points)
        return self.dense(nodes)

    def warp(self, target_points: np.ndarray, rest_points: np.ndarray | None = None) -> np.ndarray:
        map_x, map_y = self.maps(target_points, rest_points)
        return remap(self.source, map_x, map_y)


def remap(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def map_jacobian_dets(map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """Per-pixel Jacobian determinant of a dense backward map (forward differences; (H-1, W-1))."""
    mxx, mxy = np.diff(map_x, axis=1)[:-1], np.diff(map_x, axis=0)[:, :-1]
    myx, myy = np.diff(map_y, axis=1)[:-1], np.diff(map_y, axis=0)[:, :-1]
    return mxx * myy - mxy * myx


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) src -> dst.

    Returns (A, t) with dst ~ src @ A.T + t (Umeyama's closed form).
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    var = (s ** 2).sum() + 1e-12
    a = (s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1]).sum() / var     # scale * cos
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / var     # scale * sin
    rot = np.array([[a, -b], [b, a]])
    return rot.astype(np.float32), (md - ms @ rot.T).astype(np.float32)
