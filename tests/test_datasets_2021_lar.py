"""COHERENT CsI 2021 and argon 2020 releases (cevns.builders.releases): channels, physics checks against the
releases' own numbers, bad input, combined scenarios, validation fits (slow).

References: CsI full data set, Akimov et al., PRL 129 (2022) 081801 (arXiv:2110.07730): SM prediction
341 +- 11 (th) +- 42 (exp) events, fitted 306 +- 20. Argon analysis A, Akimov et al., PRL 126 (2021)
012002, release arXiv:2006.12659 (LArParametersAnlA.yaml): CEvNS template 128 (prediction 128 +- 17),
fitted 159 +- 43.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import cevns
from cevns.spec.config import load_config
from cevns.builders.releases import RELEASES
from cevns.builders.releases import coherent_csi_2021 as csi
from cevns.builders.releases import coherent_lar_2020 as lar
from cevns.builders.releases.response import particle_lifetime_us, stopped_pion_time_densities
from cevns.errors import ConfigError
from cevns.experiment import N_LINEAR
from cevns.builders.scenario import Scenario
from dataset_helpers import fitted_signal as _fitted_signal
from dataset_helpers import signal_floor as _signal_floor
from dataset_helpers import release_copy as _release_copy
from dataset_helpers import scenario_with_options as _scenario_with_options




def _data(folder: str, *parts: str) -> Path:
    return Path(str(resources.files("cevns").joinpath("data", folder, *parts)))


@pytest.fixture(scope="module")
def csi2021():
    return Scenario.load("coherent-csi-2021").channels_at(None)


@pytest.fixture(scope="module")
def lar2020():
    """The package's own folding (``signal_shape = "folded"``), without the correction to the release's template."""
    (channel,) = _scenario_with_options("coherent-lar-2020", {"signal_shape": "folded"}).channels_at(None)
    return channel


def test_releases_listed():
    assert {"coherent-csi-2021", "coherent-lar-2020"} <= set(RELEASES)


def test_lifetimes_from_pdg():
    """PDG mean lifetimes (particle package): pi+ 26.033 ns, mu+ 2196.98 ns."""
    assert particle_lifetime_us(211) == pytest.approx(0.026033, rel=1e-4)
    assert particle_lifetime_us(-13) == pytest.approx(2.19698, rel=1e-5)


# --- CsI 2021 ----------------------------------------------------------------------------------
def test_csi2021_channels_and_observed_counts(csi2021):
    signal, anti = csi2021
    assert signal.name == "CsI-2021" and anti.name == "CsI-2021/AC"
    assert signal.quadratic_forms.shape == (9 * 11, 3, 1 + N_LINEAR, 1 + N_LINEAR)
    assert anti.quadratic_forms.shape[1] == 0
    # events with PE < 60 and t < 6 us in the release's coincidence / anti-coincidence lists
    c = np.loadtxt(_data("coherent-csi-2021", "dataBeamOnC.txt"))
    a = np.loadtxt(_data("coherent-csi-2021", "dataBeamOnAC.txt"))
    assert signal.observed.sum() == np.sum((c[:, 0] < 60) & (c[:, 1] < 6)) == 1578
    assert anti.observed.sum() == np.sum((a[:, 0] < 60) & (a[:, 1] < 6)) == 1295
    assert signal.backgrounds["steady_state"].sum() == pytest.approx(1295.0)
    assert {s.name for s in signal.systematics} >= {"ss_CsI-2021", "mu_cevns", "efficiency_CsI-2021",
                                                    "light_response_0_CsI-2021", "light_response_1_CsI-2021"}


def test_csi2021_sm_prediction_matches_collaboration(csi2021):
    """The package's SM count (PE < 60, t < 6 us, all efficiencies) vs 341 +- 11 (th) +- 42 (exp)."""
    signal, _ = csi2021
    assert signal.quadratic_forms[:, :, 0, 0].sum() == pytest.approx(341.0, rel=0.05)
    # the prompt nu_mu arrive within ~1.5 us of the proton pulse: nothing in the 2-6 us bins
    prompt = signal.quadratic_forms[:, 0, 0, 0].reshape(9, 11)
    assert prompt[:, 9:].sum() < 1e-6 * prompt.sum()


def test_csi2021_neutron_backgrounds_from_release(csi2021):
    """BRN / NIN: the release's time spectra (events per 10 ns) x timing efficiency x PE-shape fraction below 60 PE."""
    signal, _ = csi2021
    for key in ("brn", "nin"):
        pe = np.loadtxt(_data("coherent-csi-2021", f"{key}PE.txt"))
        t = np.loadtxt(_data("coherent-csi-2021", f"{key}Trec.txt"))
        in_time = (t[:, 0] > 0) & (t[:, 0] < 6)
        eff = np.where(t[in_time, 0] < 0.52, 1.0, np.exp(-0.0494 * (t[in_time, 0] - 0.52)))
        expected = np.sum(t[in_time, 1] * eff) * pe[pe[:, 0] < 60, 1].sum() / pe[:, 1].sum()
        assert signal.backgrounds[key].sum() == pytest.approx(expected, rel=1e-6)
    # the numbers third-party analyses quote from the paper (18.4 and 5.6, without the timing efficiency)
    assert signal.backgrounds["brn"].sum() == pytest.approx(18.4, rel=0.02)
    assert signal.backgrounds["nin"].sum() == pytest.approx(5.6, rel=0.10)


def test_csi2021_beam_timing_reproduces_release_nin_time_pdf():
    """The NIN of the release are made by delayed nu_e: their time PDF is the delayed-neutrino density of
    a Gaussian pulse (default mean 0.473 us, sigma 0.147 us) with the PDG pi/mu lifetimes."""
    t = np.loadtxt(_data("coherent-csi-2021", "ninTrec.txt"))
    options = csi.CsI2021Options()
    density = stopped_pion_time_densities(t[:, 0], options.beam_mean_us, options.beam_sigma_us)["delayed"]
    model = density / density.sum() * t[:, 1].sum()
    assert np.max(np.abs(model - t[:, 1])) < 0.02 * t[:, 1].max()


def test_csi2021_shape_systematics_are_ratios(csi2021):
    signal, _ = csi2021
    shapes = [s for s in signal.systematics if s.kind == "shape"]
    assert len(shapes) == 3 * 3  # three variants x three flavor components
    for s in shapes:
        assert len(s.up) == len(s.down) == 99 and np.all(np.asarray(s.up) >= 0) and np.all(np.asarray(s.down) >= 0)


def test_csi2021_combined_norm_model():
    signal, _ = _scenario_with_options("coherent-csi-2021", {"systematics_model": "combined-norm"}).channels_at(None)
    (width,) = {v[1] for v in signal.component_nuisances.values()}
    assert 0.10 < width < 0.2  # flux 10% (+) light response (+) efficiency
    assert not [s for s in signal.systematics if s.kind == "shape"]


# --- argon 2020 ---------------------------------------------------------------------------------
def test_lar_parameters_reader():
    p = lar.read_parameters(_data("coherent-lar-2020", "LArParametersAnlA.yaml"))
    assert p["beamExposure"]["value"] == 13.8 and p["distanceToTarget"]["value"] == 27.5
    assert p["larQF"]["parameters"]["b"] == {"value": 0.00078, "units": "(keVnr)^-1", "uncertainty": 0.00009}
    assert p["snsPOTTraceTiming"]["parameters"]["a"]["uncertainty"] == 200.0
    assert p["cevnsBestfitNormalization"]["uncertainty_stat"] == 43.0


def test_lar_scenario_source_matches_release():
    p = lar.read_parameters(_data("coherent-lar-2020", "LArParametersAnlA.yaml"))
    source = load_config("coherent-lar-2020").sources["sns"]
    assert source.protons_on_target == pytest.approx(p["beamExposure"]["value"] * 1e22)
    assert source.distance_m == p["distanceToTarget"]["value"]
    assert source.nu_per_proton == p["neutrinosPerProton"]["value"]
    assert source.normalization_uncertainty == pytest.approx(p["neutrinosPerProton"]["uncertainty"] / p["neutrinosPerProton"]["value"])


def test_lar_channel(lar2020):
    assert lar2020.quadratic_forms.shape == (960, 3, 1 + N_LINEAR, 1 + N_LINEAR)
    assert lar2020.observed.sum() == 3752
    assert {k: round(float(v.sum())) for k, v in lar2020.backgrounds.items()} == {"brn": 497, "delayed_brn": 33, "steady_state": 3152}
    assert lar2020.background_nuisances["brn"][1] == pytest.approx(160 / 497)


def test_lar_sm_prediction_vs_release_template(lar2020):
    """The package's SM argon prediction vs the release's CEvNS template (128 events; docs/data.md explains
    the differences): total within 6%, the three most populated energy bins within 13%, time shape within 0.01."""
    ours = lar2020.quadratic_forms[:, :, 0, 0].sum(axis=1).reshape(lar.SHAPE)
    release = lar.read_release().templates["cevns"]
    assert ours.sum() == pytest.approx(release.sum(), rel=0.06)
    ratio = ours.sum(axis=(1, 2))[:3] / release.sum(axis=(1, 2))[:3]
    assert np.all(np.abs(ratio - 1.0) < 0.13)
    shape_ours, shape_release = ours.sum(axis=(0, 1)) / ours.sum(), release.sum(axis=(0, 1)) / release.sum()
    assert np.max(np.abs(shape_ours - shape_release)) < 0.01
    # F90 given the energy is the release's by construction
    f90 = lambda g: g.sum(axis=2)[0] / g.sum(axis=(1, 2))[0]  # noqa: E731
    assert np.allclose(f90(ours), f90(release))


def test_lar_release_shape_is_the_template_and_keeps_the_physics(lar2020):
    """Default ``signal_shape = "release"``: at the reference physics the SM signal is the release's CEvNS template
    in every bin where the template has counts (128.0 events), the package's folding where it has none; a physics
    option moves each bin by the same factor as it moves the package's own folding (the correction is computed
    once, at the reference physics)."""
    release = lar.read_release().templates["cevns"].ravel()
    (default,) = Scenario.load("coherent-lar-2020").channels_at(None)
    sm = default.quadratic_forms[:, :, 0, 0].sum(axis=1)
    folded_sm = lar2020.quadratic_forms[:, :, 0, 0].sum(axis=1)
    informative = release > lar.TEMPLATE_SILENT_FRACTION * release.sum()
    assert np.allclose(sm[informative], release[informative], rtol=1e-9, atol=0.0)
    assert np.allclose(sm[~informative], folded_sm[~informative], rtol=1e-12, atol=0.0)
    assert sm.sum() == pytest.approx(128.0, abs=0.05)
    # the neutron radius moves both by the same per-bin factor: the ordering and the size of the change stay
    physics = {"neutron_radius_fm": 4.5}
    (folded_r,) = _scenario_with_options("coherent-lar-2020", {"signal_shape": "folded"}, physics).channels_at(None)
    (release_r,) = _scenario_with_options("coherent-lar-2020", {}, physics).channels_at(None)
    per_bin = lambda ch: ch.quadratic_forms[:, :, 0, 0].sum(axis=1)  # noqa: E731
    populated = release > 1e-3 * release.max()
    assert np.allclose(per_bin(release_r)[populated] / sm[populated],
                       per_bin(folded_r)[populated] / folded_sm[populated], rtol=1e-9)
    assert per_bin(release_r).sum() < 0.9 * sm.sum()  # a larger neutron radius lowers the count


def test_lar_release_energy_shape_keeps_the_folded_time_and_flavours(lar2020):
    """``signal_shape = "release-energy"``: the SM energy spectrum is the template's, and inside each energy bin every
    F90 x time bin and every flavour component is the folding's times one number (the flavour split and the
    arrival-time shapes stay the package's)."""
    release = lar.read_release().templates["cevns"]
    (channel,) = _scenario_with_options("coherent-lar-2020", {"signal_shape": "release-energy"}).channels_at(None)
    forms, folded = channel.quadratic_forms, lar2020.quadratic_forms
    energy = forms[:, :, 0, 0].sum(axis=1).reshape(lar.SHAPE).sum(axis=(1, 2))
    t_energy = release.sum(axis=(1, 2))
    informative = t_energy > lar.TEMPLATE_SILENT_FRACTION * release.sum()
    assert np.allclose(energy[informative], t_energy[informative], rtol=1e-9)
    ratio = (forms[:, :, 0, 0] / np.where(folded[:, :, 0, 0] > 0, folded[:, :, 0, 0], np.nan)).reshape(*lar.SHAPE, -1)
    for e in range(lar.SHAPE[0]):
        values = ratio[e][np.isfinite(ratio[e])]
        if values.size:  # energy bins the folding does not reach hold nothing to compare
            assert np.allclose(values, values[0], rtol=1e-12)
    assert np.isfinite(ratio[0]).sum() > 100  # the populated bins were compared


def test_lar_template_correction_keeps_the_folding_where_the_template_is_silent():
    forms = np.zeros((lar.SHAPE[0] * lar.SHAPE[1] * lar.SHAPE[2], 1, 2, 2))
    forms[:2, 0, 0, 0] = [2.0, 4.0]
    forms[2, 0, 0, 0] = 1.0
    template = np.zeros(forms.shape[0])
    template[:2] = [1.0, 1.0]
    r = lar.template_correction(template, forms)
    assert np.allclose(r[:3], [0.5, 0.25, 1.0]) and np.all(r[3:] == 1.0)
    template[5] = 1.0  # counts where the folding has none
    with pytest.raises(ConfigError, match="signal_shape"):
        lar.template_correction(template, forms)


# --- combined -----------------------------------------------------------------------------------
def test_measured_combined_contents():
    model = cevns.Model.from_scenario(Scenario.load("measured-combined-4p"))
    names = set(model.parameter_names)
    # the SNS flux is not shared between the running periods: argon has its own, CsI 2021 (combined-norm
    # in the NSI variants) folds its flux into its signal normalisation
    assert {"norm_sns-lar_flux", "norm_CsI-2021_signal"} <= names and "norm_sns_flux" not in names
    assert not any(n.startswith("mu_cevns") for n in names)  # NSI variants: CEvNS normalisation fixed by the SM
    assert set(model.experiment_bins) == {"CsI-2021", "CsI-2021/AC", "Dresden-II", "LAr-2020"}
    coherent = load_config("measured-combined-coherent-4p")
    assert [d.name for d in coherent.datasets] == ["CsI-2021", "LAr-2020"]
    sm = load_config("measured-combined")
    assert {s.name for d in sm.datasets for s in d.systematics} == {"mu_cevns_csi", "mu_cevns_dresden", "mu_cevns_lar"}


@pytest.mark.parametrize("name", ["coherent-csi-2021-4p", "coherent-lar-2020-2p"])
def test_nsi_variants_have_no_free_normalisation(name):
    model = cevns.Model.from_scenario(Scenario.load(name))
    assert "mu_cevns" not in model.parameter_names


def test_csi2021_laplace_finite_at_prior_draws():
    model = cevns.Model.from_scenario(Scenario.load("coherent-csi-2021-4p"))
    free = model.prior_transform(np.random.default_rng(3).uniform(size=(128, len(model.free_indices))), "marginalized")
    assert np.all(np.isfinite(model.log_marginal_likelihood(free, model.observed())))


# --- bad input ----------------------------------------------------------------------------------
def _corrupted_release_fails(tmp_path, release, file, edit, message):
    """Edit one file of a copy of the release: building its scenario's channels is one ConfigError line."""
    folder = _release_copy(tmp_path, release)
    path = folder / file
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    with pytest.raises(ConfigError, match=message) as err:
        _scenario_with_options(release, {"data_dir": str(folder)}).channels_at(None)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("file, edit, message", [
    ("dataBeamOnC.txt", lambda lines: lines[:10] + ["111.189"] + lines[11:], r"dataBeamOnC.txt, row 11: 1 columns, expected 2"),
    ("dataBeamOnC.txt", lambda lines: lines[:10] + ["nan 2.24"] + lines[11:], r"dataBeamOnC.txt, row 11: nan is not a finite number"),
    ("dataBeamOnAC.txt", lambda lines: lines[:5] + ["-3.0 1.0"] + lines[6:], r"dataBeamOnAC.txt, row 6: column 1 is negative"),
    ("dataBeamOnC.txt", lambda lines: lines[:3] + ["12.0 abc"] + lines[4:], r"dataBeamOnC.txt, row 4: not numbers"),
    ("brnPE.txt", lambda lines: lines[:-1], r"brnPE.txt: 249 data rows, expected 250"),
    ("brnTrec.txt", lambda lines: lines[:20] + ["-0.046 0"] + lines[21:], r"brnTrec.txt, row 21: time bin centre \(us\) is -0.046"),
    ("ninPE.txt", lambda lines: lines[:7] + ["7.5 -0.1"] + lines[8:], r"ninPE.txt, row 8: column 2 is negative"),
    ("effCoefficients.txt", lambda lines: lines[:6] + ["1.32045  0.285979 10.8646"] + lines[7:], r"effCoefficients.txt, row 7: 3 columns"),
])
def test_csi2021_bad_data_file(tmp_path, file, edit, message):
    _corrupted_release_fails(tmp_path, "coherent-csi-2021", file, edit, message)


@pytest.mark.parametrize("file, edit, message", [
    ("datanobkgsub.txt", lambda lines: lines[:4] + ["5 0.525 1.65 -1"] + lines[5:], r"datanobkgsub.txt, row 5: column 4 is negative"),
    ("cevnspdf.txt", lambda lines: lines[:4] + ["5 0.525 1.65 nan"] + lines[5:], r"cevnspdf.txt, row 5: nan is not a finite number"),
    ("bkgpdf.txt", lambda lines: lines[:4] + ["5 0.525 1.75 24.4769"] + lines[5:], r"bkgpdf.txt, row 5: time bin centre \(us\) is 1.75"),
    ("brnpdf.txt", lambda lines: lines[:900], r"brnpdf.txt: 900 data rows, expected 960"),
    ("SystErrors/cevnspdf+1sigF90.txt", lambda lines: lines[:2] + ["5 0.525"] + lines[3:], r"cevnspdf\+1sigF90.txt, row 3: 2 columns"),
    ("LArParametersAnlA.yaml", lambda lines: lines[:2] + ["  value 13.8"] + lines[3:], r"LArParametersAnlA.yaml, row 3: expected 'field: value'"),
])
def test_lar_bad_data_file(tmp_path, file, edit, message):
    _corrupted_release_fails(tmp_path, "coherent-lar-2020", file, edit, message)


@pytest.mark.parametrize("scenario, options, message", [
    ("coherent-csi-2021", {"pe_edges": [0.0, 20.0, 10.0]}, r"options\.pe_edges"),
    ("coherent-csi-2021", {"time_edges_us": [0.0, 8.0]}, r"options\.time_edges_us"),
    ("coherent-csi-2021", {"shape_systematics": ["quenching"]}, r"options\.shape_systematics"),
    ("coherent-lar-2020", {"shape_systematics": ["brn_f90"]}, r"options\.shape_systematics"),
    ("coherent-lar-2020", {"no_such_option": 1}, r"options\.no_such_option"),
])
def test_bad_options(scenario, options, message):
    with pytest.raises(ConfigError, match=message):
        _scenario_with_options(scenario, options).channels_at(None)


# --- validation fits ------------------------------------------------------------------------------


@pytest.mark.slow
def test_csi2021_width_is_the_release_floor_and_the_steady_state():
    """CsI 2021 vs the collaboration's 306 +- 20 (PRL 129 (2022) 081801). The release supports no +-20: its statistical
    floor (every background and nuisance fixed at the maximum likelihood, Asimov, 1 sigma) is 30.0 events, the +-30
    an analysis of the release written without this package found; with the steady state fixed the posterior width
    is the floor (30.5, within 5%), and the default's 33.4 is the floor (+) the anti-coincidence sample's 2.8% on the
    steady state. The validation goals (centre within 0.2 sigma, width within 10% of the floor) sit at the edge: 0.19-0.20
    sigma and 1.09-1.11 times the floor at seed 1 between sampler versions (the Monte-Carlo error of the mean is 0.5
    events, 0.02 sigma), so they are reported in docs/data.md, not asserted."""
    count, floor = _signal_floor("coherent-csi-2021", "CsI-2021")
    assert floor == pytest.approx(30.0, rel=0.1)
    counts = _fitted_signal("coherent-csi-2021", "CsI-2021")
    assert abs(np.mean(counts) - 306.0) < 0.5 * 20.0  # the tolerance this test had before the floor was measured
    assert floor < np.std(counts)
    model = cevns.Model.from_scenario(Scenario.load("coherent-csi-2021"))
    ss = float(np.mean(cevns.fit(model, model.observed(), fast=True, verbose=False, seed=1).equal_weight["ss_CsI-2021"]))
    fixed = _fitted_signal("coherent-csi-2021", "CsI-2021", {"steady_state_range": [ss - 1e-3, ss + 1e-3]})
    assert np.std(fixed) == pytest.approx(floor, rel=0.05)


@pytest.mark.slow
def test_lar_fitted_cevns_counts_match_collaboration():
    """Fitted CEvNS count vs the collaboration's 159 +- 43 (LArParametersAnlA.yaml): the centre within 0.2 sigma
    and the width within 20% (the release's CEvNS template as the signal shape, the default). The release's floor
    (37 events) is below the collaboration's error, so sigma = 43."""
    count, floor = _signal_floor("coherent-lar-2020", "LAr-2020")
    assert floor < 43.0
    counts = _fitted_signal("coherent-lar-2020", "LAr-2020")
    assert abs(np.mean(counts) - 159.0) < 0.2 * 43.0
    assert np.std(counts) == pytest.approx(43.0, rel=0.2)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_free_norm_prior_broad_gaussian_is_integrated_out(tmp_path):
    """[fit] free_norm_prior = "broad-gaussian" (set by coherent-csi-2021-4p): the steady-state normalisation of CsI
    2021 (flat on [0.5, 1.5] with "flat", sampled) becomes N(1, 0.5) and is Laplace-marginalized; the Laplace marginal agrees with the
    importance-sampled exact nuisance integral (a second method) at couplings on and off the SM."""
    from cevns.errors import ConfigError
    from cevns.model import Model
    from cevns.builders.scenario import Scenario

    flat = Model.from_scenario(Scenario.load(_write(tmp_path, "flat.toml", 'base = "coherent-csi-2021-4p"\nname = "f"\n'
                                                    '[fit]\nfree_norm_prior = "flat"\n')))
    assert flat.kinds["ss_CsI-2021"] == "normfactor" and "ss_CsI-2021" in flat.sampled_names("marginalized")
    model = Model.from_scenario(Scenario.load("coherent-csi-2021-4p"))  # the built-in sets "broad-gaussian"
    ss = next(p for p in model.parameters if p.name == "ss_CsI-2021")
    assert model.kinds["ss_CsI-2021"] == "normsys" and ss.center == 1.0 and ss.sigma == 0.5
    assert model.sampled_names("marginalized") == ["eps_u_ee", "eps_d_ee", "eps_u_mumu", "eps_d_mumu"]
    data = model.observed()
    free = np.array([[0.0, 0.0, 0.0, 0.0], [0.1, -0.05, 0.2, 0.0], [-0.3, 0.4, 0.1, -0.2]])
    laplace = model.log_marginal_likelihood(free, data)
    exact, error = model.log_marginal_importance(free, data, np.random.default_rng(5), n_draws=4000)
    assert np.all(np.abs(laplace - exact) < 5 * error + 0.01), (laplace, exact, error)
    # the side-band data pin the normalisation: its conditional posterior is far narrower than the prior
    _, _, hessian = model.conditional_mode(free[:1], data)
    position = list(model.constrained_indices).index(model.parameter_names.index("ss_CsI-2021"))
    assert np.sqrt(np.linalg.inv(-hessian[0])[position, position]) < 0.05 * ss.sigma
    bad = _write(tmp_path, "bad.toml", 'base = "coherent-csi-2021-4p"\nname = "b"\n[[datasets]]\nname = "CsI-2021"\n'
                 'options = { systematics_model = "combined-norm", steady_state_range = [1.1, 2.0] }\n'
                 '[fit]\nfree_norm_prior = "broad-gaussian"\n')
    with pytest.raises(ConfigError, match="free_norm_prior"):
        Model.from_scenario(Scenario.load(bad))


@pytest.mark.parametrize("name", ["measured-combined-4p", "measured-combined-coherent-4p"])
def test_argon_combinations_sample_only_the_couplings(name):
    """The combinations with the argon release integrate their free background normalisations out
    (free_norm_prior = "broad-gaussian"), so the default sampler sees the 4 couplings."""
    from cevns.inference.fitting import default_sampler_settings

    model = cevns.Model.from_scenario(Scenario.load(name))
    names = model.sampled_names("marginalized")
    assert names == ["eps_u_ee", "eps_d_ee", "eps_u_mumu", "eps_d_mumu"]
    assert default_sampler_settings(len(names), False, False)["sampler"] == "smc"
