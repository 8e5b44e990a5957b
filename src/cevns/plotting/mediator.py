"""The light-mediator figure (``cevns mediator-limits``): allowed bands of a universal vector mediator in the
(mass, coupling) plane, one colour per scenario, titled with the scenarios and the credible level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import _axes
from .keys import note_handle

#: Lower edge of the coupling axis: a band reaching g = 0 (the Standard Model, off a log axis) is drawn
#: down to here and the key says so.
G_FLOOR = 1e-7


def mediator_limits_figure(results: Sequence[dict], labels: Sequence[str], title: str | None = None) -> Any:
    """Allowed bands in the (m_Z', g) plane, one colour per scenario (``results``: the dicts of
    :func:`cevns.app.limits.mediator_allowed_regions`, with ``masses_MeV``, ``allowed_g`` and ``level``).
    The Standard Model, g = 0, lies below the log axis: a band that includes it runs to the axis's floor."""
    ax = _axes(figsize=(6.4, 4.8))
    fig = ax.figure
    reaches_sm = False
    for k, (result, label) in enumerate(zip(results, labels, strict=True)):
        masses = np.asarray(result["masses_MeV"])
        n_bands = max((len(b) for b in result["allowed_g"]), default=0)
        for band in range(n_bands):
            lo = np.array([b[band][0] if band < len(b) else np.nan for b in result["allowed_g"]])
            hi = np.array([b[band][1] if band < len(b) else np.nan for b in result["allowed_g"]])
            reaches_sm |= bool(np.any(lo <= 0))
            ax.fill_between(masses, np.maximum(lo, G_FLOOR), hi, color=f"C{k}", alpha=0.35, lw=0,
                            label=f"{label}: {result['level']:.0%} allowed" if band == 0 else None)
    ax.set(xscale="log", yscale="log", xlabel=r"$m_{Z'}$ [MeV]",
           ylabel=r"$g$ (universal $g_\nu = g_u = g_d$, dimensionless)")
    ax.set_ylim(bottom=G_FLOOR)
    levels = sorted({f"{r['level']:.0%}" for r in results})
    ax.set_title(title or f"Light vector mediator, {', '.join(levels)} allowed: {', '.join(labels)}", fontsize=10)
    handles, _ = ax.get_legend_handles_labels()
    if reaches_sm:
        handles.append(note_handle("bands reaching the axis floor include g = 0 (Standard Model)"))
    ax.legend(handles=handles, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
