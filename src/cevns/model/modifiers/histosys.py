"""``histosys``: a shape nuisance from +-1 sigma templates: alpha ~ N(0, 1), per-bin factor 1 + Delta_k(alpha)
with pyhf's ``code4p`` interpolation (:func:`cevns.model.parameters.histosys_delta`), floored at zero (the
linear extrapolation beyond +-1 sigma can cross it). Declared by ``[[systematics]] kind = "shape"`` with
``up``/``down`` ratios to the nominal."""

from __future__ import annotations

import numpy as np

from ..parameters import histosys_delta, histosys_delta_derivative, histosys_delta_second_derivative
from ..samples import Modifier
from .base import ModifierKind


class HistoSys(ModifierKind):
    name = "histosys"
    systematic = "shape"
    per_point = False
    linear = False
    center = 0.0

    def width(self, syst) -> float:  # noqa: ANN001, ARG002
        return 1.0

    def modifier(self, syst, index: dict[str, int], channel: str) -> Modifier:  # noqa: ANN001, ARG002
        up, down = np.asarray(syst.up, dtype=float), np.asarray(syst.down, dtype=float)
        return Modifier(self.name, index[syst.name], delta_up=up - 1.0, delta_down=1.0 - down)

    @staticmethod
    def factor(m: Modifier, pars: np.ndarray, n_bins: int) -> np.ndarray:  # noqa: ARG004
        return np.maximum(1.0 + histosys_delta(pars[:, m.index : m.index + 1], m.delta_up, m.delta_down), 0.0)

    @staticmethod
    def derivative(m: Modifier, pars: np.ndarray, n_bins: int, factor: np.ndarray | None = None) -> np.ndarray:  # noqa: ARG004
        alpha = pars[:, m.index : m.index + 1]
        if factor is None:
            factor = 1.0 + histosys_delta(alpha, m.delta_up, m.delta_down)
        return np.where(factor > 0.0, histosys_delta_derivative(alpha, m.delta_up, m.delta_down), 0.0)

    @staticmethod
    def second_derivative(m: Modifier, pars: np.ndarray) -> np.ndarray:
        alpha = pars[:, m.index : m.index + 1]
        positive = 1.0 + histosys_delta(alpha, m.delta_up, m.delta_down) > 0.0
        return np.where(positive, histosys_delta_second_derivative(alpha, m.delta_up, m.delta_down), 0.0)
