"""The paper's Fig. 1: lines and rings of NSI couplings that keep a target's Standard-Model rate."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..physics.degeneracy import intersections
from ._common import _latex, _plt


def degeneracy_figure(lines: list, sns_ellipses: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], limit: float = 1.0) -> Any:
    """The paper's Fig. 1 in three panels (Dent et al., arXiv:1711.03521, sec. II).

    (a) one flavor: SM and mirror lines in (eps^u, eps^d) per target, crossings marked;
    (b) distinguishable flavors (eps^d = 0): lines where the nu_e and the nu_mu rate each
        keep their SM value (a grid of four points per target) beside the contour where the
        flavor-summed stopped-pion rate does (``sns_ellipses``: x, y, relative rate grid);
    (c) flavor-changing: the SM-rate ring in (eps^u_ee, eps^u_emu) per target.
    """
    plt = _plt()
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
