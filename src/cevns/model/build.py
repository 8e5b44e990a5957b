"""Compile channels into the pieces of a :class:`~cevns.model.Model`: parameters, samples, reduced forms.

A :class:`cevns.spec.Channel` is one binned data set: the signal quadratic forms per bin and
source component (any observable binning: recoil energy, photoelectrons x arrival
time, ...), named backgrounds, the nuisances that scale them, shape and other
systematics, and the observed counts. Builders make them (``cevns.builders.scenario`` for
``[[experiments]]``, ``cevns.builders.releases`` for measured releases); :func:`compile_channels`
turns them into the constructor arguments of :class:`cevns.model.Model`
(``Model.from_channels``). This module knows channels, not scenarios.

What comes from where (Dent et al., arXiv:1711.03521, its likelihood):

* couplings: the scenario's ``[fit] free`` NSI couplings and ``sin2_theta_w`` (flat
  priors on the given ranges); ``[fit] fixed`` couplings enter the constant part of
  the quadratic forms;
* a ``[fit] grid_points`` entry turns a free physics parameter into a ``physics``
  parameter: the channels are rebuilt at that many equally spaced values over its
  range and the reduced forms interpolated;
* each channel's component and background nuisances (Gaussian normalisations; the
  same name in two channels is one parameter: a source's flux is shared by every
  experiment that sees it), then every channel systematic (shared by name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from ..spec.config import PHYSICS_PARAMETERS
from ..errors import ConfigError
from ..experiment import LINEAR_PARAMETERS, N_LINEAR
from ..spec import Channel
from .modifiers import MODIFIERS, SYSTEMATIC_KINDS
from .parameters import Parameter
from .samples import Modifier, PhysicsGrid, Sample, _feature_index


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


def _reduced_columns(channels: Sequence[Channel], transform: np.ndarray) -> np.ndarray:
    """(F, C) coefficient matrix of the signal columns, ordered (channel, component, bin)."""
    rows, cols = _feature_index(transform.shape[1] - 1)
    sym = np.where(rows == cols, 1.0, 2.0)  # x_p x_q appears twice off the diagonal
    columns = []
    for channel in channels:
        reduced = np.einsum("ap,jcab,bq->jcpq", transform, channel.quadratic_forms, transform)
        n_bins, n_comp = reduced.shape[:2]
        for c in range(n_comp):
            for j in range(n_bins):
                columns.append(reduced[j, c][rows, cols] * sym)
    return np.array(columns).T


def _applies(target: str, component: str, is_background: bool) -> bool:
    if target == "signal":
        return not is_background
    if target == "background":
        return is_background
    return target == component


def compile_channels(channels: Sequence[Channel], free: Mapping[str, tuple[float, float]],
                     fixed: Mapping[str, float] | None = None, physics=None,  # noqa: ANN001
                     grid_points: Mapping[str, int] | None = None,
                     channels_at: Callable | None = None, name: str = "model",
                     free_norm_prior: str = "flat") -> dict:
    """The constructor arguments of the :class:`~cevns.model.Model` of ``channels`` with flat priors on
    ``free`` (coupling or physics names -> range).

    ``free_norm_prior``: "flat" (``free-norm`` systematics are free normalisations on their range) or
    "broad-gaussian" (N(1, half the range), constrained, see ``FitConfig.free_norm_prior``).

    ``physics``: the :class:`cevns.experiment.PhysicsOptions` the channels were built with (its
    sin^2(theta_W) is the reference of the linear basis); ``channels_at(physics)`` rebuilds the
    channels at other options, for grid parameters.
    """
    from ..experiment import PhysicsOptions

    physics = physics or PhysicsOptions()
    fixed = dict(fixed or {})
    grid_points = dict(grid_points or {})
    unknown = sorted(set(grid_points) - set(free))
    if unknown:
        raise ConfigError(f"grid_points: {unknown} are not free parameters of {name!r}")
    if len(grid_points) > 1:
        raise ConfigError("grid_points: at most one parameter can be interpolated on a grid")
    if grid_points and channels_at is None:
        raise ConfigError("grid_points need a way to rebuild the channels at other physics values")
    couplings = [p for p in free if p not in grid_points]
    registry = _Registry()
    for pname, (lo, hi) in free.items():
        if pname in grid_points:
            current = getattr(physics, PHYSICS_PARAMETERS[pname])
            init = float(np.clip(current, lo, hi)) if current is not None else 0.5 * (lo + hi)
            registry.add(Parameter(pname, "physics", (lo, hi), init))
        else:
            init = physics.sin2_theta_w if pname == "sin2_theta_w" else 0.0
            registry.add(Parameter(pname, "coupling", (lo, hi), float(np.clip(init, lo, hi))))
    # nuisances in the order of the paper's model: component normalisations, backgrounds, then systematics
    for channel in channels:
        for pname, sigma in channel.component_nuisances.values():
            registry.add(Parameter.constrained_parameter(pname, "normsys", 1.0, sigma))
    for channel in channels:
        for pname, sigma in channel.background_nuisances.values():
            registry.add(Parameter.constrained_parameter(pname, "normsys", 1.0, sigma))
    for channel in channels:
        for syst in channel.systematics:
            for parameter in MODIFIERS[SYSTEMATIC_KINDS[syst.kind]].parameters(syst, channel.name, free_norm_prior):
                registry.add(parameter)
    # order: couplings and physics, free normalisations, constrained
    ordered = sorted(registry.parameters.values(), key=lambda p: (p.kind not in ("coupling", "physics"), p.constrained))
    index = {p.name: i for i, p in enumerate(ordered)}

    samples, labels, channel_bins = [], [], {}
    k0, c0 = 0, 0
    for channel in channels:
        n_bins = channel.n_bins
        bins = slice(k0, k0 + n_bins)
        channel_bins[channel.name] = bins
        labels += channel.bin_labels or [f"{channel.name}[{j}]" for j in range(n_bins)]
        channel_samples = []
        for comp_name in channel.component_names:
            sample = Sample(f"{channel.name}/{comp_name}", channel.name, comp_name, bins, columns=slice(c0, c0 + n_bins))
            c0 += n_bins
            if comp_name in channel.component_nuisances:
                sample.modifiers.append(Modifier("normsys", index[channel.component_nuisances[comp_name][0]]))
            channel_samples.append(sample)
        for bkg_name, nominal in channel.backgrounds.items():
            sample = Sample(f"{channel.name}/{bkg_name}", channel.name, bkg_name, bins, nominal=np.asarray(nominal, dtype=float))
            if bkg_name in channel.background_nuisances:
                sample.modifiers.append(Modifier("normsys", index[channel.background_nuisances[bkg_name][0]]))
            channel_samples.append(sample)
        known = set(channel.component_names) | set(channel.backgrounds)
        for syst in channel.systematics:
            unknown = [t for t in syst.applies_to if t not in ("signal", "background") and t not in known]
            if unknown:
                raise ConfigError(f"{channel.name!r}: systematic {syst.name!r} applies to unknown sample(s) {unknown}; "
                                  f"use 'signal', 'background' or one of {sorted(known)}")
            kind = SYSTEMATIC_KINDS[syst.kind]
            if kind == "normfactor":  # a free-norm is a normfactor or (free_norm_prior) a normsys: as registered
                kind = ordered[index[syst.name]].kind
            for sample in channel_samples:
                is_background = not sample.is_signal
                if not any(_applies(t, sample.component, is_background) for t in syst.applies_to):
                    continue
                sample.modifiers.append(MODIFIERS[kind].modifier(syst, index, channel.name))
        samples += channel_samples
        k0 += n_bins

    coefficients = _reduced_columns(channels, _transform(couplings, fixed, physics.sin2_theta_w))
    grids = []
    for pname, n_points in grid_points.items():
        lo, hi = free[pname]
        nodes = np.linspace(lo, hi, n_points)
        stack = []
        for value in nodes:
            node_physics = replace(physics, **{PHYSICS_PARAMETERS[pname]: float(value)})
            stack.append(_reduced_columns(channels_at(node_physics), _transform(couplings, fixed, node_physics.sin2_theta_w)))
        grids.append(PhysicsGrid(index[pname], nodes, np.stack(stack)))

    observed = None
    if all(c.observed is not None for c in channels):
        observed = np.concatenate([np.asarray(c.observed, dtype=float) for c in channels])
    return {"parameters": ordered, "samples": samples, "coefficients": coefficients,
            "coupling_indices": [index[c] for c in couplings], "bin_labels": labels, "experiment_bins": channel_bins,
            "observed": observed, "physics_grids": grids, "name": name, "fixed": fixed}
