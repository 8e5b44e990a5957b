"""One physics for every channel (issue 21): the measured releases see every [physics] option.

The releases' signal forms are the projections' :meth:`cevns.experiment.Experiment.kernels` folded
by a detector response, so each option is checked here against an independent source:

* recoil level: the forms against :meth:`Experiment.direct_signal`, which integrates the cross
  section with the charge evaluated at every recoil node (no kernels, no Gram matrices);
* the response conserves counts where it keeps every recoil (efficiency one, window wide);
* on every release: the counts move as closed forms say (radiative couplings and a contact Z' by
  the isotopes' charge ratios, a heavy mediator tends to the contact limit within 2 m_N T / m^2, a
  smaller neutron radius raises the counts, mu_nu raises Dresden-II's lowest bins most).
"""

from functools import lru_cache

import numpy as np
import pytest

from cevns import units
from cevns.spec.config import load_config
from cevns.builders.releases.response import gaussian_response, poisson_response, recoil_kernels
from cevns.detectors import Detector, make_target
from cevns.experiment import LINEAR_PARAMETERS, Experiment, PhysicsOptions
from cevns.physics.couplings import sm_vector_charge
from cevns.physics.kinematics import t_recoil_max
from cevns.builders.scenario import Scenario

RNG = np.random.default_rng(21)
ZP, MU = (1 + LINEAR_PARAMETERS.index(n) for n in ("eps_zprime", "mu_nu"))

#: built-in release scenario -> (target formula, a small and a large neutron radius in fm)
RELEASES = {
    "coherent-csi-2021": ("CsI", 4.0, 5.5),
    "coherent-csi-2017-data": ("CsI", 4.0, 5.5),
    "coherent-lar-2020": ("Ar", 3.0, 4.5),
    "dresden-ii": ("Ge", 3.5, 4.5),
}


def _vector(**values: float) -> np.ndarray:
    x = np.zeros(1 + len(LINEAR_PARAMETERS))
    x[0] = 1.0
    for name, value in values.items():
        x[1 + LINEAR_PARAMETERS.index(name)] = value
    return x


@lru_cache(maxsize=None)
def release_forms(scenario: str, **physics) -> np.ndarray:  # noqa: ANN003
    """Signal quadratic forms (n_bins, n_components, P, P) of a release scenario's signal channels, at
    its [physics] with ``physics`` overrides."""
    config = load_config(scenario)
    config = config.model_copy(update={"physics": config.physics.model_copy(update=physics)})
    channels = Scenario(config).channels_at(None)
    return np.concatenate([c.quadratic_forms for c in channels if c.quadratic_forms.shape[1] > 0], axis=0)


def release_counts(scenario: str, x: np.ndarray | None = None, **physics) -> np.ndarray:  # noqa: ANN003
    """Signal counts per bin (summed over components) at the linear vector ``x`` (default SM)."""
    forms = release_forms(scenario, **physics)
    x = _vector() if x is None else x
    return np.einsum("p,jcpq,q->j", x, forms, x)


# --- recoil level: the forms are the projections' physics ------------------------------------------

OPTIONS = [
    PhysicsOptions(),
    PhysicsOptions(neutron_radius_fm=5.1),
    PhysicsOptions(couplings="radiative", sin2_theta_w=0.2312),
    PhysicsOptions(log10_mediator_mass_MeV=1.3),
    PhysicsOptions(neutron_radius_fm=4.4, log10_mediator_mass_MeV=0.7, couplings="radiative"),
]


@pytest.mark.parametrize("scenario, target, t_min, t_max", [
    ("coherent-csi-2021", "CsI", 2.0, 60.0), ("dresden-ii", "Ge", 0.3, 3.0), ("coherent-lar-2020", "Ar", 5.0, 120.0)])
@pytest.mark.parametrize("physics", OPTIONS, ids=lambda p: f"R{p.neutron_radius_fm}-{p.couplings}-m{p.log10_mediator_mass_MeV}")
def test_recoil_forms_equal_direct_integration(scenario, target, t_min, t_max, physics):
    source = Scenario.load(scenario).source(next(iter(load_config(scenario).sources)))
    recoil = recoil_kernels("probe", source, target, t_min, t_max, 12, 3.0, physics)
    experiment = Experiment("probe", source, Detector(make_target(target), t_min, min(t_max, recoil.edges_keV[-1]), 12),
                            3.0, physics)
    for _ in range(3):
        eps = np.concatenate([RNG.uniform(-0.4, 0.4, 12), [RNG.uniform(-0.02, 0.02), RNG.uniform(-0.3, 0.3),
                                                           RNG.uniform(0.0, 20.0)]])
        x = np.concatenate([[1.0], eps])
        from_forms = np.einsum("p,jcpq,q->jc", x, recoil.quadratic_forms, x)
        direct = experiment.direct_signal(eps)
        assert np.max(np.abs(from_forms - direct)) <= 1e-10 * np.max(np.abs(direct))


def test_response_conserves_counts_where_it_keeps_every_recoil():
    source = Scenario.load("coherent-csi-2021").source("sns")
    recoil = recoil_kernels("probe", source, "CsI", 3.0, 50.0, 40, 1.0, PhysicsOptions(neutron_radius_fm=5.0))
    edges = recoil.edges_keV
    # Gaussian smearing of 0.5 keV, observable bins wide enough to hold every tail
    wide = np.linspace(edges[0] - 10.0, edges[-1] + 10.0, 31)
    gauss = gaussian_response(edges, lambda t: t, lambda t: 0.5 + 0.0 * t, wide)
    assert np.allclose(gauss.sum(axis=0), 1.0, atol=1e-12)
    # photoelectron statistics: 2 PE/keV, every count from 0 to far above the largest mean
    pe = poisson_response(edges, lambda t: 2.0 * t, np.arange(0.0, 400.0, 7.0))
    assert np.allclose(pe.sum(axis=0), 1.0, atol=1e-12)
    total = recoil.quadratic_forms.sum(axis=0)
    for response in (gauss, pe):
        folded = recoil.fold(response)
        assert np.max(np.abs(folded.sum(axis=0) - total)) <= 1e-10 * np.max(np.abs(total))
        # a per-component response gives the same
        per_component = np.repeat(response[:, :, None], len(recoil.component_names), axis=2)
        assert np.allclose(recoil.fold(per_component), folded, rtol=1e-12, atol=0.0)


# --- on every release: each option moves the counts as physics says ---------------------------------

def _charge_ratio_band(target: str, charge) -> tuple[float, float]:  # noqa: ANN001
    """min and max over the target's isotopes of charge(z, n)^2 / Q_SM(z, n)^2 (tree, default sin^2)."""
    ratios = [charge(i.z, i.n) ** 2 / sm_vector_charge(i.z, i.n, units.SIN2_THETA_W_LOW_ENERGY) ** 2
              for i in make_target(target).isotopes]
    return min(ratios), max(ratios)


@pytest.mark.parametrize("scenario", RELEASES)
def test_radiative_couplings_move_releases_by_the_isotopes_charge_ratio(scenario):
    target = RELEASES[scenario][0]
    ratio = release_counts(scenario, couplings="radiative").sum() / release_counts(scenario).sum()
    lo, hi = _charge_ratio_band(target, lambda z, n: sm_vector_charge(z, n, units.SIN2_THETA_W_LOW_ENERGY, "radiative"))
    assert lo * (1 - 1e-9) <= ratio <= hi * (1 + 1e-9)
    assert ratio > 1.05  # Q_rad^2 / Q_tree^2 = 1.073-1.077 on CsI, Ge, Ar (docs/physics-extensions.md)


@pytest.mark.parametrize("scenario", RELEASES)
def test_contact_zprime_moves_releases_by_the_isotopes_charge_ratio(scenario):
    # a flavor-universal Z' coupling eps to u and d adds 3 A eps to every flavor's charge
    target, eps = RELEASES[scenario][0], 0.05
    ratio = release_counts(scenario, _vector(eps_zprime=eps)).sum() / release_counts(scenario).sum()
    lo, hi = _charge_ratio_band(
        target, lambda z, n: sm_vector_charge(z, n, units.SIN2_THETA_W_LOW_ENERGY) + 3 * (z + n) * eps)
    assert lo * (1 - 1e-9) <= ratio <= hi * (1 + 1e-9)


@pytest.mark.parametrize("scenario", RELEASES)
def test_light_mediator_differs_from_contact_and_a_heavy_one_tends_to_it(scenario):
    target, eps = RELEASES[scenario][0], 0.2
    x = _vector(eps_zprime=eps)
    contact = release_counts(scenario, x).sum()
    light = release_counts(scenario, x, log10_mediator_mass_MeV=0.0).sum()  # 1 MeV
    assert abs(light / contact - 1.0) > 0.05
    # 10 GeV: 1 - P(T) <= q^2_max / m^2 with q^2_max = 2 m_N T_max over the source's spectrum and the target
    mass_MeV = 1.0e4
    source = Scenario.load(scenario).source(next(iter(load_config(scenario).sources)))
    q2_max = max(2.0 * i.mass_MeV * float(t_recoil_max(c.spectrum.e_max, i.mass_MeV))
                 for c in source.components for i in make_target(target).isotopes)
    heavy = release_counts(scenario, x, log10_mediator_mass_MeV=np.log10(mass_MeV)).sum()
    bound = q2_max / mass_MeV**2
    assert 0.0 < abs(heavy / contact - 1.0) <= 4.0 * bound  # the Z' piece enters the charge squared at most twice
    # the mediator mass acts only on the Z' coupling: the SM point is unchanged
    assert release_counts(scenario, log10_mediator_mass_MeV=0.0).sum() == pytest.approx(release_counts(scenario).sum(), rel=1e-12)


@pytest.mark.parametrize("scenario", RELEASES)
def test_smaller_neutron_radius_raises_release_counts(scenario):
    _, small, large = RELEASES[scenario]
    base = release_counts(scenario).sum()
    at_small = release_counts(scenario, neutron_radius_fm=small).sum()
    at_large = release_counts(scenario, neutron_radius_fm=large).sum()
    assert at_small > at_large
    # the accelerator releases reach q R ~ 1, where the radius matters at the 10% level
    if not scenario.startswith("dresden"):
        assert at_small / at_large > 1.1
        assert at_small > base > at_large


def test_magnetic_moment_raises_dresden_low_bins():
    sm = release_counts("dresden-ii")
    with_mu = release_counts("dresden-ii", _vector(mu_nu=5.0))
    seen = sm > 0  # the top bins lie above the reactor end-point (no recoil reaches them)
    assert seen[:5].all()
    gain = with_mu[seen] / sm[seen] - 1.0
    assert np.all(gain > 0)
    assert np.allclose(with_mu[~seen], 0.0)
    # the 1/T of the EM cross section: the lowest bin gains more than the SM peak (near the end-point the
    # ratio rises again, where the weak rate vanishes as 1 - T/T_max and the EM one does not)
    peak = int(np.argmax(sm[seen]))
    assert gain[0] > 1.3 * gain[peak]
    # the term is exactly quadratic in mu_nu: H[mu, mu] mu^2
    forms = release_forms("dresden-ii")
    assert np.allclose(with_mu - sm, 25.0 * forms[:, :, MU, MU].sum(axis=1), rtol=1e-10)
