"""What every release module shares: option validation, exposure, flux nuisances, systematics objects."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ...spec.config import SystematicConfig, StoppedPionConfig
from ...errors import ConfigError
from ...sources.base import LineSpectrum, Source


class ReleaseOptions(BaseModel):
    """Base of every release's options: closed (extra="forbid"), strict numbers, no inf/NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    #: a folder holding a copy of the release's files (default: the package's copy)
    data_dir: str | None = None
    #: one normalisation nuisance per flavor component ("per-flavor": ``norm_<source>_<component>``,
    #: shared with every channel of the same source), or one for all (``norm_<source>_flux``: the
    #: SNS neutrino yield per proton is one number for all three flavors)
    flux_nuisances: Literal["per-flavor", "common", "none"] = "common"


def parse_options(cls: type[ReleaseOptions], dataset: Any) -> ReleaseOptions:  # noqa: ANN401
    """Validate ``dataset.options`` against ``cls``; one ConfigError naming the field."""
    try:
        return cls.model_validate(dict(dataset.options))
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        where = f"options.{field}: {message}" if field else f"options.{message}"  # model checks name their field first
        raise ConfigError(f"dataset {dataset.name!r} (release {dataset.release!r}): {where}") from None


def live_time_days(dataset: Any, scenario: Any, option: float | None) -> float:  # noqa: ANN401
    """The live time the source's flux is averaged over: the option, else the source's beam inputs."""
    if option is not None:
        return float(option)
    config = scenario.config.sources[dataset.source]
    if isinstance(config, StoppedPionConfig) and config.live_time_days is not None:
        return float(config.live_time_days)
    raise ConfigError(f"dataset {dataset.name!r}: options.live_time_days is needed (source {dataset.source!r} gives "
                      "its flux directly, not protons_on_target + distance_m + live_time_days)")


def flux_nuisances(source: Source, mode: str) -> dict[str, tuple[str, float]]:
    """Component -> (parameter, sigma) of the source's flux normalisations (see :class:`ReleaseOptions`)."""
    if mode == "none":
        return {}
    if mode == "per-flavor":
        return {c.name: (f"norm_{source.name}_{c.name}", c.normalization_uncertainty)
                for c in source.components if c.normalization_uncertainty > 0}
    sigmas = {c.normalization_uncertainty for c in source.components}
    if len(sigmas) != 1:
        raise ConfigError(f"source {source.name!r}: flux_nuisances = 'common' needs one uncertainty for all components")
    (sigma,) = sigmas
    if sigma <= 0:
        return {}
    return {c.name: (f"norm_{source.name}_flux", sigma) for c in source.components}


def release_source(dataset: Any, scenario: Any, kind: str) -> Source:  # noqa: ANN401
    """The scenario source a data set names, which must be of ``kind`` ("stopped-pion", "reactor")."""
    source = scenario.source(dataset.source)
    if source.kind != kind:
        raise ConfigError(f"dataset {dataset.name!r} (release {dataset.release!r}) needs a {kind} source; "
                          f"{dataset.source!r} is {source.kind}")
    return source


def is_prompt(component: Any) -> bool:  # noqa: ANN401
    """Prompt (pion-decay line) or delayed (muon-decay) component of a stopped-pion source."""
    return isinstance(component.spectrum, LineSpectrum)


def systematic(name: str, kind: str, applies_to: list[str], **fields: Any) -> SystematicConfig:  # noqa: ANN401
    """A systematic with the schema of an experiment's (validated)."""
    return SystematicConfig(name=name, kind=kind, applies_to=applies_to, **fields)
