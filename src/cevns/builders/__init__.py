"""Builders: turn a validated configuration (:mod:`cevns.spec`) into channels (:class:`cevns.spec.Channel`).

:mod:`cevns.builders.scenario` builds a scenario's ``[[experiments]]`` (projections and the paper's
experiments) and hands its ``[[datasets]]`` to :mod:`cevns.builders.releases`, one module per measured
data release. Builders may import the physics, the sources, the detectors and the spec, never the model
or inference: the channel is the only thing they hand on.
"""
