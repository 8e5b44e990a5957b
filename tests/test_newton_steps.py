"""The Newton plan's helpers against their plain definitions: the exact-Hessian test (cevns.model.newton_steps) against
the eigenvalue criterion, and PointCache.code4p_all against code4p_coefficients one parameter at a time."""

import numpy as np

from cevns.model.newton_steps import EXACT_HESSIAN_RCOND, definite
from cevns.model.parameters import code4p_coefficients
from cevns.model.point_cache import PointCache


def test_definite_matches_the_eigenvalue_criterion():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(400, 6, 8))
    mats = a @ np.swapaxes(a, 1, 2)                       # positive definite
    mats[::5] -= 2.0 * np.eye(6) * rng.uniform(0, 30, size=(80, 1, 1))   # some indefinite
    q = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    near = q @ np.diag([1.0, 1, 1, 1, 1, 1e-13]) @ q.T    # positive but below the rcond guard
    mats[1], mats[2], mats[3] = near, -np.eye(6), np.zeros((6, 6))
    eig = np.linalg.eigvalsh(mats)
    expected = eig[:, 0] > EXACT_HESSIAN_RCOND * np.abs(eig[:, -1])
    got = definite(mats)
    assert not expected[1] and not got[1]
    np.testing.assert_array_equal(got, expected)
    assert definite(np.zeros((0, 6, 6))).shape == (0,)


def test_definite_decides_by_cholesky_and_falls_back_between_the_bounds(monkeypatch):
    """A smallest eigenvalue between EXACT_HESSIAN_RCOND x the largest and x the trace: the shifted Cholesky fails,
    the eigenvalues decide (definite). Well-conditioned matrices never reach the eigenvalues (where numpy has the
    batched Cholesky gufunc)."""
    from cevns.model import newton_steps

    between = np.diag([1.0, 1, 1, 1, 1, 2e-10])   # 2e-10 > 1e-10 x 1 (largest) but < 1e-10 x 5 (trace)
    assert definite(between[None])[0]
    if newton_steps._CHOLESKY is None:
        return
    asked = []
    real = newton_steps._by_eigenvalues
    monkeypatch.setattr(newton_steps, "_by_eigenvalues", lambda m: asked.append(len(m)) or real(m))
    a = np.random.default_rng(5).normal(size=(64, 6, 9))
    assert definite(a @ np.swapaxes(a, 1, 2)).all() and sum(asked) == 0
    assert definite(between[None])[0] and sum(asked) == 1


def test_code4p_all_matches_code4p_coefficients():
    rng = np.random.default_rng(4)
    full = rng.uniform(-2.5, 2.5, size=(50, 5))
    full[:3, 1] = [1.0, -1.0, 0.0]
    cache = PointCache(full)
    cache.code4p_all((1, 3, 4), (0, 1, 2))
    # stored by code4p_all itself (code4p and extremes would otherwise compute them on a miss)
    assert {("code4p", i, o, o == 0) for i in (1, 3, 4) for o in (0, 1, 2)} | {("extremes", i) for i in (1, 3, 4)} \
        <= set(cache.values)
    for index in (1, 3, 4):
        for order in (0, 1, 2):
            got = cache.code4p(index, order, with_one=order == 0)
            want = code4p_coefficients(full[:, index], order)
            if order == 0:
                want = np.hstack([np.ones((50, 1)), want])
            np.testing.assert_array_equal(got, want)
        assert cache.extremes(index) == (max(full[:, index].max(), 0.0), min(full[:, index].min(), 0.0))


def test_a_plan_pickled_without_shape_indices_still_evaluates(monkeypatch):
    """A model whose Newton plan was pickled before shape_indices existed (a dynesty checkpoint of an earlier
    version): unpickled, the plan rebuilds them and gives the same values."""
    import pickle

    from cevns.builders.scenario import Scenario
    from cevns.model import Model
    from cevns.model.newton import NewtonPlan

    model = Model.from_scenario(Scenario.load("coherent-lar-2020-4p"))
    free = model.prior_transform(np.random.default_rng(2).uniform(size=(16, 4)), "marginalized")
    want = model.log_marginal_likelihood(free, model.observed())
    current = NewtonPlan.__getstate__
    monkeypatch.setattr(NewtonPlan, "__getstate__",
                        lambda self: {k: v for k, v in current(self).items() if k != "shape_indices"})
    blob = pickle.dumps(model)
    monkeypatch.undo()
    copy = pickle.loads(blob)
    plan = copy.__dict__["_newton_plan"]
    assert plan.shape_indices == model.newton_plan().shape_indices and len(plan.shape_indices) > 0
    np.testing.assert_allclose(copy.log_marginal_likelihood(free, copy.observed()), want, rtol=0, atol=1e-8)
