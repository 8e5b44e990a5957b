"""`cevns.load_fit` trusts only what the package wrote: the checksums of FitResult.save (checksums.json) or of a
finished run (complete.json) must match the files; `verify=False` reads a folder as it is, for inspection."""

import json

import pytest

import cevns
from cevns.errors import ConfigError


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = cevns.Model.from_scenario(cevns.Scenario.load("coherent-2017-2p"))
    fit = cevns.fit(model, model.observed(), fast=True, seed=3, verbose=False)
    folder = tmp_path_factory.mktemp("fit") / "f"
    fit.save(folder)
    return fit, folder


def test_a_saved_fit_loads_and_verifies(saved):
    fit, folder = saved
    loaded = cevns.load_fit(folder)
    assert loaded.log_evidence == fit.log_evidence
    assert set(json.loads((folder / "checksums.json").read_text())["files"]) >= {"summary.json", "samples.csv",
                                                                                  "weighted_samples.npz"}


@pytest.mark.parametrize("edit", ["summary", "samples", "no-record", "corrupt-record"])
def test_an_edited_or_unrecorded_folder_is_refused_unless_asked(saved, tmp_path, edit):
    import shutil

    fit, source = saved
    folder = tmp_path / "copy"
    shutil.copytree(source, folder)
    if edit == "summary":
        summary = json.loads((folder / "summary.json").read_text())
        summary["log_evidence"] = 99.0
        (folder / "summary.json").write_text(json.dumps(summary))
    elif edit == "samples":
        with open(folder / "samples.csv", "a") as handle:
            handle.write(",".join(["0.1"] * len((folder / "samples.csv").read_text().splitlines()[0].split(","))) + "\n")
    elif edit == "no-record":
        (folder / "checksums.json").unlink()
    else:
        (folder / "checksums.json").write_text("{not json")
    with pytest.raises(ConfigError, match="holds no fit that verifies") as info:
        cevns.load_fit(folder)
    assert "\n" not in str(info.value) and "verify=False" in str(info.value)
    loaded = cevns.load_fit(folder, verify=False)  # inspection: read as it is
    assert loaded.log_evidence == (99.0 if edit == "summary" else fit.log_evidence)


def test_a_finished_run_is_reused_without_building_the_model(tmp_path, monkeypatch):
    """cevns reproduce asks run_fit for every fit it draws: a verified finished run of the same settings is read back
    without building the model (1-3 s of response kernels per release); anything else builds it and decides as before."""
    from cevns.app import runs

    scenario = cevns.Scenario.load("coherent-2017-2p")
    settings = runs.FitSettings(seed=3, fast=True, resume=True, verbose=False)
    first = runs.run_fit(scenario, tmp_path / "f", settings)

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("the model was built")

    monkeypatch.setattr(runs.Model, "from_scenario", refuse)
    again = runs.run_fit(scenario, tmp_path / "f", settings)
    assert again.log_evidence == first.log_evidence
    for other in (runs.FitSettings(seed=4, fast=True, resume=True, verbose=False),  # other settings
                  runs.FitSettings(seed=3, fast=True, resume=False, verbose=False)):  # not asked to reuse
        with pytest.raises(AssertionError, match="the model was built"):
            runs.run_fit(scenario, tmp_path / "f", other)
    (tmp_path / "f" / "summary.json").write_text((tmp_path / "f" / "summary.json").read_text() + " ")  # edited
    with pytest.raises(AssertionError, match="the model was built"):
        runs.run_fit(scenario, tmp_path / "f", settings)
