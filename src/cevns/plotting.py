"""Plots. Each function takes ``ax=None`` (creates one) and returns the artists/axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .labels import latex_label
from .physics.flavors import Flavor


def _axes(ax: Any = None, **fig_kwargs: Any) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(**fig_kwargs)
    return ax


def plot_recoil_spectrum(experiment_model: Any, eps: np.ndarray | None = None, ax: Any = None, n_points: int = 400) -> Any:
    """SM (or NSI) recoil spectrum dN/dT by flavor over the analysis window, with the
    flat background and the bin edges. Counts per keV over the full exposure."""
    ax = _axes(ax, figsize=(6, 4))
    exp = experiment_model.experiment
    edges = experiment_model.kernels.bin_edges_keV
    t_keV = np.linspace(edges[0], edges[-1], n_points)
    spectrum = exp.recoil_spectrum(t_keV, eps)
    for ci, comp in enumerate(exp.source.components):
        ax.plot(t_keV, spectrum[:, ci], label=Flavor(comp.flavor).latex)
    if spectrum.shape[1] > 1:
        ax.plot(t_keV, spectrum.sum(axis=1), "k-", lw=1.5, label="total signal")
    widths = np.diff(edges)
    bkg_density = experiment_model.background / widths
    if np.any(bkg_density > 0):
        ax.stairs(bkg_density, edges, color="0.5", ls="--", label="background")
    for edge in edges:
        ax.axvline(edge, color="0.85", lw=0.5, zorder=0)
    ax.set_yscale("log")
    positive = spectrum[spectrum > 0]
    if positive.size:
        ax.set_ylim(bottom=max(positive.min(), positive.max() * 1e-4))
    ax.set_xlabel(r"nuclear recoil energy $T$ [keV]")
    ax.set_ylabel(r"$dN/dT$ [counts/keV]")
    ax.set_title(f"{experiment_model.name} ({exp.detector.target.name}, {exp.source.name})")
    ax.legend(fontsize=8)
    return ax


def plot_release_counts(entry: dict[str, Any], ax: Any = None) -> Any:
    """A measured release's channel (an entry of :func:`cevns.app.rates.rates_table`) in its own observable
    bins, numbered in the release's order: stacked backgrounds, the signal on top, observed counts."""
    ax = _axes(ax, figsize=(6, 4))
    n = len(entry["signal"])
    edges = np.arange(n + 1) - 0.5
    base = np.zeros(n)
    for name, values in entry["backgrounds"].items():
        top = base + np.asarray(values)
        ax.stairs(top, edges, baseline=base, fill=True, alpha=0.5, label=name)
        base = top
    if entry["signal_by_component"]:
        ax.stairs(base + np.asarray(entry["signal"]), edges, baseline=base, fill=True, alpha=0.6, color="k",
                  label=f"CEvNS signal ({entry['total_signal']:.4g})")
    if entry["observed"] is not None:
        ax.errorbar(np.arange(n), entry["observed"], yerr=np.sqrt(np.maximum(entry["observed"], 0.0)), fmt="k.",
                    ms=3, lw=0.6, label=f"observed ({entry['total_observed']:.4g})")
    ax.set_xlabel(f"bin ({entry['bin_labels'][0]} ... {entry['bin_labels'][-1]})", fontsize=8)
    ax.set_ylabel("counts per bin")
    ax.set_title(f"{entry['name']} (measured release)")
    ax.legend(fontsize=7)
    return ax


def rates_figure(scenario: Any, eps: np.ndarray | None = None, table: dict[str, Any] | None = None) -> Any:
    """One panel per experiment of a scenario (recoil spectra by flavor), then one per measured
    release channel of ``table`` (:func:`cevns.app.rates.rates_table`) in its observable bins."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    models = scenario.experiments
    releases = [e for e in (table or {}).get("experiments", []) if e.get("kind") == "release"]
    n_panels = max(len(models) + len(releases), 1)
    ncols = min(2, n_panels)
    nrows = int(np.ceil(n_panels / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(6 * ncols, 4 * nrows), squeeze=False)
    panels = axes.ravel()
    for ax, model in zip(panels, models, strict=False):
        plot_recoil_spectrum(model, eps, ax=ax)
    for ax, entry in zip(panels[len(models):], releases, strict=False):
        plot_release_counts(entry, ax=ax)
    for ax in panels[len(models) + len(releases):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


#: Region shading: fill lightness of the outermost and innermost level (mix of the colour with white).
REGION_SHADES = (0.35, 0.8)
#: An island whose extent is below this fraction of the panel's range (in x and y) gets a zoomed
#: inset: at 5 inches and 100 dpi, 12% is ~60 pixels, below which a needle's shape is lost.
INSET_MAX_FRACTION = 0.12
#: Most insets per panel (corners of the panel), inset size (axes fraction) and the padding of
#: an inset's view around its island (fraction of the island's extent on each side).
MAX_INSETS = 3
INSET_SIZE = 0.34
INSET_PAD = 0.35
#: Padding of a posterior-range view around the regions' bounding box (fraction of its width).
VIEW_PAD = 0.12


def _estimator_bounds(values: np.ndarray, bounds: Any) -> tuple[float, float] | None:
    """``bounds`` as hard prior edges when every sample lies inside them, else None (then they
    are only a view range, as a zoom box some callers pass)."""
    if bounds is None:
        return None
    lo, hi = float(bounds[0]), float(bounds[1])
    values = np.asarray(values)
    tol = 1e-9 * (hi - lo)
    return (lo, hi) if values.min() >= lo - tol and values.max() <= hi + tol else None


def _shades(color: str, n: int) -> list[tuple[float, float, float]]:
    import matplotlib.colors as mcolors

    base = mcolors.to_rgb(color)
    return [tuple(1 - (1 - c) * a for c in base) for a in np.linspace(*REGION_SHADES, n)]


def _draw_region(ax: Any, region: Any, color: str, filled: bool) -> list:
    """Draw every patch of a CredibleRegion2D (one grid per mode) at its thresholds."""
    ordered = sorted(region.thresholds)  # outer (lowest density) first
    top = max(float(np.max(p.Z)) for p in region.patches) * 1.01 + 1e-300
    artists = []
    styles = ["--", "-"] if len(ordered) == 2 else ["-"] * len(ordered)
    for patch in region.patches:
        if np.max(patch.Z) <= ordered[0]:
            continue
        if filled:
            artists.append(ax.contourf(patch.X, patch.Y, patch.Z, levels=ordered + [top], colors=_shades(color, len(ordered))))
            artists.append(ax.contour(patch.X, patch.Y, patch.Z, levels=ordered, colors=[color], linewidths=0.6))
        else:
            artists.append(ax.contour(patch.X, patch.Y, patch.Z, levels=ordered, colors=[color], linestyles=styles))
    return artists


def plot_credible_region(ax: Any, x: np.ndarray, y: np.ndarray, weights: np.ndarray, bounds_x: Any, bounds_y: Any,
                         levels: tuple[float, ...] = (0.68, 0.95), color: str = "C0", filled: bool = True, label: str | None = None) -> Any:
    """Filled (or line) 2-D credible regions at ``levels`` on ``ax``, each mode drawn on its own
    grid (cevns.inference.regions.credible_region_2d). Returns the CredibleRegion2D; the
    artists are in its ``artists`` attribute. ``bounds_x``/``bounds_y``: hard prior edges
    (ignored as edges when samples lie outside them)."""
    from .inference.regions import credible_region_2d

    region = credible_region_2d(x, y, weights, _estimator_bounds(x, bounds_x), _estimator_bounds(y, bounds_y), levels)
    region.artists = _draw_region(ax, region, color, filled)
    if label:
        ax.plot([], [], color=color, label=label)
    return region


def _islands(region: Any) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Bounding boxes of the region's islands (patches above the outer threshold; overlapping boxes merged)."""
    t = min(region.thresholds)
    boxes = []
    for patch in region.patches:
        above = patch.Z > t
        if np.any(above):
            boxes.append([patch.X[above].min(), patch.X[above].max(), patch.Y[above].min(), patch.Y[above].max()])
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] <= b[1] and b[0] <= a[1] and a[2] <= b[3] and b[2] <= a[3]:
                    boxes[i] = [min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return [((b[0], b[1]), (b[2], b[3])) for b in boxes]


def _view(boxes: list, bounds_x: Any = None, bounds_y: Any = None, pad: float = VIEW_PAD) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges around bounding boxes, padded, inside the prior ranges if given."""
    x0, x1 = min(b[0][0] for b in boxes), max(b[0][1] for b in boxes)
    y0, y1 = min(b[1][0] for b in boxes), max(b[1][1] for b in boxes)
    out = []
    for lo, hi, bounds in ((x0, x1, bounds_x), (y0, y1, bounds_y)):
        width = hi - lo if hi > lo else max(abs(lo), 1.0) * 1e-3
        lo, hi = lo - pad * width, hi + pad * width
        if bounds is not None:
            lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
        out.append((float(lo), float(hi)))
    return out[0], out[1]


def _add_insets(ax: Any, entries: list[tuple[Any, str, bool]], marker: tuple[float, float] | None = None) -> list:
    """Zoomed insets of islands too small to show their shape in ``ax`` (entries: region, colour, filled).
    Returns the inset axes and their zoom indicators."""
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    xspan, yspan = xlim[1] - xlim[0], ylim[1] - ylim[0]
    islands = []
    for region, _, _ in entries:
        islands += _islands(region)
    small = [b for b in islands if (b[0][1] - b[0][0]) < INSET_MAX_FRACTION * xspan
             and (b[1][1] - b[1][0]) < INSET_MAX_FRACTION * yspan]
    # one inset per cluster of small islands that lie close together (merge boxes within 2 island sizes)
    groups: list[list] = []
    for b in sorted(small, key=lambda b: -max((b[0][1] - b[0][0]) / xspan, (b[1][1] - b[1][0]) / yspan)):
        for g in groups:
            gx, gy = _view(g, pad=0.0)
            if (abs(0.5 * (gx[0] + gx[1]) - 0.5 * (b[0][0] + b[0][1])) < INSET_MAX_FRACTION * xspan
                    and abs(0.5 * (gy[0] + gy[1]) - 0.5 * (b[1][0] + b[1][1])) < INSET_MAX_FRACTION * yspan):
                g.append(b)
                break
        else:
            groups.append([b])
    # inset corners (axes fraction), with room for the inset's own tick labels; the upper right
    # last, where legends usually go
    corners = [(0.15, 0.58), (0.62, 0.12), (0.15, 0.12), (0.62, 0.58)]

    def occupied(corner: tuple[float, float]) -> float:
        """How much of the islands' area (axes fraction) falls under an inset at ``corner``."""
        cx0, cy0 = corner
        total = 0.0
        for b in islands:
            bx0, bx1 = (b[0][0] - xlim[0]) / xspan, (b[0][1] - xlim[0]) / xspan
            by0, by1 = (b[1][0] - ylim[0]) / yspan, (b[1][1] - ylim[0]) / yspan
            ox = max(0.0, min(bx1, cx0 + INSET_SIZE) - max(bx0, cx0))
            oy = max(0.0, min(by1, cy0 + INSET_SIZE) - max(by0, cy0))
            total += ox * oy + (1e-3 if ox > 0 and oy > 0 else 0.0)  # also avoid covering a small island
        return total

    insets = []
    free = sorted(corners, key=occupied)
    for group, corner in zip(groups[:MAX_INSETS], free, strict=False):
        gx, gy = _view(group, pad=0.0)
        wx, wy = gx[1] - gx[0], gy[1] - gy[0]
        # a needle along one axis: show its width at >= 1/4 of its length, so its shape reads as a needle
        wx, wy = max(wx, 0.25 * wy, 1e-12), max(wy, 0.25 * wx, 1e-12)
        cx, cy = 0.5 * (gx[0] + gx[1]), 0.5 * (gy[0] + gy[1])
        inset = ax.inset_axes([corner[0], corner[1], INSET_SIZE, INSET_SIZE])
        for region, color, filled in entries:
            _draw_region(inset, region, color, filled)
        if marker is not None:
            inset.plot(*marker, "rx", ms=7, mew=1.5, zorder=5)
        inset.set_xlim(cx - (0.5 + INSET_PAD) * wx, cx + (0.5 + INSET_PAD) * wx)
        inset.set_ylim(cy - (0.5 + INSET_PAD) * wy, cy + (0.5 + INSET_PAD) * wy)
        inset.tick_params(labelsize=6, length=2, pad=1)
        inset.ticklabel_format(style="sci", scilimits=(-2, 3), useOffset=True)
        inset.xaxis.get_offset_text().set_fontsize(6)
        inset.yaxis.get_offset_text().set_fontsize(6)
        indicator = ax.indicate_inset_zoom(inset, edgecolor="0.3", alpha=0.8)
        insets += [inset, indicator]
    return insets


def _triangle(plt: Any, d: int, panel_inches: float, pad_width: float, pad_height: float) -> tuple[Any, Any, list]:
    """A d x d grid of panels with those above the diagonal hidden: the figure, the axes and the
    (row, column, axes) of the lower triangle, diagonal included."""
    fig, axes = plt.subplots(d, d, figsize=(panel_inches * d + pad_width, panel_inches * d + pad_height), squeeze=False)
    cells = []
    for i in range(d):
        for j in range(d):
            if j > i:
                axes[i, j].set_visible(False)
            else:
                cells.append((i, j, axes[i, j]))
    return fig, axes, cells


def corner_figure(samples: np.ndarray, weights: np.ndarray, names: list[str], bounds: dict, truth: np.ndarray | None = None,
                  levels: tuple[float, ...] = (0.68, 0.95), prior_range: bool = False, color: str = "C0",
                  insets: bool = False) -> Any:
    """Triangle plot: 1-D marginal densities (68/95% HPD sets shaded) on the diagonal, 2-D
    credible regions below, the SM point (``truth``, default 0) as a red cross.

    Axis ranges follow the posterior (hull of the 99.7% HPD set, padded); ``prior_range=True``
    shows the prior ranges of ``bounds`` instead. Densities and regions are those of
    cevns.inference.density (each mode at its own resolution). ``insets``: zoomed insets of
    islands too small for their panel (as :func:`posterior_panel`).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .inference.density import density_1d, posterior_range

    samples = np.asarray(samples)
    d = len(names)
    truth = np.zeros(d) if truth is None else np.asarray(truth)
    edges = [_estimator_bounds(samples[:, i], bounds.get(names[i])) for i in range(d)]
    if prior_range:
        views = [tuple(bounds[n]) for n in names]
    else:
        views = [posterior_range(samples[:, i], weights, edges[i]) for i in range(d)]
    fig, axes, cells = _triangle(plt, d, 2.4, 0.6, 0.6)
    for i, j, ax in cells:
        if i == j:
            _plot_marginal(ax, density_1d(samples[:, i], weights, edges[i]), levels, color)
            ax.axvline(truth[i], color="red", lw=1)
            ax.set_yticks([])
        else:
            region = plot_credible_region(ax, samples[:, j], samples[:, i], weights, edges[j], edges[i], levels, color=color)
            ax.plot(truth[j], truth[i], "x", color="red", ms=6, mew=1.2, alpha=0.8)
            ax.set_ylim(views[i])
        ax.set_xlim(views[j])
        if insets and i != j:
            _add_insets(ax, [(region, color, True)], marker=(truth[j], truth[i]))
        _label_triangle_axes(ax, i, j, d, names)
    fig.tight_layout()
    return fig


def _plot_marginal(ax: Any, density: Any, levels: tuple[float, ...], color: str, filled: bool = True,
                   label: str | None = None, normalize: str = "max") -> Any:
    """A 1-D density curve (peak 1 with ``normalize="max"``) with its HPD sets shaded."""
    x, p = density.x, density.density
    scale = p.max() if normalize == "max" and p.size and p.max() > 0 else 1.0
    line = ax.plot(x, p / scale, color=color, lw=1.2, label=label)
    if filled:  # the HPD sets themselves (after gap merging), widest first; the stacked shades
        # (alpha 0.2 .. 0.45) stay readable under the curve and the red SM line
        for level, alpha in zip(sorted(levels, reverse=True), np.linspace(0.2, 0.45, len(levels)), strict=True):
            for lo, hi in density.hpd(level):
                inside = (x >= lo) & (x <= hi)
                xs = np.concatenate([[lo], x[inside], [hi]])
                ax.fill_between(xs, 0, np.interp(xs, x, p) / scale, color=color, alpha=alpha, lw=0)
    ax.set_ylim(bottom=0)
    return line


def _label_triangle_axes(ax: Any, i: int, j: int, d: int, names: Sequence[str]) -> None:
    """Axis labels of panel (row i, column j) of a d x d triangle plot: x labels on the bottom row, y labels
    on the first column, tick labels hidden elsewhere."""
    if i == d - 1:
        ax.set_xlabel(latex_label(names[j]))
        ax.tick_params(axis="x", labelrotation=45)
    else:
        ax.set_xticklabels([])
    if j == 0 and i > 0:
        ax.set_ylabel(latex_label(names[i]))
    elif j > 0:
        ax.set_yticklabels([])


def _latex(name: str) -> str:
    return latex_label(name)


def posterior_panel(ax: Any, samples: dict[str, np.ndarray], weights: np.ndarray, x: str, y: str, bounds: dict,
                    levels: tuple[float, ...] = (0.68, 0.95), color: str = "C0", filled: bool = True,
                    label: str | None = None, sm_point: tuple[float, float] = (0.0, 0.0),
                    prior_range: bool = False, insets: bool = True) -> Any:
    """One 2-D posterior panel: credible regions of (x, y), SM point as a red cross.

    Axis ranges follow the posterior (the regions' bounding box, padded, inside the prior);
    ``prior_range=True`` shows the prior ranges ``bounds[x]``, ``bounds[y]`` instead. Called
    again on the same axes (several fits overlaid), the range covers all of them. With
    ``insets``, islands smaller than INSET_MAX_FRACTION of the range get zoomed insets, so a
    needle-thin island shows its shape.
    """
    region = plot_credible_region(ax, samples[x], samples[y], weights, bounds.get(x), bounds.get(y), levels,
                                  color=color, filled=filled, label=label)
    entries = getattr(ax, "_cevns_regions", [])
    entries.append((region, color, filled))
    ax._cevns_regions = entries
    for artist in getattr(ax, "_cevns_insets", []):  # a previous call's insets: redrawn with every fit
        artist.remove()
    ax._cevns_insets = []
    ax.plot(*sm_point, "rx", ms=9, mew=2, zorder=5)
    if prior_range:
        ax.set_xlim(bounds[x])
        ax.set_ylim(bounds[y])
    else:
        boxes = [box for entry in entries for box in _islands(entry[0])]
        vx, vy = _view(boxes, bounds.get(x), bounds.get(y))
        ax.set_xlim(vx)
        ax.set_ylim(vy)
    if insets:
        ax._cevns_insets = _add_insets(ax, entries, marker=sm_point)
    ax.set_xlabel(_latex(x))
    ax.set_ylabel(_latex(y))
    return ax


def overlay_figure(fits: Sequence[Mapping[str, Any]], params: Sequence[str], levels: tuple[float, ...] = (0.68, 0.95),
                   labels: Sequence[str] | None = None, colors: Sequence[str] | None = None,
                   prior_range: bool = False) -> Any:
    """Several fits' 1-D marginals (diagonal) and 2-D credible regions (below) for ``params``.

    ``fits``: mappings with ``samples`` (name -> 1-D array), ``weights`` and ``bounds``
    (name -> (lo, hi)); ``labels``: one legend entry per fit. Regions are drawn as lines:
    solid for the innermost level, dashed for the others. Axis ranges cover every fit's
    posterior (``prior_range=True``: the first fit's prior ranges). Returns the Figure.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .inference.density import density_1d, posterior_range
    from .inference.regions import credible_region_2d

    params = list(params)
    d = len(params)
    colors = list(colors) if colors is not None else [f"C{k}" for k in range(len(fits))]
    labels = list(labels) if labels is not None else [f"fit {k + 1}" for k in range(len(fits))]
    if len(labels) != len(fits) or len(colors) < len(fits):
        raise ValueError("one label and one colour per fit")
    edges = [[_estimator_bounds(fit["samples"][p], fit["bounds"].get(p)) for p in params] for fit in fits]
    if prior_range:
        views = [tuple(fits[0]["bounds"][p]) for p in params]
    else:
        ranges = [[posterior_range(fit["samples"][p], fit["weights"], edges[k][i]) for i, p in enumerate(params)]
                  for k, fit in enumerate(fits)]
        views = [(min(r[i][0] for r in ranges), max(r[i][1] for r in ranges)) for i in range(d)]
    size = 2.6 if d > 1 else 4.0
    fig, axes, cells = _triangle(plt, d, size, 0.8, 0.4)
    styles = ["-" if lv == min(levels) else "--" for lv in sorted(levels)[::-1]]
    for i, j, ax in cells:
        for k, fit in enumerate(fits):
            if i == j:
                density = density_1d(fit["samples"][params[i]], fit["weights"], edges[k][i])
                _plot_marginal(ax, density, levels, colors[k], filled=False, label=labels[k])
            else:
                region = credible_region_2d(fit["samples"][params[j]], fit["samples"][params[i]], fit["weights"],
                                            edges[k][j], edges[k][i], tuple(sorted(levels)[::-1]))
                ordered = sorted(region.thresholds)
                for patch in region.patches:
                    if np.max(patch.Z) > ordered[0]:
                        ax.contour(patch.X, patch.Y, patch.Z, levels=ordered, colors=[colors[k]],
                                   linestyles=styles[: len(ordered)], linewidths=1.2)
        ax.set_xlim(views[j])
        if i == j:
            ax.set_yticks([])
        else:
            ax.set_ylim(views[i])
        _label_triangle_axes(ax, i, j, d, params)
    handles = [matplotlib.lines.Line2D([], [], color=colors[k], label=labels[k]) for k in range(len(fits))]
    level_text = ", ".join(f"{lv:.0%}" for lv in sorted(levels))
    if d > 1:
        fig.legend(handles=handles, loc="upper right", title=f"regions {level_text}", fontsize=9, title_fontsize=9)
    else:
        axes[0, 0].legend(handles=handles, fontsize=9)
    fig.tight_layout()
    return fig


def degeneracy_figure(lines: list, sns_ellipses: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], limit: float = 1.0) -> Any:
    """The paper's Fig. 1 in three panels (SPEC S6, S7).

    (a) one flavor: SM and mirror lines in (eps^u, eps^d) per target, crossings marked;
    (b) distinguishable flavors (eps^d = 0): lines where the nu_e and the nu_mu rate each
        keep their SM value (a grid of four points per target) beside the contour where the
        flavor-summed stopped-pion rate does (``sns_ellipses``: x, y, relative rate grid);
    (c) flavor-changing: the SM-rate ring in (eps^u_ee, eps^u_emu) per target.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .physics.degeneracy import intersections

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    grid = np.linspace(-limit, limit, 400)
    ax = axes[0]
    for k, t in enumerate(lines):
        color = f"C{k}"
        ax.plot(grid, t.sm_d(grid), color=color, lw=1.5, label=f"{t.name} ($\\beta$ = {t.beta:.3f})")
        ax.plot(grid, t.mirror_d(grid), color=color, lw=1.5, ls="--")
    if len(lines) >= 2:
        for c in intersections(lines[0], lines[1])[:2]:
            ax.plot(*c["point"], "ko", ms=5, zorder=5)
    ax.plot(0, 0, "rx", ms=9, mew=2, zorder=6)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), xlabel=_latex("eps_u_ee"), ylabel=_latex("eps_d_ee"),
           title="(a) one flavor: SM (solid) and mirror (dashed) lines")
    ax.legend(fontsize=8, loc="lower left")

    ax = axes[1]
    for k, t in enumerate(lines):
        color = f"C{k}"
        for value, style in ((0.0, "-"), (t.intercept_mirror, "--")):
            ax.axvline(value, color=color, ls=style, lw=1.2)
            ax.axhline(value, color=color, ls=style, lw=1.2)
        if t.name in sns_ellipses:
            xs, ys, rel = sns_ellipses[t.name]
            ax.contour(xs, ys, rel, levels=[1.0], colors=[color], linewidths=1.0, linestyles=":")
        ax.plot([], [], color=color, label=t.name)
    ax.plot([], [], "k:", label="flavors summed (SNS)")
    ax.plot(0, 0, "rx", ms=9, mew=2, zorder=6)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), xlabel=_latex("eps_u_ee"), ylabel=_latex("eps_u_mumu"),
           title=r"(b) distinguishable flavors ($\varepsilon^d = 0$)")
    ax.legend(fontsize=8, loc="lower left")

    ax = axes[2]
    phi = np.linspace(0, 2 * np.pi, 400)
    for k, t in enumerate(lines):
        (cx, cy), r = t.ring_center, t.ring_radius
        ax.plot(cx + r * np.cos(phi), cy + r * np.sin(phi), color=f"C{k}", label=t.name)
    ax.plot(0, 0, "rx", ms=9, mew=2, zorder=6)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), xlabel=_latex("eps_u_ee"), ylabel=_latex("eps_u_emu"),
           title="(c) flavor-changing: SM-rate rings", aspect="equal")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def task_scaling_figure(benchmark: Mapping[str, Any]) -> Any:
    """Tasks per second against workers (``cevns bench --tasks N --plot FILE``).

    Points: the measured settings of :func:`cevns.app.tasks.benchmark_tasks` (serial, process pool,
    MPI ranks). Line: the task-farm projection rate(W) = min(W / c, 1 / o) from the measured
    seconds per task c (one worker) and the manager's cost per task o (docs/scaling.md).
    """
    ax = _axes(figsize=(5.5, 4.0))
    markers = {"serial": "o", "process": "s", "mpi": "^"}
    for label, setting in benchmark.get("settings", {}).items():
        ax.plot(setting["workers"], setting["tasks_per_second"], markers.get(setting["backend"], "o"), ms=8,
                label=f"{label}: {setting['tasks_per_second']:.3g}/s")
    projection = benchmark.get("projection")
    if projection:
        c, o = projection["seconds_per_task"], projection["dispatch_seconds_per_task"]
        workers = np.logspace(0, np.log10(max(1024.0, 4 * projection["saturation_workers"])), 200)
        ax.plot(workers, np.minimum(workers / c, 1.0 / o), "k--", lw=1,
                label=f"min(W/c, 1/o): c = {c * 1e3:.0f} ms, o = {o * 1e3:.2f} ms")
        ax.plot(workers, workers / c, ":", color="0.6", lw=1, label="ideal W/c")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("workers W")
    ax.set_ylabel("tasks per second")
    ax.set_title(f"task farm: {benchmark.get('scenario', '')} toys", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3, which="both")
    ax.figure.tight_layout()
    return ax.figure
