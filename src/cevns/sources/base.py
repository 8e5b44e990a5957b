"""Neutrino sources: flavor components, each a normalized spectrum times a flux.

A :class:`Source` is a set of :class:`SourceComponent`; each component has one
incoming :class:`~cevns.physics.flavors.Flavor`, a spectrum normalized to 1
(MeV^-1), a flux at the detector (cm^-2 s^-1) and a Gaussian relative
uncertainty on that flux, which the fit turns into a nuisance parameter
(Dent et al., arXiv:1711.03521; Dent et al., arXiv:1711.03521, its likelihood).

Spectra expose one operation the experiment needs: quadrature nodes and
weights for integrals  Integral_{E_lo}^{E_max} dE pdf(E) f(E)  for many lower
limits E_lo at once (:meth:`Spectrum.quadrature`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..physics.flavors import Flavor

#: Gauss-Legendre nodes per smooth segment of a continuous spectrum. The
#: spectra used here are polynomials or exponentials of low-order polynomials
#: on each segment, for which 48 nodes are exact to double precision in practice
#: (checked against scipy.integrate.quad in tests/test_sources.py).
DEFAULT_GAUSS_NODES = 48


class Spectrum:
    """A normalized neutrino energy spectrum dN/dE (MeV^-1), Integral dE pdf = 1."""

    #: energy range (MeV) on which the spectrum is non-zero
    e_min: float
    e_max: float

    def pdf(self, e_nu: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def quadrature(self, e_lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        """Nodes and weights, shape (len(e_lo), n): sum w f(nodes) = Integral_{e_lo} pdf f dE."""
        raise NotImplementedError


@dataclass(frozen=True)
class LineSpectrum(Spectrum):
    """A monoenergetic line at ``energy_MeV`` (a Dirac delta, normalized to 1)."""

    energy_MeV: float

    @property
    def e_min(self) -> float:  # type: ignore[override]
        return self.energy_MeV

    @property
    def e_max(self) -> float:  # type: ignore[override]
        return self.energy_MeV

    def pdf(self, e_nu: np.ndarray) -> np.ndarray:
        raise TypeError("a line spectrum has no density; use quadrature()")

    def quadrature(self, e_lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e_lo = np.atleast_1d(np.asarray(e_lo, dtype=float))
        nodes = np.full((e_lo.size, 1), self.energy_MeV)
        weights = (e_lo <= self.energy_MeV).astype(float)[:, None]
        return nodes, weights


@dataclass(frozen=True)
class ContinuousSpectrum(Spectrum):
    """A continuous spectrum given by a density function on [e_min, e_max].

    ``density`` need not be normalized; it is normalized numerically with the
    same quadrature. ``breakpoints`` are interior energies where the density or
    its derivative has a kink (quadrature segments split there).
    """

    density: Callable[[np.ndarray], np.ndarray]
    e_min: float
    e_max: float
    breakpoints: Sequence[float] = ()
    label: str = ""
    n_nodes: int = DEFAULT_GAUSS_NODES
    _norm: float = field(init=False, repr=False, default=1.0)

    def __post_init__(self) -> None:
        nodes, weights = self._raw_quadrature(np.array([self.e_min]))
        norm = float(np.sum(weights * self.density(nodes)))
        if not np.isfinite(norm) or norm <= 0:
            raise ValueError(f"spectrum {self.label!r} has non-positive integral {norm}")
        object.__setattr__(self, "_norm", norm)

    @property
    def integral(self) -> float:
        """Integral of the unnormalized density over its support."""
        return self._norm

    def pdf(self, e_nu: np.ndarray) -> np.ndarray:
        e_nu = np.asarray(e_nu, dtype=float)
        inside = (e_nu >= self.e_min) & (e_nu <= self.e_max)
        safe = np.clip(e_nu, self.e_min, self.e_max)
        return np.where(inside, self.density(safe), 0.0) / self._norm

    def _segments(self) -> np.ndarray:
        edges = [self.e_min, *sorted(b for b in self.breakpoints if self.e_min < b < self.e_max), self.e_max]
        return np.array(edges)

    def _raw_quadrature(self, e_lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e_lo = np.atleast_1d(np.asarray(e_lo, dtype=float))
        x, w = np.polynomial.legendre.leggauss(self.n_nodes)
        edges = self._segments()
        all_nodes, all_weights = [], []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            a = np.clip(e_lo, lo, hi)[:, None]
            half = 0.5 * (hi - a)
            all_nodes.append(a + half * (x + 1.0))
            all_weights.append(half * w)
        return np.concatenate(all_nodes, axis=1), np.concatenate(all_weights, axis=1)

    def quadrature(self, e_lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nodes, weights = self._raw_quadrature(e_lo)
        return nodes, weights * self.density(nodes) / self._norm


@dataclass(frozen=True)
class SourceComponent:
    """One flavor component of a source.

    Attributes
    ----------
    name : str
        Nuisance-parameter label, e.g. ``"prompt_nu_mu"``.
    flavor : Flavor
        Incoming neutrino species.
    spectrum : Spectrum
        Normalized energy spectrum (MeV^-1).
    flux_cm2_s : float
        Flux of this component at the detector, cm^-2 s^-1.
    normalization_uncertainty : float
        Relative 1-sigma Gaussian uncertainty on ``flux_cm2_s``.
    """

    name: str
    flavor: Flavor
    spectrum: Spectrum
    flux_cm2_s: float
    normalization_uncertainty: float = 0.0


@dataclass(frozen=True)
class Source:
    """A named neutrino source: a tuple of :class:`SourceComponent`."""

    name: str
    kind: str
    components: tuple[SourceComponent, ...]
    description: str = ""

    @property
    def e_max(self) -> float:
        return max(c.spectrum.e_max for c in self.components)

    def component(self, name: str) -> SourceComponent:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(name)


def isotropic_flux_cm2_s(particles_per_s: float, distance_cm: float) -> float:
    """Flux at distance d from an isotropic point source: N / (4 pi d^2), cm^-2 s^-1."""
    return particles_per_s / (4.0 * np.pi * distance_cm**2)
