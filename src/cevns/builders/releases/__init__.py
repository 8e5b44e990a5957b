"""Measured data releases as model channels (docs/data.md).

A scenario's ``[[datasets]]`` entry names a release (a key of :data:`RELEASES`), the scenario
source whose flavor spectra and fluxes it sees, the release's ``options`` (validated here, closed)
and optional extra ``systematics``. :func:`build_channels` turns it into
:class:`cevns.spec.Channel` objects: signal quadratic forms per observable bin and flavor
component (recoil spectrum from the package's physics -> response matrix -> bins), the release's
backgrounds with their nuisances, and the observed counts. The files are the package's copies
(``cevns/data/<release>/``, each with its REFERENCE.md). docs/data.md describes every choice.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from ...errors import ConfigError

#: release key -> (module, one-line description)
_MODULES = {
    "coherent-csi-2017": "coherent_csi_2017",
    "coherent-csi-2021": "coherent_csi_2021",
    "coherent-lar-2020": "coherent_lar_2020",
    "dresden-ii-2022": "dresden_ii",
    "xenonnt-8b-2026": "xenonnt_8b",
}

RELEASES: dict[str, str] = {
    "coherent-csi-2017": "COHERENT 2017 CsI[Na] (arXiv:1708.01294, release arXiv:1804.09459): "
                         "PE x arrival time, beam-on coincidence + anti-coincidence",
    "coherent-csi-2021": "COHERENT CsI[Na] full data set (Akimov et al., PRL 129 (2022) 081801, arXiv:2110.07730): "
                         "unbinned events binned in PE x arrival time, coincidence + anti-coincidence",
    "coherent-lar-2020": "COHERENT CENNS-10 liquid argon, analysis A (Akimov et al., PRL 126 (2021) 012002; release "
                         "arXiv:2006.12659): energy x F90 x time",
    "dresden-ii-2022": "Dresden-II reactor Ge (Colaresi et al., arXiv:2202.09672), 0.2-1.5 keVee, reactor ON and OFF; "
                       "provenance of the files probable, not certain",
    "xenonnt-8b-2026": "XENONnT solar 8B CEvNS (PRL 133 (2024) 191002; arXiv:2604.06002; release Zenodo "
                       "10.5281/zenodo.20576156): cS2 x S2 shadow x S1 BDT x S2 BDT, 81 bins per science run",
}


def _builder(release: str) -> Callable:
    if release not in _MODULES:
        raise ConfigError(f"unknown data release {release!r}; releases: {', '.join(sorted(RELEASES))}")
    return import_module(f".{_MODULES[release]}", __name__).build_channels


def build_channels(dataset_config, scenario, physics) -> list:  # noqa: ANN001
    """The channels of one ``[[datasets]]`` entry.

    Parameters
    ----------
    dataset_config : cevns.spec.config.DatasetConfig
    scenario : cevns.builders.scenario.Scenario
        Gives the source (``scenario.source(dataset_config.source)``) and its configuration.
    physics : cevns.experiment.PhysicsOptions

    Returns
    -------
    list[cevns.spec.Channel]

    Raises
    ------
    ConfigError
        Unknown release, bad option (named), or a defective data file (file and row named).
    """
    return _builder(dataset_config.release)(dataset_config, scenario, physics)


__all__ = ["RELEASES", "build_channels"]
