"""Fit parameters: free NSI couplings (flat priors) and nuisance normalizations (Gaussian).

Each nuisance declares itself (pyhf ``normfactor`` style): its name, its prior
width and what it scales (SPEC S4). One flux normalization per source
component, shared by every experiment that sees that source; one background
normalization per experiment. A normalization with zero uncertainty is not a
parameter: it stays at 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from ..errors import ConfigError
from ..physics.couplings import NSI_NAMES


@dataclass(frozen=True)
class Coupling:
    """A free NSI coupling with a flat prior on [low, high]."""

    name: str
    low: float
    high: float


@dataclass(frozen=True)
class Nuisance:
    """A normalization with a Gaussian prior N(1, sigma).

    ``kind`` is ``"flux"`` (scales source component ``target`` of source
    ``source``) or ``"background"`` (scales the background of experiment
    ``target``).
    """

    name: str
    sigma: float
    kind: str
    source: str
    target: str


@dataclass(frozen=True)
class ParameterSpace:
    couplings: tuple[Coupling, ...]
    nuisances: tuple[Nuisance, ...]
    fixed: dict[str, float]

    @property
    def coupling_names(self) -> list[str]:
        return [c.name for c in self.couplings]

    @property
    def nuisance_names(self) -> list[str]:
        return [n.name for n in self.nuisances]

    def sampled_names(self, nuisances_sampled: bool) -> list[str]:
        return self.coupling_names + (self.nuisance_names if nuisances_sampled else [])

    def prior_transform(self, cube: np.ndarray, nuisances_sampled: bool) -> np.ndarray:
        """Map unit-cube points (n, d) to parameters: flat for couplings, N(1, sigma) for nuisances."""
        cube = np.atleast_2d(np.asarray(cube, dtype=float))
        out = np.empty_like(cube)
        p = len(self.couplings)
        lows = np.array([c.low for c in self.couplings])
        highs = np.array([c.high for c in self.couplings])
        out[:, :p] = lows + cube[:, :p] * (highs - lows)
        if nuisances_sampled and self.nuisances:
            sigmas = np.array([n.sigma for n in self.nuisances])
            out[:, p:] = 1.0 + sigmas * special.ndtri(np.clip(cube[:, p:], 1e-300, 1 - 1e-16))
        return out

    def bounds(self) -> dict[str, tuple[float, float]]:
        return {c.name: (c.low, c.high) for c in self.couplings}


def build_parameter_space(scenario) -> ParameterSpace:  # noqa: ANN001 - Scenario, avoids a cycle
    """Free couplings from ``[fit]`` and the nuisances the scenario's sources and experiments declare."""
    fit = scenario.config.fit
    if not fit.free:
        raise ConfigError(f"scenario {scenario.name!r} has no free couplings: add [fit] free = {{ eps_u_ee = [-1.5, 1.5] }}")
    for name in list(fit.free) + list(fit.fixed):
        if name not in NSI_NAMES:  # pragma: no cover - the schema canonicalizes names
            raise ConfigError(f"unknown coupling {name!r} in [fit]")
    couplings = tuple(Coupling(name, float(lo), float(hi)) for name, (lo, hi) in fit.free.items())
    nuisances: list[Nuisance] = []
    used_sources: list[str] = []
    for model in scenario.experiments:
        if model.config.source not in used_sources:
            used_sources.append(model.config.source)
    for source_name in used_sources:
        for comp in scenario.source(source_name).components:
            if comp.normalization_uncertainty > 0:
                nuisances.append(Nuisance(f"norm_{source_name}_{comp.name}", comp.normalization_uncertainty, "flux", source_name, comp.name))
    for model in scenario.experiments:
        if model.background_uncertainty > 0 and np.any(model.background > 0):
            nuisances.append(Nuisance(f"norm_bkg_{model.name}", model.background_uncertainty, "background", "", model.name))
    return ParameterSpace(couplings, tuple(nuisances), dict(fit.fixed))
