"""``normfactor``: a free normalisation (e.g. the CEvNS signal strength ``mu_cevns``), flat prior on its
range, never marginalised. Declared by ``[[systematics]] kind = "free-norm"``; with ``[fit] free_norm_prior
= "broad-gaussian"`` the same entry declares a ``normsys`` N(1, half the range) instead. The factor is the
parameter (the default of :class:`ModifierKind`)."""

from __future__ import annotations

from ...errors import ConfigError
from ..parameters import Parameter
from .base import ModifierKind


class NormFactor(ModifierKind):
    name = "normfactor"
    systematic = "free-norm"

    def parameters(self, syst, channel: str, free_norm_prior: str) -> list[Parameter]:  # noqa: ANN001, ARG002
        if free_norm_prior == "flat":
            return [Parameter(syst.name, self.name, tuple(syst.range), 1.0)]
        lo, hi = syst.range  # broad Gaussian around the nominal 1: half the flat range as its width
        if not lo < 1.0 < hi:
            raise ConfigError(f"free_norm_prior = 'broad-gaussian' centres {syst.name!r} on 1, outside its range "
                              f"[{lo}, {hi}]; widen the range or keep free_norm_prior = 'flat'")
        return [Parameter.constrained_parameter(syst.name, "normsys", 1.0, 0.5 * (hi - lo))]
