"""Exceptions the framework raises; each message says what was expected, what was found and where."""


class SSLUniversalError(Exception):
    """Base of every error this package raises on purpose."""


class RegistryError(SSLUniversalError, KeyError):
    """An unknown, duplicate or malformed registry entry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PluginError(SSLUniversalError):
    """A plugin folder or entry point that cannot be used."""


class ConfigError(SSLUniversalError, ValueError):
    """A recipe, override or config value that does not fit the schema."""


class DataError(SSLUniversalError, ValueError):
    """Malformed input data; the message names the file and line (or record id)."""


class CheckpointError(SSLUniversalError):
    """A checkpoint that is missing, incomplete or does not match the run."""


class NonFiniteLossError(SSLUniversalError, FloatingPointError):
    """Training produced too many NaN/inf losses."""


#: Exit status of a run stopped by SIGTERM or SIGINT after writing its checkpoint (sysexits'
#: EX_TEMPFAIL: "try again later"): running the same command again resumes it.
EXIT_INTERRUPTED = 75


class TrainingInterrupted(SystemExit):
    """Training stopped on a signal after checkpointing; exits the process with :data:`EXIT_INTERRUPTED`.

    A ``SystemExit`` (not an :class:`SSLUniversalError`) so that it ends a sweep and the command
    with its own status, with no traceback, while library callers can still catch it.
    """

    def __init__(self, message: str, *, signal_name: str, step: int, checkpoint: str | None):
        super().__init__(EXIT_INTERRUPTED)
        self.message, self.signal_name, self.step, self.checkpoint = message, signal_name, step, checkpoint

    def __str__(self) -> str:
        return self.message
