"""Experiments: source x detector x exposure -> response kernels -> expected counts (Dent et al., arXiv:1711.03521; Dent et al., arXiv:1711.03521, its likelihood).

Expected signal in bin j (Dent et al., arXiv:1711.03521):

    mu_j = exposure * sum_isotopes n_T * sum_components Phi_c
           * Integral_bin dT eff(T) Integral_{E_min(T)} dE phi_c(E) dsigma_a/dT

Since dsigma/dT = (G_F^2 m_N/pi) K(T,E) F^2(q) * sum_b |Q_ab|^2 and the charge
does not depend on T or E, every integral is done once per (bin j, source
component c, isotope i), giving the *response kernel* K[j, c, i] in counts per
unit squared charge. With the charge an affine function of the 12 NSI
couplings, Q_ab = C_ab . x, x = (1, eps), the signal is an exact quadratic form

    mu_jc(eps) = x^T H_jc x,    H_jc = sum_i K[j, c, i] sum_b C_ab(i) C_ab(i)^T

so likelihood evaluations need no integration (Dent et al., arXiv:1711.03521, its likelihood).

Physics beyond one form factor and contact couplings keeps this structure. The
charge is a sum of *pieces* C_i . x, each with its own recoil-energy weight w_i(T):
the proton and neutron parts with their own form factors F_p, F_n (neutron radius),
and the light-mediator parts with the propagator P(T) = m^2/(m^2 + 2 m_N T). Then
sum_b |Q_ab|^2 = sum_{i,j} w_i w_j (C_i . x)(C_j . x), one kernel per pair of pieces
integrated with weight w_i w_j, and H = sum_pairs K_ij G_ij: still an exact quadratic
form. The neutrino magnetic moment adds an incoherent electromagnetic term
mu_nu^2 K_EM (Vogel & Engel 1989), i.e. H[mu, mu] += K_EM.
:meth:`Experiment.direct_signal` integrates the full cross section for given
couplings with the same quadrature, as an independent check and as the
"naive" reference of ``cevns bench``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import units
from .errors import CevnsError
from .detectors import Detector, Isotope
from .physics.couplings import (COUPLING_CONVENTIONS, N_NSI, NEUTRON_QUARK_CONTENT, NSI_NAMES, PROTON_QUARK_CONTENT,
                                nucleon_charge_coefficients, weak_nucleon_charge_slopes)
from .physics.cross_section import differential_cross_section
from .physics.electromagnetic import magnetic_moment_cross_section_per_mu2
from .physics.flavors import Flavor
from .physics.form_factors import FORM_FACTORS, NUCLEAR_RADII, helm_radius_fm, helm_rms_radius_fm, helm_with_radius
from .physics.mediators import propagator_factor
from .physics.kinematics import KINEMATIC_FORMS, e_nu_min, momentum_transfer_squared, t_recoil_max
from .sources.base import Source, SourceComponent

#: Parameters the rate is an exact quadratic form in, x = (1, *LINEAR_PARAMETERS):
#: the twelve NSI couplings; the shift of sin^2(theta_W) from the scenario's value (the SM
#: charge is affine in it, Dent et al., arXiv:1711.03521, eqs. 1-2); ``eps_zprime``, a flavor-universal vector mediator coupling
#: to u and d quarks alike, as its contact value eps(q = 0) = g_nu g_q / (sqrt2 G_F m^2)
#: (with the propagator m^2/(m^2 + q^2) when [physics] sets a mediator mass; docs/physics.md);
#: and ``mu_nu``, the neutrino magnetic moment in units of MU_NU_UNIT Bohr magnetons.
LINEAR_PARAMETERS = (*NSI_NAMES, "sin2_theta_w", "eps_zprime", "mu_nu")
N_LINEAR = len(LINEAR_PARAMETERS)
_S2, _ZP, _MU = (1 + LINEAR_PARAMETERS.index(n) for n in ("sin2_theta_w", "eps_zprime", "mu_nu"))
#: Unit of the ``mu_nu`` parameter: 1e-10 Bohr magnetons, the scale of laboratory limits
#: (e.g. GEMMA mu_nu < 2.9e-11 mu_B, Beda et al., Adv. High Energy Phys. 2012 (2012) 350150).
MU_NU_UNIT = 1.0e-10

#: Gauss-Legendre nodes per recoil-energy segment (segments split at bin edges,
#: efficiency jumps and kinematic end-points, so the integrand is smooth on each).
DEFAULT_RECOIL_NODES = 32


class ExperimentError(CevnsError, ValueError):
    """An experiment whose inputs are inconsistent (e.g. threshold above the end-point)."""


def nucleon_linear_coefficients(z: int, n: int, sin2_theta_w: float, convention: str = "tree") -> np.ndarray:
    """Proton and neutron parts of the charge over x = (1, *LINEAR_PARAMETERS), shape (2, 3, 3, 16).

    :func:`cevns.physics.couplings.nucleon_charge_coefficients` for (1, eps), plus the
    sin^2(theta_W) slope of each nucleon's SM charge (Z dg_p/ds, N dg_n/ds) and the
    contact-limit Z' coupling, which adds (quarks per nucleon) = 3 per nucleon for a
    coupling equal to u and d quarks. The magnetic moment has no charge coefficient.
    """
    out = np.zeros((2, 3, 3, 1 + N_LINEAR))
    out[..., : 1 + N_NSI] = nucleon_charge_coefficients(z, n, sin2_theta_w, convention)
    slope_p, slope_n = weak_nucleon_charge_slopes(convention)
    quarks = {"p": sum(PROTON_QUARK_CONTENT.values()), "n": sum(NEUTRON_QUARK_CONTENT.values())}
    for k, (count, slope, key) in enumerate(((z, slope_p, "p"), (n, slope_n, "n"))):
        out[k, :, :, _S2] = count * slope * np.eye(3)
        out[k, :, :, _ZP] = count * quarks[key] * np.eye(3)
    return out


@dataclass(frozen=True)
class PhysicsOptions:
    """Physics choices shared by all experiments of a scenario (Dent et al., arXiv:1711.03521, eqs. 1-2).

    Attributes
    ----------
    sin2_theta_w : float
        Weak mixing angle; default the low-energy MS-bar value (PDG), 0.2387.
    kinematics : {"standard", "paper"}
        Kinematic factor of the cross section.
    form_factor : str
        Key of :data:`cevns.physics.form_factors.FORM_FACTORS` ("helm" default).
    couplings : {"tree", "radiative"}
        Nucleon vector couplings: tree level (Dent et al., arXiv:1711.03521, eqs. 1-2) or radiatively corrected
        (Barranco, Miranda & Rashba 2005; :mod:`cevns.physics.couplings`).
    neutron_radius_fm : float or None
        Point-neutron rms radius (fm) of every isotope of the target: separate Helm form
        factors for protons (point-proton radius from the charge radius where tabulated in
        :data:`cevns.physics.form_factors.NUCLEAR_RADII`, else the default Helm radius) and
        neutrons. None: one form factor for both (Dent et al., arXiv:1711.03521, eqs. 1-2).
    log10_mediator_mass_MeV : float or None
        log10 of the vector mediator mass in MeV: the ``eps_zprime`` coupling gets the
        propagator m^2/(m^2 + 2 m_N T). None: a heavy (contact) mediator.
    """

    sin2_theta_w: float = units.SIN2_THETA_W_LOW_ENERGY
    kinematics: str = "standard"
    form_factor: str = "helm"
    couplings: str = "tree"
    neutron_radius_fm: float | None = None
    log10_mediator_mass_MeV: float | None = None

    def __post_init__(self) -> None:
        if self.couplings not in COUPLING_CONVENTIONS:
            raise ValueError(f"couplings must be one of {COUPLING_CONVENTIONS}, not {self.couplings!r}")
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
    quadratic_forms : array (n_bins, n_components, 16, 16)
        H_jc with mu_jc = x^T H_jc x, x = (1, eps_1..eps_12, sin2_theta_w - sin2_reference, eps_zprime, mu_nu)
        (:data:`LINEAR_PARAMETERS` order).
    background : array (n_bins,)
        Expected background counts per bin at nominal normalization: the one background of
        the experiment (a scenario's data treatment may replace it, see ``cevns.builders.scenario``).
    """

    kernel: np.ndarray
    quadratic_forms: np.ndarray
    background: np.ndarray
    component_names: tuple[str, ...]
    flavors: tuple[Flavor, ...]
    bin_edges_keV: np.ndarray

    def signal(self, eps: np.ndarray) -> np.ndarray:
        """Expected signal per bin and component for coupling vector(s) eps of shape (..., 12), or up to
        (..., 15) with the further :data:`LINEAR_PARAMETERS` (sin^2 shift, eps_zprime, mu_nu) after them.

        Returns an array of shape (..., n_bins, n_components).
        """
        return quadratic_signal(self.quadratic_forms, eps)


def quadratic_signal(quadratic_forms: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """x^T H_jc x for forms H (n_bins, n_components, P, P) over x = (1, *LINEAR_PARAMETERS), with eps of shape
    (..., 12) to (..., 15) (the further linear parameters after the couplings; missing ones 0).
    Returns (..., n_bins, n_components)."""
    eps = np.asarray(eps, dtype=float)
    if not N_NSI <= eps.shape[-1] <= N_LINEAR:
        raise ValueError(f"couplings need {N_NSI} to {N_LINEAR} entries in the last axis, got shape {eps.shape}")
    pad = N_LINEAR - eps.shape[-1]
    x = np.concatenate([np.ones(eps.shape[:-1] + (1,)), eps, np.zeros(eps.shape[:-1] + (pad,))], axis=-1)
    return np.einsum("...p,jcpq,...q->...jc", x, quadratic_forms, x)


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
                   charge_squared: float | np.ndarray = 1.0, form_factor_squared: float | np.ndarray = 1.0) -> np.ndarray:
        """The one rate integrand: Integral_{E_min(T)} dE phi(E) dsigma/dT at each recoil node (cm^2/MeV).

        ``charge_squared`` = sum_b |Q_ab|^2 (1: per unit squared charge); ``form_factor_squared`` F^2 at
        the nodes (1: the form factors are weights of the charge pieces, see the module docstring).
        """
        e_nodes, e_weights = component.spectrum.quadrature(e_nu_min(t_nodes, isotope.mass_MeV))
        f2 = np.broadcast_to(np.asarray(form_factor_squared, dtype=float), t_nodes.shape)
        q2 = np.broadcast_to(np.asarray(charge_squared, dtype=float), t_nodes.shape)
        xsec = differential_cross_section(
            t_nodes[:, None], e_nodes, isotope.mass_MeV, q2[:, None], f2[:, None], self.physics.kinematics
        )
        return np.sum(e_weights * xsec, axis=1)

    def _magnetic_integrand(self, isotope: Isotope, component: SourceComponent, t_nodes: np.ndarray) -> np.ndarray:
        """Integral dE phi(E) dsigma_EM/dT per (MU_NU_UNIT mu_B)^2 at each recoil node (cm^2/MeV), charge form factor F_p."""
        e_nodes, e_weights = component.spectrum.quadrature(e_nu_min(t_nodes, isotope.mass_MeV))
        f_p = self._form_factors(isotope, t_nodes)["Fp"]
        xsec = magnetic_moment_cross_section_per_mu2(t_nodes[:, None], e_nodes, isotope.mass_MeV, isotope.z, (f_p**2)[:, None])
        return MU_NU_UNIT**2 * np.sum(e_weights * xsec, axis=1)

    def _form_factors(self, isotope: Isotope, t_nodes: np.ndarray) -> dict[str, np.ndarray]:
        """Weights of the charge pieces at recoil nodes: F (one form factor), Fp, Fn and the propagator P."""
        q_MeV = np.sqrt(momentum_transfer_squared(t_nodes, isotope.mass_MeV))
        out = {"F": FORM_FACTORS[self.physics.form_factor](q_MeV, isotope.mass_number)}
        if self.physics.neutron_radius_fm is None:
            out["Fp"] = out["Fn"] = out["F"]
        else:
            radii = NUCLEAR_RADII.get(f"{isotope.symbol}[{isotope.z + isotope.n}]")
            r_p = radii.proton_radius_fm if radii is not None else float(helm_rms_radius_fm(helm_radius_fm(isotope.z + isotope.n)))
            out["Fp"] = helm_with_radius(q_MeV, r_p)
            out["Fn"] = helm_with_radius(q_MeV, self.physics.neutron_radius_fm)
        if self.physics.log10_mediator_mass_MeV is None:
            out["P"] = np.ones_like(t_nodes)
        else:
            out["P"] = propagator_factor(t_nodes, isotope.mass_MeV, 10.0**self.physics.log10_mediator_mass_MeV)
        return out

    def _charge_pieces(self, isotope: Isotope) -> list[tuple[np.ndarray, tuple[str, ...]]]:
        """The charge as pieces (coefficients (3, 3, 16), names of the weights whose product multiplies them).

        One piece (weight F) with one form factor and a contact Z'; proton and neutron pieces (Fp, Fn) with a
        neutron radius; the Z' columns as their own pieces (times P) with a mediator mass.
        """
        proton, neutron = nucleon_linear_coefficients(isotope.z, isotope.n, self.physics.sin2_theta_w, self.physics.couplings)
        split_radius = self.physics.neutron_radius_fm is not None
        light = self.physics.log10_mediator_mass_MeV is not None
        groups = [(proton, "Fp"), (neutron, "Fn")] if split_radius else [(proton + neutron, "F")]
        pieces = []
        for coeff, form in groups:
            if not light:
                pieces.append((coeff, (form,)))
                continue
            contact, zprime = coeff.copy(), np.zeros_like(coeff)
            contact[..., _ZP], zprime[..., _ZP] = 0.0, coeff[..., _ZP]
            pieces += [(contact, (form,)), (zprime, (form, "P"))]
        return pieces

    def _charge_squared_at(self, isotope: Isotope, component: SourceComponent, x: np.ndarray, t_nodes: np.ndarray) -> np.ndarray:
        """sum_b |Q_ab(T)|^2 at recoil nodes from the charge pieces and their weights (no kernels)."""
        weights = self._form_factors(isotope, t_nodes)
        a = component.flavor.index
        charge = 0.0
        for coeff, names in self._charge_pieces(isotope):
            w = np.prod([weights[n] for n in names], axis=0)
            charge = charge + w[:, None] * (coeff[a] @ x)[None, :]  # (nT, 3 outgoing flavors)
        return np.sum(charge**2, axis=1)

    def _full_vector(self, eps: np.ndarray) -> np.ndarray:
        """x = (1, *LINEAR_PARAMETERS) from 12 NSI couplings or up to all linear parameters (rest 0)."""
        eps = np.asarray(eps, dtype=float).ravel()
        if not N_NSI <= eps.size <= N_LINEAR:
            raise ValueError(f"couplings need {N_NSI} to {N_LINEAR} entries, got {eps.size}")
        return np.concatenate([[1.0], eps, np.zeros(N_LINEAR - eps.size)])

    def _scale(self, isotope: Isotope, component: SourceComponent) -> float:
        """exposure (kg s) * nuclei per kg * flux (cm^-2 s^-1)."""
        return self.exposure_kg_day * units.day * isotope.nuclei_per_kg * component.flux_cm2_s

    # -- kernels ---------------------------------------------------------------
    def kernels(self) -> ResponseKernels:
        """Compute the response kernels once (the only place that integrates).

        H_jc = sum_i sum_{pairs of charge pieces} K_pair[j, c, i] G_pair,i[a(c)] + K_EM e_mu e_mu^T,
        K_pair the rate per unit charge product integrated with the pieces' weights (module docstring).
        """
        comps = self.source.components
        isotopes = self.detector.target.isotopes
        n_bins = self.detector.n_bins
        size = 1 + N_LINEAR
        kernel = np.zeros((n_bins, len(comps), len(isotopes)))
        quad = np.zeros((n_bins, len(comps), size, size))
        for ii, iso in enumerate(isotopes):
            pieces = self._charge_pieces(iso)
            for ci, comp in enumerate(comps):
                t_nodes, t_weights, bins = self._recoil_quadrature(iso, comp)
                base = self._integrand(iso, comp, t_nodes) * self.detector.efficiency(t_nodes) * t_weights
                weights = self._form_factors(iso, t_nodes)
                scale = self._scale(iso, comp)
                a = comp.flavor.index
                for p, (coeff_p, names_p) in enumerate(pieces):
                    w_p = np.prod([weights[n] for n in names_p], axis=0)
                    for q in range(p, len(pieces)):
                        coeff_q, names_q = pieces[q]
                        w_q = np.prod([weights[n] for n in names_q], axis=0)
                        k = scale * np.bincount(bins, base * w_p * w_q, minlength=n_bins)
                        gram = coeff_p[a].T @ coeff_q[a]  # sum_b C_p,ab C_q,ab^T
                        if q != p:
                            gram = gram + gram.T
                        elif p == 0:
                            kernel[:, ci, ii] = k
                        quad[:, ci] += k[:, None, None] * gram
                em = self._magnetic_integrand(iso, comp, t_nodes) * self.detector.efficiency(t_nodes) * t_weights
                quad[:, ci, _MU, _MU] += scale * np.bincount(bins, em, minlength=n_bins)
        widths = np.diff(self.detector.bin_edges_keV)
        background = self.detector.background_per_kg_day_keV * self.exposure_kg_day * widths
        return ResponseKernels(
            kernel, quad, background, tuple(c.name for c in comps), tuple(c.flavor for c in comps),
            self.detector.bin_edges_keV,
        )

    def direct_signal(self, eps: np.ndarray) -> np.ndarray:
        """Expected signal (n_bins, n_components) for one vector of couplings (12 NSI, or more of
        :data:`LINEAR_PARAMETERS`), integrating the cross section with the charge evaluated at every
        recoil node (no kernels). Same quadrature as :meth:`kernels`: an independent check."""
        x = self._full_vector(eps)
        comps = self.source.components
        n_bins = self.detector.n_bins
        signal = np.zeros((n_bins, len(comps)))
        for ci, comp in enumerate(comps):
            for iso in self.detector.target.isotopes:
                t_nodes, t_weights, bins = self._recoil_quadrature(iso, comp)
                rate = self._integrand(iso, comp, t_nodes, self._charge_squared_at(iso, comp, x, t_nodes))
                rate = rate + x[_MU] ** 2 * self._magnetic_integrand(iso, comp, t_nodes)
                rate = rate * self.detector.efficiency(t_nodes)
                signal[:, ci] += self._scale(iso, comp) * np.bincount(bins, t_weights * rate, minlength=n_bins)
        return signal

    def recoil_spectrum(self, t_keV: np.ndarray, eps: np.ndarray | None = None) -> np.ndarray:
        """Differential rate dN/dT (counts per keV over the exposure) per component at recoil energies
        ``t_keV`` (array), efficiency included. Shape (len(t_keV), n_components)."""
        x = self._full_vector(np.zeros(N_NSI) if eps is None else eps)
        t_nodes = np.asarray(t_keV, dtype=float) * units.keV
        out = np.zeros((t_nodes.size, len(self.source.components)))
        for ci, comp in enumerate(self.source.components):
            for iso in self.detector.target.isotopes:
                rate = self._integrand(iso, comp, t_nodes, self._charge_squared_at(iso, comp, x, t_nodes))
                rate = rate + x[_MU] ** 2 * self._magnetic_integrand(iso, comp, t_nodes)
                out[:, ci] += self._scale(iso, comp) * rate * units.keV * self.detector.efficiency(t_nodes)
        return out
