"""The statistical model layer: parameters, modifiers, expected counts, ``logpdf(pars, data)``."""

from .model import Model, ModelError
from .parameters import KINDS, Parameter

__all__ = ["KINDS", "Model", "ModelError", "Parameter"]
