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
    keep: np.ndarray | None = None  # the sampled columns a sampler sees (:func:`sampler_view`); None: all
    fill: np.ndarray | None = None  # a full sampled vector: the other columns' values

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.atleast_2d(points)
        if self.keep is not None:
            full = np.tile(self.fill, (points.shape[0], 1))
            full[:, self.keep] = points
            points = full
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
    keep: np.ndarray | None = None  # the sampled columns a sampler sees (:func:`sampler_view`); None: all

    def __call__(self, cube: np.ndarray) -> np.ndarray:
        if self.keep is None:
            return self.model.prior_transform(cube, self.nuisances, self.centers)
        cube = np.atleast_2d(cube)
        full = np.full((cube.shape[0], len(self.model.sampled_names(self.nuisances))), 0.5)
        full[:, self.keep] = cube  # the prior is a product over parameters: the other columns do not matter
        return self.model.prior_transform(full, self.nuisances, self.centers)[:, self.keep]


def sampler_view(model, data: np.ndarray, nuisances: str, min_sampled: int = 1,  # noqa: ANN001
                 ) -> tuple[list[str], SamplerPrior, SamplerLikelihood, list[str]]:
    """(names, prior transform, likelihood, prior-only names) a sampler sees for one data set: every sampled parameter
    but those the likelihood does not depend on (:meth:`cevns.model.Model.prior_only_names`), whose posterior is their
    prior; the likelihood evaluates the full model with those at their prior medians (any value gives the same
    numbers). All of them where fewer than ``min_sampled`` would be left (the sampler's minimum,
    cevns.inference.samplers.min_dimensions). The fit and its MPI workers (cevns.app.runs) take the same view."""
    names = model.sampled_names(nuisances)
    prior, likelihood = model.sampler_prior(nuisances, data), model.sampler_likelihood(data, nuisances)
    only = getattr(model, "prior_only_names", None)  # a SampledModel without it: every parameter sampled
    dropped = only(nuisances) if only is not None else []
    if not dropped or len(names) - len(dropped) < max(min_sampled, 1):  # nothing to leave out, or too little left
        return names, prior, likelihood, []
    keep = np.array([i for i, name in enumerate(names) if name not in dropped], dtype=np.intp)
    fill = prior(np.full((1, len(names)), 0.5))[0]
    return ([names[i] for i in keep], replace(prior, keep=keep), replace(likelihood, keep=keep, fill=fill), dropped)


def guide_of(likelihood: Callable) -> Callable | None:
    """The guide a likelihood offers (:meth:`SamplerLikelihood.guide_likelihood`; any object with such a method), or None."""
    offer = getattr(likelihood, "guide_likelihood", None)
    return offer() if callable(offer) else None
