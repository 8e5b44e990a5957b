"""Importance proposals of the ``smc`` backend's stage 2 (cevns.inference.smc), densities exact.

The target lives in the unit cube (a uniform prior times L). A proposal draws points ``u`` and
returns, with each, ``log q(u)``: the exact density (Lebesgue measure on the cube) the point was
drawn from, so that ``Z = mean(L / q)`` is unbiased whatever the proposal. Every proposal here is
a defensive mixture ``q = alpha * prior + (1 - alpha) * g`` (Hesterberg, "Weighted average
importance sampling and defensive mixture distributions", Technometrics 37 (1995) 185): the
weights ``L / q`` are at most ``L / alpha``.

* ``"cube"``: ``g`` a Gaussian mixture fitted in the cube, covariances widened. Its components are
  cut by the cube's faces: a posterior band that spans the cube from face to face (the measured
  COHERENT releases: each constrains one combination of couplings per flavour) is fitted by
  Gaussians whose mass falls partly outside (~20% of the draws measured) and whose density
  inside is not flat along the band.
* ``"logit"`` / ``"logit-t"``: ``g`` a mixture fitted to ``y = logit(u)``, in which the cube is all
  of R^d: a flat direction of the posterior is a logistic density in ``y`` (unimodal, tails
  ``exp(-|y|)``), no draw falls outside, and no component is cut. ``"logit"`` uses Gaussian
  components; ``"logit-t"`` multivariate Student-t components with ``dof`` degrees of freedom,
  fitted by the EM algorithm of Peel & McLachlan, "Robust mixture modelling using the t
  distribution", Statistics and Computing 10 (2000) 339 (degrees of freedom fixed). Their
  polynomial tails are heavier than the logistic's, so ``g / prior`` does not vanish where the
  posterior is flat up to a face. The density in the cube is that in ``y`` times the Jacobian
  ``dy/du = 1 / (u (1 - u))`` per axis, i.e. ``q_u(u) = q_y(y) / p_y(y)`` with ``p_y`` the
  logistic density (the uniform prior seen in ``y``); it is computed from ``y``, never from the
  rounded ``u``.

Every mixture is fitted by EM seeded by k-means++ in coordinates whitened by the points' weighted
covariance (``seeding = "whitened"``) or scaled per axis (``"axes"``, the default). A band across
the cube is long along a diagonal: scaled per axis, its length dominates the distances and the seeds
spread along the bands instead of across them, so two parallel bands a tenth of the cube apart share
components; whitened, the distances are affine invariant (docs/sampling.md, "Whitened seeds").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

#: Points per block when evaluating or drawing from a mixture: 16 components x 16384 points x 12-D temporaries
#: are 25 MB. Densities and component assignments are per point, so blocks give the same numbers as one pass;
#: the importance stage's batches (up to half of ``max_draws`` points) are evaluated in these blocks.
MIXTURE_BLOCK = 16384
#: A mixture component needs this many times (d + 1) points' worth of weight to be kept.
MIN_COMPONENT_POINTS = 2.0
#: The proposals ``SMCSettings.proposal`` may name.
PROPOSALS = ("cube", "logit", "logit-t")
#: The k-means++ seedings of :func:`fit_mixture` (``SMCSettings.seeding``).
SEEDINGS = ("axes", "whitened")


def logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """log sum exp over the last axis (rows of -inf give -inf)."""
    top = np.max(a, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(a - top), axis=-1)) + top[..., 0]


@dataclass
class GaussianMixture:
    """A mixture with full scale matrices: weights (K,), means (K, d), Cholesky factors (K, d, d).

    ``dof`` None: Gaussian components; a number: multivariate Student-t components with that many
    degrees of freedom (scale matrix ``chol @ chol.T``; covariance ``dof / (dof - 2)`` times it).
    """

    weights: np.ndarray
    means: np.ndarray
    chol: np.ndarray
    dof: float | None = None

    def __post_init__(self) -> None:
        d = self.means.shape[1]
        self.chol_inv = np.linalg.inv(self.chol)
        self.log_norm = np.log(self.weights) - np.sum(np.log(np.diagonal(self.chol, axis1=1, axis2=2)), axis=1)
        if self.dof is None:
            self.log_norm = self.log_norm - 0.5 * d * math.log(2.0 * math.pi)
        else:
            nu = float(self.dof)
            self.log_norm = self.log_norm + (special.gammaln(0.5 * (nu + d)) - special.gammaln(0.5 * nu)
                                             - 0.5 * d * math.log(nu * math.pi))

    def mahalanobis(self, x: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Squared Mahalanobis distances of x[start:stop] to every component, shape (K, stop - start)."""
        z = (x[None, start:stop, :] - self.means[:, None, :]) @ np.swapaxes(self.chol_inv, 1, 2)
        return np.sum(z * z, axis=2)

    def component_log_pdf(self, x: np.ndarray) -> np.ndarray:
        """log(w_k f_k(x)) for every point and component, shape (n, K)."""
        out = np.empty((len(x), len(self.weights)))
        d = self.means.shape[1]
        for start in range(0, len(x), MIXTURE_BLOCK):  # bounds the (K, block, d) temporaries
            delta = self.mahalanobis(x, start, start + MIXTURE_BLOCK)
            if self.dof is None:
                out[start : start + MIXTURE_BLOCK] = self.log_norm - 0.5 * delta.T
            else:
                out[start : start + MIXTURE_BLOCK] = self.log_norm - 0.5 * (self.dof + d) * np.log1p(delta.T / self.dof)
        return out

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """log density per point, in blocks of MIXTURE_BLOCK points (no (n, K) array for all points)."""
        out = np.empty(len(x))
        for start in range(0, len(x), MIXTURE_BLOCK):
            out[start : start + MIXTURE_BLOCK] = logsumexp_rows(self.component_log_pdf(x[start : start + MIXTURE_BLOCK]))
        return out

    def assign(self, x: np.ndarray) -> np.ndarray:
        """The most responsible component of each point (in blocks, as :meth:`log_pdf`)."""
        out = np.empty(len(x), dtype=np.intp)
        for start in range(0, len(x), MIXTURE_BLOCK):
            out[start : start + MIXTURE_BLOCK] = np.argmax(self.component_log_pdf(x[start : start + MIXTURE_BLOCK]), axis=1)
        return out

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws; the random numbers are drawn for all n at once (the same stream whatever the block size),
        the (n, d, d) scale matrices they are multiplied by are gathered MIXTURE_BLOCK points at a time."""
        component = rng.choice(len(self.weights), size=n, p=self.weights)
        z = rng.standard_normal((n, self.means.shape[1]))
        if self.dof is not None:  # t = normal / sqrt(chi2_nu / nu)
            z = z / np.sqrt(rng.chisquare(self.dof, size=n) / self.dof)[:, None]
        out = self.means[component]
        for start in range(0, n, MIXTURE_BLOCK):
            block = slice(start, start + MIXTURE_BLOCK)
            out[block] += np.einsum("nij,nj->ni", self.chol[component[block]], z[block])
        return out

    def widened(self, factor: float) -> GaussianMixture:
        return GaussianMixture(self.weights, self.means, self.chol * factor, self.dof)


def _mixture(mass: np.ndarray, means: np.ndarray, cov: np.ndarray, dof: float | None) -> GaussianMixture:
    return GaussianMixture(mass / mass.sum(), means, np.linalg.cholesky(0.5 * (cov + np.swapaxes(cov, 1, 2))), dof)


def fit_mixture(x: np.ndarray, weights: np.ndarray | None, n_components: int, rng: np.random.Generator,
                n_iter: int = 100, tol: float = 1e-4, dof: float | None = None,
                seeding: str = "axes") -> tuple[GaussianMixture, float]:
    """Weighted EM for a Gaussian mixture (Dempster, Laird & Rubin 1977), k-means++ seeding
    (Arthur & Vassilvitskii 2007); with ``dof`` a Student-t mixture with those degrees of freedom
    (Peel & McLachlan 2000: the E step also gives each point the latent scale
    ``(dof + d) / (dof + Mahalanobis^2)``, which weights the means and scale matrices). Returns the
    mixture and its mean weighted log-likelihood.

    ``seeding``: k-means++ distances in coordinates scaled per axis (``"axes"``) or whitened by the points'
    weighted covariance (``"whitened"``: affine invariant; module docstring). Stops when the mean
    log-likelihood gains less than ``tol``. Covariances get a ridge of 1e-6 of
    the data's variance per axis (keeps components of duplicated, resampled particles invertible);
    components left with less than 2 (d + 1) points' worth of weight are dropped.
    """
    n, d = x.shape
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, float) / np.sum(weights)
    mean_all = w @ x
    var_all = np.maximum(w @ (x - mean_all) ** 2, 1e-300)
    ridge = np.diag(1e-6 * var_all)
    n_eff = 1.0 / np.sum(w**2)
    min_mass = MIN_COMPONENT_POINTS * (d + 1) / n_eff
    k_max = max(1, min(n_components, int(n_eff // (MIN_COMPONENT_POINTS * (d + 1)))))
    # k-means++ seeding, weighted
    if seeding == "whitened":  # x -> L^-1 (x - mean) with L L^T the weighted covariance (ridge as the components')
        cov_all = ((x - mean_all).T * w) @ (x - mean_all) + ridge
        scaled = np.linalg.solve(np.linalg.cholesky(cov_all), (x - mean_all).T).T
    elif seeding == "axes":
        scaled = x / np.sqrt(var_all)
    else:
        raise ValueError(f"unknown seeding {seeding!r}; one of {', '.join(SEEDINGS)}")
    centres = [scaled[rng.choice(n, p=w)]]
    dist = np.sum((scaled - centres[0]) ** 2, axis=1)
    for _ in range(1, k_max):
        p = w * dist
        if p.sum() <= 0:
            break
        centres.append(scaled[rng.choice(n, p=p / p.sum())])
        dist = np.minimum(dist, np.sum((scaled - centres[-1]) ** 2, axis=1))
    centres = np.array(centres)
    labels = np.argmin(np.sum(scaled**2, axis=1)[:, None] - 2.0 * scaled @ centres.T + np.sum(centres**2, axis=1), axis=1)
    resp = np.zeros((n, len(centres)))
    resp[np.arange(n), labels] = 1.0
    scale = None  # latent scales of the t components' points (None: Gaussian components)
    previous = -np.inf
    for _ in range(n_iter):
        # M step
        wr = resp * w[:, None]
        mass = wr.sum(axis=0)
        keep = mass >= min_mass
        if not np.any(keep):
            keep = mass == mass.max()
        wu = wr if scale is None else wr * scale
        wr, mass, wu = wr[:, keep], mass[keep], wu[:, keep]
        means = (wu.T @ x) / (mass if dof is None else wu.sum(axis=0))[:, None]
        diff = x[None, :, :] - means[:, None, :]                            # (K, n, d)
        cov = np.swapaxes(diff * wu.T[:, :, None], 1, 2) @ diff / mass[:, None, None] + ridge
        mixture = _mixture(mass, means, cov, dof)
        # E step
        log_p = mixture.component_log_pdf(x)
        log_q = logsumexp_rows(log_p)
        resp = np.exp(log_p - log_q[:, None])
        if dof is not None:
            scale = (dof + d) / (dof + np.concatenate([mixture.mahalanobis(x, s, s + MIXTURE_BLOCK)
                                                       for s in range(0, n, MIXTURE_BLOCK)], axis=1).T)
        current = float(w @ log_q)
        if current - previous < tol:
            break
        previous = current
    return mixture, current


def log_logistic(y: np.ndarray) -> np.ndarray:
    """log of the uniform prior's density in y = logit(u): sum over axes of log(u (1 - u))."""
    return np.sum(special.log_expit(y) + special.log_expit(-y), axis=1)


class DefensiveProposal:
    """``alpha * prior + (1 - alpha) * g`` with ``g`` a mixture in the cube (``logit`` False) or in
    ``y = logit(u)`` (``logit`` True); :meth:`draw` returns cube points and their exact log q."""

    def __init__(self, mixture: GaussianMixture, alpha: float, logit: bool) -> None:
        self.mixture, self.alpha, self.logit = mixture, alpha, logit

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        ndim = self.mixture.means.shape[1]
        n_prior = rng.binomial(n, self.alpha)
        if not self.logit:
            u = np.concatenate([rng.uniform(size=(n_prior, ndim)), self.mixture.sample(n - n_prior, rng)])
            u = u[rng.permutation(n)]
            inside = np.all((u > 0.0) & (u < 1.0), axis=1)
            log_q = np.logaddexp(math.log(self.alpha) + np.where(inside, 0.0, -np.inf),
                                 math.log1p(-self.alpha) + self.mixture.log_pdf(u))
            return u, log_q
        with np.errstate(divide="ignore"):
            y = np.concatenate([special.logit(rng.uniform(size=(n_prior, ndim))), self.mixture.sample(n - n_prior, rng)])
        y = y[rng.permutation(n)]
        finite = np.all(np.isfinite(y), axis=1)  # u = 0 exactly (probability 2^-53 per axis): weight 0
        y = np.where(finite[:, None], y, 0.0)
        # q_u = q_y / p_y = alpha + (1 - alpha) g(y) / p_y(y)
        log_q = np.logaddexp(math.log(self.alpha), math.log1p(-self.alpha) + self.mixture.log_pdf(y) - log_logistic(y))
        u = np.where(finite[:, None], special.expit(y), 0.0)
        return u, log_q

    def log_density(self, u: np.ndarray) -> np.ndarray:
        """log q at given cube points (for tests and diagnostics; :meth:`draw` returns it with the draws)."""
        if not self.logit:
            inside = np.all((u > 0.0) & (u < 1.0), axis=1)
            return np.logaddexp(math.log(self.alpha) + np.where(inside, 0.0, -np.inf),
                                math.log1p(-self.alpha) + self.mixture.log_pdf(u))
        y = special.logit(u)
        return np.logaddexp(math.log(self.alpha), math.log1p(-self.alpha) + self.mixture.log_pdf(y) - log_logistic(y))


def fit_proposal(u: np.ndarray, weights: np.ndarray | None, kind: str, n_components: int, widen: float, alpha: float,
                 dof: float, rng: np.random.Generator, seeding: str = "axes") -> DefensiveProposal:
    """The stage-2 proposal fitted to cube points ``u`` with ``weights`` (None: equal; the final tempered
    particles, or the importance draws so far with their weights L / q: population Monte Carlo)."""
    if kind not in PROPOSALS:
        raise ValueError(f"unknown proposal {kind!r}; one of {', '.join(PROPOSALS)}")
    logit = kind != "cube"
    x = special.logit(np.clip(u, 1e-12, 1.0 - 1e-12)) if logit else u
    mixture = fit_mixture(x, weights, n_components, rng, n_iter=100, tol=1e-4, dof=dof if kind == "logit-t" else None,
                          seeding=seeding)[0]
    return DefensiveProposal(mixture.widened(widen), alpha, logit)
