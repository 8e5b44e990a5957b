"""The one user-facing error type of cevns."""


class ConfigError(ValueError):
    """Invalid user input: a scenario file, a command-line value, or a parameter.

    The message is one line that names the offending field and the fix; the
    CLI prints it and exits with code 2.
    """
