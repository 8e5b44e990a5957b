"""Neutrino sources: stopped-pion (SNS), reactor and the Sun."""

from .base import ContinuousSpectrum, LineSpectrum, Source, SourceComponent
from .reactor import reactor_flux_from_power, reactor_source, reactor_spectrum
from .solar import solar_source
from .stopped_pion import flux_per_flavor_from_beam, prompt_line_energy_MeV, stopped_pion_source

__all__ = [
    "ContinuousSpectrum",
    "LineSpectrum",
    "Source",
    "SourceComponent",
    "flux_per_flavor_from_beam",
    "prompt_line_energy_MeV",
    "reactor_flux_from_power",
    "reactor_source",
    "reactor_spectrum",
    "solar_source",
    "stopped_pion_source",
]
