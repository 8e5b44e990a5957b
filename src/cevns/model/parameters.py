"""Parameters of a statistical model and the modifiers they drive (pyhf style).

Every parameter declares itself (pyhf ``modifiers/*.py`` ``required_parset``): its
name, kind, bounds, prior and initial value. The kinds:

``coupling``
    A parameter the vector charge is affine in: any of the twelve NSI couplings,
    or ``sin2_theta_w`` (the SM charge Z (1/2 - 2 s) - N/2 is affine in s, Dent et al., arXiv:1711.03521, eqs. 1-2).
    The rate is an exact quadratic form in the couplings. Flat prior on ``bounds``.
``physics``
    A physics parameter that enters the rate non-linearly: the response kernels are
    precomputed on a grid of its values and interpolated linearly between nodes.
    Flat prior on ``bounds`` (the grid's range).
``normfactor``
    A free normalisation (e.g. the CEvNS signal strength): multiplies its samples,
    flat prior on ``bounds``. Sampled, never marginalised (it has no constraint).
``normsys``
    A Gaussian-constrained normalisation, factor nu with prior N(1, sigma) (Dent et al., arXiv:1711.03521, its likelihood:
    flux and background normalisations; the paper's choice).
``lognormsys``
    A normalisation with a log-normal prior: parameter z ~ N(0, 1), factor (1 + sigma)^z
    (pyhf ``normsys`` with exponential interpolation, code 1; Cranmer et al.,
    CERN-OPEN-2012-016, eq. 11).
``histosys``
    A shape nuisance from +-1 sigma templates: alpha ~ N(0, 1), per-bin factor
    1 + Delta_k(alpha) with the piecewise-polynomial interpolation of
    :func:`histosys_delta` (pyhf ``code4p``).
``staterror``
    One per-bin factor gamma_k ~ N(1, sigma_k) for templates of finite statistics
    (pyhf ``staterror``; Barlow & Beeston, Comput. Phys. Commun. 77 (1993) 219, with the
    Gaussian approximation of pyhf).

``normsys``, ``lognormsys``, ``histosys`` and ``staterror`` are *constrained*
(a Gaussian prior): they can be sampled or Laplace-marginalised per point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .samples import ModelError

POI_KINDS = ("coupling", "physics", "normfactor")
CONSTRAINED_KINDS = ("normsys", "lognormsys", "histosys", "staterror")
KINDS = POI_KINDS + CONSTRAINED_KINDS
#: Half-width of the bounds of a constrained parameter in units of its prior sigma (for
#: optimisers and plots only; the prior itself is the untruncated Gaussian).
CONSTRAINED_BOUND_SIGMAS = 10.0


@dataclass(frozen=True)
class Parameter:
    """One parameter of a :class:`~cevns.model.Model`.

    Attributes
    ----------
    name : str
    kind : str
        One of :data:`KINDS` (module docstring).
    bounds : (float, float)
        Flat-prior range (couplings, physics, normfactors) or a +-10 sigma box (constrained).
    init : float
        Nominal value: 0 for couplings and shape nuisances, 1 for normalisations,
        the scenario's value for physics parameters.
    center, sigma : float
        Gaussian prior N(center, sigma) of a constrained parameter (sigma 0 otherwise).
    """

    name: str
    kind: str
    bounds: tuple[float, float]
    init: float
    center: float = 0.0
    sigma: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ModelError(f"parameter {self.name!r}: unknown kind {self.kind!r}; use one of {KINDS}")
        if not self.bounds[1] > self.bounds[0]:
            raise ModelError(f"parameter {self.name!r}: empty range {self.bounds}")

    @property
    def constrained(self) -> bool:
        return self.kind in CONSTRAINED_KINDS

    @property
    def prior(self) -> str:
        """``"normal"`` for constrained parameters, ``"uniform"`` otherwise."""
        return "normal" if self.constrained else "uniform"

    @classmethod
    def constrained_parameter(cls, name: str, kind: str, center: float, sigma: float) -> Parameter:
        lower = center - CONSTRAINED_BOUND_SIGMAS * sigma
        if kind in ("normsys", "staterror"):  # a normalisation factor cannot go negative
            lower = max(lower, 0.0)
        return cls(name, kind, (lower, center + CONSTRAINED_BOUND_SIGMAS * sigma), center, center, sigma)


def finite_number(value: object, name: str) -> float:
    """``value`` as a float if it is a finite real number (not a bool, string or array); ModelError naming ``name``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ModelError(f"{name}: expected a real number, got {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise ModelError(f"{name}: value must be finite, got {number}")
    return number


def code4p_coefficients(alpha: np.ndarray, order: int = 0) -> np.ndarray:
    """Per-point coefficients [c_S, c_A, c_u, c_d] (n, 4) of Delta(alpha) (order 0) or of its first or
    second derivative: Delta = coefficients @ :func:`code4p_templates` (see :func:`histosys_delta`)."""
    alpha = np.asarray(alpha, dtype=float).reshape(-1)
    inside, above, below = np.abs(alpha) <= 1.0, alpha > 1.0, alpha < -1.0
    a2 = alpha**2
    coefficients = np.zeros((alpha.size, 4))
    if order == 0:
        coefficients[:, 0] = np.where(inside, alpha, 0.0)
        coefficients[:, 1] = np.where(inside, a2 * (15.0 + a2 * (3.0 * a2 - 10.0)), 0.0)
        coefficients[:, 2] = np.where(above, alpha, 0.0)
        coefficients[:, 3] = np.where(below, alpha, 0.0)
    elif order == 1:
        coefficients[:, 0] = inside
        coefficients[:, 1] = np.where(inside, alpha * (30.0 + a2 * (18.0 * a2 - 40.0)), 0.0)
        coefficients[:, 2] = above
        coefficients[:, 3] = below
    else:
        coefficients[:, 1] = np.where(inside, 30.0 + a2 * (90.0 * a2 - 120.0), 0.0)
    return coefficients


def code4p_templates(delta_up: np.ndarray, delta_down: np.ndarray) -> np.ndarray:
    """Per-bin templates [S, A, u, d] (4, n_bins) of :func:`histosys_delta`: S = (u + d)/2, A = (u - d)/16."""
    delta_up, delta_down = np.asarray(delta_up, dtype=float), np.asarray(delta_down, dtype=float)
    return np.stack([0.5 * (delta_up + delta_down), 0.0625 * (delta_up - delta_down), delta_up, delta_down])


def _code4p(alpha: np.ndarray, delta_up: np.ndarray, delta_down: np.ndarray, order: int) -> np.ndarray:
    """Delta(alpha) (order 0) or its first or second derivative, as a sum of per-point coefficients
    times per-bin templates: [c_S, c_A, c_u, c_d] (n, 4) @ [S, A, u, d] (4, n_bins).

    The polynomial in alpha is the same for every bin, so it is evaluated once per point and the
    bins enter through one small matrix product (about 10x faster than evaluating the piecewise
    polynomial on (n, n_bins) arrays, which dominated the Laplace path of the argon release).
    """
    return code4p_coefficients(alpha, order) @ code4p_templates(delta_up, delta_down)


def histosys_delta(alpha: np.ndarray, delta_up: np.ndarray, delta_down: np.ndarray) -> np.ndarray:
    """Relative shift Delta(alpha) of a shape nuisance: factor = 1 + Delta.

    pyhf interpolation ``code4p`` (ROOT HistFactory ``PiecewiseInterpolation`` code 4):
    with u = delta_up (= up/nominal - 1) and d = delta_down (= 1 - down/nominal),

        alpha > 1:   alpha u
        alpha < -1:  alpha d
        |alpha| <= 1: alpha (S + alpha A (15 + alpha^2 (3 alpha^2 - 10))),
                      S = (u + d)/2, A = (u - d)/16,

    continuous with its first and second derivatives at |alpha| = 1 and exact at
    alpha = -1, 0, +1 (the templates). Shapes: alpha (n, 1), deltas (n_bins,) -> (n, n_bins).
    """
    return _code4p(alpha, delta_up, delta_down, 0)


def histosys_delta_derivative(alpha: np.ndarray, delta_up: np.ndarray, delta_down: np.ndarray) -> np.ndarray:
    """d Delta / d alpha of :func:`histosys_delta`: S + A alpha (30 + alpha^2 (18 alpha^2 - 40)) inside, u or d outside."""
    return _code4p(alpha, delta_up, delta_down, 1)


def histosys_delta_second_derivative(alpha: np.ndarray, delta_up: np.ndarray, delta_down: np.ndarray) -> np.ndarray:
    """d^2 Delta / d alpha^2 of :func:`histosys_delta`: A (30 + alpha^2 (90 alpha^2 - 120)) inside, zero outside."""
    return _code4p(alpha, delta_up, delta_down, 2)
