"""Two-dimensional credible regions of weighted samples (the engine of :mod:`cevns.inference.density` in 2-D).

2-D regions use the same divisive mode finding (cuts along x, y and the principal
axes of each piece), a kernel density per leaf in the leaf's whitened frame (so a
needle-thin island along a degeneracy line is resolved on a grid of its own),
reflection at prior edges, and density thresholds from the weighted quantiles of
the density at the samples (Hyndman 1996).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .density import (KERNEL_REACH, MAX_SPLIT_DEPTH, MIN_SPLIT_MASS, MIN_SPLIT_NEFF, NEGLIGIBLE_MASS, _best_cut,
                      _coarse_density, fft_convolve_same, silverman_bandwidth)
from .weights import _n_eff, _sorted_quantiles

#: 2-D leaf grids in the whitened frame (unit covariance) span the leaf's [m, 1 - m] quantiles
#: plus the kernel reach, at most +-7 (a Gaussian leaf has exp(-49/2) ~ 2e-11 of its mass beyond
#: radius 7), with NODES_PER_BANDWIDTH_2D nodes per bandwidth n_eff^(-1/6), at least
#: GRID_NODES_2D (161 over ~ +-5.5: 0.07 apart) and at most MAX_GRID_NODES_2D per axis. Areas of
#: Gaussian regions then come out within 1% (docs/results.md).
GRID_NODES_2D = 161
MAX_GRID_NODES_2D = 401
NODES_PER_BANDWIDTH_2D = 2.5
MAX_WHITENED_RANGE_2D = 7.0
#: Overview grid of credible_region_2d (nodes per axis over the plotted box).
OVERVIEW_NODES_2D = 200


# --------------------------------------------------------------------------- 2-D regions


def _split_2d(xy: np.ndarray, w: np.ndarray, total_w: float, depth: int = 0) -> list[np.ndarray]:
    """Divisive mode finding in 2-D: cuts along x, y and the piece's principal axes.
    Returns index arrays (into ``xy``) of the leaves."""
    index = np.arange(len(w))
    if depth >= MAX_SPLIT_DEPTH or _n_eff(w) < 2 * MIN_SPLIT_NEFF or np.sum(w) < 2 * MIN_SPLIT_MASS * total_w:
        return [index]
    mean = np.sum(w[:, None] * xy, axis=0) / np.sum(w)
    cov = np.cov(xy.T, aweights=w, bias=True)
    directions = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    if np.all(np.isfinite(cov)):
        _, vecs = np.linalg.eigh(cov)
        directions += [vecs[:, 0], vecs[:, 1]]
    best = None
    for direction in directions:
        proj = (xy - mean) @ direction
        order = np.argsort(proj, kind="stable")
        ps, ws = proj[order], w[order]
        h = silverman_bandwidth(ps, ws)
        lo_q, hi_q = _sorted_quantiles(ps, ws, [NEGLIGIBLE_MASS, 1 - NEGLIGIBLE_MASS])
        if not (h > 0 and hi_q - lo_q > 1e-9 * max(abs(lo_q), abs(hi_q))):  # no spread along this direction
            continue
        grid, p = _coarse_density(ps, ws, h, lo_q - 2 * h, hi_q + 2 * h)
        cut = _best_cut(grid, p, ps, ws, total_w)
        if cut is not None and (best is None or cut[0] < best[0]):
            best = (cut[0], cut[1], direction)
    if best is None:
        return [index]
    side = (xy - mean) @ best[2] < best[1]
    out = []
    for part in (index[side], index[~side]):
        out += [part[sub] for sub in _split_2d(xy[part], w[part], total_w, depth + 1)]
    return out


@dataclass
class Patch2D:
    """One leaf's density on its own grid: node coordinates X, Y (2-D arrays, an affine image of a
    regular grid in the leaf's whitened frame) and the total posterior density Z there."""

    X: np.ndarray
    Y: np.ndarray
    Z: np.ndarray
    centre: np.ndarray
    transform: np.ndarray  # original = centre + transform @ whitened
    extent: float  # whitened grid spans [-extent, extent]^2 around the leaf mean (in whitened units)
    offset: np.ndarray  # whitened coordinates of the grid centre
    cell_area: float

    def contains(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        u = np.linalg.solve(self.transform, np.vstack([np.ravel(px) - self.centre[0], np.ravel(py) - self.centre[1]]))
        u -= self.offset[:, None]
        return np.all(np.abs(u) <= self.extent, axis=0).reshape(np.shape(px))


@dataclass
class _Leaf2D:
    centre: np.ndarray
    transform: np.ndarray
    offset: np.ndarray
    extent: float
    u: np.ndarray  # 1-D node coordinates of the whitened grid (same on both axes, before offset)
    density: np.ndarray  # this leaf's own density (per unit original area), shape (n, n) [iu1, iu0]

    def evaluate(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Bilinear interpolation of this leaf's density at original-frame points (0 off its grid)."""
        pts = np.linalg.solve(self.transform, np.vstack([px - self.centre[0], py - self.centre[1]]))
        pts -= self.offset[:, None]
        du = self.u[1] - self.u[0]
        fi = (pts - self.u[0]) / du
        n = self.u.size
        inside = np.all((fi >= 0) & (fi <= n - 1), axis=0)
        out = np.zeros(px.shape)
        if not np.any(inside):
            return out
        f0, f1 = fi[0, inside], fi[1, inside]
        i0 = np.minimum(np.floor(f0).astype(int), n - 2)
        i1 = np.minimum(np.floor(f1).astype(int), n - 2)
        a, b = f0 - i0, f1 - i1
        z = self.density
        out[inside] = ((1 - a) * (1 - b) * z[i1, i0] + a * (1 - b) * z[i1, i0 + 1]
                       + (1 - a) * b * z[i1 + 1, i0] + a * b * z[i1 + 1, i0 + 1])
        return out


def _reflect(xy: np.ndarray, w: np.ndarray, bounds_x: tuple[float, float], bounds_y: tuple[float, float],
             reach_x: float, reach_y: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples mirrored at the prior edges they lie within ``reach`` of (Silverman 1986, sec. 2.10)."""
    out_xy, out_w = [xy], [w]
    mirrors_x = [(edge, np.abs(xy[:, 0] - edge) < reach_x) for edge in bounds_x if np.isfinite(edge)]
    mirrors_y = [(edge, np.abs(xy[:, 1] - edge) < reach_y) for edge in bounds_y if np.isfinite(edge)]
    for ex, near_x in mirrors_x:
        m = xy[near_x].copy()
        m[:, 0] = 2 * ex - m[:, 0]
        out_xy.append(m)
        out_w.append(w[near_x])
    for ey, near_y in mirrors_y:
        m = xy[near_y].copy()
        m[:, 1] = 2 * ey - m[:, 1]
        out_xy.append(m)
        out_w.append(w[near_y])
    for ex, near_x in mirrors_x:  # corners
        for ey, near_y in mirrors_y:
            both = near_x & near_y
            m = xy[both].copy()
            m[:, 0], m[:, 1] = 2 * ex - m[:, 0], 2 * ey - m[:, 1]
            out_xy.append(m)
            out_w.append(w[both])
    return np.vstack(out_xy), np.concatenate(out_w)


def _leaf_density_2d(xy: np.ndarray, w: np.ndarray, bounds_x, bounds_y) -> _Leaf2D:  # noqa: ANN001
    """Gaussian KDE of one leaf in its whitened frame, bandwidth n_eff^(-1/6) (Scott/Silverman rule for
    d = 2 applied to whitened data, Silverman 1986 sec. 4.2.1), with reflection at prior edges."""
    n_eff = _n_eff(w)
    centre = np.sum(w[:, None] * xy, axis=0) / np.sum(w)
    cov = np.cov(xy.T, aweights=w, bias=True)
    scale = np.sqrt(np.maximum(np.diag(cov), 0.0))
    if not np.all(scale > 0):  # a degenerate leaf: all weight on a line or a point; give it a tiny width
        scale = np.where(scale > 0, scale, np.max(np.abs(xy), axis=0) * 1e-9 + 1e-12)
        cov = np.diag(scale**2) + cov * 0
    corr = cov / np.outer(scale, scale)
    vals, vecs = np.linalg.eigh(corr)
    vals = np.maximum(vals, 1e-12 * vals.max())  # a leaf on an exact line keeps a non-singular frame
    transform = (scale[:, None] * vecs) * np.sqrt(vals)[None, :]  # original - centre = transform @ whitened
    h = n_eff ** (-1.0 / 6.0)
    # ``inv`` maps original offsets to whitened coordinates
    inv = np.linalg.inv(transform)
    u_all = (xy - centre) @ inv.T
    lo = np.array([_sorted_quantiles(np.sort(u_all[:, k]), w[np.argsort(u_all[:, k], kind="stable")],
                                     [NEGLIGIBLE_MASS])[0] for k in range(2)])
    hi = np.array([_sorted_quantiles(np.sort(u_all[:, k]), w[np.argsort(u_all[:, k], kind="stable")],
                                     [1 - NEGLIGIBLE_MASS])[0] for k in range(2)])
    lo, hi = np.maximum(lo - KERNEL_REACH * h, -MAX_WHITENED_RANGE_2D), np.minimum(hi + KERNEL_REACH * h, MAX_WHITENED_RANGE_2D)
    offset = 0.5 * (lo + hi)
    extent = float(0.5 * np.max(hi - lo))
    n = int(np.clip(np.ceil(2 * extent / h * NODES_PER_BANDWIDTH_2D) + 1, GRID_NODES_2D, MAX_GRID_NODES_2D))
    u = np.linspace(-extent, extent, n)
    du = u[1] - u[0]
    # the reflection reach in original coordinates: the whitened kernel reach mapped back
    reach = KERNEL_REACH * h * np.sqrt(np.diag(transform @ transform.T))
    bx = tuple(bounds_x) if bounds_x is not None else (-np.inf, np.inf)
    by = tuple(bounds_y) if bounds_y is not None else (-np.inf, np.inf)
    mxy, mw = _reflect(xy, w, bx, by, reach[0], reach[1])
    uu = (mxy - centre) @ inv.T - offset
    pos = (uu + extent) / du
    inside = np.all((pos >= 0) & (pos <= n - 1), axis=1)
    pos, mw = pos[inside], mw[inside]
    i = np.minimum(np.floor(pos).astype(int), n - 2)
    f = pos - i
    counts = np.zeros((n, n))
    for di in (0, 1):
        for dj in (0, 1):
            wt = mw * np.where(di, f[:, 0], 1 - f[:, 0]) * np.where(dj, f[:, 1], 1 - f[:, 1])
            np.add.at(counts, (i[:, 1] + dj, i[:, 0] + di), wt)
    reach_nodes = int(np.ceil(KERNEL_REACH * h / du))
    k1 = np.exp(-0.5 * (np.arange(-reach_nodes, reach_nodes + 1) * du / h) ** 2)
    k1 /= h * np.sqrt(2 * np.pi)
    kern = np.outer(k1, k1)
    dens = fft_convolve_same(counts, kern)
    dens = np.maximum(dens, 0.0)
    det = abs(np.linalg.det(transform))
    # back to density per unit original area; zero outside the prior box
    dens /= det
    gx, gy = np.meshgrid(u + offset[0], u + offset[1])
    ox = centre[0] + transform[0, 0] * gx + transform[0, 1] * gy
    oy = centre[1] + transform[1, 0] * gx + transform[1, 1] * gy
    outside = (ox < bx[0]) | (ox > bx[1]) | (oy < by[0]) | (oy > by[1])
    dens[outside] = 0.0
    return _Leaf2D(centre, transform, offset, extent, u, dens)


@dataclass
class CredibleRegion2D:
    """2-D credible regions of a weighted sample.

    Unpacks as the old 4-tuple ``(x, y, density, thresholds)``: an overview grid over the
    plotting box (``density[iy, ix]``) and the density thresholds of ``levels`` (same order).
    ``patches``: one grid per mode, in the mode's own frame (draw each with
    ``ax.contour(p.X, p.Y, p.Z, levels=sorted(thresholds))``); a needle-thin island is resolved
    on its patch even where the overview grid is too coarse to show it.
    """

    x: np.ndarray
    y: np.ndarray
    density: np.ndarray
    thresholds: list[float]
    levels: tuple[float, ...]
    patches: list[Patch2D]
    _leaves: list[_Leaf2D] = field(repr=False, default_factory=list)

    def __iter__(self) -> Iterator:
        return iter((self.x, self.y, self.density, self.thresholds))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):  # noqa: ANN204
        return (self.x, self.y, self.density, self.thresholds)[i]

    def evaluate(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Posterior density at points (px, py)."""
        px, py = np.asarray(px, dtype=float), np.asarray(py, dtype=float)
        shape = np.broadcast(px, py).shape
        px, py = np.broadcast_to(px, shape).ravel(), np.broadcast_to(py, shape).ravel()
        return sum((leaf.evaluate(px, py) for leaf in self._leaves), np.zeros(px.size)).reshape(shape)

    def threshold(self, level: float) -> float:
        return self.thresholds[list(self.levels).index(level)]

    def area(self, level: float) -> float:
        """Area of the region at ``level`` (cells of the patches above threshold; overlaps counted once)."""
        t = self.threshold(level)
        total = 0.0
        for k, patch in enumerate(self.patches):
            above = patch.Z > t
            for earlier in self.patches[:k]:
                above &= ~earlier.contains(patch.X, patch.Y)
            total += np.count_nonzero(above) * patch.cell_area
        return float(total)

    def contains(self, px: np.ndarray, py: np.ndarray, level: float) -> np.ndarray:
        """Whether points lie inside the region at ``level``."""
        return self.evaluate(px, py) > self.threshold(level)

    def bbox(self, level: float | None = None) -> tuple[tuple[float, float], tuple[float, float]]:
        """Bounding box of the region at ``level`` (default: the widest level) from the patches."""
        t = self.threshold(level) if level is not None else min(self.thresholds)
        xs, ys = [], []
        for patch in self.patches:
            above = patch.Z > t
            if np.any(above):
                xs += [patch.X[above].min(), patch.X[above].max()]
                ys += [patch.Y[above].min(), patch.Y[above].max()]
        if not xs:
            return (float(self.x[0]), float(self.x[-1])), (float(self.y[0]), float(self.y[-1]))
        return (float(min(xs)), float(max(xs))), (float(min(ys)), float(max(ys)))


def credible_region_2d(x: np.ndarray, y: np.ndarray, weights: np.ndarray, bounds_x=None, bounds_y=None,  # noqa: ANN001
                       levels: tuple[float, ...] = (0.68, 0.95), n_grid: int = OVERVIEW_NODES_2D) -> CredibleRegion2D:
    """2-D highest-density regions of (x, y) at ``levels``.

    ``bounds_x``, ``bounds_y``: hard prior edges (lo, hi) or None. Modes are found and
    estimated each in its own whitened frame (module docstring); the thresholds are the
    weighted (1 - level) quantiles of the density at the samples (Hyndman 1996).
    Returns a :class:`CredibleRegion2D` (unpacks as ``x, y, density, thresholds``).
    """
    xv, yv, wv = (np.asarray(a, dtype=float).ravel() for a in (x, y, weights))
    keep = np.isfinite(xv) & np.isfinite(yv) & np.isfinite(wv) & (wv > 0)
    if not np.any(keep):
        raise ValueError("no samples with finite values and positive weight")
    xy, w = np.column_stack([xv[keep], yv[keep]]), wv[keep] / wv[keep].sum()
    for k, bounds in enumerate((bounds_x, bounds_y)):
        if bounds is not None:
            if not bounds[0] < bounds[1]:
                raise ValueError(f"bounds must satisfy lo < hi, got {bounds}")
            tol = 1e-9 * (bounds[1] - bounds[0])
            if xy[:, k].min() < bounds[0] - tol or xy[:, k].max() > bounds[1] + tol:
                raise ValueError(f"samples outside the bounds {tuple(bounds)} on axis {'xy'[k]}")
    leaves = [_scaled_leaf(_leaf_density_2d(xy[idx], w[idx], bounds_x, bounds_y), float(np.sum(w[idx])))
              for idx in _split_2d(xy, w, 1.0)]
    # density at the samples, for the thresholds (Hyndman 1996): t_l = weighted (1 - l) quantile
    at_samples = sum((leaf.evaluate(xy[:, 0], xy[:, 1]) for leaf in leaves), np.zeros(len(w)))
    order = np.argsort(at_samples, kind="stable")[::-1]
    cum = np.cumsum(w[order])
    thresholds = [float(at_samples[order[min(np.searchsorted(cum, lv), len(w) - 1)]]) for lv in levels]
    patches = []
    for leaf in sorted(leaves, key=lambda lf: abs(np.linalg.det(lf.transform)) * lf.extent**2):
        gx, gy = np.meshgrid(leaf.u + leaf.offset[0], leaf.u + leaf.offset[1])
        X = leaf.centre[0] + leaf.transform[0, 0] * gx + leaf.transform[0, 1] * gy
        Y = leaf.centre[1] + leaf.transform[1, 0] * gx + leaf.transform[1, 1] * gy
        Z = sum((other.evaluate(X.ravel(), Y.ravel()) for other in leaves), np.zeros(X.size)).reshape(X.shape)
        du = leaf.u[1] - leaf.u[0]
        patches.append(Patch2D(X, Y, Z, leaf.centre, leaf.transform, leaf.extent, leaf.offset,
                               float(du * du * abs(np.linalg.det(leaf.transform)))))
    region = CredibleRegion2D(np.array([]), np.array([]), np.zeros((0, 0)), thresholds, tuple(levels), patches, leaves)
    (x0, x1), (y0, y1) = region.bbox()
    box_x = tuple(bounds_x) if bounds_x is not None else (x0, x1)
    box_y = tuple(bounds_y) if bounds_y is not None else (y0, y1)
    region.x = np.linspace(box_x[0], box_x[1], n_grid)
    region.y = np.linspace(box_y[0], box_y[1], n_grid)
    gx, gy = np.meshgrid(region.x, region.y)
    region.density = region.evaluate(gx, gy)
    return region


def _scaled_leaf(leaf: _Leaf2D, mass: float) -> _Leaf2D:
    """Normalize a leaf's density to integrate to its posterior mass."""
    du = leaf.u[1] - leaf.u[0]
    total = leaf.density.sum() * du * du * abs(np.linalg.det(leaf.transform))
    if total > 0:
        leaf.density *= mass / total
    return leaf


def density_levels_2d(hist: np.ndarray, levels: tuple[float, ...]) -> list[float]:
    """Density thresholds enclosing the given probability masses of a 2-D grid of cell masses."""
    flat = np.sort(np.asarray(hist).ravel())[::-1]
    cumulative = np.cumsum(flat) / flat.sum()
    return [float(flat[min(np.searchsorted(cumulative, lv), flat.size - 1)]) for lv in levels]


__all__ = ["CredibleRegion2D", "Patch2D", "credible_region_2d", "density_levels_2d"]
