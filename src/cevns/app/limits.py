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
Delta chi^2 bands in the literature. A scenario's free (flat-prior) normalisations, such as a
measured release's steady-state or reactor background levels, have no constraint for the Laplace
step to integrate: they are profiled (maximised) along the eps(0) grid (:func:`_profile_free_norms`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from .. import units
from ..spec.config import resolve_raw, validate_config
from ..errors import ConfigError
from ..inference.density import hpd_intervals
from ..model import Model
from ..builders.scenario import Scenario

#: Largest effective coupling |eps(0) P(T)| the grid covers at the smallest momentum transfer of the
#: scenario: 2 reaches past the second (sign-flipped charge) band, at eps ~ 2 |Q_SM| / (3A) < 0.4 for every target.
EFFECTIVE_COUPLING_RANGE = 2.0
#: Points of the eps(0) grid per mass: the HPD ends are resolved to 1/2000 of the range.
GRID_POINTS = 4001
#: Free normalisations are maximised at every PROFILE_STRIDE-th grid point (warm-started along the grid) and
#: interpolated linearly between: their best values move smoothly with eps(0).
PROFILE_STRIDE = 20


def _profile_free_norms(model: Model, data: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Log marginal likelihood along the eps(0) grid, the free normalisations at their best values.

    Constrained nuisances are integrated by the model's Laplace step; the flat-prior ``normfactor``
    parameters (none in the projections) are maximised at every :data:`PROFILE_STRIDE`-th grid point by
    L-BFGS-B within their prior ranges, starting from the previous node's optimum.
    """
    from scipy import optimize

    names = model.sampled_names("marginalized")
    column = names.index("eps_zprime")
    others = [k for k, n in enumerate(names) if k != column]
    free = np.zeros((grid.size, len(names)))
    free[:, column] = grid
    if not others:
        return model.log_marginal_likelihood(free, data)
    params = {p.name: p for p in model.parameters}
    bounds = [tuple(params[names[k]].bounds) for k in others]
    start = np.array([params[names[k]].init for k in others], dtype=float)
    nodes = np.unique(np.append(np.arange(0, grid.size, PROFILE_STRIDE), grid.size - 1))
    best = np.zeros((nodes.size, len(others)))

    def negative(values: np.ndarray, eps: float) -> float:
        point = np.zeros((1, len(names)))
        point[0, column], point[0, others] = eps, values
        value = float(model.log_marginal_likelihood(point, data)[0])
        return -value if np.isfinite(value) else 1e300

    for k, node in enumerate(nodes):
        result = optimize.minimize(negative, start, args=(float(grid[node]),), method="L-BFGS-B", bounds=bounds)
        best[k] = start = result.x
    for j, k in enumerate(others):
        free[:, k] = np.interp(np.arange(grid.size), nodes, best[:, j])
    return model.log_marginal_likelihood(free, data)


def _smallest_q2_MeV2(scenario: Scenario, channels: Sequence) -> float:
    """Smallest 2 m_N T (MeV^2) at which any channel of the scenario (experiment or measured release) sees
    recoils: its threshold on its lightest isotope."""
    values = [c.smallest_q2_MeV2 for c in channels if c.smallest_q2_MeV2 is not None]
    if not values:
        raise ConfigError(f"scenario {scenario.name!r} has no channel with a CEvNS signal to bound a mediator with")
    return min(values)


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
        channels = base.channels_at(None)
        eps_max = EFFECTIVE_COUPLING_RANGE * (mass**2 + _smallest_q2_MeV2(base, channels)) / mass**2
        model = Model.from_scenario(base, channels=channels)
        data = model.observed() if base.config.fit.data == "observed" else model.asimov()
        grid = np.linspace(0.0, eps_max, GRID_POINTS)
        log_post = _profile_free_norms(model, data, grid)
        weights = np.exp(log_post - np.max(log_post))
        intervals = hpd_intervals(grid, weights, level, (0.0, eps_max))
        out["masses_MeV"].append(mass)
        out["allowed_eps0"].append(intervals)
        out["allowed_g"].append([[float(coupling_from_contact(lo, mass)), float(coupling_from_contact(hi, mass))]
                                 for lo, hi in intervals])
    return out


def mediator_figure(results: Sequence[dict], labels: Sequence[str]):  # noqa: ANN201
    """Allowed bands in the (m_Z', g) plane, one colour per scenario (drawn by
    :func:`cevns.plotting.mediator_limits_figure`, titled with the scenarios and the level)."""
    from ..plotting import mediator_limits_figure

    return mediator_limits_figure(results, labels)
