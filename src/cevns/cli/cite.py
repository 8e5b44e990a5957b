"""``cevns cite [SCENARIO] [--bibtex] [--json]``: the papers to cite (cevns.app.cite holds the table)."""

from __future__ import annotations

import argparse
from typing import Any

from ..io import print_json


def cmd_cite(args: argparse.Namespace) -> int:
    from ..app.cite import citations, format_bibtex, format_text

    record = citations(args.scenario)
    if args.json:
        print_json(record)
    else:
        print(format_bibtex(record) if args.bibtex else format_text(record))
    return 0


def register(subparsers: Any) -> None:  # noqa: ANN401 - argparse's sub-parser collection
    """Add ``cite`` to a ``cevns`` argparse sub-parser collection."""
    p = subparsers.add_parser(
        "cite", help="the papers to cite: the method and every shipped data release (or those a scenario uses)",
        description="Print what to cite: the paper whose analysis cevns implements (Dent et al., arXiv:1711.03521) and, "
        "for every data set the package ships (or, with SCENARIO, those the scenario uses: its [[datasets]] releases, the "
        "COHERENT 2017 acceptance, reactor and solar spectra), its papers and license. The software itself: CITATION.cff.")
    p.add_argument("scenario", nargs="?", metavar="SCENARIO_OR_FILE", help="only what this scenario uses")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--bibtex", action="store_true", help="BibTeX entries instead of text")
    output.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_cite)
