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
