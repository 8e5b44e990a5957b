"""Command line: ``cevns <command>``. Thin: parse, call the library, print.

Every user error (bad scenario, bad value) is a :class:`~cevns.errors.ConfigError`,
printed as one line ``cevns: error: ...`` with exit code 2, no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import ConfigError

EXIT_USAGE = 2


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def parse_nsi_assignments(items: Sequence[str] | None) -> dict[str, float]:
    """Parse ``NAME=VALUE`` strings into {canonical coupling name: value}."""
    from .physics.couplings import UnknownCouplingError, canonical_nsi_name

    values: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--nsi {item!r}: expected NAME=VALUE, e.g. --nsi eps_u_ee=0.1")
        try:
            key = canonical_nsi_name(name.strip())
        except UnknownCouplingError as err:
            raise ConfigError(f"--nsi: {err}") from None
        try:
            values[key] = float(value)
        except ValueError:
            raise ConfigError(f"--nsi {item!r}: {value!r} is not a number") from None
        if not np.isfinite(values[key]):
            raise ConfigError(f"--nsi {item!r}: value must be finite")
    return values


def _check_plot_path(path: str | None) -> None:
    if path is not None and Path(path).suffix.lower() not in (".png", ".pdf", ".svg"):
        raise ConfigError(f"--plot {path!r}: use a .png, .pdf or .svg file name")


# --- commands -------------------------------------------------------------------
def cmd_scenarios(args: argparse.Namespace) -> int:
    from .config import builtin_scenarios

    scenarios = builtin_scenarios()
    if args.json:
        _print_json({"scenarios": [{"name": k, "description": v} for k, v in scenarios.items()]})
        return 0
    width = max(len(k) for k in scenarios)
    for name, description in scenarios.items():
        print(f"{name:<{width}}  {description}")
    return 0


def cmd_rates(args: argparse.Namespace) -> int:
    from .physics.couplings import nsi_vector
    from .rates import format_rates, rates_table
    from .scenario import Scenario

    nsi = parse_nsi_assignments(args.nsi)
    _check_plot_path(args.plot)
    scenario = Scenario.load(args.scenario)
    eps = nsi_vector(nsi)
    table = rates_table(scenario, eps)
    if args.plot:
        from .io import atomic_savefig
        from .plotting import rates_figure

        atomic_savefig(rates_figure(scenario, eps), args.plot, dpi=120)
    if args.json:
        _print_json(table)
    else:
        print(format_rates(table, nsi))
        if args.plot:
            print(f"\nspectra plot written to {args.plot}")
    return 0


# --- parser -----------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cevns",
        description="CEvNS rates with non-standard interactions and Bayesian NSI fits "
        "(reproduces Dent et al., arXiv:1711.03521).",
    )
    parser.add_argument("--version", action="version", version=f"cevns {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("scenarios", help="list the built-in scenarios", description="List the built-in scenarios with a one-line description each.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser(
        "rates",
        help="expected counts per bin, by flavor, for a scenario",
        description="Expected CEvNS signal per bin (split by incoming flavor), background per bin and totals "
        "for every experiment of a scenario, in the Standard Model or with NSI couplings.",
    )
    p.add_argument("scenario", metavar="SCENARIO_OR_FILE", help="built-in scenario name (see `cevns scenarios`) or path to a TOML file")
    p.add_argument("--nsi", action="append", metavar="NAME=VALUE",
                   help="set an NSI coupling, e.g. --nsi eps_u_ee=0.1 (repeatable; names eps_{u,d}_{ee,emu,etau,mumu,mutau,tautau})")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--plot", metavar="FILE", help="draw the recoil spectra by flavor (.png, .pdf or .svg)")
    p.set_defaults(func=cmd_rates)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as err:
        print(f"cevns: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("cevns: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
