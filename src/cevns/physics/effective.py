"""Effective NSI in the Earth's matter: the combination oscillation experiments constrain (Dent et al., arXiv:1711.03521, effective NSI).

eps_aa(Earth) = Y_u eps^u_aa + Y_d eps^d_aa with Y_u = 2 + Y_n, Y_d = 1 + 2 Y_n quarks per electron in
neutral matter of Y_n neutrons per electron.
"""

from __future__ import annotations

import numpy as np

#: Neutron/electron ratio of the Earth's matter, Y_n ~ 1.05 (Dent et al., arXiv:1711.03521, effective NSI; e.g. the paper,
#: arXiv:1711.03521 section IV, and Gonzalez-Garcia & Maltoni, JHEP 09 (2013) 152).
EARTH_NEUTRON_ELECTRON_RATIO = 1.05


def effective_nsi(eps_u: np.ndarray, eps_d: np.ndarray, y_n: float = EARTH_NEUTRON_ELECTRON_RATIO) -> np.ndarray:
    """Effective matter NSI eps_aa = Y_u eps^u_aa + Y_d eps^d_aa, Y_u = 2 + Y_n, Y_d = 1 + 2 Y_n.

    Quarks per electron in neutral matter with Y_n neutrons per electron (Dent et al., arXiv:1711.03521, effective NSI).
    """
    return (2.0 + y_n) * np.asarray(eps_u) + (1.0 + 2.0 * y_n) * np.asarray(eps_d)
