"""The user-facing error types of cevns, and the stop signals (SIGINT, SIGTERM) turned into one (Interrupted).

Every error the library raises for a bad input is a :class:`CevnsError` (``except cevns.CevnsError`` catches them
all) and also a ``ValueError`` (code written against ``except ValueError`` keeps working): ConfigError and
RunFolderError here, ModelError (cevns.model), UnknownCouplingError (cevns.spec.vocabulary), UnknownConventionError
(cevns.physics.couplings), TargetError (cevns.detectors), ExperimentError (cevns.experiment). This module imports
nothing of the package, so every layer may import it.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class CevnsError(Exception):
    """The base of every error cevns raises for a bad input (a scenario, a value, a parameter, data, a folder).

    Each subclass is a ``ValueError`` too; the CLI prints any of them as one line and exits with code 2.
    """


class ConfigError(CevnsError, ValueError):
    """Invalid user input: a scenario file, a command-line value, or a parameter.

    The message is one line that names the offending field and the fix; the
    CLI prints it and exits with code 2. ``field``: the library argument the message
    names (e.g. ``"n_live"``), so that a front end can name its own option for it
    instead (the CLI says ``--nlive``); the library never names command-line flags.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RunFolderError(ConfigError):
    """An output folder that cannot take this run.

    ``reason`` says why, in library terms, so that each command can name its own
    remedy (a flag): ``"holds-run"`` (another finished or started run),
    ``"other-config"`` (a run of another configuration), ``"other-settings"`` (other
    sampler settings), ``"locked"`` (another process is writing to it),
    ``"unusable"`` (not a folder, not writable, corrupt).
    """

    def __init__(self, message: str, reason: str = "unusable") -> None:
        super().__init__(message)
        self.reason = reason


class Interrupted(BaseException):
    """A run stopped by the user (SIGINT) or by the system (SIGTERM). Not a KeyboardInterrupt on purpose:
    libraries that catch KeyboardInterrupt to stop their own inner loop and go on (scikit-learn's network
    training inside nautilus does) cannot swallow it. ``signum``: the signal (SIGINT 2, SIGTERM 15); the CLI
    reports it in one line with exit code 128 + signum (130, 143)."""

    def __init__(self, message: str = "interrupted", signum: int = 2) -> None:
        super().__init__(message)
        self.signum = signum

    def __reduce__(self):  # noqa: ANN204 - pickled by process pools: keep the signal
        return (type(self), (str(self), self.signum))


#: The signals that stop a command: Ctrl-C (SIGINT, exit 130) and the system's or a batch scheduler's SIGTERM (143).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: False in a task-farm worker process (cevns.app.tasks): there its manager handles the stop and terminates it, and
#: an exception raised at an arbitrary point of a task (inside compiled code it is printed and ignored) is not wanted.
GUARD_SIGNALS = True


#: Stop signals received inside the current :func:`interrupt_guard` (cleared on entering it).
_RECEIVED: list[int] = []


def stop_signal_received() -> int | None:
    """The last stop signal received inside the current :func:`interrupt_guard`, else None: a library that
    caught the :class:`Interrupted` and raised its own error instead (pydantic wraps it in a SchemaError when it
    arrives while a model class is built) is still an interrupt."""
    return _RECEIVED[-1] if _RECEIVED else None


@contextlib.contextmanager
def interrupt_guard() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` while inside (restored on leaving), which no library's
    ``except KeyboardInterrupt`` can swallow (scikit-learn's network training inside nautilus catches
    KeyboardInterrupt, warns and goes on, so a run would continue to the end and be taken as finished).
    Outside the main thread (signals cannot be caught there) and in a task-farm worker (GUARD_SIGNALS) it does
    nothing."""

    def handler(signum, frame):  # noqa: ANN001, ARG001
        _RECEIVED.append(signum)
        raise Interrupted("interrupted" if signum == signal.SIGINT else "terminated", signum)

    if not GUARD_SIGNALS:
        yield
        return
    _RECEIVED.clear()
    previous = {}
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
