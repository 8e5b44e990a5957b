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
