"""Measured data releases (cevns.builders.releases): channels, validation against the collaborations' numbers, bad input.

References: COHERENT 2017 CsI (Akimov et al., Science 357 (2017) 1123; release arXiv:1804.09459):
SM expectation 173 +- 48 events, fitted 134 +- 22 in the two-dimensional (PE x time) fit.
Dresden-II (Colaresi et al., PRL 129 (2022) 211802), files of probable (not certain) provenance.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

import cevns
from cevns.spec.config import load_config
from cevns.builders.releases import RELEASES, build_channels
from cevns.errors import ConfigError
from cevns.experiment import N_LINEAR
from cevns.builders.scenario import Scenario
from dataset_helpers import fitted_signal as _fitted_signal
from dataset_helpers import release_copy as _release_copy
from dataset_helpers import scenario_with_options as _scenario_with_options




@pytest.fixture(scope="module")
def csi2017():
    scenario = Scenario.load("coherent-csi-2017-data")
    return scenario, scenario.channels_at(None)


def test_releases_listed():
    assert {"coherent-csi-2017", "dresden-ii-2022"} <= set(RELEASES)
    assert all(isinstance(v, str) and v for v in RELEASES.values())


def test_csi2017_channels_and_observed_counts(csi2017):
    _, (signal, anti) = csi2017
    assert signal.name == "CsI-2017" and anti.name == "CsI-2017/AC"
    n = 1 + N_LINEAR
    assert signal.quadratic_forms.shape == (12 * 24, 3, n, n)  # 6-30 PE x 0-12 us
    assert anti.quadratic_forms.shape[1] == 0
    # the release's beam-on counts in 6-30 PE, 0-12 us (sums of the files' rows)
    assert signal.observed.sum() == 855 and anti.observed.sum() == 703
    # the steady-state template is normalised to the anti-coincidence counts and shared by name
    assert signal.backgrounds["steady_state"].sum() == pytest.approx(703.0)
    assert {s.name for s in signal.systematics} >= {"ss_CsI-2017", "mu_cevns"}


def test_csi2017_sm_prediction_matches_collaboration(csi2017):
    """The package's SM count in the window vs the collaboration's 173 +- 48 (Akimov et al. 2017)."""
    _, (signal, _) = csi2017
    sm = signal.quadratic_forms[:, :, 0, 0].sum()
    assert sm == pytest.approx(173.0, rel=0.05)
    # prompt nu_mu only in the first 1.5 us (the release's prompt arrival-time PDF)
    prompt = signal.quadratic_forms[:, 0, 0, 0].reshape(12, 24)
    assert prompt[:, 3:].sum() == 0.0


def test_csi2017_prompt_neutrons_from_release(csi2017):
    """Prompt neutrons: the release's PE spectrum per GWhr x 7.47594 GWhr x acceptance, 6-30 PE, all times."""
    from cevns.builders.releases.coherent_csi_2017 import acceptance

    _, (signal, _) = csi2017
    table = np.loadtxt(str(resources.files("cevns").joinpath("data", "coherent-2017", "promptPDF.txt")), delimiter=",")
    window = (table[:, 0] > 6) & (table[:, 0] < 30)
    expected = np.sum(table[window, 1] * 7.47594 * acceptance(table[window, 0], 0.6655, 0.4942, 10.8507))
    time_pdf_total = np.loadtxt(str(resources.files("cevns").joinpath("data", "coherent-2017", "arrivalTimePDF_promptNeutrons.txt")),
                                delimiter=",")[:, 1].sum()
    assert signal.backgrounds["prompt_neutrons"].sum() == pytest.approx(expected * time_pdf_total, rel=1e-9)


def test_csi2017_signal_scales_with_flux_and_quadratic_in_coupling():
    base = cevns.Model.from_scenario(Scenario.load("coherent-csi-2017-data-2p"))
    data = base.observed()
    assert data.shape == (576,)
    sm = base.expected(base.init)["CsI-2017"]
    hi = base.expected(base.pars(eps_u_mumu=0.2))["CsI-2017"]
    # the prompt nu_mu signal changes by the squared-charge ratio, the nu_e component not at all
    assert np.allclose(hi["delayed_nu_e"], sm["delayed_nu_e"])
    assert not np.allclose(hi["prompt_nu_mu"], sm["prompt_nu_mu"])


def test_measured_combined_laplace_finite_at_prior_draws():
    """Every prior draw of the 4-coupling fit gives a finite marginal likelihood (the Laplace path)."""
    model = cevns.Model.from_scenario(Scenario.load("measured-combined-4p"))
    free = model.prior_transform(np.random.default_rng(3).uniform(size=(64, len(model.free_indices))), "marginalized")
    values = model.log_marginal_likelihood(free, model.observed())
    assert np.all(np.isfinite(values))


def test_dresden_channel():
    scenario = Scenario.load("dresden-ii")
    (channel,) = scenario.channels_at(None)
    assert channel.quadratic_forms.shape == (130, 1, 1 + N_LINEAR, 1 + N_LINEAR)
    assert set(channel.backgrounds) == {"flat", "epithermal", "l1_peaks", "m_shell"}
    assert np.all(channel.observed > 0)
    # the CEvNS excess sits at the low end: most of the SM signal is below 0.4 keVee
    sm = channel.quadratic_forms[:, 0, 0, 0]
    assert sm[:20].sum() > 0.8 * sm.sum()


# --- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines[:-1] + [lines[-1].rsplit(",", 1)[0]], r"row 600: 2 columns, expected 3"),
    (lambda lines: lines[:10] + [lines[10].replace("1.0,", "2.0,", 1)] + lines[11:], r"row 11: PE bin centre is 2"),
    (lambda lines: lines[:5] + ["1.0, 2.75, -3"] + lines[6:], r"row 6: column 3 is negative"),
    (lambda lines: lines[:5] + ["1.0, 2.75, nan"] + lines[6:], r"row 6: nan is not a finite number"),
    (lambda lines: lines[:300], r"300 data rows, expected 600"),
    (lambda lines: lines[:3] + ["1.0, abc, 3"] + lines[4:], r"row 4: not numbers"),
])
def test_csi2017_bad_data_file(tmp_path, edit, message):
    folder = _release_copy(tmp_path, "coherent-2017")
    path = folder / "data_coincidence_beamOn.txt"
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    with pytest.raises(ConfigError, match=message) as err:
        _scenario_with_options("coherent-csi-2017-data", {"data_dir": str(folder)}).channels_at(None)
    text = str(err.value)
    assert "data_coincidence_beamOn.txt" in text and "\n" not in text


def test_dresden_bad_data_file(tmp_path):
    folder = _release_copy(tmp_path, "dresden-ii-2022")
    path = folder / "data_release.txt"
    lines = path.read_text().splitlines()
    lines[7] = "0.27500 67.899 0.0 15.744 3.1650"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"data_release.txt, data row 8: the reactor-ON error must be > 0"):
        _scenario_with_options("dresden-ii", {"data_dir": str(folder)}).channels_at(None)


@pytest.mark.parametrize("options, message", [
    ({"pe_window": [5.0, 30.0]}, r"options\.pe_window"),
    ({"no_such_option": 1}, r"options\.no_such_option: Extra inputs are not permitted"),
    ({"resolution": "gauss"}, r"options\.resolution"),
    ({"data_dir": "/nonexistent/folder"}, r"options\.data_dir"),
])
def test_csi2017_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        _scenario_with_options("coherent-csi-2017-data", options).channels_at(None)


def test_unknown_release():
    config = load_config("coherent-csi-2017-data")
    dataset = config.datasets[0].model_copy(update={"release": "coherent-csi-2030"})
    with pytest.raises(ConfigError, match="unknown data release 'coherent-csi-2030'"):
        build_channels(dataset, Scenario(config), Scenario(config).physics)


def test_reactor_release_needs_reactor_source():
    config = load_config("measured-combined")
    datasets = [config.datasets[1].model_copy(update={"source": "sns"})]
    with pytest.raises(ConfigError, match="needs a reactor source"):
        Scenario(config.model_copy(update={"datasets": datasets})).channels_at(None)


# --- validation fits ---------------------------------------------------------------------
@pytest.mark.slow
def test_csi2017_fitted_cevns_counts_match_collaboration():
    """Fitted CEvNS counts vs the collaboration's 134 +- 22 (Akimov et al. 2017, PE x time fit). The width within 20% of
    22 (the release's floor is 21.5). The centre (141.0) is 0.32 sigma high, outside the 0.2-sigma goal (the xfail
    test below): this test keeps the 0.5 sigma it had before."""
    counts = _fitted_signal("coherent-csi-2017-data", "CsI-2017")
    assert abs(np.mean(counts) - 134.0) < 0.5 * 22.0
    assert np.std(counts) == pytest.approx(22.0, rel=0.2)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="not met (docs/data.md, CsI 2017): 141.0 is 0.32 sigma from 134; the steady-state "
                   "template and window choices span 126-157 and the release does not say which the collaboration used")
def test_csi2017_centre_meets_the_validation_goal():
    counts = _fitted_signal("coherent-csi-2017-data", "CsI-2017")
    assert abs(np.mean(counts) - 134.0) < 0.2 * 22.0


@pytest.mark.slow
def test_dresden_fitted_normalisation_near_sm():
    """Dresden-II (provenance probable, not certain): the fitted CEvNS normalisation is within 2 sigma of the SM."""
    model = cevns.Model.from_scenario(Scenario.load("dresden-ii"))
    result = cevns.fit(model, model.observed(), fast=True, verbose=False, seed=1)
    mu = result.equal_weight["mu_cevns"]
    assert abs(np.mean(mu) - 1.0) < 2.0 * np.std(mu)
    assert np.mean(mu) > 2.0 * np.std(mu)  # a CEvNS signal is seen


# --- germanium quenching -----------------------------------------------------------------------------

def test_lindhard_quenching_closed_form():
    """Lindhard (Lewin & Smith 1996, sec. 6): k(Ge) = 0.133 32^(2/3) / sqrt(72.63) = 0.1573 (the k = 0.157 quoted for
    germanium); QF at 10 keVnr with k = 0.157: 0.2341 (G4CMP's independent Lewin-Smith implementation gives the same);
    the limits 0 (T -> 0) and 1 (T -> infinity)."""
    from cevns.builders.releases.dresden_ii import germanium_z_a
    from cevns.physics.quenching import lindhard_k, lindhard_quenching

    z, a = germanium_z_a()
    k = lindhard_k(z, a)
    assert (z, k) == (32, pytest.approx(0.1573, abs=5e-5))
    eps = 11.5 * 32 ** (-7 / 3) * 10.0
    g = 3 * eps**0.15 + 0.7 * eps**0.6 + eps
    assert lindhard_quenching(10.0, z, k) == pytest.approx(k * g / (1 + k * g), rel=1e-12)
    assert lindhard_quenching(10.0, z, 0.157) == pytest.approx(0.2340, abs=2e-4)
    assert lindhard_quenching(0.0, z, k) == 0.0 and lindhard_quenching(1e9, z, k) > 0.999
    assert np.all(np.diff(lindhard_quenching(np.linspace(0.01, 100, 200), z, k)) > 0)
    with pytest.raises(ValueError, match="k must be > 0"):
        lindhard_quenching(1.0, z, 0.0)


def test_dresden_quenching_models_and_the_shared_nuisance(tmp_path):
    """Each quenching model gives its own signal (iron-filter > YBe > Lindhard below 1.5 keVee, as the
    Dresden-II papers show); the Lindhard k nuisance is the change of the forms between k and k +- sigma, and two
    germanium data sets naming it share one parameter."""
    counts = {}
    for model in ("iron-filter", "ybe", "lindhard"):
        (channel,) = _scenario_with_options("dresden-ii", {"quenching": model}).channels_at(None)
        counts[model] = channel.quadratic_forms[:, :, 0, 0].sum()
    assert counts["iron-filter"] > counts["ybe"] > counts["lindhard"] > 0
    (nominal,) = _scenario_with_options("dresden-ii", {"quenching": "lindhard", "lindhard_k_uncertainty": 0.004}).channels_at(None)
    (up,) = _scenario_with_options("dresden-ii", {"quenching": "lindhard", "lindhard_k": 0.1573 + 0.004}).channels_at(None)
    (shape,) = [s for s in nominal.systematics if s.name == "quenching_k_Ge" and s.applies_to == [nominal.component_names[0]]]
    sm, sm_up = nominal.quadratic_forms[:, 0, 0, 0], up.quadratic_forms[:, 0, 0, 0]
    assert np.allclose(np.array(shape.up) * sm, sm_up, rtol=2e-3)  # same recoil grid up to the k of 4 digits
    assert sm_up.sum() > sm.sum()  # a larger k: more ionisation, more events above threshold
    base = load_config("dresden-ii-lindhard")
    second = base.datasets[0].model_copy(update={"name": "Dresden-II-b"})
    model = cevns.Model.from_scenario(Scenario(base.model_copy(update={"datasets": [*base.datasets, second]})))
    assert model.parameter_names.count("quenching_k_Ge") == 1
    assert {"mu_cevns", "quenching_k_Ge"} <= set(model.parameter_names)


@pytest.mark.parametrize("options, message", [
    ({"lindhard_k": 0.2}, "need quenching = 'lindhard'"),
    ({"quenching": "lindhard", "lindhard_k": 0.1, "lindhard_k_uncertainty": 0.2}, "smaller than lindhard_k"),
    ({"quenching": "lindhard", "lindhard_k": -0.1}, "lindhard_k"),
])
def test_dresden_quenching_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        _scenario_with_options("dresden-ii", options).channels_at(None)
