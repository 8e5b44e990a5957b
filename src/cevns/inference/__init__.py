"""Inference on a model (:mod:`cevns.model.protocol` says what it needs of one).

Bayesian: ``fitting`` (``fit(model, data) -> FitResult``), ``samplers`` (nautilus, UltraNest, dynesty
adapters), ``smc`` (our tempered SMC). Results: ``results`` (every result container with save/load:
FitResult, SamplerOutput, MaximumLikelihood, Profile1D/2D), ``export`` (getdist, anesthetic, ArviZ, pandas).
Summaries: ``density`` (1-D densities, HPD sets), ``regions`` (2-D credible regions), ``weights``,
``summaries`` (what a figure shows). Frequentist: the ``frequentist`` package (optimiser, profile, toys, poisson).
"""
