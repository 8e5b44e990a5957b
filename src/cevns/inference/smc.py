"""Tempered sequential Monte Carlo with a Gaussian-mixture importance stage (the ``smc`` backend).

Two stages, both vectorized over particles (the likelihood is always called on arrays):

1. **Tempered SMC** (Del Moral, Doucet & Jasra, "Sequential Monte Carlo samplers",
   J. R. Stat. Soc. B 68 (2006) 411). Particles in the unit cube move from the prior
   (uniform on the cube) to the posterior through pi_b(u) ~ L(u)^b, b = 0 -> 1. Each next
   temperature is chosen by bisection so that the effective sample size (ESS) of the
   incremental weights L^(b' - b) is a fixed fraction of the particles (the adaptive rule
   of Jasra, Stephens, Doucet & Tsagaris, Scand. J. Stat. 38 (2011) 1). The particles are
   reweighted, resampled (systematic resampling) and moved by a few Metropolis-Hastings
   sweeps that leave pi_b invariant. A sweep is two moves:

   * an *independence* move whose proposal is a Gaussian mixture fitted (weighted EM, k-means++
     seeds per axis or whitened: ``SMCSettings.seeding``) to the reweighted particles: it jumps
     between modes, so the mass of each mode follows the target's (the "mixture proposal" of
     population Monte Carlo / independent MH);
   * a *random-walk* move, Gaussian with the covariance of the particle's mixture component
     (scale adapted towards 23% acceptance; Roberts, Gelman & Gilks, Ann. Appl. Prob. 7
     (1997) 110), with the exact Hastings correction when the component changes.

   The product of the mean incremental weights estimates log Z as well (``log_evidence_smc``).
   Given a ``guide`` (a cheaper approximation of L: the Laplace-marginalized releases' Newton iteration
   stopped early, cevns.model.laplace.GUIDE_DECREMENT_TOLERANCE), this stage tempers on it instead: its
   particles only shape the stage-2 proposal, so Z stays unbiased; a poor guide costs efficiency and can, like
   the tempering itself, leave out a mode.

2. **Importance sampling** from a Gaussian mixture fitted to the final particles (components
   16 at most), its covariances widened, plus a small defensive component equal to the
   prior (Hesterberg, Technometrics 37 (1995) 185), which bounds the weights
   (cevns.inference.proposal). With ``adapt`` > 0 (``BAND_SETTINGS``; the default 0 keeps the
   proposal) it is then refitted (weighted EM) to all importance draws so far, with their
   weights, after each of the first ``adapt`` batches, and adopted where its efficiency
   estimated on those draws beats the current proposal's: population
   Monte Carlo (Cappe, Guillin, Marin & Robert, J. Comput. Graph. Stat. 13 (2004) 907; Cappe,
   Douc, Guillin, Marin & Robert, Stat. Comput. 18 (2008) 447); afterwards the proposal whose
   batch had the largest ESS / draws is kept. Each draw keeps the weight L / q of the proposal it came
   from, and each proposal depends on earlier draws only, so every weight has expectation Z and
   ``Z = mean(L / q)`` stays unbiased whatever the proposals; the approximations only cost
   efficiency, not correctness. On the measured COHERENT releases (posteriors that are bands
   across the prior box) the refits raise the importance efficiency from 0.17-0.38 to ~0.5
   (docs/sampling.md). The draws and their weights are the posterior output.

Diagnostics (the quality of stage 2 is what the result rests on):

* Pareto k-hat of the importance weights, fitted to the largest weights (Vehtari, Simpson,
  Gelman, Yao & Gabry, "Pareto smoothed importance sampling", JMLR 25 (2024) 72; the
  generalized Pareto fit of Zhang & Stephens, Technometrics 51 (2009) 316). k-hat <= 0.5:
  the weights have finite variance and the estimates converge at the usual rate; above 0.7
  the estimates are not to be trusted (Vehtari et al., section 3);
* the ESS (sum w)^2 / sum w^2 and the standard error of log Z;
* split-half agreement: log Z of the first and the second half of the draws, in units of
  their standard error (the error estimate checking itself). The stage-1 tempering estimate
  is reported too; it is noisier and not judged.

A run that fails these checks first draws as many again from its final proposal and is judged on all its
draws (``extend``: a k-hat just above 0.5 is often the tail fit's noise on a good run); :func:`run_smc` then
retries with twice the particles when k-hat > 0.5 or the halves differ by more than 4 sigma, and reports in ``stats["reliable"]`` whether the last attempt passed. None of
these can see a mode that stage 1 never found (importance sampling only weights what its
proposal covers): tempering gives a mode particles in proportion to its mass under L^b, which
for a mode much narrower than the others stays small until b is near 1 (docs/sampling.md).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np
from scipy import special

from .proposal import PROPOSALS, SEEDINGS, fit_mixture, fit_proposal
from .results import SamplerOutput

#: Pareto k-hat above which an importance-sampling run is retried with more particles (Vehtari
#: et al. 2024, section 3: k < 0.5 gives finite variance). Measured (docs/sampling.md): the
#: reproduction fits' default runs -0.64 to 0.47; runs with a badly fitted proposal (100 particles
#: and one sweep on a thin ring, or a 12-D fit) 0.6-1.2.
KHAT_RETRY = 0.5
#: Largest weight / mean weight below which a run passes whatever its k-hat: the generalized Pareto
#: fit is unreliable when the weights pile up at a bound, which a proposal matching the target
#: gives (w -> 1 / (1 - defensive)). Measured: 1-D two-mode toy, efficiency 0.95, k-hat 1.08 and
#: 1.90 on 2 of 6 seeds with the largest weight 1.2-1.6x the mean; a variance bound then holds
#: anyway: var(w / mean) <= max / mean - 1 = 4, a log Z error <= 2 / sqrt(draws).
BOUNDED_WEIGHT_RATIO = 5.0
#: Largest |log Z(first half) - log Z(second half)| accepted, in units of its standard error
#: (a 4-sigma difference has probability 6e-5 for a run whose error estimate is right).
SPLIT_SIGMAS = 4.0
#: Most points per call of the log-likelihood (with a pool: per process): the importance stage's batches grow
#: with the draws (up to half of ``max_draws``), and a likelihood that holds per-point arrays (expected counts,
#: (n, 1288) for measured-combined) would otherwise need memory in proportion to them. A multiple of the model
#: layer's blocks, which it cuts from the start of each call: the Laplace path (marginalized nuisances, every
#: default smc fit) sees the same blocks of MARGINAL_CHUNK = 128 points as before, so every value is the same bit
#: for bit. The sampled-nuisance path cuts min(1024, 262144 // bins) points: the same blocks up to 256 bins;
#: above, some values change in the last bits (BLAS products over blocks of another length; measured with
#: smc on coherent-csi-2017-data-2p, 576 bins, nuisances sampled, 400 000 draws: 2050 of 300 944 log L by at
#: most 2.7e-12 on |log L| ~ 1000, the samples and log Z the same).
#: Measured (run_smc, a 4-D toy likelihood holding (n, 1288) doubles per call, 100 000 draws): 468 MB peak
#: resident with whole batches, 167 MB in blocks of 4096 (the rest: the draws themselves, ~150 bytes each);
#: the calls' own overhead is negligible at this size.
LIKELIHOOD_BLOCK = 4096


@dataclass(frozen=True)
class SMCSettings:
    """Settings of :func:`run_smc`. Measured on the seven reproduction fits, 4 seeds each, against
    high-accuracy references (docs/sampling.md, "Tuning"); numbers below are from those runs."""

    #: Particles (``n_live``). 1000 gives the same log Z accuracy with a few more retries (the ``--fast`` preset).
    n_particles: int = 2000
    #: ESS of the incremental weights kept at each temperature, as a fraction of the particles (Jasra et
    #: al. 2011 use 0.5). Measured: 0.3 needs 23% fewer calls on future-combined with the same accuracy,
    #: 0.7 38% more; 0.5 kept, as bigger temperature steps are likelier to lose a small mode.
    ess_fraction: float = 0.5
    #: Metropolis-Hastings sweeps (one independence + one random-walk move each) per temperature.
    #: Measured: 1 sweep gave a retry on coherent-2017-4p and 4x the log Z spread on future-combined-1bin.
    n_sweeps: int = 2
    #: Mixture components while tempering and for the final proposal (EM drops the ones it empties). Measured
    #: importance efficiency of the final proposal: 4 components 0.09-0.70, 12-16 components 0.40-0.75
    #: (coherent-2017-2p, -4p-3, future-combined(-1bin)). Tempering: 16 instead of 8 (BAND_SETTINGS) raised the
    #: final mixture-move acceptance on measured-combined-coherent-4p from 0.09 to 0.38 and the efficiency of
    #: the proposal fitted to the particles from 0.17 to 0.38 (docs/sampling.md).
    tempering_components: int = 8
    max_components: int = 16
    #: Final proposal: covariances widened by this factor squared, and a prior component of this weight.
    #: Measured: widen 1.0 raised k-hat to 0.51 (a retry, 3x the calls on future-combined), 1.6 lowered the
    #: efficiency (log Z spread 0.015 instead of 0.011); defensive 0.01-0.15 all gave the same accuracy.
    widen: float = 1.3
    defensive: float = 0.05
    #: Final proposal's family (cevns.inference.proposal): ``"cube"`` Gaussian mixture in the unit cube,
    #: ``"logit"`` Gaussian / ``"logit-t"`` Student-t mixture in logit(cube) with ``dof`` degrees of freedom.
    #: Measured on coherent-lar-2020-4p (the bands run corner to corner, straight in the cube, curved in logit
    #: space): efficiency 0.30 (cube), 0.13 (logit), 0.21 (logit-t), so "cube" (docs/sampling.md).
    proposal: str = "cube"
    dof: float = 5.0
    #: k-means++ seeding of every mixture fit (tempering and importance stage; cevns.inference.proposal):
    #: ``"axes"`` (distances in coordinates scaled per axis) or ``"whitened"`` (by the points' covariance: affine
    #: invariant). Measured on the measured releases' 4-D fits (docs/sampling.md, "Whitened seeds"): importance
    #: ESS / draws at --fast, seeds 0-2: coherent-csi-2021-4p 0.09-0.15 -> 0.34-0.38 (5-D; 0.07-0.23 -> 0.44-0.49 in 4-D),
    #: coherent-lar-2020-4p 0.38-0.43 -> 0.50-0.51;
    #: "axes" stays the default so that the paper's fits give the same numbers at the same seed.
    seeding: str = "axes"
    #: Extra Metropolis-Hastings sweeps at the final temperature (b = 1); the particles after each of the last
    #: temperature's sweeps are pooled, and the first importance proposal is fitted to the pool (n_particles x
    #: (n_sweeps + final_sweeps) points) instead of to the last particles only: the proposal is limited by how many
    #: posterior points it is fitted to (docs/sampling.md, "What bounds the efficiency now"). Costs 2 x n_particles
    #: calls (on the guide, if any) per sweep. Measured on the CsI-only 4-D fits, --fast, seeds 0-4 (4 extra sweeps):
    #: ESS / draws coherent-csi-2021-4p 0.44-0.49 -> 0.49-0.52, coherent-csi-2017-data-4p 0.35-0.44 -> 0.49-0.52.
    #: 0 (the default): the last particles, as before, bit for bit.
    final_sweeps: int = 0
    #: Refits of the final proposal to the weighted importance draws so far (population Monte Carlo), after the
    #: first batch (max(min_ess, n_particles) draws) and each of the next ``adapt`` - 1 batches (half that); a
    #: refit is adopted when its efficiency estimated on the draws so far beats the current proposal's, and after
    #: the refits the proposal whose batch did best is kept. 0: the proposal fitted to the particles throughout.
    #: BAND_SETTINGS (adapt 4, 16 tempering components), measured-release fits, seeds 1-3: no run above 32 200
    #: calls (old: 3 of 9 runs at 53 000-105 000, ESS/draws 0.056-0.135), median calls about the same (half on
    #: measured-combined-coherent-4p), batches after the refits at ESS/draws 0.47-0.55; but a seed spread of log Z
    #: 3x the reported error on measured-combined-4p; on the paper's fits 1.5-2x the wall time (EM refits) and
    #: other numbers at the same seed. So not the default (docs/sampling.md).
    adapt: int = 0
    #: Importance stage: draw until the standard error of log Z is below ``target_error`` (``tolerance``) and
    #: the ESS is at least ``min_ess`` (or ``max_draws`` are drawn). Measured: at ESS ~5000 the 95% HPD ends
    #: of the future fits' ee couplings are within 0.001 of the references.
    target_error: float = 0.005
    min_ess: int = 4000
    max_draws: int = 400_000
    #: Before a retry, the importance stage of a run that fails its checks (k-hat, split halves) is extended this many
    #: times by as many draws from its final proposal as it has, and judged again on all its draws: a k-hat just above
    #: KHAT_RETRY is often the noise of the tail fit on a good run. Measured (cevns fit measured-combined-4p --fast
    #: --seed 2): first attempt 28 523 calls, ESS/draws 0.42, largest weight 40x the mean, k-hat 0.50006; the retry
    #: took it to 73 509 calls, the extension to 36 601 (k-hat 0.36). 0 restores the retry at once. A run that passes
    #: its checks never extends (the paper's fits at their seeds); one that passes after it would have been retried.
    extend: int = 1
    #: Retries with 2x the particles when the checks fail (after the extensions).
    max_retries: int = 1
    #: Temper on the likelihood's guide where one is given (``run_smc(..., guide=...)``; for the Laplace-marginalized
    #: releases the Newton iteration stopped at a predicted gain of 1e-3 instead of 1e-10, cevns.model.laplace): the
    #: particles only shape the importance proposal, and the importance stage, which gives log Z, the weights and the
    #: samples, calls the likelihood itself, so Z stays unbiased (a poor guide costs draws and can, like the
    #: tempering itself, miss a mode). Measured (docs/sampling.md, "A guide for the tempering"): tempering 1.4-2x
    #: faster on the 4-D measured fits (argon 5.3 -> 2.7 s). False: temper on the likelihood (the A/B switch).
    guide: bool = True

    def __post_init__(self) -> None:
        for item in fields(self):  # the default's type: a boolean is not a count, a count is not a boolean
            value, default = getattr(self, item.name), item.default
            kind = (bool if isinstance(default, bool) else numbers.Integral if isinstance(default, int)
                    else numbers.Real if isinstance(default, float) else str)
            if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
                expected = {bool: "true or false", numbers.Integral: "a whole number", numbers.Real: "a number",
                            str: "a string"}[kind]
                raise ValueError(f"invalid SMC setting {item.name} = {value!r}: must be {expected}")
        checks = {
            "n_particles": self.n_particles >= 10, "ess_fraction": 0.0 < self.ess_fraction < 1.0, "n_sweeps": self.n_sweeps >= 1,
            "tempering_components": self.tempering_components >= 1, "max_components": self.max_components >= 1,
            "widen": self.widen > 0, "defensive": 0.0 < self.defensive < 1.0, "target_error": self.target_error > 0,
            "min_ess": self.min_ess >= 1, "proposal": self.proposal in PROPOSALS, "dof": self.dof > 0,
            "seeding": self.seeding in SEEDINGS,
            "adapt": self.adapt >= 0, "max_draws": self.max_draws >= self.min_ess, "max_retries": self.max_retries >= 0,
            "extend": self.extend >= 0, "final_sweeps": self.final_sweeps >= 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            choices = {"proposal": PROPOSALS, "seeding": SEEDINGS}.get(bad[0])
            raise ValueError(f"invalid SMC setting {bad[0]} = {getattr(self, bad[0])!r}"
                             + (f"; one of {', '.join(choices)}" if choices else ""))


#: Settings for posteriors that are bands across the prior box with an expensive likelihood (the measured
#: COHERENT releases): population Monte Carlo refits of the importance proposal and twice the tempering
#: mixture's components. ``run_sampler("smc", ..., options=BAND_SETTINGS)``; measured in docs/sampling.md.
BAND_SETTINGS = {"adapt": 4, "tempering_components": 16}


# -- importance-sampling diagnostics --------------------------------------------------------------

def pareto_khat(log_weights: np.ndarray) -> float:
    """Pareto k-hat of importance weights (Vehtari et al., JMLR 25 (2024) 72, PSIS).

    A generalized Pareto distribution is fitted to the M = min(S/5, 3 sqrt(S)) largest weights
    above the (M+1)-th largest, with the profile posterior of Zhang & Stephens (Technometrics 51
    (2009) 316) and the weakly informative prior of Vehtari et al. (appendix C: k shrunk towards
    0.5 with weight 10). Returns inf when the tail has fewer than 5 finite points.
    """
    log_w = np.asarray(log_weights, dtype=float)
    log_w = log_w[np.isfinite(log_w)]
    s = log_w.size
    m = int(math.ceil(min(0.2 * s, 3.0 * math.sqrt(s))))
    if m < 5:
        return math.inf
    log_w = np.sort(log_w - log_w.max())
    cutoff = log_w[-m - 1]
    tail = np.exp(log_w[-m:]) - math.exp(cutoff)
    if tail[-1] <= 0:  # flat tail: all weights equal
        return 0.0
    return _gpd_k(tail)


def _gpd_k(x: np.ndarray) -> float:
    """Zhang & Stephens (2009) estimate of the GPD shape k for sorted exceedances x > 0, with the prior."""
    n = x.size
    prior_bs, prior_k = 3.0, 10.0
    m_est = 30 + int(math.sqrt(n))
    b = 1.0 - np.sqrt(m_est / (np.arange(1, m_est + 1) - 0.5))
    b = b / (prior_bs * x[int(n / 4 + 0.5) - 1]) + 1.0 / x[-1]
    k = np.mean(np.log1p(-b[:, None] * x[None, :]), axis=1)
    len_scale = n * (np.log(-b / k) - k - 1.0)
    with np.errstate(over="ignore"):
        weights = 1.0 / np.sum(np.exp(len_scale[None, :] - len_scale[:, None]), axis=1)
    keep = weights >= 10 * np.finfo(float).eps
    b, weights = b[keep], weights[keep] / weights[keep].sum()
    b_post = float(np.sum(b * weights))
    k_post = float(np.mean(np.log1p(-b_post * x)))
    # shrunk towards 0.5 by the weakly informative prior (Vehtari et al. 2024, appendix C)
    return (n * k_post + prior_k * 0.5) / (n + prior_k)


def log_mean_exp(log_w: np.ndarray) -> float:
    return float(special.logsumexp(log_w) - math.log(log_w.size))


def log_evidence_error(log_w: np.ndarray) -> float:
    """Standard error of log(mean w): sd(w) / (mean(w) sqrt(n)) (delta method)."""
    w = np.exp(log_w - np.max(log_w))
    mean = w.mean()
    return float(np.std(w) / (mean * math.sqrt(w.size))) if mean > 0 else math.inf


def effective_sample_size(log_w: np.ndarray) -> float:
    w = np.exp(log_w - np.max(log_w))
    return float(w.sum() ** 2 / np.sum(w**2)) if w.sum() > 0 else 0.0


# -- the sampler ------------------------------------------------------------------------------------

class _Target:
    """log L of unit-cube points, counting calls; points outside the cube get -inf without a call. While ``guided``
    is set (only ever with a ``guide``), the guide is called instead."""

    def __init__(self, prior_transform: Callable, log_likelihood: Callable, pool=None,  # noqa: ANN001
                 guide: Callable | None = None) -> None:
        self.prior_transform, self.log_likelihood, self.pool, self.guide = prior_transform, log_likelihood, pool, guide
        self.n_calls = 0
        self.guided = False

    def __call__(self, cube: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inside = np.all((cube > 0.0) & (cube < 1.0), axis=1)
        log_l = np.full(len(cube), -np.inf)
        if np.any(inside):
            log_l[inside] = self.evaluate(self.prior_transform(cube[inside]))
        return log_l, inside

    def evaluate(self, params: np.ndarray) -> np.ndarray:
        """log L of parameter points, LIKELIHOOD_BLOCK points per call (per process with a pool)."""
        self.n_calls += len(params)
        block = LIKELIHOOD_BLOCK * getattr(self.pool, "size", 1)
        if len(params) <= block:
            return self._evaluate(params)
        values = np.empty(len(params))
        for start in range(0, len(params), block):
            values[start : start + block] = self._evaluate(params[start : start + block])
        return values

    def _evaluate(self, params: np.ndarray) -> np.ndarray:
        function = self.guide if self.guided else self.log_likelihood
        if self.pool is None or len(params) < 2 * getattr(self.pool, "size", 1):
            values = np.asarray(function(params), dtype=float)
        else:
            chunks = np.array_split(params, self.pool.size)
            values = np.concatenate([np.asarray(v, dtype=float) for v in self.pool.map(function, chunks)])
        return np.where(np.isnan(values), -np.inf, values)  # NaN: treated as zero likelihood


def _systematic_resample(log_w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling (Kitagawa 1996): indices of N offspring."""
    n = log_w.size
    w = np.exp(log_w - special.logsumexp(log_w))
    positions = (rng.uniform() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(w), positions), n - 1)


def _next_temperature(log_l: np.ndarray, beta: float, ess_fraction: float) -> float:
    """Largest b' <= 1 with ESS(L^(b' - b)) >= ess_fraction * N, by bisection (Jasra et al. 2011)."""
    finite = np.isfinite(log_l)
    target = ess_fraction * log_l.size

    def ess(delta: float) -> float:
        lw = np.where(finite, delta * np.where(finite, log_l, 0.0), -np.inf)
        lw = lw - lw.max()
        w = np.exp(lw)
        return w.sum() ** 2 / np.sum(w**2)

    if ess(1.0 - beta) >= target:
        return 1.0
    lo, hi = 0.0, 1.0 - beta
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if ess(mid) >= target:
            lo = mid
        else:
            hi = mid
    return beta + max(lo, 1e-12)


def _tempering(target: _Target, ndim: int, settings: SMCSettings, rng: np.random.Generator,
               progress: Callable | None, t0: float) -> tuple[np.ndarray, np.ndarray, float, dict]:
    """Stage 1. Returns the final particles (cube; with ``final_sweeps`` the pool of the particles after every sweep
    at b = 1, for the first importance proposal), the final particles' log L, the tempering log Z and stats."""
    n = settings.n_particles
    u = rng.uniform(size=(n, ndim))
    log_l, _ = target(u)
    if not np.any(np.isfinite(log_l)):
        raise RuntimeError("the log-likelihood is -inf at every prior draw")
    beta, log_z = 0.0, 0.0
    scale = 2.38 / math.sqrt(ndim)  # Roberts, Gelman & Gilks (1997) optimal random-walk scale
    betas, acc_ind, acc_rw = [], [], []
    final_states = []  # the particles after each sweep at b = 1, when final_sweeps > 0
    while beta < 1.0:
        new_beta = _next_temperature(log_l, beta, settings.ess_fraction)
        finite = np.isfinite(log_l)
        log_inc = np.where(finite, (new_beta - beta) * np.where(finite, log_l, 0.0), -np.inf)
        log_z += log_mean_exp(log_inc)
        beta = new_beta
        betas.append(beta)
        # the mixture for this temperature: weighted EM on the reweighted particles
        w = np.exp(log_inc - log_inc.max())
        mixture, _ = fit_mixture(u, w, settings.tempering_components, rng, n_iter=50, tol=1e-3, seeding=settings.seeding)
        index = _systematic_resample(log_inc, rng)
        u, log_l = u[index], log_l[index]
        log_q = mixture.log_pdf(u)
        for _ in range(settings.n_sweeps + (settings.final_sweeps if beta >= 1.0 else 0)):
            # independence move: propose from the mixture
            prop = mixture.sample(n, rng)
            log_l_prop, inside = target(prop)
            log_q_prop = np.full(n, -np.inf)
            log_q_prop[inside] = mixture.log_pdf(prop[inside])
            with np.errstate(invalid="ignore"):
                log_alpha = beta * (log_l_prop - log_l) + log_q - log_q_prop
            accept = inside & (np.log1p(-rng.uniform(size=n)) < log_alpha)
            u[accept], log_l[accept], log_q[accept] = prop[accept], log_l_prop[accept], log_q_prop[accept]
            acc_ind.append(float(accept.mean()))
            # random-walk move with the covariance of the particle's component
            comp = mixture.assign(u)
            z = rng.standard_normal((n, ndim))
            prop = u + scale * np.einsum("nij,nj->ni", mixture.chol[comp], z)
            log_l_prop, inside = target(prop)
            comp_prop = np.array(comp)
            comp_prop[inside] = mixture.assign(prop[inside])
            # Hastings correction log q(u | prop) - log q(prop | u), zero where the component is the same
            correction = np.zeros(n)
            changed = inside & (comp_prop != comp)
            if np.any(changed):
                back = np.einsum("nij,nj->ni", mixture.chol_inv[comp_prop[changed]], u[changed] - prop[changed]) / scale
                log_det = np.sum(np.log(np.diagonal(mixture.chol, axis1=1, axis2=2)), axis=1)  # log det L_k
                correction[changed] = (-0.5 * np.sum(back**2, axis=1) - log_det[comp_prop[changed]]
                                       + 0.5 * np.sum(z[changed] ** 2, axis=1) + log_det[comp[changed]])
            with np.errstate(invalid="ignore"):
                log_alpha = beta * (log_l_prop - log_l) + correction
            accept = inside & (np.log1p(-rng.uniform(size=n)) < log_alpha)
            u[accept], log_l[accept] = prop[accept], log_l_prop[accept]
            if np.any(accept):
                log_q[accept] = mixture.log_pdf(u[accept])
            rate = float(accept.mean())
            acc_rw.append(rate)
            # Robbins-Monro step towards 23% acceptance, between sweeps (each sweep's kernel is fixed)
            scale *= math.exp(rate - 0.234)
            if settings.final_sweeps and beta >= 1.0:
                final_states.append(u.copy())
        if progress is not None:
            progress("tempering", beta, f"temperature {len(betas)}: beta = {beta:.3g}, "
                     f"acceptance {acc_ind[-1]:.2f} (mixture) / {acc_rw[-1]:.2f} (walk), "
                     f"{target.n_calls} calls{' (on the guide)' if target.guided else ''}",
                     time.perf_counter() - t0)
    stats = {"n_temperatures": len(betas), "acceptance_mixture_final": acc_ind[-1], "acceptance_walk_final": acc_rw[-1],
             "acceptance_mixture_mean": float(np.mean(acc_ind)), "acceptance_walk_mean": float(np.mean(acc_rw))}
    if final_states:  # the points the first importance proposal is fitted to (only that uses them)
        u = np.concatenate(final_states)
    return u, log_l, log_z, stats


def _predicted_efficiency(proposal, points: np.ndarray, log_w: np.ndarray, log_l: np.ndarray) -> float:  # noqa: ANN001
    """ESS / draws that ``proposal`` would give, 1 / E_p[p / q], estimated from N importance draws of the posterior
    p with weights w = L / q_old: E_p[p / q] ~ sum_i (w_i / sum w) (L_i / Z) / q_i with Z ~ sum w / N. For the
    proposal the draws came from, this is their own ESS / N."""
    log_ratio = log_w + log_l - proposal.log_density(points)  # log(w_i L_i / q_i)
    return float(np.exp(2.0 * special.logsumexp(log_w) - math.log(log_w.size) - special.logsumexp(log_ratio)))


def _batch(target: _Target, proposal, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """``n`` importance draws from ``proposal``: cube points, log L and log weights L / q (-inf outside the cube, where
    no likelihood call is made)."""
    x, log_q = proposal.draw(n, rng)
    log_l, inside = target(x)
    return x, log_l, np.where(inside, log_l - log_q, -np.inf)


def _importance(target: _Target, u: np.ndarray, settings: SMCSettings, rng: np.random.Generator,
                progress: Callable | None, t0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict, object]:
    """Stage 2: draws from the widened mixture + prior, refitted to the weighted draws (population Monte Carlo);
    returns cube points, log L, log weights (each L / q of the proposal the draw came from), stats and the final
    proposal (an extension draws from it)."""
    proposal = fit_proposal(u, None, settings.proposal, settings.max_components, settings.widen, settings.defensive,
                            settings.dof, rng, settings.seeding)
    batch = max(settings.min_ess, settings.n_particles)
    draws, log_ls, log_ws, efficiencies = [], [], [], []
    best = (0.0, proposal)  # the proposal whose batch had the largest ESS / draws, and that efficiency
    total = 0
    while True:
        x, log_l, log_w_batch = _batch(target, proposal, batch, rng)
        draws.append(x)
        log_ls.append(log_l)
        log_ws.append(log_w_batch)
        efficiencies.append(effective_sample_size(log_ws[-1]) / batch)
        total += batch
        log_w = np.concatenate(log_ws)
        err, ess = log_evidence_error(log_w), effective_sample_size(log_w)
        done = (err <= settings.target_error and ess >= settings.min_ess) or total >= settings.max_draws
        # draws still needed, from the current efficiency
        per_draw = max(ess / total, 1e-6)
        needed = 0.0 if done else max(settings.min_ess / per_draw, total * (err / settings.target_error) ** 2) - total
        if progress is not None:
            progress("importance", total / (total + max(needed, 0.0)), f"{total} draws, ESS {ess:.0f}, log Z error {err:.4f}",
                     time.perf_counter() - t0)
        if done:
            break
        if efficiencies[-1] > best[0]:
            best = (efficiencies[-1], proposal)
        if len(efficiencies) <= settings.adapt:  # population Monte Carlo: refit to all weighted draws so far
            keep = np.isfinite(log_w)
            fit_w = np.exp(log_w[keep] - log_w[keep].max())
            fit_w = np.minimum(fit_w, fit_w.mean() * math.sqrt(fit_w.size))  # truncated weights (Ionides, JCGS 17 (2008) 295), for the fit only
            points = np.concatenate(draws)[keep]
            candidate = fit_proposal(points, fit_w, settings.proposal, settings.max_components, settings.widen,
                                     settings.defensive, settings.dof, rng, settings.seeding)
            # adopted when its efficiency 1 / E_p[p / q], estimated on the weighted draws so far, beats the current one's
            log_l_kept = np.concatenate(log_ls)[keep]
            if (_predicted_efficiency(candidate, points, log_w[keep], log_l_kept)
                    > _predicted_efficiency(proposal, points, log_w[keep], log_l_kept)):
                proposal = candidate
            batch = int(min(max(settings.min_ess, settings.n_particles) // 2, settings.max_draws - total))
        else:  # the proposal whose batch did best (a refit that did worse is dropped)
            proposal = best[1]
            batch = int(min(max(needed, batch), total, settings.max_draws - total))  # at least one batch, at most doubling
    stats = {"n_components": int(len(proposal.mixture.weights)), "n_draws": int(total), "proposal": settings.proposal,
             "efficiency_batches": efficiencies}
    return np.concatenate(draws), np.concatenate(log_ls), log_w, stats, proposal


def _diagnostics(log_w: np.ndarray) -> dict:
    """k-hat, largest weight, ESS and the split-half agreement of importance log weights, and the verdicts
    ``khat_ok`` (k-hat <= KHAT_RETRY or bounded weights) and ``split_ok``."""
    half = log_w.size // 2
    first, second = log_mean_exp(log_w[:half]), log_mean_exp(log_w[half:])
    split_sigma = math.hypot(log_evidence_error(log_w[:half]), log_evidence_error(log_w[half:]))
    log_z = log_mean_exp(log_w)
    ess = effective_sample_size(log_w)
    out = {"khat": pareto_khat(log_w), "max_weight_ratio": float(np.exp(np.max(log_w) - log_z)),
           "ess": ess, "efficiency": ess / log_w.size,
           "log_evidence_halves": [first, second],
           "split_difference_sigmas": abs(first - second) / split_sigma if split_sigma > 0 else math.inf}
    out["khat_ok"] = bool(out["khat"] <= KHAT_RETRY or out["max_weight_ratio"] <= BOUNDED_WEIGHT_RATIO)
    out["split_ok"] = bool(out["split_difference_sigmas"] <= SPLIT_SIGMAS)
    return out


def _one_run(target: _Target, ndim: int, settings: SMCSettings, seed_seq: np.random.SeedSequence,
             progress: Callable | None, t0: float) -> dict:
    rng = np.random.default_rng(seed_seq)
    start, calls = time.perf_counter(), target.n_calls
    guided = settings.guide and target.guide is not None
    target.guided = guided
    try:
        u, _, log_z_smc, stats = _tempering(target, ndim, settings, rng, progress, t0)
    finally:
        target.guided = False
    middle, calls_middle = time.perf_counter(), target.n_calls
    cube, log_l, log_w, is_stats, proposal = _importance(target, u, settings, rng, progress, t0)
    diagnostics = _diagnostics(log_w)
    extensions, judged = 0, [diagnostics["khat"]]
    while (not (diagnostics["khat_ok"] and diagnostics["split_ok"]) and extensions < settings.extend
           and log_w.size < settings.max_draws):
        # judged again on twice the draws (the new ones from the final proposal): the tail fit's noise shrinks
        extensions += 1
        n_more = int(min(log_w.size, settings.max_draws - log_w.size))
        if progress is not None:
            progress("extend", None, f"k-hat {diagnostics['khat']:.2f} or halves {diagnostics['split_difference_sigmas']:.1f} "
                     f"sigma apart: {n_more} more draws before judging again", time.perf_counter() - t0)
        x, log_l_more, log_w_more = _batch(target, proposal, n_more, rng)
        cube, log_l, log_w = np.concatenate([cube, x]), np.concatenate([log_l, log_l_more]), np.concatenate([log_w, log_w_more])
        is_stats["efficiency_batches"].append(effective_sample_size(log_w_more) / n_more)
        diagnostics = _diagnostics(log_w)
        judged.append(diagnostics["khat"])
    stats.update(is_stats)
    calls_importance = target.n_calls - calls_middle  # the draws inside the cube: those outside cost no call
    stats.update({"seconds_tempering": middle - start, "seconds_importance": time.perf_counter() - middle,
                  "calls_tempering": calls_middle - calls, "calls_importance": calls_importance})
    stats.update(diagnostics)
    stats.update({"n_particles": settings.n_particles, "log_evidence_smc": log_z_smc, "n_draws": int(log_w.size),
                  "guided": guided,
                  "extensions": extensions, "khat_judged": judged,
                  "efficiency_calls": diagnostics["ess"] / max(calls_importance, 1)})
    return {"cube": cube, "log_l": log_l, "log_w": log_w, "log_z": log_mean_exp(log_w), "log_z_err": log_evidence_error(log_w),
            "stats": stats}


def run_smc(prior_transform: Callable[[np.ndarray], np.ndarray], log_likelihood: Callable[[np.ndarray], np.ndarray],
            ndim: int, settings: SMCSettings = SMCSettings(), seed: int = 0, pool=None,  # noqa: ANN001, B008
            progress: Callable | None = None, guide: Callable[[np.ndarray], np.ndarray] | None = None) -> SamplerOutput:
    """Tempered SMC + mixture importance sampling; a run failing its checks is extended (``extend``), then retried
    with 2x the particles.

    ``prior_transform``: unit cube (n, d) -> parameters (n, d); ``log_likelihood``: (n, d) -> (n,).
    ``guide``: a cheaper approximation of ``log_likelihood`` that the tempering stage calls instead (with
    ``settings.guide``): it only shapes the importance proposal, whose weights use ``log_likelihood``, so log Z and
    the samples are those of ``log_likelihood`` whatever the guide (a poor one costs importance draws).
    ``progress(stage, fraction or None, text, elapsed seconds)`` is called once per temperature and
    per importance batch. The same seed gives bit-identical output.
    """
    t0 = time.perf_counter()
    target = _Target(prior_transform, log_likelihood, pool, guide)
    attempts = []
    current = settings
    for attempt in range(settings.max_retries + 1):
        run = _one_run(target, ndim, current, np.random.SeedSequence([seed, attempt]), progress, t0)
        attempts.append(run)
        if run["stats"]["khat_ok"] and run["stats"]["split_ok"]:
            break
        current = replace(current, n_particles=2 * current.n_particles)
        if progress is not None and attempt < settings.max_retries:
            progress("retry", None, f"k-hat {run['stats']['khat']:.2f} > {KHAT_RETRY} or halves disagree: "
                     f"retrying with {current.n_particles} particles", time.perf_counter() - t0)
    best = attempts[-1]
    reliable = best["stats"]["khat_ok"] and best["stats"]["split_ok"]
    if not reliable:  # keep the attempt with the smaller k-hat
        best = min(attempts, key=lambda r: r["stats"]["khat"])
    stats = dict(best["stats"])
    stats.update({"attempts": len(attempts), "khat_attempts": [a["stats"]["khat"] for a in attempts],
                  "extensions_attempts": [a["stats"]["extensions"] for a in attempts], "reliable": reliable})
    cube = best["cube"]
    keep = np.isfinite(best["log_w"])  # draws outside the cube or at L = 0 carry no weight
    log_w = best["log_w"][keep]
    return SamplerOutput(
        samples=np.asarray(prior_transform(cube[keep])), log_weights=log_w - special.logsumexp(log_w),
        log_likelihood=best["log_l"][keep], log_evidence=best["log_z"], log_evidence_err=best["log_z_err"],
        n_likelihood_calls=target.n_calls, wall_seconds=0.0, stats=stats,
    )
