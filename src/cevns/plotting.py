"""Plots. Each function takes ``ax=None`` (creates one) and returns the artists/axes."""

from __future__ import annotations

from typing import Any

import numpy as np

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


def rates_figure(scenario: Any, eps: np.ndarray | None = None) -> Any:
    """One panel per experiment of a scenario: recoil spectra by flavor."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    models = scenario.experiments
    ncols = min(2, len(models))
    nrows = int(np.ceil(len(models) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(6 * ncols, 4 * nrows), squeeze=False)
    for ax, model in zip(axes.ravel(), models, strict=False):
        plot_recoil_spectrum(model, eps, ax=ax)
    for ax in axes.ravel()[len(models):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_credible_region(ax: Any, x: np.ndarray, y: np.ndarray, weights: np.ndarray, bounds_x: Any, bounds_y: Any,
                         levels: tuple[float, ...] = (0.68, 0.95), color: str = "C0", filled: bool = True, label: str | None = None) -> Any:
    """Filled (or line) 2-D credible regions at ``levels`` on ``ax``."""
    import matplotlib.colors as mcolors

    from .inference.results import credible_region_2d

    xc, yc, density, thresholds = credible_region_2d(x, y, weights, bounds_x, bounds_y, levels)
    ordered = sorted(thresholds)  # outer (lowest density) first
    base = mcolors.to_rgb(color)
    if filled:
        shades = [tuple(1 - (1 - c) * a for c in base) for a in np.linspace(0.35, 0.8, len(ordered))]
        artist = ax.contourf(xc, yc, density, levels=ordered + [density.max() * 1.01], colors=shades)
    else:
        artist = ax.contour(xc, yc, density, levels=ordered, colors=[color], linestyles=["--", "-"][: len(ordered)])
    if label:
        ax.plot([], [], color=color, label=label)
    return artist


def corner_figure(samples: np.ndarray, weights: np.ndarray, names: list[str], bounds: dict, truth: np.ndarray | None = None) -> Any:
    """Triangle plot: 1-D marginals on the diagonal, 68/95% regions below, SM point as a red cross."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .fit import coupling_latex

    d = len(names)
    truth = np.zeros(d) if truth is None else truth
    fig, axes = plt.subplots(d, d, figsize=(2.4 * d + 0.6, 2.4 * d + 0.6), squeeze=False)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            bx = bounds[names[j]]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(samples[:, i], bins=60, range=bx, weights=weights, histtype="stepfilled", color="C0", alpha=0.6)
                ax.axvline(truth[i], color="red", lw=1)
                ax.set_yticks([])
            else:
                by = bounds[names[i]]
                plot_credible_region(ax, samples[:, j], samples[:, i], weights, bx, by)
                ax.plot(truth[j], truth[i], "rx", ms=8, mew=2)
                ax.set_ylim(by)
            ax.set_xlim(bx)
            if i == d - 1:
                ax.set_xlabel(coupling_latex(names[j]))
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(coupling_latex(names[i]))
            elif j > 0:
                ax.set_yticklabels([])
    fig.tight_layout()
    return fig


def _latex(name: str) -> str:
    from .fit import coupling_latex

    return coupling_latex(name)


def posterior_panel(ax: Any, samples: dict[str, np.ndarray], weights: np.ndarray, x: str, y: str, bounds: dict,
                    levels: tuple[float, ...] = (0.68, 0.95), color: str = "C0", filled: bool = True,
                    label: str | None = None, sm_point: tuple[float, float] = (0.0, 0.0)) -> Any:
    """One 2-D posterior panel: credible regions of (x, y), SM point as a red cross, prior range as axes range."""
    plot_credible_region(ax, samples[x], samples[y], weights, bounds[x], bounds[y], levels, color=color, filled=filled, label=label)
    ax.plot(*sm_point, "rx", ms=9, mew=2, zorder=5)
    ax.set_xlim(bounds[x])
    ax.set_ylim(bounds[y])
    ax.set_xlabel(_latex(x))
    ax.set_ylabel(_latex(y))
    return ax


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
