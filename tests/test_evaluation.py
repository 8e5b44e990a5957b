"""The compiled evaluation plan (cevns.model.evaluation) against the sample-by-sample reference path."""

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from cevns.spec.config import builtin_scenarios
from cevns.model import Model
from cevns.model.evaluation import HistosysFloor
from cevns.model.parameters import histosys_delta
from cevns.builders.scenario import Scenario


def _points(model: Model, n: int, seed: int, widen: float = 1.0) -> np.ndarray:
    """Prior draws (sampled mode); ``widen`` > 1 stretches the constrained parameters about their centers
    (shape nuisances far beyond +-1 sigma, where the histosys floor and negative normalisations act)."""
    pars = model.prior_transform(np.random.default_rng(seed).uniform(size=(n, len(model.parameters))), "sampled")
    idx = model.constrained_indices
    pars[:, idx] = model.centers[idx] + widen * (pars[:, idx] - model.centers[idx])
    return pars


def _assert_plan_matches_reference(model: Model, pars: np.ndarray, data: np.ndarray) -> None:
    reference_lam = model._expected_by_sample(pars)
    np.testing.assert_allclose(model.expected_counts(pars), reference_lam, rtol=1e-10, atol=1e-12 * np.max(np.abs(reference_lam)))
    reference = model._poisson(reference_lam, data)
    plan = model.log_likelihood(pars, data)
    finite = np.isfinite(reference)
    assert np.array_equal(finite, np.isfinite(plan))
    assert np.all(np.abs(plan[finite] - reference[finite]) <= 1e-10 * np.maximum(1.0, np.abs(reference[finite])))


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_plan_equals_sample_by_sample_on_every_builtin_scenario(name):
    model = Model.from_scenario(Scenario.load(name))
    if model.physics_grids:  # per-point coefficients: the plan does not apply, the reference path runs
        assert model.plan is None
        return
    assert model.plan is not None
    data = model.observed() if Scenario.load(name).config.fit.data == "observed" else model.asimov()
    for widen in (1.0, 4.0):
        _assert_plan_matches_reference(model, _points(model, 300, seed=3, widen=widen), data)


def test_plan_with_staterror_lognormal_and_per_point_data():
    from test_model import _scenario, _with_systematics

    model = Model.from_scenario(_scenario("future-combined", _with_systematics))
    kinds = set(model.kinds.values())
    assert {"histosys", "staterror", "lognormsys", "normsys"} <= kinds
    pars = _points(model, 500, seed=4, widen=3.0)
    data = model.toy(model.init, np.random.default_rng(1), n=500)  # one data set per point
    _assert_plan_matches_reference(model, pars, data)


def test_histosys_floor_closed_form():
    # bin 0: u = -0.5 reaches zero at alpha = 2 (1 + 2 u = 0); bin 1: d = 0.25 at alpha = -4 (1 - 4 d = 0);
    # bin 2: up = down = nominal, never negative; bin 3: the up template vanishes (u = -1): zero at alpha = 1
    u, d = np.array([-0.5, 0.1, 0.0, -1.0]), np.array([-0.2, 0.25, 0.0, 1.0])
    floor = HistosysFloor.of(u, d)
    assert list(floor.inside) == [3]
    assert floor.first_up == pytest.approx(1.0) and floor.first_down == pytest.approx(-1.0)  # bin 3 both ways
    assert HistosysFloor.of(u[:3], d[:3]).first_up == pytest.approx(2.0)     # without bin 3: bin 0 at alpha = 2
    assert HistosysFloor.of(u[:3], d[:3]).first_down == pytest.approx(-4.0)  # and bin 1 at alpha = -4
    assert HistosysFloor.of(u[:3], d[:3]).inside.size == 0
    factor = 1.0 + histosys_delta(np.array([[2.0], [-4.0], [1.0]]), u, d)
    assert factor[0, 0] == pytest.approx(0.0, abs=1e-15) and factor[1, 1] == pytest.approx(0.0, abs=1e-15)
    assert factor[2, 3] == pytest.approx(0.0, abs=1e-15)


def test_histosys_floor_apply_on_dense_alpha_ranges_of_random_templates():
    rng = np.random.default_rng(7)
    for _ in range(200):
        u, d = rng.uniform(-1.0, 2.0, 20), rng.uniform(-2.0, 1.0, 20)
        low, high = np.sort(rng.uniform(-6.0, 6.0, 2))
        alpha = np.linspace(low, high, 3001)
        factor = 1.0 + histosys_delta(alpha[:, None], u, d)
        floored = factor.copy()
        HistosysFloor.of(u, d).apply(floored, alpha, low, high, bool(np.any(np.abs(alpha) <= 1.0)))
        assert np.array_equal(floored, np.maximum(factor, 0.0))


def test_workspace_is_per_thread_and_not_pickled():
    model = Model.from_scenario(Scenario.load("coherent-lar-2020-4p"))
    data = model.observed()
    pars = [_points(model, n, seed=n) for n in (50, 333, 1000, 7)]
    serial = [model.log_likelihood(p, data) for p in pars]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            threaded = list(pool.map(lambda p: model.log_likelihood(p, data), pars))
            for a, b in zip(serial, threaded, strict=True):
                assert np.array_equal(a, b)
    copy = pickle.loads(pickle.dumps(model))
    assert np.array_equal(copy.log_likelihood(pars[0], data), serial[0])


def test_laplace_splits_into_independent_parts_and_agrees_with_the_joint_integral():
    """measured-combined-4p: CsI 2021 (with its anti-coincidence side band), Dresden-II and the argon release share
    no nuisance, so the Laplace integral factorises; the split and joint Newton iterations agree."""
    model = Model.from_scenario(Scenario.load("measured-combined-4p"))
    parts = model.laplace_components()
    assert [sorted(sub.experiment_bins) for _, sub in parts] == [["CsI-2021", "CsI-2021/AC"], ["Dresden-II"], ["LAr-2020"]]
    assert sorted(np.concatenate([bins for bins, _ in parts])) == list(range(model.n_bins))
    assert sorted(int(i) for _, sub in parts for i in sub.constrained_indices) == sorted(model.constrained_indices)
    data = model.observed()
    rng = np.random.default_rng(2)
    free = np.vstack([np.zeros((1, 4)), rng.uniform(-0.3, 0.3, (20, 4)), rng.uniform(-1.5, 1.5, (20, 4))])
    split = model.log_marginal_likelihood(free, data)
    model.split_laplace = False
    joint = model.log_marginal_likelihood(free, data)
    assert np.max(np.abs(split - joint)) < 1e-4
    # linear models keep the joint iteration (unchanged numbers for the paper's scenarios)
    assert Model.from_scenario(Scenario.load("future-combined")).laplace_components() is None


def test_laplace_tolerances_are_converged_on_the_argon_release(monkeypatch):
    """The Newton stopping rule (step or predicted gain below 1e-10) against a 100-iteration, 1e-13 reference."""
    import cevns.model.laplace as module

    model = Model.from_scenario(Scenario.load("coherent-lar-2020-4p"))
    data = model.observed()
    free = np.random.default_rng(3).uniform(-1.5, 1.5, (64, 4))
    default = model.log_marginal_likelihood(free, data)
    monkeypatch.setattr(module, "DECREMENT_TOLERANCE", 0.0)
    monkeypatch.setattr(module, "NEWTON_TOLERANCE", 1e-13)
    monkeypatch.setattr(module, "NONLINEAR_NEWTON_ITERATIONS", 100)
    reference = model.log_marginal_likelihood(free, data)
    assert np.max(np.abs(default - reference)) < 1e-4


def test_histosys_floor_apply_equals_the_full_floor():
    rng = np.random.default_rng(8)
    for _ in range(100):
        u, d = rng.uniform(-1.0, 2.0, 30), rng.uniform(-2.0, 1.0, 30)
        alpha = rng.normal(0.0, rng.choice([0.3, 1.0, 3.0]), 50)
        factor = 1.0 + histosys_delta(alpha[:, None], u, d)
        floored = factor.copy()
        HistosysFloor.of(u, d).apply(floored, alpha, alpha.min(), alpha.max(), bool(np.any(np.abs(alpha) <= 1.0)))
        assert np.array_equal(floored, np.maximum(factor, 0.0))


def test_auxiliary_data_reach_every_part_of_the_laplace_split():
    """A toy's auxiliary measurements are data: the split Laplace integral (each part reads its own bins and
    the centres of its own nuisances) equals the joint one, and differs from the nominal-centre value."""
    from cevns.inference.frequentist import draw_toy

    model = Model.from_scenario(Scenario.load("measured-combined-2p"))
    free = model.prior_transform(np.random.default_rng(0).uniform(size=(8, model.free_indices.size)), "marginalized")
    model.log_marginal_likelihood(free, model.observed())  # builds and caches the split
    assert model.laplace_components() is not None
    data = draw_toy(model, model.init, np.random.default_rng(1), auxiliary=True)
    split = model.log_marginal_likelihood(free, data)
    nominal = model.log_marginal_likelihood(free, data[: model.n_bins])
    model.split_laplace = False
    assert np.max(np.abs(split - model.log_marginal_likelihood(free, data))) < 1e-4
    assert np.max(np.abs(split - nominal)) > 1e-2


def test_expected_counts_in_blocks_and_on_no_points():
    model = Model.from_scenario(Scenario.load("coherent-lar-2020-4p"))
    pars = _points(model, 3000, seed=9)
    np.testing.assert_allclose(model.expected_counts(pars), model._expected_by_sample(pars), rtol=1e-10, atol=1e-12)
    work = model.plan._local.work  # buffers sized by the largest block, not by the 3000 points
    assert work[0] <= model._chunk_points()
    assert model.expected_counts(np.zeros((0, len(model.parameters)))).shape == (0, model.n_bins)
    assert model.log_likelihood(np.zeros((0, len(model.parameters))), model.observed()).shape == (0,)


def test_a_modifier_kind_the_plan_does_not_know_takes_the_reference_path(monkeypatch):
    """A kind added to the registry (here: a per-point factor 2 * p) is evaluated through the registry by the
    sample-by-sample path; the compiled plan steps aside instead of treating it as a plain parameter."""
    import dataclasses

    from cevns.model.modifiers import MODIFIERS
    from cevns.model.modifiers.normsys import NormSys  # the default kind: factor = parameter

    class Doubled(NormSys):
        name = "doubled"

        @staticmethod
        def factor(m, pars, n_bins):  # noqa: ARG004
            return 2.0 * pars[:, m.index : m.index + 1]

    monkeypatch.setitem(MODIFIERS, "doubled", Doubled())
    base = Model.from_scenario(Scenario.load("future-combined"))
    samples = [dataclasses.replace(s, modifiers=[dataclasses.replace(m, kind="doubled") if m.kind == "normsys" else m
                                                 for m in s.modifiers]) for s in base.samples]
    changed = Model(base.parameters, samples, base.coefficients, base.coupling_indices, base.bin_labels, base.experiment_bins,
                    None, name="doubled")
    assert changed.plan is None and base.plan is not None
    pars = base.init[None]
    n_scaled = [sum(m.kind == "normsys" for m in s.modifiers) for s in base.samples]
    expected_base, expected_changed = base.expected(pars), changed.expected(pars)
    for sample, n in zip(base.samples, n_scaled, strict=True):
        assert np.allclose(expected_changed[sample.experiment][sample.component],
                           2.0**n * expected_base[sample.experiment][sample.component], rtol=1e-12)
