"""Exception classes raised by qgenflow, each telling the user what to change."""


class QgenflowError(Exception):
    """Base class of every error qgenflow raises on purpose."""


class InvalidConfigError(QgenflowError, ValueError):
    """A configuration entry is missing, misspelled or out of range.

    The message names the offending key (dotted path) and what is allowed.
    """

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"{key}: {message}")


class ArtefactError(QgenflowError, OSError):
    """An HDF5 artefact is missing, truncated, foreign or of the wrong schema."""


class InputDataError(QgenflowError, ValueError):
    """User-supplied data (e.g. a sample file) is malformed."""
