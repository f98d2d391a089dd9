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
