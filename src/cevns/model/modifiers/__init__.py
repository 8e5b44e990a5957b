"""Modifier kinds, one file each (pyhf's ``modifiers/``): what a systematic declares and how its factor acts.

A kind is a :class:`~cevns.model.modifiers.base.ModifierKind` (``base.py``: the interface, with a constrained
normalisation as the default) with
* ``name`` (the :class:`~cevns.model.samples.Modifier` kind) and ``systematic`` (the ``kind`` of a
  ``[[systematics]]`` entry that declares it, or None when only channels' nuisances do);
* ``per_point``: the factor is one number per point (True) or one per bin;
* ``parameters(syst, channel, free_norm_prior)``: the :class:`~cevns.model.Parameter` objects it declares;
* ``modifier(syst, index, channel)``: the Modifier on a sample, ``index`` mapping names to positions;
* ``factor(m, pars, n_bins)``, ``derivative(m, pars, n_bins, factor)``, ``second_derivative(m, pars)``
  (None where the factor is linear in its parameter): what the reference evaluation and the Laplace
  path (:mod:`cevns.model.laplace`) use. The compiled evaluation plan (:mod:`cevns.model.evaluation`)
  groups the per-point kinds by ``per_point`` and has its own fast path for histosys and staterror.

:data:`MODIFIERS` is the registry the model iterates; a new kind is a new file here and one entry.
"""

from __future__ import annotations

from .histosys import HistoSys
from .lognormsys import LogNormSys
from .normfactor import NormFactor
from .normsys import NormSys
from .staterror import StatError

MODIFIERS = {kind.name: kind for kind in (NormFactor(), NormSys(), LogNormSys(), HistoSys(), StatError())}
#: ``[[systematics]] kind`` -> modifier kind
SYSTEMATIC_KINDS = {kind.systematic: name for name, kind in MODIFIERS.items() if kind.systematic}
#: Kinds whose factor is one number per point (the rest vary per bin).
PER_POINT_KINDS = tuple(name for name, kind in MODIFIERS.items() if kind.per_point)

__all__ = ["MODIFIERS", "PER_POINT_KINDS", "SYSTEMATIC_KINDS"]
