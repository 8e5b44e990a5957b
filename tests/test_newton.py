"""The exact-Hessian Newton of cevns.model.newton: the mode is stationary (finite differences of the model's own
log-likelihood, a second evaluation path), its value is the model's log-density there, its Hessian the finite-
difference one, its marginal the Gauss-Newton path's to today's accuracy, and warm starts change nothing."""

import numpy as np
import pytest
from scipy import optimize

from cevns.builders.scenario import Scenario
from cevns.model import Model
from cevns.model import newton
from cevns.model.modes import ModeCache


def _model(name: str) -> Model:
    return Model.from_scenario(Scenario.load(name))


def _plan_part(model: Model):
    """(bins, sub-model) of the part the plan applies to, and the sub-model's data."""
    parts = model.laplace_components() or [(np.arange(model.n_bins), model)]
    main, centers = model.split_data(model.observed())
    for bins, sub in parts:
        if sub.newton_plan() is not None:
            return sub, np.concatenate([main[bins], centers[sub.aux_indices]])
    raise AssertionError("no part with a Newton plan")


def _free(model: Model, n: int, seed: int) -> np.ndarray:
    cube = np.random.default_rng(seed).uniform(size=(n, len(model.parameters)))
    return model.prior_transform(cube, "sampled")[:, model.free_indices]


def _objective(model: Model, data: np.ndarray):  # noqa: ANN202
    """g(full) = log L + Gaussian exponent, through Model.log_likelihood (the compiled evaluation plan)."""
    main, centers = model.split_data(data)
    idx = model.constrained_indices

    def g(full: np.ndarray) -> np.ndarray:
        z = (full[:, idx] - centers[idx]) / model.sigmas[idx]
        return model.log_likelihood(full, main) - 0.5 * np.sum(z**2, axis=1)

    return g


@pytest.fixture(scope="module")
def argon():
    return _plan_part(_model("coherent-lar-2020-4p"))


@pytest.mark.parametrize("scale", [0.3, 1.0, 3.0])
def test_mode_is_stationary_with_the_finite_difference_hessian(argon, scale):
    """Couplings at 0.3x, 1x and 3x of prior draws: small and large pulls of the nuisances (the largest into the
    linear extrapolation of the shapes)."""
    sub, data = argon
    free = scale * _free(sub, 6, seed=1)
    full, value, hessian = sub.conditional_mode(free, data)
    g = _objective(sub, data)
    np.testing.assert_allclose(value, g(full), rtol=1e-12)
    idx = sub.constrained_indices
    h = 1e-4 * sub.sigmas[idx]
    for i in range(len(free)):
        shifted = np.repeat(full[i : i + 1], 2 * idx.size, axis=0)
        for m, j in enumerate(idx):
            shifted[2 * m, j] += h[m]
            shifted[2 * m + 1, j] -= h[m]
        values = g(shifted)
        gradient = (values[0::2] - values[1::2]) / (2 * h)
        # the gain a Newton step would still make, with the finite-difference gradient: below 1e-6 in log L
        assert 0.5 * gradient @ np.linalg.solve(-hessian[i], gradient) < 1e-6
        second = (values[0::2] + values[1::2] - 2 * value[i]) / h**2
        np.testing.assert_allclose(second, np.diag(hessian[i]), rtol=2e-3, atol=1e-3 * np.max(np.abs(hessian[i])))
    # off-diagonal: the Hessian applied to a direction against the difference of finite-difference gradients
    direction = np.random.default_rng(2).standard_normal(idx.size) * sub.sigmas[idx]
    eps = 1e-4
    for i in range(len(free)):
        ups = []
        for sign in (1.0, -1.0):
            base = full[i].copy()
            base[idx] += sign * eps * direction
            shifted = np.repeat(base[None], 2 * idx.size, axis=0)
            for m, j in enumerate(idx):
                shifted[2 * m, j] += h[m]
                shifted[2 * m + 1, j] -= h[m]
            values = g(shifted)
            ups.append((values[0::2] - values[1::2]) / (2 * h))
        np.testing.assert_allclose((ups[0] - ups[1]) / (2 * eps), hessian[i] @ direction, rtol=2e-3,
                                   atol=1e-3 * np.max(np.abs(hessian[i] @ direction)))


def test_mode_against_nelder_mead(argon):
    """A derivative-free optimiser on the model's own log-density finds no higher g than the Newton mode."""
    sub, data = argon
    free = _free(sub, 3, seed=4)
    full, value, _ = sub.conditional_mode(free, data)
    g = _objective(sub, data)
    idx = sub.constrained_indices
    for i in range(len(free)):
        def negative(nu: np.ndarray, i: int = i) -> float:
            point = full[i : i + 1].copy()
            point[0, idx] = nu
            return -float(g(point)[0])

        best = optimize.minimize(negative, full[i, idx] + 0.05 * sub.sigmas[idx], method="Nelder-Mead",
                                 options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 40000, "maxfev": 40000})
        assert -best.fun <= value[i] + 1e-7


@pytest.mark.parametrize("name", ["coherent-lar-2020-4p", "measured-combined-4p", "xenonnt-8b-sr2-4p", "coherent-csi-2021"])
def test_marginal_equals_the_gauss_newton_path(name):
    """Both paths maximise the same function; the Gauss-Newton one converges linearly, so it stops up to ~4e-5
    short (measured on 300 prior draws of every built-in scenario with a non-linear part)."""
    model = _model(name)
    data = model.observed()
    free = _free(model, 200, seed=3)
    exact = model.log_marginal_likelihood(free, data)
    model.exact_newton = False
    reference = model.log_marginal_likelihood(free, data)
    assert np.all(np.isfinite(exact))
    assert np.max(np.abs(exact - reference)) < 1e-4


def test_a_mode_on_a_histosys_floor_is_found_where_gauss_newton_stops_short():
    """dresden-ii-lindhard with mu_cevns ~ 9: the quenching nuisance runs to -8.4 sigma, where a bin of the shape
    reaches its floor. Gauss-Newton stalls there (log L 3e-5 lower, a Hessian off by 0.03 in log det); the exact
    Newton's g agrees with a derivative-free optimiser (Nelder-Mead), the Gauss-Newton one does not."""
    model = _model("dresden-ii-lindhard")
    data = model.observed()
    free = _free(model, 300, seed=0)[31:32]
    g = _objective(model, data)
    full, value, _ = model.conditional_mode(free, data)
    model.exact_newton = False
    full_gn, value_gn, _ = model.conditional_mode(free, data)
    assert value[0] > value_gn[0] + 1e-5
    idx = model.constrained_indices

    def negative(nu: np.ndarray) -> float:
        point = full.copy()
        point[0, idx] = nu
        return -float(g(point)[0])

    best = optimize.minimize(negative, full_gn[0, idx], method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    # on the kink the Newton model is one-sided: within 1e-6 of the optimiser's, 30x closer than Gauss-Newton's
    assert abs(-best.fun - value[0]) < 1e-6
    assert -best.fun > value_gn[0] + 1e-5


def test_warm_starts_give_the_cold_values(argon, monkeypatch):
    sub, data = argon
    free = _free(sub, 3 * newton.WARM_START_STRIDE + 5, seed=6)
    sub.newton_plan().cache.clear()
    warm = sub.log_marginal_likelihood(free, data)
    monkeypatch.setattr(newton, "COLD_CALL_POINTS", 10**9)
    sub.newton_plan().cache.clear()  # else the points start at their remembered modes
    cold = sub.log_marginal_likelihood(free, data)
    # both stop at a Newton decrement of 1e-10, which fixes the mode to ~1.4e-5 sigma; the argon F90 shape's log det
    # moves by up to ~3 per sigma (bins near the histosys floor), so the two agree to ~1e-5 (measured: 1.2e-5 at
    # most), within the 1e-4 accuracy the Laplace path keeps; a warm start that stalled would be off by 1e-2
    np.testing.assert_allclose(warm, cold, rtol=0, atol=1e-4)
    assert np.mean(np.abs(warm - cold)) < 1e-5


def test_plan_covers_what_it_can_and_only_that():
    lar = _model("coherent-lar-2020-4p")
    assert [sub.newton_plan() is not None for _, sub in lar.laplace_components() or [(None, lar)]] == [True]
    paper = _model("future-combined")  # linear nuisances: the paper's exact-Newton path, bit for bit
    assert paper.newton_plan() is None


def test_nuisance_draws_by_part_equal_the_joint_gauss_newton_draws():
    """sample_nuisances of a non-linear model goes part by part (the joint Hessian is block diagonal), with Newton's
    warm starts and once per distinct point; with the same normal draws it gives the joint Gauss-Newton path's
    draws, to the modes' agreement."""
    model = _model("measured-combined-4p")
    data = model.observed()
    free = 0.2 * _free(model, 60, seed=7)[np.random.default_rng(1).integers(0, 60, 300)]  # repeated points
    fast = model.sample_nuisances(free, data, np.random.default_rng(5))
    model.split_laplace, model.exact_newton = False, False
    joint = model.sample_nuisances(free, data, np.random.default_rng(5))
    idx = model.constrained_indices
    np.testing.assert_array_equal(fast[:, model.free_indices], joint[:, model.free_indices])
    assert np.max(np.abs(fast[:, idx] - joint[:, idx]) / model.sigmas[idx]) < 1e-3


def test_a_start_far_out_stops_that_point_and_not_the_block(argon):
    """A start whose counts overflow (nuisances at 1e5 sigma) ends that point unconverged with g = -inf; the other
    points of the block are solved as if it were not there."""
    sub, data = argon
    plan = sub.newton_plan()
    free = _free(sub, 4, seed=8)
    main, centers = sub.split_data(data)
    start = sub._expand(free, centers)
    idx = sub.constrained_indices
    bad = start.copy()
    bad[1, idx] = centers[idx] + 1e5 * sub.sigmas[idx]
    alone = plan.conditional_mode(start, main, centers[idx], 30, 1e-10, 1e-10)
    mixed = plan.conditional_mode(bad, main, centers[idx], 30, 1e-10, 1e-10)
    assert not mixed[3][1] and not np.isfinite(mixed[1][1])
    keep = [0, 2, 3]
    assert mixed[3][keep].all()
    np.testing.assert_allclose(mixed[1][keep], alone[1][keep], rtol=0, atol=1e-9)


def test_a_nuisance_made_free_gets_its_own_plan(argon):
    """Model.with_free (cevns profile --params of a nuisance) marginalises one nuisance fewer: the copy builds its own
    plan, whose marginal equals the Gauss-Newton path's for the same promoted parameter."""
    sub, data = argon
    sub.log_marginal_likelihood(_free(sub, 2, seed=9), data)  # the parent's plan exists before the copy
    profiled = sub.with_free(["cevns_f90_LAr-2020"])
    assert profiled.newton_plan() is not sub.newton_plan()
    assert profiled.newton_plan().m == sub.newton_plan().m - 1
    free = profiled.prior_transform(np.random.default_rng(10).uniform(size=(40, len(sub.parameters))), "sampled")
    free = free[:, profiled.free_indices]
    exact = profiled.log_marginal_likelihood(free, data)
    profiled.exact_newton = False
    np.testing.assert_allclose(exact, profiled.log_marginal_likelihood(free, data), rtol=0, atol=1e-4)


def _evaluations(plan, monkeypatch) -> list:  # noqa: ANN001
    """Count the points the plan differentiates (one Newton evaluation each)."""
    count = [0]
    derivatives = type(plan)._derivatives

    def counting(self, full, *args, **kwargs):  # noqa: ANN001, ANN202
        count[0] += full.shape[0]
        return derivatives(self, full, *args, **kwargs)

    monkeypatch.setattr(type(plan), "_derivatives", counting)
    return count


def test_remembered_modes_give_the_same_values_and_draws_in_one_evaluation(argon, monkeypatch):
    """A point evaluated again (a fit's equal-weight draws were points of its sampler's last calls) starts at its
    remembered mode: one Newton evaluation instead of ~4, the same value and the same nuisance draws."""
    sub, data = argon
    plan = sub.newton_plan()
    plan.cache.clear()
    count = _evaluations(plan, monkeypatch)
    free = 0.5 * _free(sub, 200, seed=11)
    first = sub.log_marginal_likelihood(free, data)
    per_point = count[0] / len(free)
    assert per_point > 3
    again = sub.log_marginal_likelihood(free[::-1], data)[::-1]  # other order, other blocks: found by the point
    assert (count[0] / len(free) - per_point) == pytest.approx(1.0)
    np.testing.assert_allclose(again, first, rtol=0, atol=1e-9)
    cached = sub.sample_nuisances(free, data, np.random.default_rng(4))
    sub.forget_modes()
    cold = sub.sample_nuisances(free, data, np.random.default_rng(4))
    idx = sub.constrained_indices
    assert np.max(np.abs(cached[:, idx] - cold[:, idx]) / sub.sigmas[idx]) < 1e-3
    # other data: nothing remembered applies
    plan.cache.bind(np.zeros(3), np.zeros(plan.m))
    assert plan.cache.lookup([row.tobytes() for row in sub._expand(free, sub.split_data(data)[1])])[0].size == 0


def test_new_points_start_from_the_nearest_remembered_mode_and_give_the_cold_values(argon, monkeypatch):
    """Once the plan remembers modes, a call's new points start from the prediction through the remembered points
    nearest in warm key (no cold seeds): fewer evaluations than a first call on the same points, the cold values to
    the Newton tolerance."""
    sub, data = argon
    plan = sub.newton_plan()
    sub.forget_modes()
    count = _evaluations(plan, monkeypatch)
    sub.log_marginal_likelihood(0.5 * _free(sub, 400, seed=12), data)
    new = 0.5 * _free(sub, 400, seed=13)
    before = count[0]
    nearest = sub.log_marginal_likelihood(new, data)
    remembered = (count[0] - before) / 400
    sub.forget_modes()
    before = count[0]
    sub.log_marginal_likelihood(new, data)  # the same points as a first call: cold seeds, then waves
    first = (count[0] - before) / 400
    # measured: 3.14 against 3.59 evaluations per point (400 points remembered, as many as the first call's last
    # wave starts from; the gain is the 7 cold seeds and the denser neighbours of the early waves)
    assert remembered < 0.9 * first
    sub.forget_modes()
    monkeypatch.setattr(newton, "COLD_CALL_POINTS", 10**9)
    cold = sub.log_marginal_likelihood(new, data)
    np.testing.assert_allclose(nearest, cold, rtol=0, atol=1e-4)  # as warm starts within a call (test above)
    assert np.mean(np.abs(nearest - cold)) < 1e-5


def test_forget_modes_reaches_the_joint_plan_too():
    model = _model("measured-combined-4p")
    model.split_laplace = False  # one joint plan (the model's own), not the parts'
    data = model.observed()
    model.log_marginal_likelihood(0.5 * _free(model, 40, seed=15), data)
    assert model.newton_plan().cache.slots
    model.forget_modes()
    assert not model.newton_plan().cache.slots


def test_forget_modes_makes_a_repeated_call_a_first_one(argon, monkeypatch):
    """cevns bench times the same points again and again: forget_modes empties the plans, so each call costs what a
    first call costs (without it a repeat costs one evaluation per point)."""
    sub, data = argon
    count = _evaluations(sub.newton_plan(), monkeypatch)
    free = 0.5 * _free(sub, 100, seed=14)
    sub.forget_modes()
    sub.log_marginal_likelihood(free, data)
    first = count[0]
    sub.forget_modes()
    sub.log_marginal_likelihood(free, data)
    assert count[0] - first == first > 2 * len(free)


def test_mode_cache_forgets_the_oldest_points_first():
    cache = ModeCache(2, newton.REMEMBERED_POINTS, capacity=4)
    cache.bind(np.ones(3), np.zeros(2))
    keys = [bytes([i]) for i in range(6)]
    warm = np.arange(6.0)[:, None]
    cache.store(keys[:3], np.array([[0, 0], [1, 1], [2, 2]], float), warm[:3])
    cache.store(keys[1:2], np.array([[10, 10]], float), warm[1:2])  # a point again: its mode replaced, its age kept
    cache.store(keys[3:], np.array([[3, 3], [4, 4], [5, 5]], float), warm[3:])
    rows, modes = cache.lookup(keys)
    assert rows.tolist() == [2, 3, 4, 5]
    assert modes[:, 0].tolist() == [2, 3, 4, 5]
    assert cache.modes.shape == (4, 2)
    assert cache.nearest(np.array([[3.2], [4.9]])) is None  # fewer remembered than a stride: no nearest starts
    big = ModeCache(1, newton.REMEMBERED_POINTS, capacity=64)
    big.bind(np.ones(3), np.zeros(1))
    big.store([bytes([i]) for i in range(40)], np.arange(40.0)[:, None] * 10, np.arange(40.0)[:, None])
    # modes linear in the warm key: the local-linear start is exact between remembered points, and outside them goes
    # no further than the neighbours' modes (45 -> 390, not 450)
    np.testing.assert_allclose(big.nearest(np.array([[3.2], [38.6], [45.0]]))[:, 0], [32.0, 386.0, 390.0], atol=1e-9)
    # 64 more points overwrite every slot: the starts come from the points remembered now, not the tree's old ones
    big.store([bytes([100, i]) for i in range(64)], 1000 + np.arange(64.0)[:, None], 1000 + np.arange(64.0)[:, None])
    np.testing.assert_allclose(big.nearest(np.array([[3.2], [1005.1], [1062.7]]))[:, 0], [1000.0, 1005.1, 1062.7],
                               atol=1e-9)


def test_a_pickled_plan_starts_with_an_empty_cache(argon):
    import pickle

    plan = argon[0].newton_plan()
    plan.cache.store([b"x"], np.zeros((1, plan.m)), np.zeros((1, 3)))
    assert plan.cache.slots
    assert pickle.loads(pickle.dumps(plan)).cache.slots == {}  # a process pool's copy starts empty
    plan.cache.clear()  # the fixture's plan is shared by the other tests


def test_groups_on_adjoining_ranges_merge_with_the_same_values(monkeypatch):
    """XENONnT's 27 groups (three ranges of 81 bins) merge into 11 where their factors are the same functions; three
    groups stay one range wide beside the merged ones, so the Jacobian block spans all 243 bins with those groups'
    vectors zero outside their range (without that the Gauss-Newton cross terms were lost: 0.008 in log L). The
    marginal likelihood and the conditional modes are those of the unmerged plan."""
    merged_model = _model("xenonnt-8b-sr2-4p")
    merged, data = _plan_part(merged_model)
    monkeypatch.setattr(newton, "MERGE_ADJACENT", False)
    plain_model = _model("xenonnt-8b-sr2-4p")
    plain, _ = _plan_part(plain_model)
    assert len(plain.newton_plan().groups) == 27 and len(merged.newton_plan().groups) == 11
    assert merged.newton_plan().block_sizes == {(0, 243): 25}
    free = _free(merged_model, 300, seed=5)
    a, b = merged.log_marginal_likelihood(free, data), plain.log_marginal_likelihood(free, data)
    assert np.all(np.isfinite(a)) and np.max(np.abs(a - b)) < 1e-9


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_local_start_is_exact_for_modes_polynomial_in_the_key(scale):
    """local_start fits a quadratic (q <= QUADRATIC_KEYS key numbers) or a plane (q <= LINEAR_KEYS) through the nearest
    solved points: modes of that form are predicted exactly, at any scale of the keys, wherever the fit's value lies
    within the neighbours' modes, and clipped to them where it would extrapolate; with more key numbers, or too few
    solved points, the nearest one's mode."""
    from cevns.model import modes as modes_module
    from cevns.model.modes import local_start
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(3)
    for q in (1, 2, 3, 5):
        keys = scale * rng.uniform(size=(500, q))
        slope, offset = rng.normal(size=(q, 4)) / scale, rng.normal(size=4)
        curvature = rng.normal(size=(q, q, 4)) / scale**2 if q <= modes_module.QUADRATIC_KEYS else np.zeros((q, q, 4))

        def truth(k: np.ndarray) -> np.ndarray:
            return offset + k @ slope + np.einsum("ni,nj,ijm->nm", k, k, curvature)

        modes = truth(keys)
        new = scale * rng.uniform(0.2, 0.8, size=(200, q))
        start = local_start(keys, modes, cKDTree(keys), new)
        exact = truth(new)
        size = (1 + q + q * (q + 1) // 2 if q <= modes_module.QUADRATIC_KEYS else 1 + q) + modes_module.LOCAL_EXTRA
        _, near = cKDTree(keys).query(new, k=size)
        lo, hi = modes[near].min(axis=1), modes[near].max(axis=1)
        inside = (exact >= lo) & (exact <= hi)
        assert inside.mean() > 0.7  # most predictions interpolate
        # the ridge (1e-12 of the normal equations' diagonal) moves an exact fit by far less than 1e-9 of the modes' spread
        np.testing.assert_allclose(start[inside], exact[inside], rtol=0, atol=1e-9 * np.ptp(modes))
        np.testing.assert_allclose(start[~inside], np.clip(exact, lo, hi)[~inside], rtol=0, atol=1e-9 * np.ptp(modes))
    # too few solved points for a fit, or too many key numbers: the nearest one's mode
    few = local_start(keys[:3], modes[:3], cKDTree(keys[:3]), keys[:1] + 1e-3 * scale)
    np.testing.assert_array_equal(few, modes[:1])
    wide = scale * rng.uniform(size=(100, modes_module.LINEAR_KEYS + 1))
    _, nearest = cKDTree(wide).query(wide[:5] + 1e-3 * scale)
    np.testing.assert_array_equal(local_start(wide, wide[:, :2], cKDTree(wide), wide[:5] + 1e-3 * scale),
                                  wide[nearest, :2])


def test_first_call_in_waves_from_local_fits_takes_fewer_evaluations(argon, monkeypatch):
    """A first call solves every WARM_START_STRIDE-th point cold, then the others in waves from a local fit through the
    solved points' modes: fewer Newton evaluations per point than from the nearest solved point's mode
    (LOCAL_FIT = False), and than cold starts, with the same values to the Newton tolerance."""
    from cevns.model import modes

    sub, data = argon
    count = _evaluations(sub.newton_plan(), monkeypatch)
    free = _free(sub, 600, seed=21)
    per_point = {}
    values = {}
    for label, linear, cold_points in (("fit", True, newton.COLD_CALL_POINTS), ("nearest", False,
                                                                                  newton.COLD_CALL_POINTS),
                                       ("cold", True, 10**9)):
        monkeypatch.setattr(modes, "LOCAL_FIT", linear)
        monkeypatch.setattr(newton, "COLD_CALL_POINTS", cold_points)
        sub.forget_modes()
        before = count[0]
        values[label] = sub.log_marginal_likelihood(free, data)
        per_point[label] = (count[0] - before) / len(free)
    # measured (600 prior draws): 3.19 / 3.90 / 7.78 evaluations per point
    assert per_point["fit"] < 0.9 * per_point["nearest"] < 0.6 * per_point["cold"]
    for label in ("fit", "nearest"):
        np.testing.assert_allclose(values[label], values["cold"], rtol=0, atol=1e-4)
        assert np.mean(np.abs(values[label] - values["cold"])) < 1e-5


def test_the_guide_starts_from_nearest_modes_and_the_exact_value_from_local_fits(argon, monkeypatch):
    """smc's guide stops the iteration at a predicted gain of 1e-3, which a local fit's start often meets already: the
    guide would return unconverged values whose error varies smoothly with the fit's (the importance stage's ESS fell
    from ~0.38 to ~0.18 on measured-combined-coherent-4p). Calls at the guide's tolerance start from the nearest
    solved point's mode; exact calls from the local fit."""
    sub, data = argon
    seen = []
    start = newton.local_start

    def recording(*args):  # noqa: ANN002, ANN202
        seen.append(args[-1])
        return start(*args)

    monkeypatch.setattr(newton, "local_start", recording)
    free = _free(sub, 200, seed=22)
    for guide, expected in ((True, False), (False, True)):
        sub.forget_modes()
        seen.clear()
        sub.log_marginal_likelihood(free, data, guide)
        assert seen and set(seen) == {expected}
    cache = sub.newton_plan().cache
    fits = []
    monkeypatch.setattr("cevns.model.modes.local_start", lambda *args: fits.append(args[-1]) or start(*args))
    for guide in (True, False):  # remembered modes: the same rule
        sub.log_marginal_likelihood(_free(sub, 100, seed=23 + guide), data, guide)
    assert fits == [False, True] and cache.slots
