"""Exceptions whose class names are the error names the state machine matches."""


class TransientError(Exception):
    """Worth retrying."""


class DbNotFoundError(Exception):
    """The database does not exist."""
