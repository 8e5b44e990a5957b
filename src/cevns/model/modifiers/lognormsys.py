"""``lognormsys``: a normalisation with a log-normal prior: z ~ N(0, 1), factor (1 + sigma)^z (pyhf
``normsys`` with exponential interpolation, code 1; Cranmer et al., CERN-OPEN-2012-016, eq. 11).
Declared by ``[[systematics]] kind = "lognorm"``."""

from __future__ import annotations

import numpy as np

from ..samples import Modifier
from .base import ModifierKind


class LogNormSys(ModifierKind):
    name = "lognormsys"
    systematic = "lognorm"
    linear = False
    center = 0.0

    def width(self, syst) -> float:  # noqa: ANN001, ARG002
        return 1.0

    def modifier(self, syst, index: dict[str, int], channel: str) -> Modifier:  # noqa: ANN001, ARG002
        return Modifier(self.name, index[syst.name], sigma=syst.uncertainty)

    @staticmethod
    def factor(m: Modifier, pars: np.ndarray, n_bins: int) -> np.ndarray:  # noqa: ARG004
        return np.exp(pars[:, m.index : m.index + 1] * np.log1p(m.sigma))

    @staticmethod
    def derivative(m: Modifier, pars: np.ndarray, n_bins: int, factor: np.ndarray | None = None) -> np.ndarray:  # noqa: ARG004
        log_width = np.log1p(m.sigma)
        return log_width * np.exp(pars[:, m.index : m.index + 1] * log_width)

    @staticmethod
    def second_derivative(m: Modifier, pars: np.ndarray) -> np.ndarray:
        log_width = np.log1p(m.sigma)
        return log_width**2 * np.exp(pars[:, m.index : m.index + 1] * log_width)
