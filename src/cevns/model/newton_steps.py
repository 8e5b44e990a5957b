"""Helpers of the Newton plan's step (cevns.model.newton): which points may step with the exact Hessian."""

from __future__ import annotations

import numpy as np

try:  # the batched Cholesky gufunc, NaN where a matrix is not positive definite (np.linalg.cholesky raises for the batch)
    from numpy.linalg import _umath_linalg as _gufuncs
    _CHOLESKY = _gufuncs.cholesky_lo
except (ImportError, AttributeError):  # another numpy: the eigenvalue test for every point
    _CHOLESKY = None

#: Relative size of the smallest eigenvalue of -H (to the largest) below which the exact Hessian is not used for
#: the step (the Gauss-Newton one, negative definite by construction, is): a guard against near-singular steps.
EXACT_HESSIAN_RCOND = 1e-10


def definite(negative: np.ndarray) -> np.ndarray:
    """(n,) whether each -H of ``negative`` (n, M, M), symmetric, has its smallest eigenvalue above
    EXACT_HESSIAN_RCOND times the largest one in absolute value.

    A Cholesky factorisation of -H - EXACT_HESSIAN_RCOND tr(-H) I that succeeds proves it (a positive definite
    matrix's largest eigenvalue is at most its trace); only the points where it fails (-H indefinite, or its smallest
    eigenvalue between EXACT_HESSIAN_RCOND times the largest and the trace) get the eigenvalues. Measured on a
    block of 128 10 x 10 matrices: eigvalsh 520 us, Cholesky 47 us; np.linalg.eigvalsh was ~5% of
    `cevns bench measured-combined-4p --no-fit` (line_profiler)."""
    if _CHOLESKY is None or negative.shape[0] == 0:
        return _by_eigenvalues(negative)
    trace = np.trace(negative, axis1=1, axis2=2)
    shifted = negative - (EXACT_HESSIAN_RCOND * trace)[:, None, None] * np.eye(negative.shape[1])
    try:
        with np.errstate(invalid="ignore", over="ignore", divide="ignore", under="ignore"):
            factor = _CHOLESKY(shifted, signature="d->d")
    except TypeError:  # a gufunc of another signature
        return _by_eigenvalues(negative)
    out = np.isfinite(factor[:, -1, -1]) & (trace > 0)
    failed = np.flatnonzero(~out)
    if failed.size:
        out[failed] = _by_eigenvalues(negative[failed])
    return out


def _by_eigenvalues(negative: np.ndarray) -> np.ndarray:
    eig = np.linalg.eigvalsh(negative)
    return eig[:, 0] > EXACT_HESSIAN_RCOND * np.abs(eig[:, -1])
