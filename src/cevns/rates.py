"""Expected counts of a scenario as plain data (the ``cevns rates`` output)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ConfigError
from .scenario import Scenario


def rates_table(scenario: Scenario, eps: np.ndarray) -> dict[str, Any]:
    """Signal per bin (total and by flavor), background per bin and totals for every experiment.

    Flavors whose components share a flavor (none in the built-in sources) are summed.
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
    for exp in experiments:
        if not all(np.isfinite(v) for key in ("signal", "background") for v in exp[key]):
            raise ConfigError(f"experiment {exp['name']!r}: expected counts are not finite (overflow); "
                              "the NSI values, fluxes or exposure are too large")
    return {"scenario": scenario.name, "experiments": experiments}


def format_rates(table: dict[str, Any], nsi: dict[str, float]) -> str:
    """A readable text table of :func:`rates_table`."""
    lines = [f"scenario: {table['scenario']}" + (f"   NSI: {nsi}" if nsi else "   (Standard Model)")]
    for exp in table["experiments"]:
        flavors = list(exp["signal_by_flavor"])
        lines.append("")
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
