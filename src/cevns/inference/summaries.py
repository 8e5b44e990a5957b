"""What a figure or a table shows of a posterior, estimated once here: marginal densities, 2-D credible
regions, axis ranges, whether each credible set is resolved by the samples, and the modes.
:mod:`cevns.plotting` draws these summaries; it never estimates a density itself.

**Resolved sets.** A highest-density set at level l is the region where the density exceeds a
threshold t_l. Where the posterior is flat, t_l cuts through a plateau and the set's shape is the
kernel estimate's sampling noise (patchy islands of a flat posterior). The *resolution* of a set is
the mass-weighted median of (p - t_l) / sd(t_l) over the set, with sd the standard error of the
kernel estimate at density t_l, sd^2 = p R(K) / (n_eff h^d) (Silverman 1986, sec. 3.3.1 and 4.3.1;
R(K) = 1/(4 pi) in 2-D for a Gaussian kernel of width h, n_eff the Kish effective sample size). For an
exactly flat posterior the estimate is the plateau plus Gaussian noise, so the median inside sits at
the noise quantile 1 - l/2 and t_l at 1 - l: FLAT(l) = Phi^-1(1 - l/2) - Phi^-1(1 - l), 0.88 at 68%
and 1.71 at 95%, whatever the sample size. A set is *resolved* when its resolution exceeds
FLAT(l) + RESOLUTION_MARGIN; a posterior with structure gains as n_eff^(1/3) (a 2-D Gaussian: ~1.06 /
sd_rel(t), 7.7 at n_eff = 1000). Unresolved sets are reported as such and not drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from .density import Density1D, density_1d, posterior_range
from .regions import CredibleRegion2D, credible_region_2d
from .weights import _n_eff

#: A credible set is resolved (drawn) when its resolution exceeds the flat posterior's FLAT(l) by this
#: many standard errors. Measured on flat posteriors (uniform on a square, 500-30000 samples, equal and
#: random weights, 12 seeds): 68% sets at 0.77-1.37 (FLAT 0.88), 95% sets at 1.68-3.08 (FLAT 1.71); the
#: 68% set of coherent-2017-2p's ring (a flat-topped cross-section, --fast) is at 2.6, above 0.88 + 1.5.
RESOLUTION_MARGIN = 1.5
#: The 1-D density is bias-corrected (Jones, Linton & Nielsen 1995), which multiplies the kernel estimate's
#: variance by R(2K - K*K) / R(K) = 1.44 for a Gaussian K (K*K the kernel convolved with itself): sd x 1.2.
BIAS_CORRECTION_SD_FACTOR = 1.2
#: A local maximum of a 1-D marginal counts as a mode when it rises above the lower ground on both
#: sides by this many standard errors of the estimate (its prominence, scipy.signal.peak_prominences).
MODE_SIGMAS = 3.0


def flat_resolution(level: float) -> float:
    """FLAT(l) = Phi^-1(1 - l/2) - Phi^-1(1 - l): the resolution of a level-l set of a flat posterior."""
    return float(special.ndtri(1 - level / 2) - special.ndtri(1 - level))


def is_resolved(resolution: float, level: float) -> bool:
    """Whether a set with this resolution (standard errors, module docstring) is resolved at ``level``."""
    return bool(resolution >= flat_resolution(level) + RESOLUTION_MARGIN)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(weights[order])
    return float(values[order][min(np.searchsorted(cdf, 0.5 * cdf[-1]), len(values) - 1)])


def resolution_1d(density: Density1D, level: float) -> float:
    """How far (in standard errors of the estimate) the density inside the ``level`` HPD set stands above
    its threshold: the mass-weighted median of (p - t) / sd(t) over the set (module docstring). inf for a
    set made only of point masses."""
    x, p, noise = density.x, density.density, density.noise
    if x.size < 2:
        return float("inf")
    t = density.threshold(level)
    inside = p > t
    if not np.any(inside) or t <= 0:
        return float("inf")
    # sd at density t, per node: the local estimate's sd scaled by sqrt(t / p) (sd^2 is proportional to p)
    sd_t = BIAS_CORRECTION_SD_FACTOR * noise[inside] * np.sqrt(t / p[inside])
    ok = sd_t > 0
    if not np.any(ok):
        return float("inf")
    mass = (p * np.gradient(x))[inside][ok]
    return _weighted_median((p[inside][ok] - t) / sd_t[ok], mass)


def resolution_2d(region: CredibleRegion2D, x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> dict[float, float]:
    """Per level of ``region``, how far (in standard errors) the density inside the region stands above its
    threshold (module docstring). Each mode of the region (a leaf with its own whitened frame: covariance
    determinant det, bandwidth h = n_leaf^(-1/6) in whitened units, n_leaf = n_eff x its mass) has
    sd(p)^2 = p / (4 pi h^2 n_eff det)."""
    x, y, w = (np.asarray(a, dtype=float).ravel() for a in (x, y, weights))
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & (w > 0)
    x, y, w = x[keep], y[keep], w[keep] / w[keep].sum()
    n_eff = _n_eff(w)
    leaves = region._leaves
    if not leaves:
        return {lv: float("inf") for lv in region.levels}
    per_leaf = np.array([leaf.evaluate(x, y) for leaf in leaves])  # (n_leaves, n)
    density = per_leaf.sum(axis=0)
    owner = np.argmax(per_leaf, axis=0)
    coefficient = []
    for leaf in leaves:
        det = abs(np.linalg.det(leaf.transform))
        du = leaf.u[1] - leaf.u[0]
        mass = max(float(leaf.density.sum() * du * du * det), 1e-300)
        h = max(n_eff * mass, 1.0) ** (-1.0 / 6.0)
        coefficient.append(1.0 / np.sqrt(4.0 * np.pi * h * h * n_eff * det))
    coefficient = np.asarray(coefficient)[owner]
    out = {}
    for level in region.levels:
        t = region.threshold(level)
        inside = density > t
        if t <= 0 or not np.any(inside):
            out[level] = float("inf")
            continue
        z = (density[inside] - t) / (coefficient[inside] * np.sqrt(t))
        out[level] = _weighted_median(z, w[inside])
    return out


def modes_1d(density: Density1D, sigmas: float = MODE_SIGMAS) -> list[float]:
    """Positions of the resolved local maxima of a 1-D marginal, highest first: peaks whose prominence
    exceeds ``sigmas`` standard errors of the estimate at the peak (a peak at a prior edge counts). Empty
    when the 68% set is not resolved (a flat top has no mode)."""
    x, p, noise = density.x, density.density, density.noise
    if x.size < 3:
        return [float(v) for v, _ in sorted(density.point_masses, key=lambda pm: -pm[1])]
    if not is_resolved(resolution_1d(density, 0.68), 0.68):
        return []
    padded = np.concatenate([[0.0], p, [0.0]])  # a maximum at the grid's end (a prior edge) is a peak
    peaks, prominences = peak_prominences(padded)
    index = peaks - 1
    keep = prominences > sigmas * BIAS_CORRECTION_SD_FACTOR * noise[index]
    order = np.argsort(-p[index[keep]], kind="stable")
    return [float(x[i]) for i in index[keep][order]]


def peak_prominences(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The local maxima of a 1-D array and their prominences, as ``scipy.signal.find_peaks(x, prominence=0)`` gives
    them (here without importing scipy.signal, ~1 s at the start of every fit): a maximum is a sample, or the middle
    (rounded down) of a run of equal samples, higher than its neighbours on both sides, not at either end; its
    prominence is its height above the higher of the lowest samples on its left and on its right before a higher
    sample or the end of the array (Kirmse & de Ferranti, Prog. Phys. Geogr. 41 (2017) 788; scipy.signal's
    peak_prominences with no window)."""
    x = np.asarray(x, dtype=float)
    starts = np.flatnonzero(np.concatenate([[True], x[1:] != x[:-1]]))  # runs of equal samples
    ends = np.concatenate([starts[1:], [x.size]]) - 1
    values = x[starts]
    inner = np.arange(1, starts.size - 1)
    top = inner[(values[inner - 1] < values[inner]) & (values[inner + 1] < values[inner])]
    peaks = (starts[top] + ends[top]) // 2
    prominences = np.empty(peaks.size)
    for j, peak in enumerate(peaks):
        height = x[peak]
        higher_left = np.flatnonzero(x[:peak] > height)
        higher_right = np.flatnonzero(x[peak + 1 :] > height)
        left = x[(higher_left[-1] + 1 if higher_left.size else 0) : peak + 1].min()
        right = x[peak : peak + 1 + (higher_right[0] if higher_right.size else x.size)].min()
        prominences[j] = height - max(left, right)
    return peaks.astype(np.intp), prominences


def estimator_bounds(values: np.ndarray, bounds: Sequence[float] | None) -> tuple[float, float] | None:
    """``bounds`` as hard prior edges when every sample lies inside them, else None (then they are only
    a view range, as a zoom box some callers pass)."""
    if bounds is None:
        return None
    lo, hi = float(bounds[0]), float(bounds[1])
    values = np.asarray(values)
    tol = 1e-9 * (hi - lo)
    return (lo, hi) if values.min() >= lo - tol and values.max() <= hi + tol else None


def credible_region(x: np.ndarray, y: np.ndarray, weights: np.ndarray, bounds_x: Sequence[float] | None = None,
                    bounds_y: Sequence[float] | None = None, levels: tuple[float, ...] = (0.68, 0.95)) -> CredibleRegion2D:
    """The 2-D credible regions of (x, y) at ``levels`` (:func:`cevns.inference.regions.credible_region_2d`), with
    ``bounds_x``/``bounds_y`` used as hard prior edges only where every sample lies inside them. The region
    carries ``resolution`` (level -> standard errors, :func:`resolution_2d`) and ``resolved`` (level -> bool)."""
    region = credible_region_2d(x, y, weights, estimator_bounds(x, bounds_x), estimator_bounds(y, bounds_y), levels)
    region.resolution = resolution_2d(region, x, y, weights)
    region.resolved = {lv: is_resolved(z, lv) for lv, z in region.resolution.items()}
    return region


@dataclass
class TriangleSummary:
    """A posterior's marginals for a triangle plot: ``densities[i]`` of ``names[i]``, ``regions[(i, j)]`` of
    (names[j], names[i]) for j < i, ``views[i]`` the axis range of names[i], at credible ``levels``;
    ``resolved_1d[i]`` maps each level to whether the 1-D set of names[i] is resolved (the regions carry
    their own ``resolved``)."""

    names: list[str]
    levels: tuple[float, ...]
    densities: list[Density1D]
    regions: dict[tuple[int, int], CredibleRegion2D]
    views: list[tuple[float, float]]
    resolved_1d: list[dict[float, bool]] = field(default_factory=list)


def triangle_summary(samples: Mapping[str, np.ndarray] | np.ndarray, weights: np.ndarray, names: Sequence[str],
                     bounds: Mapping[str, Sequence[float]], levels: tuple[float, ...] = (0.68, 0.95),
                     prior_range: bool = False, regions: bool = True) -> TriangleSummary:
    """Densities, regions and views of ``names`` (columns of ``samples``: a name -> values map, or an array with
    one column per name). Views follow the posterior (the hull of the 99.7% HPD set, padded) unless
    ``prior_range``, then the prior ranges of ``bounds``. ``regions=False`` skips the 2-D regions."""
    names = list(names)
    columns = ({n: np.asarray(samples[n]) for n in names} if isinstance(samples, Mapping)
               else {n: np.asarray(samples)[:, i] for i, n in enumerate(names)})
    edges = [estimator_bounds(columns[n], bounds.get(n)) for n in names]
    densities = [density_1d(columns[n], weights, edges[i]) for i, n in enumerate(names)]
    views = ([tuple(map(float, bounds[n])) for n in names] if prior_range
             else [posterior_range(columns[n], weights, edges[i]) for i, n in enumerate(names)])
    resolved_1d = [{lv: is_resolved(resolution_1d(d, lv), lv) for lv in levels} for d in densities]
    pairs = {}
    if regions:
        for i in range(len(names)):
            for j in range(i):
                pairs[(i, j)] = credible_region(columns[names[j]], columns[names[i]], weights,
                                                bounds.get(names[j]), bounds.get(names[i]), levels)
    return TriangleSummary(names, tuple(levels), densities, pairs, views, resolved_1d)
