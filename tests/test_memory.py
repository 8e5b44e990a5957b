"""Memory bounded by a block size, never by the number of points: the per-point work of the Laplace path
(a (K, M) Jacobian per point) and of the sampled likelihood runs in blocks, so the peak allocation grows
only with the output, (n, d), when the number of points grows 8x. numpy reports its allocations to
tracemalloc, so the peak is measured without timing or process limits."""

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
