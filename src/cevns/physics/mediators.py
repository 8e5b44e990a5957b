"""Light vector mediators (Z') in CEvNS: the propagator factor and its kernel decomposition.

A vector boson Z' of mass m with couplings

    L = Z'_mu ( sum_ab g^nu_ab  nubar_a gamma^mu P_L nu_b  +  sum_q g_q qbar gamma^mu q )

adds to the Z exchange. Integrating it out at momentum transfer q^2 = 2 m_N T (MeV^2)
gives the contact NSI of Dent et al., arXiv:1711.03521, eqs. 1-2 with a q-dependent strength,

    eps^q_ab(q^2) = g^nu_ab g_q / (sqrt(2) G_F (m^2 + q^2))                     (1)
                  = eps^q_ab(0) * P(T),   P(T) = m^2 / (m^2 + 2 m_N T),

in the normalisation where the Z itself gives the SM charge (the same derivation with the
Z couplings g/(2 cos theta_W) x (1, g_V^q) and G_F/sqrt2 = g^2/(8 m_W^2) returns
eps = g_V^q). This is the relation used for COHERENT light mediators by Cerdeno et al.,
JHEP 05 (2016) 118 (their G_V factor, with Q_V = -2 Q_SM), Liao & Marfatia, PLB 775 (2017) 54, and
Denton, Farzan & Shoemaker, JHEP 07 (2018) 037; in it a universal Z' with g_nu g_q > 0
interferes destructively with the (negative, neutron-dominated) SM charge. Published
formulae differ by the overall sign convention of g_nu g_q only.

The charge for incoming flavor a is therefore (x = (1, eps(0)), C of
:func:`cevns.physics.couplings.charge_coefficients`)

    Q_ab(T) = C_ab[0] + P(T) sum_k C_ab[k] eps_k(0)
    sum_b Q_ab(T)^2 = x^T G0 x + P(T) x^T G1 x + P(T)^2 x^T G2 x                 (2)

with G0 the SM entry of G = sum_b C_ab C_ab^T, G1 its SM-Z' cross entries and G2 its
Z'-Z' block (:func:`split_gram_by_propagator_power`). At fixed m the rate is three
kernels: the usual integrand weighted by 1, by P(T) and by P(T)^2
(:func:`propagator_basis`). With both heavy NSI and a light Z', label each column of x
by its propagator power (0 for SM and heavy NSI, 1 for Z') and entry (i, j) carries
P^(p_i + p_j).

m -> infinity at fixed g_nu g_q / m^2 recovers contact NSI with eps = g_nu g_q / (sqrt2 G_F m^2).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import units
from .couplings import FLAVOR_PAIRS, N_NSI, charge_coefficients
from .kinematics import momentum_transfer_squared

#: Order of the weights returned by :func:`propagator_basis`.
PROPAGATOR_POWERS = (0, 1, 2)


def propagator_factor(t_recoil: ArrayLike, m_nucleus: float, mediator_mass_MeV: float) -> np.ndarray:
    """P(T) = m^2 / (m^2 + 2 m_N T): the light-mediator suppression of eq. (1), dimensionless.

    ``mediator_mass_MeV = inf`` gives 1 (contact limit). Energies and masses in MeV.
    """
    q2 = momentum_transfer_squared(t_recoil, m_nucleus)
    if np.isinf(mediator_mass_MeV):
        return np.ones_like(q2)
    if not mediator_mass_MeV > 0:
        raise ValueError(f"mediator mass must be > 0 MeV, got {mediator_mass_MeV}")
    m2 = float(mediator_mass_MeV) ** 2
    return m2 / (m2 + q2)


def effective_nsi(coupling_product: ArrayLike, mediator_mass_MeV: float, q2_MeV2: ArrayLike = 0.0) -> np.ndarray:
    """eps(q^2) = g_nu g_q / (sqrt(2) G_F (m^2 + q^2)), eq. (1); dimensionless.

    ``coupling_product`` = g_nu g_q (dimensionless), ``mediator_mass_MeV`` = m, ``q2_MeV2`` = q^2.
    G_F from :data:`cevns.units.G_FERMI_MeV2` (CODATA).
    """
    gg = np.asarray(coupling_product, dtype=float)
    return gg / (np.sqrt(2.0) * units.G_FERMI_MeV2 * (float(mediator_mass_MeV) ** 2 + np.asarray(q2_MeV2, dtype=float)))


def coupling_product_for_nsi(eps_contact: ArrayLike, mediator_mass_MeV: float) -> np.ndarray:
    """Inverse of eq. (1) at q = 0: g_nu g_q = sqrt(2) G_F m^2 eps(0) (m in MeV)."""
    return np.sqrt(2.0) * units.G_FERMI_MeV2 * float(mediator_mass_MeV) ** 2 * np.asarray(eps_contact, dtype=float)


def mediator_nsi_vector(
    g_nu: ArrayLike, g_u: float, g_d: float, mediator_mass_MeV: float
) -> np.ndarray:
    """Contact-normalised couplings eps(0) of a Z' in :data:`cevns.physics.couplings.NSI_NAMES` order.

    ``g_nu``: the neutrino couplings, a scalar (flavor-universal, diagonal), a length-3
    vector (diagonal, flavors e, mu, tau; e.g. (0, 1, -1) g for L_mu - L_tau) or a
    symmetric 3x3 matrix. ``g_u``, ``g_d``: vector couplings to u and d quarks (B-L or a
    universal Z': g_u = g_d; baryon number: g_u = g_d = g_B/3). Returns shape (12,), with
    eps^q_ab(0) = g^nu_ab g_q / (sqrt2 G_F m^2); multiply by P(T) for eq. (1).
    """
    g_nu = np.asarray(g_nu, dtype=float)
    if g_nu.ndim == 0:
        g_nu = g_nu * np.eye(3)
    elif g_nu.shape == (3,):
        g_nu = np.diag(g_nu)
    elif g_nu.shape != (3, 3) or not np.allclose(g_nu, g_nu.T):
        raise ValueError(f"g_nu must be a scalar, a 3-vector or a symmetric 3x3 matrix, got shape {g_nu.shape}")
    vector = np.zeros(N_NSI)
    for iq, g_q in enumerate((g_u, g_d)):
        for k, (a, b) in enumerate(FLAVOR_PAIRS):
            vector[iq * len(FLAVOR_PAIRS) + k] = float(effective_nsi(g_nu[a, b] * g_q, mediator_mass_MeV))
    return vector


def light_mediator_vector_charge(
    z: int,
    n: int,
    t_recoil: ArrayLike,
    m_nucleus: float,
    mediator_mass_MeV: float,
    eps_contact: ArrayLike,
    sin2_theta_w: float,
    convention: str = "tree",
) -> np.ndarray:
    """Q_ab(T) = C_ab[0] + P(T) sum_k C_ab[k] eps_k(0), shape T.shape + (3, 3).

    ``eps_contact``: the 12 contact-normalised couplings eps(0) (:func:`mediator_nsi_vector`);
    T and m_N in MeV. This is the full light-mediator charge, eq. (1), for direct use and
    tests; the kernels use :func:`split_gram_by_propagator_power` instead.
    """
    coeff = charge_coefficients(z, n, sin2_theta_w, convention)
    p = propagator_factor(t_recoil, m_nucleus, mediator_mass_MeV)
    eps = np.asarray(eps_contact, dtype=float)
    sm = coeff[:, :, 0]
    new = coeff[:, :, 1:] @ eps
    return sm + p[..., None, None] * new


def propagator_basis(t_recoil: ArrayLike, m_nucleus: float, mediator_mass_MeV: float) -> np.ndarray:
    """The T-dependent weights (1, P(T), P(T)^2) of eq. (2), shape (3,) + T.shape.

    Kernel j = integral of (usual CEvNS integrand) x weight[j] multiplies x^T G_j x
    (:func:`split_gram_by_propagator_power`), for j in :data:`PROPAGATOR_POWERS`.
    """
    p = propagator_factor(t_recoil, m_nucleus, mediator_mass_MeV)
    return np.stack([np.ones_like(p), p, p * p])


def split_gram_by_propagator_power(gram: np.ndarray, powers: ArrayLike | None = None) -> np.ndarray:
    """Split Gram matrices G (..., k, k) into (G0, G1, G2) by propagator power, shape (3, ..., k, k).

    ``powers``: for each column of x, 0 (SM, heavy NSI) or 1 (light-Z' coupling eps(0));
    default: column 0 is the SM (power 0) and all others are Z' couplings (power 1), i.e.
    x = (1, eps(0)) of :func:`charge_coefficients`. Entry (i, j) goes to G_{p_i + p_j},
    so x^T G(T) x = sum_j P(T)^j x^T G_j x exactly, and G0 + G1 + G2 = G.
    """
    gram = np.asarray(gram, dtype=float)
    size = gram.shape[-1]
    if powers is None:
        powers = np.ones(size, dtype=int)
        powers[0] = 0
    powers = np.asarray(powers, dtype=int)
    if powers.shape != (size,) or not np.all((powers == 0) | (powers == 1)):
        raise ValueError(f"powers must be {size} values of 0 or 1, got {powers}")
    total = powers[:, None] + powers[None, :]
    return np.stack([np.where(total == j, gram, 0.0) for j in PROPAGATOR_POWERS])


def universal_mediator_nsi(coupling_product: float, mediator_mass_MeV: float) -> np.ndarray:
    """eps(0) for a flavor-universal Z' coupling equally to u and d (g_nu g_q = ``coupling_product``).

    Cerdeno et al. 2016's "universal" vector mediator: every diagonal eps^u = eps^d =
    g_nu g_q / (sqrt2 G_F m^2), so Q_Z'(0) = 3 (Z + N) g_nu g_q / (sqrt2 G_F m^2).
    """
    return mediator_nsi_vector(1.0, coupling_product, coupling_product, mediator_mass_MeV)


__all__ = [
    "PROPAGATOR_POWERS",
    "coupling_product_for_nsi",
    "effective_nsi",
    "light_mediator_vector_charge",
    "mediator_nsi_vector",
    "propagator_basis",
    "propagator_factor",
    "split_gram_by_propagator_power",
    "universal_mediator_nsi",
]
