"""Expected counts of a scenario as plain data (the ``cevns rates`` output): the projected experiments in
recoil-energy bins, the measured releases in their own observable bins."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..experiment import quadratic_signal
from ..builders.scenario import Scenario


def _finite_or_error(entry: dict[str, Any]) -> None:
    values = [*entry["signal"], *entry["background"]]
    if not all(np.isfinite(v) for v in values):
        raise ConfigError(f"experiment {entry['name']!r}: expected counts are not finite (overflow); "
                          "the NSI values, fluxes or exposure are too large")


def _release_entry(channel: Any, eps: np.ndarray) -> dict[str, Any]:  # noqa: ANN401
    """A measured release's channel in its own observable bins: signal by source component, the Standard
    Model's signal beside it (the reference of an NSI point), each named background at its nominal
    normalisation, and the observed counts."""
    with np.errstate(over="ignore", invalid="ignore"):
        signal = quadratic_signal(channel.quadratic_forms, eps)
    standard_model = quadratic_signal(channel.quadratic_forms, np.zeros_like(eps)).sum(axis=1)
    backgrounds = {k: np.asarray(v, dtype=float) for k, v in channel.backgrounds.items()}
    background = sum(backgrounds.values(), np.zeros(channel.n_bins))
    labels = channel.bin_labels or [f"{channel.name}[{j}]" for j in range(channel.n_bins)]
    prefix = f"{channel.name}["
    return {
        "name": channel.name,
        "kind": "release",
        "bin_labels": [lab[len(prefix):-1] if lab.startswith(prefix) and lab.endswith("]") else lab for lab in labels],
        "signal": [float(v) for v in signal.sum(axis=1)],
        "signal_by_component": {c: [float(v) for v in signal[:, k]] for k, c in enumerate(channel.component_names)},
        "signal_standard_model": [float(v) for v in standard_model],
        "background": [float(v) for v in background],
        "backgrounds": {k: [float(x) for x in v] for k, v in backgrounds.items()},
        "observed": None if channel.observed is None else [float(v) for v in channel.observed],
        "total_signal": float(signal.sum()),
        "total_signal_standard_model": float(standard_model.sum()),
        "total_background": float(background.sum()),
        "total_observed": None if channel.observed is None else float(np.sum(channel.observed)),
    }


def rates_table(scenario: Scenario, eps: np.ndarray) -> dict[str, Any]:
    """Signal per bin (total and by flavor), background per bin and totals for every experiment, then
    every measured release's channel in its own observable bins (signal by component and the Standard
    Model's, backgrounds by name, observed counts) at the nominal nuisance values.

    ``eps``: the 12 NSI couplings (other linear parameters at zero). Flavors whose components share a
    flavor (none in the built-in sources) are summed.
    """
    experiments = []
    for model in scenario.experiments:
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results are refused below, in one line
            signal = model.kernels.signal(eps)  # (n_bins, n_components)
        by_flavor: dict[str, np.ndarray] = {}
        for ci, flavor in enumerate(model.kernels.flavors):
            by_flavor[flavor.value] = by_flavor.get(flavor.value, 0.0) + signal[:, ci]
        experiments.append(
            {
                "name": model.name,
                "kind": "experiment",
                "target": model.experiment.detector.target.name,
                "source": model.experiment.source.name,
                "bin_edges_keV": [float(x) for x in model.kernels.bin_edges_keV],
                "signal": [float(x) for x in signal.sum(axis=1)],
                "signal_by_flavor": {k: [float(x) for x in v] for k, v in by_flavor.items()},
                "background": [float(x) for x in model.background],
                "total_signal": float(signal.sum()),
                "total_background": float(model.background.sum()),
            }
        )
    experiments += [_release_entry(c, eps) for c in scenario.dataset_channels()]
    for exp in experiments:
        _finite_or_error(exp)
    return {"scenario": scenario.name, "experiments": experiments}


def background_notes(scenario: Scenario, table: dict[str, Any]) -> list[str]:
    """One line per experiment and release of :func:`rates_table`: the background counts the model uses
    (what ``cevns rates`` prints) and where they come from, for ``cevns scenarios NAME`` (a scenario file's
    ``background_per_kg_day_keV`` is not the whole story: a published excess sets its own background)."""
    configs = {e.name: e for e in scenario.config.experiments}
    lines = []
    for entry in table["experiments"]:
        total, name = entry["total_background"], entry["name"]
        if entry["kind"] == "release":
            parts = ", ".join(f"{k} {sum(v):.4g}" for k, v in entry["backgrounds"].items())
            lines.append(f"{name}: {total:.4g} background counts ({parts or 'none'}): the release's own background "
                         "components at their nominal normalisations (docs/data.md)")
            continue
        cfg = configs[name]
        if cfg.observed is not None and cfg.observed.signal is not None:
            o = cfg.observed
            why = (f"an effective background, not background_per_kg_day_keV: the published excess {o.signal:g} +- "
                   f"{o.signal_error:g} enters as one bin, and B solves {o.signal:g} + B + ({cfg.background_uncertainty:g} B)^2 "
                   f"= {o.signal_error:g}^2, so that the fit reproduces the published error (docs/physics.md)")
        elif cfg.background_per_kg_day_keV > 0:
            why = (f"background_per_kg_day_keV {cfg.background_per_kg_day_keV:g} x exposure_kg_day {cfg.exposure_kg_day:g} x "
                   f"the {cfg.window_max_keV - cfg.threshold_keV:g} keV window")
        else:
            why = "no background"
        lines.append(f"{name}: {total:.4g} background counts in {len(entry['background'])} bin(s): {why}")
    return lines


#: A release with more bins than this prints its largest-signal bins only (``--json`` has them all).
MAX_PRINTED_BINS = 40


def _format_release(exp: dict[str, Any]) -> list[str]:
    components = list(exp["signal_by_component"])
    names = list(exp["backgrounds"])
    observed = exp["observed"]
    width = max(12, *(len(lab) for lab in exp["bin_labels"]))
    lines = [f"{exp['name']}: measured release, {len(exp['signal'])} bins"
             + (f", signal by component ({', '.join(components)})" if components else ", no signal (control channel)")]
    col = {c: max(11, len(c)) for c in [*components, *names]}
    header = f"{'bin':>{width}} " + " ".join(f"{c:>{col[c]}}" for c in components)
    header += f" {'signal':>11} " + " ".join(f"{b:>{col[b]}}" for b in names) + (f" {'observed':>11}" if observed else "")
    lines.append(header)
    rows = range(len(exp["signal"]))
    if len(exp["signal"]) > MAX_PRINTED_BINS:
        order = np.argsort(exp["signal"])[::-1] if components else np.argsort(exp["background"])[::-1]
        rows = sorted(order[:MAX_PRINTED_BINS].tolist())
        lines.append(f"({MAX_PRINTED_BINS} bins with the largest {'signal' if components else 'background'}; "
                     "--json lists all)")
    for j in rows:
        row = f"{exp['bin_labels'][j]:>{width}} " + " ".join(f"{exp['signal_by_component'][c][j]:{col[c]}.4g}" for c in components)
        row += f" {exp['signal'][j]:11.4g} " + " ".join(f"{exp['backgrounds'][b][j]:{col[b]}.4g}" for b in names)
        if observed:
            row += f" {observed[j]:11.4g}"
        lines.append(row)
    totals = f"{'total':>{width}} " + " ".join(f"{sum(exp['signal_by_component'][c]):{col[c]}.4g}" for c in components)
    totals += f" {exp['total_signal']:11.4g} " + " ".join(f"{sum(exp['backgrounds'][b]):{col[b]}.4g}" for b in names)
    if observed:
        totals += f" {exp['total_observed']:11.4g}"
    lines.append(totals)
    return lines


def format_rates(table: dict[str, Any], nsi: dict[str, float]) -> str:
    """A readable text table of :func:`rates_table`."""
    lines = [f"scenario: {table['scenario']}" + (f"   NSI: {nsi}" if nsi else "   (Standard Model)")]
    for exp in table["experiments"]:
        lines.append("")
        if exp.get("kind") == "release":
            lines += _format_release(exp)
            continue
        flavors = list(exp["signal_by_flavor"])
        lines.append(f"{exp['name']}: target {exp['target']}, source {exp['source']}")
        header = f"{'bin [keV]':>19} " + " ".join(f"{f:>11}" for f in flavors) + f" {'signal':>11} {'background':>11}"
        lines.append(header)
        edges = exp["bin_edges_keV"]
        for j in range(len(exp["signal"])):
            row = f"{edges[j]:8.3f} - {edges[j + 1]:8.3f} "
            row += " ".join(f"{exp['signal_by_flavor'][f][j]:11.4g}" for f in flavors)
            row += f" {exp['signal'][j]:11.4g} {exp['background'][j]:11.4g}"
            lines.append(row)
        totals = " ".join(f"{sum(exp['signal_by_flavor'][f]):11.4g}" for f in flavors)
        lines.append(f"{'total':>19} {totals} {exp['total_signal']:11.4g} {exp['total_background']:11.4g}")
    return "\n".join(lines)
