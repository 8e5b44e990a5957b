"""The spec: what the layers hand each other, with no physics in it.

* :mod:`cevns.spec.config`: the validated scenario configuration (TOML -> pydantic, closed schema);
* :mod:`cevns.spec.vocabulary`: the names a configuration may use (couplings, form factors, ...);
* :class:`Channel` (:mod:`cevns.spec.channel`): the hand-off from the builders to the model, like
  pyhf's workspace channels.

Nothing here imports the physics, the sources, the detectors, the builders or the model.
"""

from .channel import Channel

__all__ = ["Channel"]
