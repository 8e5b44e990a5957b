"""The interface of a modifier kind and its defaults (a constrained normalisation: the factor is the parameter).

A kind overrides what differs: ``name`` and ``systematic``; ``per_point`` (one factor per point, or per bin);
``linear`` (the factor is linear in its parameter, so the Laplace Newton iteration is exact); the centre and
width of the parameter it declares; the Modifier it puts on a sample; the factor and its derivatives.
"""

from __future__ import annotations

import numpy as np

from ..parameters import Parameter
from ..samples import Modifier


class ModifierKind:
    name = ""
    systematic: str | None = None
    per_point = True
    linear = True
    #: centre of the declared parameter's Gaussian constraint (its width: :meth:`width`)
    center = 1.0

    def width(self, syst) -> float:  # noqa: ANN001
        """The declared parameter's Gaussian width (default: the systematic's ``uncertainty``)."""
        return syst.uncertainty

    def parameters(self, syst, channel: str, free_norm_prior: str) -> list[Parameter]:  # noqa: ANN001, ARG002
        """The parameters a ``[[systematics]]`` entry declares (default: one constrained parameter)."""
        return [Parameter.constrained_parameter(syst.name, self.name, self.center, self.width(syst))]

    def modifier(self, syst, index: dict[str, int], channel: str) -> Modifier:  # noqa: ANN001, ARG002
        """The Modifier it puts on each sample it applies to (``index``: parameter name -> position)."""
        return Modifier(self.name, index[syst.name])

    @staticmethod
    def factor(m: Modifier, pars: np.ndarray, n_bins: int) -> np.ndarray:  # noqa: ARG004
        """The factor, (n, 1) or (n, n_bins)."""
        return pars[:, m.index : m.index + 1]

    @staticmethod
    def derivative(m: Modifier, pars: np.ndarray, n_bins: int, factor: np.ndarray | None = None) -> np.ndarray:  # noqa: ARG004
        """d factor / d (its parameter); ``factor``: the factor if already computed."""
        return np.ones((pars.shape[0], 1))

    @staticmethod
    def second_derivative(m: Modifier, pars: np.ndarray) -> np.ndarray | None:  # noqa: ARG004
        """d^2 factor / d (its parameter)^2; None where it vanishes (a linear factor)."""
        return None
