"""Posterior figures: triangle plots, overlays of several fits and single 2-D panels, drawn from the
summaries of :mod:`cevns.inference.summaries` (this module estimates nothing). Needle-thin islands get
zoomed insets; axis ranges follow the posterior.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..labels import latex_label
from ._common import _latex, _plt

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


def plot_credible_region(ax: Any, region: Any, color: str = "C0", filled: bool = True, label: str | None = None) -> Any:
    """Draw a 2-D credible region (a :class:`cevns.inference.regions.CredibleRegion2D`, every mode on its own
    grid) on ``ax``: filled shades at its levels, or lines. Returns the region; the artists are in its
    ``artists`` attribute."""
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


def corner_figure(summary: Any, truth: np.ndarray | None = None, color: str = "C0", insets: bool = False) -> Any:
    """Triangle plot of a :class:`cevns.inference.summaries.TriangleSummary`: 1-D marginal densities (HPD sets
    shaded) on the diagonal, 2-D credible regions below, the SM point (``truth``, default 0) as a red cross,
    axis ranges the summary's views. ``insets``: zoomed insets of islands too small for their panel (as
    :func:`posterior_panel`).
    """
    plt = _plt()
    names, levels, views = summary.names, summary.levels, summary.views
    d = len(names)
    truth = np.zeros(d) if truth is None else np.asarray(truth)
    fig, axes, cells = _triangle(plt, d, 2.4, 0.6, 0.6)
    for i, j, ax in cells:
        if i == j:
            _plot_marginal(ax, summary.densities[i], levels, color)
            ax.axvline(truth[i], color="red", lw=1)
            ax.set_yticks([])
        else:
            region = plot_credible_region(ax, summary.regions[(i, j)], color=color)
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


def posterior_panel(ax: Any, region: Any, x: str, y: str, bounds: Mapping[str, Any], color: str = "C0",
                    filled: bool = True, label: str | None = None, sm_point: tuple[float, float] = (0.0, 0.0),
                    prior_range: bool = False, insets: bool = True) -> Any:
    """One 2-D posterior panel: the credible ``region`` of (x, y) (see
    :func:`cevns.inference.summaries.credible_region`), SM point as a red cross.

    Axis ranges follow the posterior (the regions' bounding box, padded, inside the prior ranges
    ``bounds[x]``, ``bounds[y]``); ``prior_range=True`` shows the prior ranges instead. Called again on the
    same axes (several fits overlaid), the range covers all of them. With ``insets``, islands smaller than
    INSET_MAX_FRACTION of the range get zoomed insets, so a needle-thin island shows its shape.
    """
    region = plot_credible_region(ax, region, color=color, filled=filled, label=label)
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


def overlay_figure(summaries: Sequence[Any], labels: Sequence[str] | None = None,
                   colors: Sequence[str] | None = None) -> Any:
    """Several fits' 1-D marginals (diagonal) and 2-D credible regions (below), one
    :class:`cevns.inference.summaries.TriangleSummary` per fit (same names and levels). Regions are drawn as
    lines: solid for the innermost level, dashed for the others. Axis ranges cover every summary's views.
    ``labels``: one legend entry per fit. Returns the Figure.
    """
    plt = _plt()
    import matplotlib.lines

    if not summaries:
        raise ValueError("overlay_figure needs at least one fit")
    params, levels = summaries[0].names, summaries[0].levels
    d = len(params)
    colors = list(colors) if colors is not None else [f"C{k}" for k in range(len(summaries))]
    labels = list(labels) if labels is not None else [f"fit {k + 1}" for k in range(len(summaries))]
    if len(labels) != len(summaries) or len(colors) < len(summaries):
        raise ValueError("one label and one colour per fit")
    views = [(min(s.views[i][0] for s in summaries), max(s.views[i][1] for s in summaries)) for i in range(d)]
    size = 2.6 if d > 1 else 4.0
    fig, axes, cells = _triangle(plt, d, size, 0.8, 0.4)
    styles = ["-" if lv == min(levels) else "--" for lv in sorted(levels)[::-1]]
    for i, j, ax in cells:
        for k, summary in enumerate(summaries):
            if i == j:
                _plot_marginal(ax, summary.densities[i], levels, colors[k], filled=False, label=labels[k])
            else:
                region = summary.regions[(i, j)]
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
    handles = [matplotlib.lines.Line2D([], [], color=colors[k], label=labels[k]) for k in range(len(summaries))]
    level_text = ", ".join(f"{lv:.0%}" for lv in sorted(levels))
    if d > 1:
        fig.legend(handles=handles, loc="upper right", title=f"regions {level_text}", fontsize=9, title_fontsize=9)
    else:
        axes[0, 0].legend(handles=handles, fontsize=9)
    fig.tight_layout()
    return fig
