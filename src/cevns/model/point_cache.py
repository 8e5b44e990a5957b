"""Per-point values of modifiers at one set of points, for the Newton plan (cevns.model.newton): each computed once per
parameter and order, however many groups share it."""

from __future__ import annotations

import numpy as np

from .modifiers import MODIFIERS
from .parameters import code4p_coefficients


class PointCache:
    """Per-point values of modifiers at one set of points, computed once per parameter (XENONnT: 27 samples share
    their two shapes' and their normalisations' parameters)."""

    def __init__(self, full: np.ndarray) -> None:
        self.full, self.values = full, {}

    def scalar(self, modifier, order: int) -> np.ndarray | None:  # noqa: ANN001
        """A per-point factor (order 0) or its first or second derivative (n,); None for a vanishing second one."""
        key = ("scalar", modifier.kind, modifier.index, modifier.sigma, order)
        if key not in self.values:
            kind = MODIFIERS[modifier.kind]
            value = (kind.factor(modifier, self.full, 1) if order == 0 else kind.derivative(modifier, self.full, 1)
                     if order == 1 else kind.second_derivative(modifier, self.full))
            self.values[key] = None if value is None else value[:, 0]
        return self.values[key]

    def extremes(self, index: int) -> tuple[float, float]:
        """(max, min) of the parameter ``index`` over the points, 0 included (where a shape's floor can act)."""
        key = ("extremes", index)
        if key not in self.values:
            alpha = self.full[:, index]
            self.values[key] = (alpha.max(initial=0.0), alpha.min(initial=0.0))
        return self.values[key]

    def code4p_all(self, indices: tuple[int, ...], orders: tuple[int, ...]) -> None:
        """:meth:`code4p` of several shape parameters and orders at once: one call of
        :func:`cevns.model.parameters.code4p_coefficients` on all their values (as the general path's evaluation does),
        instead of one per parameter and order, which on the argon release's small blocks cost more than the
        arithmetic. Each parameter's coefficients are a contiguous (n, 4) block (order 0: (n, 5), [1, c])."""
        if not indices:
            return
        alpha = self.full[:, list(indices)].T  # (parameters, n)
        for order in orders:
            c = code4p_coefficients(alpha.reshape(-1), order).reshape(*alpha.shape, 4)
            if order == 0:  # with_one
                c = np.concatenate([np.ones((*alpha.shape, 1)), c], axis=2)
            for j, index in enumerate(indices):
                self.values[("code4p", index, order, order == 0)] = c[j]
        highest, lowest = alpha.max(axis=1, initial=0.0), alpha.min(axis=1, initial=0.0)
        for j, index in enumerate(indices):
            self.values[("extremes", index)] = (highest[j], lowest[j])

    def code4p(self, index: int, order: int, with_one: bool = False) -> np.ndarray:
        """code4p coefficients (n, 4) of the shape parameter ``index``; ``with_one``: [1, c] (n, 5)."""
        key = ("code4p", index, order, with_one)
        if key not in self.values:
            c = code4p_coefficients(self.full[:, index], order)
            self.values[key] = np.hstack([np.ones((c.shape[0], 1)), c]) if with_one else c
        return self.values[key]
