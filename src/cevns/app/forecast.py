"""Forecasts: how detector choices change the expected reach on the NSI couplings (Asimov profiles).

A forecast varies one setting of a scenario's experiments (exposure, threshold, background,
target, distance of the source, ...) by editing its resolved configuration dict
(:func:`cevns.spec.config.resolve_raw`, then :func:`cevns.spec.config.validate_config`), builds the
model, and reports the width of the Wilks 95% set of each chosen coupling from the profile
likelihood of the Asimov data set at the scenario's truth (the "expected" interval,
G. Cowan et al., Eur. Phys. J. C 71 (2011) 1554, arXiv:1007.1727, sec. 3.8). Widths are the
total length of the set (a union where a mirror solution survives) and the length of the
part that holds the truth.

:func:`target_pairs` answers the question of Dent et al. (arXiv:1711.03521, sec. II.3):
which pair of targets breaks the degeneracy between eps^u and eps^d best.

Every point is an independent task (:mod:`cevns.app.tasks`).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import ConfigError

#: Experiment settings a forecast can vary, and how: a number on every experiment (or the one named).
EXPERIMENT_SETTINGS = ("exposure_kg_day", "threshold_keV", "window_max_keV", "background_per_kg_day_keV",
                       "background_uncertainty", "bins", "target")
#: Source settings: ``distance_m`` scales the flux by (d0 / d)^2 from the scenario's flux at its own
#: distance (``distance_reference_m``: 20 m for the built-in SNS and reactor sources, paper Table 1).
SOURCE_SETTINGS = ("distance_m",)
DEFAULT_REFERENCE_DISTANCE_M = 20.0
#: Scan points of a forecast profile (over the coupling's bounds).
FORECAST_POINTS = 150


def apply_changes(raw: Mapping[str, Any], changes: Mapping[str, Any], experiment: str | None = None) -> dict[str, Any]:
    """A copy of a resolved scenario dict with ``changes`` applied to every experiment (or ``experiment``).

    Keys: :data:`EXPERIMENT_SETTINGS`, and ``distance_m`` (the flux of the experiment's source
    scaled by (20 m / d)^2; the source's own ``distance_m`` if it gives one).
    """
    out = copy.deepcopy(dict(raw))
    experiments = out.get("experiments", [])
    names = [e.get("name") for e in experiments]
    if experiment is not None and experiment not in names:
        raise ConfigError(f"--experiment {experiment!r}: the scenario's experiments are {', '.join(map(str, names))}")
    chosen = [e for e in experiments if experiment is None or e.get("name") == experiment]
    if changes and not chosen:  # a measured release keeps its own exposure and response: nothing would change
        raise ConfigError(f"--vary {', '.join(changes)}: scenario {out.get('name')!r} has no [[experiments]] to vary "
                          "(its measured [[datasets]] keep their own exposure and response); forecast a projection "
                          "scenario, or add an [[experiments]] entry")
    for key, value in changes.items():
        if key in EXPERIMENT_SETTINGS:
            for e in chosen:
                e[key] = value
        elif key == "distance_m":
            for source_name in sorted({e["source"] for e in chosen}):
                source = out["sources"][source_name]
                if source.get("distance_m") is not None:
                    source["distance_m"] = float(value)
                    continue
                field = "total_flux_cm2_s" if "total_flux_cm2_s" in source else "flux_per_flavor_cm2_s"
                source[field] = float(source[field]) * (DEFAULT_REFERENCE_DISTANCE_M / float(value)) ** 2
        else:
            raise ConfigError(f"cannot vary {key!r}; choose one of {', '.join(EXPERIMENT_SETTINGS + SOURCE_SETTINGS)}")
    return out


def build_model(spec: str | Mapping[str, Any]):  # noqa: ANN201
    """The model of a scenario name, or of ``{"scenario": name, "changes": {...}, "experiment": name or None,
    "keep": [experiment names] or None}``."""
    from ..spec.config import resolve_raw, validate_config
    from ..model import Model
    from ..builders.scenario import Scenario

    if isinstance(spec, str):
        return Model.from_scenario(Scenario.load(spec))
    raw = resolve_raw(spec["scenario"])
    if spec.get("keep") is not None:
        raw["experiments"] = [e for e in raw["experiments"] if e["name"] in spec["keep"]]
    if spec.get("free_only") is not None:  # the other couplings fixed at their nominal (SM) values
        raw.setdefault("fit", {})["free"] = {k: v for k, v in raw.get("fit", {}).get("free", {}).items() if k in spec["free_only"]}
    raw = apply_changes(raw, spec.get("changes", {}), spec.get("experiment"))
    config = validate_config(raw, f"{spec['scenario']} with {json.dumps(spec.get('changes', {}), sort_keys=True)}")
    return Model.from_scenario(Scenario(config, str(spec["scenario"])))


@lru_cache(maxsize=8)
def _cached(text: str):  # noqa: ANN202
    return build_model(json.loads(text))


def cached_model(spec: str | Mapping[str, Any]):  # noqa: ANN201
    """:func:`build_model`, built once per process (workers of a task farm reuse it across tasks)."""
    return _cached(json.dumps(spec, sort_keys=True))


def asimov_data(model, truth: Mapping[str, float] | None = None) -> np.ndarray:  # noqa: ANN001
    """Asimov data at ``truth`` (names, finite values inside the parameters' ranges: ``Model.check_values``)."""
    return model.asimov(model.check_values(truth or {}, "truth"))


def check_forecast_model(model, scenario: str, params: Sequence[str], truth: Mapping[str, float] | None) -> None:  # noqa: ANN001
    """Before any task runs: the model's ranges give finite counts, ``params`` are free parameters of it, and the
    truth is valid for it (ConfigError naming the parameter)."""
    model.check_ranges()
    free = [model.parameter_names[j] for j in model.free_indices]
    for name in params:
        if name not in free:
            raise ConfigError(f"--params {name!r} is not a free parameter of {scenario}; free: {', '.join(free)}")
    model.check_values(truth or {}, "truth")


def widths(intervals: Sequence[Sequence[float]], truth: float) -> dict[str, float]:
    """Total length of a union of intervals, and of the piece that holds ``truth`` (0 if none)."""
    total = float(sum(hi - lo for lo, hi in intervals))
    holding = [hi - lo for lo, hi in intervals if lo <= truth <= hi]
    return {"width": total, "width_at_truth": float(holding[0]) if holding else 0.0, "n_pieces": len(intervals)}


def forecast_task(spec: dict) -> dict:
    """One forecast point: the Asimov 68/95% Wilks sets of ``spec['params']`` for one model spec."""
    from ..inference.frequentist import Profiler, fit_mle, profile_1d

    model = cached_model(spec["model"])
    truth = spec.get("truth") or {}
    data = asimov_data(model, truth)
    profiler = Profiler(model, data)
    mle = fit_mle(profiler)
    out: dict[str, Any] = {"key": spec["key"], "changes": spec["model"].get("changes", {}) if isinstance(spec["model"], dict) else {},
                           "parameters": {}}
    for name in spec["params"]:
        profile = profile_1d(profiler, data, name, n_points=spec.get("n_points", FORECAST_POINTS), mle=mle)
        t = float(truth.get(name, model.init[model.parameter_names.index(name)]))
        out["parameters"][name] = {"intervals": profile.intervals, **{f"{k}_95": v for k, v in widths(profile.interval(0.95), t).items()},
                                   **{f"{k}_68": v for k, v in widths(profile.interval(0.68), t).items()}}
    return out


def parse_vary(text: str) -> tuple[str, list[Any]]:
    """``KEY=v1,v2,...`` -> (key, values); numbers become floats (``bins``: ints), ``target`` stays text."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not values.strip():
        raise ConfigError(f"--vary {text!r}: expected KEY=V1,V2,..., e.g. --vary exposure_kg_day=1e3,1e4,1e5")
    if key not in EXPERIMENT_SETTINGS + SOURCE_SETTINGS:
        raise ConfigError(f"--vary {key!r}: choose one of {', '.join(EXPERIMENT_SETTINGS + SOURCE_SETTINGS)}")
    items = [v.strip() for v in values.split(",") if v.strip()]
    if key == "target":
        return key, items
    try:
        numbers = [int(v) if key == "bins" else float(v) for v in items]
    except ValueError:
        raise ConfigError(f"--vary {text!r}: {key} takes numbers") from None
    if not all(np.isfinite(v) and v > 0 for v in numbers):
        raise ConfigError(f"--vary {text!r}: values must be finite and > 0")
    return key, numbers


def forecast_specs(scenario: str, key: str, values: Sequence[Any], params: Sequence[str], experiment: str | None = None,
                   truth: Mapping[str, float] | None = None, n_points: int = FORECAST_POINTS) -> list[dict]:
    """Task specs of a one-setting sweep (each model is validated here, so a bad value fails before any work)."""
    specs = []
    for i, value in enumerate(values):
        model_spec = {"scenario": scenario, "changes": {key: value}, "experiment": experiment}
        check_forecast_model(cached_model(model_spec), scenario, params, truth)
        specs.append({"key": f"{key}-{i}", "model": model_spec, "params": list(params), "truth": dict(truth or {}),
                      "n_points": n_points})
    return specs


def target_pair_specs(scenario: str, targets: Sequence[str], params: Sequence[str], truth: Mapping[str, float] | None = None,
                      n_points: int = FORECAST_POINTS, profile_others: bool = False) -> list[dict]:
    """One task per pair of targets: the scenario's experiments on those targets, as they are.

    By default only ``params`` are free (the other couplings fixed at the SM), which is the
    paper's question: the eps^u/eps^d degeneracy of one flavour. ``profile_others`` keeps every
    coupling of the scenario free and profiled."""
    from ..spec.config import resolve_raw

    raw = resolve_raw(scenario)
    by_target = {e["target"]: e["name"] for e in raw["experiments"]}
    if len(set(targets)) < 2:
        raise ConfigError("--targets needs at least two different targets, e.g. --targets Ge,Si,NaI,Ar")
    specs = []
    for a, b in itertools.combinations(targets, 2):
        keep, changes = [], {}
        for t in (a, b):
            if t in by_target:
                keep.append(by_target[t])
            else:
                raise ConfigError(f"--targets {t!r}: {scenario} has no experiment on it; its targets: {', '.join(by_target)}")
        model_spec = {"scenario": scenario, "changes": changes, "experiment": None, "keep": keep,
                      "free_only": None if profile_others else list(params)}
        check_forecast_model(cached_model(model_spec), scenario, params, truth)
        specs.append({"key": f"pair-{a}-{b}", "model": model_spec, "params": list(params), "truth": dict(truth or {}),
                      "n_points": n_points, "pair": [a, b]})
    return specs
