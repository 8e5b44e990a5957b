"""argparse value types shared by every command: integers in a range (seeds, worker counts).

A bad value is an ``argparse.ArgumentTypeError``, which the parser turns into one line
(``cevns: error: argument --seed: ...``) and exit code 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..inference.samplers import MAX_SEED  # seeds of numpy's legacy global generator (UltraNest): 32 bits

#: Seeds that only feed numpy's SeedSequence (toys, task farms) may be any 63-bit integer.
MAX_SEQUENCE_SEED = 2**63 - 1


def integer_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (no upper bound when ``high`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} must be >= {low}" if high is None else f"{value} is outside [{low}, {high}]")
        return value

    return parse


#: --seed of the fits (the sampler seeds UltraNest's legacy generator too)
seed_value = integer_in(0, MAX_SEED)
#: --seed of toys and task farms
sequence_seed = integer_in(0, MAX_SEQUENCE_SEED)
#: --workers and other counts
positive_int = integer_in(1)
