"""cevns: coherent elastic neutrino-nucleus scattering (CEvNS) with non-standard interactions.

Rates for stopped-pion and reactor sources on isotope-mixture targets, exact
response kernels (the rate is a quadratic form in the NSI couplings), and
Bayesian fits. Reproduces Dent et al., arXiv:1711.03521.
"""

from ._version import __version__
from .spec.config import ScenarioConfig, builtin_scenarios, load_config
from .errors import ConfigError
from .experiment import Experiment, PhysicsOptions, ResponseKernels
from .inference.fitting import FitResult, fit, load_fit
from .model import Model, ModelError, Parameter
from .physics.couplings import NSI_NAMES
from .physics.flavors import Flavor
from .builders.scenario import Scenario


__all__ = [
    "NSI_NAMES",
    "ConfigError",
    "Experiment",
    "FitResult",
    "Flavor",
    "Model",
    "ModelError",
    "Parameter",
    "PhysicsOptions",
    "ResponseKernels",
    "Scenario",
    "ScenarioConfig",
    "__version__",
    "builtin_scenarios",
    "fit",
    "load_config",
    "load_fit",
]


def __dir__() -> list[str]:
    return list(__all__)
