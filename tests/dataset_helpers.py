"""Helpers shared by the data-release tests (tests/test_datasets*.py)."""

import shutil
from importlib import resources
from pathlib import Path

from cevns.config import load_config
from cevns.scenario import Scenario


def scenario_with_options(name: str, options: dict, index: int = 0) -> Scenario:
    """A built-in scenario with extra options merged into its data set number ``index``."""
    config = load_config(name)
    datasets = list(config.datasets)
    datasets[index] = datasets[index].model_copy(update={"options": {**datasets[index].options, **options}})
    return Scenario(config.model_copy(update={"datasets": datasets}))


def release_copy(tmp_path: Path, folder: str) -> Path:
    """A writable copy of a shipped data release (to corrupt in bad-input tests)."""
    target = tmp_path / folder
    shutil.copytree(str(resources.files("cevns").joinpath("data", folder)), target)
    return target
