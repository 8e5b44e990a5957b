"""smc's tempering on a guide (a cheaper approximation of the likelihood, cevns.inference.smc ``guide``): log Z and the
samples stay those of the likelihood itself, whatever the guide; the Laplace-marginalized releases offer one (the
Newton iteration stopped early, cevns.model.laplace.GUIDE_DECREMENT_TOLERANCE); MPI workers evaluate it on request."""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager

import numpy as np
import pytest

from cevns.app.parallel import MPIPool, serve
from cevns.inference.samplers import run_sampler
from cevns.inference.smc import SMCSettings, run_smc

from test_smc_proposal import Bands, identity


class Counted:
    """A log-likelihood that counts the points it is called on; ``mpi_message`` as cevns.model.sampler_view's."""

    def __init__(self, function, mpi_message: str = "eval") -> None:  # noqa: ANN001
        self.function, self.points, self.mpi_message = function, 0, mpi_message

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.points += len(x)
        return self.function(x)


def wrong_guide(toy: Bands, shift: float = 0.5, flatten: float = 0.6):  # noqa: ANN201
    """A deliberately poor guide: the bands shifted by ``shift`` times their width along u1 and flattened (log L x
    ``flatten``)."""
    return lambda x: flatten * toy(x + np.array([shift * toy.w, 0.0, 0.0, 0.0]))


@pytest.mark.parametrize(("w", "seed"), [(0.3, 1), (0.03, 2), (0.003, 3)])
def test_log_z_is_the_likelihoods_with_a_poor_guide(w, seed):
    """Bands of width 0.3, 0.03 and 0.003 of the box (exact log Z by quadrature), tempered on a poor guide (shifted by
    half a band width, flattened): log Z within 4 standard errors (+ 0.002) of the exact value; the guide is called for
    exactly the tempering's points and the likelihood for exactly the importance stage's."""
    toy = Bands("slabs", w)
    likelihood, guide = Counted(toy), Counted(wrong_guide(toy))
    out = run_smc(identity, likelihood, 4, SMCSettings(n_particles=1000, target_error=0.02), seed=seed, guide=guide)
    s = out.stats
    assert out.log_evidence == pytest.approx(toy.log_z, abs=4 * out.log_evidence_err + 0.002)
    assert s["guided"] and s["reliable"]
    assert guide.points == s["calls_tempering"] > 0
    assert likelihood.points == s["calls_importance"] == out.n_likelihood_calls - s["calls_tempering"]
    assert np.array_equal(out.log_likelihood, toy(out.samples))  # the output's log L is the likelihood's own


@pytest.mark.parametrize("seed", [1, 2])
def test_a_guide_far_off_is_corrected_or_flagged(seed):
    """A guide whose bands sit 3 band widths away and twice as sharp (log L x 4): the proposal is fitted to the wrong
    place, which the importance weights see: the run either still gets log Z right (within 4 standard errors + 0.002)
    or says it is unreliable; never a confident wrong answer."""
    toy = Bands("slabs", 0.03)
    out = run_smc(identity, toy, 4, SMCSettings(n_particles=1000, target_error=0.02), seed=seed,
                  guide=wrong_guide(toy, shift=3.0, flatten=4.0))
    right = abs(out.log_evidence - toy.log_z) <= 4 * out.log_evidence_err + 0.002
    assert right or not out.stats["reliable"], (out.log_evidence, toy.log_z, out.log_evidence_err, out.stats["khat"])


def test_the_progress_lines_say_the_tempering_runs_on_the_guide():
    toy = Bands("slabs", 0.03)
    lines = {True: [], False: []}
    for guided in (True, False):
        run_smc(identity, toy, 4, SMCSettings(n_particles=300, target_error=0.1, guide=guided), seed=1,
                guide=wrong_guide(toy), progress=lambda stage, _f, text, _t, g=guided: lines[g].append((stage, text)))
    tempering = {g: [text for stage, text in lines[g] if stage == "tempering"] for g in lines}
    assert tempering[True] and all(text.endswith("(on the guide)") for text in tempering[True])
    assert tempering[False] and not any("guide" in text for text in tempering[False])


def test_the_switch_off_ignores_the_guide_bit_for_bit():
    toy = Bands("slabs", 0.03)
    guide = Counted(wrong_guide(toy))
    plain = run_smc(identity, toy, 4, SMCSettings(n_particles=500, target_error=0.05), seed=4)
    off = run_smc(identity, toy, 4, SMCSettings(n_particles=500, target_error=0.05, guide=False), seed=4, guide=guide)
    assert guide.points == 0 and not off.stats["guided"] and not plain.stats["guided"]
    assert off.log_evidence == plain.log_evidence and np.array_equal(off.samples, plain.samples)
    with pytest.raises(ValueError, match="guide"):
        SMCSettings(guide="yes")


class Offering(Counted):
    """A likelihood object that offers a guide, as cevns.model.sampler_view.SamplerLikelihood does."""

    def __init__(self, toy: Bands) -> None:
        super().__init__(toy)
        self.guide = Counted(wrong_guide(toy), mpi_message="guide")

    def guide_likelihood(self) -> Counted:
        return self.guide


def test_run_sampler_takes_the_guide_a_likelihood_offers():
    toy = Bands("slabs", 0.03)
    likelihood = Offering(toy)
    out = run_sampler("smc", ["a", "b", "c", "d"], identity, likelihood, n_live=500, tolerance=0.05, seed=1, verbose=False)
    assert out.stats["guided"] and likelihood.guide.points == out.stats["calls_tempering"]
    off = Offering(toy)
    out = run_sampler("smc", ["a", "b", "c", "d"], identity, off, n_live=500, tolerance=0.05, seed=1, verbose=False,
                      options={"guide": False})
    assert not out.stats["guided"] and off.guide.points == 0


# -- the model's guide ----------------------------------------------------------------------------------------------

def _model(name: str):  # noqa: ANN202
    from cevns.builders.scenario import Scenario
    from cevns.model import Model
    from cevns.spec.config import load_config

    return Model.from_scenario(Scenario(load_config(name), name))


def test_the_argon_release_offers_a_guide_close_to_its_exact_value():
    """coherent-lar-2020-4p (960 bins, 10 shape and normalisation nuisances, a Newton plan): the guide is within 0.1 of
    the exact Laplace value on 300 prior draws (measured: median 1.3e-3, largest 0.06 on 1000, docs/sampling.md) and
    cheaper; exact values computed after guide calls (whose looser modes the plan remembers and starts from) equal a
    fresh model's to the Newton tolerance (tests/test_newton.py: warm against cold starts within 1.2e-5)."""
    model = _model("coherent-lar-2020-4p")
    likelihood = model.sampler_likelihood(model.observed())
    guide = likelihood.guide_likelihood()
    assert guide is not None and guide.guide and guide.guide_likelihood() is None
    rng = np.random.default_rng(0)
    free = model.sampler_prior()(rng.uniform(size=(300, 4)))
    exact = likelihood(free)
    model.forget_modes()
    approximate = guide(free)
    assert np.all(np.isfinite(exact))
    assert np.max(np.abs(approximate - exact)) < 0.1
    assert np.max(np.abs(approximate - exact)) > 1e-6  # it is looser, not the same computation
    again = likelihood(free)  # started from the guide's remembered modes
    assert np.max(np.abs(again - exact)) < 2e-5


@pytest.mark.parametrize("name", ["future-combined", "coherent-2017-4p"])
def test_models_without_a_newton_plan_offer_no_guide(name):
    """The paper's models (normalisation nuisances only: exact Newton, no plan) and sampled nuisances: no guide, so
    their fits are the same as before at the same seed."""
    model = _model(name)
    assert model.sampler_likelihood(model.asimov()).guide_likelihood() is None
    assert model.sampler_likelihood(model.asimov(), "sampled").guide_likelihood() is None


# -- MPI: a worker evaluates the guide when rank 0 asks for it ---------------------------------------------------------

class _Link:
    """One end of a two-rank in-process 'communicator' (the calls MPIPool and serve make)."""

    def __init__(self, inbox: queue.Queue, outbox: queue.Queue) -> None:
        self.inbox, self.outbox = inbox, outbox

    def Get_size(self) -> int:  # noqa: N802 - the mpi4py name
        return 2

    def send(self, message, dest: int, tag: int) -> None:  # noqa: ANN001, ARG002
        self.outbox.put(message)

    def recv(self, source: int, tag: int):  # noqa: ANN201, ARG002
        return self.inbox.get(timeout=30)

    def Iprobe(self, source: int, tag: int) -> bool:  # noqa: N802, ARG002 - the mpi4py name
        return not self.inbox.empty()


@contextmanager
def two_ranks(worker_likelihood):  # noqa: ANN001, ANN201
    """An MPIPool on rank 0 and a worker rank (a thread running ``serve`` on ``worker_likelihood``); the worker is
    stopped and checked to have ended on leaving."""
    to_worker, to_root = queue.Queue(), queue.Queue()
    thread = threading.Thread(target=serve, args=(_Link(to_worker, to_root), worker_likelihood), daemon=True)
    thread.start()
    pool = MPIPool(_Link(to_root, to_worker))
    yield pool
    pool.close()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_mpi_workers_evaluate_the_guide_on_request():
    toy = Bands("slabs", 0.03)
    worker, root = Offering(toy), Offering(toy)
    x = np.random.default_rng(0).uniform(size=(10, 4))
    with two_ranks(worker) as pool:
        values = np.concatenate(pool.map(root.guide_likelihood(), [x[:5], x[5:]]))
        assert np.array_equal(values, wrong_guide(toy)(x))
        assert worker.guide.points == 5 and worker.points == 0
        values = np.concatenate(pool.map(root, [x[:5], x[5:]]))
        assert np.array_equal(values, toy(x))
        assert worker.points == 5


def test_smc_over_mpi_tempers_on_the_workers_guides():
    """run_smc with an MPI pool of two ranks: the worker evaluates its guide for the tempering's chunks and its own
    likelihood for the importance stage's; log Z as without the pool (the same values, split in chunks)."""
    toy = Bands("slabs", 0.03)
    worker, root = Offering(toy), Offering(toy)
    settings = SMCSettings(n_particles=500, target_error=0.05)
    with two_ranks(worker) as pool:
        out = run_smc(identity, root, 4, settings, seed=5, pool=pool, guide=root.guide_likelihood())
    s = out.stats
    assert s["guided"] and worker.guide.points > 0 and worker.points > 0
    assert root.guide.points + worker.guide.points == s["calls_tempering"]
    assert root.points + worker.points == s["calls_importance"]
    alone = run_smc(identity, toy, 4, settings, seed=5, guide=wrong_guide(toy))
    assert out.log_evidence == pytest.approx(alone.log_evidence, abs=1e-9)
