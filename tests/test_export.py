"""Round trips of cevns.inference.export through getdist, anesthetic, ArviZ and pandas."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.inference.export import (
    to_anesthetic,
    to_anesthetic_samples,
    to_arviz,
    to_getdist,
    to_pandas,
    write_getdist_chain,
)

NAMES = ["eps_u_ee", "eps_d_ee", "norm_bkg_SNS-NaI", "eff_eps_ee"]
RANGES = {"eps_u_ee": (-1.5, 1.5), "eps_d_ee": (-1.5, 1.5), "norm_bkg_SNS-NaI": (None, None)}


@pytest.fixture(scope="module")
def weighted():
    """Weighted samples like a nested-sampling run: a correlated Gaussian posterior, weights spanning 1e-40..1."""
    rng = np.random.default_rng(3)
    n = 20_000
    u = rng.normal(0.1, 0.2, n)
    d = -0.9 * u + rng.normal(0.0, 0.05, n)
    nuisance = rng.normal(1.0, 0.1, n)
    samples = np.column_stack([u, d, nuisance, 3.05 * u + 3.1 * d])
    log_like = -0.5 * ((u - 0.1) / 0.2) ** 2
    weights = np.exp(rng.uniform(-40 * np.log(10), 0, n) * (rng.random(n) < 0.3))  # 30% tiny, 70% weight 1
    return samples, weights, log_like


def _weighted_mean(samples, weights):
    return np.sum(weights[:, None] * samples, axis=0) / np.sum(weights)


def test_getdist_chain_files_round_trip(weighted, tmp_path):
    getdist = pytest.importorskip("getdist")
    from getdist import chains

    samples, weights, log_like = weighted
    root = write_getdist_chain(tmp_path / "chains", "fc", NAMES, None, samples, weights, -log_like, RANGES,
                               derived=["eff_eps_ee"])
    for suffix in (".txt", ".paramnames", ".ranges", ".properties.ini"):
        assert (tmp_path / "chains" / f"fc{suffix}").stat().st_size > 0
    paramnames = (tmp_path / "chains" / "fc.paramnames").read_text().splitlines()
    assert paramnames[0] == "eps_u_ee\t\\varepsilon^{u}_{ee}"
    assert paramnames[-1].startswith("eff_eps_ee*\t")
    ranges = (tmp_path / "chains" / "fc.ranges").read_text().splitlines()
    assert ranges == ["eps_u_ee\t-1.5\t1.5", "eps_d_ee\t-1.5\t1.5", "norm_bkg_SNS-NaI\tN\tN"]
    table = np.loadtxt(f"{root}.txt")
    assert table.shape == (len(samples), 2 + len(NAMES))
    np.testing.assert_array_equal(table[:, 2:], samples)  # %.17g: exact round trip
    np.testing.assert_array_equal(table[:, 1], -log_like)

    chains.print_load_details = False  # getdist prints "Removed no burn in" on load
    loaded = getdist.loadMCSamples(str(root))
    memory = to_getdist(NAMES, None, samples, weights, -log_like, RANGES, derived=["eff_eps_ee"])
    np.testing.assert_allclose(loaded.getMeans(), _weighted_mean(samples, weights), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(memory.getMeans(), loaded.getMeans(), rtol=1e-12, atol=1e-14)
    assert [p.name for p in loaded.paramNames.names] == NAMES
    assert [p.isDerived for p in loaded.paramNames.names] == [False, False, False, True]
    assert [p.isDerived for p in memory.paramNames.names] == [False, False, False, True]
    assert loaded.ranges.getLower("eps_u_ee") == -1.5 and loaded.ranges.getUpper("eps_d_ee") == 1.5
    for name in NAMES:  # the same 68% and 95% limits from files as from memory
        for level in (0.68, 0.95):
            a = loaded.get1DDensity(name).getLimits(level)[:2]
            b = memory.get1DDensity(name).getLimits(level)[:2]
            assert a == pytest.approx(b, abs=1e-9)
    # and they are the samples' own: 68% limits of u ~ 0.1 -+ 0.2
    lo, hi = loaded.get1DDensity("eps_u_ee").getLimits(0.68)[:2]
    assert lo == pytest.approx(-0.1, abs=0.02) and hi == pytest.approx(0.3, abs=0.02)


def test_getdist_rejects_bad_input(weighted, tmp_path):
    samples, weights, log_like = weighted
    with pytest.raises(ValueError, match="shape"):
        write_getdist_chain(tmp_path, "x", NAMES[:2], None, samples, weights, -log_like, RANGES)
    with pytest.raises(ValueError, match="derived"):
        write_getdist_chain(tmp_path, "x", NAMES, None, samples, weights, -log_like, RANGES, derived=["nope"])
    with pytest.raises(ValueError, match="weights"):
        write_getdist_chain(tmp_path, "x", NAMES, None, samples, -weights, -log_like, RANGES)


def toy_nested_sampling(n_live=400, sigma=0.5, half_width=5.0, iterations=12, seed=1):
    """Nested sampling of L = N(x; 0, sigma^2 I_2) under a flat prior on [-a, a]^2: log Z = -log(4 a^2).

    Each dead point is replaced by an exact draw from the prior inside its likelihood contour
    (uniform in a disc once the disc fits in the box, rejection from the box before), so the
    run is a textbook one; ``iterations * n_live`` dead points (prior volume e^-12 at the end),
    then the final live points. Returns samples, log L, birth log L (-inf for initial draws).
    """
    rng = np.random.default_rng(seed)
    log_norm = -np.log(2 * np.pi * sigma**2)

    def log_like(x):
        return -0.5 * np.sum(x**2, axis=-1) / sigma**2 + log_norm

    live = rng.uniform(-half_width, half_width, (n_live, 2))
    live_l, live_b = log_like(live), np.full(n_live, -np.inf)
    dead, dead_l, dead_b = [], [], []
    for _ in range(iterations * n_live):
        i = int(np.argmin(live_l))
        dead.append(live[i].copy())
        dead_l.append(live_l[i])
        dead_b.append(live_b[i])
        floor = live_l[i]
        radius = np.sqrt(2 * sigma**2 * (log_norm - floor))
        while True:
            if radius < half_width:
                r, phi = radius * np.sqrt(rng.uniform(size=64)), rng.uniform(0, 2 * np.pi, 64)
                candidates = np.column_stack([r * np.cos(phi), r * np.sin(phi)])
            else:
                candidates = rng.uniform(-half_width, half_width, (64, 2))
            ok = log_like(candidates) > floor
            if np.any(ok):
                break
        live[i], live_l[i], live_b[i] = candidates[np.argmax(ok)], log_like(candidates[np.argmax(ok)]), floor
    samples = np.vstack([np.array(dead), live])
    return samples, np.concatenate([dead_l, live_l]), np.concatenate([dead_b, live_b])


def test_anesthetic_nested_samples_give_the_analytic_evidence():
    pytest.importorskip("anesthetic")
    samples, log_like, birth = toy_nested_sampling()
    nested = to_anesthetic(["a", "b"], None, samples, log_like, birth)
    exact = -np.log(10.0**2)
    # nested-sampling error sqrt(H / n_live), H = D_KL = log(100) - log(2 pi e sigma^2) = 3.15 -> 0.09
    assert nested.logZ() == pytest.approx(exact, abs=0.25)
    assert np.array(nested[["a", "b"]].mean()) == pytest.approx([0, 0], abs=0.03)
    std = np.sqrt(np.array(nested[["a", "b"]].var()))
    assert std == pytest.approx([0.5, 0.5], rel=0.08)
    # a constant number of live points instead of birth contours
    assert to_anesthetic(["a", "b"], None, samples, log_like, 400).logZ() == pytest.approx(exact, abs=0.25)


def test_anesthetic_without_births_explains_the_alternative(weighted):
    pytest.importorskip("anesthetic")
    samples, weights, log_like = weighted
    with pytest.raises(ValueError, match="to_anesthetic_samples"):
        to_anesthetic(NAMES, None, samples, log_like, None)
    plain = to_anesthetic_samples(NAMES, None, samples, weights, log_like)
    keep = weights > 0
    np.testing.assert_allclose(np.array(plain[NAMES].mean()), _weighted_mean(samples[keep], weights[keep]), rtol=1e-10)
    assert plain.get_label("eps_u_ee") == r"$\varepsilon^{u}_{ee}$"


def test_arviz_posterior_from_equal_weight_draws(weighted):
    pytest.importorskip("arviz")
    samples, weights, _ = weighted
    data = to_arviz(NAMES, samples, weights, seed=0)
    posterior = data["posterior"]
    n_eff = np.sum(weights) ** 2 / np.sum(weights**2)
    draws = np.asarray(posterior["eps_u_ee"])
    assert draws.shape == (1, int(n_eff))
    means = np.array([float(np.asarray(posterior[n]).mean()) for n in NAMES])
    sds = np.sqrt(np.sum(weights[:, None] * (samples - _weighted_mean(samples, weights)) ** 2, axis=0) / weights.sum())
    assert np.all(np.abs(means - _weighted_mean(samples, weights)) < 4 * sds / np.sqrt(n_eff))
    again = to_arviz(NAMES, samples, weights, seed=0)
    np.testing.assert_array_equal(np.asarray(again["posterior"]["eps_u_ee"]), draws)  # deterministic
    assert np.asarray(to_arviz(NAMES, samples, weights, n_draws=500)["posterior"]["eps_d_ee"]).shape == (1, 500)


def test_pandas_frame_with_weight_column(weighted):
    pytest.importorskip("pandas")
    samples, weights, log_like = weighted
    frame = to_pandas(NAMES, {n: samples[:, i] for i, n in enumerate(NAMES)}, weights, log_like)
    assert list(frame.columns) == NAMES + ["weight", "log_likelihood"]
    assert frame["weight"].sum() == pytest.approx(1.0)
    mean = (frame[NAMES].mul(frame["weight"], axis=0)).sum()
    np.testing.assert_allclose(mean.to_numpy(), _weighted_mean(samples, weights), rtol=1e-12)
