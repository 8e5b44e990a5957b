"""Quenching of nuclear recoils: the Lindhard model.

A nuclear recoil of kinetic energy T gives the ionisation (or light) of an electron recoil of energy
Eee = QF(T) T. Lindhard's theory of the energy partition between electronic and nuclear stopping
(J. Lindhard, V. Nielsen, M. Scharff & P. V. Thomsen, Mat. Fys. Medd. Dan. Vid. Selsk. 33 (1963) 10) in
the parameterisation of J. D. Lewin & P. F. Smith, Astropart. Phys. 6 (1996) 87, section 6 (eq. 6.2 and
the fit of g below it):

    QF(T) = k g(eps) / (1 + k g(eps)),   g(eps) = 3 eps^0.15 + 0.7 eps^0.6 + eps,
    eps = 11.5 Z^(-7/3) T / keV,         k = 0.133 Z^(2/3) A^(-1/2)  (Lindhard's electronic stopping).

For germanium (Z = 32, A = 72.63) Lindhard's k is 0.157. The CONUS measurement over 0.4-6.3 keVnr
(A. Bonhomme et al., Eur. Phys. J. C 82 (2022) 815, arXiv:2202.03754) finds k = 0.162 +- 0.004, close to it;
the Dresden-II collaboration's iron-filter and YBe data (Colaresi et al., PRD 104 (2021) 072003,
arXiv:2108.02880) lie above it below ~2 keVnr, and the measurements disagree beyond their errors (e.g. Collar
& Lewis, arXiv:2203.00750, dispute the CONUS result below 1 keVnr). Lindhard's theory is meant for recoils
well above a keV (eps >~ 0.01); at the 1-8 keVnr of a reactor signal in germanium (eps = 0.004-0.03) it is a
parameterisation of the data, not a prediction. Which model a fit used is therefore part of its result
(docs/data.md, Dresden-II).
"""

from __future__ import annotations

import numpy as np

#: eps = EPSILON_PER_KEV * Z^(-7/3) * T[keV] (Lewin & Smith 1996, section 6)
EPSILON_PER_KEV = 11.5
#: k = K_COEFFICIENT * Z^(2/3) * A^(-1/2) (Lindhard et al. 1963; Lewin & Smith 1996, section 6)
K_COEFFICIENT = 0.133


def lindhard_k(z: float, a: float) -> float:
    """Lindhard's electronic-stopping constant k = 0.133 Z^(2/3) A^(-1/2) (Lewin & Smith 1996, section 6)."""
    if z <= 0 or a <= 0:
        raise ValueError(f"lindhard_k needs Z > 0 and A > 0, not Z={z}, A={a}")
    return K_COEFFICIENT * z ** (2.0 / 3.0) / np.sqrt(a)


def lindhard_quenching(t_keV: np.ndarray, z: float, k: float) -> np.ndarray:
    """QF(T) = k g / (1 + k g) for nuclear recoils of T keV on a nucleus of charge Z (module docstring).

    Tends to 0 as T -> 0 and to 1 for T -> infinity; the value at T = 0 is 0.
    """
    if k <= 0:
        raise ValueError(f"the Lindhard k must be > 0, not {k}")
    t = np.clip(np.asarray(t_keV, dtype=float), 0.0, None)
    eps = EPSILON_PER_KEV * z ** (-7.0 / 3.0) * t
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    return k * g / (1.0 + k * g)
