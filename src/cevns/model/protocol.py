"""What inference needs of a model, as ``typing.Protocol`` classes: any object with these members can be
fitted or profiled (:class:`cevns.model.Model` has them; the tests use closed-form Gaussian and Poisson
models with the same members, whose answers are known exactly)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class ProfileModel(Protocol):
    """The frequentist tools' view (:mod:`cevns.inference.frequentist`): one data set's -2 log L with the
    constrained nuisances at their conditional mode, as a function of the free parameters
    (``conditional_mode`` is only called when the model has constrained parameters)."""

    parameters: Sequence[Any]          # each with name, kind, bounds, constrained, center, sigma
    parameter_names: list[str]
    free_indices: np.ndarray
    constrained_indices: np.ndarray
    centers: np.ndarray
    sigmas: np.ndarray

    @property
    def init(self) -> np.ndarray: ...

    def conditional_mode(self, free: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def logpdf(self, pars: np.ndarray, data: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class ToyModel(ProfileModel, Protocol):
    """Toys and the Neyman construction also draw data at a truth: the counts and, with ``auxiliary``, the
    auxiliary measurements of the parameters ``aux_indices`` appended (pyhf's main + auxdata)."""

    aux_indices: np.ndarray

    def expected_counts(self, pars: np.ndarray) -> np.ndarray: ...

    def toy(self, pars: np.ndarray, rng: np.random.Generator, n: int | None = None, auxiliary: bool = False) -> np.ndarray: ...


@runtime_checkable
class SampledModel(Protocol):
    """The Bayesian fit's view (:func:`cevns.inference.fitting.fit`): a prior transform and a batched
    likelihood over the sampled parameters, and the nuisances drawn back per point."""

    name: str
    parameters: Sequence[Any]
    parameter_names: list[str]
    fixed: Mapping[str, float]

    def check_data(self, data: np.ndarray) -> np.ndarray: ...

    def sampled_names(self, nuisances: str = "sampled") -> list[str]: ...

    def sampler_prior(self, nuisances: str = "marginalized", data: np.ndarray | None = None) -> Any: ...  # noqa: ANN401

    def sampler_likelihood(self, data: np.ndarray, nuisances: str = "marginalized") -> Any: ...  # noqa: ANN401

    def sample_nuisances(self, free: np.ndarray, data: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...
