"""Standard Model and NSI vector charges of a nucleus (SPEC S1).

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
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .flavors import LEPTON_FLAVORS

QUARKS = ("u", "d")
#: Flavor pairs (a <= b) of the symmetric NSI matrix, in the order used everywhere.
FLAVOR_PAIRS = tuple(
    (a, b) for a in range(3) for b in range(a, 3)
)
PAIR_LABELS = tuple(LEPTON_FLAVORS[a] + LEPTON_FLAVORS[b] for a, b in FLAVOR_PAIRS)
#: The twelve independent real couplings, u first then d, pairs in FLAVOR_PAIRS order.
NSI_NAMES = tuple(f"eps_{q}_{label}" for q in QUARKS for label in PAIR_LABELS)
N_NSI = len(NSI_NAMES)

# Quark content of the nucleons: proton = uud, neutron = udd. A vector coupling
# eps^q to quark q adds (number of q in the nucleon) * eps^q to that nucleon's charge.
PROTON_QUARK_CONTENT = {"u": 2, "d": 1}
NEUTRON_QUARK_CONTENT = {"u": 1, "d": 2}


class UnknownCouplingError(ValueError):
    """An NSI coupling name outside :data:`NSI_NAMES`."""


def weak_nucleon_charges(sin2_theta_w: float) -> tuple[float, float]:
    """Tree-level vector couplings of the Z to proton and neutron: (g_p, g_n).

    g_p = 1/2 - 2 sin^2(theta_W), g_n = -1/2 (SPEC S1; PDG electroweak review).
    """
    return 0.5 - 2.0 * sin2_theta_w, -0.5


def sm_vector_charge(z: int, n: int, sin2_theta_w: float) -> float:
    """Standard Model vector charge Z g_p + N g_n (= -Q_W / 2)."""
    g_p, g_n = weak_nucleon_charges(sin2_theta_w)
    return z * g_p + n * g_n


def parse_nsi_name(name: str) -> tuple[str, int, int]:
    """Split ``eps_u_emu`` into (quark, a, b) with flavor indices a <= b.

    Raises
    ------
    UnknownCouplingError
        If ``name`` is not one of :data:`NSI_NAMES` (``eps_d_mue`` is accepted
        as the symmetric partner of ``eps_d_emu``).
    """
    parts = name.split("_")
    if len(parts) == 3 and parts[0] == "eps" and parts[1] in QUARKS:
        label = parts[2]
        for a, fa in enumerate(LEPTON_FLAVORS):
            for b, fb in enumerate(LEPTON_FLAVORS):
                if fa + fb == label:
                    return parts[1], min(a, b), max(a, b)
    raise UnknownCouplingError(
        f"unknown NSI coupling {name!r}; use one of: {', '.join(NSI_NAMES)}"
    )


def canonical_nsi_name(name: str) -> str:
    """The name in :data:`NSI_NAMES` that ``name`` refers to."""
    quark, a, b = parse_nsi_name(name)
    return f"eps_{quark}_{LEPTON_FLAVORS[a]}{LEPTON_FLAVORS[b]}"


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


def vector_charge(z: int, n: int, eps_u: np.ndarray, eps_d: np.ndarray, sin2_theta_w: float) -> np.ndarray:
    """Full vector-charge matrix Q_ab (shape (..., 3, 3)) of SPEC S1 / Barranco et al. eq. 2.

    Parameters
    ----------
    z, n : int
        Proton and neutron numbers.
    eps_u, eps_d : array (..., 3, 3)
        Real symmetric NSI matrices.
    sin2_theta_w : float
        Weak mixing angle.
    """
    q_sm = sm_vector_charge(z, n, sin2_theta_w)
    eps_u = np.asarray(eps_u, dtype=float)
    eps_d = np.asarray(eps_d, dtype=float)
    p_u, p_d = PROTON_QUARK_CONTENT["u"], PROTON_QUARK_CONTENT["d"]
    n_u, n_d = NEUTRON_QUARK_CONTENT["u"], NEUTRON_QUARK_CONTENT["d"]
    return q_sm * np.eye(3) + z * (p_u * eps_u + p_d * eps_d) + n * (n_u * eps_u + n_d * eps_d)


def charge_coefficients(z: int, n: int, sin2_theta_w: float) -> np.ndarray:
    """Affine coefficients C of the charge: Q_ab = C[a, b, 0] + sum_k C[a, b, 1 + k] eps_k.

    Shape (3, 3, 1 + 12), couplings in :data:`NSI_NAMES` order. Exact, so
    sum_b Q_ab^2 = x^T (sum_b C_ab C_ab^T) x with x = (1, eps).
    """
    coeff = np.zeros((3, 3, 1 + N_NSI))
    coeff[:, :, 0] = sm_vector_charge(z, n, sin2_theta_w) * np.eye(3)
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


def charge_gram_matrices(z: int, n: int, sin2_theta_w: float) -> np.ndarray:
    """G[a] = sum_b C_ab C_ab^T, shape (3, 13, 13): sum_b Q_ab^2 = x^T G[a] x, x = (1, eps)."""
    coeff = charge_coefficients(z, n, sin2_theta_w)
    return np.einsum("abi,abj->aij", coeff, coeff)
