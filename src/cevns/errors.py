"""The user-facing error types of cevns."""


class ConfigError(ValueError):
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
    """A run stopped by the user (SIGINT). Not a KeyboardInterrupt on purpose: libraries that catch
    KeyboardInterrupt to stop their own inner loop and go on (scikit-learn's network training inside
    nautilus does) cannot swallow it. The CLI reports it in one line with exit code 130."""
