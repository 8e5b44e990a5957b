"""Scenario configuration: TOML files validated by a closed pydantic schema .

A scenario file describes sources, experiments, physics options and (for
fits) the free parameters. Built-in scenarios live in ``cevns/scenarios``;
wherever a scenario name is accepted, a path to a TOML file is accepted too.

A file may start from other scenarios with ``base = "NAME_OR_PATH"`` (or a
list of them, merged in order): its tables are merged key by key into the
base (except ``[fit] free`` and ``grid_points``, which replace the base's whole),
and entries of ``experiments`` and ``datasets`` are merged into the base's entries
of the same ``name`` (new names are appended).

Every model has ``extra="forbid"``; validation errors are re-raised as one
:class:`~cevns.errors.ConfigError` naming the field (pyhf-style).
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator, model_validator

from .. import units
from ..errors import ConfigError
from .vocabulary import (COHERENT_2017_ACCEPTANCE as _ACCEPTANCE, COUPLING_CONVENTIONS, FISSION_ISOTOPES,
                         FORM_FACTOR_NAMES, KINEMATIC_FORMS, SOLAR_BRANCHES, SOLAR_FLUX_MODELS, SPECTRUM_MODELS,
                         UnknownCouplingError, canonical_nsi_name)

#: Physics parameters a fit can free besides the NSI couplings, mapped to the
#: [physics] option they set (for grid interpolation). sin2_theta_w enters the charge
#: linearly (an exact quadratic form), as do eps_zprime and mu_nu (LINEAR_ONLY); with an
#: entry in [fit] grid_points sin2_theta_w is treated like a non-linear parameter instead
#: (kernels on a grid, interpolated). The others are non-linear and need grid_points.
PHYSICS_PARAMETERS = {"sin2_theta_w": "sin2_theta_w", "neutron_radius_fm": "neutron_radius_fm",
                      "log10_mediator_mass_MeV": "log10_mediator_mass_MeV"}
LINEAR_ONLY = ("eps_zprime", "mu_nu")
GRID_ONLY = ("neutron_radius_fm", "log10_mediator_mass_MeV")


def canonical_parameter_name(name: str) -> str:
    """An NSI coupling's canonical name, or a physics parameter's name (ValueError otherwise)."""
    if name in PHYSICS_PARAMETERS or name in LINEAR_ONLY:
        return name
    try:
        return canonical_nsi_name(name)
    except UnknownCouplingError as err:
        raise ValueError(f"{err}; or a physics parameter: {', '.join([*PHYSICS_PARAMETERS, *LINEAR_ONLY])}") from None

Number = Annotated[float, Strict()]
Integer = Annotated[int, Strict()]
PositiveFloat = Annotated[float, Strict(), Field(gt=0)]
NonNegativeFloat = Annotated[float, Strict(), Field(ge=0)]


class _Model(BaseModel):
    # numbers are Strict (no silent coercion of "10" or true); no inf/NaN anywhere
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PhysicsConfig(_Model):
    """Physics options (``cevns.experiment.PhysicsOptions`` documents each)."""

    sin2_theta_w: Number = Field(units.SIN2_THETA_W_LOW_ENERGY, gt=0, lt=1)
    kinematics: Literal[KINEMATIC_FORMS] = "standard"  # cevns.spec.vocabulary is the one list of options
    form_factor: Literal[FORM_FACTOR_NAMES] = "helm"
    couplings: Literal[COUPLING_CONVENTIONS] = "tree"
    neutron_radius_fm: PositiveFloat | None = None
    log10_mediator_mass_MeV: Number | None = Field(None, ge=-3, le=6)  # 1 keV to 1 TeV


class StoppedPionConfig(_Model):
    """Stopped-pion source: give ``flux_per_flavor_cm2_s`` or the beam inputs."""

    type: Literal["stopped-pion"]
    flux_per_flavor_cm2_s: PositiveFloat | None = None
    protons_on_target: PositiveFloat | None = None
    nu_per_proton: PositiveFloat = 0.08
    distance_m: PositiveFloat | None = None
    live_time_days: PositiveFloat | None = None
    normalization_uncertainty: NonNegativeFloat = 0.10
    description: str = ""

    @model_validator(mode="after")
    def _one_normalization(self) -> StoppedPionConfig:
        beam = (self.protons_on_target, self.distance_m, self.live_time_days)
        if self.flux_per_flavor_cm2_s is None and any(v is None for v in beam):
            raise ValueError(
                "give flux_per_flavor_cm2_s, or protons_on_target + distance_m + live_time_days"
            )
        if self.flux_per_flavor_cm2_s is not None and any(v is not None for v in beam):
            raise ValueError("give either flux_per_flavor_cm2_s or the beam inputs, not both")
        return self


class ReactorConfig(_Model):
    """Reactor source: give ``total_flux_cm2_s`` or ``thermal_power_MW`` + ``distance_m``."""

    type: Literal["reactor"]
    total_flux_cm2_s: PositiveFloat | None = None
    thermal_power_MW: PositiveFloat | None = None
    distance_m: PositiveFloat | None = None
    spectrum: Literal[SPECTRUM_MODELS] = "huber-mueller"
    fission_fractions: dict[Literal[FISSION_ISOTOPES], NonNegativeFloat] | None = None
    normalization_uncertainty: NonNegativeFloat = 0.02
    description: str = ""

    @model_validator(mode="after")
    def _one_normalization(self) -> ReactorConfig:
        power = (self.thermal_power_MW, self.distance_m)
        if self.total_flux_cm2_s is None and any(v is None for v in power):
            raise ValueError("give total_flux_cm2_s, or thermal_power_MW + distance_m")
        if self.total_flux_cm2_s is not None and any(v is not None for v in power):
            raise ValueError("give either total_flux_cm2_s or thermal_power_MW + distance_m, not both")
        if self.fission_fractions is not None and sum(self.fission_fractions.values()) <= 0:
            raise ValueError("fission_fractions must have a positive sum")
        return self


class SolarConfig(_Model):
    """Solar source (``cevns.sources.solar``): 8B and hep with the MSW-LMA flavour content at the Earth.

    ``flux_model`` picks the total fluxes and their uncertainties (B16-GS98 standard solar model or the
    SNO neutral-current 8B flux); ``fluxes_cm2_s`` / ``uncertainties`` override them per branch. The
    oscillation defaults are NuFIT 5.0 (``cevns.sources.solar.OscillationParameters`` cites each).
    """

    type: Literal["solar"]
    flux_model: Literal[SOLAR_FLUX_MODELS] = "B16-GS98"
    branches: list[Literal[SOLAR_BRANCHES]] = Field(default_factory=lambda: list(SOLAR_BRANCHES), min_length=1)
    fluxes_cm2_s: dict[Literal[SOLAR_BRANCHES], PositiveFloat] = Field(default_factory=dict)
    uncertainties: dict[Literal[SOLAR_BRANCHES], NonNegativeFloat] = Field(default_factory=dict)
    sin2_theta12: Number = Field(0.304, gt=0, lt=1)
    sin2_theta13: Number = Field(0.02219, gt=0, lt=1)
    sin2_theta23: Number = Field(0.573, gt=0, lt=1)
    dm2_21_eV2: PositiveFloat = 7.42e-5
    electron_density_NA_per_cm3: NonNegativeFloat = 100.0
    description: str = ""

    @model_validator(mode="after")
    def _branches(self) -> SolarConfig:
        if len(set(self.branches)) != len(self.branches):
            raise ValueError(f"branches {self.branches} repeat a branch")
        for field in ("fluxes_cm2_s", "uncertainties"):
            extra = sorted(set(getattr(self, field)) - set(self.branches))
            if extra:
                raise ValueError(f"{field} names {extra}, which are not in branches {self.branches}")
        return self


SourceConfig = Annotated[StoppedPionConfig | ReactorConfig | SolarConfig, Field(discriminator="type")]


class Coherent2017EfficiencyConfig(_Model):
    """COHERENT 2017 CsI acceptance (arXiv:1708.01294, data release arXiv:1804.09459)."""

    model: Literal["coherent-2017"]
    # defaults: the published values, kept once in cevns.spec.vocabulary.COHERENT_2017_ACCEPTANCE
    quenching_factor: PositiveFloat = _ACCEPTANCE["quenching_factor"]
    light_yield_pe_per_keVee: PositiveFloat = _ACCEPTANCE["light_yield_pe_per_keVee"]
    amplitude: PositiveFloat = _ACCEPTANCE["amplitude"]
    steepness_per_pe: PositiveFloat = _ACCEPTANCE["steepness_per_pe"]
    midpoint_pe: Number = _ACCEPTANCE["midpoint_pe"]


class TabulatedEfficiencyConfig(_Model):
    model: Literal["table"]
    recoil_keV: list[NonNegativeFloat]
    efficiency: list[Annotated[float, Strict(), Field(ge=0, le=1)]]

    @model_validator(mode="after")
    def _same_length(self) -> TabulatedEfficiencyConfig:
        if len(self.recoil_keV) != len(self.efficiency) or len(self.recoil_keV) < 2:
            raise ValueError("recoil_keV and efficiency need the same length (>= 2)")
        if any(b <= a for a, b in zip(self.recoil_keV, self.recoil_keV[1:])):
            raise ValueError("recoil_keV must increase")
        return self


EfficiencyConfig = Annotated[Coherent2017EfficiencyConfig | TabulatedEfficiencyConfig, Field(discriminator="model")]


class ObservedConfig(_Model):
    """Observed data of an experiment (instead of the Asimov set).

    Either ``counts`` (total observed counts per bin), or a published
    background-subtracted ``signal`` with its ``signal_error`` (single bin):
    then the background that enters the Poisson likelihood is the one that
    reproduces the published error (see docs/physics.md, "COHERENT data").
    """

    counts: list[NonNegativeFloat] | None = None
    signal: NonNegativeFloat | None = None
    signal_error: PositiveFloat | None = None
    reference: str = ""

    @model_validator(mode="after")
    def _one_form(self) -> ObservedConfig:
        if (self.counts is None) == (self.signal is None):
            raise ValueError("give either counts or signal + signal_error")
        if self.signal is not None and self.signal_error is None:
            raise ValueError("signal needs signal_error")
        if self.signal is not None and self.signal_error**2 < self.signal:
            raise ValueError("signal_error^2 must be >= signal (Poisson error of the signal alone)")
        return self


class SystematicConfig(_Model):
    """A nuisance or free normalisation on some samples of an experiment (pyhf-style modifiers).

    ``name`` is the parameter's name: the same name in another experiment (same kind and
    width) is the same parameter, so one systematic can be shared or correlated by name.
    ``applies_to``: "signal" (every source component), "background", or component names
    (e.g. "prompt_nu_mu"). Kinds (``cevns.model.parameters``):

    * ``norm``: Gaussian normalisation N(1, uncertainty);
    * ``lognorm``: log-normal normalisation, factor (1 + uncertainty)^z, z ~ N(0, 1);
    * ``shape``: +-1 sigma templates as per-bin ratios to the nominal (``up``, ``down``),
      interpolated with pyhf's code 4p;
    * ``staterror``: one Gaussian factor per bin with relative widths ``relative``;
    * ``free-norm``: an unconstrained normalisation with a flat prior on ``range``.
    """

    name: str = Field(min_length=1)
    kind: Literal["norm", "lognorm", "shape", "staterror", "free-norm"]
    applies_to: list[str] = Field(default_factory=lambda: ["signal"], min_length=1)
    uncertainty: PositiveFloat | None = None
    up: list[NonNegativeFloat] | None = None
    down: list[NonNegativeFloat] | None = None
    relative: list[PositiveFloat] | None = None
    range: tuple[Number, Number] | None = None

    @model_validator(mode="after")
    def _fields_of_kind(self) -> SystematicConfig:
        needs = {"norm": ("uncertainty",), "lognorm": ("uncertainty",), "shape": ("up", "down"),
                 "staterror": ("relative",), "free-norm": ("range",)}[self.kind]
        for key in ("uncertainty", "up", "down", "relative", "range"):
            given = getattr(self, key) is not None
            if key in needs and not given:
                raise ValueError(f"systematic {self.name!r} of kind {self.kind!r} needs {key}")
            if key not in needs and given:
                raise ValueError(f"systematic {self.name!r} of kind {self.kind!r} takes no {key} (it needs {', '.join(needs)})")
        if self.range is not None and not self.range[1] > self.range[0]:
            raise ValueError(f"systematic {self.name!r}: range {list(self.range)} is empty; give [low, high] with low < high")
        return self


#: Largest number of bins per experiment: the kernels hold (bins x components x 14 x 14) floats
#: per experiment, and the Laplace path (n, K, M) arrays; 10000 bins is ~50 MB per experiment.
MAX_BINS = 10_000


class ExperimentConfig(_Model):
    name: str
    target: str
    source: str
    exposure_kg_day: PositiveFloat
    threshold_keV: PositiveFloat
    window_max_keV: PositiveFloat
    bins: Integer = Field(10, ge=1, le=MAX_BINS)
    binning: Literal["linear", "log"] = "linear"
    background_per_kg_day_keV: NonNegativeFloat = 0.0
    background_uncertainty: NonNegativeFloat = 0.0
    efficiency: EfficiencyConfig | None = None
    observed: ObservedConfig | None = None
    background_nuisance: str | None = None
    systematics: list[SystematicConfig] = Field(default_factory=list)
    description: str = ""

    @model_validator(mode="after")
    def _window(self) -> ExperimentConfig:
        if self.window_max_keV <= self.threshold_keV:
            raise ValueError(
                f"window_max_keV ({self.window_max_keV}) must be above threshold_keV ({self.threshold_keV})"
            )
        if self.observed is not None and self.observed.counts is not None and len(self.observed.counts) != self.bins:
            raise ValueError(f"observed.counts has {len(self.observed.counts)} entries for {self.bins} bins")
        if self.observed is not None and self.observed.signal is not None and self.bins != 1:
            raise ValueError("observed.signal (published excess) needs bins = 1")
        for syst in self.systematics:
            for key in ("up", "down", "relative"):
                values = getattr(syst, key)
                if values is not None and len(values) != self.bins:
                    raise ValueError(f"systematic {syst.name!r}: {key} has {len(values)} entries for {self.bins} bins")
        return self


class FitConfig(_Model):
    """Free parameters and data of a fit (Dent et al., arXiv:1711.03521, its likelihood)."""

    free: dict[str, tuple[Number, Number]] = Field(default_factory=dict)
    fixed: dict[str, Number] = Field(default_factory=dict)
    data: Literal["asimov", "observed"] = "asimov"
    asimov_truth: dict[str, Number] = Field(default_factory=dict)
    nuisances: Literal["marginalized", "sampled"] = "marginalized"
    grid_points: dict[str, Annotated[int, Strict(), Field(ge=3, le=1000)]] = Field(default_factory=dict)
    #: Prior of the data sets' free normalisations (``free-norm`` systematics, e.g. a steady-state
    #: background measured in a side band): "flat" on their range, sampled with the couplings; or
    #: "broad-gaussian", N(1, half the range), a constrained nuisance like the others (integrated out
    #: per point when nuisances are marginalized). Use the latter when the data pin the normalisation
    #: to a small fraction of its range: the couplings' posterior is then the same (docs/data.md).
    free_norm_prior: Literal["flat", "broad-gaussian"] = "flat"
    #: Sampler of this scenario's fits when the user names none (``cevns fit --sampler`` wins); unset: the
    #: measured rule by dimension (cevns.inference.samplers.default_sampler_settings). For a scenario whose
    #: measurements beat the rule: measured-combined-solar-tau (6-D, 1-2 ms per call) takes nautilus, which
    #: needs a third of smc's calls there (docs/sampling.md, "Marginalized fits in 5-8 D").
    sampler: Literal["nautilus", "ultranest", "dynesty", "smc"] | None = None
    #: Options of the smc sampler for this scenario's fits (fields of cevns.inference.smc.SMCSettings, checked
    #: when a fit starts), ``[fit.smc]`` in TOML. The measured releases' 4-D fits set ``adapt = 1`` (one
    #: population-Monte-Carlo refit of the importance proposal): 0-25% fewer likelihood calls over 6-10 seeds
    #: each, no retry in 90 runs, the same log Z spread (docs/sampling.md, "One refit for the measured fits").
    #: ``guide = false`` tempers on the exact likelihood instead of its guide (docs/sampling.md, "A guide for the
    #: tempering"). Booleans stay booleans (bool before int in the union).
    smc: dict[str, bool | int | float | str] | None = None

    @field_validator("free", "fixed", "asimov_truth", "grid_points", mode="before")
    @classmethod
    def _canonical_names(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for name, item in value.items():
            key = canonical_parameter_name(name)
            if key in out:
                raise ValueError(f"{name!r} repeats {key!r}")
            out[key] = item
        return out

    @field_validator("free")
    @classmethod
    def _ranges(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (lo, hi) in value.items():
            if not hi > lo:
                raise ValueError(f"prior range of {name} is empty or inverted: [{lo}, {hi}]; give [low, high] with low < high")
        return value

    @model_validator(mode="after")
    def _disjoint(self) -> FitConfig:
        both = set(self.free) & set(self.fixed)
        if both:
            raise ValueError(f"{sorted(both)} are both free and fixed")
        if self.asimov_truth and self.data != "asimov":  # it would be ignored: the fit reads the observed counts
            raise ValueError(f"asimov_truth ({', '.join(self.asimov_truth)}) sets the truth of Asimov data; with data = "
                             f"{self.data!r} it would be ignored: remove it or set data = \"asimov\"")
        for name in ("sin2_theta_w", *GRID_ONLY):
            if name in self.fixed:
                raise ValueError(f"fix {name} in [physics], not in [fit] fixed")
        needs_grid = sorted(n for n in self.free if n in GRID_ONLY and n not in self.grid_points)
        if needs_grid:
            raise ValueError(f"{needs_grid} enter the rate non-linearly: give [fit] grid_points, e.g. {{ {needs_grid[0]} = 17 }}")
        not_free = sorted(set(self.grid_points) - set(self.free))
        if not_free:
            raise ValueError(f"grid_points names {not_free}, which are not free parameters")
        if len(self.grid_points) > 1:
            raise ValueError("at most one parameter can be interpolated on a grid")
        return self


class DatasetConfig(_Model):
    """A measured data release as channels of the model (``cevns.builders.releases``).

    ``release`` names a release the package ships (``cevns.builders.releases.RELEASES``);
    ``source`` the scenario source whose flavors it sees; ``options`` are the release's own
    settings, validated by its module (which names any bad field).
    """

    name: str = Field(min_length=1)
    release: str = Field(min_length=1)
    source: str
    options: dict[str, Any] = Field(default_factory=dict)
    systematics: list[SystematicConfig] = Field(default_factory=list)


class ScenarioConfig(_Model):
    name: str
    description: str = ""
    physics: PhysicsConfig = Field(default_factory=PhysicsConfig)
    sources: dict[str, SourceConfig]
    experiments: list[ExperimentConfig] = Field(default_factory=list)
    datasets: list[DatasetConfig] = Field(default_factory=list)
    fit: FitConfig = Field(default_factory=FitConfig)
    references: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sources_exist(self) -> ScenarioConfig:
        if not self.experiments and not self.datasets:
            raise ValueError("a scenario needs at least one [[experiments]] or [[datasets]] entry")
        for data in self.datasets:
            if data.source not in self.sources:
                raise ValueError(f"dataset {data.name!r} uses source {data.source!r}; defined sources: {sorted(self.sources)}")
        names = [e.name for e in self.experiments] + [d.name for d in self.datasets]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment names must be unique: {names}")
        for exp in self.experiments:
            if exp.source not in self.sources:
                raise ValueError(
                    f"experiment {exp.name!r} uses source {exp.source!r}; defined sources: {sorted(self.sources)}"
                )
        if self.fit.data == "observed":
            missing = [e.name for e in self.experiments if e.observed is None]
            if missing:
                raise ValueError(f"fit.data = 'observed' but experiments {missing} have no [observed] block")
        return self


# --- loading ------------------------------------------------------------------
def builtin_scenarios() -> dict[str, str]:
    """Names of the built-in scenarios mapped to their one-line descriptions."""
    out = {}
    for item in sorted(resources.files("cevns").joinpath("scenarios").iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml"):
            raw = resolve_raw(item.name[:-5])
            out[item.name[:-5]] = raw.get("description", "")
    return out


def _builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("cevns").joinpath("scenarios").iterdir() if p.name.endswith(".toml"))


def is_path(name_or_path: str | Path) -> bool:
    """Scenario arguments are paths when they end in .toml or contain a folder separator; otherwise names."""
    text = str(name_or_path)
    return isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text


def _read_toml(name_or_path: str | Path, builtin_only: bool = False) -> tuple[dict[str, Any], str]:
    """Read a scenario: a built-in by name, or a file by path (never a file found by a bare name).

    A bare name that is also a file in the current folder is refused as ambiguous. Inside a
    built-in scenario (``builtin_only``), every ``base`` is a built-in name.
    """
    if is_path(name_or_path) and not builtin_only:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(f"scenario file {str(path)!r} does not exist; give a built-in name (cevns scenarios) or a TOML path")
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise ConfigError(f"scenario file {str(path)!r} is not UTF-8 text (byte {err.start}); save it as UTF-8") from None
        except OSError as err:
            raise ConfigError(f"scenario file {str(path)!r} cannot be read ({err.strerror})") from None
        origin = str(path)
    else:
        name = str(name_or_path)
        if name not in _builtin_names():
            hint = " (a path must end in .toml or contain a /)" if Path(name).is_file() else ""
            raise ConfigError(f"unknown scenario {name!r}; built-in scenarios: {', '.join(_builtin_names())} "
                              f"(or give a path to a .toml file){hint}")
        if not builtin_only and Path(name).is_file():
            raise ConfigError(f"{name!r} is both a built-in scenario and a file in the current folder; "
                              f"write ./{name} for the file, or rename it")
        text, origin = resources.files("cevns").joinpath("scenarios", f"{name}.toml").read_text(), f"builtin:{name}"
    try:
        return tomllib.loads(text), origin
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"malformed TOML in {origin}: {err}") from None
    except RecursionError:
        raise ConfigError(f"malformed TOML in {origin}: nested too deeply") from None


#: Tables that a derived scenario replaces whole instead of merging key by key: a fit's free
#: parameters are a set (a base's free couplings must not stay free in a sin^2 fit).
REPLACED_TABLES = ("free", "grid_points")


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if key in ("experiments", "datasets") and isinstance(value, list) and isinstance(out.get(key), list):
            by_name = {e.get("name"): i for i, e in enumerate(out[key])}
            for entry in value:
                if not isinstance(entry, dict):
                    raise ConfigError(f"{key} must be a list of tables ([[{key}]]), got an entry {type(entry).__name__}")
                if entry.get("name") in by_name:
                    i = by_name[entry["name"]]
                    out[key][i] = _merge(out[key][i], entry)
                else:
                    out[key].append(copy.deepcopy(entry))
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and key not in REPLACED_TABLES:
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_raw(name_or_path: str | Path, _seen: tuple[str, ...] = (), _builtin_only: bool = False) -> dict[str, Any]:
    """Read a scenario and its ``base`` chain into one plain dict (not yet validated).

    A base of a built-in scenario is always a built-in; a base of a file is a built-in name,
    or a path (ending in .toml or with a /) relative to that file's folder.
    """
    raw, origin = _read_toml(name_or_path, _builtin_only)
    if origin in _seen:
        raise ConfigError(f"scenario base chain loops: {' -> '.join(_seen + (origin,))}")
    bases = raw.pop("base", [])
    bases = [bases] if isinstance(bases, str) else bases
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"{origin}: base must be a scenario name or path, or a list of them")
    merged: dict[str, Any] = {}
    builtin = origin.startswith("builtin:")
    for base in bases:
        if not builtin and is_path(base) and not Path(base).is_absolute():
            base = str(Path(origin).parent / base)
        merged = _merge(merged, resolve_raw(base, _seen + (origin,), builtin))
    return _merge(merged, raw)


def _format_validation_error(err: ValidationError, origin: str) -> str:
    first = err.errors()[0]
    location = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-after"))
    # discriminated unions add the tag name to the location; keep it readable
    message = first["msg"].removeprefix("Value error, ")
    where = f" at {location}" if location else ""
    more = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"invalid scenario {origin}{where}: {message}{more}"


def load_config(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> ScenarioConfig:
    """Load and validate a scenario by built-in name or TOML path.

    ``overrides``: tables merged over the resolved file before validation, as a derived scenario's own
    tables are (e.g. ``{"physics": {"couplings": "radiative"}}``: the scenario under another convention).

    Raises
    ------
    ConfigError
        Unknown scenario, malformed TOML or a schema violation (one line).
    """
    raw = resolve_raw(name_or_path)
    if overrides:
        raw = _merge(raw, overrides)
    return validate_config(raw, str(name_or_path))


def validate_config(raw: dict[str, Any], origin: str = "<dict>") -> ScenarioConfig:
    """Validate a plain dict against the scenario schema."""
    try:
        return ScenarioConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, origin)) from None


def config_to_toml(config: ScenarioConfig) -> str:
    """The fully resolved configuration as TOML text (written into every output folder)."""
    import tomli_w

    return tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))
