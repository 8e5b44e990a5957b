"""Helpers shared by the data-release tests (tests/test_datasets*.py)."""

import shutil
from importlib import resources
from pathlib import Path

import numpy as np

import cevns
from cevns.spec.config import load_config
from cevns.builders.scenario import Scenario


def scenario_with_options(name: str, options: dict, physics: dict | None = None, index: int = 0) -> Scenario:
    """A built-in scenario with extra options merged into its data set number ``index`` (and ``physics``
    overrides of its ``[physics]``)."""
    config = load_config(name)
    datasets = list(config.datasets)
    datasets[index] = datasets[index].model_copy(update={"options": {**datasets[index].options, **options}})
    update = {"datasets": datasets}
    if physics:
        update["physics"] = config.physics.model_copy(update=physics)
    return Scenario(config.model_copy(update=update))


def release_copy(tmp_path: Path, folder: str) -> Path:
    """A writable copy of a shipped data release (to corrupt in bad-input tests)."""
    target = tmp_path / folder
    shutil.copytree(str(resources.files("cevns").joinpath("data", folder)), target)
    return target


def fitted_signal(scenario_name: str, channel: str, options: dict | None = None) -> np.ndarray:
    """Posterior draws of the summed CEvNS count of one channel (quick-look fit of the observed data, seed 1), with
    ``options`` merged into the scenario's first data set."""
    from cevns.app.validation import signal_counts

    model = cevns.Model.from_scenario(scenario_with_options(scenario_name, options) if options else Scenario.load(scenario_name))
    return signal_counts(model, cevns.fit(model, model.observed(), fast=True, verbose=False, seed=1), channel)


def signal_floor(scenario_name: str, channel: str, options: dict | None = None) -> tuple[float, float]:
    """(fitted CEvNS count at the maximum likelihood, its 1-sigma half-width with every other parameter fixed there):
    the statistical floor of the release (:func:`cevns.app.validation.release_floor`), in events."""
    from cevns.app.validation import release_floor

    scenario = scenario_with_options(scenario_name, options) if options else Scenario.load(scenario_name)
    out = release_floor(cevns.Model.from_scenario(scenario), channel)
    return out["mle_count"], out["floor"]
