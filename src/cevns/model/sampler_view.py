"""What a sampler sees of a :class:`cevns.model.Model`: picklable callables for one data set and nuisance treatment
(a process pool or an MPI worker gets its own copy), and the likelihood's guide (:meth:`SamplerLikelihood.guide_likelihood`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from collections.abc import Callable
from typing import Any

import numpy as np


@dataclass
class SamplerLikelihood:
    """``model.log_likelihood`` (sampled) or ``model.log_marginal_likelihood`` (marginalized) on fixed data;
    ``guide`` True: the marginal likelihood's guide (:meth:`guide_likelihood`)."""

    model: Any  # the cevns.model.Model (not imported: model.py imports this module)
    data: np.ndarray
    nuisances: str
    guide: bool = False

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.atleast_2d(points)
        if self.nuisances == "sampled":
            return self.model.log_likelihood(points, self.data)
        return self.model.log_marginal_likelihood(points, self.data, self.guide)

    @property
    def mpi_message(self) -> str:
        """What rank 0 asks an MPI worker to evaluate on its own copy (cevns.app.parallel.MPIPool): the likelihood or
        its guide."""
        return "guide" if self.guide else "eval"

    def guide_likelihood(self) -> SamplerLikelihood | None:
        """A cheaper approximation of this likelihood for steering a sampler (smc tempers on it), or None where there
        is none: marginalized nuisances with a Newton plan, iterated to GUIDE_DECREMENT_TOLERANCE
        (:mod:`cevns.model.laplace`). Never the value a posterior or log Z is computed from."""
        if self.nuisances != "marginalized" or self.guide or not self.model.has_guide():
            return None
        return replace(self, guide=True)


@dataclass
class SamplerPrior:
    model: Any  # the cevns.model.Model (not imported: model.py imports this module)
    nuisances: str
    centers: np.ndarray | None = None

    def __call__(self, cube: np.ndarray) -> np.ndarray:
        return self.model.prior_transform(cube, self.nuisances, self.centers)


def guide_of(likelihood: Callable) -> Callable | None:
    """The guide a likelihood offers (:meth:`SamplerLikelihood.guide_likelihood`; any object with such a method), or None."""
    offer = getattr(likelihood, "guide_likelihood", None)
    return offer() if callable(offer) else None
