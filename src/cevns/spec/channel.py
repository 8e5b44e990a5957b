"""The channel: the one hand-off between the builders (scenarios, data releases) and the model.

A :class:`Channel` is plain data, like a channel of pyhf's workspace: one binned data set with the
signal's quadratic forms per bin and source component, named backgrounds, the nuisances and
systematics that act on them, and the observed counts. Builders (``cevns.builders.scenario`` for
``[[experiments]]``, ``cevns.builders.releases`` for measured releases) make channels; the model
(``cevns.model.Model.from_channels``) reads them. This module imports nothing of either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Channel:
    """One binned data set of a model.

    Attributes
    ----------
    name : str
    quadratic_forms : array (n_bins, n_components, 16, 16)
        Signal per bin and source component: x^T H x with x = (1, *LINEAR_PARAMETERS) (the twelve NSI
        couplings, sin2_theta_w - reference, eps_zprime, mu_nu; :data:`cevns.experiment.LINEAR_PARAMETERS`).
    component_names : tuple[str, ...]
    component_nuisances : dict[str, tuple[str, float]]
        Component -> (parameter name, relative Gaussian sigma) of its normalisation.
    backgrounds : dict[str, array (n_bins,)]
        Named backgrounds, expected counts at nominal normalisation.
    background_nuisances : dict[str, tuple[str, float]]
        Background -> (parameter name, relative Gaussian sigma).
    systematics : list
        Objects with the fields of :class:`cevns.spec.config.SystematicConfig` (name, kind,
        applies_to, uncertainty, up, down, relative, range); ``applies_to`` names
        "signal", "background" (every background), a component or a background.
    observed : array (n_bins,) or None
    bin_labels : list[str] or None
        Default ``name[j]``.
    smallest_q2_MeV2 : float or None
        The smallest momentum transfer squared 2 m_N T (MeV^2) at which the channel sees recoils (its
        threshold on its lightest isotope); None for a channel without signal.
    """

    name: str
    quadratic_forms: np.ndarray
    component_names: tuple[str, ...]
    component_nuisances: dict[str, tuple[str, float]] = field(default_factory=dict)
    backgrounds: dict[str, np.ndarray] = field(default_factory=dict)
    background_nuisances: dict[str, tuple[str, float]] = field(default_factory=dict)
    systematics: list = field(default_factory=list)
    observed: np.ndarray | None = None
    bin_labels: list[str] | None = None
    smallest_q2_MeV2: float | None = None

    @property
    def n_bins(self) -> int:
        return int(self.quadratic_forms.shape[0])
