"""The command line: ``main`` parses flags, calls the application layer (``cevns.app``) and prints.

``main`` (every command but the frequentist ones), ``frequentist`` (profile, toys, forecast),
``argtypes`` (argparse value types), ``shell`` (argv as documented, output-folder checks, flag names in errors).
"""

from .main import main

__all__ = ["main"]
