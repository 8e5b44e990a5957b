"""Experiments: source x detector x exposure -> response kernels -> expected counts (SPEC S3, S4).

Expected signal in bin j (SPEC S3):

    mu_j = exposure * sum_isotopes n_T * sum_components Phi_c
           * Integral_bin dT eff(T) Integral_{E_min(T)} dE phi_c(E) dsigma_a/dT

Since dsigma/dT = (G_F^2 m_N/pi) K(T,E) F^2(q) * sum_b |Q_ab|^2 and the charge
does not depend on T or E, every integral is done once per (bin j, source
component c, isotope i), giving the *response kernel* K[j, c, i] in counts per
unit squared charge. With the charge an affine function of the 12 NSI
couplings, Q_ab = C_ab . x, x = (1, eps), the signal is an exact quadratic form

    mu_jc(eps) = x^T H_jc x,    H_jc = sum_i K[j, c, i] sum_b C_ab(i) C_ab(i)^T

so likelihood evaluations need no integration (SPEC S4, non-negotiable 6).
:meth:`Experiment.direct_signal` integrates the full cross section for given
couplings with the same quadrature, as an independent check and as the
"naive" reference of ``cevns bench``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import units
from .detectors import Detector, Isotope
from .physics.couplings import N_NSI, NSI_NAMES, charge_coefficients, nsi_matrices, sm_vector_charge, vector_charge
from .physics.cross_section import differential_cross_section
from .physics.flavors import Flavor
from .physics.form_factors import FORM_FACTORS
from .physics.kinematics import KINEMATIC_FORMS, e_nu_min, momentum_transfer_squared, t_recoil_max
from .sources.base import Source, SourceComponent

#: Parameters the vector charge is affine in, after the constant 1: the twelve NSI couplings and
#: the shift of sin^2(theta_W) from the scenario's value (the SM charge Z g_p + N g_n is affine in
#: sin^2(theta_W), SPEC S1). The rate is an exact quadratic form in x = (1, *LINEAR_PARAMETERS).
LINEAR_PARAMETERS = (*NSI_NAMES, "sin2_theta_w")
N_LINEAR = len(LINEAR_PARAMETERS)

#: Gauss-Legendre nodes per recoil-energy segment (segments split at bin edges,
#: efficiency jumps and kinematic end-points, so the integrand is smooth on each).
DEFAULT_RECOIL_NODES = 32


class ExperimentError(ValueError):
    """An experiment whose inputs are inconsistent (e.g. threshold above the end-point)."""


def linear_charge_gram_matrices(z: int, n: int, sin2_theta_w: float) -> np.ndarray:
    """G[a] = sum_b C_ab C_ab^T over x = (1, eps_1..eps_12, delta_s), shape (3, 14, 14).

    C extends :func:`cevns.physics.couplings.charge_coefficients` by the coefficient of
    delta_s = sin^2(theta_W) - ``sin2_theta_w``: dQ_aa/d sin^2 = Q_SM(s + 1) - Q_SM(s), exact because
    Q_SM is affine in sin^2(theta_W) (SPEC S1: Z (1/2 - 2 s) - N/2, slope -2Z).
    """
    coeff = charge_coefficients(z, n, sin2_theta_w)
    slope = sm_vector_charge(z, n, sin2_theta_w + 1.0) - sm_vector_charge(z, n, sin2_theta_w)
    coeff = np.concatenate([coeff, slope * np.eye(3)[:, :, None]], axis=2)
    return np.einsum("abi,abj->aij", coeff, coeff)


@dataclass(frozen=True)
class PhysicsOptions:
    """Physics choices shared by all experiments of a scenario (SPEC S1).

    Attributes
    ----------
    sin2_theta_w : float
        Weak mixing angle; default the low-energy MS-bar value (PDG), 0.2387.
    kinematics : {"standard", "paper"}
        Kinematic factor of the cross section.
    form_factor : str
        Key of :data:`cevns.physics.form_factors.FORM_FACTORS` ("helm" default).
    """

    sin2_theta_w: float = units.SIN2_THETA_W_LOW_ENERGY
    kinematics: str = "standard"
    form_factor: str = "helm"

    def __post_init__(self) -> None:
        if self.kinematics not in KINEMATIC_FORMS:
            raise ValueError(f"kinematics must be one of {KINEMATIC_FORMS}, not {self.kinematics!r}")
        if self.form_factor not in FORM_FACTORS:
            raise ValueError(f"form_factor must be one of {sorted(FORM_FACTORS)}, not {self.form_factor!r}")


@dataclass(frozen=True)
class ResponseKernels:
    """Precomputed response of one experiment.

    Attributes
    ----------
    kernel : array (n_bins, n_components, n_isotopes)
        Counts per unit squared charge sum_b |Q_ab|^2.
    quadratic_forms : array (n_bins, n_components, 14, 14)
        H_jc with mu_jc = x^T H_jc x, x = (1, eps_1..eps_12, sin2_theta_w - sin2_reference)
        (:data:`LINEAR_PARAMETERS` order).
    background : array (n_bins,)
        Expected background counts per bin at nominal normalization: the one background of
        the experiment (a scenario's data treatment may replace it, see ``cevns.scenario``).
    """

    kernel: np.ndarray
    quadratic_forms: np.ndarray
    background: np.ndarray
    component_names: tuple[str, ...]
    flavors: tuple[Flavor, ...]
    bin_edges_keV: np.ndarray

    def signal(self, eps: np.ndarray) -> np.ndarray:
        """Expected signal per bin and component for coupling vector(s) eps of shape (..., 12), or
        (..., 13) with the shift of sin^2(theta_W) from the scenario's value last.

        Returns an array of shape (..., n_bins, n_components).
        """
        eps = np.asarray(eps, dtype=float)
        if eps.shape[-1] not in (N_NSI, N_LINEAR):
            raise ValueError(f"couplings need {N_NSI} or {N_LINEAR} entries in the last axis, got shape {eps.shape}")
        pad = N_LINEAR - eps.shape[-1]
        x = np.concatenate([np.ones(eps.shape[:-1] + (1,)), eps, np.zeros(eps.shape[:-1] + (pad,))], axis=-1)
        return np.einsum("...p,jcpq,...q->...jc", x, self.quadratic_forms, x)


@dataclass(frozen=True)
class Experiment:
    """One source seen by one detector with an exposure (kg day)."""

    name: str
    source: Source
    detector: Detector
    exposure_kg_day: float
    physics: PhysicsOptions = field(default_factory=PhysicsOptions)
    recoil_nodes: int = DEFAULT_RECOIL_NODES

    def __post_init__(self) -> None:
        if not self.exposure_kg_day > 0:
            raise ExperimentError(f"{self.name}: exposure_kg_day must be > 0, got {self.exposure_kg_day}")
        endpoint_keV = self.max_recoil_keV()
        if self.detector.threshold_keV >= endpoint_keV:
            raise ExperimentError(
                f"{self.name}: threshold_keV = {self.detector.threshold_keV} is at or above the kinematic "
                f"end-point {endpoint_keV:.4g} keV of every flavor of source {self.source.name!r}; lower it"
            )

    # -- geometry of the integration -----------------------------------------
    def max_recoil_keV(self) -> float:
        """Largest recoil energy (keV) any component can give on any isotope."""
        return max(
            float(t_recoil_max(c.spectrum.e_max, iso.mass_MeV)) / units.keV
            for c in self.source.components
            for iso in self.detector.target.isotopes
        )

    def _recoil_quadrature(self, isotope: Isotope, component: SourceComponent) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nodes T (MeV), weights and bin index for the recoil integral, split at every kink."""
        edges = self.detector.bin_edges_keV * units.keV
        t_end = float(t_recoil_max(component.spectrum.e_max, isotope.mass_MeV))
        cuts = set(edges.tolist()) | {t for t in self.detector.efficiency.breakpoints_MeV if edges[0] < t < edges[-1]}
        if edges[0] < t_end < edges[-1]:
            cuts.add(t_end)
        cuts = np.array(sorted(cuts))
        x, w = np.polynomial.legendre.leggauss(self.recoil_nodes)
        lo, hi = cuts[:-1], cuts[1:]
        keep = lo < min(t_end, edges[-1])  # segments above the end-point contribute nothing
        lo, hi = lo[keep], hi[keep]
        half = 0.5 * (hi - lo)[:, None]
        nodes = (lo[:, None] + half * (x + 1.0)).ravel()
        weights = (half * w).ravel()
        bins = np.clip(np.searchsorted(edges, nodes, side="right") - 1, 0, len(edges) - 2)
        return nodes, weights, bins

    def _integrand(self, isotope: Isotope, component: SourceComponent, t_nodes: np.ndarray,
                   charge_squared: float = 1.0) -> np.ndarray:
        """The one rate integrand: Integral_{E_min(T)} dE phi(E) dsigma/dT at each recoil node (cm^2/MeV).

        ``charge_squared`` = sum_b |Q_ab|^2 (1: per unit squared charge, what the kernels store).
        """
        e_nodes, e_weights = component.spectrum.quadrature(e_nu_min(t_nodes, isotope.mass_MeV))
        q_MeV = np.sqrt(momentum_transfer_squared(t_nodes, isotope.mass_MeV))
        f2 = FORM_FACTORS[self.physics.form_factor](q_MeV, isotope.mass_number) ** 2
        xsec = differential_cross_section(
            t_nodes[:, None], e_nodes, isotope.mass_MeV, charge_squared, f2[:, None], self.physics.kinematics
        )
        return np.sum(e_weights * xsec, axis=1)

    def _charge_squared(self, isotope: Isotope, component: SourceComponent, eps: np.ndarray) -> float:
        """sum_b |Q_ab|^2 for the component's incoming flavor a, from the full charge matrix (no kernels)."""
        eps_u, eps_d = nsi_matrices(np.asarray(eps, dtype=float).reshape(N_NSI))
        charge = vector_charge(isotope.z, isotope.n, eps_u, eps_d, self.physics.sin2_theta_w)
        return float(np.sum(charge[component.flavor.index] ** 2))

    def _scale(self, isotope: Isotope, component: SourceComponent) -> float:
        """exposure (kg s) * nuclei per kg * flux (cm^-2 s^-1)."""
        return self.exposure_kg_day * units.day * isotope.nuclei_per_kg * component.flux_cm2_s

    # -- kernels ---------------------------------------------------------------
    def kernels(self) -> ResponseKernels:
        """Compute the response kernels once (the only place that integrates)."""
        comps = self.source.components
        isotopes = self.detector.target.isotopes
        n_bins = self.detector.n_bins
        kernel = np.zeros((n_bins, len(comps), len(isotopes)))
        for ci, comp in enumerate(comps):
            for ii, iso in enumerate(isotopes):
                t_nodes, t_weights, bins = self._recoil_quadrature(iso, comp)
                integrand = self._integrand(iso, comp, t_nodes) * self.detector.efficiency(t_nodes)
                kernel[:, ci, ii] = self._scale(iso, comp) * np.bincount(bins, t_weights * integrand, minlength=n_bins)
        grams = np.stack([linear_charge_gram_matrices(i.z, i.n, self.physics.sin2_theta_w) for i in isotopes])
        flavor_idx = np.array([c.flavor.index for c in comps])
        # H_jc = sum_i K[j,c,i] G_i[a(c)]
        quad = np.einsum("jci,cipq->jcpq", kernel, grams[:, flavor_idx].transpose(1, 0, 2, 3))
        widths = np.diff(self.detector.bin_edges_keV)
        background = self.detector.background_per_kg_day_keV * self.exposure_kg_day * widths
        return ResponseKernels(
            kernel, quad, background, tuple(c.name for c in comps), tuple(c.flavor for c in comps),
            self.detector.bin_edges_keV,
        )

    def direct_signal(self, eps: np.ndarray) -> np.ndarray:
        """Expected signal (n_bins, n_components) for one 12-vector of couplings, integrating
        the full cross section with the NSI charge (no kernels). Same quadrature as :meth:`kernels`."""
        comps = self.source.components
        n_bins = self.detector.n_bins
        signal = np.zeros((n_bins, len(comps)))
        for ci, comp in enumerate(comps):
            for iso in self.detector.target.isotopes:
                t_nodes, t_weights, bins = self._recoil_quadrature(iso, comp)
                rate = self._integrand(iso, comp, t_nodes, self._charge_squared(iso, comp, eps)) * self.detector.efficiency(t_nodes)
                signal[:, ci] += self._scale(iso, comp) * np.bincount(bins, t_weights * rate, minlength=n_bins)
        return signal

    def recoil_spectrum(self, t_keV: np.ndarray, eps: np.ndarray | None = None) -> np.ndarray:
        """Differential rate dN/dT (counts per keV over the exposure) per component at recoil energies
        ``t_keV`` (array), efficiency included. Shape (len(t_keV), n_components)."""
        eps_vec = np.zeros(N_NSI) if eps is None else np.asarray(eps, dtype=float)
        t_nodes = np.asarray(t_keV, dtype=float) * units.keV
        out = np.zeros((t_nodes.size, len(self.source.components)))
        for ci, comp in enumerate(self.source.components):
            for iso in self.detector.target.isotopes:
                per_MeV = self._scale(iso, comp) * self._integrand(iso, comp, t_nodes, self._charge_squared(iso, comp, eps_vec))
                out[:, ci] += per_MeV * units.keV * self.detector.efficiency(t_nodes)
        return out
