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


def test_code4p_all_matches_code4p_coefficients():
    rng = np.random.default_rng(4)
    full = rng.uniform(-2.5, 2.5, size=(50, 5))
    full[:3, 1] = [1.0, -1.0, 0.0]
    cache = PointCache(full)
    cache.code4p_all((1, 3, 4), (0, 1, 2))
    for index in (1, 3, 4):
        for order in (0, 1, 2):
            got = cache.code4p(index, order, with_one=order == 0)
            want = code4p_coefficients(full[:, index], order)
            if order == 0:
                want = np.hstack([np.ones((50, 1)), want])
            np.testing.assert_array_equal(got, want)
        assert cache.extremes(index) == (max(full[:, index].max(), 0.0), min(full[:, index].min(), 0.0))
