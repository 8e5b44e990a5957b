"""``normsys``: a Gaussian-constrained normalisation, factor nu with prior N(1, sigma) (flux and background
normalisations; the paper's choice). Declared by ``[[systematics]] kind = "norm"`` and by channels'
component and background nuisances."""

from __future__ import annotations

import numpy as np

from ..parameters import Parameter
from ..samples import Modifier


class NormSys:
    name = "normsys"
    systematic = "norm"
    #: the factor is linear in its parameter (the Laplace Newton iteration is then exact)
    linear = True
    per_point = True

    def parameters(self, syst, channel: str, free_norm_prior: str) -> list[Parameter]:  # noqa: ANN001, ARG002
        return [Parameter.constrained_parameter(syst.name, self.name, 1.0, syst.uncertainty)]

    def modifier(self, syst, index: dict[str, int], channel: str) -> Modifier:  # noqa: ANN001, ARG002
        return Modifier(self.name, index[syst.name])

    @staticmethod
    def factor(m: Modifier, pars: np.ndarray, n_bins: int) -> np.ndarray:  # noqa: ARG004
        return pars[:, m.index : m.index + 1]

    @staticmethod
    def derivative(m: Modifier, pars: np.ndarray, n_bins: int, factor: np.ndarray | None = None) -> np.ndarray:  # noqa: ARG004
        return np.ones((pars.shape[0], 1))

    @staticmethod
    def second_derivative(m: Modifier, pars: np.ndarray) -> None:  # noqa: ARG004
        return None
