"""Posterior samples in the formats of the ecosystem: getdist, anesthetic, ArviZ, pandas.

Array-level functions: each takes parameter ``names`` and a sample array ``samples`` of
shape (n_samples, n_params) (or a mapping name -> 1-D array) plus weights or likelihoods;
none reads a fit folder. Optional packages are imported inside the functions, so this module
imports with numpy alone (install the ``export`` extras for the converters).

* :func:`write_getdist_chain`: ``root.txt`` (weight, -log L, parameters), ``root.paramnames``
  (name, LaTeX label; derived parameters with a trailing ``*``), ``root.ranges`` (hard prior
  edges, ``N`` for none) and ``root.properties.ini`` (``sampler = nested``, so getdist
  removes no burn-in); ``getdist.loadMCSamples(folder + "/" + root)`` reads them.
* :func:`to_getdist`: a ``getdist.MCSamples`` in memory.
* :func:`to_anesthetic`: an ``anesthetic.NestedSamples`` (dead points with their birth
  contours: evidence, KL divergence, nested-sampling error bars); without birth contours
  :func:`to_anesthetic_samples` gives an ``anesthetic.Samples`` with the posterior weights.
* :func:`to_arviz`: ``arviz`` InferenceData (arviz < 1) or DataTree (arviz >= 1) from
  equal-weight draws (systematic resampling of the weighted samples, fixed seed), optionally
  dealt into several chains so that ``az.summary`` runs without warnings.
* :func:`to_pandas`: a ``pandas.DataFrame`` of the parameters with a ``weight`` column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..labels import latex_label
from .weights import equal_weight_samples

#: getdist writes a missing range end as "N" (getdist.parampriors.ParamBounds).
GETDIST_NO_LIMIT = "N"
#: Float format of chain files: 17 significant digits round-trip a float64 exactly (IEEE 754).
FLOAT_FORMAT = "%.17g"


def _columns(names: Sequence[str], samples: Any) -> np.ndarray:
    """(n, d) float array from an array or a mapping name -> column."""
    if isinstance(samples, Mapping):
        array = np.column_stack([np.asarray(samples[n], dtype=float) for n in names])
    else:
        array = np.asarray(samples, dtype=float)
        if array.ndim == 1 and len(names) == 1:
            array = array[:, None]
    if array.ndim != 2 or array.shape[1] != len(names):
        raise ValueError(f"samples must have shape (n, {len(names)}) for {len(names)} names, got {array.shape}")
    return array


def _labels(names: Sequence[str], labels: Sequence[str] | Mapping[str, str] | None) -> list[str]:
    """Math-mode LaTeX labels (no $), from ``labels`` or :func:`cevns.labels.latex_label`."""
    if labels is None:
        return [latex_label(n, math=False) for n in names]
    if isinstance(labels, Mapping):
        return [str(labels.get(n, latex_label(n, math=False))).strip("$") for n in names]
    if len(labels) != len(names):
        raise ValueError(f"{len(labels)} labels for {len(names)} names")
    return [str(lb).strip("$") for lb in labels]


def _weights(weights: Any, n: int) -> np.ndarray:
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != (n,):
        raise ValueError(f"weights must have length {n}, got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w


def write_getdist_chain(folder: str | Path, root: str, names: Sequence[str], labels: Sequence[str] | Mapping[str, str] | None,
                        samples: Any, weights: Any, minus_log_like: Any,
                        ranges: Mapping[str, tuple[float | None, float | None]] | None,
                        derived: Sequence[str] = ()) -> Path:
    """Write a getdist chain ``folder/root.{txt,paramnames,ranges,properties.ini}``; returns ``folder/root``.

    ``weights``: any non-negative scale (written divided by their maximum, rows of zero weight
    dropped); ``minus_log_like``: -log L per sample (None: zeros); ``ranges``: hard prior edges
    per name (None for an open end); ``derived``: names getdist marks derived (``name*``).
    Load with ``getdist.loadMCSamples(str(folder / root))``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    array = _columns(names, samples)
    w = _weights(weights, len(array))
    like = np.zeros(len(array)) if minus_log_like is None else np.asarray(minus_log_like, dtype=float).ravel()
    if like.shape != w.shape:
        raise ValueError(f"minus_log_like must have length {len(w)}, got {like.shape}")
    keep = w > 0
    table = np.column_stack([w[keep] / w.max(), like[keep], array[keep]])
    base = folder / root
    np.savetxt(f"{base}.txt", table, fmt=FLOAT_FORMAT)
    unknown = set(derived) - set(names)
    if unknown:
        raise ValueError(f"derived names not in names: {sorted(unknown)}")
    lines = [f"{n}{'*' if n in derived else ''}\t{lb}" for n, lb in zip(names, _labels(names, labels), strict=True)]
    Path(f"{base}.paramnames").write_text("\n".join(lines) + "\n", encoding="utf-8")
    range_lines = []
    for n, (lo, hi) in (ranges or {}).items():
        if n not in names:
            continue
        ends = [GETDIST_NO_LIMIT if v is None or not np.isfinite(v) else FLOAT_FORMAT % v for v in (lo, hi)]
        range_lines.append(f"{n}\t{ends[0]}\t{ends[1]}")
    Path(f"{base}.ranges").write_text("\n".join(range_lines) + ("\n" if range_lines else ""), encoding="utf-8")
    # nested-sampling weights: getdist must neither remove burn-in nor thin by autocorrelation
    Path(f"{base}.properties.ini").write_text("sampler = nested\n", encoding="utf-8")
    return base


def to_getdist(names: Sequence[str], labels: Sequence[str] | Mapping[str, str] | None, samples: Any, weights: Any,
               minus_log_like: Any = None, ranges: Mapping[str, tuple[float | None, float | None]] | None = None,
               derived: Sequence[str] = (), label: str | None = None, settings: Mapping[str, Any] | None = None) -> Any:
    """A ``getdist.MCSamples`` of weighted samples (``sampler="nested"``: no burn-in removal).

    ``ranges``: hard prior edges (getdist corrects its densities at them); ``settings``:
    getdist analysis settings (e.g. ``{"fine_bins": 4096}``).
    """
    from getdist import MCSamples, chains

    array = _columns(names, samples)
    w = _weights(weights, len(array))
    keep = w > 0
    like = None if minus_log_like is None else np.asarray(minus_log_like, dtype=float).ravel()[keep]
    clean_ranges = {n: [None if v is None or not np.isfinite(v) else float(v) for v in r]
                    for n, r in (ranges or {}).items() if n in names}
    verbose, chains.print_load_details = chains.print_load_details, False  # getdist prints "Removed no burn in"
    try:
        mc = MCSamples(samples=array[keep], weights=w[keep] / w.max(), loglikes=like, names=list(names),
                       labels=_labels(names, labels), ranges=clean_ranges, sampler="nested", label=label,
                       settings=dict(settings or {}))
    finally:
        chains.print_load_details = verbose
    for n in derived:
        mc.paramNames.parWithName(n).isDerived = True
    return mc


def to_anesthetic(names: Sequence[str], labels: Sequence[str] | Mapping[str, str] | None, samples: Any,
                  log_likelihood: Any, log_likelihood_birth: Any, beta: float = 1.0) -> Any:
    """An ``anesthetic.NestedSamples`` from the dead points of a nested-sampling run.

    ``log_likelihood``: log L of each dead point; ``log_likelihood_birth``: the likelihood
    contour each point was drawn inside (-inf for the initial prior draws), or an int, the
    constant number of live points. Only a run that records dead points with birth
    contours (UltraNest, dynesty, MultiNest, PolyChord) has them; an importance-sampling run
    (nautilus) does not: use :func:`to_anesthetic_samples` (posterior weights) instead.
    """
    if log_likelihood_birth is None:
        raise ValueError("anesthetic.NestedSamples needs each dead point's birth contour (log_likelihood_birth) "
                         "or the constant number of live points; this run has neither (an importance-sampling "
                         "run such as nautilus records none). Use cevns.inference.export.to_anesthetic_samples("
                         "names, labels, samples, weights) for an anesthetic.Samples with the posterior weights.")
    from anesthetic import NestedSamples

    array = _columns(names, samples)
    logl = np.asarray(log_likelihood, dtype=float).ravel()
    if logl.shape != (len(array),):
        raise ValueError(f"log_likelihood must have length {len(array)}, got {logl.shape}")
    birth = log_likelihood_birth if isinstance(log_likelihood_birth, (int, np.integer)) else \
        np.asarray(log_likelihood_birth, dtype=float).ravel()
    if not isinstance(birth, (int, np.integer)) and birth.shape != logl.shape:
        raise ValueError(f"log_likelihood_birth must have length {len(logl)}, got {birth.shape}")
    if not isinstance(birth, (int, np.integer)) and np.any(birth > logl):
        raise ValueError("a birth contour above the point's own log-likelihood: not a nested-sampling run")
    return NestedSamples(data=array, columns=list(names), logL=logl,
                         logL_birth=int(birth) if isinstance(birth, (int, np.integer)) else birth,
                         labels=dict(zip(names, _math(_labels(names, labels)), strict=True)), beta=beta)


def to_anesthetic_samples(names: Sequence[str], labels: Sequence[str] | Mapping[str, str] | None, samples: Any,
                          weights: Any, log_likelihood: Any = None) -> Any:
    """An ``anesthetic.Samples`` of weighted posterior samples (no evidence: any sampler)."""
    from anesthetic import Samples

    array = _columns(names, samples)
    w = _weights(weights, len(array))
    keep = w > 0
    kwargs = {}
    if log_likelihood is not None:
        kwargs["logL"] = np.asarray(log_likelihood, dtype=float).ravel()[keep]
    return Samples(data=array[keep], columns=list(names), weights=w[keep] / w.max(),
                   labels=dict(zip(names, _math(_labels(names, labels)), strict=True)), **kwargs)


def _math(labels: list[str]) -> list[str]:
    return [f"${lb}$" for lb in labels]


def to_arviz(names: Sequence[str], samples: Any, weights: Any, n_draws: int | None = None, seed: int = 0,
             chains: int = 1) -> Any:
    """ArviZ posterior from equal-weight draws: InferenceData (arviz < 1) or DataTree (arviz >= 1).

    The weighted samples are resampled by systematic resampling (one uniform offset from
    ``numpy.random.default_rng(seed)``; :func:`cevns.inference.weights.equal_weight_samples`)
    into ``n_draws`` draws (default: the Kish effective sample size). With ``chains`` > 1 the
    draws are shuffled (same generator) and dealt into ``chains`` chains of equal length (a
    remainder of fewer than ``chains`` draws is dropped): ``az.summary`` needs at least two
    chains for its R-hat and warns about one. The chains are a random partition of independent
    draws, not Markov chains: R-hat is then ~1 by construction, and since repeated draws of the
    same sample are exact copies, ArviZ's ESS and R-hat describe the resampling, not how well
    the sampler converged (``attrs`` say so).
    """
    import arviz as az

    if not (isinstance(chains, (int, np.integer)) and chains >= 1):
        raise ValueError(f"chains must be an integer >= 1, got {chains!r}")
    array = _columns(names, samples)
    w = _weights(weights, len(array))
    keep = w > 0
    log_w = np.log(w[keep])
    rng = np.random.default_rng(seed)
    draws = equal_weight_samples(array[keep], log_w, rng, n_draws)
    if chains > 1:
        per_chain = len(draws) // chains
        if per_chain < 1:
            raise ValueError(f"{len(draws)} draws cannot fill {chains} chains")
        draws = draws[rng.permutation(len(draws))[: per_chain * chains]]
    shaped = draws.reshape(chains, -1, draws.shape[1])
    posterior = {n: shaped[:, :, j] for j, n in enumerate(names)}
    n_eff = float(np.sum(w) ** 2 / np.sum(w**2))
    attrs = {"resampling": "systematic", "seed": int(seed), "n_weighted_samples": int(keep.sum()),
             "kish_effective_sample_size": n_eff,
             "chains": "independent equal-weight draws dealt at random into chains, not Markov chains"}
    major = int(str(az.__version__).split(".")[0])
    if major >= 1:  # arviz-base API: a dict of groups, returns an xarray DataTree
        tree = az.from_dict({"posterior": posterior})
        tree["posterior"].attrs.update(attrs)
        return tree
    return az.from_dict(posterior=posterior, attrs=attrs)


def to_pandas(names: Sequence[str], samples: Any, weights: Any, log_likelihood: Any = None) -> Any:
    """``pandas.DataFrame``: one column per parameter, ``weight`` (summing to 1), and
    ``log_likelihood`` if given. Rows of zero weight are dropped."""
    import pandas as pd

    array = _columns(names, samples)
    w = _weights(weights, len(array))
    keep = w > 0
    frame = pd.DataFrame(array[keep], columns=list(names))
    frame["weight"] = w[keep] / w[keep].sum()
    if log_likelihood is not None:
        frame["log_likelihood"] = np.asarray(log_likelihood, dtype=float).ravel()[keep]
    return frame


__all__ = ["to_anesthetic", "to_anesthetic_samples", "to_arviz", "to_getdist", "to_pandas", "write_getdist_chain"]
