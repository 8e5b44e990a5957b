"""Build sources, detectors and experiments from a validated scenario config.

This module only wires configuration to the physics objects; the one
modelling choice made here is the effective background of a published
single-bin excess (:func:`effective_background_for_error`), documented in
docs/physics.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from ..spec.config import ExperimentConfig, ReactorConfig, ScenarioConfig, SolarConfig, StoppedPionConfig, load_config
from ..detectors import Coherent2017Acceptance, Detector, TargetError, make_target, tabulated_efficiency, unit_efficiency
from ..errors import ConfigError
from ..experiment import Experiment, ExperimentError, PhysicsOptions, ResponseKernels
from .releases import build_channels
from ..physics.couplings import N_NSI
from ..spec import Channel
from ..sources import Source, flux_per_flavor_from_beam, reactor_flux_from_power, reactor_source, stopped_pion_source
from ..sources.solar import OscillationParameters, solar_flux_nuisances, solar_source


def effective_background_for_error(signal: float, signal_error: float, background_uncertainty: float) -> float:
    """Background count B that makes a one-bin Poisson likelihood reproduce a published error.

    With data D = S + B, Poisson(D | S + b B) and b ~ N(1, sigma_b), the
    variance of the fitted signal is D + (sigma_b B)^2 = S + B + sigma_b^2 B^2.
    Setting it to signal_error^2 and solving for B >= 0 gives the background
    that enters the likelihood (COHERENT 2017: 134 +- 22 events,
    Akimov et al., Science 357 (2017) 1123).
    """
    excess_variance = signal_error**2 - signal
    if excess_variance < 0:
        raise ConfigError(f"signal_error^2 ({signal_error**2}) must be >= signal ({signal})")
    if background_uncertainty == 0:
        return excess_variance
    s2 = background_uncertainty**2
    return float((-1.0 + np.sqrt(1.0 + 4.0 * s2 * excess_variance)) / (2.0 * s2))


def build_source(name: str, cfg: StoppedPionConfig | ReactorConfig | SolarConfig) -> Source:
    if isinstance(cfg, SolarConfig):
        osc = OscillationParameters(cfg.sin2_theta12, cfg.sin2_theta13, cfg.sin2_theta23, cfg.dm2_21_eV2,
                                    cfg.electron_density_NA_per_cm3)
        return solar_source(name, cfg.flux_model, tuple(cfg.branches), dict(cfg.fluxes_cm2_s), dict(cfg.uncertainties), osc)
    if isinstance(cfg, StoppedPionConfig):
        flux = cfg.flux_per_flavor_cm2_s
        if flux is None:
            flux = flux_per_flavor_from_beam(cfg.protons_on_target, cfg.nu_per_proton, cfg.distance_m, cfg.live_time_days)
        return stopped_pion_source(name, flux, cfg.normalization_uncertainty)
    flux = cfg.total_flux_cm2_s
    if flux is None:
        flux = reactor_flux_from_power(cfg.thermal_power_MW, cfg.distance_m, cfg.fission_fractions, cfg.spectrum)
    return reactor_source(name, flux, cfg.normalization_uncertainty, cfg.fission_fractions, cfg.spectrum)


def build_detector(cfg: ExperimentConfig) -> Detector:
    try:
        target = make_target(cfg.target)
    except TargetError as err:
        raise ConfigError(f"experiment {cfg.name!r}: target: {err}") from None
    if cfg.efficiency is None:
        efficiency = unit_efficiency()
    elif cfg.efficiency.model == "coherent-2017":
        e = cfg.efficiency
        efficiency = Coherent2017Acceptance(
            e.quenching_factor, e.light_yield_pe_per_keVee, e.amplitude, e.steepness_per_pe, e.midpoint_pe
        ).as_efficiency()
    else:
        efficiency = tabulated_efficiency(cfg.efficiency.recoil_keV, cfg.efficiency.efficiency)
    return Detector(
        target, cfg.threshold_keV, cfg.window_max_keV, cfg.bins, cfg.binning, efficiency,
        cfg.background_per_kg_day_keV, cfg.background_uncertainty,
    )


def source_flux_nuisances(source: Source) -> dict[str, tuple[str, float]]:
    """Component -> (parameter, sigma) of a source's flux normalisations, named per source: one per flavor
    component (``norm_<source>_<component>``), except the Sun, whose flavors share one per production
    branch (``norm_<source>_<branch>``: oscillations split one flux)."""
    if source.kind == "solar":
        return solar_flux_nuisances(source)
    return {c.name: (f"norm_{source.name}_{c.name}", c.normalization_uncertainty)
            for c in source.components if c.normalization_uncertainty > 0}


@dataclass
class ExperimentModel:
    """An :class:`Experiment` with its kernels (background included) and observed data."""

    config: ExperimentConfig
    experiment: Experiment
    kernels: ResponseKernels
    observed_counts: np.ndarray | None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def background(self) -> np.ndarray:
        """Expected background per bin at nominal normalization (the kernels' one background)."""
        return self.kernels.background

    @property
    def background_uncertainty(self) -> float:
        return self.config.background_uncertainty

    def asimov_counts(self) -> np.ndarray:
        """Expected counts at the SM point (non-integer Asimov data)."""
        return self.kernels.signal(np.zeros(N_NSI)).sum(axis=-1) + self.background


@dataclass
class Scenario:
    """A validated scenario with its experiments built (kernels computed lazily)."""

    config: ScenarioConfig
    origin: str = ""
    _sources: dict[str, Source] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, name_or_path: str | Path) -> Scenario:
        return cls(load_config(name_or_path), str(name_or_path))

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def physics(self) -> PhysicsOptions:
        p = self.config.physics
        return PhysicsOptions(p.sin2_theta_w, p.kinematics, p.form_factor, p.couplings, p.neutron_radius_fm,
                              p.log10_mediator_mass_MeV)

    def source(self, name: str) -> Source:
        if name not in self._sources:
            self._sources[name] = build_source(name, self.config.sources[name])
        return self._sources[name]

    @cached_property
    def experiments(self) -> list[ExperimentModel]:
        return self.experiments_at(self.physics)

    def channels_at(self, physics: PhysicsOptions | None = None) -> list[Channel]:
        """The model channels (:class:`cevns.spec.Channel`) of the experiments, then of the measured data
        sets (``[[datasets]]``, built by :func:`cevns.builders.releases.build_channels`), at the scenario's physics
        options or at others (a grid node of a physics parameter)."""
        experiments = self.experiments if physics is None else self.experiments_at(physics)
        return [self._experiment_channel(m) for m in experiments] + self.dataset_channels(physics)

    def dataset_channels(self, physics: PhysicsOptions | None = None) -> list[Channel]:
        """The channels of the measured data sets alone (``[[datasets]]``), at the scenario's physics or others."""
        return [c for dataset in self.config.datasets for c in build_channels(dataset, self, physics or self.physics)]

    def _experiment_channel(self, m: ExperimentModel) -> Channel:
        """One ``[[experiments]]`` entry as a channel: its source's flavor normalisations (named per source,
        shared by every experiment that sees it), its one background and its systematics."""
        source = self.source(m.config.source)
        component_nuisances = source_flux_nuisances(source)
        backgrounds, background_nuisances = {}, {}
        if np.any(m.background > 0):
            backgrounds["background"] = np.asarray(m.background, dtype=float)
            if m.background_uncertainty > 0:
                background_nuisances["background"] = (m.config.background_nuisance or f"norm_bkg_{m.name}", m.background_uncertainty)
        detector = m.experiment.detector
        return Channel(m.name, m.kernels.quadratic_forms, tuple(m.kernels.component_names), component_nuisances,
                       backgrounds, background_nuisances, list(m.config.systematics), m.observed_counts,
                       smallest_q2_MeV2=detector.target.smallest_q2_MeV2(detector.threshold_keV))

    def experiments_at(self, physics: PhysicsOptions) -> list[ExperimentModel]:
        """The experiments with their kernels for other physics options (e.g. a grid node of a physics parameter)."""
        models = []
        for cfg in self.config.experiments:
            try:
                experiment = Experiment(cfg.name, self.source(cfg.source), build_detector(cfg), cfg.exposure_kg_day, physics)
            except (ExperimentError, ValueError) as err:
                raise ConfigError(f"experiment {cfg.name!r}: {err}") from None
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, in one line
                kernels = experiment.kernels()
            if not (np.all(np.isfinite(kernels.quadratic_forms)) and np.all(np.isfinite(kernels.background))):
                raise ConfigError(f"experiment {cfg.name!r}: expected counts overflow (not finite); check the flux, "
                                  "exposure and background values")
            observed = None
            if cfg.observed is not None and cfg.observed.signal is not None:
                # the published excess: the background is the one that reproduces its error
                background = np.array(
                    [effective_background_for_error(cfg.observed.signal, cfg.observed.signal_error, cfg.background_uncertainty)]
                )
                kernels = replace(kernels, background=background)
                observed = np.array([cfg.observed.signal]) + background
            elif cfg.observed is not None:
                observed = np.asarray(cfg.observed.counts, dtype=float)
            models.append(ExperimentModel(cfg, experiment, kernels, observed))
        return models
