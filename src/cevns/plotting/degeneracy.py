"""The paper's Fig. 1: lines and rings of NSI couplings that keep a target's Standard-Model rate."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..physics.degeneracy import intersections
from ._common import _latex, _plt
from .keys import SM_LABEL, SM_MARKER


def degeneracy_figure(lines: list, sns_ellipses: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], limit: float = 1.0,
                      title: str | None = None) -> Any:
    """The paper's Fig. 1 in three panels (Dent et al., arXiv:1711.03521, sec. II).

    (a) one flavor: SM and mirror lines in (eps^u, eps^d) per target, crossings marked;
    (b) distinguishable flavors (eps^d = 0): lines where the nu_e and the nu_mu rate each
        keep their SM value (a grid of four points per target) beside the contour where the
        flavor-summed stopped-pion rate does (``sns_ellipses``: x, y, relative rate grid);
    (c) flavor-changing: the SM-rate ring in (eps^u_ee, eps^u_emu) per target.

    Each panel's key names the targets and the line styles; the SM point (all couplings 0) is a red cross.
    ``title`` replaces the default (the targets and what the lines are).
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    grid = np.linspace(-limit, limit, 400)
    ax = axes[0]
    for k, t in enumerate(lines):
        color = f"C{k}"
        ax.plot(grid, t.sm_d(grid), color=color, lw=1.5, label=f"{t.name} ($\\beta$ = {t.beta:.3f})")
        ax.plot(grid, t.mirror_d(grid), color=color, lw=1.5, ls="--")
    ax.plot([], [], color="0.3", ls="-", label="SM-rate line")
    ax.plot([], [], color="0.3", ls="--", label="mirror line")
    if len(lines) >= 2:
        for k, c in enumerate(intersections(lines[0], lines[1])[:2]):
            ax.plot(*c["point"], "ko", ms=5, zorder=5, label=f"{lines[0].name}/{lines[1].name} crossings" if k == 0 else None)
    ax.plot(0, 0, **SM_MARKER, zorder=6, label=SM_LABEL)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), xlabel=_latex("eps_u_ee"), ylabel=_latex("eps_d_ee"),
           title="(a) one flavor: SM-rate and mirror lines")
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
    ax.plot([], [], color="0.3", ls="-", label=r"$\nu_e$ or $\nu_\mu$ rate at SM (solid: SM, dashed: mirror)")
    ax.plot([], [], "k:", label="flavors summed (SNS)")
    ax.plot(0, 0, **SM_MARKER, zorder=6, label=SM_LABEL)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), xlabel=_latex("eps_u_ee"), ylabel=_latex("eps_u_mumu"),
           title=r"(b) distinguishable flavors ($\varepsilon^d = 0$)")
    ax.legend(fontsize=8, loc="lower left")

    ax = axes[2]
    phi = np.linspace(0, 2 * np.pi, 400)
    for k, t in enumerate(lines):
        (cx, cy), r = t.ring_center, t.ring_radius
        ax.plot(cx + r * np.cos(phi), cy + r * np.sin(phi), color=f"C{k}", label=f"{t.name}: SM-rate ring")
    ax.plot(0, 0, **SM_MARKER, zorder=6, label=SM_LABEL)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), xlabel=_latex("eps_u_ee"), ylabel=_latex("eps_u_emu"),
           title="(c) flavor-changing: SM-rate rings", aspect="equal")
    ax.legend(fontsize=8, loc="lower left")
    names = " and ".join(t.name for t in lines)
    fig.suptitle(title or f"{names}: NSI couplings (in units of $G_F$) that leave the CEvNS rate at its "
                 "Standard-Model value", fontsize=11)
    fig.tight_layout()
    return fig
