"""``staterror``: one per-bin factor gamma_k ~ N(1, sigma_k) for templates of finite statistics (pyhf
``staterror``; Barlow & Beeston, Comput. Phys. Commun. 77 (1993) 219, in pyhf's Gaussian approximation).
Declared by ``[[systematics]] kind = "staterror"`` with the ``relative`` widths per bin; the parameters of
a channel are ``name[channel:k]``."""

from __future__ import annotations

import numpy as np

from ..parameters import Parameter
from ..samples import Modifier
from .base import ModifierKind


class StatError(ModifierKind):
    name = "staterror"
    systematic = "staterror"
    per_point = False

    def parameters(self, syst, channel: str, free_norm_prior: str) -> list[Parameter]:  # noqa: ANN001, ARG002
        return [Parameter.constrained_parameter(f"{syst.name}[{channel}:{k}]", self.name, 1.0, width)
                for k, width in enumerate(syst.relative)]

    def modifier(self, syst, index: dict[str, int], channel: str) -> Modifier:  # noqa: ANN001
        return Modifier(self.name, index[f"{syst.name}[{channel}:0]"])

    @staticmethod
    def factor(m: Modifier, pars: np.ndarray, n_bins: int) -> np.ndarray:
        return pars[:, m.index : m.index + n_bins]

    @staticmethod
    def derivative(m: Modifier, pars: np.ndarray, n_bins: int, factor: np.ndarray | None = None) -> np.ndarray:  # noqa: ARG004
        return np.ones((pars.shape[0], n_bins))
