"""argparse value types shared by every command: integers in a range (seeds, worker counts), and the one
reader of ``NAME=VALUE`` options (``--nsi``, ``--truth``).

A bad value is an ``argparse.ArgumentTypeError``, which the parser turns into one line
(``cevns: error: argument --seed: ...``) and exit code 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from ..errors import ConfigError

#: Largest seed: numpy's legacy global generator (UltraNest's) takes 32-bit seeds. The samplers check the same
#: bound (cevns.inference.samplers.MAX_SEED, equal by tests/test_cli.py); defined here so that parsing the command
#: line imports no sampler (and scipy.stats with it; with the lazy imports of density.py and results.py: `cevns --help`
#: 1.5 -> 0.7 s).
MAX_SEED = 2**32 - 1

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


def assignments(items: Sequence[str] | None, flag: str, canonical: Callable[[str], str], commas: bool = True,
                same_hint: str = "") -> dict[str, float]:
    """``NAME=VALUE`` items (repeatable; comma-separated too with ``commas``) -> {canonical(NAME): value}, one
    ConfigError line naming ``flag`` for a malformed item, a name given twice (``same_hint`` says why two
    spellings are one name) or a value that is not a number."""
    out: dict[str, float] = {}
    for item in items or []:
        for part in item.split(",") if commas else [item]:
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise ConfigError(f"{flag} {part!r}: expected NAME=VALUE, e.g. {flag} eps_u_ee=0.1")
            key = canonical(name.strip())
            if key in out:
                raise ConfigError(f"{flag} {part!r}: {key} is already set{same_hint}; give it once")
            try:
                out[key] = float(value)
            except ValueError:
                raise ConfigError(f"{flag} {part!r}: {value.strip()!r} is not a number") from None
    return out
