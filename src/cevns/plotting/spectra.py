"""Rates figures (``cevns rates --plot``): recoil spectra by flavor (with the Standard-Model total beside an NSI
point) and measured releases in their own bins, titled with the scenario and the NSI point."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..physics.couplings import NSI_NAMES
from ..physics.flavors import Flavor
from ._common import _axes, _plt


def plot_recoil_spectrum(experiment_model: Any, eps: np.ndarray | None = None, ax: Any = None, n_points: int = 400) -> Any:
    """SM (or NSI) recoil spectrum dN/dT by flavor over the analysis window, with the
    flat background and the bin edges. Counts per keV over the full exposure. At an NSI point
    (``eps`` not all zero) the Standard-Model total is drawn too (dotted), for reference."""
    ax = _axes(ax, figsize=(6, 4))
    exp = experiment_model.experiment
    edges = experiment_model.kernels.bin_edges_keV
    t_keV = np.linspace(edges[0], edges[-1], n_points)
    spectrum = exp.recoil_spectrum(t_keV, eps)
    for ci, comp in enumerate(exp.source.components):
        ax.plot(t_keV, spectrum[:, ci], label=Flavor(comp.flavor).latex)
    nsi = eps is not None and bool(np.any(np.asarray(eps) != 0))
    if spectrum.shape[1] > 1 or nsi:
        ax.plot(t_keV, spectrum.sum(axis=1), "k-", lw=1.5, label="total signal" + (" (NSI)" if nsi else ""))
    if nsi:
        ax.plot(t_keV, exp.recoil_spectrum(t_keV, None).sum(axis=1), color="red", ls=":", lw=1.5,
                label="total signal, Standard Model")
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


def plot_release_counts(entry: dict[str, Any], ax: Any = None) -> Any:
    """A measured release's channel (an entry of :func:`cevns.app.rates.rates_table`) in its own observable
    bins, numbered in the release's order: stacked backgrounds, the signal on top, observed counts. At an NSI
    point (the entry's signal differs from its ``signal_standard_model``) the Standard Model's background +
    signal is drawn too (red dotted), for reference."""
    ax = _axes(ax, figsize=(6, 4))
    n = len(entry["signal"])
    edges = np.arange(n + 1) - 0.5
    base = np.zeros(n)
    for name, values in entry["backgrounds"].items():
        top = base + np.asarray(values)
        ax.stairs(top, edges, baseline=base, fill=True, alpha=0.5, label=name)
        base = top
    reference = entry.get("signal_standard_model")
    nsi = reference is not None and not np.allclose(reference, entry["signal"], rtol=1e-12, atol=0.0)
    if entry["signal_by_component"]:
        ax.stairs(base + np.asarray(entry["signal"]), edges, baseline=base, fill=True, alpha=0.6, color="k",
                  label=f"CEvNS signal{', NSI' if nsi else ''} ({entry['total_signal']:.4g})")
    if nsi:
        ax.stairs(base + np.asarray(reference), edges, color="red", ls=":", lw=1.3,
                  label=f"background + signal, Standard Model (signal {entry['total_signal_standard_model']:.4g})")
    if entry["observed"] is not None:
        ax.errorbar(np.arange(n), entry["observed"], yerr=np.sqrt(np.maximum(entry["observed"], 0.0)), fmt="k.",
                    ms=3, lw=0.6, label=f"observed ({entry['total_observed']:.4g})")
    ax.set_xlabel(f"bin ({entry['bin_labels'][0]} ... {entry['bin_labels'][-1]})", fontsize=8)
    ax.set_ylabel("counts per bin")
    ax.set_title(f"{entry['name']} (measured release" + ("" if entry["signal_by_component"] else ", control channel: no signal")
                 + ")")
    ax.legend(fontsize=7)
    return ax


def nsi_point_text(eps: np.ndarray | None) -> str:
    """The NSI point in words: "the Standard Model" or "NSI eps_u_ee = +0.2, ..." (the non-zero couplings)."""
    if eps is None or not np.any(np.asarray(eps) != 0):
        return "the Standard Model"
    values = np.asarray(eps, dtype=float)
    return "NSI " + ", ".join(f"{name} = {v:+.3g}" for name, v in zip(NSI_NAMES, values, strict=False) if v != 0)


def rates_figure(scenario: Any, eps: np.ndarray | None = None, table: dict[str, Any] | None = None,
                 title: str | None = None) -> Any:
    """One panel per experiment of a scenario (recoil spectra by flavor), then one per measured
    release channel of ``table`` (:func:`cevns.app.rates.rates_table`) in its observable bins; titled with
    the scenario and the NSI point (``title`` replaces it)."""
    plt = _plt()
    models = scenario.experiments
    releases = [e for e in (table or {}).get("experiments", []) if e.get("kind") == "release"]
    n_panels = max(len(models) + len(releases), 1)
    ncols = min(2, n_panels)
    nrows = int(np.ceil(n_panels / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(6 * ncols, 4 * nrows), squeeze=False)
    panels = axes.ravel()
    for ax, model in zip(panels, models, strict=False):
        plot_recoil_spectrum(model, eps, ax=ax)
    for ax, entry in zip(panels[len(models):], releases, strict=False):
        plot_release_counts(entry, ax=ax)
    for ax in panels[len(models) + len(releases):]:
        ax.set_visible(False)
    fig.suptitle(title or f"{scenario.name}: expected events at {nsi_point_text(eps)}", fontsize=11)
    fig.tight_layout()
    return fig
