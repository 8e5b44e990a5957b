"""Where the command line meets the user: argv as documented, output folders checked before any work, and
the library's argument names turned into the flags that set them (one error line per refusal)."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``cevns: error: ...``), exit code 2, like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"cevns: error: {self.prog.removeprefix('cevns ')}: {message} (see {self.prog} --help)\n")


def check_out_folder(path: str, flag: str = "--out") -> None:
    """An output folder that can be made (or is one): not empty, not a file, its nearest existing parent a
    writable folder. Checked before any work, and nothing is created here."""
    if not path.strip():
        raise ConfigError(f"{flag} is empty; give a folder name, e.g. {flag} results/run1")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{flag} {path!r} exists and is not a folder; choose another {flag}")
    parent = folder if folder.exists() else next((p for p in folder.absolute().parents if p.exists()), Path("/"))
    if not parent.is_dir():
        raise ConfigError(f"{flag} {path!r}: {str(parent)!r} is a file, not a folder; choose another {flag}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path!r}: {str(parent)!r} is not writable; choose another {flag}")


#: The library's argument names (ConfigError.field) and the options that set them on the command line.
FLAGS = {"n_live": "--nlive", "tolerance": "--tolerance", "seed": "--seed", "sampler": "--sampler", "truth": "--truth",
         "params": "--params", "out": "--out", "workers": "--workers"}


def _with_flags(err: ConfigError) -> str:
    """The error's line with the library's argument name (its first mention) replaced by the command-line
    option that sets it."""
    field = getattr(err, "field", None)
    if field not in FLAGS:
        return str(err)
    return re.sub(rf"(?<![\w-]){re.escape(field)}\b", FLAGS[field], str(err), count=1)


#: A value that starts like a negative number (``-1,4,26``, ``-1e3``, ``-.5``), which argparse would take for an option.
_NEGATIVE_VALUE = re.compile(r"^-\.?\d")


def _value_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string (of every command) that takes one value."""
    options: set[str] = set()
    parsers = [parser]
    while parsers:
        current = parsers.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
            elif action.option_strings and action.nargs is None and isinstance(action, (argparse._StoreAction, argparse._AppendAction)):
                options.update(action.option_strings)
    return options


def join_negative_values(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``--masses -1,4,5`` as ``--masses=-1,4,5``: argparse reads a value that starts with ``-`` and is no plain
    number as an unknown option; the documented form must work with or without the ``=``."""
    options = _value_options(parser)
    out: list[str] = []
    skip = False
    for i, token in enumerate(argv):
        if skip:
            skip = False
            continue
        if token == "--":
            out.extend(argv[i:])
            break
        if token in options and i + 1 < len(argv) and _NEGATIVE_VALUE.match(argv[i + 1]):
            out.append(f"{token}={argv[i + 1]}")
            skip = True
        else:
            out.append(token)
    return out
