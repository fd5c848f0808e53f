"""Errors that carry a message a person can act on (never a traceback)."""


class HeadcheckError(Exception):
    """Base class for errors headcheck reports to its callers."""


class ImageError(HeadcheckError):
    """The input is not an image headcheck can analyse; the message says why."""
