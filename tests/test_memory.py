"""Memory bounded by a block size, never by the number of points: the per-point work of the Laplace path
(a (K, M) Jacobian per point) and of the sampled likelihood runs in blocks, so the peak allocation grows
only with the output, (n, d), when the number of points grows 8x. numpy reports its allocations to
tracemalloc, so the peak is measured without timing or process limits. Also: the Laplace path's leaner
loops (samples with identical modifiers grouped) give the same terms as the sample-by-sample ones.

The same for the sampler and the fit folder (smc calls the likelihood in blocks of LIKELIHOOD_BLOCK points,
mixtures are evaluated in blocks of MIXTURE_BLOCK, samples.csv is written CSV_BLOCK_ROWS rows at a time, all
with the same numbers as one pass), and a whole ``cevns fit`` run in a child process under an address-space
limit (``RLIMIT_AS``): the end-to-end check that no stage holds per-draw arrays (the out-of-memory kill of
measured-combined-4p's full preset, 18.6 GB)."""

import os
import subprocess
import sys
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


# -- a real fit under an address-space limit ---------------------------------------------------------------

#: Address space (MB) the fit may add to what the child has mapped once its modules are imported. The limit is
#: set relative to that (VmPeak after the imports, 300 MB on the reference machine: Python, numpy, scipy,
#: matplotlib and cevns), so that another numpy or Python build moves the baseline, not the test. Measured with
#: FIT_ARGS (coherent-csi-2017-data-2p, full preset at tolerance 0.0025: 51 000 importance draws in batches up to
#: 19 000, 39 000 equal-weight draws, corner plot): the fit adds 87 MB (VmPeak 387 MB; it fails at a budget of
#: 64 MB); a fit holding its draws' per-point Laplace arrays adds ~2 GB (Model MARGINAL_CHUNK set huge: VmPeak
#: 2.36 GB without a limit; sample_nuisances before it worked in blocks, commit 8677cf6, needs ~100 kB per
#: equal-weight draw, ~3.9 GB). 256 MB: 3x what the fit needs, and anything holding more than ~5 kB per draw
#: (one (draws, 576-bin) array) fails.
FIT_BUDGET_MB = 256
FIT_ARGS = ["fit", "coherent-csi-2017-data-2p", "--seed", "1", "--quiet", "--tolerance", "0.0025"]
#: The child: imports first, then the limit, then the command. BLAS and OpenMP pools are one thread (set in its
#: environment): each pool thread reserves stacks and buffers that count against RLIMIT_AS but not against the
#: fit. CEVNS_TEST_MARGINAL_CHUNK (the check that the limit bites) sets the model's Laplace block.
CHILD = """
import os, resource, sys
def peak_mb():
    return next(int(line.split()[1]) >> 10 for line in open("/proc/self/status") if line.startswith("VmPeak"))
import cevns.cli.commands, cevns.app.runs, cevns.app.figures, cevns.inference.smc, matplotlib.pyplot
limit = (peak_mb() + int(sys.argv[1])) << 20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
if os.environ.get("CEVNS_TEST_MARGINAL_CHUNK"):
    import cevns.model.laplace
    cevns.model.laplace.MARGINAL_CHUNK = int(os.environ["CEVNS_TEST_MARGINAL_CHUNK"])
from cevns.cli import main
code = main(sys.argv[2:])
print(f"VmPeak {peak_mb()} MB, limit {limit >> 20} MB", file=sys.stderr)
sys.exit(code)
"""


def _fit_under_limit(out, marginal_chunk: int | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    env.pop("CEVNS_TEST_MARGINAL_CHUNK", None)
    if marginal_chunk is not None:
        env["CEVNS_TEST_MARGINAL_CHUNK"] = str(marginal_chunk)
    return subprocess.run([sys.executable, "-c", CHILD, str(FIT_BUDGET_MB), *FIT_ARGS, "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=600)


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status: Linux")


@linux_only
def test_a_fit_runs_within_a_fixed_memory_budget(tmp_path):
    """51 000 importance draws, 39 000 equal-weight draws with their nuisances, the fit folder and the corner
    plot, within FIT_BUDGET_MB of address space beyond the imports (~14 s)."""
    run = _fit_under_limit(tmp_path / "fit")
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "fit" / "complete.json").exists()


@linux_only
def test_the_memory_budget_catches_a_fit_that_holds_its_draws(tmp_path):
    """The same fit with the Laplace path in one block per call (each call's per-point arrays at once) runs out of
    the budget: the limit is tight enough to see memory that grows with the draws (~7 s)."""
    run = _fit_under_limit(tmp_path / "fit", marginal_chunk=10**9)
    assert run.returncode != 0 and "MemoryError" in run.stderr, run.stderr[-2000:]


# -- the sampler and the fit folder in blocks ---------------------------------------------------------------

def test_smc_calls_the_likelihood_in_blocks_with_the_same_numbers(monkeypatch):
    """The importance stage's batches (here up to 40 000 draws) reach the likelihood in blocks of at most
    LIKELIHOOD_BLOCK points, and the run is the same bit for bit as with whole batches."""
    from cevns.inference import smc

    sizes = []

    def log_like(x):  # a band in the first two coordinates
        sizes.append(len(x))
        return -0.5 * ((x[:, 0] + x[:, 1]) / 0.05) ** 2

    def run():
        sizes.clear()
        return smc.run_smc(lambda u: 2.0 * u - 1.0, log_like, 3, smc.SMCSettings(n_particles=200, min_ess=20_000), seed=3)

    monkeypatch.setattr(smc, "LIKELIHOOD_BLOCK", 1000)
    blocked, blocked_sizes = run(), list(sizes)
    monkeypatch.setattr(smc, "LIKELIHOOD_BLOCK", 10**9)
    whole = run()
    assert max(blocked_sizes) <= 1000 < max(sizes)
    assert blocked.log_evidence == whole.log_evidence
    for name in ("samples", "log_weights", "log_likelihood"):
        assert np.array_equal(getattr(blocked, name), getattr(whole, name)), name


@pytest.mark.parametrize("dof", [None, 5.0])
def test_mixture_blocks_give_the_same_numbers(monkeypatch, dof):
    from cevns.inference import proposal

    rng = np.random.default_rng(2)
    mixture, _ = proposal.fit_mixture(rng.uniform(size=(2000, 4)), None, 6, rng, dof=dof)
    x = rng.uniform(size=(5000, 4))

    def outputs():
        return mixture.log_pdf(x), mixture.assign(x), mixture.sample(5000, np.random.default_rng(9))

    monkeypatch.setattr(proposal, "MIXTURE_BLOCK", 333)
    blocked = outputs()
    monkeypatch.setattr(proposal, "MIXTURE_BLOCK", 10**9)
    for a, b in zip(blocked, outputs(), strict=True):
        assert np.array_equal(a, b)


def _fit_result(n: int):
    from cevns.inference.results import FitResult

    rng = np.random.default_rng(5)
    names = ["eps_u_ee", "eps_d_ee", "eps_u_mumu", "eps_d_mumu"]
    samples = rng.uniform(-1, 1, size=(1000, 4))
    equal = {f"p{j}": rng.normal(size=n) for j in range(10)}
    parameters = {name: {"kind": "coupling", "bounds": [-1.0, 1.0]} for name in names}
    return FitResult("memory", names, samples, np.full(1000, -np.log(1000)), rng.normal(size=1000), -1.0, 0.01, 1000, 1.0,
                     {"sampler": "smc"}, parameters, {}, equal, _summary={"schema_version": 2})


def test_saving_a_fit_holds_no_text_per_draw(tmp_path):
    """samples.csv is formatted in blocks of rows: the peak allocation of FitResult.save grows by the draws'
    own array (8 bytes per value), not by their text (~70 bytes per value as Python strings), when the
    equal-weight draws grow 8x: 20 000 -> 160 000 draws of 10 columns add 11 MB, the stacked table (all rows
    formatted at once: 173 MB)."""
    small, large = _fit_result(20_000), _fit_result(160_000)
    small.save(tmp_path / "warm")  # imports and caches outside the measurement
    growth = _peak_bytes(lambda: large.save(tmp_path / "large")) - _peak_bytes(lambda: small.save(tmp_path / "small"))
    assert growth < 3 * 140_000 * 10 * 8, growth  # a copy or two of the (n, 10) table itself
    header, first = (tmp_path / "large" / "samples.csv").read_text().splitlines()[:2]
    assert header.split(",") == list(large.equal_weight)
    assert [float(v) for v in first.split(",")] == [large.equal_weight[k][0] for k in large.equal_weight]
