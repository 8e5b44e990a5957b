"""Posterior figures: triangle plots, overlays of several fits and single 2-D panels, drawn from the
summaries of :mod:`cevns.inference.summaries` (this module estimates nothing). Needle-thin islands get
zoomed insets; axis ranges follow the posterior. Every figure carries its key (plotting.keys): which shade or
line is which credible level, the Standard-Model point, the levels left undrawn where the posterior is flat
within sampling noise, and arrows where a set runs off the axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._common import _plt, _shades, axis_label
from .keys import (SM_LINE, SM_MARKER, finite, level_handles, line_styles, mark_off_axes, note_handle, sm_handle,
                   unresolved_note)

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


def _drawn(region: Any) -> list[tuple[float, int]]:
    """(threshold, rank among all the region's levels, outer first) of the levels drawn: those the samples
    resolve (``region.resolved``, :func:`cevns.inference.summaries.credible_region`; all when absent)."""
    resolved = getattr(region, "resolved", None) or {}
    order = sorted(range(len(region.levels)), key=lambda k: region.thresholds[k])  # outer (lowest density) first
    return [(region.thresholds[k], rank) for rank, k in enumerate(order) if resolved.get(region.levels[k], True)]


def unresolved_levels(region: Any) -> list[float]:
    resolved = getattr(region, "resolved", None) or {}
    return [lv for lv in region.levels if not resolved.get(lv, True)]


def _draw_region(ax: Any, region: Any, color: str, filled: bool, lw: float | None = None) -> list:
    """Draw every patch of a CredibleRegion2D (one grid per mode) at the thresholds of its resolved levels."""
    drawn = _drawn(region)
    if not drawn:
        return []
    n = len(region.levels)
    ordered = [t for t, _ in drawn]
    shades = [_shades(color, n)[rank] for _, rank in drawn]
    styles = [line_styles(n)[rank] for _, rank in drawn]
    top = max(float(np.max(p.Z)) for p in region.patches) * 1.01 + 1e-300
    artists = []
    for patch in region.patches:
        if np.max(patch.Z) <= ordered[0]:
            continue
        if filled:
            artists.append(ax.contourf(patch.X, patch.Y, patch.Z, levels=ordered + [top], colors=shades))
            artists.append(ax.contour(patch.X, patch.Y, patch.Z, levels=ordered, colors=[color], linewidths=0.6))
        else:
            artists.append(ax.contour(patch.X, patch.Y, patch.Z, levels=ordered, colors=[color], linestyles=styles,
                                      linewidths=lw or 1.5))
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
    """Bounding boxes of the region's islands (patches above the outer drawn threshold; overlapping boxes
    merged); none when no level is drawn."""
    drawn = _drawn(region)
    if not drawn:
        return []
    t = drawn[0][0]
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


def _sm(truth: Any, d: int) -> np.ndarray:
    """The SM point per parameter (NaN: none, nothing drawn); default 0 for every parameter."""
    return np.zeros(d) if truth is None else np.asarray(truth, dtype=float)


def corner_figure(summary: Any, truth: np.ndarray | None = None, color: str = "C0", insets: bool = False,
                  title: str | None = None, label: str | None = None) -> Any:
    """Triangle plot of a :class:`cevns.inference.summaries.TriangleSummary`: 1-D marginal densities (HPD sets
    shaded) on the diagonal, 2-D credible regions below, the SM point (``truth``, default 0; NaN for a parameter
    without one) as a red cross, axis ranges the summary's views. Levels the samples do not resolve (a flat
    posterior) are not drawn, and the key in the empty upper triangle says so; ``label`` titles the key (the
    scenario), ``title`` the figure. ``insets``: zoomed insets of islands too small for their panel (as
    :func:`posterior_panel`).
    """
    plt = _plt()
    names, levels, views = summary.names, summary.levels, summary.views
    d = len(names)
    truth = _sm(truth, d)
    resolved_1d = summary.resolved_1d or [dict.fromkeys(levels, True)] * d
    fig, axes, cells = _triangle(plt, d, 2.4, 0.6, 0.9 if title else 0.6)
    unresolved = set()
    for i, j, ax in cells:
        if i == j:
            drawn = [lv for lv in levels if resolved_1d[i].get(lv, True)]
            unresolved.update(lv for lv in levels if lv not in drawn)
            _plot_marginal(ax, summary.densities[i], drawn, color, all_levels=levels)
            if np.isfinite(truth[i]):
                ax.axvline(truth[i], **SM_LINE)
            ax.set_yticks([])
        else:
            region = plot_credible_region(ax, summary.regions[(i, j)], color=color)
            unresolved.update(unresolved_levels(region))
            if not _drawn(region):
                ax.text(0.5, 0.9, "flat within sampling noise", transform=ax.transAxes, ha="center", va="center",
                        fontsize=7, color="0.35", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
            if np.isfinite(truth[j]) and np.isfinite(truth[i]):
                ax.plot(truth[j], truth[i], **{**SM_MARKER, "ms": 6, "mew": 1.2})
            ax.set_ylim(views[i])
        ax.set_xlim(views[j])
        if i != j:
            _mark_region_off_axes(ax, region, color)
        if insets and i != j:
            marker = (truth[j], truth[i]) if finite((truth[j], truth[i])) else None
            _add_insets(ax, [(region, color, True)], marker=marker)
        _label_triangle_axes(ax, i, j, d, names)
    handles = level_handles(levels, color) + ([sm_handle()] if np.any(np.isfinite(truth)) else [])
    if unresolved:
        handles.append(note_handle(unresolved_note(sorted(unresolved))))
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96) if title else None)
    if d > 1:
        _key_in_empty_corner(fig, axes, handles, label)
    else:
        axes[0, 0].legend(handles=handles, fontsize=7, title=label, title_fontsize=8, loc="upper right")
    return fig


def _key_in_empty_corner(fig: Any, axes: Any, handles: list, title: str | None = None) -> Any:
    """The figure's key in the empty upper triangle of a triangle plot: from the top left corner of the hidden
    panel right of the first diagonal one."""
    box = axes[0, 1].get_position()
    return fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(box.x0, box.y1), fontsize=8, title=title,
                      title_fontsize=9, frameon=False, alignment="left")


def _mark_region_off_axes(ax: Any, region: Any, color: str) -> None:
    """Arrows where the region's widest drawn set runs past the axes."""
    if _drawn(region):
        boxes = _islands(region)
        box = ((min(b[0][0] for b in boxes), max(b[0][1] for b in boxes)),
               (min(b[1][0] for b in boxes), max(b[1][1] for b in boxes)))
        mark_off_axes(ax, box, color)


def _plot_marginal(ax: Any, density: Any, levels: Sequence[float], color: str, filled: bool = True,
                   label: str | None = None, normalize: str = "max", all_levels: Sequence[float] | None = None) -> Any:
    """A 1-D density curve (peak 1 with ``normalize="max"``) with the HPD sets of ``levels`` shaded, in the
    shades their rank among ``all_levels`` (default ``levels``) gives them."""
    x, p = density.x, density.density
    scale = p.max() if normalize == "max" and p.size and p.max() > 0 else 1.0
    line = ax.plot(x, p / scale, color=color, lw=1.2, label=label)
    every = sorted(all_levels if all_levels is not None else levels, reverse=True)
    if filled:  # the HPD sets themselves (after gap merging), widest first, in the 2-D regions' shades
        shades = _shades(color, len(every))
        for level in sorted(levels, reverse=True):
            for lo, hi in density.hpd(level):
                inside = (x >= lo) & (x <= hi)
                xs = np.concatenate([[lo], x[inside], [hi]])
                ax.fill_between(xs, 0, np.interp(xs, x, p) / scale, color=shades[every.index(level)], lw=0)
        ax.plot(x, p / scale, color=color, lw=1.2)  # the curve above the shades
    ax.set_ylim(bottom=0)
    return line


def _label_triangle_axes(ax: Any, i: int, j: int, d: int, names: Sequence[str]) -> None:
    """Axis labels of panel (row i, column j) of a d x d triangle plot: x labels on the bottom row, y labels
    on the first column, tick labels hidden elsewhere."""
    if i == d - 1:
        ax.set_xlabel(axis_label(names[j]))
        ax.tick_params(axis="x", labelrotation=45)
    else:
        ax.set_xticklabels([])
    if j == 0 and i > 0:
        ax.set_ylabel(axis_label(names[i]))
    elif j > 0:
        ax.set_yticklabels([])


def _panel_key(ax: Any, sm_point: Any) -> None:
    """The panel's legend from every region drawn on it: one entry per labelled fit, the levels (shades of a
    single filled fit, else line styles), the SM point and the undrawn levels. The entries are empty artists
    on the axes, so a later ``ax.legend()`` shows them too."""
    for artist in getattr(ax, "_cevns_keys", []):
        artist.remove()
    entries = ax._cevns_regions
    levels = sorted({lv for region, *_ in entries for lv in region.levels}, reverse=True)
    keys = []
    single_filled = len(entries) == 1 and entries[0][2]
    for region, color, filled, label in entries:
        if label and not single_filled:
            keys += ax.plot([], [], color=color, lw=1.5, label=label)
    if single_filled:
        for handle in level_handles(levels, entries[0][1]):
            keys.append(ax.fill_between([], [], [], facecolor=handle.get_facecolor(), edgecolor=entries[0][1],
                                        lw=0.6, label=(f"{entries[0][3]}: " if entries[0][3] else "") + handle.get_label()))
    else:
        for handle in level_handles(levels, "0.2", filled=False):
            keys += ax.plot([], [], color="0.2", ls=handle.get_linestyle(), label=handle.get_label())
    if finite(sm_point):
        keys += ax.plot([], [], label="Standard Model", **SM_MARKER)
    undrawn = sorted({lv for region, *_ in entries for lv in unresolved_levels(region)})
    if undrawn:
        keys += ax.plot([], [], ls="none", label=unresolved_note(undrawn))
    ax._cevns_keys = keys
    # below the axes, where no inset or island goes
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, frameon=False)


def posterior_panel(ax: Any, region: Any, x: str, y: str, bounds: Mapping[str, Any], color: str = "C0",
                    filled: bool = True, label: str | None = None, sm_point: tuple[float, float] | None = (0.0, 0.0),
                    prior_range: bool = False, insets: bool = True) -> Any:
    """One 2-D posterior panel: the credible ``region`` of (x, y) (see
    :func:`cevns.inference.summaries.credible_region`), SM point as a red cross (None: no SM point), a key of
    the levels, fits and SM point (:func:`_panel_key`).

    Axis ranges follow the posterior (the regions' bounding box, padded, inside the prior ranges
    ``bounds[x]``, ``bounds[y]``); ``prior_range=True`` shows the prior ranges instead, as does a region with
    no resolved level (a flat posterior). Called again on the same axes (several fits overlaid), the range
    covers all of them. With ``insets``, islands smaller than INSET_MAX_FRACTION of the range get zoomed
    insets, so a needle-thin island shows its shape. A set running past the axes gets arrows at that side.
    """
    region = plot_credible_region(ax, region, color=color, filled=filled)
    entries = getattr(ax, "_cevns_regions", [])
    entries.append((region, color, filled, label))
    ax._cevns_regions = entries
    for artist in getattr(ax, "_cevns_insets", []):  # a previous call's insets: redrawn with every fit
        artist.remove()
    ax._cevns_insets = []
    if finite(sm_point):
        ax.plot(*sm_point, **SM_MARKER, zorder=5)
    boxes = [box for entry in entries for box in _islands(entry[0])]
    if prior_range or not boxes:
        if x in bounds and y in bounds:
            ax.set_xlim(bounds[x])
            ax.set_ylim(bounds[y])
    else:
        vx, vy = _view(boxes, bounds.get(x), bounds.get(y))
        ax.set_xlim(vx)
        ax.set_ylim(vy)
    for entry in entries:
        _mark_region_off_axes(ax, entry[0], entry[1])
    if insets:
        ax._cevns_insets = _add_insets(ax, [entry[:3] for entry in entries], marker=sm_point if finite(sm_point) else None)
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(y))
    _panel_key(ax, sm_point)
    return ax


def overlay_figure(summaries: Sequence[Any], labels: Sequence[str] | None = None,
                   colors: Sequence[str] | None = None, title: str | None = None, truth: Any = None) -> Any:
    """Several fits' 1-D marginals (diagonal) and 2-D credible regions (below), one
    :class:`cevns.inference.summaries.TriangleSummary` per fit (same names and levels). Regions are drawn as
    lines: solid for the innermost level, dashed for the others, only where resolved. Axis ranges cover every
    summary's views. ``labels``: one legend entry per fit; ``title``: the figure's; ``truth``: the SM point
    per parameter (default 0; NaN: none). Returns the Figure.
    """
    plt = _plt()

    if not summaries:
        raise ValueError("overlay_figure needs at least one fit")
    params, levels = summaries[0].names, summaries[0].levels
    d = len(params)
    truth = _sm(truth, d)
    colors = list(colors) if colors is not None else [f"C{k}" for k in range(len(summaries))]
    labels = list(labels) if labels is not None else [f"fit {k + 1}" for k in range(len(summaries))]
    if len(labels) != len(summaries) or len(colors) < len(summaries):
        raise ValueError("one label and one colour per fit")
    views = [(min(s.views[i][0] for s in summaries), max(s.views[i][1] for s in summaries)) for i in range(d)]
    size = 2.6 if d > 1 else 4.0
    fig, axes, cells = _triangle(plt, d, size, 0.8, 0.9 if title else 0.4)
    undrawn = set()
    for i, j, ax in cells:
        for k, summary in enumerate(summaries):
            if i == j:
                _plot_marginal(ax, summary.densities[i], levels, colors[k], filled=False, label=labels[k])
            else:
                region = summary.regions[(i, j)]
                undrawn.update(unresolved_levels(region))
                _draw_region(ax, region, colors[k], filled=False, lw=1.2)
        if i == j:
            if np.isfinite(truth[i]):
                ax.axvline(truth[i], **SM_LINE)
        elif np.isfinite(truth[i]) and np.isfinite(truth[j]):
            ax.plot(truth[j], truth[i], **{**SM_MARKER, "ms": 6, "mew": 1.2})
        ax.set_xlim(views[j])
        if i == j:
            ax.set_yticks([])
        else:
            ax.set_ylim(views[i])
        _label_triangle_axes(ax, i, j, d, params)
    import matplotlib.lines

    handles = [matplotlib.lines.Line2D([], [], color=colors[k], label=labels[k]) for k in range(len(summaries))]
    keys = (level_handles(levels, "0.2", filled=False) if d > 1 else []) + (
        [sm_handle(line=d == 1)] if np.any(np.isfinite(truth)) else [])
    if undrawn:
        keys.append(note_handle(unresolved_note(sorted(undrawn))))
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95) if title else None)
    if d > 1:
        _key_in_empty_corner(fig, axes, handles + keys)
    else:
        axes[0, 0].legend(handles=handles + keys, fontsize=8)
    return fig
