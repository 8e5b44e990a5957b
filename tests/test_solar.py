"""The solar source (cevns.sources.solar) against closed forms: unit-normalised spectra, the MSW-LMA
survival probability in its vacuum, resonance and matter limits, the matter potential, the flavour split
and the flux bookkeeping; the scenario schema's solar source; NSI acting on the tau component."""

import numpy as np
import pytest

from cevns import units
from cevns.builders.scenario import build_source, source_flux_nuisances
from cevns.detectors import Detector, make_target
from cevns.errors import ConfigError
from cevns.experiment import Experiment, PhysicsOptions
from cevns.physics.flavors import Flavor
from cevns.sources.solar import (FLUX_MODELS, OscillationParameters, flavour_fractions, flavour_probabilities,
                                 matter_potential_eV, solar_source, solar_spectrum, spectrum_table,
                                 survival_probability)
from cevns.spec.config import validate_config
from cevns.spec.vocabulary import NSI_NAMES, SOLAR_BRANCHES, SOLAR_FLUX_MODELS

OSC = OscillationParameters()
C13 = 1.0 - OSC.sin2_theta13


@pytest.mark.parametrize("branch", SOLAR_BRANCHES)
def test_tabulated_spectra_are_unit_normalised(branch):
    energy, density = spectrum_table(branch)
    assert np.trapezoid(density, energy) == pytest.approx(1.0, abs=2e-5)  # the table's own normalisation
    spectrum = solar_spectrum(branch)
    assert spectrum.integral == pytest.approx(np.trapezoid(density, energy), rel=1e-5)  # quadrature vs trapezoid
    nodes, weights = spectrum.quadrature(np.array([0.0, 5.0]))
    assert np.sum(weights[0]) == pytest.approx(1.0, rel=1e-12)  # normalised pdf
    tail = np.trapezoid(np.where(energy >= 5.0, density, 0.0), energy) / np.trapezoid(density, energy)
    assert np.sum(weights[1]) == pytest.approx(tail, rel=2e-3)


def test_end_points():
    # 8B end point about 16.4 MeV (Winter et al. 2006), hep 18.8 MeV (REFERENCE.md)
    assert spectrum_table("8B")[0][-1] == pytest.approx(16.4, abs=0.1)
    assert spectrum_table("hep")[0][-1] == pytest.approx(18.8, abs=0.1)


def test_matter_potential_closed_form():
    # V_CC = sqrt(2) G_F n_e = 7.63e-14 eV x n_e / (N_A cm^-3) (e.g. PDG Review "Neutrino mixing", matter effects)
    assert matter_potential_eV(1.0) == pytest.approx(7.63e-14, rel=1e-3)
    assert matter_potential_eV(100.0) == pytest.approx(100.0 * matter_potential_eV(1.0), rel=1e-12)


def test_survival_probability_limits():
    s12 = OSC.sin2_theta12
    sin2_2theta12 = 4.0 * s12 * (1.0 - s12)
    vacuum = C13**2 * (1.0 - 0.5 * sin2_2theta12) + OSC.sin2_theta13**2  # averaged vacuum oscillation
    matter = C13**2 * s12 + OSC.sin2_theta13**2                        # beta >> 1: nu_e leaves as nu_2
    assert survival_probability(1e-4) == pytest.approx(vacuum, rel=1e-4)
    assert survival_probability(1e5) == pytest.approx(matter, rel=1e-4)
    # the known values: about 0.55 below 1 MeV, about 0.3 above 10 MeV
    assert 0.52 < survival_probability(0.3) < 0.57
    assert 0.28 < survival_probability(np.array([10.0, 12.0, 15.0])).max() < 0.33
    assert np.all(np.diff(survival_probability(np.linspace(0.1, 20.0, 200))) < 0)  # monotonic for LMA


def test_survival_probability_at_resonance():
    # beta = cos(2 theta12) makes the matter angle 45 degrees: P2 = 1/2 exactly
    cos2 = 1.0 - 2.0 * OSC.sin2_theta12
    e_res_MeV = cos2 * OSC.dm2_21_eV2 / (2.0 * matter_potential_eV(OSC.electron_density_NA_per_cm3) * C13) * 1e-6
    assert survival_probability(e_res_MeV) == pytest.approx(0.5 * C13**2 + OSC.sin2_theta13**2, rel=1e-10)
    # twice the density halves the resonance energy
    denser = OscillationParameters(electron_density_NA_per_cm3=2.0 * OSC.electron_density_NA_per_cm3)
    assert survival_probability(0.5 * e_res_MeV, denser) == pytest.approx(survival_probability(e_res_MeV), rel=1e-12)


def test_flavour_split():
    energy = np.linspace(0.5, 16.0, 40)
    p = flavour_probabilities(energy)
    assert np.allclose(p[Flavor.NU_E] + p[Flavor.NU_MU] + p[Flavor.NU_TAU], 1.0)
    assert np.allclose(p[Flavor.NU_TAU] / p[Flavor.NU_MU], OSC.sin2_theta23 / (1.0 - OSC.sin2_theta23))
    fractions = flavour_fractions("8B")
    assert sum(fractions.values()) == pytest.approx(1.0, rel=1e-6)
    assert 0.3 < fractions[Flavor.NU_E] < 0.4  # the 8B flux-averaged P_ee (SNO: CC/NC = 0.34)


@pytest.mark.parametrize("model", SOLAR_FLUX_MODELS)
def test_component_fluxes_add_up_to_the_branch_flux(model):
    source = solar_source("sun", model)
    assert [c.name for c in source.components] == [f"{b}_{f}" for b in SOLAR_BRANCHES for f in ("nu_e", "nu_mu", "nu_tau")]
    for branch in SOLAR_BRANCHES:
        flux, sigma = FLUX_MODELS[model][branch]
        parts = [c for c in source.components if c.name.startswith(branch + "_")]
        assert sum(c.flux_cm2_s for c in parts) == pytest.approx(flux, rel=1e-6)
        assert {c.normalization_uncertainty for c in parts} == {sigma}
    assert FLUX_MODELS["B16-GS98"]["8B"] == (5.46e6, 0.12)  # Vinyoles et al. 2017, Table 6
    assert FLUX_MODELS["SNO-NC"]["8B"][0] == 5.25e6        # Aharmim et al., PRC 88 (2013) 025501
    assert tuple(FLUX_MODELS) == SOLAR_FLUX_MODELS


def _solar_config(**fields):
    return validate_config({"name": "s", "sources": {"sun": {"type": "solar", **fields}},
                            "experiments": [{"name": "x", "target": "Xe", "source": "sun", "exposure_kg_day": 1000.0,
                                             "threshold_keV": 0.5, "window_max_keV": 5.0}]})


def test_scenario_schema_and_one_nuisance_per_branch():
    config = _solar_config(flux_model="SNO-NC", branches=["8B"], uncertainties={"8B": 0.05})
    source = build_source("sun", config.sources["sun"])
    assert {c.normalization_uncertainty for c in source.components} == {0.05}
    assert set(source_flux_nuisances(source).values()) == {("norm_sun_8B", 0.05)}
    with pytest.raises(ConfigError, match="flux_model"):
        _solar_config(flux_model="BP2000")
    with pytest.raises(ConfigError, match="branches"):
        _solar_config(branches=["pp"])
    with pytest.raises(ConfigError, match="sin2_theta12"):
        _solar_config(sin2_theta12=1.5)
    with pytest.raises(ConfigError, match="fluxes_cm2_s names"):
        _solar_config(branches=["8B"], fluxes_cm2_s={"hep": 1e4})


def test_tau_coupling_scales_only_the_tau_component():
    # one isotope: the tau component's rate scales as (Q(eps)/Q_SM)^2 with Q = Z g_p + N g_n + eps (2Z + N)
    target = make_target("Xe[132]")
    (iso,) = target.isotopes
    source = solar_source("sun", branches=("8B",))
    experiment = Experiment("x", source, Detector(target, 0.5, 4.0, 4), units.tonne * units.year / units.day,
                            PhysicsOptions(), 8)
    kernels = experiment.kernels()
    eps = np.zeros(len(NSI_NAMES))
    eps[NSI_NAMES.index("eps_u_tautau")] = 0.1
    sm, shifted = kernels.signal(np.zeros(len(NSI_NAMES))), kernels.signal(eps)
    g_p, g_n = 0.5 - 2.0 * PhysicsOptions().sin2_theta_w, -0.5
    q_sm = iso.z * g_p + iso.n * g_n
    ratio = ((q_sm + 0.1 * (2 * iso.z + iso.n)) / q_sm) ** 2
    names = kernels.component_names
    assert shifted[:, names.index("8B_nu_tau")] == pytest.approx(ratio * sm[:, names.index("8B_nu_tau")], rel=1e-10)
    for other in ("8B_nu_e", "8B_nu_mu"):
        assert shifted[:, names.index(other)] == pytest.approx(sm[:, names.index(other)], rel=1e-12)
