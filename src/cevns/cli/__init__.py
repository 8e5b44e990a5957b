"""The command line: ``commands`` parses flags, calls the application layer (``cevns.app``) and prints.

``commands`` (every command but the frequentist ones), ``frequentist`` (profile, toys, forecast),
``cite`` (the papers and data releases to cite), ``argtypes`` (argparse value types), ``shell`` (argv as
documented, output-folder checks, flag names in errors).

:func:`console` is the ``cevns`` console script ([project.scripts]) and :func:`main` the command as a function:
neither imports anything heavy itself, so that Ctrl-C at any moment, also while numpy, scipy and the samplers are
still being imported, ends the command with one line and exit code 130 instead of a traceback.
"""

from __future__ import annotations

import sys

#: Exit code of a command stopped by Ctrl-C (128 + SIGINT), as the commands' own interrupt handling uses.
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    """Run ``cevns ARGV`` (default ``sys.argv[1:]``) and return its exit code."""
    try:
        from ..app.allocator import tune_allocator
        from .commands import main as run_command

        tune_allocator()  # fewer page faults in the fits' numpy work (cevns.app.allocator)
        return run_command(argv)
    except KeyboardInterrupt:  # before or after the commands' own handler is in place (imports, parsing)
        print("cevns: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def console() -> None:
    """The ``cevns`` console script: :func:`main` on ``sys.argv``, then exit with its code. Once the command's work
    is done, a late Ctrl-C (while the interpreter shuts down) is ignored: it would otherwise kill a finished
    command with a signal instead of its exit code."""
    code = main()
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


__all__ = ["console", "main"]
