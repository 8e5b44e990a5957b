"""One-dimensional posterior densities and HPD credible sets (unions of intervals) of weighted samples.

The credible sets follow the posterior's own resolution, not a histogram over the
prior (docs/results.md gives the method, its sources and its measured accuracy):

1. **Negligible samples.** Every estimate works with normalized weights. Within each
   piece of the posterior the grid spans the weighted quantiles
   [NEGLIGIBLE_MASS, 1 - NEGLIGIBLE_MASS] plus the kernel's reach, so samples of
   negligible total weight (prior draws of a nested-sampling run) never set a range,
   a bandwidth or an interval end; a single tiny-weight sample only adds a kernel
   bump far below any credible-level threshold.
2. **Mode finding.** Divisive: a piece (at first the whole sample) is smoothed with
   the Silverman bandwidth of its own robust scale; if its density has an interior
   minimum below SPLIT_DIP_RATIO of the lower of the two peaks on either side, and
   both sides hold at least MIN_SPLIT_MASS of the posterior and MIN_SPLIT_NEFF
   effective samples, it is cut there and each side is examined again with its own
   (smaller) scale. Two modes 100x narrower than their separation are therefore
   found at the first level and resolved at the next.
3. **Per-mode density.** Each final piece ("leaf") gets its own Gaussian kernel
   bandwidth: the improved Sheather-Jones bandwidth of the leaf's samples (Botev et
   al. 2010; Silverman's rule as fallback) scaled for multiplicative bias correction,
   as getdist chooses one bandwidth for a whole chain. Linear binning onto a grid of
   NODES_PER_BANDWIDTH nodes per bandwidth, linear boundary correction at hard prior
   edges (Jones 1993), and first-order multiplicative bias correction (Jones, Linton &
   Nielsen 1995) of the sum of the leaves (a variable-bandwidth estimate).
4. **HPD set.** The density threshold t with mass(p > t) = level is found by bisection
   on the exact integral of the piecewise-linear density; the set is where p > t,
   ends interpolated linearly between nodes, a prior edge kept exactly when the
   density is above t there. Gaps narrower than GAP_MERGE_BANDWIDTHS local kernel
   bandwidths are merged (they are below the estimator's resolution).

Weighted-sample basics (resampling, quantiles, effective sample size): :mod:`cevns.inference.weights`.
2-D regions: :mod:`cevns.inference.regions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .weights import weighted_quantile, _clean, _n_eff, _sorted_quantiles

#: Levels reported in fit summaries: 1 sigma, 90% and 2 sigma (the paper's Table 3 uses 95%).
CREDIBLE_LEVELS = (0.68, 0.90, 0.95)

#: Posterior mass treated as negligible: each piece's grid spans its weighted quantiles
#: [m, 1 - m]. Chosen as 1/500 of the 5% left outside a 95% set, so the mass that a
#: piece leaves off its grid (at most 2m) moves a 95% threshold by well under 1% of it.
NEGLIGIBLE_MASS = 1e-4
#: A piece is cut at an interior density minimum below this fraction of the lower of the
#: peaks either side. Separated modes dip to ~0; overlapping modes with a shallower dip stay
#: in one piece (their scales are similar). Checked on unimodal samples (Gaussian, smeared
#: uniform, exponential, Student-t(3); 200 to 1e5 draws, 130 runs each): no cut. A heavy
#: lognormal tail (1e5 draws) may be cut far out, which gives the tail its own, wider bandwidth.
SPLIT_DIP_RATIO = 0.3
#: Each side of a cut must hold this much of the posterior mass: 1/50 of the 5% outside a
#: 95% set. Lighter features keep their neighbour's bandwidth.
MIN_SPLIT_MASS = 1e-3
#: ... and this many effective samples (Kish), enough for a bandwidth of its own (the scale
#: of 100 draws is known to 1/sqrt(2 * 100) = 7%).
MIN_SPLIT_NEFF = 100
#: Recursion limit of the mode finding (2**8 leaves at most; real posteriors need 1-3 levels).
MAX_SPLIT_DEPTH = 8
#: Grid nodes per kernel bandwidth of a leaf (linear binning errors are O((dx/h)^2) ~ 1%
#: of the smoothing bias at 8 nodes; getdist warns below 2 fine bins per bandwidth).
NODES_PER_BANDWIDTH = 8
#: Grid nodes per bandwidth of the coarse density used only to find modes.
SPLIT_NODES_PER_BANDWIDTH = 3
#: Gaussian kernel truncated at this many bandwidths (tail mass 6e-5 beyond).
KERNEL_REACH = 4.0
#: Upper limit of nodes of one leaf's 1-D grid (memory/time guard; the spacing grows beyond it).
MAX_NODES_1D = 2**18
#: Gap-merging rule of HPD sets: a gap between two intervals is kept only if it is wider than
#: GAP_MERGE_BANDWIDTHS local kernel bandwidths (a narrower dip is below the estimator's
#: resolution) and the density in it falls below the threshold by more than GAP_NOISE_SIGMAS
#: standard errors of the kernel estimate, sd^2 = p R(K) / (n_eff h) with R(K) = 1/(2 sqrt(pi))
#: for a Gaussian kernel (Silverman 1986, sec. 3.3.1); otherwise the intervals are merged. Two
#: sigma: a noise dip on a flat top (an ill-defined HPD cut) is merged, a real gap is not.
GAP_MERGE_BANDWIDTHS = 1.0
GAP_NOISE_SIGMAS = 2.0
#: Silverman's rule of thumb, h = 0.9 min(sd, IQR/1.349) n^(-1/5) (Silverman 1986, eq. 3.31);
#: 1.349 is the interquartile range of a unit Gaussian.
SILVERMAN_FACTOR = 0.9
GAUSSIAN_IQR = 1.349
#: getdist's positivity guard of the boundary-corrected density: the correction factor is
#: applied as exp(min(r, 4) - 1) (getdist.mcsamples, boundary_correction_order=1).
BOUNDARY_CORRECTION_CAP = 4.0
#: Improved Sheather-Jones bandwidth (Botev et al. 2010): bins of the discrete cosine transform
#: (2^14 as Botev's reference code), the order of the deepest functional (l = 7 in the paper)
#: and the search interval of t = (h / range)^2 (0.1 as in the paper's code).
ISJ_BINS = 2**14
ISJ_STAGES = 7
ISJ_MAX_T = 0.1
#: ISJ bins the leaf's [m, 1 - m] quantile range padded by 10% on each side (Botev's code pads
#: the data range by 10%), clipped at prior edges (the cosine basis then reflects there).
ISJ_PAD = 0.1
#: Bisection steps for density thresholds (2**-80 of the peak density: below float resolution).
THRESHOLD_BISECTIONS = 80
# --------------------------------------------------------------------------- basics


def _robust_scale(x: np.ndarray, w: np.ndarray) -> float:
    """min(sd, IQR/1.349) of sorted weighted samples (Silverman 1986, sec. 3.4.2)."""
    mean = np.sum(w * x) / np.sum(w)
    sd = float(np.sqrt(np.sum(w * (x - mean) ** 2) / np.sum(w)))
    q25, q75 = _sorted_quantiles(x, w, [0.25, 0.75])
    iqr = (q75 - q25) / GAUSSIAN_IQR
    return min(sd, iqr) if iqr > 0 else sd


def silverman_bandwidth(x: np.ndarray, w: np.ndarray) -> float:
    """Silverman's rule h = 0.9 min(sd, IQR/1.349) n_eff^(-1/5) for sorted weighted samples."""
    return SILVERMAN_FACTOR * _robust_scale(x, w) * _n_eff(w) ** (-0.2)


def isj_bandwidth(x: np.ndarray, w: np.ndarray, lo: float, hi: float) -> float | None:
    """Improved Sheather-Jones bandwidth (Botev, Grotowski & Kroese 2010, Ann. Stat. 38, 2916),
    for weighted samples binned on ISJ_BINS nodes over [lo, hi] with n = n_eff; None if the
    fixed-point equation has no root (then the caller falls back to Silverman's rule)."""
    from scipy import fft, optimize  # imported where used (as scipy.fft in fft_convolve_same): ~0.3 s at every CLI start

    n_eff = _n_eff(w)
    span = hi - lo
    if not span > 0:
        return None
    counts = _linear_bin(x, w, lo, span / (ISJ_BINS - 1), ISJ_BINS)
    counts /= counts.sum()
    a = fft.dct(counts, type=2)[1:]  # cosine coefficients of the binned density (Botev's dct1d)
    a2 = (a / 2.0) ** 2
    k2 = np.arange(1, ISJ_BINS, dtype=float) ** 2

    # k^(2 s) a_k^2 of each order s the fixed point uses, computed once (the root search calls it ~6 x 20 times)
    moments = {order: k2**order * a2 for order in range(2, ISJ_STAGES + 1)}
    decay = -k2 * np.pi**2

    def functional(order: int, t: float) -> float:
        # 2 pi^(2 s) sum k^(2 s) a_k^2 exp(-k^2 pi^2 t): the s-th derivative functional ||f^(s)||^2
        return 2.0 * np.pi ** (2 * order) * float(np.sum(moments[order] * np.exp(decay * t)))

    def fixed_point(t: float) -> float:
        deepest = ISJ_STAGES
        f = functional(deepest, t)
        for order in range(deepest - 1, 1, -1):
            k0 = np.prod(np.arange(1, 2 * order, 2)) / np.sqrt(2 * np.pi)
            const = (1 + 0.5 ** (order + 0.5)) / 3.0
            time = (2 * const * k0 / n_eff / f) ** (2.0 / (3 + 2 * order))
            f = functional(order, time)
        return t - (2 * n_eff * np.sqrt(np.pi) * f) ** (-0.4)

    try:
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            t_star = optimize.brentq(fixed_point, 0.0, ISJ_MAX_T, xtol=1e-14)
    except (ValueError, FloatingPointError, ZeroDivisionError):
        return None
    return float(np.sqrt(t_star) * span) if t_star > 0 else None


# --------------------------------------------------------------------------- 1-D density


def _gauss_kernel(dx: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian kernel sampled at node offsets (in units of h) and its values (per unit length)."""
    reach = int(np.ceil(KERNEL_REACH * h / dx))
    u = np.arange(-reach, reach + 1) * dx / h
    return u, np.exp(-0.5 * u**2) / (h * np.sqrt(2.0 * np.pi))


def _linear_bin(x: np.ndarray, w: np.ndarray, x0: float, dx: float, n: int) -> np.ndarray:
    """Linear binning of weighted samples onto nodes x0 + k dx (Wand & Jones 1995, sec. D.1)."""
    pos = (x - x0) / dx
    inside = (pos >= 0) & (pos <= n - 1)
    pos, w = pos[inside], w[inside]
    i = np.minimum(np.floor(pos).astype(int), n - 2) if n > 1 else np.zeros(pos.size, dtype=int)
    frac = pos - i
    return np.bincount(i, w * (1 - frac), minlength=n) + np.bincount(i + 1, w * frac, minlength=n)[:n] if n > 1 else \
        np.array([w.sum()])


def _conv(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Same-size convolution (direct for short kernels, FFT otherwise)."""
    if a.size * kernel.size < 4_000_000:
        return np.convolve(a, kernel, mode="same") if a.size >= kernel.size else \
            np.convolve(a, kernel, mode="full")[kernel.size // 2: kernel.size // 2 + a.size]
    return fft_convolve_same(a, kernel)


def fft_convolve_same(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``scipy.signal.fftconvolve(a, kernel, mode="same")`` for real arrays of any dimension, by the same steps
    (real FFTs padded to scipy.fft.next_fast_len of the full size, the centre of the full convolution; equal bit for
    bit, tests/test_light_imports.py), without importing scipy.signal (~1 s at the start of every fit)."""
    from scipy import fft

    a, kernel = np.asarray(a, dtype=float), np.asarray(kernel, dtype=float)
    full = [n + m - 1 for n, m in zip(a.shape, kernel.shape, strict=True)]
    padded = [fft.next_fast_len(n, True) for n in full]
    axes = list(range(a.ndim))
    out = fft.irfftn(fft.rfftn(a, padded, axes=axes) * fft.rfftn(kernel, padded, axes=axes), padded, axes=axes)
    start = [(f - n) // 2 for f, n in zip(full, a.shape, strict=True)]
    return out[tuple(slice(b, b + n) for b, n in zip(start, a.shape, strict=True))].copy()


@dataclass
class _Leaf1D:
    """One piece of a 1-D posterior on its own grid: linear-binned masses, kernel, prior-mask
    normalization a0, and the (boundary-corrected) plain kernel density of the piece."""

    grid: np.ndarray
    counts: np.ndarray
    kernel: np.ndarray
    a0: np.ndarray
    plain: np.ndarray
    bandwidth: float
    mass: float
    n_eff: float


def _leaf_density_1d(x: np.ndarray, w: np.ndarray, bounds: tuple[float, float]) -> _Leaf1D:
    """Kernel density of one leaf on its own grid: ISJ bandwidth scaled for first-order
    multiplicative bias correction (as getdist), linear boundary correction at prior edges.
    The multiplicative correction itself is applied to the sum of the leaves (density_1d)."""
    mass = float(np.sum(w))
    n_eff = _n_eff(w)
    h0 = silverman_bandwidth(x, w)
    lo_q, hi_q = _sorted_quantiles(x, w, [NEGLIGIBLE_MASS, 1 - NEGLIGIBLE_MASS])
    if not h0 > 0:  # all the leaf's weight on one value: a point mass
        one = np.array([lo_q])
        return _Leaf1D(one, np.array([mass]), one, one, np.array([np.inf]), 0.0, mass, n_eff)
    lo_b, hi_b = bounds
    # bandwidth as getdist (MCSamples.getAutoBandwidth1D), but per leaf: the improved
    # Sheather-Jones bandwidth over the leaf's range padded by ISJ_PAD (Silverman's rule if it
    # has no root), times n_eff^(1/5 - 1/9), the optimal scaling when the multiplicative bias
    # correction makes the bias O(h^4) (Jones, Linton & Nielsen 1995); capped at half the
    # leaf's robust scale so that a leaf stays resolved at small n_eff.
    pad = ISJ_PAD * (hi_q - lo_q)
    h_isj = isj_bandwidth(x, w, max(lo_b, lo_q - pad), min(hi_b, hi_q + pad))
    h0 = h_isj if h_isj is not None else h0
    h = min(h0 * n_eff ** (0.2 - 1.0 / 9.0), 0.5 * _robust_scale(x, w))
    g_lo = max(lo_b, lo_q - KERNEL_REACH * h)
    g_hi = min(hi_b, hi_q + KERNEL_REACH * h)
    n = int(np.ceil((g_hi - g_lo) / h * NODES_PER_BANDWIDTH)) + 1
    n = min(max(n, 2 * NODES_PER_BANDWIDTH + 1), MAX_NODES_1D)
    grid = np.linspace(g_lo, g_hi, n)
    dx = grid[1] - grid[0]
    counts = _linear_bin(x, w, g_lo, dx, n)
    u, kern = _gauss_kernel(dx, h)
    reach = (u.size - 1) // 2
    # prior mask, padded by the kernel reach: 1 inside, 1/2 on an edge node (trapezoid), 0 beyond
    # a hard edge, 1 beyond a grid end that is not an edge (no samples there, but no edge either)
    at_lo, at_hi = g_lo <= lo_b, g_hi >= hi_b
    mask = np.ones(n + 2 * reach)
    if at_lo:
        mask[:reach] = 0.0
        mask[reach] = 0.5
    if at_hi:
        mask[-reach:] = 0.0
        mask[-reach - 1] = 0.5
    a0 = np.convolve(mask, kern * dx, mode="valid")
    p = _conv(counts, kern)
    if at_lo or at_hi:
        # linear boundary kernel (Jones 1993), in getdist's positive form
        a1 = np.convolve(mask, kern * u * dx, mode="valid")
        a2 = np.convolve(mask, kern * u**2 * dx, mode="valid")
        xp = _conv(counts, kern * u)
        normed = np.where(a0 > 0, p / np.where(a0 > 0, a0, 1.0), 0.0)
        corrected = (p * a2 - xp * a1) / (a0 * a2 - a1**2)
        ratio = np.divide(corrected, normed, out=np.ones_like(normed), where=normed > 0)
        p = normed * np.exp(np.minimum(ratio, BOUNDARY_CORRECTION_CAP) - 1.0)
    return _Leaf1D(grid, counts, kern, a0, np.maximum(p, 0.0), h, float(counts.sum()), n_eff)


def _coarse_density(x: np.ndarray, w: np.ndarray, h: float, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Plain binned Gaussian KDE on [lo, hi] (mode finding only)."""
    n = int(np.clip(np.ceil((hi - lo) / h * SPLIT_NODES_PER_BANDWIDTH) + 1, 8, MAX_NODES_1D))
    grid = np.linspace(lo, hi, n)
    dx = grid[1] - grid[0]
    _, kern = _gauss_kernel(dx, h)
    return grid, _conv(_linear_bin(x, w, lo, dx, n), kern)


def _best_cut(grid: np.ndarray, p: np.ndarray, x: np.ndarray, w: np.ndarray, total_w: float) -> tuple[float, float] | None:
    """Deepest admissible density minimum: (dip ratio, position) or None.

    A minimum m is admissible when p(m) < SPLIT_DIP_RATIO * min(max p left, max p right) and
    each side holds >= MIN_SPLIT_MASS of the posterior and >= MIN_SPLIT_NEFF samples (Kish).
    """
    if p.size < 3:
        return None
    interior = np.flatnonzero((p[1:-1] < p[:-2]) & (p[1:-1] <= p[2:])) + 1
    if interior.size == 0:
        return None
    left_max = np.maximum.accumulate(p)
    right_max = np.maximum.accumulate(p[::-1])[::-1]
    ratio = p[interior] / np.maximum(np.minimum(left_max[interior], right_max[interior]), np.finfo(float).tiny)
    cumw = np.cumsum(w)
    cumw2 = np.cumsum(w**2)
    best = None
    for k in np.argsort(ratio, kind="stable"):
        if ratio[k] >= SPLIT_DIP_RATIO:
            break
        cut = grid[interior[k]]
        i = int(np.searchsorted(x, cut))
        if i == 0 or i == x.size:
            continue
        m_left, m_right = cumw[i - 1], cumw[-1] - cumw[i - 1]
        s_left, s_right = cumw2[i - 1], cumw2[-1] - cumw2[i - 1]
        if min(m_left, m_right) < MIN_SPLIT_MASS * total_w:
            continue
        if min(m_left**2 / s_left, m_right**2 / s_right) < MIN_SPLIT_NEFF:
            continue
        best = (float(ratio[k]), float(cut))
        break
    return best


def _split_1d(x: np.ndarray, w: np.ndarray, total_w: float, depth: int = 0) -> list[tuple[int, int]]:
    """Divisive mode finding on sorted samples: index ranges [start, stop) of the leaves."""
    if depth >= MAX_SPLIT_DEPTH or _n_eff(w) < 2 * MIN_SPLIT_NEFF or np.sum(w) < 2 * MIN_SPLIT_MASS * total_w:
        return [(0, x.size)]
    h = silverman_bandwidth(x, w)
    lo_q, hi_q = _sorted_quantiles(x, w, [NEGLIGIBLE_MASS, 1 - NEGLIGIBLE_MASS])
    if not (h > 0 and hi_q - lo_q > 1e-9 * max(abs(lo_q), abs(hi_q))):
        return [(0, x.size)]
    grid, p = _coarse_density(x, w, h, lo_q - 2 * h, hi_q + 2 * h)
    cut = _best_cut(grid, p, x, w, total_w)
    if cut is None:
        return [(0, x.size)]
    i = int(np.searchsorted(x, cut[1]))
    left = _split_1d(x[:i], w[:i], total_w, depth + 1)
    right = _split_1d(x[i:], w[i:], total_w, depth + 1)
    return left + [(a + i, b + i) for a, b in right]


@dataclass
class Density1D:
    """A 1-D marginal density on a (non-uniform) grid, with the local kernel bandwidth.

    ``density`` integrates to the posterior mass on the grid (1 up to NEGLIGIBLE_MASS tails).
    ``noise``: standard error of the density estimate (Silverman 1986, sec. 3.3.1).
    ``modes``: (lo, hi, bandwidth) of each leaf's grid, from the mode finding.
    """

    x: np.ndarray
    density: np.ndarray
    bandwidth: np.ndarray
    noise: np.ndarray
    modes: list[tuple[float, float, float]] = field(default_factory=list)
    point_masses: list[tuple[float, float]] = field(default_factory=list)

    def threshold(self, level: float) -> float:
        """Density t with mass(p > t) = level."""
        return _threshold_1d(self.x, self.density, level - sum(m for _, m in self.point_masses))

    def hpd(self, level: float) -> list[list[float]]:
        """Highest-density set at ``level`` as a list of disjoint [lo, hi]."""
        return _hpd_from_density(self, level)


def density_1d(values: np.ndarray, weights: np.ndarray, bounds: tuple[float, float] | None = None) -> Density1D:
    """Marginal density of weighted samples with per-mode kernel bandwidths (see the module docstring).

    ``bounds``: hard prior edges (lo, hi) the density does not cross (None: no edges).
    """
    x, w = _clean(values, weights)
    lo_b, hi_b = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if not lo_b < hi_b:
        raise ValueError(f"bounds must satisfy lo < hi, got {bounds}")
    span = hi_b - lo_b if np.isfinite(hi_b - lo_b) else 0.0
    if x[0] < lo_b - 1e-9 * span or x[-1] > hi_b + 1e-9 * span:
        raise ValueError(f"samples outside the bounds {bounds}: [{x[0]}, {x[-1]}]")
    x = np.clip(x, lo_b, hi_b)
    leaves = [_leaf_density_1d(x[a:b], w[a:b], (lo_b, hi_b)) for a, b in _split_1d(x, w, 1.0)]
    points = [(float(leaf.grid[0]), leaf.mass) for leaf in leaves if leaf.bandwidth == 0]
    leaves = [leaf for leaf in leaves if leaf.bandwidth > 0]
    if not leaves:
        return Density1D(np.array([]), np.array([]), np.array([]), np.array([]), [], points)
    nodes = np.unique(np.concatenate([leaf.grid for leaf in leaves]))
    spans = [(nodes >= leaf.grid[0]) & (nodes <= leaf.grid[-1]) for leaf in leaves]
    plain = np.zeros_like(nodes)
    band = np.zeros_like(nodes)
    var = np.zeros_like(nodes)
    for leaf, inside in zip(leaves, spans, strict=True):
        part = np.interp(nodes[inside], leaf.grid, leaf.plain)
        plain[inside] += part
        band[inside] = np.maximum(band[inside], leaf.bandwidth)
        # leaf density = mass * g, Var(g_hat) = g R(K) / (n h)  =>  Var = mass * part * R(K) / (n h)
        var[inside] += leaf.mass * part / (2.0 * np.sqrt(np.pi) * leaf.n_eff * leaf.bandwidth)
    # first-order multiplicative bias correction (Jones, Linton & Nielsen 1995; getdist's
    # mult_bias_correction_order=1) of the whole variable-bandwidth estimate:
    # p(x) <- p(x) * sum_i K_{h_i}(x - X_i) / p(X_i) / a0(x), each leaf with its own kernel
    factor = np.zeros_like(nodes)
    for leaf, inside in zip(leaves, spans, strict=True):
        pilot = np.interp(leaf.grid, nodes, plain)
        ratio = np.divide(leaf.counts, pilot, out=np.zeros_like(pilot), where=pilot > 0)
        term = _conv(ratio, leaf.kernel) / leaf.a0
        factor[inside] += np.interp(nodes[inside], leaf.grid, term)
    dens = np.maximum(plain * factor, 0.0)
    total = np.trapezoid(dens, nodes)
    if total > 0:
        dens *= sum(leaf.mass for leaf in leaves) / total
    # nodes between leaf grids (no leaf covers them) take the neighbouring bandwidth
    if np.any(band == 0):
        covered = band > 0
        band = np.interp(nodes, nodes[covered], band[covered])
    modes = [(float(leaf.grid[0]), float(leaf.grid[-1]), float(leaf.bandwidth)) for leaf in leaves]
    return Density1D(nodes, dens, band, np.sqrt(var), modes, points)


def _mass_above(x: np.ndarray, p: np.ndarray, t: float) -> float:
    """Exact integral of max(0, interpolant) over {p > t} for the piecewise-linear density."""
    p0, p1, dx = p[:-1], p[1:], np.diff(x)
    both = (p0 > t) & (p1 > t)
    mass = np.sum(0.5 * (p0[both] + p1[both]) * dx[both])
    cross = (p0 > t) != (p1 > t)
    if np.any(cross):
        a, b, d = p0[cross], p1[cross], dx[cross]
        frac = (np.maximum(a, b) - t) / np.abs(b - a)  # fraction of the segment above t
        mass += np.sum(0.5 * (np.maximum(a, b) + t) * frac * d)
    return float(mass)


def _threshold_1d(x: np.ndarray, p: np.ndarray, level: float) -> float:
    if x.size < 2 or level <= 0:
        return float(np.max(p, initial=0.0))
    lo, hi = 0.0, float(p.max())
    if _mass_above(x, p, 0.0) <= level:
        return 0.0
    for _ in range(THRESHOLD_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if _mass_above(x, p, mid) > level:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * p.max():
            break
    return 0.5 * (lo + hi)


def _hpd_from_density(d: Density1D, level: float) -> list[list[float]]:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    points = sorted(d.point_masses, key=lambda pm: -pm[1])
    taken, mass = [], 0.0
    for value, m in points:  # point masses (zero-width leaves) have infinite density: taken first
        if mass >= level:
            break
        taken.append([value, value])
        mass += m
    intervals: list[list[float]] = []
    if d.x.size >= 2 and mass < level:
        t = _threshold_1d(d.x, d.density, level - mass)
        x, p = d.x, d.density
        above = np.concatenate([[False], p > t, [False]])
        starts = np.flatnonzero(above[1:-1] & ~above[:-2])  # first node above t of each run
        stops = np.flatnonzero(above[1:-1] & ~above[2:])  # last node above t of each run
        for i, j in zip(starts, stops, strict=True):
            # ends where the linear interpolant crosses t; a run reaching the grid's end (a prior
            # edge when the density is still above t there) ends exactly at that node
            lo = x[i] if i == 0 else x[i - 1] + (t - p[i - 1]) / (p[i] - p[i - 1]) * (x[i] - x[i - 1])
            hi = x[j] if j == x.size - 1 else x[j] + (p[j] - t) / (p[j] - p[j + 1]) * (x[j + 1] - x[j])
            intervals.append([float(lo), float(hi)])
        # merge gaps below the resolution (GAP_MERGE_BANDWIDTHS local bandwidths)
        merged: list[list[float]] = []
        for lo, hi in intervals:
            if merged:
                in_gap = (x > merged[-1][1]) & (x < lo)
                gap_mid = 0.5 * (merged[-1][1] + lo)
                local_h = float(np.interp(gap_mid, x, d.bandwidth))
                narrow = lo - merged[-1][1] < GAP_MERGE_BANDWIDTHS * local_h
                shallow = np.any(in_gap) and np.all(t - p[in_gap] < GAP_NOISE_SIGMAS * d.noise[in_gap])
                if narrow or shallow:
                    merged[-1][1] = hi
                    continue
            merged.append([lo, hi])
        intervals = merged
    out = intervals + [iv for iv in taken if not any(lo <= iv[0] <= hi for lo, hi in intervals)]
    return sorted(out)


def hpd_intervals(values: np.ndarray, weights: np.ndarray, level: float, bounds: tuple[float, float] | None = None,
                  ) -> list[list[float]]:
    """Highest-posterior-density set of a 1-D marginal at ``level``, as a sorted list of disjoint [lo, hi].

    ``bounds``: hard prior edges that the set may not cross; a mode at an edge gives an
    interval ending exactly there. None: no edges (derived columns). The density is
    estimated mode by mode at each mode's own scale (see :func:`density_1d`), so the
    resolution follows the posterior, not the prior range.
    """
    return density_1d(values, weights, bounds).hpd(level)


def hpd_sets(values: np.ndarray, weights: np.ndarray, levels: Sequence[float] = CREDIBLE_LEVELS,
             bounds: tuple[float, float] | None = None) -> dict[str, list[list[float]]]:
    """HPD sets at several levels from one density estimate: {"0.68": [[lo, hi], ...], ...}."""
    density = density_1d(values, weights, bounds)
    return {f"{lv:.2f}": density.hpd(lv) for lv in levels}


def posterior_range(values: np.ndarray, weights: np.ndarray, bounds: tuple[float, float] | None = None,
                    level: float = 0.997, pad: float = 0.15) -> tuple[float, float]:
    """Axis range showing the posterior: the hull of its ``level`` HPD set (default 3 sigma),
    padded by ``pad`` of its width on each side, clipped to ``bounds``."""
    sets = hpd_intervals(values, weights, level, bounds)
    lo, hi = sets[0][0], sets[-1][1]
    width = hi - lo
    if width <= 0:
        x, w = _clean(values, weights)
        width = max(abs(lo), 1.0) * 1e-3
    lo, hi = lo - pad * width, hi + pad * width
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return float(lo), float(hi)


def posterior_summary(columns: Mapping[str, np.ndarray], weights: np.ndarray,
                      bounds: Mapping[str, tuple[float, float]] | None = None,
                      levels: Sequence[float] = CREDIBLE_LEVELS) -> dict[str, dict]:
    """Mean, median and HPD sets of every column (couplings, nuisances, derived alike).

    Columns without an entry in ``bounds`` have no hard edges. Format as fit summaries:
    {name: {"mean", "median", "hpd": {"0.68": [[lo, hi], ...], ...}}}.
    """
    bounds = bounds or {}
    weights = np.asarray(weights, dtype=float)
    out = {}
    for name, values in columns.items():
        values = np.asarray(values, dtype=float)
        out[name] = {"mean": float(np.sum(weights * values) / np.sum(weights)),
                     "median": weighted_quantile(values, weights, 0.5),
                     "hpd": hpd_sets(values, weights, levels, bounds.get(name))}
    return out


__all__ = [
    "CREDIBLE_LEVELS", "Density1D", "density_1d", "hpd_intervals", "hpd_sets", "posterior_range", "posterior_summary",
    "silverman_bandwidth",
]
