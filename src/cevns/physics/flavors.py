"""Neutrino flavors as an Enum (incoming species of a source component)."""

from __future__ import annotations

from enum import Enum

from ..spec.vocabulary import LEPTON_FLAVORS  # noqa: F401  (re-exported)


class Flavor(str, Enum):
    """A neutrino or antineutrino species.

    ``index`` is the lepton-flavor index (e=0, mu=1, tau=2) that selects the
    row of the NSI matrix; CEvNS is vector-like, so an antineutrino sees the
    same vector charge as the neutrino of its flavor (Dent et al., arXiv:1711.03521, eqs. 1-2).
    """

    NU_E = "nu_e"
    NU_MU = "nu_mu"
    NU_TAU = "nu_tau"
    NUBAR_E = "nubar_e"
    NUBAR_MU = "nubar_mu"
    NUBAR_TAU = "nubar_tau"

    @property
    def index(self) -> int:
        return {"e": 0, "mu": 1, "tau": 2}[self.value.split("_")[1]]

    @property
    def is_antineutrino(self) -> bool:
        return self.value.startswith("nubar")

    @property
    def latex(self) -> str:
        lepton = {"e": "e", "mu": r"\mu", "tau": r"\tau"}[self.value.split("_")[1]]
        bar = r"\bar\nu" if self.is_antineutrino else r"\nu"
        return rf"${bar}_{{{lepton}}}$"

