"""From recoil energy to a release's observable bins, linearly.

The signal of a data release stays an exact quadratic form in the couplings: the recoil
spectrum of every source component and isotope is integrated once into fine recoil-energy
bins (:func:`recoil_kernels`, the same integrand as :meth:`cevns.experiment.Experiment.kernels`),
then carried to the observable bins by a response matrix R[o, j] (observable bin o, recoil bin
j) that holds the quenching, the resolution or photoelectron statistics and the efficiency
(:func:`deterministic_response`, :func:`poisson_response`, :func:`gaussian_response`,
:func:`gamma_response`), and, for a pulsed source, by each component's arrival-time PDF. The
recoil-level quadratic forms are those of :class:`cevns.experiment.Experiment` (every charge
piece, the magnetic-moment term, the coupling convention), so the observable forms
H[o, c] = sum_j R[o, j] H[j, c] carry every physics option of a projection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from ... import units
from ...detectors import Detector, make_target
from ...errors import ConfigError
from ...experiment import Experiment, ExperimentError, PhysicsOptions
from ...physics.kinematics import t_recoil_max
from ...sources.base import Source

#: Gauss-Legendre nodes per fine recoil bin when a response is averaged over the bin.
RESPONSE_NODES = 4


@dataclass(frozen=True)
class RecoilKernels:
    """Signal quadratic forms of one source on one target in fine recoil bins, before a detector response.

    These are the :class:`cevns.experiment.ResponseKernels` quadratic forms of an
    :class:`~cevns.experiment.Experiment` with unit efficiency over the fine bins: every charge piece
    (proton and neutron form factors with a neutron radius, the mediator propagator), the magnetic-moment
    term and the coupling convention are in them. A release's response then only maps recoil bins to its
    observable bins (:meth:`fold`), so every physics option acts on every release.

    Attributes
    ----------
    edges_keV : array (n_fine + 1,)
        Recoil-energy bin edges (keV, nuclear recoil).
    quadratic_forms : array (n_fine, n_components, 1 + N_LINEAR, 1 + N_LINEAR)
        H_jc with mu_jc = x^T H_jc x over x = (1, *LINEAR_PARAMETERS) (counts over the exposure, no
        efficiency).
    component_names : tuple[str, ...]
    smallest_q2_MeV2 : float
        2 m_N T at the lowest recoil edge and the lightest isotope (MeV^2): the smallest momentum
        transfer the release sees (a light mediator's propagator is largest there).
    """

    edges_keV: np.ndarray
    quadratic_forms: np.ndarray
    component_names: tuple[str, ...]
    smallest_q2_MeV2: float

    def fold(self, response: np.ndarray) -> np.ndarray:
        """Quadratic forms (n_obs, n_components, P, P) in observable bins: sum_j R[o, j] H[j, c].

        ``response`` (n_obs, n_fine) is the same for every source component, or (n_obs, n_fine,
        n_components) per component.
        """
        response = np.asarray(response, dtype=float)
        forms = self.quadratic_forms
        if response.ndim == 2:
            n_fine = forms.shape[0]
            return (response @ forms.reshape(n_fine, -1)).reshape(response.shape[0], *forms.shape[1:])
        return np.einsum("ojc,jcpq->ocpq", response, forms)


def recoil_kernels(name: str, source: Source, target: str, t_min_keV: float, t_max_keV: float, n_bins: int,
                   exposure_kg_day: float, physics: PhysicsOptions) -> RecoilKernels:
    """The :class:`RecoilKernels` of every component of ``source`` on ``target`` in ``n_bins`` equal recoil bins.

    ``t_max_keV`` is lowered to the largest kinematic end-point of the source on the target.
    ``exposure_kg_day``: target mass times the live time the source's flux is averaged over.
    The integration is :meth:`cevns.experiment.Experiment.kernels` (unit efficiency): the one place
    that integrates physics.
    """
    target_obj = make_target(target)
    end_keV = max(float(t_recoil_max(c.spectrum.e_max, iso.mass_MeV)) / units.keV
                  for c in source.components for iso in target_obj.isotopes)
    t_max_keV = min(t_max_keV, end_keV)
    if not t_max_keV > t_min_keV:
        raise ConfigError(f"dataset {name!r}: the analysis window starts above the largest recoil energy "
                          f"({end_keV:.4g} keV) of source {source.name!r}")
    try:
        detector = Detector(target_obj, t_min_keV, t_max_keV, n_bins, "linear")
        experiment = Experiment(name, source, detector, exposure_kg_day, physics)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, in one line
            kernels = experiment.kernels()
    except (ExperimentError, ValueError) as err:
        raise ConfigError(f"dataset {name!r}: {err}") from None
    if not np.all(np.isfinite(kernels.quadratic_forms)):
        raise ConfigError(f"dataset {name!r}: expected counts overflow (not finite); check the source's flux and "
                          "the exposure")
    return RecoilKernels(detector.bin_edges_keV, kernels.quadratic_forms, tuple(kernels.component_names),
                         target_obj.smallest_q2_MeV2(t_min_keV))


def _sub_nodes(edges: np.ndarray, n: int = RESPONSE_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes (n_fine, n) inside each bin and their weights (n,), summing to 1."""
    x, w = np.polynomial.legendre.leggauss(n)
    lo, hi = edges[:-1, None], edges[1:, None]
    return lo + 0.5 * (hi - lo) * (x + 1.0), 0.5 * w


def deterministic_response(t_edges_keV: np.ndarray, observable: Callable[[np.ndarray], np.ndarray],
                           observable_edges: np.ndarray) -> np.ndarray:
    """R[o, j]: fraction of recoil bin j whose observable (an increasing function of T, no smearing) falls in bin o.

    The observable is taken linear across each fine recoil bin, so a bin split by an observable edge is
    shared in proportion.
    """
    m = observable(np.asarray(t_edges_keV, dtype=float))
    if np.any(np.diff(m) <= 0):
        raise ConfigError("the light response must increase with recoil energy over the analysis window")
    lo, hi = m[:-1][None, :], m[1:][None, :]
    e_lo, e_hi = observable_edges[:-1, None], observable_edges[1:, None]
    overlap = np.clip(np.minimum(hi, e_hi) - np.maximum(lo, e_lo), 0.0, None)
    return overlap / (hi - lo)


def poisson_response(t_edges_keV: np.ndarray, mean_pe: Callable[[np.ndarray], np.ndarray],
                     pe_edges: np.ndarray) -> np.ndarray:
    """R[o, j]: probability that a recoil in bin j gives a photoelectron count n in [edge_o, edge_o+1)
    with n ~ Poisson(mean_pe(T)) (photoelectron statistics), averaged over the bin."""
    nodes, weights = _sub_nodes(np.asarray(t_edges_keV, dtype=float))
    mean = mean_pe(nodes)  # (n_fine, n)
    lo = np.ceil(pe_edges[:-1] - 1e-9)[:, None, None]
    hi = np.ceil(pe_edges[1:] - 1e-9)[:, None, None]  # n in [lo, hi)
    # P(lo <= n < hi) = P(n <= hi - 1) - P(n <= lo - 1)
    prob = poisson_cdf(hi - 1, mean[None]) - poisson_cdf(lo - 1, mean[None])
    return np.einsum("ojn,n->oj", prob, weights)


def poisson_cdf(k: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """P(n <= k) for n ~ Poisson(mean): the regularized incomplete gamma function, ``special.pdtr(floor(k), mean)``
    (0 below k = 0), as scipy.stats.poisson.cdf computes it (without importing scipy.stats, ~0.3-0.8 s at the start
    of every fit of a release)."""
    k = np.floor(k)
    return np.where(k >= 0, special.pdtr(np.maximum(k, 0.0), mean), 0.0)


def exponnorm_pdf(t: np.ndarray, tau: float, mean: float, sigma: float) -> np.ndarray:
    """Density of a Gaussian (mean, sigma) plus an independent exponential of mean tau (the exponentially modified
    Gaussian, Grushka, Anal. Chem. 44 (1972) 1733): with x = (t - mean) / sigma and K = tau / sigma,
    f = exp[(1/K) (1/(2K) - x)] Phi(x - 1/K) / (K sigma), evaluated in logs (log Phi by special.log_ndtr) as
    scipy.stats.exponnorm does."""
    x = (np.asarray(t, dtype=float) - mean) / sigma
    k = tau / sigma
    inv_k = 1.0 / k
    return np.exp(inv_k * (0.5 * inv_k - x) + special.log_ndtr(x - inv_k) - np.log(k)) / sigma


def gaussian_response(t_edges_keV: np.ndarray, mean: Callable[[np.ndarray], np.ndarray],
                      sigma: Callable[[np.ndarray], np.ndarray], observable_edges: np.ndarray) -> np.ndarray:
    """R[o, j]: Gaussian resolution, observable ~ N(mean(T), sigma(T)), averaged over recoil bin j."""
    nodes, weights = _sub_nodes(np.asarray(t_edges_keV, dtype=float))
    mu, sd = mean(nodes)[None], sigma(nodes)[None]
    e = observable_edges[:, None, None]
    cdf = special.ndtr((e - mu) / sd)
    return np.einsum("ojn,n->oj", np.diff(cdf, axis=0), weights)


def gamma_response(t_edges_keV: np.ndarray, mean: Callable[[np.ndarray], np.ndarray],
                   shape: Callable[[np.ndarray], np.ndarray], observable_edges: np.ndarray) -> np.ndarray:
    """R[o, j]: observable ~ Gamma(shape k(T), scale mean(T)/k(T)), averaged over recoil bin j."""
    nodes, weights = _sub_nodes(np.asarray(t_edges_keV, dtype=float))
    mu, k = mean(nodes)[None], shape(nodes)[None]
    e = np.clip(observable_edges, 0.0, None)[:, None, None]
    cdf = special.gammainc(k, e * k / mu)
    return np.einsum("ojn,n->oj", np.diff(cdf, axis=0), weights)


def rebin_matrix(fine_edges: np.ndarray, coarse_edges: np.ndarray) -> np.ndarray:
    """A[c, f] = 1 where fine bin f lies in coarse bin c; every coarse edge must be a fine edge."""
    fine_edges = np.asarray(fine_edges, dtype=float)
    index = np.searchsorted(fine_edges, coarse_edges)
    index = np.clip(index, 0, fine_edges.size - 1)
    if not np.allclose(fine_edges[index], coarse_edges):
        raise ConfigError(f"bin edges {list(coarse_edges)} are not edges of the finer binning")
    out = np.zeros((len(coarse_edges) - 1, len(fine_edges) - 1))
    for c in range(len(coarse_edges) - 1):
        out[c, index[c]:index[c + 1]] = 1.0
    return out


# --- additions for the COHERENT CsI 2021 and argon 2020 releases ---------------------------------
def particle_lifetime_us(pdgid: int) -> float:
    """Mean lifetime (us) from the PDG tables of the ``particle`` package (211: pi+, -13: mu+)."""
    from particle import Particle

    lifetime_ns = Particle.from_pdgid(pdgid).lifetime
    if lifetime_ns is None or not np.isfinite(lifetime_ns):  # pragma: no cover - only for stable/unknown ids
        raise ValueError(f"particle {pdgid} has no tabulated lifetime")
    return float(lifetime_ns) * 1.0e-3


def stopped_pion_time_densities(t_us: np.ndarray, beam_mean_us: float, beam_sigma_us: float) -> dict[str, np.ndarray]:
    """Arrival-time densities (1/us) of the prompt and delayed neutrinos of a pulsed stopped-pion source.

    The proton pulse is a Gaussian (mean, sigma); a pi+ decays after an exponential time of mean
    tau_pi (prompt nu_mu), its mu+ after a further exponential of mean tau_mu (delayed nu_e, nubar_mu):
    prompt = G (x) Exp(tau_pi); delayed = G (x) Exp(tau_pi) (x) Exp(tau_mu), written as
    [tau_mu Exp-Gauss(tau_mu) - tau_pi Exp-Gauss(tau_pi)] / (tau_mu - tau_pi) (the Bateman solution).
    Lifetimes: PDG via ``particle``.
    """
    tau_pi, tau_mu = particle_lifetime_us(211), particle_lifetime_us(-13)
    t = np.asarray(t_us, dtype=float)

    def exp_gauss(tau: float) -> np.ndarray:
        return exponnorm_pdf(t, tau, beam_mean_us, beam_sigma_us)

    prompt = exp_gauss(tau_pi)
    delayed = (tau_mu * exp_gauss(tau_mu) - tau_pi * exp_gauss(tau_pi)) / (tau_mu - tau_pi)
    return {"prompt": prompt, "delayed": np.clip(delayed, 0.0, None)}


def stopped_pion_time_pdfs(time_edges_us: np.ndarray, beam_mean_us: float, beam_sigma_us: float,
                           efficiency: Callable[[np.ndarray], np.ndarray] | None = None,
                           step_us: float = 1.0e-3) -> dict[str, np.ndarray]:
    """Probability per time bin (times the timing efficiency, if given) of prompt and delayed neutrinos
    (:func:`stopped_pion_time_densities` integrated with the midpoint rule on ``step_us`` steps)."""
    edges = np.asarray(time_edges_us, dtype=float)
    n = max(int(np.ceil((edges[-1] - edges[0]) / step_us)), 1)
    fine = np.linspace(edges[0], edges[-1], n + 1)
    mid = 0.5 * (fine[1:] + fine[:-1])
    weight = np.diff(fine) * (1.0 if efficiency is None else efficiency(mid))
    densities = stopped_pion_time_densities(mid, beam_mean_us, beam_sigma_us)
    matrix = overlap_matrix(fine, edges)
    return {k: matrix @ (v * weight) for k, v in densities.items()}


def overlap_matrix(fine_edges: np.ndarray, coarse_edges: np.ndarray) -> np.ndarray:
    """A[c, f]: the fraction of fine bin f inside coarse bin c (content taken uniform across a fine bin)."""
    fine_edges = np.asarray(fine_edges, dtype=float)
    coarse_edges = np.asarray(coarse_edges, dtype=float)
    lo, hi = fine_edges[None, :-1], fine_edges[None, 1:]
    overlap = np.clip(np.minimum(hi, coarse_edges[1:, None]) - np.maximum(lo, coarse_edges[:-1, None]), 0.0, None)
    return overlap / (hi - lo)
