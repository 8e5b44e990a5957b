"""Build a :class:`~cevns.model.Model` from a scenario: parameters, samples, reduced quadratic forms.

What comes from where (SPEC S4):

* couplings: the scenario's ``[fit] free`` NSI couplings and ``sin2_theta_w`` (flat
  priors on the given ranges); ``[fit] fixed`` couplings enter the constant part of
  the quadratic forms;
* a ``[fit] grid_points`` entry turns a free physics parameter into a ``physics``
  parameter: the kernels are computed at that many equally spaced values over its
  range and interpolated;
* one Gaussian flux normalisation ``norm_<source>_<component>`` per source component
  with a non-zero uncertainty, shared by every experiment that sees the source;
* one Gaussian background normalisation per experiment, ``norm_bkg_<experiment>``
  or the experiment's ``background_nuisance`` name (the same name shares it);
* every ``[[experiments.systematics]]`` entry (shared by name across experiments).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from ..config import PHYSICS_PARAMETERS
from ..errors import ConfigError
from ..experiment import LINEAR_PARAMETERS, N_LINEAR
from .model import Model, Modifier, PhysicsGrid, Sample, _feature_index
from .parameters import Parameter

SYSTEMATIC_KINDS = {"norm": "normsys", "lognorm": "lognormsys", "shape": "histosys", "staterror": "staterror",
                    "free-norm": "normfactor"}


class _Registry:
    """Parameters by name, in order of declaration; a repeated name must declare the same parameter."""

    def __init__(self) -> None:
        self.parameters: dict[str, Parameter] = {}

    def add(self, parameter: Parameter) -> None:
        existing = self.parameters.get(parameter.name)
        if existing is None:
            self.parameters[parameter.name] = parameter
        elif existing != parameter:
            raise ConfigError(f"parameter {parameter.name!r} is declared twice with different settings "
                              f"({existing.kind}, sigma {existing.sigma}, range {existing.bounds} vs {parameter.kind}, "
                              f"sigma {parameter.sigma}, range {parameter.bounds}); use one name per parameter")


def _transform(couplings: list[str], fixed: Mapping[str, float], sin2_reference: float) -> np.ndarray:
    """T with (1, linear basis) = T (1, couplings): the free couplings' place in the kernels' basis."""
    transform = np.zeros((1 + N_LINEAR, 1 + len(couplings)))
    transform[0, 0] = 1.0
    for name, value in fixed.items():
        transform[1 + LINEAR_PARAMETERS.index(name), 0] = value
    for j, name in enumerate(couplings):
        row = 1 + LINEAR_PARAMETERS.index(name)
        transform[row, 1 + j] = 1.0
        if name == "sin2_theta_w":  # the basis holds sin^2 - reference
            transform[row, 0] = -sin2_reference
    return transform


def _reduced_columns(experiments: list, transform: np.ndarray) -> np.ndarray:
    """(F, C) coefficient matrix of the signal columns, ordered (experiment, component, bin)."""
    rows, cols = _feature_index(transform.shape[1] - 1)
    sym = np.where(rows == cols, 1.0, 2.0)  # x_p x_q appears twice off the diagonal
    columns = []
    for model in experiments:
        reduced = np.einsum("ap,jcab,bq->jcpq", transform, model.kernels.quadratic_forms, transform)
        n_bins, n_comp = reduced.shape[:2]
        for c in range(n_comp):
            for j in range(n_bins):
                columns.append(reduced[j, c][rows, cols] * sym)
    return np.array(columns).T


def _applies(target: str, component: str) -> bool:
    if target == "signal":
        return component != "background"
    return target == component


def build_model(scenario, grid_points: Mapping[str, int] | None = None) -> Model:  # noqa: ANN001
    """The :class:`Model` of a scenario (module docstring). ``grid_points`` adds to ``[fit] grid_points``."""
    fit = scenario.config.fit
    grid_points = {**fit.grid_points, **(grid_points or {})}
    unknown = sorted(set(grid_points) - set(fit.free))
    if unknown:
        raise ConfigError(f"grid_points: {unknown} are not free parameters of {scenario.name!r}")
    if len(grid_points) > 1:
        raise ConfigError("grid_points: at most one parameter can be interpolated on a grid")
    couplings = [name for name in fit.free if name not in grid_points]
    registry = _Registry()
    for name in fit.free:
        lo, hi = fit.free[name]
        if name in grid_points:
            init = float(np.clip(getattr(scenario.physics, PHYSICS_PARAMETERS[name]), lo, hi))
            registry.add(Parameter(name, "physics", (lo, hi), init))
        else:
            init = scenario.physics.sin2_theta_w if name == "sin2_theta_w" else 0.0
            registry.add(Parameter(name, "coupling", (lo, hi), float(np.clip(init, lo, hi))))
    experiments = scenario.experiments

    # nuisances in the order of the paper's model: fluxes per source (first use), backgrounds, then systematics
    used_sources = list(dict.fromkeys(m.config.source for m in experiments))
    for source_name in used_sources:
        for comp in scenario.source(source_name).components:
            if comp.normalization_uncertainty > 0:
                registry.add(Parameter.constrained_parameter(f"norm_{source_name}_{comp.name}", "normsys", 1.0,
                                                             comp.normalization_uncertainty))
    background_names = {}
    for m in experiments:
        if m.background_uncertainty > 0 and np.any(m.background > 0):
            background_names[m.name] = m.config.background_nuisance or f"norm_bkg_{m.name}"
            registry.add(Parameter.constrained_parameter(background_names[m.name], "normsys", 1.0, m.background_uncertainty))
    for m in experiments:
        for syst in m.config.systematics:
            kind = SYSTEMATIC_KINDS[syst.kind]
            if kind == "normsys":
                registry.add(Parameter.constrained_parameter(syst.name, kind, 1.0, syst.uncertainty))
            elif kind in ("lognormsys", "histosys"):
                registry.add(Parameter.constrained_parameter(syst.name, kind, 0.0, 1.0))
            elif kind == "staterror":
                for k, width in enumerate(syst.relative):
                    registry.add(Parameter.constrained_parameter(f"{syst.name}[{m.name}:{k}]", kind, 1.0, width))
            else:
                registry.add(Parameter(syst.name, "normfactor", tuple(syst.range), 1.0))
    # order: couplings and physics, free normalisations, constrained
    ordered = sorted(registry.parameters.values(), key=lambda p: (p.kind != "coupling" and p.kind != "physics", p.constrained))
    index = {p.name: i for i, p in enumerate(ordered)}

    samples, labels, experiment_bins = [], [], {}
    k0, c0 = 0, 0
    for m in experiments:
        n_bins = m.kernels.quadratic_forms.shape[0]
        bins = slice(k0, k0 + n_bins)
        experiment_bins[m.name] = bins
        labels += [f"{m.name}[{j}]" for j in range(n_bins)]
        source = scenario.source(m.config.source)
        exp_samples = []
        for comp_name in m.kernels.component_names:
            sample = Sample(f"{m.name}/{comp_name}", m.name, comp_name, bins, columns=slice(c0, c0 + n_bins))
            c0 += n_bins
            comp = source.component(comp_name)
            if comp.normalization_uncertainty > 0:
                sample.modifiers.append(Modifier("normsys", index[f"norm_{m.config.source}_{comp_name}"]))
            exp_samples.append(sample)
        if np.any(m.background > 0):
            sample = Sample(f"{m.name}/background", m.name, "background", bins, nominal=np.asarray(m.background, dtype=float))
            if m.name in background_names:
                sample.modifiers.append(Modifier("normsys", index[background_names[m.name]]))
            exp_samples.append(sample)
        components = {s.component for s in exp_samples} | {"background"}
        for syst in m.config.systematics:
            unknown = [t for t in syst.applies_to if t != "signal" and t not in components]
            if unknown:
                raise ConfigError(f"experiment {m.name!r}: systematic {syst.name!r} applies to unknown sample(s) {unknown}; "
                                  f"use 'signal', 'background' or one of {sorted(components - {'background'})}")
            kind = SYSTEMATIC_KINDS[syst.kind]
            for sample in exp_samples:
                if not any(_applies(t, sample.component) for t in syst.applies_to):
                    continue
                if kind == "histosys":
                    up, down = np.asarray(syst.up, dtype=float), np.asarray(syst.down, dtype=float)
                    sample.modifiers.append(Modifier(kind, index[syst.name], delta_up=up - 1.0, delta_down=1.0 - down))
                elif kind == "lognormsys":
                    sample.modifiers.append(Modifier(kind, index[syst.name], sigma=syst.uncertainty))
                elif kind == "staterror":
                    sample.modifiers.append(Modifier(kind, index[f"{syst.name}[{m.name}:0]"]))
                else:
                    sample.modifiers.append(Modifier(kind, index[syst.name]))
        samples += exp_samples
        k0 += n_bins

    fixed = dict(fit.fixed)
    sin2_reference = scenario.physics.sin2_theta_w
    coefficients = _reduced_columns(experiments, _transform(couplings, fixed, sin2_reference))
    grids = []
    for name, n_points in grid_points.items():
        lo, hi = fit.free[name]
        nodes = np.linspace(lo, hi, n_points)
        stack = []
        for value in nodes:
            physics = replace(scenario.physics, **{PHYSICS_PARAMETERS[name]: float(value)})
            node_reference = physics.sin2_theta_w
            stack.append(_reduced_columns(scenario.experiments_at(physics), _transform(couplings, fixed, node_reference)))
        grids.append(PhysicsGrid(index[name], nodes, np.stack(stack)))

    observed = None
    if all(m.observed_counts is not None for m in experiments):
        observed = np.concatenate([m.observed_counts for m in experiments])
    return Model(ordered, samples, coefficients, [index[c] for c in couplings], labels, experiment_bins,
                 observed, grids, scenario.name, fixed)
