"""The model's building blocks as plain data: samples, the modifiers that scale them, physics grids.

A :class:`Sample` is one source component or background of one channel; its :class:`Modifier` list
names the parameters that multiply it; a :class:`PhysicsGrid` holds the reduced signal coefficients
of a non-linear physics parameter on its nodes. :func:`cevns.model.build.compile_channels` makes
them from channels, :class:`cevns.model.Model` evaluates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import CevnsError


class ModelError(CevnsError, ValueError):
    """Wrong input to a model method: an array of the wrong shape, an unknown parameter name."""


@dataclass
class Modifier:
    """One factor on one sample: ``kind`` with the parameter index (or first index, staterror)."""

    kind: str
    index: int
    sigma: float = 0.0                     # lognormsys: relative width
    delta_up: np.ndarray | None = None     # histosys: up/nominal - 1 per bin
    delta_down: np.ndarray | None = None   # histosys: 1 - down/nominal per bin


@dataclass
class Sample:
    """A contribution to the bins of one experiment."""

    name: str
    experiment: str
    component: str                       # source component name, or "background"
    bins: slice                          # global bin indices
    columns: slice | None = None         # signal columns (quadratic forms), None for a background
    nominal: np.ndarray | None = None    # fixed expectation per bin (backgrounds)
    modifiers: list[Modifier] = field(default_factory=list)

    @property
    def is_signal(self) -> bool:
        return self.columns is not None


@dataclass
class PhysicsGrid:
    """Reduced coefficient matrices of a ``physics`` parameter on its grid (linear interpolation)."""

    index: int
    nodes: np.ndarray          # (G,) increasing
    coefficients: np.ndarray   # (G, F, C)


def _feature_index(n_linear: int) -> tuple[np.ndarray, np.ndarray]:
    """Upper-triangular index pairs (p <= q) of the quadratic features of x = (1, couplings)."""
    return np.triu_indices(n_linear + 1)
