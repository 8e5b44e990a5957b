"""Memory bounded by a block size, never by the number of points: the per-point work of the Laplace path
(a (K, M) Jacobian per point) and of the sampled likelihood runs in blocks, so the peak allocation grows
only with the output, (n, d), when the number of points grows 8x. numpy reports its allocations to
tracemalloc, so the peak is measured without timing or process limits. Also: the Laplace path's leaner
loops (samples with identical modifiers grouped) give the same terms as the sample-by-sample ones."""

import tracemalloc

import numpy as np
import pytest

from cevns import Model, Scenario


def _peak_bytes(fn) -> int:  # noqa: ANN001
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def model():
    return Model.from_scenario(Scenario.load("coherent-csi-2017-data-2p"))


def _free(model, n):
    return model.prior_transform(np.random.default_rng(0).uniform(size=(n, model.free_indices.size)), "marginalized")


@pytest.mark.parametrize("what", ["sample_nuisances", "log_marginal_likelihood", "log_likelihood"])
def test_peak_memory_does_not_grow_with_the_number_of_points(model, what):
    data = model.observed()
    k, m = model.n_bins, model.constrained_indices.size
    assert k * m >= 1000  # a Jacobian per point is large enough to see: 2048 of them hold > 18 MB

    def run(n):
        free = _free(model, n)
        if what == "sample_nuisances":
            return lambda: model.sample_nuisances(free, data, np.random.default_rng(1))
        if what == "log_marginal_likelihood":
            return lambda: model.log_marginal_likelihood(free, data)
        full = model.prior_transform(np.random.default_rng(0).uniform(size=(n, len(model.parameters))), "sampled")
        return lambda: model.log_likelihood(full, data)

    run(64)()  # caches (evaluation plan, Laplace split) built outside the measurement
    small, large = _peak_bytes(run(256)), _peak_bytes(run(2048))
    output_growth = (2048 - 256) * (len(model.parameters) + k) * 8  # the outputs and inputs themselves
    assert large - small < output_growth + 8 * 2**20, (small, large)


def test_grouped_samples_give_the_same_laplace_terms():
    """The Laplace path visits samples with identical modifiers once, with their nominals summed (argon: the
    three CEvNS flavour components): expected counts, Jacobian and curvature equal the sample-by-sample sums."""
    lar = Model.from_scenario(Scenario.load("coherent-lar-2020-2p"))
    groups = lar._laplace_groups()
    assert len(groups) < len(lar.samples) and sum(len(m) for _, m in groups) == len(lar.samples)
    free = _free(lar, 16)
    full = lar._expand(free)
    full[:, lar.constrained_indices] += np.random.default_rng(3).normal(0, 0.5, (16, lar.constrained_indices.size))
    signal = lar.signal_columns(full)
    residual = np.random.default_rng(4).normal(0, 0.1, (16, lar.n_bins))
    lam, jac = lar._lambda_jacobian(full, signal)
    curvature = lar._curvature(full, signal, residual)
    lar._groups_cache = [(s, [s]) for s in lar.samples]  # one group per sample: the reference
    lam_ref, jac_ref = lar._lambda_jacobian(full, signal)
    np.testing.assert_allclose(lam, lam_ref, rtol=1e-12)
    np.testing.assert_allclose(jac, jac_ref, rtol=1e-12, atol=1e-12 * np.max(np.abs(jac_ref)))
    np.testing.assert_allclose(curvature, lar._curvature(full, signal, residual), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(lam, lar.expected_counts(full), rtol=1e-10)
