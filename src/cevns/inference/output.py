"""What every sampler backend returns (nautilus, UltraNest, dynesty, smc): weighted samples, evidence, stats."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SamplerOutput:
    """What every backend returns."""

    samples: np.ndarray          # (n, d) weighted posterior samples
    log_weights: np.ndarray      # (n,) normalized log importance weights
    log_likelihood: np.ndarray   # (n,)
    log_evidence: float
    log_evidence_err: float
    n_likelihood_calls: int
    wall_seconds: float
    stats: dict = field(default_factory=dict)
    #: (n,) log-likelihood contour each dead point was born inside (-inf: drawn from the prior);
    #: for ultranest and dynesty, in the order of ``samples``; None for nautilus and smc.
    log_likelihood_birth: np.ndarray | None = None
