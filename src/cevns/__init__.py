"""cevns: coherent elastic neutrino-nucleus scattering (CEvNS) with non-standard interactions.

Rates for stopped-pion and reactor sources on isotope-mixture targets, exact
response kernels (the rate is a quadratic form in the NSI couplings), and
Bayesian fits. Reproduces Dent et al., arXiv:1711.03521.

The names below are imported when first used (``cevns.Model`` loads the model layer, ``cevns.fit`` the
samplers), so ``import cevns`` itself is quick: the ``cevns`` command starts without loading what it does
not need, and Ctrl-C at start-up meets no half-imported package.
"""

from __future__ import annotations

from ._version import __version__

#: Public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "NSI_NAMES": ".physics.couplings",
    "CevnsError": ".errors",
    "ConfigError": ".errors",
    "Experiment": ".experiment",
    "FitResult": ".inference.fitting",
    "Flavor": ".physics.flavors",
    "Model": ".model",
    "ModelError": ".model",
    "Parameter": ".model",
    "PhysicsOptions": ".experiment",
    "ResponseKernels": ".experiment",
    "Scenario": ".builders.scenario",
    "ScenarioConfig": ".spec.config",
    "builtin_scenarios": ".spec.config",
    "fit": ".inference.fitting",
    "load_config": ".spec.config",
    "load_fit": ".inference.fitting",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> object:
    from importlib import import_module  # here, not at the top: nothing but the version is imported with cevns

    if name not in _EXPORTS:
        raise AttributeError(f"module 'cevns' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return list(__all__)
