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
        """:meth:`code4p` of several shape parameters and orders at once (the same formulas as
        :func:`cevns.model.parameters.code4p_coefficients`, elementwise on an (n, parameters) array: one set of array
        operations per call instead of one per parameter and order, which on the argon release's small blocks cost more
        than the arithmetic)."""
        if not indices:
            return
        alpha = self.full[:, list(indices)].T  # (parameters, n): each parameter's coefficients a contiguous (n, 4) block
        inside, above, below = np.abs(alpha) <= 1.0, alpha > 1.0, alpha < -1.0
        a2 = alpha**2
        for order in orders:
            c = np.zeros((*alpha.shape, 4 + (order == 0)))  # order 0: [1, c] (with_one)
            t = c[..., 1:] if order == 0 else c
            if order == 0:
                c[..., 0] = 1.0
                t[..., 0] = np.where(inside, alpha, 0.0)
                t[..., 1] = np.where(inside, a2 * (15.0 + a2 * (3.0 * a2 - 10.0)), 0.0)
                t[..., 2] = np.where(above, alpha, 0.0)
                t[..., 3] = np.where(below, alpha, 0.0)
            elif order == 1:
                t[..., 0] = inside
                t[..., 1] = np.where(inside, alpha * (30.0 + a2 * (18.0 * a2 - 40.0)), 0.0)
                t[..., 2] = above
                t[..., 3] = below
            else:
                t[..., 1] = np.where(inside, 30.0 + a2 * (90.0 * a2 - 120.0), 0.0)
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
