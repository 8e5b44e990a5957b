"""Inference on a model (:mod:`cevns.model.protocol` says what it needs of one).

Bayesian: ``fitting`` (``fit(model, data) -> FitResult``), ``samplers`` (nautilus, UltraNest, dynesty
adapters), ``smc`` (our tempered SMC), ``output`` (what every backend returns). Summaries: ``density``
(1-D densities, HPD sets), ``regions`` (2-D credible regions), ``export`` (getdist, anesthetic, ArviZ,
pandas). Frequentist: the ``frequentist`` package (optimiser, profile, toys, poisson).
"""
