"""Figure keys: the legend entries that say which shade or line is which credible level, the Standard-Model
marker, levels left undrawn because the samples do not resolve them, and marks on sets that run off the axes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import _shades

#: The Standard-Model point: a red cross in 2-D panels, a red line in 1-D panels.
SM_MARKER = {"marker": "x", "color": "red", "ms": 8, "mew": 2, "ls": "none"}
SM_LINE = {"color": "red", "lw": 1.0}
SM_LABEL = "Standard Model"
#: What an undrawn level means (inference.summaries: a set is drawn where the samples resolve it).
UNRESOLVED_TEXT = "not drawn where the posterior\nis flat within sampling noise"
#: A set is marked as running off the axes when it passes an axis end by more than this fraction of the span.
OFF_AXES_FRACTION = 0.005


def line_styles(n: int) -> list[str]:
    """Line styles of ``n`` levels, outer (widest) first: the innermost solid, the others dashed."""
    return ["--"] * (n - 1) + ["-"]


def level_text(level: float) -> str:
    return f"{level:.0%} HPD"


def level_handles(levels: Sequence[float], color: str = "C0", filled: bool = True) -> list:
    """One legend handle per credible level, widest first: the shade (filled regions) or the line style."""
    import matplotlib.lines
    import matplotlib.patches

    ordered = sorted(levels, reverse=True)
    if filled:
        shades = _shades(color, len(ordered))
        return [matplotlib.patches.Patch(facecolor=shade, edgecolor=color, lw=0.6, label=level_text(lv))
                for lv, shade in zip(ordered, shades, strict=True)]
    return [matplotlib.lines.Line2D([], [], color=color, ls=style, label=level_text(lv))
            for lv, style in zip(ordered, line_styles(len(ordered)), strict=True)]


def sm_handle(line: bool = False) -> Any:
    import matplotlib.lines

    style = {**SM_LINE, "ls": "-"} if line else SM_MARKER
    return matplotlib.lines.Line2D([], [], label=SM_LABEL, **style)


def note_handle(text: str) -> Any:
    """A legend entry that is only text."""
    import matplotlib.lines

    return matplotlib.lines.Line2D([], [], ls="none", marker="none", label=text)


def unresolved_note(levels: Sequence[float]) -> str:
    return ", ".join(f"{lv:.0%}" for lv in sorted(levels)) + f": {UNRESOLVED_TEXT}"


def mark_off_axes(ax: Any, box: tuple[tuple[float, float], tuple[float, float]], color: str) -> list:
    """Arrows at the axis ends a set's bounding ``box`` ((x0, x1), (y0, y1)) runs past; returns the artists."""
    (x0, x1), (y0, y1) = box
    (ax0, ax1), (ay0, ay1) = ax.get_xlim(), ax.get_ylim()
    tx, ty = OFF_AXES_FRACTION * (ax1 - ax0), OFF_AXES_FRACTION * (ay1 - ay0)
    artists = []
    for past, position, text in ((x0 < ax0 - tx, (0.0, 0.5), "\u25c0"), (x1 > ax1 + tx, (1.0, 0.5), "\u25b6"),
                                 (y0 < ay0 - ty, (0.5, 0.0), "\u25bc"), (y1 > ay1 + ty, (0.5, 1.0), "\u25b2")):
        if past:
            artists.append(ax.annotate(text, position, xycoords="axes fraction", ha="center", va="center",
                                       color=color, fontsize=9, annotation_clip=False))
    return artists


def interval_with_marks(ax: Any, lo: float, hi: float, row: float, color: str, xlim: tuple[float, float],
                        lw: float = 6.0, min_fraction: float = 0.006) -> list:
    """One interval [lo, hi] of a credible set drawn as a thick bar at height ``row`` inside ``xlim``: an end
    past the axis gets an arrow and its value written beside it, an interval narrower than
    ``min_fraction`` of the axis a diamond so it stays visible."""
    span = xlim[1] - xlim[0]
    a, b = max(lo, xlim[0]), min(hi, xlim[1])
    artists = []
    if b < a:  # wholly outside the axes: an arrow at the side it lies on
        side = xlim[1] if lo > xlim[1] else xlim[0]
        artists.append(ax.annotate(("\u25b6 " if side == xlim[1] else "\u25c0 ") + f"[{lo:+.3g}, {hi:+.3g}]",
                                   (side, row), ha="right" if side == xlim[1] else "left", va="center", color=color,
                                   fontsize=7))
        return artists
    artists += ax.plot([a, b], [row, row], color=color, lw=lw, solid_capstyle="butt")
    if (b - a) < min_fraction * span:
        artists += ax.plot([0.5 * (a + b)], [row], marker="D", color=color, ms=5, ls="none")
    for past, edge, arrow, align in ((lo < xlim[0], xlim[0], "\u25c0", "left"), (hi > xlim[1], xlim[1], "\u25b6", "right")):
        if past:
            value = lo if align == "left" else hi
            label = f"{arrow} {value:+.3g}" if align == "left" else f"{value:+.3g} {arrow}"
            artists.append(ax.annotate(label, (edge, row), xytext=(0, 6), textcoords="offset points",
                                       ha=align, va="bottom", color=color, fontsize=7))
    return artists


def finite(values: Sequence[float] | np.ndarray | None) -> bool:
    return values is not None and bool(np.all(np.isfinite(np.asarray(values, dtype=float))))
