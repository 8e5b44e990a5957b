"""Light vector mediator: allowed regions in the (mass, coupling) plane (``cevns mediator-limits``).

A flavor-universal vector mediator Z' of mass m coupling with g to neutrinos and to u and d
quarks alike adds to every charge Q_aa the term 3A eps(0) P(T), with the contact value
eps(0) = g^2 / (sqrt2 G_F m^2) and the propagator P(T) = m^2 / (m^2 + 2 m_N T)
(``cevns.physics.mediators``; e.g. Cerdeno et al., JHEP 05 (2016) 118; Liao & Marfatia,
PLB 775 (2017) 54). With g^2 > 0 the Z' interferes destructively with the SM charge: the
allowed couplings are a band around g = 0 and, where the Z' term flips the charge's sign,
a second band.

For each mass on a log grid the model is rebuilt with that mass (``[physics]
log10_mediator_mass_MeV``), the posterior of eps(0) >= 0 (flat prior, nuisances integrated
out per point by the Laplace approximation) is evaluated on a fine grid, and its HPD set at
``level`` is mapped to g = sqrt(sqrt2 G_F m^2 eps(0)). This is the Bayesian analogue of the
Delta chi^2 bands in the literature.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from . import units
from .config import resolve_raw, validate_config
from .inference.results import hpd_intervals
from .model import Model
from .scenario import Scenario

#: Largest effective coupling |eps(0) P(T)| the grid covers at the smallest momentum transfer of the
#: scenario: 2 reaches past the second (sign-flipped charge) band, at eps ~ 2 |Q_SM| / (3A) < 0.4 for every target.
EFFECTIVE_COUPLING_RANGE = 2.0
#: Points of the eps(0) grid per mass: the HPD ends are resolved to 1/2000 of the range.
GRID_POINTS = 4001


def _smallest_q2_MeV2(scenario: Scenario) -> float:
    """Smallest 2 m_N T (MeV^2) at the analysis thresholds of the scenario's experiments."""
    return min(2.0 * iso.mass_MeV * m.experiment.detector.threshold_keV * units.keV
               for m in scenario.experiments for iso in m.experiment.detector.target.isotopes)


def coupling_from_contact(eps0: np.ndarray, mass_MeV: float) -> np.ndarray:
    """g = sqrt(sqrt2 G_F m^2 eps(0)) for eps(0) >= 0 (dimensionless)."""
    return np.sqrt(np.sqrt(2.0) * units.G_FERMI_MeV2 * mass_MeV**2 * np.asarray(eps0, dtype=float))


def mediator_allowed_regions(scenario_name: str, log10_masses_MeV: Sequence[float], level: float = 0.95) -> dict:
    """Allowed g bands (HPD sets at ``level``) per mediator mass for one scenario (module docstring)."""
    raw = resolve_raw(scenario_name)
    out = {"scenario": scenario_name, "level": level, "masses_MeV": [], "allowed_g": [], "allowed_eps0": []}
    for log10_mass in log10_masses_MeV:
        edited = copy.deepcopy(raw)
        edited.setdefault("physics", {})["log10_mediator_mass_MeV"] = float(log10_mass)
        mass = 10.0 ** float(log10_mass)
        base = Scenario(validate_config({**edited, "fit": {**edited.get("fit", {}), "free": {"eps_zprime": [0.0, 1.0]},
                                                          "fixed": {}, "grid_points": {}}}, scenario_name), scenario_name)
        eps_max = EFFECTIVE_COUPLING_RANGE * (mass**2 + _smallest_q2_MeV2(base)) / mass**2
        model = Model.from_scenario(base)
        data = model.observed() if base.config.fit.data == "observed" else model.asimov()
        grid = np.linspace(0.0, eps_max, GRID_POINTS)
        free = np.zeros((grid.size, model.free_indices.size))
        free[:, model.sampled_names("marginalized").index("eps_zprime")] = grid
        log_post = model.log_marginal_likelihood(free, data)
        weights = np.exp(log_post - np.max(log_post))
        intervals = hpd_intervals(grid, weights, level, (0.0, eps_max))
        out["masses_MeV"].append(mass)
        out["allowed_eps0"].append(intervals)
        out["allowed_g"].append([[float(coupling_from_contact(lo, mass)), float(coupling_from_contact(hi, mass))]
                                 for lo, hi in intervals])
    return out


def mediator_figure(results: Sequence[dict], labels: Sequence[str]):  # noqa: ANN201
    """Allowed bands in the (m_Z', g) plane, one colour per scenario."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for k, (result, label) in enumerate(zip(results, labels, strict=True)):
        masses = np.asarray(result["masses_MeV"])
        n_bands = max(len(b) for b in result["allowed_g"])
        for band in range(n_bands):
            lo = np.array([b[band][0] if band < len(b) else np.nan for b in result["allowed_g"]])
            hi = np.array([b[band][1] if band < len(b) else np.nan for b in result["allowed_g"]])
            ax.fill_between(masses, np.maximum(lo, 1e-8), hi, color=f"C{k}", alpha=0.35, lw=0,
                            label=f"{label}: {result['level']:.0%} allowed" if band == 0 else None)
    ax.set(xscale="log", yscale="log", xlabel=r"$m_{Z'}$ [MeV]", ylabel=r"$g$ (universal $g_\nu = g_u = g_d$)",
           title="Light vector mediator: allowed couplings")
    ax.set_ylim(bottom=1e-7)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
