"""User-facing errors: one clear message that names the thing and what is allowed."""


class DreamSoundError(Exception):
    """An error caused by input (a file, a name, a number, a config value).

    The command line prints the message on one line and exits non-zero; it never
    prints a traceback for these.
    """


class WeightsNotFoundError(DreamSoundError):
    """No YAMNet weights could be loaded from any configured source."""
