"""The statistical model layer: parameters, modifiers, expected counts, ``logpdf(pars, data)``."""

from .model import Model, ModelError
from .parameters import KINDS, Parameter
from .protocol import ProfileModel, SampledModel, ToyModel

__all__ = ["KINDS", "Model", "ModelError", "Parameter", "ProfileModel", "SampledModel", "ToyModel"]
