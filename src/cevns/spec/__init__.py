"""Specifications handed between layers: the :class:`Channel` (builders -> model)."""

from .channel import Channel

__all__ = ["Channel"]
