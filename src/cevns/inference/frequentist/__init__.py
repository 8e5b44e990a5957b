"""Frequentist inference: maximum likelihood, profile likelihoods, Wilks, Neyman and Feldman-Cousins sets.

Modules: ``optimiser`` (the profiled objective, multi-start Migrad), ``profile`` (1-D and 2-D scans,
Wilks intervals), ``toys`` (toys, test statistic, grid posterior, Neyman construction), ``poisson``
(exact Poisson intervals). The public names are re-exported here.

Everything here is built on one function of the model and one data set, the profile
over the Gaussian-constrained nuisances,

    nll(theta) = -2 max_nu log p(data, nu | theta) = -2 model.logpdf((theta, nu*(theta)), data),

where ``theta`` are the model's free parameters (couplings, physics parameters, free
normalisations) and ``nu*`` the conditional mode of the constrained nuisances, found by
:meth:`cevns.model.Model.conditional_mode` (exact Newton, batched over points). Only the
free parameters are left to a minimiser: MINUIT's Migrad through iminuit (F. James and
M. Roos, Comput. Phys. Commun. 10 (1975) 343; H. Dembinski et al., iminuit,
doi:10.5281/zenodo.3949207), with the gradient from one batched call (central differences
of the profiled ``nll``). Because the NSI rates are quadratic in the couplings, the
likelihood has mirror solutions; every fit starts from the best points of a vectorised
grid (Sobol points) over the free parameters, and profile scans sweep back and forth so
that each scan point takes the best of its neighbours' solutions.

Intervals
---------
* Wilks (S. S. Wilks, Ann. Math. Stat. 9 (1938) 60): ``{theta: q(theta) <= chi2_k(CL)}`` with
  ``q = nll(theta) - nll_min`` and k the number of scanned parameters; a union of disjoint
  intervals where the likelihood has separated modes. Edges are refined by root finding.
* Neyman construction with the likelihood-ratio ordering, i.e. Feldman and Cousins
  (G. J. Feldman and R. D. Cousins, Phys. Rev. D 57 (1998) 3873, arXiv:physics/9711021):
  exact for a Poisson count with known background (:func:`poisson_feldman_cousins`,
  checked against their Table IV), and by toys for a model (:func:`neyman_critical_values`,
  nuisances at their conditional fit to the observed data: the "profile construction").
* Classical central Poisson intervals (Garwood 1936) in closed form (:func:`poisson_central`).

The model protocol
------------------
The functions need only: ``parameters`` (``name``, ``kind``, ``bounds``, ``constrained``,
``center``, ``sigma``), ``parameter_names``, ``free_indices``, ``constrained_indices``,
``sigmas``, ``centers``, ``init``, ``conditional_mode(free, data)``, ``logpdf(pars, data)``,
``expected_counts(pars)``. :class:`cevns.model.Model` has them; the tests use a linear
Gaussian model and a Poisson counting experiment with the same methods, whose answers are
known in closed form.
"""

from __future__ import annotations

from .optimiser import MaximumLikelihood, Profiler, fit_mle, wilks_threshold
from .profile import Profile1D, Profile2D, profile_1d, profile_2d, statistical_floor
from .toys import (
    accepted_to_intervals, draw_toy, grid_covers, grid_hpd_intervals, grid_posterior, hpd_threshold,
    named_vector, neyman_critical_values, test_statistic, toy_statistics)
from .poisson import poisson_central, poisson_feldman_cousins, poisson_upper_limit

__all__ = [
    "MaximumLikelihood", "Profile1D", "Profile2D", "Profiler", "accepted_to_intervals", "draw_toy", "fit_mle",
    "grid_covers", "grid_hpd_intervals", "grid_posterior", "hpd_threshold", "named_vector",
    "neyman_critical_values", "poisson_central", "poisson_feldman_cousins", "poisson_upper_limit",
    "profile_1d", "profile_2d", "statistical_floor", "test_statistic", "toy_statistics", "wilks_threshold"
]
