"""Credible sets of several fits side by side, one panel per parameter (``cevns reproduce``'s measured.png):
each set a bar per fit, sets running past the axes marked with an arrow and their end value, sets too narrow
to see marked with a diamond."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._common import _plt, axis_label
from .keys import SM_LABEL, SM_LINE, interval_with_marks, note_handle

#: A set narrower than this fraction of its axis gets a diamond at its centre: at 3 inches per panel, 2% is
#: ~6 pixels at 100 dpi, below which a bar reads as a tick.
NARROW_FRACTION = 0.02


def credible_sets_figure(rows: Sequence[tuple[str, Mapping[str, list[list[float]]]]], params: Sequence[str],
                         xlims: Mapping[str, tuple[float, float]], level: float = 0.95, title: str | None = None,
                         xlabels: Mapping[str, str] | None = None, sm: Mapping[str, float] | None = None) -> Any:
    """One panel per parameter of ``params``, one row per fit: ``rows`` = (label, {parameter: [[lo, hi], ...]}),
    the ``level`` credible sets (unions of intervals) drawn as bars inside ``xlims[parameter]``.

    A set running past an axis end gets an arrow there with the end's value; a set narrower than
    NARROW_FRACTION of the axis a diamond at its centre (so a sliver stays visible); the SM value (``sm``,
    default 0) a red line. ``xlabels`` replace the parameters' axis labels. Returns the Figure.
    """
    import matplotlib.lines

    plt = _plt()
    sm = sm or {}
    fig, axes = plt.subplots(1, len(params), figsize=(2.9 * len(params) + 2.0, 0.55 * len(rows) + 2.2), sharey=True,
                             squeeze=False)
    axes = axes[0]
    clipped = narrow = False
    for ax, p in zip(axes, params, strict=True):
        xlim = tuple(xlims[p])
        for k, (_, sets) in enumerate(rows):
            for lo, hi in sets.get(p, []):
                clipped |= lo < xlim[0] or hi > xlim[1]
                narrow |= (min(hi, xlim[1]) - max(lo, xlim[0])) < NARROW_FRACTION * (xlim[1] - xlim[0])
                interval_with_marks(ax, lo, hi, k, f"C{k}", xlim, min_fraction=NARROW_FRACTION)
        ax.axvline(sm.get(p, 0.0), **SM_LINE)
        ax.set_xlim(xlim)
        ax.set_xlabel((xlabels or {}).get(p, axis_label(p)))
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(rows)))
    axes[0].set_yticklabels([label for label, _ in rows], fontsize=8)
    axes[0].set_ylim(len(rows) - 0.4, -0.7)
    handles = [matplotlib.lines.Line2D([], [], color="0.4", lw=6, label=f"{level:.0%} HPD set"),
               matplotlib.lines.Line2D([], [], label=SM_LABEL, **SM_LINE)]
    if clipped:
        handles.append(note_handle("\u25c0 \u25b6 set continues past the axis (end value written)"))
    if narrow:
        handles.append(matplotlib.lines.Line2D([], [], color="0.4", marker="D", ls="none", ms=5,
                                               label=f"set narrower than {NARROW_FRACTION:.0%} of the axis (centre)"))
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    return fig
