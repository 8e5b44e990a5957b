"""What every sampler adapter shares: the likelihood check, picklable batch wrappers, stdout/stderr handling and
the progress lines."""

from __future__ import annotations

import contextlib
import io
import logging
import math
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np

from ...errors import ConfigError

#: Progress lines (stderr not a terminal): at most one per this many seconds within a stage.
PROGRESS_MIN_SECONDS = 2.0

class SamplerWarning(UserWarning):
    """A finished run whose own diagnostics failed: its log Z and posterior may be wrong."""


def check_likelihood(prior_transform: Callable, log_likelihood: Callable, ndim: int, rng: np.random.Generator) -> None:
    """Evaluate a few prior draws; raise a readable error on wrong shape or non-finite values."""
    cube = rng.uniform(size=(8, ndim))
    params = prior_transform(cube)
    if params.shape != (8, ndim):
        raise ConfigError(f"prior transform returned shape {params.shape}, expected (8, {ndim})")
    values = log_likelihood(params)
    if np.shape(values) != (8,):
        raise ConfigError(f"log-likelihood returned shape {np.shape(values)}, expected (8,)")
    if np.any(np.isnan(values)) or np.any(values == np.inf):
        raise ConfigError(f"log-likelihood is NaN or +inf at prior draws: {values}")


def _normalize(log_w: np.ndarray) -> np.ndarray:
    log_w = np.asarray(log_w, dtype=float)
    return log_w - np.logaddexp.reduce(log_w)


# -- picklable wrappers (dynesty checkpoints pickle the sampler with its callables) ----------------

class BatchOrSingle:
    """A batched log-likelihood that also takes one point (dynesty passes a 1-D array and wants a float)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, x: np.ndarray) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        values = self.fn(np.atleast_2d(x))
        return float(np.reshape(values, -1)[0]) if x.ndim == 1 else values


class BatchedPrior:
    """A vectorized prior transform that also takes one unit-cube point (returns a 2-D array)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, cube: np.ndarray) -> np.ndarray:
        return self.fn(np.atleast_2d(cube))


class SinglePrior:
    """One unit-cube point (d,) -> parameters (d,) from a vectorized prior transform (dynesty)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, u: np.ndarray) -> np.ndarray:
        return self.fn(np.atleast_2d(u))[0]


# -- output and progress ------------------------------------------------------------------------------

class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def _stdout_to_stderr(show: bool) -> Iterator[None]:
    """Nothing a backend prints reaches stdout: to stderr when ``show``, otherwise discarded."""
    with contextlib.redirect_stdout(sys.stderr if show else _Discard()):
        yield


class _CurrentStderr(logging.Handler):
    """Logging handler writing to whatever ``sys.stderr`` is at the time (pytest swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must not break a run
            self.handleError(record)


def _configure_ultranest_logger(verbose: bool) -> None:
    """UltraNest attaches a stdout handler to its logger on first use (and sets it to DEBUG): put one
    stderr handler there first (UltraNest then adds none) and drop any stream handler it made before."""
    logger = logging.getLogger("ultranest")
    for handler in list(logger.handlers):
        if type(handler) is logging.StreamHandler:  # FileHandlers (debug.log) are subclasses: kept
            logger.removeHandler(handler)
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("[ultranest] %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


class Progress:
    """Readable progress lines on stderr, for logs: at most one line per stage and PROGRESS_MIN_SECONDS,
    ``[label] backend stage: detail; 12 s elapsed, about 30 s left``.

    The time left is extrapolated linearly from the recent course of a progress measure
    towards its target (log beta -> 0 for smc, log f_live for nautilus' exploration, n_eff for
    its sampling, log of the remaining evidence for dynesty and UltraNest).
    """

    def __init__(self, backend: str, label: str | None = None, enabled: bool = True) -> None:
        self.prefix = f"[{label}] {backend}" if label else f"[{backend}]"
        self.enabled = enabled
        self.start = time.perf_counter()
        self.stage: str | None = None
        self.last = -math.inf
        self.history: list[tuple[float, float]] = []

    def __call__(self, stage: str, text: str, measure: float | None = None, target: float | None = None,
                 force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter() - self.start
        if stage != self.stage:
            self.history = []
        if measure is not None and math.isfinite(measure):
            self.history.append((now, measure))
            self.history = self.history[-8:]
        if not force and stage == self.stage and now - self.last < PROGRESS_MIN_SECONDS:
            return
        self.stage, self.last = stage, now
        left = self._time_left(target)
        tail = f"{now:.0f} s elapsed" + ("" if left is None else f", about {left:.0f} s left")
        sys.stderr.write(f"{self.prefix} {stage}: {text}; {tail}\n")
        sys.stderr.flush()

    def _time_left(self, target: float | None) -> float | None:
        if target is None or len(self.history) < 3:
            return None
        (t0, m0), (t1, m1) = self.history[0], self.history[-1]
        if t1 <= t0 or m1 == m0:
            return None
        left = (target - m1) * (t1 - t0) / (m1 - m0)
        # moving away from the target, or barely moving yet (early nautilus bounds): no estimate
        return left if 0 <= left <= 100 * t1 else None


