"""``normsys``: a Gaussian-constrained normalisation, factor nu with prior N(1, sigma) (flux and background
normalisations; the paper's choice). Declared by ``[[systematics]] kind = "norm"`` and by channels'
component and background nuisances. Everything is the default of :class:`ModifierKind`."""

from __future__ import annotations

from .base import ModifierKind


class NormSys(ModifierKind):
    name = "normsys"
    systematic = "norm"
