"""Standard Model and NSI vector charges of a nucleus (Dent et al., arXiv:1711.03521, eqs. 1-2).

Heavy-mediator vector NSI with the quarks (Barranco, Miranda & Rashba,
JHEP 12 (2005) 021, eq. 2; the paper arXiv:1711.03521, eq. 2):

    Q_ab = delta_ab (Z g_p + N g_n) + Z (2 eps^u_ab + eps^d_ab) + N (eps^u_ab + 2 eps^d_ab)
    g_p = 1/2 - 2 sin^2(theta_W),  g_n = -1/2

for incoming flavor a and outgoing flavor b. The NSI matrices are real and
symmetric; the twelve independent couplings are named
``eps_{u,d}_{ee,emu,etau,mumu,mutau,tautau}`` (:data:`NSI_NAMES`).

Q_ab is affine in the couplings, so sum_b |Q_ab|^2 is an exact quadratic form:
:func:`charge_coefficients` returns the affine coefficients that the response
kernels (``cevns.experiment``) contract with.

Coupling conventions (:data:`COUPLING_CONVENTIONS`, keyword ``convention``):

* ``"tree"`` (default, Dent et al., arXiv:1711.03521, eqs. 1-2): g_p = 1/2 - 2 sin^2(theta_W), g_n = -1/2, with the
  low-energy sin^2(theta_W) = 0.2387 of :mod:`cevns.units`.
* ``"radiative"``: the one-loop couplings of Barranco, Miranda & Rashba, JHEP 12
  (2005) 021, with the PDG 2004 neutrino-nucleon parameters
  (:data:`BARRANCO_2005`) and sin^2(theta_W) read as the MS-bar value at the Z pole
  (0.2312 in that paper and in the authors' pyCEvNS): g_p = 0.0304, g_n = -0.5122.

Two extensions keep the rate an exact quadratic form (each one equation, one function):

* the weak mixing angle as a parameter: Q is affine in sin^2(theta_W), so
  :func:`charge_coefficients_with_sin2` appends a column for
  delta_s = sin^2(theta_W) - sin2_reference;
* separate proton and neutron form factors: :func:`nucleon_charge_coefficients`
  splits Q into the parts that multiply F_p(q) and F_n(q).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import CevnsError
from ..spec.vocabulary import (  # noqa: F401  (the names live in the spec; re-exported here)
    COUPLING_CONVENTIONS, FLAVOR_PAIRS, LEPTON_FLAVORS, N_NSI, NSI_NAMES, PAIR_LABELS,
    QUARKS, UnknownCouplingError, canonical_nsi_name, parse_nsi_name)

# Quark content of the nucleons: proton = uud, neutron = udd. A vector coupling
# eps^q to quark q adds (number of q in the nucleon) * eps^q to that nucleon's charge.
PROTON_QUARK_CONTENT = {"u": 2, "d": 1}
NEUTRON_QUARK_CONTENT = {"u": 1, "d": 2}


class UnknownConventionError(CevnsError, ValueError):
    """A coupling convention outside :data:`COUPLING_CONVENTIONS`."""


@dataclass(frozen=True)
class RadiativeCorrections:
    """One-loop parameters of the neutrino-quark neutral current (dimensionless).

    Attributes
    ----------
    rho : float          rho^NC_nuN, the neutral- to charged-current strength ratio
    kappa : float        kappa-hat_nuN, multiplies the MS-bar sin^2(theta_W)
    lambda_u_l, lambda_d_l, lambda_u_r, lambda_d_r : float
        box-diagram corrections lambda^{qL}, lambda^{qR}
    source : str
    """

    rho: float
    kappa: float
    lambda_u_l: float
    lambda_d_l: float
    lambda_u_r: float
    lambda_d_r: float
    source: str


#: Barranco, Miranda & Rashba, JHEP 12 (2005) 021 (hep-ph/0508299), quoting the
#: PDG 2004 electroweak review (Erler & Langacker): rho = 1.0086, kappa = 0.9978,
#: lambda^uL = -0.0031, lambda^dL = -0.0025, lambda^dR = 2 lambda^uR = 7.5e-5. The same
#: numbers are in the authors' pyCEvNS (athompson-tamu/pyCEvNS, ``rho = 1.0086 ... lur = ldr / 2``).
BARRANCO_2005 = RadiativeCorrections(
    rho=1.0086,
    kappa=0.9978,
    lambda_u_l=-0.0031,
    lambda_d_l=-0.0025,
    lambda_u_r=7.5e-5 / 2.0,
    lambda_d_r=7.5e-5,
    source="Barranco, Miranda & Rashba, JHEP 12 (2005) 021 (PDG 2004 parameters)",
)


def _check_convention(convention: str) -> None:
    if convention not in COUPLING_CONVENTIONS:
        raise UnknownConventionError(
            f"unknown coupling convention {convention!r}; use one of: {', '.join(COUPLING_CONVENTIONS)}"
        )


def radiative_nucleon_charges(
    sin2_theta_w_msbar: float, corrections: RadiativeCorrections = BARRANCO_2005
) -> tuple[float, float]:
    """Radiatively corrected vector couplings of the neutrino to proton and neutron: (g_p, g_n).

    Barranco, Miranda & Rashba, JHEP 12 (2005) 021::

        g_p = rho (1/2 - 2 kappa s^2) + 2 lambda^uL + 2 lambda^uR + lambda^dL + lambda^dR
        g_n = -rho/2 + lambda^uL + lambda^uR + 2 lambda^dL + 2 lambda^dR

    with s^2 the MS-bar sin^2(theta_W) at the Z pole (0.2312 in that paper, PDG 2004;
    :data:`cevns.units.SIN2_THETA_W_MSBAR_MZ_BMR2005`). At s^2 = 0.2312 this gives
    g_p = 0.0304 and g_n = -0.5122; both are affine in s^2 (slope -2 rho kappa for g_p).
    """
    c = corrections
    g_p = c.rho * (0.5 - 2.0 * c.kappa * sin2_theta_w_msbar) + 2.0 * c.lambda_u_l + 2.0 * c.lambda_u_r + c.lambda_d_l + c.lambda_d_r
    g_n = -0.5 * c.rho + c.lambda_u_l + c.lambda_u_r + 2.0 * c.lambda_d_l + 2.0 * c.lambda_d_r
    return g_p, g_n


def weak_nucleon_charges(sin2_theta_w: float, convention: str = "tree") -> tuple[float, float]:
    """Vector couplings of the Z to proton and neutron: (g_p, g_n).

    ``convention="tree"`` (default): g_p = 1/2 - 2 sin^2(theta_W), g_n = -1/2 (Dent et al., arXiv:1711.03521, eqs. 1-2;
    PDG electroweak review). ``convention="radiative"``: :func:`radiative_nucleon_charges`
    (Barranco, Miranda & Rashba 2005), where ``sin2_theta_w`` is the MS-bar value at the
    Z pole (0.2312 there), not the low-energy 0.2387.
    """
    if convention == "tree":
        return 0.5 - 2.0 * sin2_theta_w, -0.5
    _check_convention(convention)
    return radiative_nucleon_charges(sin2_theta_w)


def weak_nucleon_charge_slopes(convention: str = "tree") -> tuple[float, float]:
    """(d g_p / d sin^2(theta_W), d g_n / d sin^2(theta_W)): tree (-2, 0); radiative (-2 rho kappa, 0).

    Both conventions are affine in sin^2(theta_W), so these slopes are exact.
    """
    _check_convention(convention)
    if convention == "tree":
        return -2.0, 0.0
    return -2.0 * BARRANCO_2005.rho * BARRANCO_2005.kappa, 0.0


def sm_vector_charge(z: int, n: int, sin2_theta_w: float, convention: str = "tree") -> float:
    """Standard Model vector charge Z g_p + N g_n (= -Q_W / 2); ``convention`` as in :func:`weak_nucleon_charges`."""
    g_p, g_n = weak_nucleon_charges(sin2_theta_w, convention)
    return z * g_p + n * g_n


def nsi_vector(values: Mapping[str, float] | None = None) -> np.ndarray:
    """The 12-vector of couplings in :data:`NSI_NAMES` order from a name -> value map."""
    vector = np.zeros(N_NSI)
    for name, value in (values or {}).items():
        vector[NSI_NAMES.index(canonical_nsi_name(name))] = float(value)
    return vector


def nsi_matrices(vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric 3x3 matrices (eps^u, eps^d) from coupling vector(s) of shape (..., 12)."""
    vector = np.asarray(vector, dtype=float)
    mats = np.zeros(vector.shape[:-1] + (2, 3, 3))
    for k, (a, b) in enumerate(FLAVOR_PAIRS):
        for iq in range(2):
            value = vector[..., iq * len(FLAVOR_PAIRS) + k]
            mats[..., iq, a, b] = value
            mats[..., iq, b, a] = value
    return mats[..., 0, :, :], mats[..., 1, :, :]


def vector_charge(
    z: int, n: int, eps_u: np.ndarray, eps_d: np.ndarray, sin2_theta_w: float, convention: str = "tree"
) -> np.ndarray:
    """Full vector-charge matrix Q_ab (shape (..., 3, 3)) of Dent et al., arXiv:1711.03521, eqs. 1-2 / Barranco et al. eq. 2.

    Parameters
    ----------
    z, n : int
        Proton and neutron numbers.
    eps_u, eps_d : array (..., 3, 3)
        Real symmetric NSI matrices.
    sin2_theta_w : float
        Weak mixing angle.
    convention : {"tree", "radiative"}
        Nucleon couplings, :func:`weak_nucleon_charges`.
    """
    q_sm = sm_vector_charge(z, n, sin2_theta_w, convention)
    eps_u = np.asarray(eps_u, dtype=float)
    eps_d = np.asarray(eps_d, dtype=float)
    p_u, p_d = PROTON_QUARK_CONTENT["u"], PROTON_QUARK_CONTENT["d"]
    n_u, n_d = NEUTRON_QUARK_CONTENT["u"], NEUTRON_QUARK_CONTENT["d"]
    return q_sm * np.eye(3) + z * (p_u * eps_u + p_d * eps_d) + n * (n_u * eps_u + n_d * eps_d)


def charge_coefficients(z: int, n: int, sin2_theta_w: float, convention: str = "tree") -> np.ndarray:
    """Affine coefficients C of the charge: Q_ab = C[a, b, 0] + sum_k C[a, b, 1 + k] eps_k.

    Shape (3, 3, 1 + 12), couplings in :data:`NSI_NAMES` order. Exact, so
    sum_b Q_ab^2 = x^T (sum_b C_ab C_ab^T) x with x = (1, eps). ``convention``
    as in :func:`weak_nucleon_charges`.
    """
    coeff = np.zeros((3, 3, 1 + N_NSI))
    coeff[:, :, 0] = sm_vector_charge(z, n, sin2_theta_w, convention) * np.eye(3)
    per_quark = {
        "u": z * PROTON_QUARK_CONTENT["u"] + n * NEUTRON_QUARK_CONTENT["u"],
        "d": z * PROTON_QUARK_CONTENT["d"] + n * NEUTRON_QUARK_CONTENT["d"],
    }
    for iq, quark in enumerate(QUARKS):
        for k, (a, b) in enumerate(FLAVOR_PAIRS):
            column = 1 + iq * len(FLAVOR_PAIRS) + k
            coeff[a, b, column] = per_quark[quark]
            coeff[b, a, column] = per_quark[quark]
    return coeff


def charge_gram_matrices(z: int, n: int, sin2_theta_w: float, convention: str = "tree") -> np.ndarray:
    """G[a] = sum_b C_ab C_ab^T, shape (3, 13, 13): sum_b Q_ab^2 = x^T G[a] x, x = (1, eps)."""
    coeff = charge_coefficients(z, n, sin2_theta_w, convention)
    return np.einsum("abi,abj->aij", coeff, coeff)


# --- the weak mixing angle as a linear parameter ------------------------------------------

#: Name of the extra linear parameter of :func:`charge_coefficients_with_sin2`.
DELTA_SIN2_NAME = "delta_sin2_theta_w"


def charge_coefficients_with_sin2(
    z: int, n: int, sin2_reference: float, convention: str = "tree"
) -> np.ndarray:
    """Affine coefficients over x = (1, eps_1..eps_12, delta_s), delta_s = sin^2(theta_W) - sin2_reference.

    The SM charge is affine in s = sin^2(theta_W) in both conventions
    (tree: Z (1/2 - 2 s) - N/2; radiative: :func:`radiative_nucleon_charges`), so

        Q_ab(s, eps) = C[a, b, :13] . (1, eps) + delta_ab (Z dg_p/ds + N dg_n/ds) delta_s

    exactly, and sum_b Q_ab^2 stays a quadratic form in x. Shape (3, 3, 14); the last
    column is :data:`DELTA_SIN2_NAME`. At delta_s = 0 this is :func:`charge_coefficients`.
    """
    slope_p, slope_n = weak_nucleon_charge_slopes(convention)
    coeff = np.zeros((3, 3, 2 + N_NSI))
    coeff[:, :, : 1 + N_NSI] = charge_coefficients(z, n, sin2_reference, convention)
    coeff[:, :, 1 + N_NSI] = (z * slope_p + n * slope_n) * np.eye(3)
    return coeff


def charge_gram_matrices_with_sin2(
    z: int, n: int, sin2_reference: float, convention: str = "tree"
) -> np.ndarray:
    """G[a] = sum_b C_ab C_ab^T of :func:`charge_coefficients_with_sin2`, shape (3, 14, 14)."""
    coeff = charge_coefficients_with_sin2(z, n, sin2_reference, convention)
    return np.einsum("abi,abj->aij", coeff, coeff)


# --- separate proton and neutron form factors -----------------------------------------------

#: Order of the form-factor weights that multiply :func:`nucleon_charge_gram_matrices`.
NUCLEON_FORM_FACTOR_WEIGHTS = ("F_p^2", "F_p F_n", "F_n^2")


def nucleon_charge_coefficients(z: int, n: int, sin2_theta_w: float, convention: str = "tree") -> np.ndarray:
    """Proton and neutron parts of the charge coefficients, shape (2, 3, 3, 13).

    With separate proton and neutron form factors the charge is (e.g. Cadeddu et al.,
    PRL 120 (2018) 072501, extended to NSI as in Barranco et al. 2005)

        Q_ab(q) = F_p(q) [delta_ab Z g_p + Z (2 eps^u_ab + eps^d_ab)]
                + F_n(q) [delta_ab N g_n + N (eps^u_ab + 2 eps^d_ab)]
                = F_p(q) P[a, b, :] . x + F_n(q) M[a, b, :] . x,   x = (1, eps),

    and this returns (P, M). P + M equals :func:`charge_coefficients`; with
    F_p = F_n = F the charge is F Q (the form factor then multiplies the cross
    section as F^2, Dent et al., arXiv:1711.03521, eqs. 1-2).
    """
    g_p, g_n = weak_nucleon_charges(sin2_theta_w, convention)
    coeff = np.zeros((2, 3, 3, 1 + N_NSI))
    coeff[0, :, :, 0] = z * g_p * np.eye(3)
    coeff[1, :, :, 0] = n * g_n * np.eye(3)
    for iq, quark in enumerate(QUARKS):
        for k, (a, b) in enumerate(FLAVOR_PAIRS):
            column = 1 + iq * len(FLAVOR_PAIRS) + k
            for nucleon, (count, content) in enumerate(((z, PROTON_QUARK_CONTENT), (n, NEUTRON_QUARK_CONTENT))):
                coeff[nucleon, a, b, column] = count * content[quark]
                coeff[nucleon, b, a, column] = count * content[quark]
    return coeff


def nucleon_charge_gram_matrices(z: int, n: int, sin2_theta_w: float, convention: str = "tree") -> np.ndarray:
    """Gram matrices for separate form factors, shape (3 weights, 3 flavors, 13, 13).

    sum_b |Q_ab(q)|^2 = F_p^2 x^T G[0, a] x + F_p F_n x^T G[1, a] x + F_n^2 x^T G[2, a] x

    with G[0] = sum_b P_ab P_ab^T, G[1] = sum_b (P_ab M_ab^T + M_ab P_ab^T),
    G[2] = sum_b M_ab M_ab^T (P, M of :func:`nucleon_charge_coefficients`; weights in
    :data:`NUCLEON_FORM_FACTOR_WEIGHTS` order). At fixed radii the rate is therefore
    three kernels, weighted by F_p^2, F_p F_n and F_n^2 instead of F^2.
    """
    proton, neutron = nucleon_charge_coefficients(z, n, sin2_theta_w, convention)
    pp = np.einsum("abi,abj->aij", proton, proton)
    pn = np.einsum("abi,abj->aij", proton, neutron)
    nn = np.einsum("abi,abj->aij", neutron, neutron)
    return np.stack([pp, pn + np.swapaxes(pn, 1, 2), nn])


def vector_charge_with_form_factors(
    z: int,
    n: int,
    eps_u: np.ndarray,
    eps_d: np.ndarray,
    sin2_theta_w: float,
    form_factor_proton: np.ndarray,
    form_factor_neutron: np.ndarray,
    convention: str = "tree",
) -> np.ndarray:
    """Q_ab(q) = F_p(q) Q^p_ab + F_n(q) Q^n_ab, shape broadcast(F) + (3, 3).

    Q^p_ab = delta_ab Z g_p + Z (2 eps^u_ab + eps^d_ab), Q^n_ab = delta_ab N g_n + N (eps^u_ab + 2 eps^d_ab)
    (see :func:`nucleon_charge_coefficients`). ``eps_u``, ``eps_d``: (..., 3, 3) matrices
    broadcast against the form factors' shape (dimensionless; F_p, F_n at the same q).
    """
    g_p, g_n = weak_nucleon_charges(sin2_theta_w, convention)
    eps_u = np.asarray(eps_u, dtype=float)
    eps_d = np.asarray(eps_d, dtype=float)
    charge_p = z * (g_p * np.eye(3) + PROTON_QUARK_CONTENT["u"] * eps_u + PROTON_QUARK_CONTENT["d"] * eps_d)
    charge_n = n * (g_n * np.eye(3) + NEUTRON_QUARK_CONTENT["u"] * eps_u + NEUTRON_QUARK_CONTENT["d"] * eps_d)
    f_p = np.asarray(form_factor_proton, dtype=float)[..., None, None]
    f_n = np.asarray(form_factor_neutron, dtype=float)[..., None, None]
    return f_p * charge_p + f_n * charge_n
